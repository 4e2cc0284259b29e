//! Per-unit packets (`--split-by LEVEL DIR`): for each unit at that level (a township, a
//! village, a work unit), the annotated copy holding only its rows and its xlsx report, so a
//! district sends each unit its own errors and nobody else's data.
//!
//! A row belongs to the unit its cell names as the check read it: merged ranges filled, and a
//! blank household field inherited from the household, as the findings' units are. Title and
//! header rows go into every packet; rows below the header that are not data (blank, totals)
//! and sheets without a table go into none, since they belong to no unit.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::attribute;
use crate::check::Population;
use crate::finding::{Finding, UNIT_BLANK};
use crate::read::{CellRef, Table};
use crate::report::annotated::{self, AnnotateError, AnnotateOptions, Source};
use crate::report::{Format, Run};
use crate::schema::Schema;

/// Longest unit part of a file name, in characters (Windows paths stay well under 260).
const MAX_UNIT_NAME: usize = 60;

/// What the packets of a run came to.
#[derive(Debug, Default)]
pub struct Packets {
    /// Every file written, copies and reports.
    pub written: Vec<PathBuf>,
    /// Units, in order, with how many data rows each holds.
    pub units: Vec<(String, usize)>,
    pub errors: Vec<AnnotateError>,
}

/// A unit's key at `level`: the path of hierarchical levels down to it (乡镇 → 行政村: a village
/// is named with its township, two 东村 are two units), or the assist dimension's value alone.
fn unit_key(schema: &Schema, cells: &[(String, String)], level: &str) -> Option<Vec<String>> {
    let get = |l: &str| cells.iter().find(|(k, _)| k == l).map(|(_, v)| v.clone());
    match schema.units.levels.iter().position(|l| l == level) {
        Some(pos) => schema.units.levels[..=pos].iter().map(|l| get(l)).collect(),
        None => get(level).map(|v| vec![v]),
    }
}

/// A cell as the check shows it: trimmed text, or a number rendered; None when blank.
fn shown(c: CellRef<'_>) -> Option<String> {
    let text = match c {
        CellRef::Text(t) => t.trim().to_string(),
        c => crate::types::cell_text(c)?.trim().to_string(),
    };
    (!text.is_empty()).then_some(text)
}

/// The unit key of every data row of `table`, in row order.
fn row_units(schema: &Schema, table: &Table, level: &str) -> Vec<Vec<String>> {
    let dims: Vec<&str> = match schema.units.levels.iter().position(|l| l == level) {
        Some(pos) => schema.units.levels[..=pos]
            .iter()
            .map(String::as_str)
            .collect(),
        None => vec![level],
    };
    let hid = table.column_of("户编号");
    let household = |r: usize| {
        hid.and_then(|p| crate::types::cell_text(table.cell(r, p)))
            .map(|s| crate::types::trim_value(&s).value.into_owned())
            .filter(|s| !s.is_empty())
    };
    let mut keys: Vec<Vec<String>> = vec![Vec::with_capacity(dims.len()); table.len()];
    for dim in dims {
        let pos = table.column_of(dim);
        let inherit = schema.field(dim).is_some_and(|f| f.household);
        let values: Vec<Option<String>> = (0..table.len())
            .map(|r| pos.and_then(|p| shown(table.cell(r, p))))
            .collect();
        // A blank household field takes the household's first value, as the check does.
        let mut first: HashMap<String, String> = HashMap::new();
        if inherit {
            for (r, v) in values.iter().enumerate() {
                if let (Some(v), Some(h)) = (v, household(r)) {
                    first.entry(h).or_insert_with(|| v.clone());
                }
            }
        }
        for (r, v) in values.into_iter().enumerate() {
            let v = v
                .or_else(|| household(r).and_then(|h| first.get(&h).cloned()))
                .unwrap_or_else(|| UNIT_BLANK.to_string());
            keys[r].push(v);
        }
    }
    keys
}

/// A unit's name as a file name Windows accepts: no `\ / : * ? " < > |` or control characters,
/// no trailing dot or space, not a reserved device name, not too long.
pub fn safe_file_stem(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if matches!(c, '\\' | '/' | ':' | '*' | '?' | '"' | '<' | '>' | '|') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .take(MAX_UNIT_NAME)
        .collect();
    let trimmed = s.trim_end_matches(['.', ' ']).trim_start().to_string();
    s = trimmed;
    if s.is_empty() || s.chars().all(|c| c == '.') {
        s = "_".into();
    }
    // CON, PRN, AUX, NUL, COM1–9, LPT1–9 are devices whatever follows the first dot.
    let base = s
        .split('.')
        .next()
        .unwrap_or_default()
        .trim_end()
        .to_ascii_uppercase();
    let reserved = matches!(base.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((base.starts_with("COM") || base.starts_with("LPT"))
            && base.len() == 4
            && base.as_bytes()[3].is_ascii_digit()
            && base.as_bytes()[3] != b'0');
    if reserved {
        s.insert(0, '_');
    }
    s
}

/// `stem`, or `stem-2`, `stem-3`, … when already taken (compared without case, as Windows and
/// macOS do).
fn unique(stem: String, taken: &mut HashSet<String>) -> String {
    let mut name = stem.clone();
    let mut n = 2;
    while !taken.insert(name.to_lowercase()) {
        name = format!("{stem}-{n}");
        n += 1;
    }
    name
}

/// Write every unit's packet into `dir` (created when missing): `<unit>.annotated.xlsx` (with
/// several inputs, `<unit>.<input>.annotated.xlsx` per input holding rows of the unit) and
/// `<unit>.report.xlsx`. `run` is the finished run (masked when asked); its findings are split by
/// their unit, file-scope findings going to every packet of their file.
#[allow(clippy::too_many_arguments)]
pub fn write_packets(
    level: &str,
    dir: &Path,
    sources: &[Source],
    tables: &[Table],
    run: &Run,
    population: &[Population],
    opts: &AnnotateOptions,
    mut on_unit: impl FnMut(&str),
) -> Packets {
    let schema = run.schema;
    let mut out = Packets::default();
    if let Err(e) = std::fs::create_dir_all(dir) {
        out.errors.push(AnnotateError::Dir {
            dir: dir.display().to_string(),
            reason: e.to_string(),
        });
        return out;
    }
    // Every data row's unit, per table; units numbered in order of their key.
    let per_table: Vec<Vec<Vec<String>>> =
        tables.iter().map(|t| row_units(schema, t, level)).collect();
    let mut units: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    for keys in &per_table {
        for k in keys {
            *units.entry(k.clone()).or_default() += 1;
        }
    }
    for f in &run.findings {
        if let Some(k) = f.unit.as_deref().and_then(|c| unit_key(schema, c, level)) {
            units.entry(k).or_default();
        }
    }
    let mut taken = HashSet::new();
    let stems: BTreeMap<Vec<String>, String> = units
        .keys()
        .map(|k| (k.clone(), unique(safe_file_stem(&k.join("-")), &mut taken)))
        .collect();
    let id_of: HashMap<&Vec<String>, usize> =
        units.keys().enumerate().map(|(i, k)| (k, i)).collect();
    // Per table, 1-based row number → unit id.
    let row_unit: Vec<HashMap<u32, usize>> = tables
        .iter()
        .zip(&per_table)
        .map(|(t, keys)| {
            t.row_numbers()
                .iter()
                .zip(keys)
                .map(|(n, k)| (*n, id_of[k]))
                .collect()
        })
        .collect();
    // Each finding's unit, once: every packet below walks the findings.
    let unit_of: Vec<Option<usize>> = run
        .findings
        .iter()
        .map(|f| {
            f.unit
                .as_deref()
                .and_then(|c| unit_key(schema, c, level))
                .and_then(|k| id_of.get(&k).copied())
        })
        .collect();
    let many_inputs = sources.len() > 1;
    let mut input_taken = HashSet::new();
    let mut seen = HashSet::new();
    for src in sources {
        if !seen.insert(src.display) {
            continue;
        }
        let idx: Vec<usize> = (0..tables.len())
            .filter(|&i| tables[i].file == src.display)
            .collect();
        if idx.is_empty() {
            continue;
        }
        let file_tables: Vec<&Table> = idx.iter().map(|&i| &tables[i]).collect();
        let present: std::collections::BTreeSet<usize> = idx
            .iter()
            .flat_map(|&i| row_unit[i].values().copied())
            .collect();
        if present.is_empty() {
            continue;
        }
        let sheets = match annotated::load(src, &file_tables, schema, opts) {
            Ok(s) => s,
            Err(e) => {
                out.errors.push(e);
                continue;
            }
        };
        let input_stem = many_inputs.then(|| {
            let name = annotated::output_name(src.path, &mut input_taken);
            name.trim_end_matches(".annotated.xlsx").to_string()
        });
        for (unit, key) in units
            .keys()
            .enumerate()
            .filter(|(u, _)| present.contains(u))
        {
            on_unit(&stems[key]);
            let table_of = |s: usize| {
                file_tables
                    .iter()
                    .position(|t| t.sheet.as_deref() == sheets[s].source_name())
            };
            let cut = annotated::subset(
                &sheets,
                |s| table_of(s).is_some(),
                |s, r| {
                    let Some(t) = table_of(s) else { return false };
                    let table = file_tables[t];
                    r < table.header_row
                        || row_unit[idx[t]].get(&(r + 1)).is_some_and(|u| *u == unit)
                },
            );
            let findings: Vec<&Finding> = run
                .findings
                .iter()
                .zip(&unit_of)
                .filter(|(f, u)| {
                    f.file == src.display
                        && match u {
                            Some(u) => *u == unit,
                            None => f.unit.is_none(),
                        }
                })
                .map(|(f, _)| f)
                .collect();
            let name = match &input_stem {
                Some(stem) => format!("{}.{stem}.annotated.xlsx", stems[key]),
                None => format!("{}.annotated.xlsx", stems[key]),
            };
            let path = dir.join(name);
            match annotated::write_copy(cut, &path, &file_tables, &findings, schema, opts) {
                Ok(()) => out.written.push(path),
                Err(e) => out.errors.push(e),
            }
        }
    }
    for (unit, (key, rows)) in units.iter().enumerate() {
        let findings: Vec<Finding> = run
            .findings
            .iter()
            .zip(&unit_of)
            .filter(|(f, u)| match u {
                Some(u) => *u == unit,
                // File scope: in the packet of every unit with rows in that file.
                None => {
                    f.unit.is_none()
                        && tables
                            .iter()
                            .zip(&row_unit)
                            .any(|(t, ru)| t.file == f.file && ru.values().any(|u| *u == unit))
                }
            })
            .map(|(f, _)| f.clone())
            .collect();
        let pop: Vec<Population> = population
            .iter()
            .filter(|p| unit_key(schema, &p.unit, level).as_ref() == Some(key))
            .cloned()
            .collect();
        let households = pop.iter().map(|p| p.households.len()).sum();
        let unit_run = Run {
            tool_version: run.tool_version,
            schema,
            as_of: run.as_of.clone(),
            period: run.period.clone(),
            // Only the files the unit has rows in: another township's file list is not its
            // business.
            inputs: run
                .inputs
                .iter()
                .filter(|i| {
                    tables
                        .iter()
                        .zip(&row_unit)
                        .any(|(t, ru)| t.file == i.file && ru.values().any(|u| *u == unit))
                })
                .cloned()
                .collect(),
            skipped_rules: run.skipped_rules.clone(),
            exclusion_lists: run.exclusion_lists.clone(),
            summary: attribute::summarize(&findings, *rows, households),
            units: attribute::attribute(schema, &findings, &pop),
            findings,
            lang: run.lang,
        };
        let path = dir.join(format!("{}.report.xlsx", stems[key]));
        match write_report(&unit_run, &path) {
            Ok(()) => out.written.push(path),
            Err(reason) => out.errors.push(AnnotateError::Write {
                out: path.display().to_string(),
                reason,
            }),
        }
        out.units.push((stems[key].clone(), *rows));
    }
    out
}

/// The report writer's workbook, written beside the target and renamed.
fn write_report(run: &Run, path: &Path) -> Result<(), String> {
    let tmp = path.with_extension("xlsx.part");
    let written = std::fs::File::create(&tmp).and_then(|f| {
        let mut w = std::io::BufWriter::new(f);
        crate::report::write(run, Format::Xlsx, &mut w)?;
        w.flush()
    });
    match written.and_then(|()| std::fs::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names_are_safe_windows_file_names() {
        assert_eq!(safe_file_stem("湖光镇-东村"), "湖光镇-东村");
        assert_eq!(
            safe_file_stem("a/b\\c:d*e?f\"g<h>i|j"),
            "a_b_c_d_e_f_g_h_i_j"
        );
        assert_eq!(safe_file_stem("东村. . "), "东村");
        assert_eq!(safe_file_stem("CON"), "_CON");
        assert_eq!(safe_file_stem("com3.村"), "_com3.村");
        assert_eq!(safe_file_stem("COM0"), "COM0");
        assert_eq!(safe_file_stem("..."), "_");
        assert_eq!(safe_file_stem("x\u{7}y"), "x_y");
        assert_eq!(
            safe_file_stem(&"村".repeat(100)).chars().count(),
            MAX_UNIT_NAME
        );
        let mut taken = HashSet::new();
        assert_eq!(unique("东村".into(), &mut taken), "东村");
        assert_eq!(unique("东村".into(), &mut taken), "东村-2");
        assert_eq!(unique("Ab".into(), &mut taken), "Ab");
        assert_eq!(unique("aB".into(), &mut taken), "aB-2");
    }
}
