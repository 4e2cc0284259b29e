//! The one escaping layer every writer uses: text that comes from cells (unit names, values) or
//! from a schema file must never become live in the place it is written to — no escape
//! sequence reaching the clerk's terminal, no formula in their spreadsheet, no markup in a page
//! or an XML report. Each function is for one kind of destination; JSON needs none (serde_json
//! escapes control characters) and xlsx cells are written with `write_string`, which never
//! makes a formula.

/// The kind of place a writer's output goes to, each with its own escaping here; what a test
/// checks to call an output inert depends on this, not on the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// Read on a terminal: no control character but line feeds ([`terminal`]).
    Terminal,
    /// JSON text or JSON lines: serde_json escapes every control character.
    Json,
    /// Opened in a spreadsheet program: no field starts a formula ([`csv_field`]).
    Csv,
    /// An xlsx workbook: data cells are strings, never formulas (`write_string`).
    Workbook,
    /// A web page: no markup from data ([`html`]).
    Html,
    /// An XML document: well-formed, no markup from data ([`xml`]).
    Xml,
}

/// Terminal text on one line: line breaks (a cell with Alt+Enter) become spaces so one record
/// stays one line; other control characters are shown escaped (`\u{1b}`), so a hostile cell
/// cannot clear the screen, retitle the window or hide lines.
pub fn terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// Terminal text that may span lines (a rule's documentation): line feeds are kept, every other
/// control character — carriage return included, which could overwrite a line — is escaped.
pub fn terminal_lines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push('\n'),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// A leading apostrophe makes spreadsheet programs show the text instead of evaluating it: a
/// cell beginning with = + - @, tab or carriage return would otherwise be taken for a formula
/// (OWASP "CSV injection").
pub fn neutralise(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// One CSV field: formula starts neutralised, then quoted when needed (RFC 4180).
pub fn csv_field(s: &str) -> String {
    let s = neutralise(s);
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// HTML text for element content and quoted attribute values alike.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// XML text for element content and attribute values alike; control characters that XML 1.0
/// cannot carry at all are dropped rather than producing an unparsable report.
pub fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// A Markdown table cell: a bare `|` would end the cell.
pub fn md_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_keeps_one_line_and_escapes_controls() {
        assert_eq!(terminal("a\nb\r\nc"), "a b  c");
        assert_eq!(terminal("x\u{1b}[2Jy\u{7}"), "x\\u{1b}[2Jy\\u{7}");
        assert_eq!(terminal("张三"), "张三");
    }

    #[test]
    fn terminal_lines_keeps_line_feeds_only() {
        assert_eq!(terminal_lines("a\nb\rc\u{1b}"), "a\nb\\rc\\u{1b}");
        assert_eq!(terminal_lines("说明\n\n第二段"), "说明\n\n第二段");
    }

    #[test]
    fn neutralises_formula_starts_only() {
        for s in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise(s).starts_with('\''), "{s:?}");
        }
        for s in ["1-1", "张三", "a=b", ""] {
            assert_eq!(neutralise(s), s);
        }
    }

    #[test]
    fn csv_quotes_separators_after_neutralising() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(csv_field("=A1,\"q\""), "\"'=A1,\"\"q\"\"\"");
        assert_eq!(csv_field("\rx"), "\"'\rx\"");
        assert_eq!(csv_field("plain"), "plain");
    }

    #[test]
    fn html_escapes_the_five_characters() {
        assert_eq!(
            html("<a href=\"x\" title='y'>&</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(html("张三"), "张三");
    }

    #[test]
    fn xml_escapes_markup_and_drops_invalid_controls() {
        assert_eq!(
            xml("<a href=\"x\">&'</a>\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;"
        );
        assert_eq!(xml("a\nb\u{1b}"), "a&#10;b");
    }

    #[test]
    fn md_cell_escapes_pipes() {
        assert_eq!(md_cell("a|b"), "a\\|b");
    }
}
