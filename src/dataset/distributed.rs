//! The dataset rules' SQL on Apache DataFusion Ballista (`--features distributed`).
//!
//! The key tables are registered as one listing table `keys` over the exact files given (they
//! may sit in several directories), the SQL is planned here and run by the cluster, and the
//! result comes back as a polars `DataFrame` so the dataset stage handles both engines alike.
//!
//! With [`Cluster::Remote`] every executor reads the files itself: the paths given must name the
//! same files on this machine (the plan is built from their Parquet footers here) and on every
//! executor, e.g. one shared mount at the same path everywhere.
//!
//! polars and DataFusion are built on different Arrow crates, so the result crosses over as an
//! uncompressed Parquet file in memory: both sides already have that reader and writer, it keeps
//! nulls, `UInt32`/`UInt64` and binary columns exactly, and a zero-row result keeps its schema.
//! Results are findings (thousands of rows, not millions), so the copy costs nothing measurable.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ballista::datafusion::arrow::datatypes::SchemaRef;
use ballista::datafusion::arrow::record_batch::RecordBatch;
use ballista::datafusion::datasource::file_format::parquet::ParquetFormat;
use ballista::datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use ballista::datafusion::error::DataFusionError;
use ballista::datafusion::parquet::arrow::ArrowWriter;
use ballista::datafusion::prelude::SessionContext;
use ballista::prelude::SessionContextExt;
use polars::prelude::{DataFrame, ParquetReader, SerReader};

/// Where the SQL runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cluster {
    /// A scheduler and one executor started inside this process for the run.
    Standalone,
    /// A running Ballista scheduler (`--engine df://HOST:PORT`).
    Remote { host: String, port: u16 },
}

impl std::str::FromStr for Cluster {
    type Err = String;

    /// `standalone` or `df://HOST:PORT` (the port defaults to Ballista's 50050).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "standalone" {
            return Ok(Cluster::Standalone);
        }
        let Some(rest) = s.strip_prefix("df://") else {
            return Err(format!("{s:?}: expected `standalone` or `df://HOST:PORT`"));
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            // A bare IPv6 address has colons of its own; it must be bracketed to carry a port.
            Some((h, p)) if !h.contains(':') || h.ends_with(']') => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("{s:?}: port {p:?} is not a number from 1 to 65535"))?,
            ),
            _ => (rest, DEFAULT_SCHEDULER_PORT),
        };
        if host.is_empty() || port == 0 {
            return Err(format!("{s:?}: expected `df://HOST:PORT`"));
        }
        Ok(Cluster::Remote {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
        })
    }
}

impl std::fmt::Display for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cluster::Standalone => f.write_str("standalone"),
            Cluster::Remote { host, port } if host.contains(':') => {
                write!(f, "df://[{host}]:{port}")
            }
            Cluster::Remote { host, port } => write!(f, "df://{host}:{port}"),
        }
    }
}

/// The port `ballista-scheduler` listens on unless told otherwise.
pub const DEFAULT_SCHEDULER_PORT: u16 = 50050;

/// How long to wait for the scheduler's TCP port before calling it unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the client's tasks (and a standalone cluster's) get to stop after the result is in.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the distributed engine produced no result. Messages are Chinese (the CLI's default);
/// [`DistributedError::message_en`] words them for `--lang en`.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DistributedError {
    #[error("无法连接 Ballista 调度器 {host}:{port}: {reason}")]
    #[diagnostic(
        code(povcheck::dataset::scheduler_unreachable),
        help("确认 ballista-scheduler 已在该地址启动、端口可达（见 docs/scale.md）")
    )]
    SchedulerUnreachable {
        host: String,
        port: u16,
        reason: String,
    },
    #[error("Ballista 作业失败（执行器丢失或任务失败）: {reason}")]
    #[diagnostic(
        code(povcheck::dataset::job_failed),
        help("检查各执行器是否在运行、能否读到全部密钥表；没有结果写出，可直接重新运行")
    )]
    JobFailed { reason: String },
    #[error("Ballista 作业在 {seconds} 秒内没有完成，已放弃等待")]
    #[diagnostic(
        code(povcheck::dataset::job_timed_out),
        help(
            "执行器中途退出时调度器可能一直等待；检查各执行器和调度器日志，必要时用更大的 --job-timeout 重新运行；没有结果写出"
        )
    )]
    JobTimedOut { seconds: u64 },
    #[error("数据集规则查询失败: {reason}")]
    #[diagnostic(code(povcheck::dataset::query_failed))]
    QueryFailed { reason: String },
    #[error("没有给出密钥表")]
    #[diagnostic(code(povcheck::dataset::no_key_tables))]
    NoKeyTables,
    #[error("{}: 无法读取密钥表: {reason}", path.display())]
    #[diagnostic(code(povcheck::dataset::key_table))]
    KeyTable { path: PathBuf, reason: String },
    #[error("无法启动 Ballista 客户端: {reason}")]
    #[diagnostic(code(povcheck::dataset::runtime))]
    Runtime { reason: String },
    #[error("无法转换 Ballista 的查询结果: {reason}")]
    #[diagnostic(code(povcheck::dataset::result))]
    Result { reason: String },
}

impl DistributedError {
    /// The message in English (`--lang en`).
    pub fn message_en(&self) -> String {
        match self {
            DistributedError::SchedulerUnreachable { host, port, reason } => {
                format!("cannot reach the Ballista scheduler at {host}:{port}: {reason}")
            }
            DistributedError::JobFailed { reason } => {
                format!("the Ballista job failed (executor lost or task failed): {reason}")
            }
            DistributedError::JobTimedOut { seconds } => {
                format!("the Ballista job did not finish within {seconds} s; stopped waiting")
            }
            DistributedError::QueryFailed { reason } => {
                format!("the dataset rules' query failed: {reason}")
            }
            DistributedError::NoKeyTables => "no key tables given".to_string(),
            DistributedError::KeyTable { path, reason } => {
                format!("{}: cannot read the key table: {reason}", path.display())
            }
            DistributedError::Runtime { reason } => {
                format!("cannot start the Ballista client: {reason}")
            }
            DistributedError::Result { reason } => {
                format!("cannot convert Ballista's result: {reason}")
            }
        }
    }

    /// The help line in English, where the Chinese one has one.
    pub fn help_en(&self) -> Option<&'static str> {
        match self {
            DistributedError::SchedulerUnreachable { .. } => Some(
                "check that ballista-scheduler is running at that address and the port is reachable (see docs/scale.md)",
            ),
            DistributedError::JobFailed { .. } => Some(
                "check that every executor is running and can read all key tables; nothing was written, so the run can simply be repeated",
            ),
            DistributedError::JobTimedOut { .. } => Some(
                "a scheduler can wait for ever after an executor dies mid-job; check the executors' and the scheduler's logs, or run again with a larger --job-timeout; nothing was written",
            ),
            _ => None,
        }
    }
}

/// Runs `sql` — standard SQL over one table named `keys`, the union of `key_files` — on
/// Ballista and returns the result as a polars DataFrame (column names and order as the SQL's).
///
/// `timeout` bounds the wait for the cluster's answer: Ballista's client polls the job's status
/// with no deadline, and a scheduler that lost an executor mid-job was seen to keep the job
/// "running" for ever (tests/distributed.rs), which would hang a scheduled run.
///
/// Blocking: it builds its own tokio runtime, so it must not be called from inside one.
/// Unquoted identifiers are folded to lower case by DataFusion (not by polars), so portable
/// SQL names its result columns in lower case.
pub fn run(
    cluster: &Cluster,
    key_files: &[PathBuf],
    sql: &str,
    timeout: Duration,
) -> Result<DataFrame, DistributedError> {
    if key_files.is_empty() {
        return Err(DistributedError::NoKeyTables);
    }
    let urls = key_files
        .iter()
        .map(|p| table_url(p))
        .collect::<Result<Vec<_>, _>>()?;
    if let Cluster::Remote { host, port } = cluster {
        probe(host, *port)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| DistributedError::Runtime {
            reason: e.to_string(),
        })?;
    let result = runtime.block_on(async {
        tokio::time::timeout(timeout, query(cluster, urls, sql))
            .await
            .unwrap_or(Err(DistributedError::JobTimedOut {
                seconds: timeout.as_secs(),
            }))
    });
    // Also stops a standalone scheduler and executor; bounded, as their loops never finish.
    runtime.shutdown_timeout(SHUTDOWN_TIMEOUT);
    let (schema, batches) = result?;
    to_polars(schema, &batches)
}

/// One file as a listing-table location. Built from a `file://` URL rather than parsed from the
/// path text, so a file name with `*`, `?` or `[` is not taken for a glob.
fn table_url(path: &Path) -> Result<ListingTableUrl, DistributedError> {
    let bad = |reason: String| DistributedError::KeyTable {
        path: path.to_path_buf(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
    if !meta.is_file() {
        return Err(bad("不是文件 (not a file)".to_string()));
    }
    let abs = std::path::absolute(path).map_err(|e| bad(e.to_string()))?;
    let url = url::Url::from_file_path(&abs).map_err(|()| bad("not a local path".to_string()))?;
    ListingTableUrl::try_new(url, None).map_err(|e| bad(e.to_string()))
}

/// A plain TCP connect first: Ballista's own client only connects when the job is submitted,
/// and then reports a refused connection as a transport error deep inside a plan failure.
fn probe(host: &str, port: u16) -> Result<(), DistributedError> {
    let unreachable = |reason: String| DistributedError::SchedulerUnreachable {
        host: host.to_string(),
        port,
        reason,
    };
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| unreachable(e.to_string()))?;
    let mut last = "no address".to_string();
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(unreachable(last))
}

async fn query(
    cluster: &Cluster,
    urls: Vec<ListingTableUrl>,
    sql: &str,
) -> Result<(SchemaRef, Vec<RecordBatch>), DistributedError> {
    let ctx = match cluster {
        Cluster::Standalone => SessionContext::standalone().await,
        Cluster::Remote { host, port } => SessionContext::remote(&remote_url(host, *port)).await,
    }
    .map_err(|e| match cluster {
        Cluster::Standalone => DistributedError::Runtime {
            reason: e.to_string(),
        },
        Cluster::Remote { host, port } => DistributedError::SchedulerUnreachable {
            host: host.clone(),
            port: *port,
            reason: e.to_string(),
        },
    })?;

    let first = urls[0].clone();
    // Every key table has the same fixed schema, so the first file's footer gives it.
    let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension("");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .infer_schema(&ctx.state())
        .await
        .map_err(|e| DistributedError::KeyTable {
            path: PathBuf::from(first.as_str()),
            reason: e.to_string(),
        })?;
    let table = ListingTable::try_new(config).map_err(|e| DistributedError::QueryFailed {
        reason: e.to_string(),
    })?;
    ctx.register_table("keys", Arc::new(table))
        .map_err(|e| DistributedError::QueryFailed {
            reason: e.to_string(),
        })?;

    // Parsing and planning happen here, before anything reaches the cluster.
    let df = ctx
        .sql(sql)
        .await
        .map_err(|e| DistributedError::QueryFailed {
            reason: e.to_string(),
        })?;
    let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await.map_err(|e| job_failed(cluster, e))?;
    Ok((schema, batches))
}

fn remote_url(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("df://[{host}]:{port}")
    } else {
        format!("df://{host}:{port}")
    }
}

/// A failure after submission: the scheduler went away, or the job failed on the cluster.
fn job_failed(cluster: &Cluster, e: DataFusionError) -> DistributedError {
    let reason = e.to_string();
    if let Cluster::Remote { host, port } = cluster {
        // The probe passed, but the scheduler can still vanish before the job is submitted.
        if probe(host, *port).is_err() {
            return DistributedError::SchedulerUnreachable {
                host: host.clone(),
                port: *port,
                reason,
            };
        }
    }
    DistributedError::JobFailed { reason }
}

/// The batches through an in-memory Parquet file into polars. The schema is the plan's, so a
/// result with no rows (no batches at all) still has its columns.
fn to_polars(schema: SchemaRef, batches: &[RecordBatch]) -> Result<DataFrame, DistributedError> {
    let fail = |reason: String| DistributedError::Result { reason };
    let schema = batches.first().map(|b| b.schema()).unwrap_or(schema);
    let mut bytes = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut bytes, schema, None).map_err(|e| fail(e.to_string()))?;
    for batch in batches {
        writer.write(batch).map_err(|e| fail(e.to_string()))?;
    }
    writer.close().map_err(|e| fail(e.to_string()))?;
    ParquetReader::new(std::io::Cursor::new(bytes))
        .finish()
        .map_err(|e| fail(e.to_string()))
}
