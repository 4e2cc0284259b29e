//! Corrected xlsx copies: the input workbook opened with umya-spreadsheet, the changed cells'
//! values set (their styles untouched), a 修改记录 sheet appended, written back. xls, xlsb and
//! ods inputs are first rebuilt as an xlsx from their values (and, for xls and ods, merged ranges).

use std::collections::BTreeSet;
use std::path::Path;

use calamine::{Data, Reader};
use umya_spreadsheet as umya;

use super::{Change, Edit, t, write_atomically};
use crate::finding::Lang;

/// The change-log sheet's name (a number is added when the workbook already has one).
pub const LOG_SHEET: &str = "修改记录";

pub(crate) fn apply(
    path: &Path,
    dest: Option<&Path>,
    display: &str,
    edits: &[Edit],
    lang: Lang,
) -> Result<Vec<Change>, String> {
    let mut book = umya::reader::xlsx::read(path).map_err(|e| {
        format!(
            "{}{e}",
            t(
                lang,
                "无法读取，未改正（加密或损坏？）：",
                "cannot be read, not fixed (encrypted or damaged?): "
            )
        )
    })?;
    finish(&mut book, dest, display, edits, lang)
}

fn finish(
    book: &mut umya::Workbook,
    dest: Option<&Path>,
    display: &str,
    edits: &[Edit],
    lang: Lang,
) -> Result<Vec<Change>, String> {
    let mut changes = Vec::new();
    let mut done: BTreeSet<(String, u32, u32)> = BTreeSet::new();
    for e in edits {
        let name = match &e.sheet {
            Some(s) => s.clone(),
            None => continue,
        };
        let Ok(ws) = book.sheet_by_name_mut(&name) else {
            continue;
        };
        let Ok(col) = u32::try_from(e.col + 1) else {
            continue;
        };
        // A household field merged down is one cell: change its top-left cell once.
        let (c, r) = ws.map_merged_cell((col, e.row));
        if !done.insert((name.clone(), c, r)) {
            continue;
        }
        // Only when the cell holds what the check read (a number cell: its value rendered by
        // the reader), and never a formula: never overwrite something else.
        // Edited through the cell map, not `cell_mut`, which would also add a column
        // dimension (a <col> element the input did not have).
        let Some(cell) = ws.collection_to_hashmap_mut().get_mut(&(r, c)) else {
            continue;
        };
        if cell.cell_value().is_formula()
            || (cell.value_number().is_none() && cell.value() != e.before.as_str())
        {
            continue;
        }
        cell.set_value_string(e.after.clone());
        changes.push(super::change(display, e, (c - 1) as usize, r));
    }
    if let Some(dest) = dest {
        add_log_sheet(book, &changes, lang);
        write_atomically(dest, lang, |tmp| {
            umya::writer::xlsx::write(book, tmp).map_err(|e| {
                format!(
                    "{}{e}",
                    t(lang, "副本无法写出：", "the copy cannot be written: ")
                )
            })
        })?;
    }
    Ok(changes)
}

fn add_log_sheet(book: &mut umya::Workbook, changes: &[Change], lang: Lang) {
    let names: BTreeSet<String> = book
        .sheet_collection_no_check()
        .iter()
        .map(|s| s.name().to_string())
        .collect();
    let name = (1..)
        .map(|i| {
            if i == 1 {
                LOG_SHEET.to_string()
            } else {
                format!("{LOG_SHEET}{i}")
            }
        })
        .find(|n| !names.contains(n))
        .unwrap_or_else(|| LOG_SHEET.to_string());
    let Ok(ws) = book.new_sheet(name) else {
        return;
    };
    let head = match lang {
        Lang::Zh => ["工作表", "单元格", "列", "规则", "修改前", "修改后"],
        Lang::En => ["sheet", "cell", "column", "rule", "before", "after"],
    };
    for (i, h) in head.iter().enumerate() {
        ws.cell_mut(((i + 1) as u32, 1)).set_value_string(*h);
    }
    for (n, c) in changes.iter().enumerate() {
        let r = (n + 2) as u32;
        let cells = [
            c.sheet.clone().unwrap_or_default(),
            c.cell.clone(),
            c.column.clone(),
            c.rules.join("+"),
            c.before.clone(),
            c.after.clone(),
        ];
        for (i, v) in cells.into_iter().enumerate() {
            ws.cell_mut(((i + 1) as u32, r)).set_value_string(v);
        }
    }
    for (col, width) in [
        ("A", 14.0),
        ("B", 10.0),
        ("C", 16.0),
        ("D", 12.0),
        ("E", 26.0),
        ("F", 26.0),
    ] {
        ws.column_dimension_mut(col).set_width(width);
    }
}

/// xls, xlsb and ods: rebuilt as xlsx from cell values (and the merged ranges of xls and ods),
/// then fixed.
/// Styles, formulas and widths are not carried over (docs/fix.md).
pub(crate) fn convert_and_apply(
    path: &Path,
    dest: Option<&Path>,
    display: &str,
    edits: &[Edit],
    lang: Lang,
) -> Result<Vec<Change>, String> {
    let unreadable = |e: String| {
        format!(
            "{}{e}",
            t(
                lang,
                "无法读取，未改正（加密或损坏？）：",
                "cannot be read, not fixed (encrypted or damaged?): "
            )
        )
    };
    let mut wb = calamine::open_workbook_auto(path).map_err(|e| unreadable(e.to_string()))?;
    let mut book = umya::new_file_empty_worksheet();
    // calamine reads no merges of an ods; the reader's own pass over content.xml finds them, so a
    // household field merged down stays one cell in the copy as it does for xls.
    let ods_merges = match &wb {
        calamine::Sheets::Ods(_) => {
            let limits = crate::read::ReadOptions::default();
            std::fs::File::open(path).ok().and_then(|f| {
                crate::read::ods::scan_ods(
                    std::io::BufReader::new(f),
                    limits.max_inflated_bytes,
                    limits.max_cells,
                )
                .ok()
            })
        }
        _ => None,
    };
    let names = wb.sheet_names();
    for name in names {
        let range = wb
            .worksheet_range(&name)
            .map_err(|e| unreadable(e.to_string()))?;
        let merges: Vec<((u32, u32), (u32, u32))> = match &wb {
            calamine::Sheets::Xls(x) => x
                .merge_cells_by_sheet_name(&name)
                .unwrap_or_default()
                .iter()
                .map(|m| (m.start, m.end))
                .collect(),
            _ => ods_merges
                .as_ref()
                .and_then(|t| t.get(&name))
                .map(|t| t.merges.iter().map(|m| (m.start, m.end)).collect())
                .unwrap_or_default(),
        };
        let ws = book
            .new_sheet(name.clone())
            .map_err(|e| unreadable(e.to_string()))?;
        let (r0, c0) = range.start().unwrap_or((0, 0));
        for (r, c, v) in range.used_cells() {
            let (Ok(row), Ok(col)) = (
                u32::try_from(r0 as usize + r + 1),
                u32::try_from(c0 as usize + c + 1),
            ) else {
                continue;
            };
            let cell = ws.cell_mut((col, row));
            match v {
                Data::Int(i) => {
                    cell.set_value_number(*i as f64);
                }
                Data::Float(f) => {
                    cell.set_value_number(*f);
                }
                Data::Bool(b) => {
                    cell.set_value_bool(*b);
                }
                // A serial with a date format, so the rebuilt cell still shows a date.
                Data::DateTime(d) => {
                    cell.set_value_number(d.as_f64());
                    cell.style_mut().number_format_mut().set_format_code(
                        if d.as_f64().fract() == 0.0 {
                            "yyyy-mm-dd"
                        } else {
                            "yyyy-mm-dd hh:mm:ss"
                        },
                    );
                }
                Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
                    cell.set_value_string(s.clone());
                }
                Data::Error(e) => {
                    cell.set_error(e.to_string());
                }
                Data::Empty => {}
            }
        }
        for (start, end) in merges {
            let range = format!(
                "{}:{}",
                crate::finding::a1(start.1 as usize, start.0 + 1),
                crate::finding::a1(end.1 as usize, end.0 + 1)
            );
            ws.add_merge_cells(range);
        }
    }
    finish(&mut book, dest, display, edits, lang)
}
