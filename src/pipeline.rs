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
    } = config;
    // The ledger is opened before any input is read, so a foreign or mismatched ledger is
    // refused before the long part of the run.
    let mut session = match ledger {
        Some(plan) => match crate::ledger::Session::open(&plan.path, plan.period) {
            Ok(s) => Some(s),
            Err(error) => {
                return RunOutcome {
                    worst: None,
                    diagnostics: vec![miette::Report::new(LedgerError { error, lang })],
                };
            }
        },
        None => None,
    };
    let matcher = HeaderMatcher::from_schema(&schema);
    let mut diagnostics = Vec::new();
    let mut tables = Vec::new();
    let mut inputs = Vec::new();
    let nfiles = files.len() as u64;
    let steps =
        nfiles + 1 + if annotate.is_some() { nfiles } else { 0 } + u64::from(split_by.is_some());
    let progress = crate::progress::Progress::new(steps, quiet);
    // Files are read in parallel (a township's submissions are many files), and kept in the
    // order given so findings and rows come out the same whatever the scheduling.
    let reads: Vec<read::FileRead> = {
        use rayon::prelude::*;
        files
            .par_iter()
            .zip(&names)
            .map(|(path, display)| {
                let display = display.clone();
                progress.step(&display);
                let t0 = std::time::Instant::now();
                let opts = ReadOptions {
                    progress: Some(progress.rows(&display, lang)),
                    ..read_opts.clone()
                };
                let fr = read::read_file(path, &display, &opts, &matcher);
                timing(&format!("read {display}"), t0);
                progress.inc();
                fr
            })
            .collect()
    };
    for fr in reads {
        tables.extend(fr.tables);
        inputs.extend(fr.inputs);
        diagnostics.extend(fr.errors.into_iter().map(|e| e.report(lang)));
    }
    progress.step(report::t(lang, "检查规则", "checking rules"));
    let (select_given, ignore_given) = (select.clone(), ignore.clone());
    let opts = CheckOptions {
        as_of,
        lang,
        select,
        ignore,
        exclusions,
    };
    let t0 = std::time::Instant::now();
    let result = check::check(&tables, &schema, &opts);
    timing("check", t0);
    progress.inc();
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
    RunOutcome { worst, diagnostics }
}
