//! The module graph: every `crate::` path in src/ must point down the pipeline order below, and
//! no files import each other in a circle. Read from the source text, so it needs no tool.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crate's top-level modules in pipeline order: each may import only those before it. A new
/// top-level module must be placed here (the test fails until it is).
const ORDER: &[&str] = &[
    "finding",
    "cell",
    "timing",
    "types",
    "schema",
    "read",
    "check",
    "dataset",
    "attribute",
    "ledger",
    "report",
    "sample",
    "progress",
    "config",
    "pipeline",
    "fix",
    "serve",
    "cli",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        // src/bin holds separate binary crates (the Ballista cluster programs): edges outside
        // the library, like main.rs, that reach it by its crate name, never by `crate::`.
        if p == src().join("bin") {
            continue;
        }
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The module a file defines, as path segments from the crate root (`src/check/emit.rs` →
/// `check::emit`, `src/check/mod.rs` → `check`, `src/lib.rs` → nothing).
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).expect("under src/");
    let mut segs: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(
        segs.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        segs.pop();
    }
    segs
}

/// The source without comments (doc comments mention paths that are not imports) and without
/// the contents of string literals.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_str = false;
        let mut prev = '\0';
        let mut kept = String::new();
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if in_str {
                if c == '"' && prev != '\\' {
                    in_str = false;
                    kept.push(c);
                }
                prev = if prev == '\\' && c == '\\' { '\0' } else { c };
                i += 1;
                continue;
            }
            if c == '/' && chars.get(i + 1) == Some(&'/') {
                break;
            }
            if c == '"' {
                in_str = true;
            }
            kept.push(c);
            prev = c;
            i += 1;
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

/// Every absolute module path the file refers to: `crate::a::b`, `use crate::{a, b::c}`, and
/// `super::` resolved against the file's own module.
fn references(file: &Path, text: &str) -> Vec<Vec<String>> {
    let me = module_of(file);
    let is_dir_module = matches!(
        file.file_name().and_then(|n| n.to_str()),
        Some("mod.rs" | "lib.rs" | "main.rs")
    );
    // The module `super` names from this file.
    let parent: Vec<String> = if is_dir_module || me.is_empty() {
        me.iter()
            .take(me.len().saturating_sub(1))
            .cloned()
            .collect()
    } else {
        me[..me.len() - 1].to_vec()
    };
    let code = code_only(text);
    let mut out = Vec::new();
    for (root, base) in [("crate::", Vec::new()), ("super::", parent)] {
        let mut rest = code.as_str();
        while let Some(pos) = rest.find(root) {
            let before = rest[..pos].chars().last();
            rest = &rest[pos + root.len()..];
            // `foo_crate::` or `self.super::` are not paths from the root.
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            for path in expand(rest) {
                let mut full = base.clone();
                full.extend(path);
                out.push(full);
            }
        }
    }
    out
}

/// The paths at the start of `s`: `a::b::Item` or a group `{a, b::{c, d}}`.
fn expand(s: &str) -> Vec<Vec<String>> {
    let s = s.trim_start();
    if let Some(inner) = s.strip_prefix('{') {
        let mut depth = 0;
        let mut end = inner.len();
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    end = i;
                    break;
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        let body = &inner[..end];
        let mut items = Vec::new();
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&body[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        items.push(&body[start..]);
        return items
            .into_iter()
            .filter(|i| !i.trim().is_empty())
            .flat_map(expand)
            .collect();
    }
    let mut segs = Vec::new();
    let mut rest = s;
    loop {
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if len == 0 {
            break;
        }
        segs.push(rest[..len].to_string());
        rest = &rest[len..];
        match rest.strip_prefix("::") {
            Some(r) if r.starts_with('{') => {
                return expand(r)
                    .into_iter()
                    .map(|tail| segs.iter().cloned().chain(tail).collect())
                    .collect();
            }
            Some(r) => rest = r,
            None => break,
        }
    }
    vec![segs]
}

struct Graph {
    /// Every module defined by a file.
    modules: BTreeSet<Vec<String>>,
    /// (from file's module, to module) with where it was seen.
    edges: BTreeMap<(Vec<String>, Vec<String>), String>,
}

fn graph() -> Graph {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(f)).collect();
    let mut edges = BTreeMap::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read source");
        let from = module_of(f);
        for path in references(f, &text) {
            // The longest prefix that is a module of its own.
            let to = (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains(p))
                .unwrap_or_default();
            if to != from && !to.is_empty() {
                edges
                    .entry((from.clone(), to))
                    .or_insert_with(|| f.display().to_string());
            }
        }
    }
    Graph { modules, edges }
}

fn rank(top: &str) -> Option<usize> {
    ORDER.iter().position(|m| *m == top)
}

#[test]
fn the_parser_sees_grouped_and_relative_paths() {
    let paths = expand("{a, b::{c, d::E}, f::G};");
    let flat: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(flat, ["a", "b::c", "b::d::E", "f::G"]);
    let f = src().join("check").join("typing.rs");
    let refs = references(
        &f,
        "use super::emit::Emitter; // crate::cli\nlet s = \"crate::ledger\"; crate::read::Table",
    );
    let flat: Vec<String> = refs.iter().map(|p| p.join("::")).collect();
    assert_eq!(flat, ["read::Table", "check::emit::Emitter"]);
}

#[test]
fn every_top_level_module_is_in_the_pipeline_order() {
    let g = graph();
    let tops: BTreeSet<&str> = g
        .modules
        .iter()
        .filter_map(|m| m.first().map(String::as_str))
        .collect();
    for t in &tops {
        assert!(
            rank(t).is_some(),
            "src/{t}: place the module in ORDER (tests/architecture.rs) where it belongs in the pipeline"
        );
    }
    // lib.rs declares them in the same order, so the layout reads as the pipeline.
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("lib.rs");
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    assert_eq!(
        declared, ORDER,
        "src/lib.rs declares the modules in pipeline order"
    );
}

#[test]
fn no_import_points_back_up_the_pipeline() {
    let g = graph();
    let mut back = Vec::new();
    for ((from, to), at) in &g.edges {
        let (Some(f), Some(t)) = (from.first(), to.first()) else {
            continue;
        };
        if let (Some(rf), Some(rt)) = (rank(f), rank(t))
            && rt > rf
        {
            back.push(format!(
                "{at}: {f} imports {t}, which comes later in the pipeline"
            ));
        }
    }
    assert!(back.is_empty(), "{}", back.join("\n"));
}

/// A circle in `next`, if there is one.
fn find_circle(next: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<String>> {
    fn visit(
        m: &Vec<String>,
        next: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<String>> {
        state.insert(m.clone(), 1);
        stack.push(m.clone());
        for n in next.get(m).into_iter().flatten() {
            match state.get(n) {
                Some(1) => {
                    let start = stack.iter().position(|s| s == n).unwrap_or(0);
                    let mut circle: Vec<String> =
                        stack[start..].iter().map(|s| s.join("::")).collect();
                    circle.push(n.join("::"));
                    return Some(circle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(n, next, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(m.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in next.keys() {
        if !state.contains_key(m)
            && let Some(c) = visit(m, next, &mut state, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

#[test]
fn no_modules_import_each_other_in_a_circle() {
    let g = graph();
    // Top-level modules, each taken whole.
    let mut tops: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    // Sibling files of one folder (a folder's `mod.rs` is their parent and may use them): a
    // circle there means two files that cannot be read or changed apart.
    let mut siblings: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (from, to) in g.edges.keys() {
        if from[0] != to[0] {
            tops.entry(vec![from[0].clone()])
                .or_default()
                .insert(vec![to[0].clone()]);
        } else if from.len() == to.len() && from[..from.len() - 1] == to[..to.len() - 1] {
            siblings.entry(from.clone()).or_default().insert(to.clone());
        }
    }
    assert_eq!(
        find_circle(&tops),
        None,
        "modules import each other in a circle"
    );
    assert_eq!(
        find_circle(&siblings),
        None,
        "files import each other in a circle"
    );
}

#[test]
fn a_circle_is_found() {
    let v = |s: &str| vec![s.to_string()];
    let mut next: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    next.entry(v("a")).or_default().insert(v("b"));
    next.entry(v("b")).or_default().insert(v("c"));
    assert_eq!(find_circle(&next), None);
    next.entry(v("c")).or_default().insert(v("a"));
    assert_eq!(
        find_circle(&next),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}
