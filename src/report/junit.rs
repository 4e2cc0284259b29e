//! `--format junit`: JUnit XML for CI dashboards.
//!
//! Grouping: one `<testsuite>` per unit at the finest hierarchical level (行政村 in the default
//! schema, named by its path `湖光镇/东村`), because that is the unit a village clerk answers
//! for and every attributed finding has exactly one; township and 帮扶单位 totals are in the
//! other formats. Findings without a unit (file scope, such as C001) form a suite of their own
//! named `文件` / `files`. Within a suite, one `<testcase>` per rule: every rule of the schema
//! (so a dashboard counts passes too) plus any code that fired without a catalogue entry. A
//! case fails when the rule has any finding in that unit, errors and warnings alike (JUnit has
//! no warning state; the `type` attribute says which); the `<failure>` text lists the findings,
//! one per line as the terminal format writes them. Every text is XML-escaped.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use crate::finding::{Finding, Severity};

use super::escape::xml as xml_escape;
use super::{Destination, Reporter, Run, location, t};

pub struct Junit;

impl Reporter for Junit {
    fn destination(&self) -> Destination {
        Destination::Xml
    }

    fn write(&self, run: &Run, out: &mut dyn Write) -> io::Result<()> {
        let level = run.schema.units.levels.last().map(String::as_str);
        let file_suite = t(run.lang, "文件", "files").to_string();
        // Suite name → rule → findings; BTreeMap keeps suites and cases in a stable order.
        let mut suites: BTreeMap<String, BTreeMap<&str, Vec<&Finding>>> = BTreeMap::new();
        for f in &run.findings {
            let name = match (&f.unit, level) {
                (Some(cells), Some(level)) => suite_name(run, cells, level),
                (Some(cells), None) => cells
                    .iter()
                    .map(|(_, v)| v.as_str())
                    .collect::<Vec<_>>()
                    .join("/"),
                (None, _) => file_suite.clone(),
            };
            suites
                .entry(name)
                .or_default()
                .entry(&f.rule)
                .or_default()
                .push(f);
        }
        // Units with no finding at all still get a suite of passing cases.
        if let Some(level) = level {
            for u in run.units.iter().filter(|u| u.level == level) {
                suites.entry(u.path.join("/")).or_default();
            }
        }
        let catalogue: BTreeSet<&str> = run
            .schema
            .rules
            .iter()
            .filter(|r| r.enabled)
            .map(|r| r.code.as_str())
            .collect();
        let total_failures: usize = suites
            .values()
            .map(|s| s.values().filter(|v| !v.is_empty()).count())
            .sum();
        let mut body = String::new();
        let mut total_tests = 0;
        for (name, fired) in &suites {
            let mut codes: BTreeSet<&str> = fired.keys().copied().collect();
            if name != &file_suite {
                codes.extend(catalogue.iter().copied());
            }
            let failures = fired.values().filter(|v| !v.is_empty()).count();
            total_tests += codes.len();
            body.push_str(&format!(
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\">\n",
                xml_escape(name),
                codes.len()
            ));
            for code in codes {
                let class = xml_escape(name);
                let case_name = match super::rule_text(run.schema, code, run.lang) {
                    Some(text) => format!("{code} {text}"),
                    None => code.to_string(),
                };
                match fired.get(code).filter(|v| !v.is_empty()) {
                    None => body.push_str(&format!(
                        "    <testcase classname=\"{class}\" name=\"{}\"/>\n",
                        xml_escape(&case_name)
                    )),
                    Some(fs) => {
                        let worst = fs
                            .iter()
                            .map(|f| f.severity)
                            .max()
                            .unwrap_or(Severity::Error);
                        let message = match run.lang {
                            crate::finding::Lang::Zh => format!("{} 条问题", fs.len()),
                            crate::finding::Lang::En => format!("{} finding(s)", fs.len()),
                        };
                        let text: Vec<String> = fs
                            .iter()
                            .map(|f| format!("{}: {} {}", location(f), f.rule, f.message))
                            .collect();
                        body.push_str(&format!(
                            "    <testcase classname=\"{class}\" name=\"{}\">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                            xml_escape(&case_name),
                            xml_escape(&message),
                            worst.as_str(),
                            xml_escape(&text.join("\n"))
                        ));
                    }
                }
            }
            body.push_str("  </testsuite>\n");
        }
        write!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"povcheck\" tests=\"{total_tests}\" failures=\"{total_failures}\" errors=\"0\">\n{body}</testsuites>\n"
        )
    }
}

/// The path of the unit at `level` for a finding's cells (`湖光镇/东村`), as attribute builds it.
fn suite_name(run: &Run, cells: &[(String, String)], level: &str) -> String {
    let levels = &run.schema.units.levels;
    let upto = levels.iter().position(|l| l == level).unwrap_or(0);
    levels
        .iter()
        .take(upto + 1)
        .map(|l| {
            cells
                .iter()
                .find(|(k, _)| k == l)
                .map(|(_, v)| v.as_str())
                .unwrap_or(crate::finding::UNIT_BLANK)
        })
        .collect::<Vec<_>>()
        .join("/")
}
