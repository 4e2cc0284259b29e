//! Reading one CSV file into a [`Table`]: decode, split records (quotes, embedded newlines),
//! refuse ragged records, then the shared header and row logic. CSV cells are always text.

use super::encoding::decode;
use super::header::HEADER_SCAN_ROWS;
use super::sheet::{SheetProblem, SparseSheet};
use super::{Cell, HeaderMatcher, ReadOptions, Table};

/// Why a CSV gave no table: `NoHeader` is the sheet-level "no header" case, `Bad` an unreadable
/// file (reason in Chinese).
#[derive(Debug, PartialEq, Eq)]
pub enum CsvProblem {
    NoHeader(String),
    Bad(String),
}

pub fn read_csv(
    bytes: &[u8],
    display: &str,
    opts: &ReadOptions,
    matcher: &HeaderMatcher,
) -> Result<Table, CsvProblem> {
    let decoded = decode(bytes, opts.encoding).map_err(CsvProblem::Bad)?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(decoded.text.as_bytes());
    // The csv crate's own line counter skips blank lines; count from byte offsets instead so
    // the number is the line an editor shows.
    let newlines: Vec<usize> = decoded
        .text
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i)
        .collect();
    let line_at = |pos: Option<&csv::Position>| {
        let byte = pos.map(|p| p.byte()).unwrap_or(0);
        let mut byte = usize::try_from(byte).unwrap_or(usize::MAX);
        // A record's position can point at blank lines the parser skipped before it.
        let text = decoded.text.as_bytes();
        while matches!(text.get(byte), Some(b'\n' | b'\r')) {
            byte += 1;
        }
        let line = newlines.partition_point(|&n| n < byte) + 1;
        u32::try_from(line).unwrap_or(u32::MAX)
    };
    let mut records: Vec<(u32, Vec<String>)> = Vec::new();
    let mut cells: u64 = 0;
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = line_at(e.position());
            CsvProblem::Bad(format!("第 {line} 行无法解析：{e}"))
        })?;
        let line = line_at(rec.position());
        cells = cells.saturating_add(rec.len() as u64);
        if cells > opts.max_cells {
            return Err(CsvProblem::Bad(format!(
                "单元格数超过上限 {}，拒绝读取；如确需检查，请拆分文件",
                opts.max_cells
            )));
        }
        records.push((line, rec.iter().map(str::to_string).collect()));
    }

    // Find the header among the first non-blank records, to know the field count that every
    // later record must have.
    let candidates: Vec<(u32, Vec<(u32, String)>)> = records
        .iter()
        .filter(|(_, f)| f.iter().any(|s| !s.trim().is_empty()))
        .take(HEADER_SCAN_ROWS)
        .map(|(line, f)| {
            let cells = f
                .iter()
                .enumerate()
                .filter(|(_, s)| !s.is_empty())
                .map(|(c, s)| (u32::try_from(c).unwrap_or(u32::MAX), s.clone()))
                .collect();
            (*line, cells)
        })
        .collect();
    let Some((header_line, _)) = super::header::find_header(&candidates, matcher) else {
        return Err(CsvProblem::NoHeader(format!(
            "没有找到表头（前 {HEADER_SCAN_ROWS} 行中没有与字段名匹配的行）"
        )));
    };
    let width = records
        .iter()
        .find(|(l, _)| *l == header_line)
        .map(|(_, f)| f.len())
        .unwrap_or(0);
    if let Some((line, f)) = records.iter().find(|(l, f)| {
        // A blank record (e.g. a line of spaces) carries nothing to misplace.
        *l > header_line && f.len() != width && f.iter().any(|s| !s.trim().is_empty())
    }) {
        return Err(CsvProblem::Bad(format!(
            "第 {line} 行有 {} 个字段，而表头有 {width} 个（可能有多余的逗号或缺少引号）",
            f.len()
        )));
    }

    // Line numbers become 0-based sheet rows so the shared builder reports the line itself.
    let mut sheet = SparseSheet::new(opts.max_cells);
    for (line, fields) in records {
        let r0 = line.saturating_sub(1);
        for (c, s) in fields.into_iter().enumerate() {
            if s.is_empty() {
                continue;
            }
            let c = u32::try_from(c).unwrap_or(u32::MAX);
            sheet.push(r0, c, Cell::Text(s)).map_err(|p| match p {
                SheetProblem::TooManyCells(n) => {
                    CsvProblem::Bad(format!("单元格数超过上限 {n}，拒绝读取"))
                }
                SheetProblem::NoHeader(r) => CsvProblem::NoHeader(r),
            })?;
        }
    }
    sheet
        .into_table(display, None, &[], matcher)
        .map_err(|p| match p {
            SheetProblem::NoHeader(r) => CsvProblem::NoHeader(r),
            SheetProblem::TooManyCells(n) => {
                CsvProblem::Bad(format!("单元格数超过上限 {n}，拒绝读取"))
            }
        })
}
