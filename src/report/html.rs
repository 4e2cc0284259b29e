//! `--format html`: one self-contained page for supervisors — summary, a per-unit bar chart
//! (inline SVG), per-unit and per-rule tables, and the findings table filterable by unit, rule
//! and severity with a few lines of inline vanilla JS.
//!
//! Self-contained means no network at all: no CDN, no fonts, no images; a Content-Security-Policy
//! meta tag forbids any fetch, so the page also works on an offline government intranet. Every
//! value that comes from the data (or the schema) passes through [`escape`]; the script never
//! inserts text as HTML, it only shows and hides rows.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{self, Write};

use crate::attribute::UnitReport;
use crate::finding::Finding;
use crate::read::InputStatus;

use super::escape::html as escape;
use super::{
    Destination, Reporter, Run, category_label, input_name, rule_counts, rule_text, severity_label,
    t, unit_cells_label, unit_label, with_unmapped_columns,
};

pub struct Html;

const STYLE: &str = "body{font-family:system-ui,'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em}th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:.5em 1em}
.card b{display:block;font-size:1.4em}.error{color:#b00020}.warning{color:#8a6d00}
tr.error td.sev{background:#fde7e9}tr.warning td.sev{background:#fff6d5}
.filters{margin:.5em 0}.filters label{margin-right:1em}.hint{color:#555}";

/// Shows only the rows matching all three filters; text is never written into the page. The
/// filters can be preset in the address (`report.html#rule=V102&sev=error&unit=行政村:湖光镇/东村`)
/// so a supervisor can send a link that opens on one village's errors.
const SCRIPT: &str = "(function(){
var u=document.getElementById('f-unit'),r=document.getElementById('f-rule'),s=document.getElementById('f-sev'),c=document.getElementById('f-count');
var rows=document.querySelectorAll('#findings tbody tr');
function apply(){var n=0;for(var i=0;i<rows.length;i++){var d=rows[i].dataset;
var ok=(!u.value||d.units.split('\\n').indexOf(u.value)>=0)&&(!r.value||d.rule===r.value)&&(!s.value||d.sev===s.value);
rows[i].hidden=!ok;if(ok)n++;}c.textContent=String(n);}
var q=new URLSearchParams(location.hash.slice(1));
if(q.has('unit'))u.value=q.get('unit');if(q.has('rule'))r.value=q.get('rule');if(q.has('sev'))s.value=q.get('sev');
u.addEventListener('change',apply);r.addEventListener('change',apply);s.addEventListener('change',apply);apply();
})();";

impl Reporter for Html {
    fn destination(&self) -> Destination {
        Destination::Html
    }

    fn write(&self, run: &Run, out: &mut dyn Write) -> io::Result<()> {
        let mut h = String::new();
        page(run, &mut h).map_err(io::Error::other)?;
        out.write_all(h.as_bytes())
    }
}

fn page(run: &Run, h: &mut String) -> std::fmt::Result {
    let lang = run.lang;
    let title = t(lang, "建档立卡数据检查报告", "Poverty record check report");
    write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n",
        t(lang, "zh-CN", "en")
    )?;
    writeln!(
        h,
        "<p>{} {} {} · {} {} · povcheck {}{}</p>",
        escape(&run.schema.name),
        escape(&run.schema.version),
        t(lang, "规则目录", "schema"),
        t(lang, "参考日期", "as of"),
        escape(&run.as_of),
        escape(run.tool_version),
        run.period
            .as_deref()
            .map(|p| format!(" · {} {}", t(lang, "轮次", "period"), escape(p)))
            .unwrap_or_default()
    )?;
    summary(run, h)?;
    inputs(run, h)?;
    chart(run, h)?;
    units(run, h)?;
    rules(run, h)?;
    findings(run, h)?;
    write!(h, "<script>{SCRIPT}</script>\n</body>\n</html>\n")
}

fn summary(run: &Run, h: &mut String) -> std::fmt::Result {
    let lang = run.lang;
    let s = &run.summary;
    writeln!(
        h,
        "<h2>{}</h2>\n<div class=\"cards\">",
        t(lang, "概况", "Summary")
    )?;
    let card = |h: &mut String, label: &str, n: usize, class: &str| {
        writeln!(h, "<div class=\"card {class}\"><b>{n}</b>{label}</div>")
    };
    card(h, t(lang, "行", "rows"), s.rows, "")?;
    card(h, t(lang, "户", "households"), s.households, "")?;
    card(h, t(lang, "错误", "errors"), s.errors, "error")?;
    card(h, t(lang, "警告", "warnings"), s.warnings, "warning")?;
    for (c, n) in &s.by_category {
        card(h, category_label(*c, lang), *n, "")?;
    }
    writeln!(h, "</div>")
}

fn inputs(run: &Run, h: &mut String) -> std::fmt::Result {
    let lang = run.lang;
    // The same section as the terminal and the xlsx 汇总.
    let unmapped = with_unmapped_columns(run);
    if !unmapped.is_empty() {
        writeln!(
            h,
            "<h2>{}</h2>\n<ul>",
            t(
                lang,
                "未识别的列（未检查）",
                "Unrecognised columns (not checked)"
            )
        )?;
        for i in unmapped {
            let name = input_name(i);
            writeln!(
                h,
                "<li>{}: {}</li>",
                escape(&name),
                escape(&i.unmapped_columns.join(t(lang, "、", ", ")))
            )?;
        }
        writeln!(h, "</ul>")?;
    }
    let bad: Vec<_> = run
        .inputs
        .iter()
        .filter(|i| i.status != InputStatus::Checked)
        .collect();
    if !bad.is_empty() {
        writeln!(
            h,
            "<h2>{}</h2>\n<ul>",
            t(lang, "未检查的输入", "Inputs not checked")
        )?;
        for i in bad {
            let status = match i.status {
                InputStatus::Skipped => t(lang, "已跳过", "skipped"),
                _ => t(lang, "无法读取", "unreadable"),
            };
            let name = input_name(i);
            writeln!(
                h,
                "<li>{}: {status} — {}</li>",
                escape(&name),
                escape(&i.reason_text(lang).unwrap_or_default())
            )?;
        }
        writeln!(h, "</ul>")?;
    }
    if !run.skipped_rules.is_empty() {
        writeln!(
            h,
            "<h2>{}</h2>\n<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            t(lang, "跳过的规则", "Skipped rules"),
            t(lang, "规则", "rule"),
            t(lang, "文件", "file"),
            t(lang, "原因", "reason")
        )?;
        for s in &run.skipped_rules {
            writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&s.rule),
                escape(&s.file),
                escape(&s.reason)
            )?;
        }
        writeln!(h, "</tbody></table>")?;
    }
    Ok(())
}

/// Horizontal bars of errors (red) and warnings (amber) per unit, one group per level.
fn chart(run: &Run, h: &mut String) -> std::fmt::Result {
    if run.units.is_empty() {
        return Ok(());
    }
    let lang = run.lang;
    writeln!(
        h,
        "<h2>{}</h2>",
        t(lang, "各单位问题数", "Findings per unit")
    )?;
    for level in run.schema.unit_levels() {
        let units: Vec<&UnitReport> = run.units.iter().filter(|u| u.level == level).collect();
        if units.is_empty() {
            continue;
        }
        let max = units
            .iter()
            .map(|u| u.errors + u.warnings)
            .max()
            .unwrap_or(0)
            .max(1);
        let (label_w, bar_w, row_h) = (220.0, 420.0, 22.0);
        let height = row_h * units.len() as f64 + 8.0;
        writeln!(
            h,
            "<h3>{}</h3>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"{}\">",
            escape(level),
            label_w + bar_w + 80.0,
            escape(level)
        )?;
        for (i, u) in units.iter().enumerate() {
            let y = i as f64 * row_h + 4.0;
            let we = bar_w * u.errors as f64 / max as f64;
            let ww = bar_w * u.warnings as f64 / max as f64;
            writeln!(
                h,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"12\">{}</text>\
                 <rect x=\"{label_w}\" y=\"{y}\" width=\"{we:.1}\" height=\"{}\" fill=\"#d93025\"><title>{} {}</title></rect>\
                 <rect x=\"{:.1}\" y=\"{y}\" width=\"{ww:.1}\" height=\"{}\" fill=\"#f2b600\"><title>{} {}</title></rect>\
                 <text x=\"{:.1}\" y=\"{}\" font-size=\"12\">{} / {}</text>",
                label_w - 6.0,
                y + 14.0,
                escape(&unit_label(u)),
                row_h - 6.0,
                t(lang, "错误", "errors"),
                u.errors,
                label_w + we,
                row_h - 6.0,
                t(lang, "警告", "warnings"),
                u.warnings,
                label_w + we + ww + 6.0,
                y + 14.0,
                u.errors,
                u.warnings
            )?;
        }
        writeln!(h, "</svg>")?;
    }
    Ok(())
}

fn units(run: &Run, h: &mut String) -> std::fmt::Result {
    let lang = run.lang;
    let with_repeat = run.units.iter().any(|u| u.repeat.is_some());
    writeln!(
        h,
        "<h2>{}</h2>\n<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>{}</tr></thead><tbody>",
        t(lang, "按单位", "Per unit"),
        t(lang, "层级", "level"),
        t(lang, "单位", "unit"),
        t(lang, "行数", "rows"),
        t(lang, "户数", "households"),
        t(lang, "错误", "errors"),
        t(lang, "警告", "warnings"),
        t(lang, "错误率%", "error %"),
        t(lang, "问题户", "households with errors"),
        if with_repeat {
            format!(
                "<th>{}</th><th>{}</th><th>{}</th>",
                t(lang, "重犯等级", "repeat level"),
                t(lang, "连续轮次", "streak"),
                t(lang, "处理", "action")
            )
        } else {
            String::new()
        }
    )?;
    for u in &run.units {
        write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.2}</td><td class=\"n\">{}</td>",
            escape(&u.level),
            escape(&unit_label(u)),
            u.rows,
            u.households,
            u.errors,
            u.warnings,
            u.error_rate,
            u.households_with_errors
        )?;
        if with_repeat {
            match &u.repeat {
                Some(r) => write!(
                    h,
                    "<td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td>",
                    r.level,
                    r.consecutive,
                    escape(&r.action)
                )?,
                None => write!(h, "<td></td><td></td><td></td>")?,
            }
        }
        writeln!(h, "</tr>")?;
    }
    writeln!(h, "</tbody></table>")
}

fn rules(run: &Run, h: &mut String) -> std::fmt::Result {
    let lang = run.lang;
    writeln!(
        h,
        "<h2>{}</h2>\n<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        t(lang, "按规则", "Per rule"),
        t(lang, "规则", "rule"),
        t(lang, "类别", "category"),
        t(lang, "级别", "severity"),
        t(lang, "数量", "count"),
        t(lang, "说明", "message")
    )?;
    for c in rule_counts(run) {
        writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(&c.rule),
            category_label(c.category, lang),
            c.severity.as_str(),
            severity_label(c.severity, lang),
            c.count,
            escape(&rule_text(run.schema, &c.rule, lang).unwrap_or_default())
        )?;
    }
    writeln!(h, "</tbody></table>")
}

/// Filter keys of a finding's units: `level:path` for each hierarchical level (so two villages
/// of the same name in two towns stay apart) and `level:name` for each assist dimension.
fn unit_keys(run: &Run, f: &Finding) -> Vec<String> {
    let Some(cells) = &f.unit else {
        return Vec::new();
    };
    let levels = &run.schema.units.levels;
    let mut keys = Vec::new();
    let mut path: Vec<&str> = Vec::new();
    for l in levels {
        match cells.iter().find(|(k, _)| k == l) {
            Some((_, v)) => {
                path.push(v);
                keys.push(format!("{l}:{}", path.join("/")));
            }
            None => break,
        }
    }
    for (k, v) in cells.iter().filter(|(k, _)| !levels.contains(k)) {
        keys.push(format!("{k}:{v}"));
    }
    keys
}

fn findings(run: &Run, h: &mut String) -> std::fmt::Result {
    let lang = run.lang;
    writeln!(h, "<h2>{}</h2>", t(lang, "问题明细", "Findings"))?;
    // Filter options: every unit, rule and severity present, values escaped like any data.
    writeln!(h, "<div class=\"filters\">")?;
    write!(
        h,
        "<label>{} <select id=\"f-unit\"><option value=\"\">{}</option>",
        t(lang, "单位", "unit"),
        t(lang, "全部", "all")
    )?;
    for u in &run.units {
        let key = format!("{}:{}", u.level, unit_label(u));
        write!(
            h,
            "<option value=\"{}\">{}</option>",
            escape(&key),
            escape(&format!("{} {}", u.level, unit_label(u)))
        )?;
    }
    writeln!(h, "</select></label>")?;
    write!(
        h,
        "<label>{} <select id=\"f-rule\"><option value=\"\">{}</option>",
        t(lang, "规则", "rule"),
        t(lang, "全部", "all")
    )?;
    let codes: BTreeSet<&str> = run.findings.iter().map(|f| f.rule.as_str()).collect();
    for c in codes {
        write!(h, "<option value=\"{0}\">{0}</option>", escape(c))?;
    }
    writeln!(h, "</select></label>")?;
    writeln!(
        h,
        "<label>{} <select id=\"f-sev\"><option value=\"\">{}</option><option value=\"error\">{}</option><option value=\"warning\">{}</option></select></label>",
        t(lang, "级别", "severity"),
        t(lang, "全部", "all"),
        t(lang, "错误", "error"),
        t(lang, "警告", "warning")
    )?;
    writeln!(
        h,
        "<span>{} <b id=\"f-count\">{}</b></span></div>",
        t(lang, "显示条数", "shown"),
        run.findings.len()
    )?;
    writeln!(
        h,
        "<table id=\"findings\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        t(lang, "文件", "file"),
        t(lang, "工作表", "sheet"),
        t(lang, "单元格", "cell"),
        t(lang, "列", "column"),
        t(lang, "值", "value"),
        t(lang, "规则", "rule"),
        t(lang, "级别", "severity"),
        t(lang, "问题 / 提示", "message / hint"),
        t(lang, "单位", "unit")
    )?;
    for f in &run.findings {
        let sev = f.severity.as_str();
        writeln!(
            h,
            "<tr class=\"{sev}\" data-rule=\"{}\" data-sev=\"{sev}\" data-units=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"sev\">{}</td><td>{}<br><span class=\"hint\">{}</span></td><td>{}</td></tr>",
            escape(&f.rule),
            escape(&unit_keys(run, f).join("\n")),
            escape(&f.file),
            escape(f.sheet.as_deref().unwrap_or("")),
            escape(f.cell.as_deref().unwrap_or("")),
            escape(f.column.as_deref().unwrap_or("")),
            escape(f.value.as_deref().unwrap_or("")),
            escape(&f.rule),
            severity_label(f.severity, lang),
            escape(&f.message),
            escape(&f.hint),
            escape(&unit_cells_label(run.schema, f))
        )?;
    }
    writeln!(h, "</tbody></table>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Lang;

    #[test]
    fn lang_en_is_used() {
        let schema = crate::report::sample::sample_schema();
        let mut run = crate::report::sample::sample_run(&schema);
        run.lang = Lang::En;
        let mut buf = Vec::new();
        Html.write(&run, &mut buf).unwrap();
        let s = String::from_utf8(buf).unwrap();
        assert!(s.contains("<html lang=\"en\">") && s.contains("Findings per unit"));
    }
}
