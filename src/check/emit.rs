//! Turning "rule X fires on row g" into a [`Finding`]: where it lands (file, sheet, row, cell,
//! header), its unit, and its message and hint with placeholders filled from the row.

use std::collections::{BTreeMap, HashSet};

use crate::finding::{Finding, FindingScope, Lang, a1};
use crate::read::Table;
use crate::schema::{Rule, RuleScope, Schema};
use crate::types;

use super::columns::{self, Build, Fact};
use super::dataset::Dataset;

/// Values a built-in check adds to the placeholders of its message and hint.
#[derive(Debug, Default, Clone)]
pub(crate) struct Extra {
    pub suggestion: Option<String>,
    pub upgraded: Option<String>,
    pub expected: Option<String>,
    pub reason: Option<String>,
    pub min: Option<String>,
    pub max: Option<String>,
    /// Computed-column values (name → formatted) for SQL rules.
    pub computed: Vec<(String, String)>,
}

impl Extra {
    pub fn reason(r: String) -> Self {
        Extra {
            reason: Some(r),
            ..Extra::default()
        }
    }
}

impl From<types::Fill> for Extra {
    fn from(f: types::Fill) -> Self {
        Extra {
            suggestion: f.suggestion,
            upgraded: f.upgraded,
            expected: f.expected,
            reason: f.reason,
            min: f.min,
            max: f.max,
            computed: Vec::new(),
        }
    }
}

/// A field's valid range as a hint says it, with whichever bounds it has (`0 至 12`, `不小于 0`):
/// a field with only a lower bound (an income) must not read `0 至 （空）`.
pub(crate) fn range_text(min: Option<&str>, max: Option<&str>, lang: Lang) -> Option<String> {
    Some(match (min, max, lang) {
        (Some(a), Some(b), Lang::Zh) => format!("{a} 至 {b}"),
        (Some(a), Some(b), Lang::En) => format!("{a} to {b}"),
        (Some(a), None, Lang::Zh) => format!("不小于 {a}"),
        (Some(a), None, Lang::En) => format!("at least {a}"),
        (None, Some(b), Lang::Zh) => format!("不大于 {b}"),
        (None, Some(b), Lang::En) => format!("at most {b}"),
        (None, None, _) => return None,
    })
}

pub(crate) use crate::types::number::fmt_num;

pub(crate) struct Emitter<'s> {
    schema: &'s Schema,
    lang: Lang,
    enabled: HashSet<String>,
    pub findings: Vec<Finding>,
    /// (household key, field, code) → the rows carrying that bad household value, with their
    /// findings; one of them is kept by `finish_households`.
    household_pending: BTreeMap<(u32, String, String), Vec<(usize, Finding)>>,
}

impl<'s> Emitter<'s> {
    pub fn new(schema: &'s Schema, lang: Lang, enabled: HashSet<String>) -> Self {
        Emitter {
            schema,
            lang,
            enabled,
            findings: Vec::new(),
            household_pending: BTreeMap::new(),
        }
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    pub fn enabled(&self, code: &str) -> bool {
        self.enabled.contains(code)
    }

    fn rule(&self, code: &str) -> Option<&'s Rule> {
        self.schema.rule(code)
    }

    /// A file-scope finding (C001): no row, no unit.
    pub fn file_finding(&mut self, table: &Table, table_idx: usize, code: &str, field: &str) {
        self.file_finding_with(table, table_idx, code, field, &[]);
    }

    /// A file-scope finding whose message also reads `extra` placeholders (C002's column
    /// letters).
    pub fn file_finding_with(
        &mut self,
        table: &Table,
        table_idx: usize,
        code: &str,
        field: &str,
        extra: &[(&str, String)],
    ) {
        if !self.enabled(code) {
            return;
        }
        let Some(rule) = self.rule(code) else { return };
        let vars = |name: &str| match name {
            "value" | "column" | "field" | "header" => Some(field.to_string()),
            "file" => Some(table.file.clone()),
            "sheet" => table.sheet.clone(),
            _ => extra
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone()),
        };
        let (message, hint) = self.texts(rule, &vars);
        self.findings.push(Finding {
            file: table.file.clone(),
            sheet: table.sheet.clone(),
            row: None,
            cell: None,
            column: Some(field.to_string()),
            columns: vec![field.to_string()],
            header: None,
            rule: code.to_string(),
            category: rule.category,
            severity: rule.severity,
            scope: FindingScope::File,
            household: None,
            unit: None,
            value: None,
            message,
            hint,
            table: Some(table_idx),
            col_indices: Vec::new(),
        });
    }

    /// A built-in check on one cell. Findings on a household field are held back and reported
    /// once per household by [`Emitter::finish_households`].
    pub fn cell_finding(
        &mut self,
        ds: &Dataset,
        g: usize,
        code: &str,
        field: &str,
        household_field: bool,
        extra: Extra,
    ) {
        if !self.enabled(code) {
            return;
        }
        let Some(f) = self.build(
            ds,
            g,
            code,
            &[field.to_string()],
            &extra,
            FindingScope::Cell,
        ) else {
            return;
        };
        match ds.hh_index[g] {
            Some(k) if household_field => self
                .household_pending
                .entry((k, field.to_string(), code.to_string()))
                .or_default()
                .push((g, f)),
            _ => self.findings.push(f),
        }
    }

    /// rules.md "Anchor row": a finding on a household field is reported once per household — on
    /// the anchor row when every row of the household carries the bad value, else on the first
    /// row that carries it.
    pub fn finish_households(&mut self, ds: &Dataset) {
        let mut size: Vec<usize> = vec![0; ds.households];
        for k in ds.hh_index.iter().flatten() {
            if let Some(s) = size.get_mut(*k as usize) {
                *s += 1;
            }
        }
        for ((k, _, _), mut carriers) in std::mem::take(&mut self.household_pending) {
            let all = carriers.len() >= size.get(k as usize).copied().unwrap_or(0);
            let pick = if all {
                carriers
                    .iter()
                    .position(|(g, _)| ds.anchor[*g])
                    .unwrap_or(0)
            } else {
                0
            };
            self.findings.push(carriers.swap_remove(pick).1);
        }
    }

    /// A rule finding on row `g` pointing at `columns` (scope from the rule).
    pub fn rule_finding(
        &mut self,
        ds: &Dataset,
        g: usize,
        code: &str,
        columns: &[String],
        extra: Extra,
    ) {
        if let Some(f) = self.rule_finding_value(ds, g, code, columns, extra) {
            self.findings.push(f);
        }
    }

    /// The finding [`Emitter::rule_finding`] adds, without adding it (None when the rule is not
    /// reported): findings built on several threads are added in order afterwards.
    pub fn rule_finding_value(
        &self,
        ds: &Dataset,
        g: usize,
        code: &str,
        columns: &[String],
        extra: Extra,
    ) -> Option<Finding> {
        if !self.enabled(code) {
            return None;
        }
        let rule = self.rule(code)?;
        let scope = match rule.scope {
            RuleScope::Row if columns.len() == 1 => FindingScope::Cell,
            RuleScope::Row => FindingScope::Row,
            RuleScope::Household => FindingScope::Household,
            RuleScope::Dataset => FindingScope::Dataset,
        };
        self.build(ds, g, code, columns, &extra, scope)
    }

    fn build(
        &self,
        ds: &Dataset,
        g: usize,
        code: &str,
        columns: &[String],
        extra: &Extra,
        scope: FindingScope,
    ) -> Option<Finding> {
        let rule = self.rule(code)?;
        let table = ds.table(g);
        let t = ds.t[g] as usize;
        let i = ds.i[g] as usize;
        if i >= table.len() {
            return None;
        }
        let number = table.row_number(i);
        // Household values inherited from another row are shown where they are written.
        let col_indices: Vec<usize> = columns
            .iter()
            .filter_map(|c| ds.present[t].get(c).map(|p| table.columns[*p].index))
            .collect();
        let first_present = columns.iter().find(|c| ds.present[t].contains_key(*c));
        let first = first_present.or(columns.first());
        let header = first_present.map(|c| table.columns[ds.present[t][c]].header.clone());
        let value = first.and_then(|c| ds.cell(g, c)).and_then(types::cell_text);
        let unit = ds.unit_cells(g);
        let vars = |name: &str| -> Option<String> {
            match name {
                "value" => value.clone(),
                "header" => header.clone().or_else(|| first.cloned()),
                "column" | "field" => first.cloned(),
                "suggestion" => extra.suggestion.clone(),
                "upgraded" => extra.upgraded.clone(),
                "expected" => extra.expected.clone(),
                "reason" => extra.reason.clone(),
                "min" => extra.min.clone(),
                "max" => extra.max.clone(),
                "range" => range_text(extra.min.as_deref(), extra.max.as_deref(), self.lang),
                "household" => ds.household_id[g].as_deref().map(str::to_string),
                _ => {
                    if let Some((_, v)) = extra.computed.iter().find(|(k, _)| k == name) {
                        return Some(v.clone());
                    }
                    if name.starts_with('_') {
                        return computed_display(ds, g, name);
                    }
                    // A rule over alternative columns (L402) names one the file may lack: say
                    // so rather than call it empty.
                    ds.display(g, name).or_else(|| {
                        (self.schema.field(name).is_some() && !ds.has_column(g, name))
                            .then(|| self.lang.pick("（无此列）", "(no such column)").into())
                    })
                }
            }
        };
        let (message, hint) = self.texts(rule, &vars);
        Some(Finding {
            file: table.file.clone(),
            sheet: table.sheet.clone(),
            row: Some(number),
            cell: col_indices.first().map(|c| a1(*c, number)),
            column: first.cloned(),
            columns: columns.to_vec(),
            header,
            rule: code.to_string(),
            category: rule.category,
            severity: rule.severity,
            scope,
            household: ds.household_id[g].as_deref().map(str::to_string),
            unit: Some(unit),
            value,
            message,
            hint,
            table: Some(t),
            col_indices,
        })
    }

    fn texts(&self, rule: &Rule, vars: &dyn Fn(&str) -> Option<String>) -> (String, String) {
        let (m, h) = match self.lang {
            Lang::Zh => (&rule.message, &rule.hint),
            Lang::En => (
                &rule.message_en,
                if rule.hint_en.is_empty() {
                    &rule.hint
                } else {
                    &rule.hint_en
                },
            ),
        };
        (fill(m, vars), fill(h, vars))
    }
}

/// Values of the Rust-derived computed columns, for placeholders of built-in rules (SQL rules get
/// theirs from the rule frame, as `Extra::computed`). Which column is which fact comes from the
/// registry; the match is exhaustive, so a new fact cannot be forgotten here.
fn computed_display(ds: &Dataset, g: usize, name: &str) -> Option<String> {
    let c = columns::entry(name).filter(|c| c.public)?;
    let Build::Fact { fact, .. } = c.build else {
        return None;
    };
    let yes_no = |b: bool| if b { "是" } else { "否" }.to_string();
    match fact {
        Fact::Age => ds.age[g].map(|a| a.to_string()),
        Fact::IdBirth => ds.id_birth[g].map(|d| d.to_string()),
        Fact::Birth => ds.birth[g].map(|d| d.to_string()),
        Fact::IdSex => ds.id_sex[g].map(str::to_string),
        Fact::IdRegion => ds.id_region[g].clone(),
        Fact::ExitLine => ds.exit_line[g].map(fmt_num),
        Fact::DataYearLine => ds.data_year_line[g].map(fmt_num),
        Fact::DataYear => Some(chrono::Datelike::year(&ds.as_of).to_string()),
        Fact::Excluded => ds.excluded[g].clone(),
        Fact::IdValid => Some(yes_no(ds.id_valid[g])),
        Fact::Working => Some(yes_no(ds.work_filled[g])),
        // Read only by SQL rules, whose placeholders come from the rule frame; computing them
        // again per finding would repeat a whole-dataset pass.
        Fact::OtherCauseItems
        | Fact::OtherCauseUnknown
        | Fact::OtherCauseRepeat
        | Fact::HelperMember => None,
        // Building blocks rules cannot name.
        Fact::Table
        | Fact::Household
        | Fact::HouseholdId
        | Fact::Anchor
        | Fact::IdComparable
        | Fact::IdKey18
        | Fact::BirthKey
        | Fact::SchoolBlank => None,
    }
}

/// Fill `{name}` placeholders; an unknown or empty value renders as `（空）`.
pub(crate) fn fill(template: &str, vars: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                out.push_str(&vars(name).unwrap_or_else(|| "（空）".to_string()));
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Placeholder names used in a template.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        names.push(&after[..close]);
        rest = &after[close + 1..];
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_placeholders() {
        let vars = |n: &str| match n {
            "人数" => Some("3".to_string()),
            _ => None,
        };
        assert_eq!(
            fill("人数 {人数} 与 {_hh_rows} 不符", &vars),
            "人数 3 与 （空） 不符"
        );
        assert_eq!(fill("no braces", &vars), "no braces");
        assert_eq!(fill("open { only", &vars), "open { only");
        assert_eq!(placeholders("{a} and {b}"), vec!["a", "b"]);
    }

    #[test]
    fn formats_numbers_like_a_clerk() {
        assert_eq!(fmt_num(6883.0), "6883");
        assert_eq!(fmt_num(2952.5), "2952.5");
        assert_eq!(fmt_num(1.234), "1.23");
    }
}
