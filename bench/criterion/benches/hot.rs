//! Criterion benches for the hot inner pieces of a check: ID validation, header matching, and
//! one household window rule (L203, 人数 against the household's member rows).

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

use povcheck::check::{CheckOptions, check};
use povcheck::finding::Lang;
use povcheck::read::{HeaderMatcher, ReadOptions, read_file};
use povcheck::sample::{COLUMNS, SampleOptions, generate_csv};
use povcheck::schema::default_schema;
use povcheck::types::{check_id, make_id};

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2017, 12, 31).unwrap_or_default()
}

fn ids(c: &mut Criterion) {
    // Synthetic IDs with valid check digits, plus the usual damage.
    let birth = NaiveDate::from_ymd_opt(1960, 3, 14).unwrap_or_default();
    let mut values: Vec<String> = (0..999u16).map(|s| make_id("440811", birth, s)).collect();
    values.push("44081119600314001x".into());
    values.push(" 440811196003140010 ".into());
    values.push("4.40811E+17".into());
    values.push("440811196013140010".into());
    c.bench_function("check_id x1003", |b| {
        b.iter(|| {
            for v in &values {
                black_box(check_id(black_box(v), false, as_of()));
            }
        })
    });
}

fn headers(c: &mut Criterion) {
    let schema = default_schema();
    c.bench_function("HeaderMatcher::from_schema", |b| {
        b.iter(|| black_box(HeaderMatcher::from_schema(black_box(&schema))))
    });
    let m = HeaderMatcher::from_schema(&schema);
    c.bench_function("HeaderMatcher::field x47 (national header)", |b| {
        b.iter(|| {
            for h in COLUMNS {
                black_box(m.field(black_box(h)));
            }
        })
    });
}

fn window_rule(c: &mut Criterion) {
    let schema = default_schema();
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let path = dir.path().join("w.csv");
    let opts = SampleOptions {
        rows: 20_000,
        ..SampleOptions::default()
    };
    let file = std::fs::File::create(&path).map(std::io::BufWriter::new);
    if let Err(e) = file.and_then(|f| generate_csv(&opts, f)) {
        panic!("sample: {e}");
    }
    let m = HeaderMatcher::from_schema(&schema);
    let tables = read_file(&path, "w.csv", &ReadOptions::default(), &m).tables;
    assert_eq!(tables.first().map(|t| t.len()), Some(20_000));
    let opts = |select: &str| CheckOptions {
        as_of: as_of(),
        lang: Lang::Zh,
        select: vec![select.to_string()],
        ignore: Vec::new(),
        exclusions: Vec::new(),
    };
    let mut g = c.benchmark_group("20k rows");
    g.sample_size(10);
    // The typing pass runs whatever is selected: the difference between the two is the rule.
    g.bench_function("typing only (no rule selected)", |b| {
        b.iter_batched(
            || opts("Z999"),
            |o| check(&tables, &schema, &o),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("typing + L203 household window", |b| {
        b.iter_batched(
            || opts("L203"),
            |o| check(&tables, &schema, &o),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, ids, headers, window_rule);
criterion_main!(benches);
