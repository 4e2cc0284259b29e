//! The default, concise terminal format: one line per finding (`a.xlsx:Sheet1!F17: V102 …`)
//! with its hint below, then skipped inputs and rules, counts per rule, the per-unit table and
//! a one-line summary. No colour: the output is as often piped into a file as read on a screen.

use std::collections::BTreeMap;
use std::io::{self, Write};

use unicode_width::UnicodeWidthStr;

use crate::finding::Lang;
use crate::read::InputStatus;

use super::escape::terminal as one_line;
use super::{
    Destination, Reporter, Run, input_name, location, rule_counts, rule_text, severity_label, t,
    unit_label, with_unmapped_columns,
};

pub struct Terminal;

impl Reporter for Terminal {
    fn destination(&self) -> Destination {
        Destination::Terminal
    }

    fn write(&self, run: &Run, out: &mut dyn Write) -> io::Result<()> {
        let lang = run.lang;
        for f in &run.findings {
            let loc = one_line(&location(f));
            writeln!(out, "{loc}: {} {}", f.rule, one_line(&f.message))?;
            if !f.hint.is_empty() {
                writeln!(out, "  {}: {}", t(lang, "提示", "hint"), one_line(&f.hint))?;
            }
        }
        inputs(run, out)?;
        exclusion_lists(run, out)?;
        skipped_rules(run, out)?;
        per_rule(run, out)?;
        per_unit(run, out)?;
        summary(run, out)
    }
}

fn inputs(run: &Run, out: &mut dyn Write) -> io::Result<()> {
    let lang = run.lang;
    let unmapped = with_unmapped_columns(run);
    if !unmapped.is_empty() {
        writeln!(
            out,
            "\n{}",
            t(
                lang,
                "未识别的列（未检查）:",
                "Unrecognised columns (not checked):"
            )
        )?;
        for i in unmapped {
            let sep = t(lang, "、", ", ");
            writeln!(
                out,
                "  {}: {}",
                one_line(&input_name(i)),
                one_line(&i.unmapped_columns.join(sep))
            )?;
        }
    }
    let not_checked: Vec<_> = run
        .inputs
        .iter()
        .filter(|i| i.status != InputStatus::Checked)
        .collect();
    if not_checked.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n{}", t(lang, "未检查的输入:", "Inputs not checked:"))?;
    for i in not_checked {
        let name = input_name(i);
        let status = match i.status {
            InputStatus::Skipped => t(lang, "已跳过", "skipped"),
            _ => t(lang, "无法读取", "unreadable"),
        };
        writeln!(
            out,
            "  {}: {status}{}",
            one_line(&name),
            i.reason_text(lang)
                .map(|r| format!(" ({})", one_line(&r)))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

/// How many IDs each list gave X101: a list read wrongly shows here as 0 or a surprising count.
fn exclusion_lists(run: &Run, out: &mut dyn Write) -> io::Result<()> {
    if run.exclusion_lists.is_empty() {
        return Ok(());
    }
    let lang = run.lang;
    writeln!(out, "\n{}", t(lang, "比对名单:", "Exclusion lists:"))?;
    for l in &run.exclusion_lists {
        match lang {
            Lang::Zh => writeln!(out, "  {}: {} 个证件号码", one_line(&l.file), l.ids)?,
            Lang::En => writeln!(out, "  {}: {} ID number(s)", one_line(&l.file), l.ids)?,
        }
    }
    Ok(())
}

fn skipped_rules(run: &Run, out: &mut dyn Write) -> io::Result<()> {
    if run.skipped_rules.is_empty() {
        return Ok(());
    }
    let lang = run.lang;
    let mut by_rule: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for s in &run.skipped_rules {
        by_rule.entry(&s.rule).or_default().push(&s.reason);
    }
    writeln!(out, "\n{}", t(lang, "跳过的规则:", "Skipped rules:"))?;
    for (rule, reasons) in by_rule {
        let mut uniq = reasons.clone();
        uniq.sort_unstable();
        uniq.dedup();
        let files = match lang {
            Lang::Zh => format!("{} 个文件", reasons.len()),
            Lang::En => format!("{} file(s)", reasons.len()),
        };
        writeln!(
            out,
            "  {}: {files} ({})",
            one_line(rule),
            one_line(&uniq.join("; "))
        )?;
    }
    Ok(())
}

fn per_rule(run: &Run, out: &mut dyn Write) -> io::Result<()> {
    let counts = rule_counts(run);
    if counts.is_empty() {
        return Ok(());
    }
    let lang = run.lang;
    writeln!(out, "\n{}", t(lang, "按规则统计:", "Findings per rule:"))?;
    let rows: Vec<Vec<String>> = counts
        .iter()
        .map(|c| {
            vec![
                c.rule.clone(),
                severity_label(c.severity, lang).to_string(),
                c.count.to_string(),
                rule_text(run.schema, &c.rule, lang)
                    .map(|s| one_line(&s))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    let head = [
        t(lang, "规则", "rule"),
        t(lang, "级别", "severity"),
        t(lang, "数量", "count"),
        t(lang, "说明", "message"),
    ];
    table(out, &head, &rows, &[false, false, true, false])
}

fn per_unit(run: &Run, out: &mut dyn Write) -> io::Result<()> {
    if run.units.is_empty() {
        return Ok(());
    }
    let lang = run.lang;
    let with_repeat = run.units.iter().any(|u| u.repeat.is_some());
    let order: Vec<&str> = run.schema.unit_levels().collect();
    let mut units: Vec<_> = run.units.iter().collect();
    // Level order first (a village never sorts between townships), then most errors first.
    units.sort_by(|a, b| {
        let la = order.iter().position(|l| *l == a.level);
        let lb = order.iter().position(|l| *l == b.level);
        la.cmp(&lb)
            .then(b.errors.cmp(&a.errors))
            .then_with(|| a.path.cmp(&b.path))
    });
    writeln!(out, "\n{}", t(lang, "按单位统计:", "Findings per unit:"))?;
    let mut head = vec![
        t(lang, "层级", "level"),
        t(lang, "单位", "unit"),
        t(lang, "行数", "rows"),
        t(lang, "户数", "households"),
        t(lang, "错误", "errors"),
        t(lang, "警告", "warnings"),
        t(lang, "错误率%", "error %"),
        t(lang, "问题户", "hh with errors"),
    ];
    let mut right = vec![false, false, true, true, true, true, true, true];
    if with_repeat {
        head.push(t(lang, "重犯等级", "repeat level"));
        head.push(t(lang, "连续轮次", "streak"));
        right.extend([true, true]);
    }
    let rows: Vec<Vec<String>> = units
        .iter()
        .map(|u| {
            let mut r = vec![
                u.level.clone(),
                unit_label(u),
                u.rows.to_string(),
                u.households.to_string(),
                u.errors.to_string(),
                u.warnings.to_string(),
                format!("{:.2}", u.error_rate),
                u.households_with_errors.to_string(),
            ];
            if with_repeat {
                match &u.repeat {
                    Some(rep) => {
                        r.push(rep.level.to_string());
                        r.push(rep.consecutive.to_string());
                    }
                    None => r.extend(["-".to_string(), "-".to_string()]),
                }
            }
            r
        })
        .collect();
    table(out, &head, &rows, &right)
}

fn summary(run: &Run, out: &mut dyn Write) -> io::Result<()> {
    let s = &run.summary;
    let unreadable = run
        .inputs
        .iter()
        .filter(|i| i.status == InputStatus::Unreadable)
        .count();
    let checked = run
        .inputs
        .iter()
        .filter(|i| i.status == InputStatus::Checked)
        .count();
    match run.lang {
        Lang::Zh => writeln!(
            out,
            "\n共检查 {checked} 个表、{} 行、{} 户：错误 {} 条，警告 {} 条；{unreadable} 个文件无法读取",
            s.rows, s.households, s.errors, s.warnings
        ),
        Lang::En => writeln!(
            out,
            "\nChecked {checked} sheet(s), {} rows, {} households: {} error(s), {} warning(s); {unreadable} unreadable file(s)",
            s.rows, s.households, s.errors, s.warnings
        ),
    }
}

/// Writes an aligned table; widths are display widths, so a CJK character counts as two columns.
fn table(
    out: &mut dyn Write,
    head: &[&str],
    rows: &[Vec<String>],
    right: &[bool],
) -> io::Result<()> {
    let mut widths: Vec<usize> = head.iter().map(|h| h.width()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(one_line(c).width());
            }
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| -> String {
        let mut s = String::from(" ");
        let n = widths.len();
        for (i, c) in cells.enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            let pad = " ".repeat(w.saturating_sub(c.width()));
            let last = i + 1 == n;
            if right.get(i).copied().unwrap_or(false) {
                s.push(' ');
                s.push_str(&pad);
                s.push_str(c);
            } else {
                s.push(' ');
                s.push_str(c);
                if !last {
                    s.push_str(&pad);
                }
            }
        }
        s
    };
    writeln!(out, "{}", line(&mut head.iter().copied()))?;
    for r in rows {
        let clean: Vec<String> = r.iter().map(|c| one_line(c)).collect();
        writeln!(out, "{}", line(&mut clean.iter().map(String::as_str)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::{sample_run, sample_schema};

    fn render(lang: Lang) -> String {
        let schema = sample_schema();
        let mut run = sample_run(&schema);
        run.lang = lang;
        let mut buf = Vec::new();
        Terminal.write(&run, &mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn finding_lines_name_file_sheet_and_cell() {
        let s = render(Lang::Zh);
        let lines: Vec<&str> = s.lines().collect();
        assert!(
            lines[0].starts_with("a.xlsx:Sheet1!F17: V102 证件号码 "),
            "{}",
            lines[0]
        );
        assert_eq!(lines[1], "  提示: 核对身份证原件后重新录入");
        assert!(s.contains("\nb.csv:D7: D101 "), "{s}");
        assert!(s.contains("\nb.csv: C001 缺少必需列 与户主关系\n"), "{s}");
    }

    #[test]
    fn lists_inputs_rules_units_and_summary() {
        let s = render(Lang::Zh);
        assert!(s.contains("未检查的输入:"));
        assert!(
            s.contains("  a.xlsx:填表说明: 已跳过 (没有找到表头（说明文字）)"),
            "{s}"
        );
        assert!(s.contains("  c.xlsx: 无法读取 ("), "{s}");
        assert!(s.contains("  C105: 2 个文件 (缺少列 危房级别)"), "{s}");
        assert!(s.contains("按规则统计:"));
        assert!(s.contains("按单位统计:"));
        assert!(s.contains("重犯等级"));
        assert!(
            s.trim_end()
                .ends_with("错误 7 条，警告 3 条；1 个文件无法读取"),
            "{s}"
        );
    }

    #[test]
    fn unit_table_aligns_by_display_width() {
        let s = render(Lang::Zh);
        let start = s.find("按单位统计:").unwrap();
        let block: Vec<&str> = s[start..]
            .lines()
            .skip(1)
            .take_while(|l| !l.is_empty())
            .collect();
        assert_eq!(block.len(), 7, "{block:?}");
        let widths: Vec<usize> = block.iter().map(|l| l.width()).collect();
        assert!(widths.iter().all(|w| *w == widths[0]), "{block:#?}");
        // Sorted by level, then by errors: 湖光镇 (4 errors) before 龙头镇 (2).
        assert!(
            block[1].contains("湖光镇") && block[2].contains("龙头镇"),
            "{block:#?}"
        );
        assert!(block[3].contains("湖光镇/东村"), "{block:#?}");
        assert!(block[5].contains("县农业局"), "{block:#?}");
    }

    #[test]
    fn english_headings() {
        let s = render(Lang::En);
        assert!(s.contains("  hint: "));
        assert!(s.contains("Findings per unit:"));
        assert!(s.contains("sex … contradicts the ID number"));
        assert!(
            s.contains("7 error(s), 3 warning(s); 1 unreadable file(s)"),
            "{s}"
        );
    }
}
