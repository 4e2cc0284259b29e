//! Reading one CSV file into a [`Table`]: decode, split records (quotes, embedded newlines),
//! refuse ragged records, then the shared header and row logic. CSV cells are always text.

use rayon::prelude::*;

use super::encoding::decode_reason as decode;
use super::header::{CandidateRow, HEADER_SCAN_ROWS, find_header};
use super::sheet::{SheetProblem, TableBuilder};
use super::{CellRef, HeaderMatcher, ReadOptions, Reason, Table, Unit};

/// Why a CSV gave no table: `NoHeader` is the sheet-level "no header" case, `Bad` an unreadable
/// file.
#[derive(Debug, PartialEq)]
pub enum CsvProblem {
    NoHeader(Reason),
    Bad(Reason),
}

pub fn read_csv(
    bytes: &[u8],
    display: &str,
    opts: &ReadOptions,
    matcher: &HeaderMatcher,
) -> Result<Table, CsvProblem> {
    read_csv_in(
        bytes,
        display,
        opts,
        matcher,
        // One part per core: the first part's columns are grown in place by the join and the
        // others copied onto them, so fewer parts copy less (two parts on two cores: half the
        // table, against three quarters with four; the parse took as long either way).
        rayon::current_num_threads(),
        true,
    )
}

/// [`read_csv`] with the data cut into at most `parts` parts; `split_plain` allows the direct
/// split of a data section without quotes (off only to compare it with the csv crate's read).
fn read_csv_in(
    bytes: &[u8],
    display: &str,
    opts: &ReadOptions,
    matcher: &HeaderMatcher,
    parts: usize,
    split_plain: bool,
) -> Result<Table, CsvProblem> {
    let t0 = std::time::Instant::now();
    let decoded = decode(bytes, opts.encoding).map_err(CsvProblem::Bad)?;
    let text = decoded.text.as_bytes();
    crate::timing::timing("read: decode", t0);
    let t0 = std::time::Instant::now();
    let lines = Lines::new(text);
    crate::timing::timing("read: line index", t0);
    let line_at_byte = |byte: u64| lines.at_byte(byte);
    let line_at = |pos: Option<&csv::Position>| lines.at(pos);
    let delimiter = sniff_delimiter(&decoded.text);
    let reader = || csv_reader(text, delimiter);
    // `base`: where the parsed bytes start in the file (a part's first byte).
    let parse_err_from = |base: usize| {
        move |e: csv::Error| {
            let line = line_at_byte(e.position().map_or(0, |p| p.byte()) + base as u64);
            CsvProblem::Bad(Reason::CsvParse {
                line,
                detail: e.to_string(),
            })
        }
    };
    let parse_err = parse_err_from(0);
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
        return Err(CsvProblem::NoHeader(Reason::NoHeader));
    };
    let width = candidates
        .iter()
        .position(|(l, _)| *l == header_line)
        .and_then(|i| widths.get(i).copied())
        .unwrap_or(0);

    // Pass 2: every record below the header straight into the table's columns; the records
    // above it were only titles. The data is cut at record boundaries into parts parsed in
    // parallel and joined in order, so the table and the first error reported are those of a
    // front-to-back read.
    let mut rdr = reader();
    let mut rec = csv::StringRecord::new();
    while rdr.read_record(&mut rec).map_err(parse_err)? {
        if line_at(rec.position()) >= header_line {
            break;
        }
    }
    let data_start = usize::try_from(rdr.position().byte()).unwrap_or(text.len());
    let parts = split_records(text, data_start, delimiter, parts);
    let too_many = |max: u64| {
        CsvProblem::Bad(Reason::TooManyCells {
            max,
            unit: Unit::File,
        })
    };
    let add_problem = |p: SheetProblem| match p {
        SheetProblem::TooManyCells(n) => too_many(n),
        SheetProblem::NoHeader(r) => CsvProblem::NoHeader(r),
        SheetProblem::ColumnTooLarge => CsvProblem::Bad(Reason::ColumnTooLarge),
        // Records are read in order.
        SheetProblem::OutOfOrder => CsvProblem::Bad(Reason::RecordsOutOfOrder),
    };
    // Most exports quote nothing. Then a record is a line and a field the text between two
    // delimiters: split directly, the cells borrowed from the decoded text, which is already
    // valid UTF-8 (the csv crate would copy every record and validate it again: a fifth of the
    // read's instructions). As in the csv crate, CR, LF and CRLF end a record and empty lines
    // are no records.
    let plain =
        split_plain && memchr::memchr(b'"', text.get(data_start..).unwrap_or_default()).is_none();
    let new_builder = || {
        TableBuilder::new(
            Table::new(display, None, header_line, columns.clone()),
            opts.max_cells,
        )
        .with_progress(opts.progress.clone())
    };
    let read_plain = |range: &std::ops::Range<usize>| -> Result<Table, CsvProblem> {
        let mut builder = new_builder();
        let part = decoded.text.get(range.clone()).unwrap_or_default();
        let bytes = part.as_bytes();
        // One pass over the part finds every delimiter and line break: the fields of a record
        // are gathered as it goes (one buffer for the whole part), so a record is never split
        // a second time to count its fields or to skip it when blank.
        let mut fields: Vec<&str> = Vec::with_capacity(width + 1);
        // Rows admitted but not yet in the table, pushed a block at a time.
        let mut numbers: Vec<u32> = Vec::with_capacity(BLOCK_ROWS);
        let mut block: Vec<CellRef<'_>> = Vec::with_capacity(BLOCK_ROWS * columns.len());
        let mut lines_before = LineCursor::new(&lines, range.start);
        let mut field_start = 0;
        let mut record_start = 0;
        let ends = memchr::memchr3_iter(delimiter, b'\n', b'\r', bytes)
            .chain(std::iter::once(bytes.len()));
        for at in ends {
            fields.push(part.get(field_start..at).unwrap_or_default());
            field_start = at + 1;
            if bytes.get(at) == Some(&delimiter) {
                continue;
            }
            // A record's end. One empty field: an empty line, which is no record.
            if !matches!(fields.as_slice(), [""]) {
                let line = lines_before.line_at((range.start + record_start) as u64);
                let found = fields.len();
                if found != width && !fields.iter().all(|s| s.trim().is_empty()) {
                    return Err(CsvProblem::Bad(Reason::CsvWidth { line, found, width }));
                }
                let admitted = match builder.admit_fields(line, &fields, numbers.len(), &mut block)
                {
                    Some(admitted) => admitted,
                    None => {
                        let cells = record_cells(fields.iter().copied());
                        builder.admit(line, cells, numbers.len(), &mut block)
                    }
                };
                if admitted.map_err(add_problem)? {
                    numbers.push(line);
                    if numbers.len() == BLOCK_ROWS {
                        builder.push_rows(&numbers, &block).map_err(add_problem)?;
                        numbers.clear();
                        block.clear();
                    }
                }
            }
            fields.clear();
            record_start = at + 1;
        }
        builder.push_rows(&numbers, &block).map_err(add_problem)?;
        Ok(builder.finish())
    };
    let read_part = |range: &std::ops::Range<usize>| -> Result<Table, CsvProblem> {
        if plain {
            return read_plain(range);
        }
        let mut builder = new_builder();
        // The csv crate drops a UTF-8 BOM at the start of its input as the file's own; the
        // file's BOM is gone with decoding, so one at a part's start is a cell's text (a
        // zero-width no-break space). Such a part is read from the line break before it.
        let start = match text.get(range.start.saturating_sub(1)..range.start + 3) {
            Some([b'\n' | b'\r', 0xEF, 0xBB, 0xBF]) => range.start - 1,
            _ => range.start,
        };
        let part = text.get(start..range.end).unwrap_or_default();
        let mut rdr = csv_reader(part, delimiter);
        let at = |p: Option<&csv::Position>| line_at_byte(p.map_or(0, |p| p.byte()) + start as u64);
        // One record buffer per part: a million records, no allocation each.
        let mut rec = csv::StringRecord::new();
        while rdr.read_record(&mut rec).map_err(parse_err_from(start))? {
            let line = at(rec.position());
            if rec.len() != width && !is_blank(&rec) {
                return Err(CsvProblem::Bad(Reason::CsvWidth {
                    line,
                    found: rec.len(),
                    width,
                }));
            }
            builder
                .add(line, record_cells(rec.iter()))
                .map_err(add_problem)?;
        }
        Ok(builder.finish())
    };
    let t0 = std::time::Instant::now();
    let tables = parts
        .par_iter()
        .map(read_part)
        .collect::<Result<Vec<Table>, CsvProblem>>()?;
    crate::timing::timing("read: parse parts", t0);
    let t0 = std::time::Instant::now();
    let table = Table::concat(tables)
        .map_err(|_| CsvProblem::Bad(Reason::ColumnTooLarge))?
        .unwrap_or_else(|| Table::new(display, None, header_line, columns.clone()));
    crate::timing::timing("read: join parts", t0);
    let cells = (table.len() as u64).saturating_mul(table.columns.len() as u64);
    if cells > opts.max_cells {
        return Err(too_many(opts.max_cells));
    }
    Ok(table)
}

/// Records as povcheck reads them: no header handling (the header is found, not assumed), any
/// width (ragged records are refused with their line number, not by the parser).
/// Line numbers of decoded CSV text. The csv crate's own line counter skips blank lines; these
/// count from byte offsets instead, so the number is the line an editor shows.
pub(super) struct Lines<'a> {
    text: &'a [u8],
    newlines: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub(super) fn new(text: &'a [u8]) -> Self {
        // Lines end at LF (or CRLF); a file with no LF at all is an old-Mac export whose lines
        // end at a lone CR, which the csv parser also splits on. A CR inside a quoted field of
        // an LF file stays part of its line, as editors show it.
        let end = if memchr::memchr(b'\n', text).is_none() {
            b'\r'
        } else {
            b'\n'
        };
        Lines {
            text,
            newlines: memchr::memchr_iter(end, text).collect(),
        }
    }

    /// The 1-based line of the record starting at `byte`.
    pub(super) fn at_byte(&self, byte: u64) -> u32 {
        let mut byte = usize::try_from(byte).unwrap_or(usize::MAX);
        // A record's position can point at blank lines the parser skipped before it.
        while matches!(self.text.get(byte), Some(b'\n' | b'\r')) {
            byte += 1;
        }
        let line = self.newlines.partition_point(|&n| n < byte) + 1;
        u32::try_from(line).unwrap_or(u32::MAX)
    }

    pub(super) fn at(&self, pos: Option<&csv::Position>) -> u32 {
        self.at_byte(pos.map_or(0, |p| p.byte()))
    }
}

/// [`Lines::at_byte`] for records met front to back: the line is found by walking the line
/// index from the previous record's, not by a search per record.
struct LineCursor<'l, 'a> {
    lines: &'l Lines<'a>,
    /// Line breaks before the last byte asked about.
    before: usize,
}

impl<'l, 'a> LineCursor<'l, 'a> {
    fn new(lines: &'l Lines<'a>, start: usize) -> Self {
        let before = lines.newlines.partition_point(|&n| n < start);
        LineCursor { lines, before }
    }

    /// The line of the record starting at `byte`, which is at or after `start` and the last
    /// one asked about, and is no line break itself (a plain record: its first byte is its first field's).
    fn line_at(&mut self, byte: u64) -> u32 {
        let byte = usize::try_from(byte).unwrap_or(usize::MAX);
        while self
            .lines
            .newlines
            .get(self.before)
            .is_some_and(|&n| n < byte)
        {
            self.before += 1;
        }
        u32::try_from(self.before + 1).unwrap_or(u32::MAX)
    }
}

/// A record's non-empty fields as cells, by column.
fn record_cells<'a>(
    fields: impl Iterator<Item = &'a str> + Clone,
) -> impl Iterator<Item = (u32, CellRef<'a>)> + Clone {
    fields
        .enumerate()
        .filter(|(_, s)| !s.is_empty())
        .map(|(c, s)| (u32::try_from(c).unwrap_or(u32::MAX), CellRef::Text(s)))
}

pub(super) fn csv_reader(bytes: &[u8], delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes)
}

/// Rows gathered before they are pushed into the table's columns: enough that each column is
/// written in a run, few enough that the block stays in cache.
const BLOCK_ROWS: usize = 256;

/// Smallest part worth a thread of its own.
const MIN_PART_BYTES: usize = 1 << 20;

/// Cut `text[start..]` into up to `parts` ranges that each begin at a record boundary: after a
/// line feed outside any quoted field. Quote positions are found with memchr and paired the
/// way the csv crate pairs them; a quote it would read differently (inside an unquoted field,
/// or not followed by a delimiter after closing) leaves the text in one part, read as before.
fn split_records(
    text: &[u8],
    start: usize,
    delimiter: u8,
    parts: usize,
) -> Vec<std::ops::Range<usize>> {
    let whole: Vec<std::ops::Range<usize>> = std::iter::once(start..text.len()).collect();
    let len = text.len().saturating_sub(start);
    let parts = parts.min(len / MIN_PART_BYTES).max(1);
    if parts == 1 {
        return whole;
    }
    let Some(spans) = quoted_spans(text, delimiter) else {
        return whole;
    };
    let mut cuts = vec![start];
    for k in 1..parts {
        let mut at = start + len / parts * k;
        let cut = loop {
            let Some(nl) = memchr::memchr(b'\n', text.get(at..).unwrap_or_default()) else {
                break None;
            };
            let nl = at + nl;
            // Inside a quoted field: try again after it.
            let i = spans.partition_point(|&(_, close)| close < nl);
            match spans.get(i) {
                Some(&(open, close)) if open < nl => at = close + 1,
                _ => break Some(nl + 1),
            }
        };
        match cut {
            Some(c) if c > *cuts.last().unwrap_or(&start) && c < text.len() => cuts.push(c),
            _ => {}
        }
    }
    cuts.push(text.len());
    cuts.windows(2).map(|w| w[0]..w[1]).collect()
}

/// The (opening, closing) byte positions of every quoted field, or None when a quote is used
/// in a way only a full parse can interpret.
fn quoted_spans(text: &[u8], delimiter: u8) -> Option<Vec<(usize, usize)>> {
    let mut spans = Vec::new();
    let mut quotes = memchr::memchr_iter(b'"', text);
    while let Some(open) = quotes.next() {
        let at_field_start = open
            .checked_sub(1)
            .and_then(|p| text.get(p))
            .is_none_or(|&b| b == delimiter || b == b'\n' || b == b'\r');
        if !at_field_start {
            return None;
        }
        let close = loop {
            // An unterminated quote: the sequential read reports it.
            let q = quotes.next()?;
            match text.get(q + 1) {
                // A doubled quote inside the field.
                Some(b'"') => {
                    quotes.next();
                }
                None | Some(b'\n' | b'\r') => break q,
                Some(&b) if b == delimiter => break q,
                Some(_) => return None,
            }
        };
        spans.push((open, close));
    }
    Some(spans)
}

/// Comma, unless the first lines hold more tabs than commas: exports saved as "文本文件(制表符分隔)"
/// arrive as .txt or .csv with tabs.
pub(crate) fn sniff_delimiter(text: &str) -> u8 {
    // Semicolons are what spreadsheet programs write as "CSV" where the decimal mark is a comma;
    // the delimiter with the most separators in the first lines wins, a comma on a tie.
    let head = text.lines().take(HEADER_SCAN_ROWS);
    let (mut commas, mut tabs, mut semicolons) = (0usize, 0usize, 0usize);
    for line in head {
        commas += line.matches(',').count();
        tabs += line.matches('\t').count();
        semicolons += line.matches(';').count();
    }
    if tabs > commas && tabs >= semicolons {
        b'\t'
    } else if semicolons > commas {
        b';'
    } else {
        b','
    }
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
        assert_eq!(sniff_delimiter("户编号;姓名;证件号码\n1;\"a,b\";x\n"), b';');
        // Values with a few semicolons do not outvote the commas between fields.
        assert_eq!(
            sniff_delimiter("户编号,姓名,其他致贫原因\n1,甲,缺技术;缺资金\n"),
            b','
        );
    }

    fn matcher() -> HeaderMatcher {
        let none: &[String] = &[];
        HeaderMatcher::new([("户编号", none), ("姓名", none), ("证件号码", none)])
    }

    /// A CSV of a few MB with quoted fields (commas, doubled quotes, line breaks), blank lines
    /// and totals rows: what the parallel read must give exactly as a front-to-back read.
    fn big_csv(rows: usize) -> String {
        let mut s = String::from("某县花名册\n户编号,姓名,证件号码,备注\n");
        for i in 0..rows {
            match i % 97 {
                0 => s.push_str(&format!("{i},\"甲{i}\",x{i},\"第一行\n第二行, 含逗号\"\n")),
                1 => s.push_str(&format!("{i},\"乙\"\"{i}\"\"\",x{i},\n\n")),
                2 => s.push_str("合计,,,\n"),
                3 => s.push_str(&format!("{i},\"\n\n\n\",x{i},\"\"\n")),
                _ => s.push_str(&format!("{i},丙{i},x{i},备注{i}\n")),
            }
        }
        s
    }

    #[test]
    fn parallel_read_equals_sequential_read() {
        let csv = big_csv(200_000);
        assert!(csv.len() > 4 * MIN_PART_BYTES);
        let opts = ReadOptions::default();
        let one = read_csv_in(csv.as_bytes(), "a.csv", &opts, &matcher(), 1, true).unwrap();
        let many = read_csv_in(csv.as_bytes(), "a.csv", &opts, &matcher(), 7, true).unwrap();
        assert_eq!(one, many);
        assert_eq!(one.len(), 200_000 - 200_000_usize.div_ceil(97));
        assert!(
            one.skipped_rows
                .iter()
                .all(|r| r.reason.starts_with("合计"))
        );
        // The parts really were cut (otherwise this test proves nothing).
        let data = csv.find("\n0,").unwrap() + 1;
        assert!(split_records(csv.as_bytes(), data, b',', 7).len() > 1);
    }

    /// A quote-free CSV with every line ending (LF, CRLF, a lone CR inside an LF file), blank
    /// and white-space-only lines, empty trailing fields and totals rows.
    fn plain_csv(rows: usize, sep: &str) -> String {
        plain_csv_under(rows, sep, &format!("户编号{sep}姓名{sep}证件号码{sep}备注"))
    }

    /// [`plain_csv`] under another header line (four fields).
    fn plain_csv_under(rows: usize, sep: &str, header: &str) -> String {
        let mut s = format!("某县花名册\r\n{header}\n");
        // A zero-width no-break space leading the first record: data, not a BOM.
        s.push_str(&format!("\u{feff}{sep}{sep}{sep} \n"));
        for i in 0..rows {
            let line = match i % 13 {
                0 => format!("{i}{sep}甲{i}{sep}x{i}{sep}\r\n"),
                1 => format!("{i}{sep} 乙 {sep}{sep}备注\r"),
                2 => "\n\n".to_string(),
                3 => format!("{sep}{sep}{sep}\n"),
                4 => format!("  {sep} {sep}\u{3000}{sep}\n"),
                5 => format!("合计{sep}{sep}{sep}\n"),
                6 => format!("{i}{sep}丙{i}{sep}x{i}{sep}备注\r\n\r\n"),
                // Data in the last column only.
                8 => format!("{sep}{sep}{sep}备注{i}\n"),
                _ => format!("{i}{sep}丁{i}{sep}x{i}{sep}备注{i}\n"),
            };
            s.push_str(&line);
        }
        s.push_str(&format!("9{sep}戊{sep}x{sep}无换行"));
        s
    }

    #[test]
    fn plain_split_reads_what_the_csv_crate_reads() {
        let opts = ReadOptions::default();
        for sep in [",", "\t"] {
            // Header columns from the first without a gap (the fields are the cells); with a
            // gap; with the last column headerless (its data is outside the table).
            let headers = [
                format!("户编号{sep}姓名{sep}证件号码{sep}备注"),
                format!("户编号{sep}姓名{sep}{sep}证件号码"),
                format!("户编号{sep}姓名{sep}证件号码{sep}"),
            ];
            for header in &headers {
                for rows in [0, 1, 30, 150_000] {
                    let csv = plain_csv_under(rows, sep, header);
                    let crate_read =
                        read_csv_in(csv.as_bytes(), "a.csv", &opts, &matcher(), 1, false);
                    for parts in [1, 7] {
                        let plain =
                            read_csv_in(csv.as_bytes(), "a.csv", &opts, &matcher(), parts, true);
                        assert_eq!(plain, crate_read, "{rows} rows, {header:?}, {parts} parts");
                    }
                }
            }
            for header in &headers {
                let csv = plain_csv_under(3, sep, header);
                let read = read_csv_in(csv.as_bytes(), "a.csv", &opts, &matcher(), 1, true);
                assert!(read.is_ok(), "{header:?}: {read:?}");
            }
            // The headerless column's rows are reported, not lost.
            let csv = plain_csv_under(30, sep, &headers[2]);
            let table =
                read_csv_in(csv.as_bytes(), "a.csv", &opts, &matcher(), 3, true).expect("read");
            assert!(
                table
                    .skipped_rows
                    .iter()
                    .any(|r| r.reason.contains("没有表头的列")),
                "{:?}",
                table.skipped_rows
            );
        }
        // Ragged records are refused with the same line either way.
        let mut csv = plain_csv(30, ",");
        csv.push_str("\n1,甲,x,备注,多余\n");
        let a = read_csv_in(csv.as_bytes(), "a.csv", &opts, &matcher(), 1, false);
        assert!(
            matches!(a, Err(CsvProblem::Bad(Reason::CsvWidth { .. }))),
            "{a:?}"
        );
        assert_eq!(
            a,
            read_csv_in(csv.as_bytes(), "a.csv", &opts, &matcher(), 4, true)
        );
    }

    #[test]
    fn the_cell_limit_gives_the_same_verdict_on_the_plain_read() {
        // The plain read admits rows a block at a time; the limit counts the rows of the block.
        let csv = plain_csv(3_000, ",");
        let crate_read = |max_cells| {
            let opts = ReadOptions {
                max_cells,
                ..ReadOptions::default()
            };
            let plain = read_csv_in(csv.as_bytes(), "a.csv", &opts, &matcher(), 1, true);
            let crate_read = read_csv_in(csv.as_bytes(), "a.csv", &opts, &matcher(), 1, false);
            assert_eq!(plain, crate_read, "max_cells {max_cells}");
            plain
        };
        let rows = crate_read(u64::MAX).unwrap().len() as u64;
        assert!(rows > 2 * BLOCK_ROWS as u64);
        assert!(crate_read(rows * 4).is_ok());
        assert_eq!(
            crate_read(rows * 4 - 1),
            Err(CsvProblem::Bad(Reason::TooManyCells {
                max: rows * 4 - 1,
                unit: Unit::File
            }))
        );
        assert!(crate_read(BLOCK_ROWS as u64 * 2).is_err());
    }

    #[test]
    fn cuts_land_outside_quoted_fields() {
        let csv = big_csv(200_000);
        let text = csv.as_bytes();
        let spans = quoted_spans(text, b',').unwrap();
        let parts = split_records(text, 0, b',', 16);
        assert!(parts.len() > 1);
        for p in &parts[1..] {
            assert_eq!(text[p.start - 1], b'\n');
            assert!(!spans.iter().any(|&(o, c)| o < p.start && p.start <= c));
        }
    }

    #[test]
    fn a_quote_only_a_full_parse_reads_keeps_one_part() {
        assert_eq!(quoted_spans(b"a,b\"c,d\n", b','), None);
        assert_eq!(quoted_spans(b"a,\"b\"c,d\n", b','), None);
        assert_eq!(quoted_spans(b"a,\"b\n\"\"c\"\n", b','), Some(vec![(2, 8)]));
        let mut csv = big_csv(200_000);
        csv.push_str("1,甲\"乙,x,\n");
        assert_eq!(split_records(csv.as_bytes(), 0, b',', 8).len(), 1);
    }

    #[test]
    fn ragged_record_in_a_late_part_names_its_line() {
        let mut csv = big_csv(200_000);
        assert!(split_records(csv.as_bytes(), 0, b',', 8).len() > 1);
        let line = csv.matches('\n').count() + 1;
        csv.push_str("1,甲,x,备注,多余\n");
        let err = read_csv_in(
            csv.as_bytes(),
            "a.csv",
            &ReadOptions::default(),
            &matcher(),
            8,
            true,
        )
        .unwrap_err();
        let CsvProblem::Bad(reason) = err else {
            panic!("{err:?}")
        };
        // The Chinese text is the one users have always seen.
        assert_eq!(
            reason.to_string(),
            format!("第 {line} 行有 5 个字段，而表头有 4 个（可能有多余的逗号或缺少引号）")
        );
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

    #[test]
    fn semicolon_separated_is_read() {
        let none: &[String] = &[];
        let m = HeaderMatcher::new([("户编号", none), ("姓名", none), ("证件号码", none)]);
        let t = read_csv(
            "标题\n户编号;姓名;证件号码\n1;\"甲,乙\";x\n2;丙;y\n".as_bytes(),
            "a.csv",
            &ReadOptions::default(),
            &m,
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t.cell(0, 1), CellRef::Text("甲,乙"));
        assert_eq!(t.cell(1, 2), CellRef::Text("y"));
        assert_eq!(t.row_numbers(), &[3, 4]);
    }

    #[test]
    fn every_line_ending_numbers_rows_as_an_editor_does() {
        let none: &[String] = &[];
        let m = HeaderMatcher::new([("户编号", none), ("姓名", none), ("证件号码", none)]);
        for (end, name) in [("\r", "cr"), ("\n", "lf"), ("\r\n", "crlf")] {
            // Title line, header, a blank line, two records.
            let text = ["标题", "户编号,姓名,证件号码", "", "1,甲,x", "2,乙,y", ""].join(end);
            let t = read_csv(text.as_bytes(), "a.csv", &ReadOptions::default(), &m).unwrap();
            assert_eq!(t.row_numbers(), &[4, 5], "{name} line endings");
            assert_eq!(t.cell(1, 1), CellRef::Text("乙"), "{name} line endings");
        }
    }
}
