//! One run of `povcheck check`, stage by stage, from a validated [`CheckConfig`]: open the
//! ledger, read every input, check, attribute per unit, record in the ledger, write annotated
//! copies and the report. Problems along the way are diagnostics of the outcome, never panics;
//! findings are values in the report.

use std::io::Write;

use crate::attribute;
use crate::check::{self, CheckOptions};
use crate::config::{CheckConfig, LedgerError, Usage};
use crate::finding::Severity;
use crate::read::{self, HeaderMatcher, ReadOptions};
use crate::report::{self, Run};
use crate::timing::timing;

/// What a run produced besides its report.
pub struct RunOutcome {
    /// The most severe finding, None when there is none.
    pub worst: Option<Severity>,
    /// Inputs that could not be read, a ledger or a report that could not be written, …
    pub diagnostics: Vec<miette::Report>,
}

/// Run the pipeline; the report goes to `config.output`, else to `stdout`.
pub fn run(config: CheckConfig, stdout: &mut dyn Write) -> RunOutcome {
    let names = config
        .files
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    run_named(config, names, stdout)
}

/// [`run`], with each input file reported under `names[i]` instead of its path: the desk
/// (`serve`) keeps uploads in a private folder but reports them under the clerk's file names, so
/// its JSON is the one `check` gives for the same files.
pub fn run_named(config: CheckConfig, names: Vec<String>, stdout: &mut dyn Write) -> RunOutcome {
    let CheckConfig {
        files,
        schema,
        format,
        output,
        as_of,
        lang,
        read: read_opts,
        select,
        ignore,
        exclusions,
        exclusion_lists,
        mask,
        ledger,
        annotate,
        receipt,
        quiet,
        split_by,
        keys_out,
        buckets,
    } = config;
    // The ledger is opened before any input is read, so a foreign or mismatched ledger is
    // refused before the long part of the run.
    let mut session = match open_session(ledger, lang) {
        Ok(s) => s,
        Err(outcome) => return outcome,
    };
    let matcher = HeaderMatcher::from_schema(&schema);
    let mut diagnostics = Vec::new();
    let nfiles = files.len() as u64;
    let steps =
        nfiles + 1 + if annotate.is_some() { nfiles } else { 0 } + u64::from(split_by.is_some());
    let progress = crate::progress::Progress::new(steps, quiet);
    let (select_given, ignore_given) = (select.clone(), ignore.clone());
    let opts = CheckOptions {
        as_of,
        lang,
        select,
        ignore,
        exclusions,
    };
    let plan = crate::dataset::plan(&schema, &opts.select, &opts.ignore);
    // One file at a time when every dataset rule can be run over the key rows afterwards; an
    // annotated copy and per-unit packets need every table at the end, and a dataset rule the
    // key rows cannot express needs every table at once: then the files are one shard.
    let keep_tables = annotate.is_some() || split_by.is_some();
    let per_file = plan.unknown.is_empty() && !keep_tables;
    let sharded = keys_out.is_some() || (per_file && files.len() > 1);
    let (tables, inputs, result) = if sharded {
        let groups: Vec<Vec<usize>> = if per_file {
            (0..files.len()).map(|i| vec![i]).collect()
        } else {
            vec![(0..files.len()).collect()]
        };
        let shards = Shards {
            files: &files,
            names: &names,
            read_opts: &read_opts,
            matcher: &matcher,
            schema: &schema,
            opts: &opts,
            plan: &plan,
            keys_out: keys_out.as_ref(),
            keep_tables,
            progress: &progress,
            buckets,
        };
        check_sharded(&shards, &groups, &mut diagnostics)
    } else {
        let idx: Vec<usize> = (0..files.len()).collect();
        let (tables, inputs, _) = read_files(
            &files,
            &names,
            &idx,
            &read_opts,
            &matcher,
            &progress,
            lang,
            &mut diagnostics,
        );
        progress.step(report::t(lang, "检查规则", "checking rules"));
        let t0 = std::time::Instant::now();
        let result = check::check(&tables, &schema, &opts);
        timing("check", t0);
        progress.inc();
        (tables, inputs, result)
    };
    let t0 = std::time::Instant::now();
    let summary = attribute::summarize(&result.findings, result.rows, result.households);
    let mut units = attribute::attribute(&schema, &result.findings, &result.population);
    timing("attribute", t0);
    let worst = result.findings.iter().map(|f| f.severity).max();
    let receipt_counts = (
        summary.rows,
        summary.households,
        summary.errors,
        summary.warnings,
    );
    let (failed, version) = (!diagnostics.is_empty(), env!("CARGO_PKG_VERSION"));
    let period = session.as_mut().and_then(|s| {
        s.apply(
            &schema,
            &files,
            version,
            failed,
            &result.findings,
            &result.population,
            &mut units,
            lang,
        )
        .unwrap_or_else(|error| {
            diagnostics.push(miette::Report::new(LedgerError { error, lang }));
            None
        })
    });
    let mut run = Run {
        tool_version: env!("CARGO_PKG_VERSION"),
        schema: &schema,
        as_of: as_of.to_string(),
        period,
        inputs,
        skipped_rules: result.skipped_rules,
        exclusion_lists,
        summary,
        units,
        findings: result.findings,
        lang,
    };
    if mask {
        report::mask::mask_run(&mut run);
    }
    if let Some(dir) = &annotate {
        let sources: Vec<report::annotated::Source> = files
            .iter()
            .zip(&names)
            .map(|(path, display)| report::annotated::Source { path, display })
            .collect();
        let aopts = report::annotated::AnnotateOptions {
            lang: run.lang,
            mask,
            encoding: read_opts.encoding,
            max_cells: read_opts.max_cells,
        };
        let (written, errors) = report::annotated::annotate_all(
            dir,
            &sources,
            &tables,
            &run.findings,
            &schema,
            &aopts,
            |f| {
                progress.inc();
                progress.step(f);
            },
        );
        progress.finish();
        if !quiet {
            for w in &written {
                #[allow(clippy::print_stderr)]
                {
                    eprintln!(
                        "{}{}",
                        report::t(run.lang, "已写入标注副本: ", "annotated copy written: "),
                        w.display()
                    );
                }
            }
        }
        diagnostics.extend(errors.into_iter().map(miette::Report::new));
    }
    if let Some(split) = &split_by {
        let sources: Vec<report::annotated::Source> = files
            .iter()
            .zip(&names)
            .map(|(path, display)| report::annotated::Source { path, display })
            .collect();
        let aopts = report::annotated::AnnotateOptions {
            lang: run.lang,
            mask,
            encoding: read_opts.encoding,
            max_cells: read_opts.max_cells,
        };
        let t0 = std::time::Instant::now();
        let packets = report::packets::write_packets(
            &split.level,
            &split.dir,
            &sources,
            &tables,
            &run,
            &result.population,
            &aopts,
            |unit| progress.step(unit),
        );
        timing("packets", t0);
        progress.inc();
        if !quiet {
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "{}{} × {} → {}",
                    report::t(run.lang, "已写入分包: ", "packets written: "),
                    packets.units.len(),
                    split.level,
                    split.dir.display()
                );
            }
        }
        diagnostics.extend(packets.errors.into_iter().map(miette::Report::new));
    }
    progress.finish();
    let t0 = std::time::Instant::now();
    let written = match &output {
        Some(p) => std::fs::File::create(p)
            .and_then(|f| {
                let mut w = std::io::BufWriter::new(f);
                report::write(&run, format, &mut w)?;
                w.flush()
            })
            .map_err(|e| Usage::ReportWrite {
                path: Some(p.clone()),
                reason: e.to_string(),
            }),
        None => match report::write(&run, format, stdout) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            r => r.map_err(|e| Usage::ReportWrite {
                path: None,
                reason: e.to_string(),
            }),
        },
    };
    timing("report", t0);
    if let Err(e) = written {
        diagnostics.push(miette::Report::new(e.in_lang(lang)));
    }
    // Written last, so every problem of the run (a report that failed to write included) is in
    // its counts.
    if let Some(path) = &receipt {
        let (rows, households, errors, warnings) = receipt_counts;
        let facts = report::receipt::RunFacts {
            files: &files,
            schema: &schema,
            as_of: as_of.to_string(),
            select: &select_given,
            ignore: &ignore_given,
            rows,
            households,
            errors,
            warnings,
            run_errors: diagnostics.len(),
        };
        if let Err(e) = report::receipt::build(&facts, lang)
            .and_then(|r| report::receipt::write(&r, path, lang))
        {
            diagnostics.push(miette::Report::new(e));
        }
    }
    // The run's findings and cells are freed on another thread: the command is done once its
    // reports are written, and a process about to exit need not wait while a million
    // allocations are handed back one by one. If no thread can be had, they are freed here.
    let findings = std::mem::take(&mut run.findings);
    let _ = std::thread::Builder::new()
        .name("povcheck-free".into())
        .spawn(move || drop((findings, tables, result.population)));
    RunOutcome { worst, diagnostics }
}

/// Read the files `idx` of `files` in parallel (a township's submissions are many files), kept
/// in the order given so findings and rows come out the same whatever the scheduling.
#[allow(clippy::too_many_arguments)]
fn read_files(
    files: &[std::path::PathBuf],
    names: &[String],
    idx: &[usize],
    read_opts: &ReadOptions,
    matcher: &HeaderMatcher,
    progress: &crate::progress::Progress,
    lang: crate::finding::Lang,
    diagnostics: &mut Vec<miette::Report>,
) -> (Vec<read::Table>, Vec<read::InputEntry>, Vec<usize>) {
    let reads: Vec<read::FileRead> = {
        use rayon::prelude::*;
        idx.par_iter()
            .map(|&i| {
                let (path, display) = (&files[i], names[i].clone());
                progress.step(&display);
                let t0 = std::time::Instant::now();
                let opts = ReadOptions {
                    progress: Some(progress.rows(&display, lang)),
                    ..read_opts.clone()
                };
                let fr = read::read_file(path, &display, &opts, matcher);
                timing(&format!("read {display}"), t0);
                progress.inc();
                fr
            })
            .collect()
    };
    let (mut tables, mut inputs, mut counts) = (Vec::new(), Vec::new(), Vec::new());
    for fr in reads {
        counts.push(fr.tables.len());
        tables.extend(fr.tables);
        inputs.extend(fr.inputs);
        diagnostics.extend(fr.errors.into_iter().map(|e| e.report(lang)));
    }
    (tables, inputs, counts)
}

/// What a sharded check reads and checks with.
struct Shards<'a> {
    files: &'a [std::path::PathBuf],
    names: &'a [String],
    read_opts: &'a ReadOptions,
    matcher: &'a HeaderMatcher,
    schema: &'a crate::schema::Schema,
    opts: &'a CheckOptions,
    plan: &'a crate::dataset::Plan<'a>,
    keys_out: Option<&'a crate::config::KeysOut>,
    keep_tables: bool,
    progress: &'a crate::progress::Progress,
    buckets: Option<usize>,
}

/// Check the files group by group (each group's tables held only while it is checked), keep
/// each group's findings and key rows, write the key tables asked for, then run the dataset
/// rules over the key rows of all groups. The result is the one [`check::check`] gives for every
/// table at once (tests/scale.rs compares the JSON).
fn check_sharded(
    s: &Shards,
    groups: &[Vec<usize>],
    diagnostics: &mut Vec<miette::Report>,
) -> (Vec<read::Table>, Vec<read::InputEntry>, check::CheckResult) {
    use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

    use polars::prelude::{DataFrame, IntoLazy};

    let lang = s.opts.lang;
    let defer: HashSet<String> = s.plan.rules.iter().map(|(r, _)| r.code.clone()).collect();
    let texts = s.plan.texts(s.schema);
    let (mut kept, mut inputs) = (Vec::new(), Vec::new());
    let mut findings = Vec::new();
    let mut skipped: Vec<(check::shard::SkipOrder, check::SkippedRule)> = Vec::new();
    let mut population: BTreeMap<crate::finding::UnitCells, (usize, BTreeSet<String>)> =
        BTreeMap::new();
    let (mut rows, mut households) = (0usize, 0usize);
    let mut frame: Option<DataFrame> = None;
    let mut metas = Vec::new();
    let mut allowed: HashMap<String, Vec<u32>> = HashMap::new();
    let (mut table_offset, mut row_offset) = (0usize, 0u64);
    let mut units = check::shard::UnitRegistry::default();
    let internal = |e: &dyn std::fmt::Display| {
        miette::miette!(
            "{}{e}",
            report::t(
                lang,
                "数据集规则无法运行: ",
                "the dataset rules could not run: "
            )
        )
    };
    // Key rows: held when the run is one group; else each group's cut into buckets on disk as
    // it is checked, so the run holds one group's tables at a time and no key rows, and the
    // dataset pass one bucket's.
    let mut cutter = if groups.len() > 1 && !s.plan.rules.is_empty() {
        // The cross-file pass holds ~0.5 KB a key row, checking a table ~3 KB a row: a bucket
        // of two groups' key rows stays under the largest group's check (docs/scale.md: ten
        // 100 000-row files peaked at 492 MB with 3 buckets, 414 with 5, one file alone 299),
        // and fewer buckets mean fewer small writes.
        let buckets = s.buckets.unwrap_or(groups.len().div_ceil(2));
        // No temporary folder to be had (TMPDIR unwritable): the key rows stay in memory, as
        // for one file; the findings are the same, only the memory bound is lost.
        crate::dataset::local::Partitioned::cutter(&s.plan.partition_columns(), buckets).ok()
    } else {
        None
    };
    for group in groups {
        let (tables, group_inputs, counts) = read_files(
            s.files,
            s.names,
            group,
            s.read_opts,
            s.matcher,
            s.progress,
            lang,
            diagnostics,
        );
        inputs.extend(group_inputs);
        let spec = check::shard::ShardSpec {
            defer: &defer,
            texts: &texts,
            table_offset,
            row_offset,
        };
        let t0 = std::time::Instant::now();
        let (result, keys) =
            match check::shard::check_shard(&tables, s.schema, s.opts, &spec, &mut units) {
                Ok(r) => r,
                Err(e) => {
                    diagnostics.push(internal(&e));
                    table_offset += tables.len();
                    continue;
                }
            };
        timing("check shard", t0);
        if let Some(out) = s.keys_out {
            // Each file's rows are a run of the shard's rows: its tables, in order.
            let mut start = 0usize;
            let mut t = 0usize;
            for (&i, &n_tables) in group.iter().zip(&counts) {
                let len: usize = tables[t..t + n_tables].iter().map(read::Table::len).sum();
                t += n_tables;
                if n_tables == 0 {
                    continue;
                }
                let part = keys.frame.slice(start as i64, len);
                start += len;
                let written =
                    crate::dataset::keys::key_table(&part, &s.names[i], &out.secret, &units)
                        .map_err(std::io::Error::other)
                        .and_then(|mut kt| {
                            crate::dataset::keys::write(&out.dir, &s.names[i], &mut kt)
                        });
                if let Err(e) = written {
                    diagnostics.push(miette::miette!(
                        "{}: {}{e}",
                        out.dir.display(),
                        report::t(lang, "无法写出键表: ", "cannot write the key table: ")
                    ));
                }
            }
        }
        findings.extend(result.findings);
        skipped.extend(keys.skip_order.into_iter().zip(result.skipped_rules));
        for p in result.population {
            let e = population.entry(p.unit).or_default();
            e.0 += p.rows;
            e.1.extend(p.households);
        }
        rows += result.rows;
        households += result.households;
        for (code, t) in keys.allowed {
            allowed.entry(code).or_default().extend(t);
        }
        metas.extend(keys.tables);
        if let Some(cut) = &mut cutter {
            let t1 = std::time::Instant::now();
            // The rules' SQL reads the key columns; a finding's cell texts are read only for
            // the rows found, from the group's side file.
            if let Err(e) = cut.push_with_side(&keys.frame, crate::dataset::keys::COLUMNS) {
                diagnostics.push(internal(&e));
            }
            timing("check: key rows cut", t1);
        } else if !s.plan.rules.is_empty() {
            match &mut frame {
                None => frame = Some(keys.frame),
                Some(f) => {
                    if let Err(e) = f.vstack_mut(&keys.frame) {
                        diagnostics.push(internal(&e));
                    }
                }
            }
        }
        table_offset += tables.len();
        row_offset += result.rows as u64;
        if s.keep_tables {
            kept.extend(tables);
        }
    }
    s.progress.step(report::t(
        lang,
        "检查跨文件规则",
        "checking rules across files",
    ));
    let t0 = std::time::Instant::now();
    if let Some(frame) = &frame {
        // Not rechunked: a copy of every key row would double the run's peak for nothing.
        for (rule, kind) in &s.plan.rules {
            let Some(allowed) = allowed.get(&rule.code) else {
                continue;
            };
            let found =
                crate::dataset::local::run_lazy(frame.clone().lazy(), &kind.sql(&rule.code))
                    .and_then(|hits| crate::dataset::hits(&hits))
                    .and_then(|hits| {
                        let rows = crate::dataset::InMemory {
                            frame,
                            tables: &metas,
                            units: &units,
                        };
                        crate::dataset::findings_in_memory(
                            s.schema, rule, *kind, lang, &hits, &rows, allowed,
                        )
                    });
            match found {
                Ok(f) => findings.extend(f),
                Err(e) => diagnostics.push(internal(&e)),
            }
        }
    } else if let Some(cut) = cutter {
        // Every rule's hits first (few), then each group's finding columns once.
        let mut found: Vec<(&crate::schema::Rule, crate::dataset::Kind, &[u32], Vec<_>)> =
            Vec::new();
        match cut.finish() {
            Ok(parts) => {
                for (rule, kind) in &s.plan.rules {
                    let Some(allowed) = allowed.get(&rule.code) else {
                        continue;
                    };
                    let sql = kind.sql(&rule.code);
                    let mut hits = Vec::new();
                    for r in parts.each(kind.partition_column(), &sql) {
                        match r.and_then(|df| crate::dataset::hits(&df)) {
                            Ok(h) => hits.extend(h),
                            Err(e) => diagnostics.push(internal(&e)),
                        }
                    }
                    found.push((rule, *kind, allowed, hits));
                }
                for (range, path) in parts.sides() {
                    let here = |h: &&crate::dataset::Hit| range.contains(&h.seq);
                    if !found
                        .iter()
                        .any(|(_, _, _, hits)| hits.iter().any(|h| here(&h)))
                    {
                        continue;
                    }
                    let side = match crate::dataset::local::read_parquet(path) {
                        Ok(f) => f,
                        Err(e) => {
                            diagnostics.push(internal(&e));
                            continue;
                        }
                    };
                    let rows = crate::dataset::InMemory {
                        frame: &side,
                        tables: &metas,
                        units: &units,
                    };
                    for (rule, kind, allowed, hits) in &found {
                        let hits: Vec<_> = hits.iter().filter(here).cloned().collect();
                        match crate::dataset::findings_in_memory(
                            s.schema, rule, *kind, lang, &hits, &rows, allowed,
                        ) {
                            Ok(f) => findings.extend(f),
                            Err(e) => diagnostics.push(internal(&e)),
                        }
                    }
                }
            }
            Err(e) => diagnostics.push(internal(&e)),
        }
    }
    timing("check: dataset rules", t0);
    s.progress.inc();
    check::shard::sort(&mut findings);
    // A whole run without rows evaluates no rule and so reports no missing column.
    if rows == 0 {
        skipped.retain(|((phase, _), _)| *phase != 3);
    }
    skipped.sort_by_key(|(order, _)| *order);
    let population = population
        .into_iter()
        .map(|(unit, (rows, hh))| check::Population {
            unit,
            rows,
            households: hh.into_iter().collect(),
        })
        .collect();
    let result = check::CheckResult {
        findings,
        skipped_rules: skipped.into_iter().map(|(_, s)| s).collect(),
        population,
        rows,
        households,
    };
    (kept, inputs, result)
}

/// Write the report of `run` to `output`, else to `stdout` (a closed pipe is not an error).
fn write_report(
    run: &Run,
    format: report::Format,
    output: Option<&std::path::Path>,
    stdout: &mut dyn Write,
) -> Result<(), Usage> {
    match output {
        Some(p) => std::fs::File::create(p)
            .and_then(|f| {
                let mut w = std::io::BufWriter::new(f);
                report::write(run, format, &mut w)?;
                w.flush()
            })
            .map_err(|e| Usage::ReportWrite {
                path: Some(p.to_path_buf()),
                reason: e.to_string(),
            }),
        None => match report::write(run, format, stdout) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            r => r.map_err(|e| Usage::ReportWrite {
                path: None,
                reason: e.to_string(),
            }),
        },
    }
}

/// One run of `povcheck dataset`: the dataset rules over key tables on the chosen engine,
/// reported with the writers and JSON contract of `check`, recorded in the ledger like `check`.
pub fn run_dataset(config: crate::config::DatasetConfig, stdout: &mut dyn Write) -> RunOutcome {
    use std::collections::BTreeMap;

    use crate::dataset;

    let crate::config::DatasetConfig {
        files,
        engine,
        job_timeout,
        bucket_rows,
        schema,
        format,
        output,
        as_of,
        lang,
        select,
        ignore,
        ledger,
        quiet: _,
    } = config;
    // Only the Ballista engines wait on a cluster.
    #[cfg(not(feature = "distributed"))]
    let _ = job_timeout;
    let mut session = match open_session(ledger, lang) {
        Ok(s) => s,
        Err(outcome) => return outcome,
    };
    let sql = |q: &str| -> Result<polars::prelude::DataFrame, String> {
        match &engine {
            crate::config::Engine::Local => {
                dataset::local::run(&files, q).map_err(|e| e.to_string())
            }
            #[cfg(feature = "distributed")]
            crate::config::Engine::Standalone => dataset::distributed::run(
                &dataset::distributed::Cluster::Standalone,
                &files,
                q,
                job_timeout,
            )
            .map_err(|e| distributed_text(&e, lang)),
            #[cfg(feature = "distributed")]
            crate::config::Engine::Remote { host, port } => dataset::distributed::run(
                &dataset::distributed::Cluster::Remote {
                    host: host.clone(),
                    port: *port,
                },
                &files,
                q,
                job_timeout,
            )
            .map_err(|e| distributed_text(&e, lang)),
            // Refused by the config step in a build without the feature.
            #[cfg(not(feature = "distributed"))]
            _ => Err(crate::config::Usage::NoDistributedEngine.render(lang).0),
        }
    };
    let fail = |reason: String| RunOutcome {
        worst: None,
        diagnostics: vec![miette::miette!(
            "{}{reason}",
            report::t(
                lang,
                "数据集规则无法运行: ",
                "the dataset rules could not run: "
            )
        )],
    };
    let plan = dataset::plan(&schema, &select, &ignore);
    // More key rows than a bucket holds: cut them into buckets by each column a query groups
    // on, and run each query bucket by bucket (dataset::local).
    let t0 = std::time::Instant::now();
    let parts = match &engine {
        crate::config::Engine::Local => {
            let cut = dataset::local::count_rows(&files).and_then(|rows| {
                let buckets = dataset::local::buckets_for(rows, bucket_rows);
                if buckets < 2 {
                    return Ok(None);
                }
                // The household counts run on the 户编号 buckets too.
                let mut by = plan.partition_columns();
                if !by.contains(&"household") {
                    by.push("household");
                }
                dataset::local::Partitioned::from_files(&files, &by, buckets).map(Some)
            });
            match cut {
                Ok(p) => p,
                Err(e) => return fail(e.to_string()),
            }
        }
        _ => None,
    };
    // `q` grouped and joined on `by`: per bucket where the rows are cut.
    let sql_by = |by: &str, q: &str| -> Result<polars::prelude::DataFrame, String> {
        match &parts {
            Some(p) => p.run(by, q).map_err(|e| e.to_string()),
            None => sql(q),
        }
    };
    // Counts of households add up over buckets cut by household (a household is in one).
    let summed = |df: polars::prelude::DataFrame,
                  keys: &[&str]|
     -> Result<polars::prelude::DataFrame, String> {
        use polars::prelude::*;
        if parts.is_none() {
            return Ok(df);
        }
        let sums = [col("n_rows").sum(), col("households").sum()];
        let lf = df.lazy();
        let lf = if keys.is_empty() {
            lf.select(sums)
        } else {
            lf.group_by(keys.iter().map(|k| col(*k)).collect::<Vec<_>>())
                .agg(sums)
        };
        lf.collect().map_err(|e| e.to_string())
    };
    timing("dataset: buckets cut", t0);
    let t0 = std::time::Instant::now();
    // What was read: rows per input and sheet, rows and households per unit, and in all.
    let counts = sql(
        "SELECT input, sheet, CAST(COUNT(*) AS BIGINT) AS n_rows FROM keys GROUP BY input, sheet",
    )
    .and_then(|inputs| {
        let units = sql_by(
            "household",
            &format!(
                "SELECT unit_path, CAST(COUNT(*) AS BIGINT) AS n_rows, {} AS households \
                 FROM keys GROUP BY unit_path",
                dataset::HOUSEHOLDS
            ),
        )
        .and_then(|df| summed(df, &["unit_path"]))?;
        let total = sql_by(
            "household",
            &format!(
                "SELECT CAST(COUNT(*) AS BIGINT) AS n_rows, {} AS households FROM keys",
                dataset::HOUSEHOLDS
            ),
        )
        .and_then(|df| summed(df, &[]))?;
        Ok((inputs, units, total))
    });
    let (input_df, unit_df, total_df) = match counts {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let recording = session.is_some();
    let counted = (|| -> polars::prelude::PolarsResult<_> {
        use polars::prelude::DataType;
        let mut inputs: Vec<(String, Option<String>, usize)> = Vec::new();
        let name = input_df.column("input")?.cast(&DataType::String)?;
        let sheet = input_df.column("sheet")?.cast(&DataType::String)?;
        let n = input_df.column("n_rows")?.cast(&DataType::Int64)?;
        let (name, sheet, n) = (name.str()?, sheet.str()?, n.i64()?);
        for i in 0..input_df.height() {
            inputs.push((
                name.get(i).unwrap_or_default().to_string(),
                sheet.get(i).map(str::to_string),
                n.get(i).unwrap_or(0) as usize,
            ));
        }
        inputs.sort();
        let mut population = Vec::new();
        let path = unit_df.column("unit_path")?.cast(&DataType::String)?;
        let n = unit_df.column("n_rows")?.cast(&DataType::Int64)?;
        let hh = unit_df.column("households")?.cast(&DataType::Int64)?;
        let (path, n, hh) = (path.str()?, n.i64()?, hh.i64()?);
        for i in 0..unit_df.height() {
            population.push(check::Population {
                unit: dataset::parse_unit(path.get(i).unwrap_or_default()),
                rows: n.get(i).unwrap_or(0) as usize,
                // The report reads only their number; the ledger unites them per unit level, so
                // there each stands for itself (one unit's never meet another's: a household
                // in two units counts in both, as D102 reports it). The names stay in the key
                // tables.
                households: {
                    let n = hh.get(i).unwrap_or(0) as usize;
                    if recording {
                        (0..n).map(|k| format!("{i}:{k}")).collect()
                    } else {
                        vec![String::new(); n]
                    }
                },
            });
        }
        population.sort_by(|a, b| a.unit.cmp(&b.unit));
        let rows = total_df.column("n_rows")?.cast(&DataType::Int64)?;
        let hh = total_df.column("households")?.cast(&DataType::Int64)?;
        let total = (
            rows.i64()?.get(0).unwrap_or(0) as usize,
            hh.i64()?.get(0).unwrap_or(0) as usize,
        );
        Ok((inputs, population, total))
    })();
    let (inputs, population, (rows, households)) = match counted {
        Ok(c) => c,
        Err(e) => return fail(e.to_string()),
    };
    let order: BTreeMap<String, usize> = {
        let mut names: Vec<&String> = inputs.iter().map(|(n, _, _)| n).collect();
        names.dedup();
        names
            .into_iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect()
    };
    let mut findings = Vec::new();
    timing("dataset: counts", t0);
    let t0 = std::time::Instant::now();
    for (rule, kind) in &plan.rules {
        let found = sql_by(kind.partition_column(), &kind.sql(&rule.code)).and_then(|df| {
            let hits = dataset::hits(&df).map_err(|e| e.to_string())?;
            Ok(dataset::findings_from_keys(
                &schema, rule, *kind, lang, &hits, &order,
            ))
        });
        match found {
            Ok(f) => findings.extend(f),
            Err(e) => return fail(format!("{}: {e}", rule.code)),
        }
    }
    check::shard::sort(&mut findings);
    let skipped_rules = plan
        .unknown
        .iter()
        .map(|r| check::SkippedRule {
            file: "*".into(),
            rule: r.code.clone(),
            reason: "键表中没有这条数据集规则读取的列（只能在 check 中检查）".into(),
        })
        .collect();
    timing("dataset: rules", t0);
    let t0 = std::time::Instant::now();
    let summary = attribute::summarize(&findings, rows, households);
    let mut units = attribute::attribute(&schema, &findings, &population);
    let worst = findings.iter().map(|f| f.severity).max();
    let mut diagnostics = Vec::new();
    let period = session.as_mut().and_then(|s| {
        s.apply(
            &schema,
            &files,
            env!("CARGO_PKG_VERSION"),
            false,
            &findings,
            &population,
            &mut units,
            lang,
        )
        .unwrap_or_else(|error| {
            diagnostics.push(miette::Report::new(LedgerError { error, lang }));
            None
        })
    });
    let run = Run {
        tool_version: env!("CARGO_PKG_VERSION"),
        schema: &schema,
        as_of: as_of.to_string(),
        period,
        inputs: inputs
            .into_iter()
            .map(|(file, sheet, rows)| read::InputEntry {
                file,
                sheet,
                header_row: None,
                rows,
                skipped_rows: 0,
                status: read::InputStatus::Checked,
                reason: None,
                unmapped_columns: Vec::new(),
            })
            .collect(),
        skipped_rules,
        exclusion_lists: Vec::new(),
        summary,
        units,
        findings,
        lang,
    };
    timing("dataset: attribute", t0);
    let t0 = std::time::Instant::now();
    if let Err(e) = write_report(&run, format, output.as_deref(), stdout) {
        diagnostics.push(miette::Report::new(e.in_lang(lang)));
    }
    timing("dataset: report", t0);
    RunOutcome { worst, diagnostics }
}

/// A Ballista failure in the run's language, with its hint.
#[cfg(feature = "distributed")]
fn distributed_text(
    e: &crate::dataset::distributed::DistributedError,
    lang: crate::finding::Lang,
) -> String {
    let (text, help) = match lang {
        crate::finding::Lang::Zh => (
            e.to_string(),
            miette::Diagnostic::help(e).map(|h| h.to_string()),
        ),
        crate::finding::Lang::En => (e.message_en(), e.help_en().map(str::to_string)),
    };
    match help {
        Some(h) => format!("{text} ({h})"),
        None => text,
    }
}

/// The ledger session of a run, or the outcome that ends the run when the ledger is refused.
fn open_session(
    ledger: Option<crate::config::LedgerPlan>,
    lang: crate::finding::Lang,
) -> Result<Option<crate::ledger::Session>, RunOutcome> {
    let Some(plan) = ledger else {
        return Ok(None);
    };
    crate::ledger::Session::open(&plan.path, plan.period)
        .map(Some)
        .map_err(|error| RunOutcome {
            worst: None,
            diagnostics: vec![miette::Report::new(LedgerError { error, lang })],
        })
}
