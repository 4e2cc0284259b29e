//! Command-line arguments (clap) → a validated configuration ([`crate::config`]) → a run of the
//! pipeline ([`crate::pipeline`]) → an exit status and diagnostics.
//!
//! Everything that can be wrong with the arguments or the schema is found by the config step,
//! before any file is created or opened. Errors are returned as miette reports in the run's
//! language; only `main.rs` prints them.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{self, CheckRequest, Usage};
use crate::finding::{Lang, Severity};
use crate::read::{self, ReadOptions};
use crate::report::Format;

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
    /// 核验回执：这些文件正是检查通过的那些文件时退出码为 0 / verify a check receipt
    VerifyReceipt(VerifyReceiptArgs),
    /// 只改正有唯一正确答案的问题，写出改正副本和修改记录 / write corrected copies (safe fixes only)
    Fix(FixArgs),
    /// 打开本机核查台：在浏览器中拖入导出表查看问题 / the clerk's desk: a local web page
    Serve(crate::serve::ServeArgs),
    /// 在各分片的键表上运行跨文件规则（一人多户、一户两地、一号多户） / the cross-shard rules over key tables
    Dataset(DatasetArgs),
}

#[derive(Debug, clap::Args)]
pub struct DatasetArgs {
    /// 键表目录（读其中全部 *.parquet，按文件名排序）或键表文件 / folders of key tables (*.parquet) or key tables
    #[arg(required = true, value_name = "DIR")]
    pub inputs: Vec<PathBuf>,
    /// 运行引擎：local（本机 polars）、standalone（本进程内的 Ballista）、df://HOST:PORT（Ballista 集群） /
    /// engine: local (polars), standalone (Ballista in-process) or df://HOST:PORT (a Ballista scheduler)
    #[arg(long, default_value = "local", value_name = "ENGINE")]
    pub engine: String,
    /// Ballista 引擎最多等待作业多少秒，超时即报错退出 / seconds to wait for a Ballista job before giving up
    #[arg(long, default_value_t = 3600, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub job_timeout: u64,
    /// local 引擎每批比对的键行数；键行更多时分批比对（见 docs/scale.md） / rows per bucket of the local engine; more key rows are cut into buckets (docs/scale.md)
    #[arg(long, default_value_t = crate::dataset::local::BUCKET_ROWS as u64, value_name = "ROWS", value_parser = clap::value_parser!(u64).range(1..))]
    pub bucket_rows: u64,
    /// 规则方案 TOML（默认：内置方案） / schema TOML (default: embedded)
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// 报告格式 / report format
    #[arg(long, value_enum, default_value_t = Format::Terminal)]
    pub format: Format,
    /// 报告写入此文件 / write the report here
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// 参考日期 YYYY-MM-DD（默认：方案的 as_of） / reference date
    #[arg(long)]
    pub as_of: Option<String>,
    /// 有此级别及以上的问题时退出码为 1 / exit 1 at or above this severity
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// 输出语言 / output language
    #[arg(long, value_enum, default_value_t = LangArg::Zh)]
    pub lang: LangArg,
    /// 只检查这些规则（代码或前缀） / only these rules (codes or prefixes)
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// 不检查这些规则（代码或前缀） / skip these rules
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// 把本次结果记入台账的期次 PERIOD / record this round in the ledger
    #[arg(long, value_name = "PERIOD")]
    pub record: Option<String>,
    /// 台账文件（默认 $POVCHECK_LEDGER，否则 ./povcheck-ledger.sqlite） / ledger file
    #[arg(long, value_name = "PATH")]
    pub ledger: Option<PathBuf>,
    /// 不显示提示信息 / no chatter
    #[arg(long, short)]
    pub quiet: bool,
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

/// `povcheck history` arguments.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// 台账文件（默认 $POVCHECK_LEDGER，否则 ./povcheck-ledger.sqlite） / ledger file
    #[arg(long, value_name = "PATH")]
    pub ledger: Option<std::path::PathBuf>,
    /// 只显示此名称的单位（如村名，不带镇名） / only units with this name
    #[arg(long)]
    pub unit: Option<String>,
    /// 只显示此层级（乡镇、行政村、帮扶单位） / only this level
    #[arg(long)]
    pub level: Option<String>,
    #[arg(long, value_enum, default_value = "terminal")]
    pub format: crate::report::history::HistoryFormat,
    /// 写入此文件 / write here
    #[arg(long, short)]
    pub output: Option<std::path::PathBuf>,
    /// 规则方案（其 [policy.ladder] 给出阈值和问责措施；默认内置） / schema for the ladder
    #[arg(long)]
    pub schema: Option<std::path::PathBuf>,
    /// 输出语言 / output language
    #[arg(long, default_value = "zh", value_parser = ["zh", "en"])]
    pub lang: String,
    /// 从台账删除误记的一期（需要 --yes） / remove a mistaken round
    #[arg(long, value_name = "PERIOD")]
    pub forget: Option<String>,
    /// 确认 --forget / confirm --forget
    #[arg(long)]
    pub yes: bool,
}

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
    /// 比对名单（CSV 或工作簿，按表头找证件号码、原因、来源部门列），可多次给出（X101） / exclusion list (CSV or workbook; columns found by header), repeatable
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
    /// 写出本次检查的回执 FILE（各输入的 SHA-256、方案、结果），供 verify-receipt 核验 /
    /// write a receipt of this run for verify-receipt
    #[arg(long, value_name = "FILE")]
    pub receipt: Option<PathBuf>,
    /// 按单位分包：在 DIR 中为每个乡镇/行政村/帮扶单位写只含本单位行的标注副本和报告 /
    /// per-unit packets: each unit's annotated copy and report in DIR
    #[arg(long, num_args = 2, value_names = ["LEVEL", "DIR"])]
    pub split_by: Option<Vec<String>>,
    /// 为每个输入在 DIR 中写一份键表（Parquet；证件号码和电话只存密钥散列），供 povcheck dataset 跨分片比对 /
    /// write a key table per input into DIR (Parquet; ID and phone numbers only as keyed hashes) for povcheck dataset
    #[arg(long, value_name = "DIR")]
    pub keys_out: Option<PathBuf>,
    /// 键表散列的密钥文件（至少 16 字节；或用环境变量 POVCHECK_KEY） / secret for the key tables' hashes (16+ bytes; or POVCHECK_KEY)
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// 多个文件时，跨文件规则分几批比对（默认：每两个文件一批，内存不超过最大文件所需） /
    /// buckets of the cross-file pass over many files (default: one per two files)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub buckets: Option<u64>,
}

#[derive(Debug, clap::Args)]
pub struct FixArgs {
    /// 要改正的文件 / files to fix
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// 改正副本写入此目录（与原文件同名；xls、ods 写为 .xlsx） / write the corrected copies here
    #[arg(
        long = "output-dir",
        short = 'o',
        value_name = "DIR",
        required_unless_present = "dry_run"
    )]
    pub output_dir: Option<PathBuf>,
    /// 只显示修改记录，不写任何文件 / show the change log only, write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// 修改记录格式 / change log format
    #[arg(long, value_enum, default_value = "terminal")]
    pub format: crate::fix::LogFormat,
    /// 修改记录写入此文件（默认标准输出） / write the change log here (default: stdout)
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// 规则方案 TOML（默认：内置方案） / schema TOML (default: embedded)
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// 基准日 YYYY-MM-DD（默认：方案的 as_of） / reference date
    #[arg(long)]
    pub as_of: Option<String>,
    /// CSV 编码（默认自动识别） / CSV encoding (default: detected)
    #[arg(long, value_enum, default_value = "auto")]
    pub encoding: EncodingArg,
    /// 在修改记录中遮盖证件号码、电话、银行卡号和姓名 / mask personal data in the change log
    #[arg(long)]
    pub mask: bool,
    /// 输出语言 / output language
    #[arg(long, value_enum, default_value = "zh")]
    pub lang: LangArg,
}

#[derive(Debug, clap::Args)]
pub struct VerifyReceiptArgs {
    /// check --receipt 写出的回执 / the receipt written by check --receipt
    pub receipt: PathBuf,
    /// 要核验的文件（须与检查时的文件完全相同） / the files to verify
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// 输出语言 / output language
    #[arg(long, value_enum, default_value = "zh")]
    pub lang: LangArg,
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

fn encoding(e: EncodingArg) -> read::Encoding {
    match e {
        EncodingArg::Auto => read::Encoding::Auto,
        EncodingArg::Utf8 => read::Encoding::Utf8,
        EncodingArg::Gbk | EncodingArg::Gb18030 => read::Encoding::Gbk,
        EncodingArg::Utf16le => read::Encoding::Utf16Le,
        EncodingArg::Utf16be => read::Encoding::Utf16Be,
    }
}

fn lang(l: LangArg) -> Lang {
    match l {
        LangArg::Zh => Lang::Zh,
        LangArg::En => Lang::En,
    }
}

/// Run one parsed command line, writing reports to `stdout`.
pub fn run(cli: Cli, stdout: &mut dyn Write) -> Outcome {
    match cli.command {
        Command::Check(args) => run_check(args, stdout),
        Command::Dataset(args) => run_dataset(args, stdout),
        Command::Rules(args) => run_rules(args, stdout),
        Command::Rule(args) => run_rule(args, stdout),
        Command::History(args) => match run_history(&args, stdout) {
            Ok(()) => Outcome {
                status: ExitStatus::Clean,
                diagnostics: Vec::new(),
            },
            Err(e) => Outcome::fail(e),
        },
        Command::Sample(args) => run_sample(args, stdout),
        Command::VerifyReceipt(args) => run_verify_receipt(args, stdout),
        Command::Fix(args) => {
            let opts = crate::fix::FixOptions {
                files: args.files,
                output_dir: args.output_dir,
                dry_run: args.dry_run,
                format: args.format,
                log: args.log,
                schema: args.schema,
                as_of: args.as_of,
                encoding: encoding(args.encoding),
                mask: args.mask,
                lang: lang(args.lang),
            };
            let (code, diagnostics) = crate::fix::run(&opts, stdout);
            Outcome {
                status: match code {
                    0 => ExitStatus::Clean,
                    1 => ExitStatus::Findings,
                    _ => ExitStatus::Error,
                },
                diagnostics,
            }
        }
        Command::Serve(args) => match crate::serve::run(args, stdout) {
            Ok(()) => clean(),
            Err(e) => Outcome::fail(miette::Report::new(e)),
        },
    }
}

fn run_sample(args: SampleArgs, stdout: &mut dyn Write) -> Outcome {
    // `sample` has no --lang: its messages are Chinese, as its output is.
    let as_of = match config::parse_date("--as-of", &args.as_of, Lang::Zh) {
        Ok(d) => d,
        Err(e) => return Outcome::fail(miette::Report::new(e)),
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
        Err(e) => Outcome::fail(miette::Report::new(
            Usage::SampleWrite {
                path: args.output.clone(),
                reason: e.to_string(),
            }
            .in_lang(Lang::Zh),
        )),
    }
}

fn run_verify_receipt(args: VerifyReceiptArgs, stdout: &mut dyn Write) -> Outcome {
    use crate::report::receipt;
    let lang = lang(args.lang);
    match receipt::verify(&args.receipt, &args.files, lang) {
        Ok(v) => {
            let r = &v.receipt;
            let _ = writeln!(
                stdout,
                "{}",
                match lang {
                    Lang::Zh => format!(
                        "检查通过：{} 个文件与回执一致（{} {}，基准日 {}，检查于 {}，{} 行，警告 {}）",
                        r.inputs.len(),
                        r.schema.name,
                        r.schema.version,
                        r.as_of,
                        r.checked_at,
                        r.counts.rows,
                        r.counts.warnings
                    ),
                    Lang::En => format!(
                        "passed: {} file(s) match the receipt ({} {}, as of {}, checked {}, {} rows, {} warnings)",
                        r.inputs.len(),
                        r.schema.name,
                        r.schema.version,
                        r.as_of,
                        r.checked_at,
                        r.counts.rows,
                        r.counts.warnings
                    ),
                }
            );
            clean()
        }
        Err(e) => Outcome {
            status: if e.is_unreadable() {
                ExitStatus::Error
            } else {
                ExitStatus::Findings
            },
            diagnostics: vec![miette::Report::new(e)],
        },
    }
}

fn run_check(args: CheckArgs, stdout: &mut dyn Write) -> Outcome {
    let fail_on = args.fail_on;
    let args_lang = args.lang;
    let request = CheckRequest {
        files: args.files,
        schema: args.schema,
        format: args.format,
        output: args.output,
        as_of: args.as_of,
        lang: lang(args.lang),
        read: ReadOptions {
            encoding: encoding(args.encoding),
            max_inflated_bytes: args.max_inflated_mb.saturating_mul(1 << 20),
            max_cells: args.max_cells,
            progress: None,
        },
        select: args.select,
        ignore: args.ignore,
        exclude_list: args.exclude_list,
        mask: args.mask,
        record: args.record,
        ledger: args.ledger,
        annotate: args.annotate,
        receipt: args.receipt,
        quiet: args.quiet,
        split_by: args
            .split_by
            .and_then(|v| Some((v.first()?.clone(), PathBuf::from(v.get(1)?)))),
        keys_out: args.keys_out,
        key_file: args.key_file,
        buckets: args.buckets.map(|n| n as usize),
    };
    let config = match config::check(request) {
        Ok(c) => c,
        // A list that cannot be read is reported in the run's language, as inputs are.
        Err(config::ConfigError::Read(e)) => return Outcome::fail(e.report(lang(args_lang))),
        Err(e) => return Outcome::fail(miette::Report::new(e)),
    };
    let outcome = crate::pipeline::run(config, stdout);
    let failing = match (fail_on, outcome.worst) {
        (FailOn::Never, _) | (_, None) => false,
        (FailOn::Warning, Some(_)) => true,
        (FailOn::Error, Some(s)) => s == Severity::Error,
    };
    let status = if !outcome.diagnostics.is_empty() {
        ExitStatus::Error
    } else if failing {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    };
    Outcome {
        status,
        diagnostics: outcome.diagnostics,
    }
}

fn run_dataset(args: DatasetArgs, stdout: &mut dyn Write) -> Outcome {
    let fail_on = args.fail_on;
    let request = config::DatasetRequest {
        inputs: args.inputs,
        engine: args.engine,
        job_timeout: std::time::Duration::from_secs(args.job_timeout),
        bucket_rows: args.bucket_rows as usize,
        schema: args.schema,
        format: args.format,
        output: args.output,
        as_of: args.as_of,
        lang: lang(args.lang),
        select: args.select,
        ignore: args.ignore,
        record: args.record,
        ledger: args.ledger,
        quiet: args.quiet,
    };
    let config = match config::dataset(request) {
        Ok(c) => c,
        Err(e) => return Outcome::fail(miette::Report::new(e)),
    };
    let outcome = crate::pipeline::run_dataset(config, stdout);
    let failing = match (fail_on, outcome.worst) {
        (FailOn::Never, _) | (_, None) => false,
        (FailOn::Warning, Some(_)) => true,
        (FailOn::Error, Some(s)) => s == Severity::Error,
    };
    let status = if !outcome.diagnostics.is_empty() {
        ExitStatus::Error
    } else if failing {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    };
    Outcome {
        status,
        diagnostics: outcome.diagnostics,
    }
}

fn clean() -> Outcome {
    Outcome {
        status: ExitStatus::Clean,
        diagnostics: Vec::new(),
    }
}

fn write_failed(e: &std::io::Error, lang: Lang) -> Outcome {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        clean()
    } else {
        Outcome::fail(miette::Report::new(
            Usage::WriteFailed {
                reason: e.to_string(),
            }
            .in_lang(lang),
        ))
    }
}

fn load_schema(path: Option<&std::path::Path>) -> Result<crate::schema::Schema, miette::Report> {
    config::load_schema(path).map_err(miette::Report::new)
}

fn run_rules(args: RulesArgs, stdout: &mut dyn Write) -> Outcome {
    let schema = match load_schema(args.schema.as_deref()) {
        Ok(s) => s,
        Err(e) => return Outcome::fail(e),
    };
    let format = match args.format {
        RulesFormat::Terminal => crate::report::catalogue::Format::Terminal,
        RulesFormat::Json => crate::report::catalogue::Format::Json,
        RulesFormat::Md => crate::report::catalogue::Format::Md,
    };
    match crate::report::catalogue::write_rules(&schema, format, lang(args.lang), stdout) {
        Ok(()) => clean(),
        Err(e) => write_failed(&e, lang(args.lang)),
    }
}

fn run_rule(args: RuleArgs, stdout: &mut dyn Write) -> Outcome {
    let schema = match load_schema(args.schema.as_deref()) {
        Ok(s) => s,
        Err(e) => return Outcome::fail(e),
    };
    let code = args.code.trim().to_uppercase();
    match schema.rule(&code) {
        Some(r) => match crate::report::catalogue::write_rule(r, lang(args.lang), stdout) {
            Ok(()) => clean(),
            Err(e) => write_failed(&e, lang(args.lang)),
        },
        None => {
            let known: Vec<&str> = schema.rules.iter().map(|r| r.code.as_str()).collect();
            let near = known
                .iter()
                .filter(|k| strsim::levenshtein(k, &code) <= 1)
                .map(|k| k.to_string())
                .collect();
            Outcome::fail(miette::Report::new(
                Usage::NoSuchRule {
                    code: args.code,
                    near,
                }
                .in_lang(lang(args.lang)),
            ))
        }
    }
}

/// Run `povcheck history`; errors come back as reports for the CLI edge to print.
fn run_history(args: &HistoryArgs, stdout: &mut dyn Write) -> Result<(), miette::Report> {
    let lang = if args.lang == "en" {
        Lang::En
    } else {
        Lang::Zh
    };
    let forget = match &args.forget {
        Some(p) => {
            let period = crate::ledger::parse_period(p)?;
            if !args.yes {
                return Err(miette::miette!(
                    "删除期次 {period} 的全部台账记录需要加 --yes 确认（此操作不可撤销）"
                ));
            }
            Some(period)
        }
        None => None,
    };
    let mut ledger =
        crate::ledger::Ledger::open(&crate::ledger::resolve_path(args.ledger.as_deref()))?;
    if let Some(period) = forget {
        // Township names come from cells: escaped like every other terminal text.
        let townships: Vec<String> = ledger
            .forget(&period)?
            .iter()
            .map(|t| crate::report::escape::terminal(t))
            .collect();
        let _ = match lang {
            Lang::Zh => writeln!(
                stdout,
                "已从台账 {} 删除期次 {period}（{}）",
                ledger.path().display(),
                townships.join("、")
            ),
            Lang::En => writeln!(
                stdout,
                "removed period {period} ({}) from ledger {}",
                townships.join(", "),
                ledger.path().display()
            ),
        };
        return Ok(());
    }
    let schema = match &args.schema {
        Some(p) => crate::schema::load_path(p).map_err(miette::Report::new)?,
        None => crate::schema::default_schema(),
    };
    let filter = crate::ledger::history::Filter {
        unit: args.unit.clone(),
        level: args.level.clone(),
    };
    let h = crate::ledger::history::history(&ledger, &schema.policy.ladder, &filter, lang)?;
    let written = match &args.output {
        Some(p) => std::fs::File::create(p).and_then(|f| {
            let mut w = std::io::BufWriter::new(f);
            crate::report::history::write(&h, args.format, lang, &mut w)?;
            w.flush()
        }),
        None => match crate::report::history::write(&h, args.format, lang, stdout) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            r => r,
        },
    };
    written.map_err(|e| miette::miette!("无法写入台账历史: {e}"))
}

/// The arguments to parse, given the raw ones (program name first). On Windows a clerk starts
/// the exe by double-clicking it (no arguments) or by dropping files onto it (their full paths
/// as arguments), never with a subcommand, so those two starts mean the desk: `serve`, with the
/// dropped files checked at once. Anything that looks like a command line (a subcommand or a
/// flag first) is left alone, and elsewhere nothing changes: no arguments print the usage.
pub fn desk_args(raw: Vec<std::ffi::OsString>, windows: bool) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
    if !windows {
        return raw;
    }
    let mut it = raw.into_iter();
    let program = it.next().unwrap_or_else(|| "povcheck".into());
    let rest: Vec<std::ffi::OsString> = it.collect();
    let commandish = rest.first().is_some_and(|first| {
        let first = first.to_string_lossy();
        first.starts_with('-')
            || first == "help"
            || Cli::command()
                .get_subcommands()
                .any(|c| c.get_name() == first || c.get_all_aliases().any(|a| a == first))
    });
    if commandish {
        return std::iter::once(program).chain(rest).collect();
    }
    // `--` so that no dropped path is ever taken for a flag.
    let mut out = vec![program, "serve".into()];
    if !rest.is_empty() {
        out.push("--".into());
        out.extend(rest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn double_click_starts_the_desk_on_windows_only() {
        assert_eq!(
            desk_args(args(&["povcheck.exe"]), true),
            args(&["povcheck.exe", "serve"])
        );
        assert_eq!(desk_args(args(&["povcheck"]), false), args(&["povcheck"]));
    }

    #[test]
    fn dropped_files_are_checked_by_the_desk_on_windows_only() {
        let dropped = [
            "povcheck.exe",
            r"C:\Users\clerk\Desktop\乡镇 导出.xlsx",
            r"D:\-odd name.csv",
        ];
        let got = desk_args(args(&dropped), true);
        assert_eq!(
            got,
            args(&[
                "povcheck.exe",
                "serve",
                "--",
                r"C:\Users\clerk\Desktop\乡镇 导出.xlsx",
                r"D:\-odd name.csv"
            ])
        );
        // What the desk is then given parses as `serve` with those files, none taken for a flag.
        match Cli::try_parse_from(got).unwrap().command {
            Command::Serve(s) => assert_eq!(s.files.len(), 2),
            other => panic!("not serve: {other:?}"),
        }
        assert_eq!(
            desk_args(args(&["povcheck", "a.csv"]), false),
            args(&["povcheck", "a.csv"])
        );
    }

    #[test]
    fn command_lines_are_left_alone_on_windows() {
        for line in [
            &["povcheck.exe", "check", "a.csv"][..],
            &["povcheck.exe", "serve", "--no-open"],
            &["povcheck.exe", "--version"],
            &["povcheck.exe", "-h"],
            &["povcheck.exe", "help"],
            &["povcheck.exe", "verify-receipt", "r.json"],
        ] {
            assert_eq!(desk_args(args(line), true), args(line));
        }
    }
}
