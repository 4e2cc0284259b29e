//! Command-line arguments (clap) → a validated configuration → a run of the pipeline.
//!
//! Everything that can be wrong with the arguments or the schema is found here, before any input
//! file is opened. Errors are returned as miette reports; only `main.rs` prints them.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};

use crate::attribute;
use crate::check::{self, CheckOptions};
use crate::finding::{Lang, Severity};
use crate::read::{self, HeaderMatcher, ReadOptions};
use crate::report::{self, Format, Run};
use crate::schema::{self, Schema};

#[derive(Debug, Parser)]
#[command(
    name = "povcheck",
    version,
    about = "检查建档立卡数据导出表：缺项漏项、数据不正确、逻辑关系错误，按责任单位统计"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    Zh,
    En,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EncodingArg {
    Auto,
    Utf8,
    Gbk,
    Gb18030,
    Utf16le,
    Utf16be,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// 检查导出表（xlsx、xlsm、xlsb、xls、ods、csv） / check export files
    Check(CheckArgs),
    /// 列出全部规则 / list the rule catalogue
    Rules(RulesArgs),
    /// 显示一条规则的说明 / print one rule's documentation
    Rule(RuleArgs),
    /// 按单位显示历次报送的出错记录、连续次数、问责等级 / the repeat-offence ledger per unit
    History(HistoryArgs),
    /// 生成虚构人员的模拟导出表（含注入错误和清单） / write a synthetic export with injected errors
    Sample(SampleArgs),
}

#[derive(Debug, clap::Args)]
pub struct SampleArgs {
    /// 人员行数 / person rows
    #[arg(long, default_value_t = 300)]
    pub rows: u32,
    /// 注入一个错误的户的比例（0–1） / fraction of households with one injected error
    #[arg(long, default_value_t = 0.05)]
    pub error_rate: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// 户字段只写在户主行（xlsx 合并单元格，csv 成员行留空） / household fields once, on the 户主 row
    #[arg(long)]
    pub merged: bool,
    /// 年龄计算基准日和导出时间（YYYY-MM-DD） / reference date
    #[arg(long, default_value = "2017-12-31")]
    pub as_of: String,
    /// 输出文件 .csv 或 .xlsx，错误清单写在旁边 <名>.expected.csv / output file
    #[arg(long, short)]
    pub output: PathBuf,
}

pub use crate::ledger::history::HistoryArgs;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// 要检查的文件；一次检查的所有文件视为同一数据集 / files to check (one dataset)
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// 规则方案 TOML（默认：内置方案） / schema TOML (default: embedded)
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// 报告格式 / report format
    #[arg(long, value_enum, default_value = "terminal")]
    pub format: Format,
    /// 报告写入此文件 / write the report here
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// 年龄计算基准日 YYYY-MM-DD（默认：方案的 as_of） / reference date for ages
    #[arg(long)]
    pub as_of: Option<String>,
    /// 有此级别及以上的问题时退出码为 1 / exit 1 at or above this severity
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,
    /// 输出语言 / output language
    #[arg(long, value_enum, default_value = "zh")]
    pub lang: LangArg,
    /// CSV 编码（默认自动识别） / CSV encoding (default: detected)
    #[arg(long, value_enum, default_value = "auto")]
    pub encoding: EncodingArg,
    /// 只检查这些规则（代码或前缀，逗号分隔，如 V1,L302） / only these rules (codes or prefixes)
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// 不检查这些规则（代码或前缀） / skip these rules
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// 比对名单 CSV（证件号码,原因,来源部门），可多次给出（X101） / exclusion list CSV (X101), repeatable
    #[arg(long)]
    pub exclude_list: Vec<PathBuf>,
    /// 在所有输出中遮盖证件号码、电话、银行卡号和姓名 / mask personal data in every output
    #[arg(long)]
    pub mask: bool,
    /// 把本次结果记入台账的期次 PERIOD（YYYY、YYYY-MM、YYYY-Qn 或 YYYY-MM-DD） / record this round
    #[arg(long, value_name = "PERIOD")]
    pub record: Option<String>,
    /// 台账文件（默认 $POVCHECK_LEDGER，否则 ./povcheck-ledger.sqlite） / ledger file
    #[arg(long, value_name = "PATH")]
    pub ledger: Option<PathBuf>,
    /// 在 DIR 中为每个输入写一份标注副本 <名>.annotated.xlsx：问题单元格着色并加批注 /
    /// write an annotated xlsx copy of each input into DIR
    #[arg(long, value_name = "DIR")]
    pub annotate: Option<PathBuf>,
    /// 压缩包（xlsx/ods）声明的解压总大小上限，MB（防 zip 炸弹） / limit on declared inflated size, MB
    #[arg(long, value_name = "MB", default_value_t = 8192)]
    pub max_inflated_mb: u64,
    /// 每个工作表的单元格数上限 / limit on cells per sheet
    #[arg(long, value_name = "N", default_value_t = 100_000_000)]
    pub max_cells: u64,
    /// 不显示进度条和提示信息 / no progress bar or chatter
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Terminal,
    Json,
    Md,
}

#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// 列表格式 / listing format
    #[arg(long, value_enum, default_value = "terminal")]
    pub format: RulesFormat,
    /// 输出语言 / output language
    #[arg(long, value_enum, default_value = "zh")]
    pub lang: LangArg,
}

#[derive(Debug, clap::Args)]
pub struct RuleArgs {
    pub code: String,
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// 输出语言 / output language
    #[arg(long, value_enum, default_value = "zh")]
    pub lang: LangArg,
}

/// Why the run ended (ruff-style): 0 clean, 1 findings at or above `--fail-on`, 2 usage, schema
/// or an unreadable input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Clean,
    Findings,
    Error,
}

impl ExitStatus {
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Clean => 0,
            ExitStatus::Findings => 1,
            ExitStatus::Error => 2,
        }
    }
}

/// The result of a command: its status and the diagnostics for the edge to print.
pub struct Outcome {
    pub status: ExitStatus,
    pub diagnostics: Vec<miette::Report>,
}

impl Outcome {
    fn fail(report: miette::Report) -> Self {
        Outcome {
            status: ExitStatus::Error,
            diagnostics: vec![report],
        }
    }
}

fn load_schema(path: Option<&Path>) -> Result<Schema, miette::Report> {
    match path {
        Some(p) => schema::load_path(p).map_err(miette::Report::new),
        None => Ok(schema::default_schema()),
    }
}

fn lang(l: LangArg) -> Lang {
    match l {
        LangArg::Zh => Lang::Zh,
        LangArg::En => Lang::En,
    }
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Run one parsed command line, writing reports to `stdout`.
pub fn run(cli: Cli, stdout: &mut dyn Write) -> Outcome {
    match cli.command {
        Command::Check(args) => run_check(args, stdout),
        Command::Rules(args) => run_rules(args, stdout),
        Command::Rule(args) => run_rule(args, stdout),
        Command::History(args) => match crate::ledger::history::run(&args, stdout) {
            Ok(()) => Outcome {
                status: ExitStatus::Clean,
                diagnostics: Vec::new(),
            },
            Err(e) => Outcome::fail(e),
        },
        Command::Sample(args) => run_sample(args, stdout),
    }
}

fn run_sample(args: SampleArgs, stdout: &mut dyn Write) -> Outcome {
    let Some(as_of) = parse_date(&args.as_of) else {
        return Outcome::fail(miette::miette!(
            "--as-of: 日期 {} 无法识别，应为 YYYY-MM-DD",
            args.as_of
        ));
    };
    let opts = crate::sample::SampleOptions {
        rows: args.rows,
        error_rate: args.error_rate,
        seed: args.seed,
        merged: args.merged,
        as_of,
    };
    match crate::sample::write_sample(&opts, &args.output) {
        Ok((manifest, mpath)) => {
            let _ = writeln!(
                stdout,
                "{}: {} 行，注入错误 {} 处，清单 {}",
                args.output.display(),
                args.rows,
                manifest.rows.len(),
                mpath.display()
            );
            Outcome {
                status: ExitStatus::Clean,
                diagnostics: Vec::new(),
            }
        }
        Err(e) => Outcome::fail(miette::miette!("{}: {e}", args.output.display())),
    }
}

/// Every `--select`/`--ignore` entry must name a rule or a prefix of one: a mistyped code would
/// otherwise select nothing and the run would look clean.
fn validate_rule_codes(
    schema: &Schema,
    select: &[String],
    ignore: &[String],
) -> Result<(), miette::Report> {
    for (flag, list) in [("--select", select), ("--ignore", ignore)] {
        for code in list {
            let p = code.trim().to_uppercase();
            if p.is_empty() || !schema.rules.iter().any(|r| r.code.starts_with(&p)) {
                return Err(miette::miette!(
                    help = "povcheck rules 列出全部规则代码",
                    "{flag} {code}: 没有这个规则代码"
                ));
            }
        }
    }
    Ok(())
}

/// Whether two paths name the same file (also through links or `./`).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn run_check(args: CheckArgs, stdout: &mut dyn Write) -> Outcome {
    // The ledger and the period are validated before any input is read.
    let mut session =
        match crate::ledger::Session::start(args.record.as_deref(), args.ledger.as_deref()) {
            Ok(s) => s,
            Err(e) => return Outcome::fail(miette::Report::new(e)),
        };
    let schema = match load_schema(args.schema.as_deref()) {
        Ok(s) => s,
        Err(e) => return Outcome::fail(e),
    };
    if let Err(e) = validate_rule_codes(&schema, &args.select, &args.ignore) {
        return Outcome::fail(e);
    }
    if let Some(out) = &args.output
        && let Some(input) = args.files.iter().find(|f| same_file(f, out))
    {
        return Outcome::fail(miette::miette!(
            help = "换一个报告文件名，例如 --output report.json",
            "--output {} 就是输入文件 {}，写报告会覆盖原始数据",
            out.display(),
            input.display()
        ));
    }
    let as_of = match args.as_of.as_deref().or(schema.as_of.as_deref()) {
        Some(s) => match parse_date(s) {
            Some(d) => d,
            None => {
                return Outcome::fail(miette::miette!(
                    "--as-of: 日期 {s} 无法识别，应为 YYYY-MM-DD"
                ));
            }
        },
        None => chrono::Local::now().date_naive(),
    };
    let read_opts = ReadOptions {
        encoding: match args.encoding {
            EncodingArg::Auto => read::Encoding::Auto,
            EncodingArg::Utf8 => read::Encoding::Utf8,
            EncodingArg::Gbk | EncodingArg::Gb18030 => read::Encoding::Gbk,
            EncodingArg::Utf16le => read::Encoding::Utf16Le,
            EncodingArg::Utf16be => read::Encoding::Utf16Be,
        },
        max_inflated_bytes: args.max_inflated_mb.saturating_mul(1 << 20),
        max_cells: args.max_cells,
        progress: None,
    };
    if matches!(args.format, Format::Xlsx) && args.output.is_none() {
        return Outcome::fail(miette::miette!(
            help = "例如: povcheck check FILE --format xlsx --output report.xlsx",
            "--format xlsx 需要 --output 指定报告文件"
        ));
    }
    let mut exclusions = Vec::new();
    for list in &args.exclude_list {
        match read::lists::read_exclusion_list(list) {
            Ok(mut l) => exclusions.append(&mut l),
            Err(e) => return Outcome::fail(e.report(lang(args.lang))),
        }
    }
    let matcher = HeaderMatcher::from_schema(&schema);
    let mut diagnostics = Vec::new();
    let mut tables = Vec::new();
    let mut inputs = Vec::new();
    let files = args.files.len() as u64;
    let steps = files + 1 + if args.annotate.is_some() { files } else { 0 };
    let progress = crate::progress::Progress::new(steps, args.quiet);
    // Files are read in parallel (a township's submissions are many files), and kept in the
    // order given so findings and rows come out the same whatever the scheduling.
    let reads: Vec<read::FileRead> = {
        use rayon::prelude::*;
        args.files
            .par_iter()
            .map(|path| {
                let display = path.display().to_string();
                progress.step(&display);
                let t0 = std::time::Instant::now();
                let opts = ReadOptions {
                    progress: Some(progress.rows(&display, lang(args.lang))),
                    ..read_opts.clone()
                };
                let fr = read::read_file(path, &display, &opts, &matcher);
                crate::progress::timing(&format!("read {display}"), t0);
                progress.inc();
                fr
            })
            .collect()
    };
    for fr in reads {
        tables.extend(fr.tables);
        inputs.extend(fr.inputs);
        diagnostics.extend(fr.errors.into_iter().map(|e| e.report(lang(args.lang))));
    }
    progress.step(report::t(lang(args.lang), "检查规则", "checking rules"));
    let opts = CheckOptions {
        as_of,
        lang: lang(args.lang),
        select: args.select,
        ignore: args.ignore,
        exclusions,
    };
    let t0 = std::time::Instant::now();
    let result = check::check(&tables, &schema, &opts);
    crate::progress::timing("check", t0);
    progress.inc();
    let t0 = std::time::Instant::now();
    let summary = attribute::summarize(&result.findings, result.rows, result.households);
    let mut units = attribute::attribute(&schema, &result.findings, &result.population);
    crate::progress::timing("attribute", t0);
    let worst = result.findings.iter().map(|f| f.severity).max();
    let (failed, version) = (!diagnostics.is_empty(), env!("CARGO_PKG_VERSION"));
    let period = session.as_mut().and_then(|s| {
        s.apply(
            &schema,
            &args.files,
            version,
            failed,
            &result.findings,
            &result.population,
            &mut units,
            opts.lang,
        )
        .unwrap_or_else(|e| {
            diagnostics.push(miette::Report::new(e));
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
        summary,
        units,
        findings: result.findings,
        lang: opts.lang,
    };
    if args.mask {
        report::mask::mask_run(&mut run);
    }
    if let Some(dir) = &args.annotate {
        let displays: Vec<String> = args.files.iter().map(|p| p.display().to_string()).collect();
        let sources: Vec<report::annotated::Source> = args
            .files
            .iter()
            .zip(&displays)
            .map(|(path, display)| report::annotated::Source { path, display })
            .collect();
        let aopts = report::annotated::AnnotateOptions {
            lang: run.lang,
            mask: args.mask,
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
        if !args.quiet {
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
    progress.finish();
    let t0 = std::time::Instant::now();
    let written = match &args.output {
        Some(p) => std::fs::File::create(p)
            .and_then(|f| {
                let mut w = std::io::BufWriter::new(f);
                report::write(&run, args.format, &mut w)?;
                w.flush()
            })
            .map_err(|e| miette::miette!("{}: 无法写入报告: {e}", p.display())),
        None => match report::write(&run, args.format, stdout) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            r => r.map_err(|e| miette::miette!("无法写入报告: {e}")),
        },
    };
    crate::progress::timing("report", t0);
    if let Err(e) = written {
        diagnostics.push(e);
    }
    let failing = match (args.fail_on, worst) {
        (FailOn::Never, _) | (_, None) => false,
        (FailOn::Warning, Some(_)) => true,
        (FailOn::Error, Some(s)) => s == Severity::Error,
    };
    let status = if !diagnostics.is_empty() {
        ExitStatus::Error
    } else if failing {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    };
    Outcome {
        status,
        diagnostics,
    }
}

fn clean() -> Outcome {
    Outcome {
        status: ExitStatus::Clean,
        diagnostics: Vec::new(),
    }
}

fn write_failed(e: &std::io::Error) -> Outcome {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        clean()
    } else {
        Outcome::fail(miette::miette!("无法写出: {e}"))
    }
}

fn run_rules(args: RulesArgs, stdout: &mut dyn Write) -> Outcome {
    let schema = match load_schema(args.schema.as_deref()) {
        Ok(s) => s,
        Err(e) => return Outcome::fail(e),
    };
    let format = match args.format {
        RulesFormat::Terminal => crate::schema::catalogue::Format::Terminal,
        RulesFormat::Json => crate::schema::catalogue::Format::Json,
        RulesFormat::Md => crate::schema::catalogue::Format::Md,
    };
    match crate::schema::catalogue::write_rules(&schema, format, lang(args.lang), stdout) {
        Ok(()) => clean(),
        Err(e) => write_failed(&e),
    }
}

fn run_rule(args: RuleArgs, stdout: &mut dyn Write) -> Outcome {
    let schema = match load_schema(args.schema.as_deref()) {
        Ok(s) => s,
        Err(e) => return Outcome::fail(e),
    };
    let code = args.code.trim().to_uppercase();
    match schema.rule(&code) {
        Some(r) => match crate::schema::catalogue::write_rule(r, lang(args.lang), stdout) {
            Ok(()) => clean(),
            Err(e) => write_failed(&e),
        },
        None => {
            let known: Vec<&str> = schema.rules.iter().map(|r| r.code.as_str()).collect();
            let near = known
                .iter()
                .filter(|k| strsim::levenshtein(k, &code) <= 1)
                .copied()
                .collect::<Vec<_>>();
            let help = if near.is_empty() {
                "povcheck rules 列出全部规则".to_string()
            } else {
                format!("是否要找: {}", near.join(", "))
            };
            Outcome::fail(miette::miette!(help = help, "没有规则 {}", args.code))
        }
    }
}
