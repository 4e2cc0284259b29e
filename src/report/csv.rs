//! `--format csv`: one finding per line, UTF-8 with a BOM so Excel opens the Chinese correctly.
//!
//! Columns: file, sheet, row, cell, column, header, rule, category, severity, household, one
//! column per unit level of the schema (乡镇, 行政村, 帮扶单位), value, message, hint. A cell
//! that Excel would take for a formula (beginning with = + - @, tab or carriage return) gets a
//! leading apostrophe, so a clerk's `=HYPERLINK(…)` stays inert text (OWASP "CSV injection").

use std::io::{self, Write};

use super::escape::csv_field as field;
use super::{Destination, Reporter, Run};

pub struct Csv;

impl Reporter for Csv {
    fn destination(&self) -> Destination {
        Destination::Csv
    }

    fn write(&self, run: &Run, out: &mut dyn Write) -> io::Result<()> {
        let levels: Vec<&str> = run.schema.unit_levels().collect();
        out.write_all("\u{feff}".as_bytes())?;
        let mut head: Vec<&str> = vec![
            "file",
            "sheet",
            "row",
            "cell",
            "column",
            "header",
            "rule",
            "category",
            "severity",
            "household",
        ];
        head.extend(levels.iter().copied());
        head.extend(["value", "message", "hint"]);
        let head: Vec<String> = head.iter().map(|h| field(h)).collect();
        write!(out, "{}\r\n", head.join(","))?;
        for f in &run.findings {
            let opt = |o: &Option<String>| o.as_deref().map(field).unwrap_or_default();
            let mut cells = vec![
                field(&f.file),
                opt(&f.sheet),
                f.row.map(|r| r.to_string()).unwrap_or_default(),
                opt(&f.cell),
                opt(&f.column),
                opt(&f.header),
                field(&f.rule),
                f.category.as_str().to_string(),
                f.severity.as_str().to_string(),
                opt(&f.household),
            ];
            for l in &levels {
                let v = f
                    .unit
                    .as_ref()
                    .and_then(|u| u.iter().find(|(k, _)| k == l))
                    .map(|(_, v)| field(v))
                    .unwrap_or_default();
                cells.push(v);
            }
            cells.push(opt(&f.value));
            cells.push(field(&f.message));
            cells.push(field(&f.hint));
            write!(out, "{}\r\n", cells.join(","))?;
        }
        Ok(())
    }
}
