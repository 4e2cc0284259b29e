//! The desk's API. `POST /api/check` runs the same config step and pipeline as `check`; a run's
//! uploads are kept in memory for a while so the page can show findings' rows and download the
//! reports of that run, each produced by re-running the same pipeline with the CLI's writers.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::Desk;
use crate::config::{self, CheckRequest};
use crate::finding::Lang;
use crate::read::{self, HeaderMatcher, ReadOptions, Table};
use crate::report::Format;

/// Runs kept for the row view and downloads; the oldest goes first, and none outlives this.
const KEPT_RUNS: usize = 8;
const KEPT_FOR: Duration = Duration::from_secs(2 * 3600);
/// Rows one request may ask for: a grid page, not the whole file.
const MAX_ROWS: usize = 500;

/// What went wrong with a request, rendered as `{"error": message, "code": code}`.
#[derive(Debug)]
pub(crate) enum ApiError {
    ForeignHost,
    ForeignOrigin,
    TooLarge {
        limit_mb: u64,
    },
    NoFiles,
    BadField {
        name: String,
        value: String,
    },
    Upload(String),
    /// The config step refused the request (a bad date, an unknown rule code …), in its words.
    Config(String),
    NoSuchRun,
    NoSuchRule(String),
    NoSuchFile,
    Failed(String),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::ForeignHost | ApiError::ForeignOrigin => StatusCode::FORBIDDEN,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NoFiles
            | ApiError::BadField { .. }
            | ApiError::Upload(_)
            | ApiError::Config(_) => StatusCode::BAD_REQUEST,
            ApiError::NoSuchRun | ApiError::NoSuchRule(_) | ApiError::NoSuchFile => {
                StatusCode::NOT_FOUND
            }
            ApiError::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::ForeignHost => "foreign_host",
            ApiError::ForeignOrigin => "foreign_origin",
            ApiError::TooLarge { .. } => "too_large",
            ApiError::NoFiles => "no_files",
            ApiError::BadField { .. } => "bad_field",
            ApiError::Upload(_) => "upload",
            ApiError::Config(_) => "bad_request",
            ApiError::NoSuchRun => "no_such_run",
            ApiError::NoSuchRule(_) => "no_such_rule",
            ApiError::NoSuchFile => "no_such_file",
            ApiError::Failed(_) => "failed",
        }
    }

    pub(crate) fn message(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        match self {
            ApiError::ForeignHost if zh => {
                "拒绝访问：请求的主机名不是本机地址（只接受 127.0.0.1、localhost 或 [::1] 加本服务端口）"
                    .into()
            }
            ApiError::ForeignHost => {
                "refused: the Host is not this machine's loopback address and port (127.0.0.1, localhost or [::1])"
                    .into()
            }
            ApiError::ForeignOrigin if zh => "拒绝访问：上传来自其他网站的页面".into(),
            ApiError::ForeignOrigin => "refused: the upload comes from another site's page".into(),
            ApiError::TooLarge { limit_mb } if zh => format!(
                "上传的文件太大：每次上传最多 {limit_mb} MB（可用 povcheck serve --max-upload-mb 调整）"
            ),
            ApiError::TooLarge { limit_mb } => format!(
                "upload too large: at most {limit_mb} MB per upload (povcheck serve --max-upload-mb changes it)"
            ),
            ApiError::NoFiles if zh => "没有收到文件：请选择或拖入要检查的导出表".into(),
            ApiError::NoFiles => "no file received: pick or drop the exports to check".into(),
            ApiError::BadField { name, value } if zh => format!("字段 {name} 的值 {value:?} 无效"),
            ApiError::BadField { name, value } => format!("field {name}: invalid value {value:?}"),
            ApiError::Upload(e) if zh => format!("上传中断或格式不对: {e}"),
            ApiError::Upload(e) => format!("upload broken or malformed: {e}"),
            ApiError::Config(m) => m.clone(),
            ApiError::NoSuchRun if zh => "这次检查的结果已过期，请重新上传".into(),
            ApiError::NoSuchRun => "this check's results have expired; upload again".into(),
            ApiError::NoSuchRule(c) if zh => format!("没有规则 {c}"),
            ApiError::NoSuchRule(c) => format!("no rule {c}"),
            ApiError::NoSuchFile if zh => "没有这个文件，或它无法读取".into(),
            ApiError::NoSuchFile => "no such file, or it could not be read".into(),
            ApiError::Failed(e) if zh => format!("检查失败: {e}"),
            ApiError::Failed(e) => format!("the check failed: {e}"),
        }
    }

    pub(crate) fn response(&self, lang: Lang) -> Response {
        let body = serde_json::json!({"error": self.message(lang), "code": self.code()});
        (self.status(), axum::Json(body)).into_response()
    }
}

pub(crate) fn lang_of_query(query: Option<&str>) -> Lang {
    let en = query.is_some_and(|q| q.split('&').any(|kv| kv == "lang=en"));
    if en { Lang::En } else { Lang::Zh }
}

/// One uploaded file, as the clerk named it.
pub(crate) struct Upload {
    name: String,
    bytes: Vec<u8>,
}

/// The optional fields of a check, as for `check`'s flags.
#[derive(Clone, Default)]
pub(crate) struct Fields {
    as_of: Option<String>,
    lang: Lang,
    mask: bool,
    select: Vec<String>,
    ignore: Vec<String>,
}

/// A recent run: its uploads and fields, and its tables once the row view asked for them.
pub(crate) struct StoredRun {
    uploads: Vec<Upload>,
    fields: Fields,
    created: Instant,
    tables: Mutex<Option<Arc<Vec<Table>>>>,
}

fn flag(name: &str, v: &str) -> Result<bool, ApiError> {
    match v.trim() {
        "" | "0" | "false" | "off" | "no" => Ok(false),
        "1" | "true" | "on" | "yes" => Ok(true),
        _ => Err(ApiError::BadField {
            name: name.into(),
            value: v.into(),
        }),
    }
}

fn codes(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[derive(Deserialize, Default)]
pub(crate) struct LangQuery {
    lang: Option<String>,
    mask: Option<String>,
}

impl LangQuery {
    fn lang(&self) -> Lang {
        if self.lang.as_deref() == Some("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }
}

/// The file name part of an uploaded name: a browser sends a bare name, a hostile client may
/// send a path, and the file is written into a private folder under this name.
fn safe_name(name: &str, i: usize) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let base: String = base
        .chars()
        .map(|c| if c.is_control() || c == ':' { '_' } else { c })
        .collect();
    if base.is_empty() || base == "." || base == ".." {
        format!("upload-{}", i + 1)
    } else {
        base
    }
}

async fn read_upload(
    desk: &Desk,
    mut mp: Multipart,
    lang: Lang,
) -> Result<(Vec<Upload>, Fields), (ApiError, Lang)> {
    let mut uploads = Vec::new();
    let mut fields = Fields {
        lang,
        ..Fields::default()
    };
    let too_large =
        |e: &axum::extract::multipart::MultipartError| e.status() == StatusCode::PAYLOAD_TOO_LARGE;
    let limit_mb = desk.max_upload >> 20;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if too_large(&e) => return Err((ApiError::TooLarge { limit_mb }, fields.lang)),
            Err(e) => return Err((ApiError::Upload(e.body_text()), fields.lang)),
        };
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) if too_large(&e) => return Err((ApiError::TooLarge { limit_mb }, fields.lang)),
            Err(e) => return Err((ApiError::Upload(e.body_text()), fields.lang)),
        };
        if let Some(f) = file_name {
            let i = uploads.len();
            uploads.push(Upload {
                name: safe_name(&f, i),
                bytes: bytes.to_vec(),
            });
            continue;
        }
        let text = String::from_utf8_lossy(&bytes).to_string();
        let bad = || ApiError::BadField {
            name: name.clone(),
            value: text.clone(),
        };
        match name.as_str() {
            "as_of" => fields.as_of = Some(text.trim().to_string()).filter(|s| !s.is_empty()),
            "lang" => {
                fields.lang = match text.trim() {
                    "zh" | "" => Lang::Zh,
                    "en" => Lang::En,
                    _ => return Err((bad(), fields.lang)),
                }
            }
            "mask" => fields.mask = flag("mask", &text).map_err(|e| (e, fields.lang))?,
            "select" => fields.select.extend(codes(&text)),
            "ignore" => fields.ignore.extend(codes(&text)),
            _ => return Err((bad(), fields.lang)),
        }
    }
    if uploads.is_empty() {
        return Err((ApiError::NoFiles, fields.lang));
    }
    Ok((uploads, fields))
}

/// What one pipeline run over stored uploads produced.
struct Executed {
    /// The report: standard output for JSON, the report file for xlsx and html.
    report: Vec<u8>,
    /// Annotated copies, (file name, bytes).
    annotated: Vec<(String, Vec<u8>)>,
    /// Inputs that could not be read etc., as `check` prints them.
    diagnostics: Vec<String>,
}

/// Run the pipeline over `uploads` exactly as `check` would run over the same files: the
/// uploads are written to a private folder (removed when this returns) and reported under their
/// own names.
fn execute(
    desk: &Desk,
    uploads: &[Upload],
    fields: &Fields,
    format: Format,
    annotate: bool,
) -> Result<Executed, ApiError> {
    let dir = tempfile::Builder::new()
        .prefix("povcheck-desk-")
        .tempdir()
        .map_err(|e| ApiError::Failed(e.to_string()))?;
    let mut files = Vec::new();
    for (i, u) in uploads.iter().enumerate() {
        // One folder per upload: two files of the same name are still two inputs.
        let sub = dir.path().join(i.to_string());
        std::fs::create_dir(&sub).map_err(|e| ApiError::Failed(e.to_string()))?;
        let p = sub.join(&u.name);
        std::fs::write(&p, &u.bytes).map_err(|e| ApiError::Failed(e.to_string()))?;
        files.push(p);
    }
    let names: Vec<String> = uploads.iter().map(|u| u.name.clone()).collect();
    let output = match format {
        Format::Xlsx => Some(dir.path().join("report.xlsx")),
        Format::Html => Some(dir.path().join("report.html")),
        _ => None,
    };
    let annotate_dir = annotate.then(|| dir.path().join("annotated"));
    let request = CheckRequest {
        files,
        schema: desk.schema.clone(),
        format,
        output: output.clone(),
        as_of: fields.as_of.clone(),
        lang: fields.lang,
        read: ReadOptions::default(),
        select: fields.select.clone(),
        ignore: fields.ignore.clone(),
        exclude_list: Vec::new(),
        mask: fields.mask,
        record: None,
        ledger: desk.ledger.clone(),
        annotate: annotate_dir.clone(),
        quiet: true,
        receipt: None,
        split_by: None,
        keys_out: None,
        key_file: None,
        buckets: None,
    };
    let config = config::check(request).map_err(|e| ApiError::Config(with_help(&e)))?;
    let mut stdout = Vec::new();
    // The readers already contain their own panics; this is the last resort for the rest of
    // the pipeline, so one hostile upload cannot take the desk down with it.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::pipeline::run_named(config, names, &mut stdout)
    }))
    .map_err(|p| {
        let what = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        ApiError::Failed(what)
    })?;
    let diagnostics: Vec<String> = outcome.diagnostics.iter().map(|d| d.to_string()).collect();
    let report = match &output {
        Some(p) => std::fs::read(p).map_err(|_| ApiError::Failed(diagnostics.join("; ")))?,
        None => stdout,
    };
    let mut annotated = Vec::new();
    if let Some(adir) = annotate_dir
        && let Ok(entries) = std::fs::read_dir(&adir)
    {
        for e in entries.flatten() {
            if let Ok(b) = std::fs::read(e.path()) {
                annotated.push((e.file_name().to_string_lossy().to_string(), b));
            }
        }
    }
    Ok(Executed {
        report,
        annotated,
        diagnostics,
    })
}

fn with_help(e: &dyn miette::Diagnostic) -> String {
    match e.help() {
        Some(h) => format!("{e} ({h})"),
        None => e.to_string(),
    }
}

fn keep(desk: &Desk, run: StoredRun) -> String {
    let id = format!(
        "{:x}{:x}",
        desk.next_id.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    let mut runs = desk.runs.lock().unwrap_or_else(|p| p.into_inner());
    runs.retain(|_, r| r.created.elapsed() < KEPT_FOR);
    while runs.len() >= KEPT_RUNS {
        let Some(oldest) = runs
            .iter()
            .min_by_key(|(_, r)| r.created)
            .map(|(k, _)| k.clone())
        else {
            break;
        };
        runs.remove(&oldest);
    }
    runs.insert(id.clone(), Arc::new(run));
    id
}

fn stored(desk: &Desk, id: &str) -> Result<Arc<StoredRun>, ApiError> {
    let runs = desk.runs.lock().unwrap_or_else(|p| p.into_inner());
    runs.get(id)
        .filter(|r| r.created.elapsed() < KEPT_FOR)
        .cloned()
        .ok_or(ApiError::NoSuchRun)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Failed(e.to_string()))?
}

/// `POST /api/check`: the JSON of `check --format json`. The run's id is in the `X-Povcheck-Run`
/// header (for rows and downloads) and the diagnostics `check` would print in
/// `X-Povcheck-Diagnostics` (percent-encoded), so the body stays exactly the CLI's.
pub(crate) async fn check(
    State(desk): State<Arc<Desk>>,
    Query(q): Query<LangQuery>,
    mp: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let mp = match mp {
        Ok(mp) => mp,
        Err(e) => return ApiError::Upload(e.body_text()).response(q.lang()),
    };
    let (uploads, fields) = match read_upload(&desk, mp, q.lang()).await {
        Ok(u) => u,
        Err((e, lang)) => return e.response(lang),
    };
    check_uploads(desk, uploads, fields).await
}

/// The files given at start (dropped onto the exe), read now: the desk owns copies, so a file
/// moved or still being written later does not change what the page shows.
pub(crate) fn preload(paths: &[std::path::PathBuf]) -> Result<Vec<Upload>, (String, String)> {
    paths
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let bytes = std::fs::read(p).map_err(|e| (p.display().to_string(), e.to_string()))?;
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            Ok(Upload {
                name: safe_name(&name, i),
                bytes,
            })
        })
        .collect()
}

/// `GET /api/preloaded`: the check of the files given at start, answered exactly as
/// `POST /api/check` answers for the same uploads (a kept run, so rows and downloads work);
/// 204 when the desk was started without files.
pub(crate) async fn preloaded(
    State(desk): State<Arc<Desk>>,
    Query(q): Query<LangQuery>,
) -> Response {
    if desk.preload.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let uploads = desk
        .preload
        .iter()
        .map(|u| Upload {
            name: u.name.clone(),
            bytes: u.bytes.clone(),
        })
        .collect();
    let fields = Fields {
        lang: q.lang(),
        mask: q
            .mask
            .as_deref()
            .is_some_and(|m| flag("mask", m).unwrap_or(false)),
        ..Fields::default()
    };
    check_uploads(desk, uploads, fields).await
}

async fn check_uploads(desk: Arc<Desk>, uploads: Vec<Upload>, fields: Fields) -> Response {
    let lang = fields.lang;
    let run = StoredRun {
        uploads,
        fields,
        created: Instant::now(),
        tables: Mutex::new(None),
    };
    let run = Arc::new(run);
    let (d, r) = (desk.clone(), run.clone());
    let done = blocking(move || execute(&d, &r.uploads, &r.fields, Format::Json, false)).await;
    let ex = match done {
        Ok(ex) => ex,
        Err(e) => return e.response(lang),
    };
    let run = Arc::try_unwrap(run).unwrap_or_else(|r| StoredRun {
        uploads: r
            .uploads
            .iter()
            .map(|u| Upload {
                name: u.name.clone(),
                bytes: u.bytes.clone(),
            })
            .collect(),
        fields: r.fields.clone(),
        created: r.created,
        tables: Mutex::new(None),
    });
    let all_unreadable = ex.diagnostics.len() >= run.uploads.len()
        && serde_json::from_slice::<serde_json::Value>(&ex.report)
            .ok()
            .and_then(|v| {
                v["inputs"]
                    .as_array()
                    .map(|a| a.iter().all(|i| i["status"].as_str() == Some("unreadable")))
            })
            .unwrap_or(false);
    let id = keep(&desk, run);
    // As `check` exits 2 when nothing could be read, the request failed: the body is still the
    // report, whose inputs say why.
    let status = if all_unreadable {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let diag = percent_encode(&ex.diagnostics.join("\n"));
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::HeaderName::from_static("x-povcheck-run"), id),
            (
                header::HeaderName::from_static("x-povcheck-diagnostics"),
                diag,
            ),
        ],
        ex.report,
    )
        .into_response()
}

/// RFC 3986 percent-encoding of everything but unreserved characters: header values and
/// Content-Disposition file names must be ASCII.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `GET /api/rules`: the catalogue as `povcheck rules --format json`.
pub(crate) async fn rules(State(desk): State<Arc<Desk>>, Query(q): Query<LangQuery>) -> Response {
    let lang = q.lang();
    let out = blocking(move || {
        let schema = config::load_schema(desk.schema.as_deref())
            .map_err(|e| ApiError::Failed(e.to_string()))?;
        let mut out = Vec::new();
        crate::report::catalogue::write_rules(
            &schema,
            crate::report::catalogue::Format::Json,
            lang,
            &mut out,
        )
        .map_err(|e| ApiError::Failed(e.to_string()))?;
        Ok(out)
    })
    .await;
    match out {
        Ok(b) => ([(header::CONTENT_TYPE, "application/json")], b).into_response(),
        Err(e) => e.response(lang),
    }
}

/// `GET /api/rule/{code}`: one rule's documentation as `povcheck rule CODE` prints it.
pub(crate) async fn rule(
    State(desk): State<Arc<Desk>>,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = q.lang();
    let out = blocking(move || {
        let schema = config::load_schema(desk.schema.as_deref())
            .map_err(|e| ApiError::Failed(e.to_string()))?;
        let code = code.trim().to_uppercase();
        let rule = schema.rule(&code).ok_or(ApiError::NoSuchRule(code))?;
        let mut out = Vec::new();
        crate::report::catalogue::write_rule(rule, lang, &mut out)
            .map_err(|e| ApiError::Failed(e.to_string()))?;
        Ok(out)
    })
    .await;
    match out {
        Ok(b) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], b).into_response(),
        Err(e) => e.response(lang),
    }
}

#[derive(Deserialize)]
pub(crate) struct RowsQuery {
    file: String,
    sheet: Option<String>,
    /// Spreadsheet row numbers, comma-separated.
    rows: String,
    lang: Option<String>,
}

#[derive(Serialize)]
struct RowsColumn {
    letter: String,
    header: String,
    field: Option<String>,
}

#[derive(Serialize)]
struct RowsRow {
    row: u32,
    cells: Vec<Option<String>>,
}

#[derive(Serialize)]
struct RowsAnswer {
    columns: Vec<RowsColumn>,
    rows: Vec<RowsRow>,
}

/// The tables of a stored run, read once (the check itself keeps none) and kept with the run.
fn tables_of(desk: &Desk, run: &StoredRun) -> Result<Arc<Vec<Table>>, ApiError> {
    let mut slot = run.tables.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(t) = slot.as_ref() {
        return Ok(t.clone());
    }
    let schema =
        config::load_schema(desk.schema.as_deref()).map_err(|e| ApiError::Failed(e.to_string()))?;
    let matcher = HeaderMatcher::from_schema(&schema);
    let dir = tempfile::Builder::new()
        .prefix("povcheck-desk-")
        .tempdir()
        .map_err(|e| ApiError::Failed(e.to_string()))?;
    let mut tables = Vec::new();
    for (i, u) in run.uploads.iter().enumerate() {
        let sub = dir.path().join(i.to_string());
        std::fs::create_dir(&sub).map_err(|e| ApiError::Failed(e.to_string()))?;
        let p = sub.join(&u.name);
        std::fs::write(&p, &u.bytes).map_err(|e| ApiError::Failed(e.to_string()))?;
        tables.extend(read::read_file(&p, &u.name, &ReadOptions::default(), &matcher).tables);
    }
    let tables = Arc::new(tables);
    *slot = Some(tables.clone());
    Ok(tables)
}

/// `GET /api/run/{id}/rows?file=&sheet=&rows=3,4`: the cells of the rows findings point at, for
/// the grid — outside the check's JSON so that stays the CLI's. Masked when the run was.
pub(crate) async fn rows(
    State(desk): State<Arc<Desk>>,
    Path(id): Path<String>,
    Query(q): Query<RowsQuery>,
) -> Response {
    let lang = if q.lang.as_deref() == Some("en") {
        Lang::En
    } else {
        Lang::Zh
    };
    let answer = blocking(move || {
        let run = stored(&desk, &id)?;
        let tables = tables_of(&desk, &run)?;
        let table = tables
            .iter()
            .find(|t| t.file == q.file && t.sheet == q.sheet)
            .ok_or(ApiError::NoSuchFile)?;
        let schema = config::load_schema(desk.schema.as_deref())
            .map_err(|e| ApiError::Failed(e.to_string()))?;
        let masks: Vec<Option<String>> = table
            .columns
            .iter()
            .map(|c| {
                c.field
                    .as_deref()
                    .and_then(|f| schema.field(f))
                    .and_then(|f| f.mask.clone())
            })
            .collect();
        let wanted: Vec<u32> = q
            .rows
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .take(MAX_ROWS)
            .collect();
        let numbers = table.row_numbers();
        let mut rows = Vec::new();
        for n in wanted {
            let Ok(i) = numbers.binary_search(&n) else {
                continue;
            };
            let cells = table
                .row(i)
                .into_iter()
                .zip(&masks)
                .map(|(c, m)| {
                    let t = crate::types::cell::cell_text(c)?;
                    Some(if run.fields.mask {
                        match m {
                            Some(k) => crate::report::mask::mask_value(k, &t),
                            None => crate::report::mask::mask_text(&t),
                        }
                    } else {
                        t
                    })
                })
                .collect();
            rows.push(RowsRow { row: n, cells });
        }
        Ok(RowsAnswer {
            columns: table
                .columns
                .iter()
                .map(|c| RowsColumn {
                    letter: crate::finding::col_letters(c.index),
                    header: c.header.clone(),
                    field: c.field.clone(),
                })
                .collect(),
            rows,
        })
    })
    .await;
    match answer {
        Ok(a) => axum::Json(a).into_response(),
        Err(e) => e.response(lang),
    }
}

fn attachment(name: &str, content_type: &'static str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename*=UTF-8''{}", percent_encode(name)),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// The fields of a stored run with the download's `mask` switch.
fn download_fields(run: &StoredRun, q: &LangQuery) -> Result<Fields, ApiError> {
    let mut f = run.fields.clone();
    f.lang = q.lang();
    if let Some(m) = &q.mask {
        f.mask = flag("mask", m)?;
    }
    Ok(f)
}

async fn report_as(desk: Arc<Desk>, id: String, q: LangQuery, format: Format) -> Response {
    let lang = q.lang();
    let out = blocking(move || {
        let run = stored(&desk, &id)?;
        let fields = download_fields(&run, &q)?;
        execute(&desk, &run.uploads, &fields, format, false).map(|e| e.report)
    })
    .await;
    match (out, format) {
        (Ok(b), Format::Xlsx) => attachment(
            "povcheck-report.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            b,
        ),
        (Ok(b), _) => attachment("povcheck-report.html", "text/html; charset=utf-8", b),
        (Err(e), _) => e.response(lang),
    }
}

/// `GET /api/run/{id}/report.xlsx?mask=1`: the run's xlsx report, by `check --format xlsx`'s writer.
pub(crate) async fn report_xlsx(
    State(desk): State<Arc<Desk>>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    report_as(desk, id, q, Format::Xlsx).await
}

/// `GET /api/run/{id}/report.html?mask=1`: the run's html report.
pub(crate) async fn report_html(
    State(desk): State<Arc<Desk>>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    report_as(desk, id, q, Format::Html).await
}

/// `GET /api/run/{id}/annotated/{i}?mask=1`: the annotated copy of the run's `i`-th file, by
/// `check --annotate`'s writer.
pub(crate) async fn annotated(
    State(desk): State<Arc<Desk>>,
    Path((id, file)): Path<(String, usize)>,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = q.lang();
    let out = blocking(move || {
        let run = stored(&desk, &id)?;
        let fields = download_fields(&run, &q)?;
        if file >= run.uploads.len() {
            return Err(ApiError::NoSuchFile);
        }
        // The whole run again, so the copy carries the dataset-wide findings too; the copy's
        // name is the one the writer gives this input among the run's inputs.
        let mut taken = HashSet::new();
        let wanted = run
            .uploads
            .iter()
            .map(|u| {
                crate::report::annotated::output_name(std::path::Path::new(&u.name), &mut taken)
            })
            .nth(file)
            .ok_or(ApiError::NoSuchFile)?;
        let ex = execute(&desk, &run.uploads, &fields, Format::Json, true)?;
        ex.annotated
            .into_iter()
            .find(|(n, _)| *n == wanted)
            .ok_or(ApiError::NoSuchFile)
    })
    .await;
    match out {
        Ok((name, b)) => attachment(
            &name,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            b,
        ),
        Err(e) => e.response(lang),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploaded_names_lose_their_folders() {
        assert_eq!(safe_name("a/b/c.xlsx", 0), "c.xlsx");
        assert_eq!(safe_name("..\\..\\x.csv", 0), "x.csv");
        assert_eq!(safe_name("..", 2), "upload-3");
        assert_eq!(safe_name("", 0), "upload-1");
        assert_eq!(safe_name("乡镇A.xlsx", 0), "乡镇A.xlsx");
    }

    #[test]
    fn percent_encoding_keeps_headers_ascii() {
        assert_eq!(percent_encode("a b/乡"), "a%20b%2F%E4%B9%A1");
    }
}
