//! Exclusion lists (`--exclude-list FILE`): CSVs from other departments naming people who must
//! not be registered (财政供养人员, 死亡注销, 商品房, 车辆, 工商注册 …). Columns: ID number, reason,
//! source department; a header row is optional. Decoded like any CSV input (UTF-8, GBK, UTF-16).

use std::path::Path;

use super::Error;
use super::encoding::decode_reason as decode;
use crate::check::Exclusion;

/// Read one exclusion list. ID numbers are normalised as the ID checker does (upper-case X,
/// half-width, no white space) so they match the dataset's normalised IDs.
pub fn read_exclusion_list(path: &Path) -> Result<Vec<Exclusion>, Error> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| Error::Open {
        file: file.clone(),
        reason: e.to_string().into(),
    })?;
    let decoded = decode(&bytes, super::Encoding::Auto).map_err(|reason| Error::Format {
        file: file.clone(),
        reason,
    })?;
    let mut rdr = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(decoded.text.as_bytes());
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| Error::Content {
            file: file.clone(),
            sheet: None,
            reason: format!("第 {} 行无法解析: {e}", i + 1).into(),
        })?;
        let id = crate::types::normalize_id(rec.get(0).unwrap_or_default());
        if id.is_empty() {
            continue;
        }
        // A header row (证件号码, 身份证号码, id …) has no digits in its first cell.
        if i == 0 && !id.chars().any(|c| c.is_ascii_digit()) {
            continue;
        }
        out.push(Exclusion {
            id,
            reason: rec.get(1).unwrap_or_default().trim().to_string(),
            source: rec.get(2).unwrap_or_default().trim().to_string(),
        });
    }
    Ok(out)
}
