//! Hostile and broken inputs through the real binary, alone and mixed with a good file: each
//! exits 2 with a message naming the file and the problem, never panics, and the good file in the
//! same run is still checked in full (issue 7; design.md exit codes and `inputs[].status`).
//! The broken files are generated here from a committed sample, so nothing hand-made is checked in
//! except tests/fixtures/encrypted.xlsx (a real password-protected workbook).

#[path = "cli/common.rs"]
mod common;

use std::path::Path;

use common::*;

/// A broken input: its file name, how to create it in a dir, and words its message must contain.
struct Bad {
    name: &'static str,
    make: fn(&Path, &str),
    says: &'static [&'static str],
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).expect("write fixture");
}

fn sample_bytes(name: &str) -> Vec<u8> {
    std::fs::read(repo(&format!("samples/{name}"))).expect("sample")
}

fn bad_inputs() -> Vec<Bad> {
    vec![
        Bad {
            name: "truncated.xlsx",
            make: |d, n| {
                let b = sample_bytes("sample.xlsx");
                write(d, n, &b[..b.len() / 2]);
            },
            says: &["损坏"],
        },
        Bad {
            name: "empty.csv",
            make: |d, n| write(d, n, b""),
            says: &["空", "0 字节"],
        },
        Bad {
            name: "empty.xlsx",
            make: |d, n| write(d, n, b""),
            says: &["0 字节"],
        },
        Bad {
            name: "renamed-text.xlsx",
            make: |d, n| write(d, n, "姓名,证件号码\n张三,1\n".as_bytes()),
            says: &["不是工作簿"],
        },
        Bad {
            name: "encrypted.xlsx",
            make: |d, n| {
                std::fs::copy(repo("tests/fixtures/encrypted.xlsx"), d.join(n)).expect("copy");
            },
            says: &["加密"],
        },
        Bad {
            name: "no-header.csv",
            make: |d, n| write(d, n, b"a,b,c\n1,2,3\n4,5,6\n"),
            says: &["表头"],
        },
        Bad {
            name: "a-directory.xlsx",
            make: |d, n| std::fs::create_dir(d.join(n)).expect("mkdir"),
            says: &["文件夹"],
        },
        Bad {
            name: "missing.csv",
            make: |_, _| {},
            says: &["不存在"],
        },
        Bad {
            name: "名单 (第1批) $HOME;`x`&'q'.xlsx",
            make: |d, n| {
                let b = sample_bytes("sample.xlsx");
                write(d, n, &b[..1000]);
            },
            says: &["损坏"],
        },
        // docs/reading.md: a record whose width differs from the header's makes the file
        // unreadable, naming the line (a silent shift of columns would misattribute every cell).
        Bad {
            name: "ragged.csv",
            make: |d, n| {
                let text = String::from_utf8(sample_bytes("sample.csv")).expect("utf-8");
                let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
                if let Some(l) = lines.get_mut(9) {
                    *l = l.split(',').take(8).collect::<Vec<_>>().join(",");
                }
                write(d, n, (lines.join("\n") + "\n").as_bytes());
            },
            says: &["第 10 行", "8 个字段"],
        },
        Bad {
            name: "ragged-long.csv",
            make: |d, n| {
                let text = String::from_utf8(sample_bytes("sample.csv")).expect("utf-8");
                let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
                if let Some(l) = lines.get_mut(20) {
                    l.push_str(",x,y");
                }
                write(d, n, (lines.join("\n") + "\n").as_bytes());
            },
            // The sample has 54 columns (povcheck::sample::COLUMNS); two more on line 21.
            says: &["第 21 行", "56 个字段"],
        },
        Bad {
            name: "random-bytes.xls",
            make: |d, n| {
                let bytes: Vec<u8> = (0u32..4096)
                    .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                    .collect();
                write(d, n, &bytes);
            },
            says: &[],
        },
    ]
}

fn check_good_doc(doc: &Doc, bad_name: &str) {
    let good: Vec<&Input> = doc.inputs.iter().filter(|i| i.file == "good.csv").collect();
    assert_eq!(good.len(), 1, "{bad_name}");
    assert_eq!(good[0].status, "checked", "{bad_name}");
    assert_eq!(
        row_codes(doc),
        manifest(&repo("samples/sample.expected.csv")),
        "good file's findings with {bad_name}"
    );
    assert!(doc.findings.iter().all(|f| f.file == "good.csv"));
    let bad: Vec<&Input> = doc.inputs.iter().filter(|i| i.file == bad_name).collect();
    assert_eq!(bad.len(), 1, "{bad_name} listed in inputs");
    assert_eq!(bad[0].status, "unreadable", "{bad_name}");
    assert!(bad[0].reason.0.as_deref().is_some_and(|r| !r.is_empty()));
}

#[test]
fn each_bad_input_alone_exits_2_naming_file_and_problem() {
    for bad in bad_inputs() {
        let d = tempfile::tempdir().expect("tempdir");
        (bad.make)(d.path(), bad.name);
        let r = povcheck(d.path(), &["check", bad.name]);
        assert_eq!(r.code, 2, "{}: {}", bad.name, r.stderr);
        assert!(r.stderr.contains(bad.name), "{}: {}", bad.name, r.stderr);
        for word in bad.says {
            assert!(
                r.stderr.contains(word),
                "{}: {word} in {}",
                bad.name,
                r.stderr
            );
        }
        // English too.
        let en = povcheck(d.path(), &["check", bad.name, "--lang", "en"]);
        assert_eq!(en.code, 2, "{}", bad.name);
        assert!(en.stderr.contains(bad.name));
    }
}

#[test]
fn each_bad_input_mixed_with_a_good_file_keeps_the_good_files_findings() {
    for bad in bad_inputs() {
        let d = tempfile::tempdir().expect("tempdir");
        std::fs::copy(repo("samples/sample.csv"), d.path().join("good.csv")).expect("copy");
        (bad.make)(d.path(), bad.name);
        // Bad file first and last: order must not matter.
        for args in [
            ["check", bad.name, "good.csv", "--format", "json"],
            ["check", "good.csv", bad.name, "--format", "json"],
        ] {
            let r = povcheck(d.path(), &args);
            assert_eq!(r.code, 2, "{}: {}", bad.name, r.stderr);
            assert!(r.stderr.contains(bad.name), "{}: {}", bad.name, r.stderr);
            check_good_doc(&json_doc(&r.stdout), bad.name);
        }
    }
}

#[test]
fn all_bad_inputs_at_once_with_a_good_file() {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::copy(repo("samples/sample.csv"), d.path().join("good.csv")).expect("copy");
    let bads = bad_inputs();
    let mut args = vec!["check", "--format", "json", "good.csv"];
    for bad in &bads {
        (bad.make)(d.path(), bad.name);
        args.push(bad.name);
    }
    let r = povcheck(d.path(), &args);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let doc = json_doc(&r.stdout);
    for bad in &bads {
        assert!(r.stderr.contains(bad.name), "{}", bad.name);
        assert!(
            doc.inputs
                .iter()
                .any(|i| i.file == bad.name && i.status == "unreadable"),
            "{}",
            bad.name
        );
    }
    assert_eq!(
        row_codes(&doc),
        manifest(&repo("samples/sample.expected.csv"))
    );
}

/// The no-header message once said "没有找到表头: 没有找到表头（…）".
#[test]
fn no_header_message_says_it_once() {
    let d = tempfile::tempdir().expect("tempdir");
    write(d.path(), "no-header.csv", b"a,b,c\n1,2,3\n");
    let r = povcheck(d.path(), &["check", "no-header.csv"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr.matches("没有找到表头").count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("no-header.csv: 没有找到表头（前 30 行"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_bad_file_name_with_metacharacters_is_quoted_not_executed() {
    let d = tempfile::tempdir().expect("tempdir");
    let name = "x; touch pwned; `touch pwned2` $(touch pwned3).csv";
    write(d.path(), name, b"");
    let r = povcheck(d.path(), &["check", name]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains(name), "{}", r.stderr);
    for p in ["pwned", "pwned2", "pwned3"] {
        assert!(!d.path().join(p).exists());
    }
}

/// A good file whose name has spaces, Chinese and shell metacharacters is checked like any other
/// and named exactly in findings and inputs.
#[test]
fn a_good_file_with_an_odd_name_is_checked_and_named_exactly() {
    let d = tempfile::tempdir().expect("tempdir");
    let name = "麻章 名单 (第1批) $HOME;`x`&'q'.csv";
    std::fs::copy(repo("samples/sample.csv"), d.path().join(name)).expect("copy");
    let r = povcheck(d.path(), &["check", name, "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let doc = json_doc(&r.stdout);
    assert_eq!(doc.inputs[0].file, name);
    assert!(doc.findings.iter().all(|f| f.file == name));
    assert_eq!(
        row_codes(&doc),
        manifest(&repo("samples/sample.expected.csv"))
    );
}
