//! The local engine: the dataset rules' SQL on polars, over a lazy scan of the key tables (only
//! the columns a query reads are read), collected on polars' streaming engine so a table larger
//! than memory is grouped in pieces.

use std::path::PathBuf;

use polars::prelude::*;
use polars::sql::SQLContext;

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
