//! The local engine: the dataset rules' SQL on polars.
//!
//! Few key rows run as they are: a lazy scan of the key tables (only the columns a query reads
//! are read), collected on polars' streaming engine. Many key rows do not fit that way — the
//! GROUP BY and join hash tables grow with the rows even on the streaming engine (10 M rows took
//! 4.4 GB) — so they are first cut into buckets by the column a rule groups and joins on: every
//! row whose key hashes to bucket *b* goes to bucket *b*'s file, and the rule's SQL runs on one
//! bucket at a time. Rows that the SQL compares share their key, hence their bucket, so the
//! union of the buckets' results is the result over all rows; memory is one bucket's, whatever
//! the number of rows (a spilled Grace hash join, with the rule's SQL as the join).
//!
//! Rows whose key is null are dropped from a bucket set by [`Cutter::push`], except for
//! [`KEEP_NULLS`] columns: the rules' SQL never matches a null key, but a household count
//! counts each row without a 户编号 as a household of its own.

use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use polars::sql::SQLContext;

/// Rows per bucket the local engine aims for unless told otherwise (`dataset --bucket-rows`):
/// a bucket's SQL then holds a few hundred MB.
pub const BUCKET_ROWS: usize = 2_000_000;

/// Columns only the buckets by one key column carry (what that key's rule reads besides the
/// columns every rule and count reads); the buckets by another key leave them out.
const OWN_COLUMNS: &[(&str, &[&str])] = &[
    ("id_hash", &["id_hash"]),
    ("phone_hash", &["phone_hash", "phone_filled"]),
    ("household", &["town", "village"]),
];

/// Whether buckets by `by` carry column `c`.
fn carries(by: &str, c: &str) -> bool {
    OWN_COLUMNS
        .iter()
        .all(|(key, own)| *key == by || !own.contains(&c))
}

/// Columns whose null rows are kept (spread over the buckets by row) instead of dropped.
pub const KEEP_NULLS: &[&str] = &["household"];

/// A lazy scan of the key tables as one table (their union).
pub fn scan(files: &[PathBuf]) -> PolarsResult<LazyFrame> {
    let paths: Vec<PlRefPath> = files
        .iter()
        .map(|p| PlRefPath::try_from_path(p))
        .collect::<PolarsResult<_>>()?;
    LazyFrame::scan_parquet_files(paths.into_iter().collect(), ScanArgsParquet::default())
}

/// Run `sql` over `keys` (registered as the table `keys`), streaming.
pub fn run_lazy(keys: LazyFrame, sql: &str) -> PolarsResult<DataFrame> {
    let mut ctx = SQLContext::new();
    ctx.register("keys", keys);
    let lf = ctx.execute(sql)?;
    Ok(lf.collect_with_engine(Engine::Streaming)?.unwrap_single())
}

/// Run `sql` over the union of the key tables `files`.
pub fn run(files: &[PathBuf], sql: &str) -> PolarsResult<DataFrame> {
    run_lazy(scan(files)?, sql)
}

/// A Parquet file read whole.
pub fn read_parquet(path: &Path) -> PolarsResult<DataFrame> {
    ParquetReader::new(File::open(path)?).finish()
}

/// Rows in the Parquet files `files`, from their footers.
pub fn count_rows(files: &[PathBuf]) -> PolarsResult<usize> {
    let mut n = 0;
    for f in files {
        n += ParquetReader::new(File::open(f)?).num_rows()?;
    }
    Ok(n)
}

/// How many buckets `rows` rows need at `bucket_rows` a bucket (at least one).
pub fn buckets_for(rows: usize, bucket_rows: usize) -> usize {
    rows.div_ceil(bucket_rows.max(1)).max(1)
}

/// Key rows cut into buckets by one or more columns, in files of a private temporary folder
/// (mode 0700 on Unix) removed when this is dropped.
pub struct Partitioned {
    _dir: tempfile::TempDir,
    buckets: usize,
    /// Per column: the bucket files written (a bucket no row fell into has none).
    files: HashMap<String, Vec<Option<PathBuf>>>,
    /// Side files ([`Cutter::push_with_side`]): the `seq` range of their rows, and the file.
    sides: Vec<(std::ops::Range<u64>, PathBuf)>,
}

// SipHash with fixed keys: the same bucket for the same bytes in every file and every run.
fn bucket_of(bytes: &[u8], buckets: usize) -> usize {
    let mut h =
        std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
            .build_hasher();
    h.write(bytes);
    (h.finish() % buckets as u64) as usize
}

/// Per row of `col`: its bucket, None to drop it.
fn row_buckets(col: &Column, buckets: usize, keep_nulls: bool) -> PolarsResult<Vec<Option<usize>>> {
    let null_bucket = |i: usize| keep_nulls.then_some(i % buckets);
    Ok(match col.dtype() {
        DataType::Binary => col
            .binary()?
            .iter()
            .enumerate()
            .map(|(i, v)| v.map_or_else(|| null_bucket(i), |b| Some(bucket_of(b, buckets))))
            .collect(),
        _ => {
            let s = col.cast(&DataType::String)?;
            s.str()?
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.map_or_else(
                        || null_bucket(i),
                        |t| Some(bucket_of(t.as_bytes(), buckets)),
                    )
                })
                .collect()
        }
    })
}

type Writers = HashMap<(usize, usize), (PathBuf, polars_io::parquet::write::BatchedWriter<File>)>;

/// Key rows being cut into buckets, frame by frame ([`Partitioned::cutter`]).
pub struct Cutter {
    dir: tempfile::TempDir,
    by: Vec<String>,
    buckets: usize,
    writers: Writers,
    sides: Vec<(std::ops::Range<u64>, PathBuf)>,
}

impl Cutter {
    /// Cut `frame` into the buckets (every frame given has the same columns).
    pub fn push(&mut self, frame: &DataFrame) -> PolarsResult<()> {
        for (k, col) in self.by.iter().enumerate() {
            let nulls = KEEP_NULLS.contains(&col.as_str());
            let rows = row_buckets(frame.column(col)?, self.buckets, nulls)?;
            let mut idx: Vec<Vec<IdxSize>> = vec![Vec::new(); self.buckets];
            for (i, b) in rows.into_iter().enumerate() {
                if let Some(b) = b {
                    idx[b].push(i as IdxSize);
                }
            }
            let carried = frame.select(
                frame
                    .get_column_names_owned()
                    .into_iter()
                    .filter(|c| carries(col, c)),
            )?;
            for (b, rows) in idx.into_iter().enumerate() {
                if rows.is_empty() {
                    continue;
                }
                let part = carried.take(&IdxCa::from_vec("".into(), rows))?;
                let (_, w) = match self.writers.entry((k, b)) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        let path = self.dir.path().join(format!("{k}-{b}.parquet"));
                        // LZ4: three copies of 100 M key rows must fit a temporary folder.
                        let w = ParquetWriter::new(File::create(&path)?)
                            .with_compression(ParquetCompression::Lz4Raw)
                            // Every bucket is read whole; the writer would keep each page's
                            // min/max until the end (~28 KB a row group: 1.7 GB for 200
                            // buckets × 3 sets × 100 key tables).
                            .with_statistics(polars_io::parquet::write::StatisticsOptions::empty())
                            .batched(part.schema())?;
                        e.insert((path, w))
                    }
                };
                w.write_batch(&part)?;
            }
        }
        Ok(())
    }

    /// Cut the columns `in_buckets` of `frame` into the buckets; its other columns, with `seq`,
    /// go to a side file of their own, read back by `seq` ([`Partitioned::sides`]) only for the
    /// rows a rule finds.
    pub fn push_with_side(&mut self, frame: &DataFrame, in_buckets: &[&str]) -> PolarsResult<()> {
        let (keys, rest): (Vec<PlSmallStr>, Vec<PlSmallStr>) = frame
            .get_column_names_owned()
            .into_iter()
            .partition(|c| in_buckets.contains(&c.as_str()));
        self.push(&frame.select(keys)?)?;
        let seq = frame.column("seq")?.u64()?;
        let range = seq.min().unwrap_or(0)..seq.max().map_or(0, |m| m + 1);
        let path = self
            .dir
            .path()
            .join(format!("side-{:06}.parquet", self.sides.len()));
        let mut side = frame.select(std::iter::once("seq".into()).chain(rest))?;
        // Read back once, and only where a rule found a row: not worth compressing.
        ParquetWriter::new(File::create(&path)?)
            .with_compression(ParquetCompression::Uncompressed)
            .finish(&mut side)?;
        self.sides.push((range, path));
        Ok(())
    }

    /// Every frame is cut: the buckets, ready to run on.
    pub fn finish(self) -> PolarsResult<Partitioned> {
        let mut files: HashMap<String, Vec<Option<PathBuf>>> = self
            .by
            .iter()
            .map(|c| (c.clone(), vec![None; self.buckets]))
            .collect();
        for ((k, b), (path, w)) in self.writers {
            w.finish()?;
            if let Some(v) = files.get_mut(&self.by[k]) {
                v[b] = Some(path);
            }
        }
        Ok(Partitioned {
            _dir: self.dir,
            buckets: self.buckets,
            files,
            sides: self.sides,
        })
    }
}

impl Partitioned {
    /// A cutter of key rows into `buckets` buckets by each column of `by`, writing into a new
    /// private temporary folder.
    pub fn cutter(by: &[&str], buckets: usize) -> PolarsResult<Cutter> {
        let dir = tempfile::Builder::new()
            .prefix("povcheck-buckets-")
            .tempdir()?;
        Ok(Cutter {
            dir,
            by: by.iter().map(|s| s.to_string()).collect(),
            buckets: buckets.max(1),
            writers: HashMap::new(),
            sides: Vec::new(),
        })
    }

    /// Cut `frames` (each read and cut in turn, so only one is held) into `buckets` buckets by
    /// each column of `by`.
    pub fn build<I>(frames: I, by: &[&str], buckets: usize) -> PolarsResult<Partitioned>
    where
        I: IntoIterator<Item = PolarsResult<DataFrame>>,
    {
        let mut cut = Self::cutter(by, buckets)?;
        for frame in frames {
            cut.push(&frame?)?;
        }
        cut.finish()
    }

    /// Cut the key tables `files` (read one at a time) into buckets by `by`.
    pub fn from_files(files: &[PathBuf], by: &[&str], buckets: usize) -> PolarsResult<Partitioned> {
        Self::build(files.iter().map(|f| read_parquet(f)), by, buckets)
    }

    pub fn buckets(&self) -> usize {
        self.buckets
    }

    /// The side files, in the order pushed: the `seq` range of their rows, and the file.
    pub fn sides(&self) -> &[(std::ops::Range<u64>, PathBuf)] {
        &self.sides
    }

    /// The bucket files of column `by`, in bucket order (buckets without rows left out).
    pub fn files(&self, by: &str) -> Vec<&Path> {
        self.files
            .get(by)
            .map(|v| v.iter().flatten().map(PathBuf::as_path).collect())
            .unwrap_or_default()
    }

    /// Run `sql` on every bucket of `by` in turn, giving each bucket's result (scanned, so only
    /// the columns the query reads are read).
    pub fn each<'a>(
        &'a self,
        by: &str,
        sql: &'a str,
    ) -> impl Iterator<Item = PolarsResult<DataFrame>> + 'a {
        self.files(by)
            .into_iter()
            .map(move |f| run(&[f.to_path_buf()], sql))
    }

    /// Run `sql` on every bucket of `by`; the results stacked.
    pub fn run(&self, by: &str, sql: &str) -> PolarsResult<DataFrame> {
        let mut out: Option<DataFrame> = None;
        for df in self.each(by, sql) {
            let df = df?;
            match &mut out {
                None => out = Some(df),
                Some(o) => {
                    o.vstack_mut(&df)?;
                }
            }
        }
        // No bucket has a row: no result row (a frame without columns).
        Ok(out.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{HOUSEHOLDS, Kind};

    /// Key rows with every kind of cross-row problem and nulls in every key: 600 rows, some
    /// IDs, phones and households shared, some rows without a household.
    fn frame() -> DataFrame {
        let n = 600u64;
        let pick = |i: u64, m: u64| (i * 7919 + 13) % m;
        let opt = |i: u64, m: u64, p: &str, none_every: u64| {
            (!i.is_multiple_of(none_every)).then(|| format!("{p}{}", pick(i, m)))
        };
        let col = |name: &str, v: Vec<Option<String>>| Column::new(name.into(), v);
        DataFrame::new(
            n as usize,
            vec![
                col(
                    "input",
                    (0..n).map(|i| Some(format!("{:02}", i / 100))).collect(),
                ),
                col("sheet", (0..n).map(|_| Some("S".into())).collect()),
                Column::new(
                    "row".into(),
                    (0..n).map(|i| i as u32 + 2).collect::<Vec<_>>(),
                ),
                Column::new("seq".into(), (0..n).collect::<Vec<u64>>()),
                col(
                    "household",
                    (0..n).map(|i| opt(i / 3, 150, "H", 11)).collect(),
                ),
                col(
                    "unit_path",
                    (0..n).map(|i| Some(pick(i, 4).to_string())).collect(),
                ),
                col(
                    "town",
                    (0..n).map(|i| Some(format!("T{}", pick(i, 2)))).collect(),
                ),
                col("village", (0..n).map(|i| opt(i, 3, "V", 17)).collect()),
                col("id_hash", (0..n).map(|i| opt(i, 520, "I", 9)).collect()),
                col("phone_hash", (0..n).map(|i| opt(i, 300, "P", 4)).collect()),
                Column::new(
                    "phone_filled".into(),
                    (0..n).map(|i| i % 5 != 0).collect::<Vec<bool>>(),
                ),
            ],
        )
        .expect("frame")
    }

    fn sorted(df: DataFrame) -> Vec<String> {
        let mut rows: Vec<String> = (0..df.height())
            .map(|i| format!("{:?}", df.get_row(i).expect("row").0))
            .collect();
        rows.sort();
        rows
    }

    #[test]
    fn buckets_give_the_rows_of_one_pass() {
        let whole = frame();
        let path = |d: &tempfile::TempDir, i: usize| d.path().join(format!("{i}.parquet"));
        let dir = tempfile::tempdir().expect("tempdir");
        // Three inputs, as three key tables.
        let mut files = Vec::new();
        for i in 0..3 {
            let mut part = whole.slice(i as i64 * 200, 200);
            ParquetWriter::new(File::create(path(&dir, i)).expect("create"))
                .finish(&mut part)
                .expect("write");
            files.push(path(&dir, i));
        }
        assert_eq!(count_rows(&files).expect("count"), 600);
        let by = ["household", "id_hash", "phone_hash"];
        for buckets in [1, 2, 7] {
            let parts = Partitioned::from_files(&files, &by, buckets).expect("cut");
            assert_eq!(parts.buckets(), buckets);
            for kind in [Kind::SharedId, Kind::SplitLocation, Kind::SharedPhone] {
                let sql = kind.sql("X");
                let one = run(&files, &sql).expect("one pass");
                assert!(one.height() > 0, "{kind:?} finds something to compare");
                let cut = parts.run(kind.partition_column(), &sql).expect("buckets");
                assert_eq!(sorted(cut), sorted(one), "{kind:?} in {buckets} buckets");
            }
            // Household counts add up over household buckets, rows without one included.
            let q = format!("SELECT CAST(COUNT(*) AS BIGINT) AS n, {HOUSEHOLDS} AS h FROM keys");
            let one = run(&files, &q).expect("one pass");
            let cut = parts.run("household", &q).expect("buckets");
            let sum = |df: &DataFrame, c: &str| -> i64 {
                df.column(c)
                    .expect(c)
                    .i64()
                    .expect("i64")
                    .sum()
                    .unwrap_or(0)
            };
            assert_eq!(sum(&cut, "n"), 600);
            assert_eq!(sum(&cut, "h"), sum(&one, "h"));
            // Rows without an ID are in no ID bucket: the rules never match them.
            let ids: usize = parts
                .files("id_hash")
                .iter()
                .map(|f| count_rows(&[f.to_path_buf()]).expect("rows"))
                .sum();
            assert_eq!(ids, 600 - 600usize.div_ceil(9));
        }
    }

    #[test]
    fn no_rows_no_buckets() {
        let empty = frame().slice(0, 0);
        let parts = Partitioned::build([Ok(empty)], &["id_hash"], 4).expect("cut");
        assert!(parts.files("id_hash").is_empty());
        let out = parts.run("id_hash", &Kind::SharedId.sql("X")).expect("run");
        assert_eq!(out.height(), 0);
        assert!(crate::dataset::hits(&out).expect("hits").is_empty());
    }

    #[test]
    fn bucket_counts() {
        assert_eq!(buckets_for(0, 10), 1);
        assert_eq!(buckets_for(10, 10), 1);
        assert_eq!(buckets_for(11, 10), 2);
        assert_eq!(buckets_for(5, 0), 5);
    }
}
