//! Shared by the reading targets: a per-process scratch file, the default schema's header
//! matcher, tight read limits, and the invariants every `FileRead` must keep.

use std::path::PathBuf;
use std::sync::OnceLock;

use povcheck::read::{FileRead, HeaderMatcher, InputStatus, ReadOptions};

pub struct Env {
    pub dir: PathBuf,
    pub matcher: HeaderMatcher,
}

pub fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        // One directory per process: fuzz/run.sh runs two targets at once.
        let dir = std::env::temp_dir().join(format!("povcheck-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir writable");
        let schema = povcheck::schema::default_schema();
        Env {
            dir,
            matcher: HeaderMatcher::from_schema(&schema),
        }
    })
}

/// The real limits are gigabytes; libFuzzer's RSS limit is 2 GB. Smaller limits exercise the
/// same refusal paths and keep one input from looking like an out-of-memory crash.
pub fn opts() -> ReadOptions {
    ReadOptions {
        max_inflated_bytes: 32 << 20,
        max_cells: 200_000,
        ..ReadOptions::default()
    }
}

/// Write `data` to the scratch file named `name` and return its path.
pub fn scratch(name: &str, data: &[u8]) -> PathBuf {
    let path = env().dir.join(name);
    std::fs::write(&path, data).expect("scratch file writable");
    path
}

/// What `read_file` promises whatever the bytes: every table is rectangular, row numbers are
/// below the header and increasing, an unreadable file says why, and the reader's panic guard
/// never fired (libFuzzer's panic hook aborts first anyway; this also catches a silent one).
pub fn check_invariants(r: &FileRead) {
    assert!(!r.inputs.is_empty(), "every file gets an input entry");
    for e in &r.inputs {
        if e.status != InputStatus::Checked {
            assert!(e.reason.is_some(), "a skipped/unreadable entry says why");
        }
        if let Some(reason) = &e.reason {
            assert!(
                *reason != povcheck::read::Reason::Internal,
                "panic guard fired: {reason}"
            );
        }
    }
    if r.inputs.iter().any(|e| e.status == InputStatus::Unreadable) {
        assert!(
            !r.errors.is_empty(),
            "an unreadable entry comes with an error"
        );
    }
    for t in &r.tables {
        let mut last = t.header_row;
        for row in t.rows() {
            assert_eq!(
                row.cells.len(),
                t.columns.len(),
                "row {} not rectangular",
                row.number
            );
            assert!(row.number > last, "row {} not after {}", row.number, last);
            last = row.number;
        }
        for s in &t.skipped_rows {
            assert!(
                s.number > t.header_row,
                "skipped row {} above header",
                s.number
            );
        }
        let mut fields: Vec<&str> = t
            .columns
            .iter()
            .filter_map(|c| c.field.as_deref())
            .collect();
        let n = fields.len();
        fields.sort_unstable();
        fields.dedup();
        assert_eq!(n, fields.len(), "a field mapped to two columns");
    }
}
