//! Synthetic key tables for measuring `povcheck dataset` at national scale (docs/scale.md):
//! `cargo run --example scale-keys -- DIR ROWS FILES` writes FILES Parquet key tables with ROWS
//! rows in all, in the exact layout `check --keys-out` writes. Households of one to six people
//! in 100 towns × 20 villages; about one person in a thousand also registered in another file
//! (D101), one household in a thousand sharing a phone with another (D103), one in two
//! thousand with a row in another village (D102). The hashes are random bytes: no ID number is
//! made, only what the key tables hold.

use std::path::PathBuf;

use polars::prelude::*;

/// splitmix64: a fixed sequence, so a measurement can be repeated exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn bytes16(&mut self) -> Vec<u8> {
        let (a, b) = (self.next(), self.next());
        let mut v = a.to_le_bytes().to_vec();
        v.extend(b.to_le_bytes());
        v
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).ok_or("usage: scale-keys DIR ROWS FILES")?);
    let rows: u64 = args.get(2).map_or(Ok(10_000_000), |s| s.parse())?;
    let files: u64 = args.get(3).map_or(Ok(10), |s| s.parse())?;
    std::fs::create_dir_all(&dir)?;
    let mut rng = Rng(16);
    let per_file = rows.div_ceil(files);
    let mut household_no: u64 = 0;
    // A few earlier IDs and phones, reused in later files for the duplicates.
    let mut old_ids: Vec<Vec<u8>> = Vec::new();
    let mut old_phones: Vec<Vec<u8>> = Vec::new();
    for f in 0..files {
        let input = format!("county-{f:03}.xlsx");
        let n = per_file.min(rows - f * per_file) as usize;
        let mut sheet = Vec::with_capacity(n);
        let mut row = Vec::with_capacity(n);
        let mut seq = Vec::with_capacity(n);
        let mut household: Vec<Option<String>> = Vec::with_capacity(n);
        let mut unit_path = Vec::with_capacity(n);
        let mut town = Vec::with_capacity(n);
        let mut village = Vec::with_capacity(n);
        let mut id_hash: Vec<Option<Vec<u8>>> = Vec::with_capacity(n);
        let mut phone_hash: Vec<Option<Vec<u8>>> = Vec::with_capacity(n);
        let mut phone_filled = Vec::with_capacity(n);
        let mut i = 0usize;
        while i < n {
            household_no += 1;
            let size = 1 + (rng.next() % 6) as usize;
            let t = rng.next() % 100;
            let v = rng.next() % 20;
            let hh = format!("44{t:03}{v:03}{household_no:010}");
            let phone = if rng.next().is_multiple_of(1000) && !old_phones.is_empty() {
                old_phones[(rng.next() as usize) % old_phones.len()].clone()
            } else {
                rng.bytes16()
            };
            if old_phones.len() < 10_000 {
                old_phones.push(phone.clone());
            }
            let split = rng.next().is_multiple_of(2000);
            for m in 0..size.min(n - i) {
                let vv = if split && m > 0 { (v + 1) % 20 } else { v };
                let (tn, vn) = (format!("第{t}镇"), format!("第{t}镇第{vv}村"));
                let id = if rng.next().is_multiple_of(1000) && !old_ids.is_empty() {
                    old_ids[(rng.next() as usize) % old_ids.len()].clone()
                } else {
                    rng.bytes16()
                };
                if old_ids.len() < 10_000 {
                    old_ids.push(id.clone());
                }
                sheet.push(Some("Sheet1".to_string()));
                row.push((i + 4) as u32);
                seq.push(i as u64);
                household.push(Some(hh.clone()));
                unit_path.push(format!(
                    "[[\"乡镇\",\"{tn}\"],[\"行政村\",\"{vn}\"],[\"帮扶单位\",\"第{t}局\"]]"
                ));
                town.push(Some(tn));
                village.push(Some(vn));
                id_hash.push(Some(id));
                phone_hash.push(Some(phone.clone()));
                phone_filled.push(m == 0);
                i += 1;
            }
        }
        let bin = |name: &str, v: &[Option<Vec<u8>>]| -> Column {
            let ca: BinaryChunked = v.iter().map(|o| o.as_deref()).collect();
            ca.with_name(name.into()).into_column()
        };
        let mut df = DataFrame::new(
            n,
            vec![
                Column::new("input".into(), vec![input.as_str(); n]),
                Column::new("sheet".into(), sheet),
                Column::new("row".into(), row),
                Column::new("seq".into(), seq),
                Column::new("household".into(), household),
                Column::new("unit_path".into(), unit_path),
                Column::new("town".into(), town),
                Column::new("village".into(), village),
                bin("id_hash", &id_hash),
                bin("phone_hash", &phone_hash),
                Column::new("phone_filled".into(), phone_filled),
            ],
        )?;
        povcheck::dataset::keys::write(&dir, &input, &mut df)?;
        eprintln!("{input}: {n} rows");
    }
    Ok(())
}
