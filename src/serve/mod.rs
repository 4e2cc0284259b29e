//! `povcheck serve`: the clerk's desk. A web page on the loopback address where a clerk drops
//! exports and sees what to fix, without a terminal. The page is a client of `POST /api/check`,
//! which answers with exactly the JSON of `povcheck check --format json`: the same config step,
//! the same pipeline, the same writer.
//!
//! These records describe vulnerable people, so nothing leaves the machine: the server listens
//! on 127.0.0.1 only, refuses a Host that is not its own loopback address (a DNS-rebinding page
//! would otherwise reach it under a foreign name) and cross-origin uploads, and the page loads
//! nothing from the network. Uploads are kept in memory (for the row view and the downloads of
//! a recent run) and written only to a private temporary folder removed after each check.

mod api;

use std::collections::HashMap;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

/// The port tried when `--port` is not given; a free one is taken when it is busy.
pub const DEFAULT_PORT: u16 = 8737;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// 端口（0：任一空闲端口；默认 8737，被占用时任选） / port (0: any free port)
    #[arg(long)]
    pub port: Option<u16>,
    /// 不自动打开浏览器 / do not open the browser
    #[arg(long)]
    pub no_open: bool,
    /// 规则方案 TOML（默认：内置方案） / schema TOML (default: embedded)
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// 台账文件（只读，用于显示问责等级） / ledger file (read only, for the ladder level)
    #[arg(long, value_name = "PATH")]
    pub ledger: Option<PathBuf>,
    /// 每次上传的大小上限，MB / limit on one upload, MB
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub max_upload_mb: u64,
    /// 启动时即检查的导出表（拖到 povcheck.exe 上的文件） / files checked at start
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Why the desk could not start.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ServeError {
    #[error("无法监听 127.0.0.1:{port}: {reason}")]
    #[diagnostic(
        code(povcheck::serve::bind),
        help("换一个端口，例如 --port 0 任选空闲端口")
    )]
    Bind { port: u16, reason: String },
    #[error("无法启动服务: {0}")]
    #[diagnostic(code(povcheck::serve::runtime))]
    Runtime(String),
    #[error("台账文件 {0} 不存在")]
    #[diagnostic(
        code(povcheck::serve::no_ledger),
        help("核查台只读取台账，不新建；先用 povcheck check --record 建立台账")
    )]
    NoLedger(String),
    #[error("无法读取 {path}: {reason}")]
    #[diagnostic(code(povcheck::serve::open))]
    Open { path: String, reason: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Schema(Box<crate::schema::Error>),
}

/// What every handler shares.
pub(crate) struct Desk {
    pub port: u16,
    pub schema: Option<PathBuf>,
    pub ledger: Option<PathBuf>,
    pub max_upload: u64,
    pub runs: Mutex<HashMap<String, Arc<api::StoredRun>>>,
    /// The files given at start, checked for the page by `GET /api/preloaded`.
    pub preload: Vec<api::Upload>,
    pub next_id: std::sync::atomic::AtomicU64,
}

const PAGE: &str = include_str!("page.html");

/// Start the desk and serve until Ctrl-C. The URL is the first line on `stdout`.
pub fn run(args: ServeArgs, stdout: &mut dyn Write) -> Result<(), ServeError> {
    // A bad schema is refused now, not at the first upload.
    crate::config::load_schema(args.schema.as_deref())
        .map_err(|e| ServeError::Schema(Box::new(e)))?;
    // The desk only reads a ledger: opening a missing one would create it beside the clerk's
    // files.
    if let Some(l) = &args.ledger
        && !l.is_file()
    {
        return Err(ServeError::NoLedger(l.display().to_string()));
    }
    let preload =
        api::preload(&args.files).map_err(|(path, reason)| ServeError::Open { path, reason })?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| ServeError::Runtime(e.to_string()))?;
    rt.block_on(serve(args, preload, stdout))
}

async fn bind(port: Option<u16>) -> Result<tokio::net::TcpListener, ServeError> {
    let at = |p: u16| SocketAddr::from((Ipv4Addr::LOCALHOST, p));
    match port {
        Some(p) => tokio::net::TcpListener::bind(at(p))
            .await
            .map_err(|e| ServeError::Bind {
                port: p,
                reason: e.to_string(),
            }),
        None => match tokio::net::TcpListener::bind(at(DEFAULT_PORT)).await {
            Ok(l) => Ok(l),
            Err(_) => tokio::net::TcpListener::bind(at(0))
                .await
                .map_err(|e| ServeError::Bind {
                    port: 0,
                    reason: e.to_string(),
                }),
        },
    }
}

async fn serve(
    args: ServeArgs,
    preload: Vec<api::Upload>,
    stdout: &mut dyn Write,
) -> Result<(), ServeError> {
    let listener = bind(args.port).await?;
    let port = listener
        .local_addr()
        .map_err(|e| ServeError::Runtime(e.to_string()))?
        .port();
    let desk = Arc::new(Desk {
        port,
        schema: args.schema,
        ledger: args.ledger,
        max_upload: args.max_upload_mb.saturating_mul(1 << 20),
        runs: Mutex::new(HashMap::new()),
        preload,
        next_id: std::sync::atomic::AtomicU64::new(1),
    });
    let url = format!("http://127.0.0.1:{port}/");
    // Tests and scripts read the URL from the first line, so it goes out alone and at once.
    let _ = writeln!(stdout, "{url}");
    let _ = stdout.flush();
    #[allow(clippy::print_stderr)]
    {
        eprintln!("povcheck 核查台已启动，按 Ctrl-C 停止 / the desk is running; Ctrl-C stops it");
    }
    // POVCHECK_NO_OPEN stands in for --no-open where no flag can be given: a test of the
    // double-click and drop starts, which have no command line.
    if !args.no_open && std::env::var_os("POVCHECK_NO_OPEN").is_none() {
        open_browser(&url);
    }
    let app = router(desk);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| ServeError::Runtime(e.to_string()))
}

fn router(desk: Arc<Desk>) -> Router {
    let limit = usize::try_from(desk.max_upload).unwrap_or(usize::MAX);
    Router::new()
        .route("/", get(page))
        .route("/api/check", post(api::check))
        .route("/api/preloaded", get(api::preloaded))
        .route("/api/rules", get(api::rules))
        .route("/api/rule/{code}", get(api::rule))
        .route("/api/run/{id}/rows", get(api::rows))
        .route("/api/run/{id}/report.xlsx", get(api::report_xlsx))
        .route("/api/run/{id}/report.html", get(api::report_html))
        .route("/api/run/{id}/annotated/{file}", get(api::annotated))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(desk.clone(), guard))
        .with_state(desk)
}

/// The page; its script and styles are inline and the policy forbids loading anything else, so
/// a slip that adds a CDN link breaks the page here instead of leaking the clerk's visit.
async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                 connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; \
                 base-uri 'none'; form-action 'none'",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PAGE,
    )
        .into_response()
}

/// The names this server answers to: its loopback address and port.
fn own_hosts(port: u16) -> [String; 3] {
    [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ]
}

/// Refuse a request for a foreign Host (DNS rebinding) and a non-GET request from a foreign
/// Origin (a page elsewhere posting to the desk).
async fn guard(State(desk): State<Arc<Desk>>, req: Request, next: Next) -> Response {
    let lang = api::lang_of_query(req.uri().query());
    let hosts = own_hosts(desk.port);
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.to_ascii_lowercase());
    if !host
        .as_deref()
        .is_some_and(|h| hosts.iter().any(|o| o == h))
    {
        return api::ApiError::ForeignHost.response(lang);
    }
    if req.method() != axum::http::Method::GET
        && req.method() != axum::http::Method::HEAD
        && !origin_ok(req.headers(), &hosts)
    {
        return api::ApiError::ForeignOrigin.response(lang);
    }
    let mut resp = next.run(req).await;
    resp.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        axum::http::HeaderValue::from_static("nosniff"),
    );
    resp
}

fn origin_ok(headers: &HeaderMap, hosts: &[String; 3]) -> bool {
    match headers.get(header::ORIGIN) {
        None => true,
        Some(o) => o
            .to_str()
            .ok()
            .and_then(|o| {
                o.to_ascii_lowercase()
                    .strip_prefix("http://")
                    .map(str::to_string)
            })
            .is_some_and(|h| hosts.contains(&h)),
    }
}

/// Open `url` in the default browser, quietly: without one the URL on stdout still works.
fn open_browser(url: &str) {
    use std::process::{Command, Stdio};
    let mut cmd = if cfg!(target_os = "windows") {
        let mut c = Command::new("cmd");
        c.args(["/C", "start", "", url]);
        c
    } else if cfg!(target_os = "macos") {
        let mut c = Command::new("open");
        c.arg(url);
        c
    } else {
        let mut c = Command::new("xdg-open");
        c.arg(url);
        c
    };
    let _ = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_must_be_own_loopback_address() {
        let hosts = own_hosts(9000);
        let with = |o: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ORIGIN, o.parse().unwrap());
            origin_ok(&h, &hosts)
        };
        assert!(origin_ok(&HeaderMap::new(), &hosts));
        assert!(with("http://127.0.0.1:9000"));
        assert!(with("http://localhost:9000"));
        assert!(!with("http://127.0.0.1:9001"));
        assert!(!with("http://evil.example"));
        assert!(!with("null"));
        assert!(!with("https://127.0.0.1:9000"));
    }
}
