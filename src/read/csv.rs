//! Reading one CSV file into a [`Table`]: decode, split records (quotes, embedded newlines),
//! refuse ragged records, then the shared header and row logic. CSV cells are always text.

use super::encoding::decode;
use super::header::{CandidateRow, HEADER_SCAN_ROWS, find_header};
use super::sheet::{SheetProblem, TableBuilder};
use super::{CellRef, HeaderMatcher, ReadOptions, Table};

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
    let text = decoded.text.as_bytes();
    // The csv crate's own line counter skips blank lines; count from byte offsets instead so
    // the number is the line an editor shows.
    let newlines: Vec<usize> = text
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i)
        .collect();
    let line_at = |pos: Option<&csv::Position>| {
        let byte = pos.map(|p| p.byte()).unwrap_or(0);
        let mut byte = usize::try_from(byte).unwrap_or(usize::MAX);
        // A record's position can point at blank lines the parser skipped before it.
        while matches!(text.get(byte), Some(b'\n' | b'\r')) {
            byte += 1;
        }
        let line = newlines.partition_point(|&n| n < byte) + 1;
        u32::try_from(line).unwrap_or(u32::MAX)
    };
    let delimiter = sniff_delimiter(&decoded.text);
    let reader = || {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(text)
    };
    let parse_err = |e: csv::Error| {
        let line = line_at(e.position());
        CsvProblem::Bad(format!("第 {line} 行无法解析：{e}"))
    };
    let is_blank = |r: &csv::StringRecord| r.iter().all(|s| s.trim().is_empty());

    // Pass 1: the header among the first non-blank records, for the field count that every
    // later record must have. Only these few records are held; pass 2 streams.
    let mut candidates: Vec<CandidateRow> = Vec::new();
    let mut widths: Vec<usize> = Vec::new();
    for rec in reader().records() {
        let rec = rec.map_err(parse_err)?;
        if is_blank(&rec) {
            continue;
        }
        let cells = rec
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.is_empty())
            .map(|(c, s)| (u32::try_from(c).unwrap_or(u32::MAX), s.to_string()))
            .collect();
        candidates.push((line_at(rec.position()), cells));
        widths.push(rec.len());
        if candidates.len() >= HEADER_SCAN_ROWS {
            break;
        }
    }
    let Some((header_line, columns)) = find_header(&candidates, matcher) else {
        return Err(CsvProblem::NoHeader(format!(
            "没有找到表头（前 {HEADER_SCAN_ROWS} 行中没有与字段名匹配的行）"
        )));
    };
    let width = candidates
        .iter()
        .position(|(l, _)| *l == header_line)
        .and_then(|i| widths.get(i).copied())
        .unwrap_or(0);

    // Pass 2: every record below the header straight into the table's columns; the records
    // above it were only titles.
    let too_many = |n: u64| {
        CsvProblem::Bad(format!(
            "单元格数超过上限 {n}，拒绝读取；如确需检查，请拆分文件"
        ))
    };
    let mut builder = TableBuilder::new(
        Table::new(display, None, header_line, columns),
        opts.max_cells,
    );
    let mut rdr = reader();
    let mut rec = csv::StringRecord::new();
    // One record buffer for the whole file: a million records, no allocation each.
    while rdr.read_record(&mut rec).map_err(parse_err)? {
        let line = line_at(rec.position());
        if line <= header_line {
            continue;
        }
        if rec.len() != width && !is_blank(&rec) {
            return Err(CsvProblem::Bad(format!(
                "第 {line} 行有 {} 个字段，而表头有 {width} 个（可能有多余的逗号或缺少引号）",
                rec.len()
            )));
        }
        let cells = rec
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.is_empty())
            .map(|(c, s)| (u32::try_from(c).unwrap_or(u32::MAX), CellRef::Text(s)));
        builder.add(line, cells).map_err(|p| match p {
            SheetProblem::TooManyCells(n) => too_many(n),
            SheetProblem::NoHeader(r) => CsvProblem::NoHeader(r),
            SheetProblem::ColumnTooLarge => CsvProblem::Bad(COLUMN_TOO_LARGE.into()),
        })?;
    }
    Ok(builder.finish())
}

/// Why a file whose one column holds over 4 GB of text is refused.
pub(crate) const COLUMN_TOO_LARGE: &str = "某一列的文字超过 4 GB，拒绝读取；请拆分文件";

/// Comma, unless the first lines hold more tabs than commas: exports saved as "文本文件(制表符分隔)"
/// arrive as .txt or .csv with tabs.
pub(crate) fn sniff_delimiter(text: &str) -> u8 {
    let head = text.lines().take(HEADER_SCAN_ROWS);
    let (mut commas, mut tabs) = (0usize, 0usize);
    for line in head {
        commas += line.matches(',').count();
        tabs += line.matches('\t').count();
    }
    if tabs > commas { b'\t' } else { b',' }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_is_sniffed() {
        assert_eq!(sniff_delimiter("户编号\t姓名\t证件号码\n1\t甲\tx\n"), b'\t');
        assert_eq!(
            sniff_delimiter("户编号,姓名,证件号码\n1,\"a\tb\",x\n"),
            b','
        );
        assert_eq!(sniff_delimiter("只有一列\n"), b',');
    }

    #[test]
    fn tab_separated_is_read() {
        let none: &[String] = &[];
        let m = HeaderMatcher::new([("户编号", none), ("姓名", none), ("证件号码", none)]);
        let t = read_csv(
            "户编号\t姓名\t证件号码\n1\t甲\tx\n".as_bytes(),
            "a.txt",
            &ReadOptions::default(),
            &m,
        )
        .unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t.cell(0, 1), CellRef::Text("甲"));
    }
}
