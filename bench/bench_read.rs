//! The floor povcheck is measured against: read every cell of a file and do nothing else.
//!
//! `bench-read csv FILE` reads the CSV with polars' CsvReader, every column as text (no header
//! row assumed, so the title rows are just text too); `bench-read xlsx FILE` streams every cell
//! of every sheet with calamine's cell reader, the read mode povcheck uses, and clones each value
//! once (povcheck keeps every cell, so the floor includes owning it). Prints a cell count so the
//! work cannot be optimised away.

use std::path::PathBuf;
use std::process::ExitCode;

use calamine::{Reader, Xlsx};
use polars_io::prelude::{CsvReadOptions, SerReader};

fn csv(path: PathBuf) -> Result<u64, String> {
    let df = CsvReadOptions::default()
        .with_has_header(false)
        // No rows to infer from: every column is String.
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(path))
        .map_err(|e| e.to_string())?
        .finish()
        .map_err(|e| e.to_string())?;
    Ok((df.height() * df.width()) as u64)
}

fn xlsx(path: PathBuf) -> Result<u64, String> {
    let mut wb: Xlsx<_> = calamine::open_workbook(&path).map_err(|e| format!("{e}"))?;
    let mut n = 0u64;
    for name in wb.sheet_names() {
        let mut cells = wb
            .worksheet_cells_reader(&name)
            .map_err(|e| e.to_string())?;
        while let Some(c) = cells.next_cell().map_err(|e| e.to_string())? {
            let v = c.get_value().clone();
            if !matches!(v, calamine::DataRef::Empty) {
                n += 1;
            }
            std::hint::black_box(v);
        }
    }
    Ok(n)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(kind), Some(path)) = (args.next(), args.next()) else {
        eprintln!("usage: bench-read csv|xlsx FILE");
        return ExitCode::from(2);
    };
    let path = PathBuf::from(path);
    let r = match kind.as_str() {
        "csv" => csv(path),
        "xlsx" => xlsx(path),
        _ => Err(format!("unknown kind {kind}")),
    };
    match r {
        Ok(n) => {
            println!("{n} cells");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench-read: {e}");
            ExitCode::FAILURE
        }
    }
}
