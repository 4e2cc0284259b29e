//! `povcheck serve` over loopback: the binary is started on a free port and spoken to with a
//! raw HTTP/1.1 client, so the tests see what a browser or a hostile page would.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// A running desk, stopped when dropped.
pub struct Desk {
    child: Child,
    pub port: u16,
}

impl Drop for Desk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Desk {
    pub fn start(extra: &[&str]) -> Desk {
        let mut child = Command::new(env!("CARGO_BIN_EXE_povcheck"))
            .args(["serve", "--no-open", "--port", "0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start povcheck serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the URL line");
        let port = line
            .trim()
            .strip_prefix("http://127.0.0.1:")
            .and_then(|s| s.trim_end_matches('/').parse().ok())
            .unwrap_or_else(|| panic!("no loopback URL on stdout: {line:?}"));
        Desk { child, port }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            head.push_str(&format!("Host: {}\r\n", self.host()));
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        s.write_all(head.as_bytes()).expect("write head");
        // A refused oversized body may be cut off mid-way: the answer still comes.
        let _ = s.write_all(body);
        Resp::parse(&read_http(&mut s))
    }

    pub fn get(&self, path: &str) -> Resp {
        self.request("GET", path, &[], b"")
    }

    pub fn check(&self, files: &[(&str, &[u8])], fields: &[(&str, &str)]) -> Resp {
        let (ct, body) = multipart(files, fields);
        self.request("POST", "/api/check", &[("Content-Type", &ct)], &body)
    }
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    fn parse(raw: &[u8]) -> Resp {
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no HTTP answer: {:?}", String::from_utf8_lossy(raw)));
        let head = String::from_utf8_lossy(&raw[..end]).to_string();
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|c| c.parse().ok())
            .expect("status line");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let mut body = raw[end + 4..].to_vec();
        if headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
        {
            body = dechunk(&body);
        }
        Resp {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body[..self.body.len().min(400)])
            )
        })
    }
}

/// One HTTP response: up to its Content-Length, the end of its chunks, or the end of the
/// connection (chromedriver keeps connections open whatever the request says).
fn read_http(s: &mut TcpStream) -> Vec<u8> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let n = match s.read(&mut buf) {
            Ok(0) | Err(_) => return raw,
            Ok(n) => n,
        };
        raw.extend_from_slice(&buf[..n]);
        let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
        let len = head.lines().find_map(|l| {
            l.strip_prefix("content-length:")
                .and_then(|v| v.trim().parse::<usize>().ok())
        });
        let body = raw.len() - end - 4;
        match len {
            Some(len) if body >= len => return raw,
            None if head.contains("chunked") && raw.ends_with(b"0\r\n\r\n") => return raw,
            _ => {}
        }
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(nl) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..nl]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = nl + 2;
        out.extend_from_slice(&b[start..start + size]);
        b = &b[start + size + 2..];
    }
    out
}

pub fn multipart(files: &[(&str, &[u8])], fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "povcheck-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn sample() -> Vec<u8> {
    std::fs::read(root().join("samples/sample.xlsx")).expect("samples/sample.xlsx")
}

/// `povcheck check NAME --format json` run beside the file, so inputs are named as uploaded.
fn cli_json(dir: &Path, name: &str, extra: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_povcheck"))
        .current_dir(dir)
        .args(["check", name, "--format", "json", "--quiet"])
        .args(extra)
        .output()
        .expect("run check");
    serde_json::from_slice(&out.stdout).expect("check's JSON")
}

/// The findings in a fixed order: the contract is the set, not the order.
fn normalized(mut v: Value) -> Value {
    if let Some(a) = v["findings"].as_array_mut() {
        a.sort_by_key(|f| f.to_string());
    }
    v
}

#[test]
fn api_json_is_check_json() {
    let desk = Desk::start(&[]);
    let resp = desk.check(&[("sample.xlsx", &sample())], &[]);
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let api = resp.json();
    assert!(api["findings"].as_array().is_some_and(|f| !f.is_empty()));
    let cli = cli_json(&root().join("samples"), "sample.xlsx", &[]);
    assert_eq!(normalized(api), normalized(cli));
    // The options are check's flags.
    let resp = desk.check(
        &[("sample.xlsx", &sample())],
        &[
            ("lang", "en"),
            ("mask", "1"),
            ("ignore", "V1"),
            ("as_of", "2018-06-30"),
        ],
    );
    assert_eq!(resp.status, 200);
    let cli = cli_json(
        &root().join("samples"),
        "sample.xlsx",
        &[
            "--lang",
            "en",
            "--mask",
            "--ignore",
            "V1",
            "--as-of",
            "2018-06-30",
        ],
    );
    assert_eq!(normalized(resp.json()), normalized(cli));
}

/// The start a drop onto the Windows exe makes (`serve -- FILES`): the page's first request
/// gets the check of those files, answered as `POST /api/check` answers, with a kept run.
#[test]
fn files_given_at_start_are_checked_for_the_page() {
    let file = root().join("samples/sample.xlsx");
    let desk = Desk::start(&["--", file.to_str().unwrap()]);
    let r = desk.get("/api/preloaded");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let id = r.header("x-povcheck-run").expect("run id").to_string();
    let cli = cli_json(&root().join("samples"), "sample.xlsx", &[]);
    assert_eq!(normalized(r.json()), normalized(cli));
    let en = desk.get("/api/preloaded?lang=en");
    let cli = cli_json(&root().join("samples"), "sample.xlsx", &["--lang", "en"]);
    assert_eq!(normalized(en.json()), normalized(cli));
    assert_eq!(desk.get(&format!("/api/run/{id}/report.xlsx")).status, 200);
    // Without files the page is told there is nothing to show.
    assert_eq!(Desk::start(&[]).get("/api/preloaded").status, 204);
    // A file that cannot be read stops the start with its name, instead of an empty desk.
    let out = Command::new(env!("CARGO_BIN_EXE_povcheck"))
        .args(["serve", "--no-open", "--port", "0", "no-such-export.xlsx"])
        .output()
        .expect("run serve");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-export.xlsx"));
}

#[test]
fn bad_fields_and_no_files_are_clear_errors() {
    let desk = Desk::start(&[]);
    let r = desk.check(&[], &[]);
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("没有收到文件"));
    let r = desk.check(&[("sample.xlsx", &sample())], &[("as_of", "2018-13-45")]);
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("2018-13-45"));
    let r = desk.check(
        &[("sample.xlsx", &sample())],
        &[("lang", "en"), ("select", "ZZ9")],
    );
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("no rule has this code")
    );
}

#[test]
fn foreign_host_is_refused() {
    let desk = Desk::start(&[]);
    for host in [
        "evil.example",
        "evil.example:80",
        "127.0.0.1",
        "127.0.0.1:1",
    ] {
        let r = desk.request("GET", "/", &[("Host", host)], b"");
        assert_eq!(r.status, 403, "Host {host}");
        assert!(r.json()["error"].as_str().unwrap().contains("拒绝"));
    }
    let own = format!("localhost:{}", desk.port);
    assert_eq!(desk.request("GET", "/", &[("Host", &own)], b"").status, 200);
    let page = desk.get("/");
    assert_eq!(page.status, 200);
    let html = String::from_utf8_lossy(&page.body);
    // Nothing is loaded from elsewhere.
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"));
    assert!(
        page.header("content-security-policy")
            .is_some_and(|c| c.contains("default-src 'none'"))
    );
}

#[test]
fn foreign_origin_upload_is_refused() {
    let desk = Desk::start(&[]);
    let (ct, body) = multipart(&[("sample.xlsx", &sample())], &[]);
    let r = desk.request(
        "POST",
        "/api/check?lang=en",
        &[("Content-Type", &ct), ("Origin", "http://evil.example")],
        &body,
    );
    assert_eq!(r.status, 403);
    assert!(r.json()["error"].as_str().unwrap().contains("another site"));
    let own = format!("http://127.0.0.1:{}", desk.port);
    let r = desk.request(
        "POST",
        "/api/check",
        &[("Content-Type", &ct), ("Origin", &own)],
        &body,
    );
    assert_eq!(r.status, 200);
}

#[test]
fn oversized_upload_gets_413_with_a_message() {
    let desk = Desk::start(&["--max-upload-mb", "1"]);
    let big = vec![b'x'; 3 << 20];
    let (ct, body) = multipart(&[("big.csv", &big)], &[]);
    let r = desk.request("POST", "/api/check", &[("Content-Type", &ct)], &body);
    assert_eq!(r.status, 413);
    let msg = r.json()["error"].as_str().unwrap().to_string();
    assert!(msg.contains("太大") && msg.contains("1 MB"), "{msg}");
    // Still serving.
    assert_eq!(desk.check(&[("sample.xlsx", &sample())], &[]).status, 200);
}

#[test]
fn corrupt_upload_is_reported_and_the_desk_keeps_serving() {
    let desk = Desk::start(&[]);
    let mut corrupt = b"PK\x03\x04".to_vec();
    corrupt.extend(std::iter::repeat_n(0xA5u8, 4096));
    let r = desk.check(&[("broken.xlsx", &corrupt)], &[]);
    assert_eq!(r.status, 422);
    let v = r.json();
    assert_eq!(v["inputs"][0]["status"], "unreadable");
    assert!(
        v["inputs"][0]["reason"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    assert!(
        r.header("x-povcheck-diagnostics")
            .is_some_and(|d| d.contains("broken.xlsx"))
    );
    // With a good file beside it the good one is checked.
    let r = desk.check(
        &[("broken.xlsx", &corrupt), ("sample.xlsx", &sample())],
        &[],
    );
    assert_eq!(r.status, 200);
    let v = r.json();
    assert!(
        v["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["status"] == "checked")
    );
    assert!(v["summary"]["rows"].as_u64().unwrap() > 0);
    assert_eq!(desk.get("/").status, 200);
}

#[test]
fn two_uploads_at_once_both_complete() {
    let desk = Desk::start(&[]);
    let data = sample();
    let answers: Vec<u16> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2)
            .map(|_| s.spawn(|| desk.check(&[("sample.xlsx", &data)], &[]).status))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(answers, [200, 200]);
}

#[test]
fn rows_rules_and_downloads_of_a_run() {
    let desk = Desk::start(&[]);
    let r = desk.check(&[("sample.xlsx", &sample())], &[]);
    let id = r.header("x-povcheck-run").expect("run id").to_string();
    let v = r.json();
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["row"].is_u64() && f["column"].is_string())
        .expect("a cell finding")
        .clone();
    let q = format!(
        "/api/run/{id}/rows?file=sample.xlsx&sheet={}&rows={}",
        percent(f["sheet"].as_str().unwrap()),
        f["row"]
    );
    let rows = desk.get(&q).json();
    let col = rows["columns"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["field"] == f["column"])
        .expect("the finding's column");
    assert_eq!(rows["rows"][0]["row"], f["row"]);
    assert_eq!(rows["rows"][0]["cells"][col], f["value"], "{f}");
    let doc = desk.get(&format!("/api/rule/{}", f["rule"].as_str().unwrap()));
    assert_eq!(doc.status, 200);
    assert!(String::from_utf8_lossy(&doc.body).contains(f["rule"].as_str().unwrap()));
    assert_eq!(desk.get("/api/rule/NOPE").status, 404);
    assert!(desk.get("/api/rules").json().is_array() || desk.get("/api/rules").json().is_object());
    for path in ["report.xlsx", "annotated/0", "report.xlsx?mask=1"] {
        let d = desk.get(&format!("/api/run/{id}/{path}"));
        assert_eq!(d.status, 200, "{path}");
        assert!(d.body.starts_with(b"PK"), "{path} is an xlsx");
        assert!(
            d.header("content-disposition")
                .is_some_and(|c| c.starts_with("attachment"))
        );
    }
    let html = desk.get(&format!("/api/run/{id}/report.html"));
    assert!(String::from_utf8_lossy(&html.body).contains("<html"));
    assert_eq!(desk.get("/api/run/nope/report.xlsx").status, 404);
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Ctrl-C (SIGINT) stops the desk cleanly, with status 0.
#[cfg(unix)]
#[test]
fn ctrl_c_stops_the_desk() {
    let mut desk = Desk::start(&[]);
    assert_eq!(desk.get("/").status, 200);
    let pid = desk.child.id().to_string();
    let sent = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    let until = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = desk.child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            std::time::Instant::now() < until,
            "still running after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
}

/// Every listening socket on the desk's port is bound to 127.0.0.1 (Linux: read from /proc).
#[cfg(target_os = "linux")]
#[test]
fn listens_on_loopback_only() {
    let desk = Desk::start(&[]);
    let port = format!(":{:04X}", desk.port);
    let mut found = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // local_address is column 1, state column 3 (0A = LISTEN).
            if cols.len() > 3 && cols[1].ends_with(&port) && cols[3] == "0A" {
                found += 1;
                assert_eq!(cols[1], format!("0100007F{port}"), "{table}: {line}");
            }
        }
    }
    assert_eq!(found, 1, "one listening socket on the port");
}

// ---- The page in a real browser: headless Chromium driven over chromedriver's W3C HTTP API
// with the same raw client (no WebDriver crate to build).

/// A chromedriver process, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
    session: Option<String>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            let _ = self.call("DELETE", &format!("/session/{s}"), None);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Driver {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.port,
            body.len()
        );
        s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
        let r = Resp::parse(&read_http(&mut s));
        let v: Value = serde_json::from_slice(&r.body).map_err(|e| e.to_string())?;
        if r.status != 200 {
            return Err(format!("{method} {path}: {} {v}", r.status));
        }
        Ok(v["value"].clone())
    }

    fn s(&self) -> String {
        format!("/session/{}", self.session.as_deref().expect("session"))
    }

    fn script(&self, js: &str) -> Value {
        self.call(
            "POST",
            &format!("{}/execute/sync", self.s()),
            Some(serde_json::json!({"script": js, "args": []})),
        )
        .unwrap_or_else(|e| panic!("script {js}: {e}"))
    }

    /// Poll `js` until it returns something truthy, at most `secs` seconds.
    fn wait_for(&self, js: &str, secs: u64) -> Value {
        let until = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let v = self.script(js);
            if !(v.is_null() || v == false || v == "" || v == 0) {
                return v;
            }
            if std::time::Instant::now() >= until {
                let grid = self.script(
                    "return (document.getElementById('grid') || document.body).innerHTML.slice(0, 3000)",
                );
                panic!("timed out after {secs}s waiting for: {js}\n{grid}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn element(&self, css: &str) -> String {
        let v = self
            .call(
                "POST",
                &format!("{}/element", self.s()),
                Some(serde_json::json!({"using": "css selector", "value": css})),
            )
            .unwrap_or_else(|e| panic!("element {css}: {e}"));
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(|id| id.as_str())
            .expect("element id")
            .to_string()
    }
}

fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(cmd))
            .find(|f| f.is_file())
    })
}

fn b64decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Drop… well, pick (a file input is what a drop fills too) the committed sample in headless
/// Chromium, wait for the result, and check the counts, a highlighted cell and a download.
/// Skips loudly without chromium and chromedriver, unless POVCHECK_REQUIRE_BROWSER=1 (.ci/run).
#[test]
fn the_page_in_a_real_browser() {
    let (Some(chromium), Some(chromedriver)) = (
        which("chromium").or_else(|| which("chromium-browser")),
        which("chromedriver"),
    ) else {
        assert!(
            std::env::var("POVCHECK_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "POVCHECK_REQUIRE_BROWSER=1 but chromium or chromedriver is missing"
        );
        eprintln!(
            "\n!!! SKIPPED the_page_in_a_real_browser: chromium and chromedriver are not installed \
             (apt-get install chromium chromium-driver) !!!\n"
        );
        return;
    };
    let desk = Desk::start(&[]);
    let expected = desk.check(&[("sample.xlsx", &sample())], &[]).json();
    let profile = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let mut driver = Driver {
        child,
        port,
        session: None,
    };
    let until = std::time::Instant::now() + Duration::from_secs(30);
    while driver
        .call("GET", "/status", None)
        .map(|v| v["ready"] == true)
        != Ok(true)
    {
        assert!(std::time::Instant::now() < until, "chromedriver not ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    let caps = serde_json::json!({"capabilities": {"alwaysMatch": {
    "browserName": "chrome",
    "goog:chromeOptions": {
        "binary": chromium,
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1900", "--lang=zh-CN",
                 format!("--user-data-dir={}", profile.path().display())],
        "prefs": {"download.default_directory": downloads.path(),
                  "download.prompt_for_download": false}
    }}}});
    let v = driver
        .call("POST", "/session", Some(caps))
        .expect("a browser session");
    driver.session = Some(v["sessionId"].as_str().expect("sessionId").to_string());
    // Downloads in headless Chromium go where the DevTools command says.
    let _ = driver.call(
        "POST",
        &format!("{}/chromium/send_command", driver.s()),
        Some(serde_json::json!({"cmd": "Page.setDownloadBehavior",
            "params": {"behavior": "allow", "downloadPath": downloads.path()}})),
    );
    let s = driver.s();
    driver
        .call(
            "POST",
            &format!("{s}/timeouts"),
            Some(serde_json::json!({"script": 30000, "pageLoad": 30000, "implicit": 0})),
        )
        .unwrap();
    driver
        .call(
            "POST",
            &format!("{s}/url"),
            Some(serde_json::json!({"url": format!("http://127.0.0.1:{}/", desk.port)})),
        )
        .unwrap();
    assert_eq!(
        driver.script("return document.documentElement.lang"),
        "zh-CN"
    );
    let input = driver.element("#files");
    let path = root().join("samples/sample.xlsx");
    driver
        .call(
            "POST",
            &format!("{s}/element/{input}/value"),
            Some(serde_json::json!({"text": path.display().to_string()})),
        )
        .unwrap();
    driver.wait_for("return document.body.dataset.state === 'done'", 60);
    let card = |k: &str| {
        driver
            .script(&format!(
                "return document.querySelector('.card[data-k={k}] b').textContent"
            ))
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    for k in ["rows", "households", "errors", "warnings"] {
        assert_eq!(Some(card(k)), expected["summary"][k].as_u64(), "{k}");
    }
    let shown = driver.script("return document.querySelectorAll('#grid tr.finding').length");
    let total = expected["findings"].as_array().unwrap().len() as u64;
    assert_eq!(shown.as_u64(), Some(total.min(50)));
    // A finding's row with its flagged cell highlighted.
    driver.wait_for(
        "return document.querySelectorAll('#grid tr.finding td.flag').length",
        30,
    );
    let flagged = driver.script(
        "return [...document.querySelectorAll('#grid tr.finding td.flag')].map(c => c.textContent)",
    );
    let flagged: Vec<&str> = flagged
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let values: Vec<&str> = expected["findings"].as_array().unwrap()[..total.min(50) as usize]
        .iter()
        .filter_map(|f| f["value"].as_str())
        .collect();
    assert!(
        values.iter().any(|v| flagged.contains(v)),
        "a flagged cell shows a finding's value: {flagged:?} vs {values:?}"
    );
    if let Ok(out) = std::env::var("POVCHECK_DESK_SCREENSHOT") {
        let png = driver
            .call("GET", &format!("{s}/screenshot"), None)
            .expect("screenshot");
        std::fs::write(out, b64decode(png.as_str().unwrap())).unwrap();
    }
    // The rule filter narrows the grid to one rule.
    let rule = expected["findings"][0]["rule"]
        .as_str()
        .unwrap()
        .to_string();
    let n_rule = expected["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule.as_str())
        .count() as u64;
    driver.script(&format!(
        "const s = document.getElementById('f-rule'); s.value = '{rule}'; s.onchange(); return 1"
    ));
    assert_eq!(
        driver
            .script("return document.querySelectorAll('#grid tr.finding').length")
            .as_u64(),
        Some(n_rule.min(50))
    );
    // A rule code opens its documentation.
    let code = driver.element("#grid a.rule");
    driver
        .call(
            "POST",
            &format!("{s}/element/{code}/click"),
            Some(serde_json::json!({})),
        )
        .unwrap();
    let doc = driver.wait_for(
        "const d = document.getElementById('ruledoc'); return d.style.display === 'block' && d.textContent.includes(document.querySelector('#grid a.rule').textContent) ? d.textContent : null",
        20,
    );
    assert!(doc.as_str().is_some_and(|d| d.len() > 20), "{doc}");
    // The English switch.
    let btn = driver.element("#langbtn");
    driver
        .call(
            "POST",
            &format!("{s}/element/{btn}/click"),
            Some(serde_json::json!({})),
        )
        .unwrap();
    assert_eq!(
        driver
            .script("return document.querySelector('.card[data-k=errors]').firstChild.textContent"),
        "errors"
    );
    let link = driver.element("#dl-xlsx");
    driver
        .call(
            "POST",
            &format!("{s}/element/{link}/click"),
            Some(serde_json::json!({})),
        )
        .unwrap();
    let until = std::time::Instant::now() + Duration::from_secs(30);
    let got = loop {
        let done: Vec<PathBuf> = std::fs::read_dir(downloads.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "xlsx"))
            .collect();
        if let Some(p) = done.into_iter().next() {
            break p;
        }
        assert!(
            std::time::Instant::now() < until,
            "the xlsx report was not downloaded"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let bytes = std::fs::read(&got).unwrap();
    assert!(bytes.starts_with(b"PK"), "{} is an xlsx", got.display());
    // Search by household number: only that household's findings stay.
    let hh = expected["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|f| f["household"].as_str())
        .unwrap()
        .to_string();
    let n_hh = expected["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["household"] == hh.as_str())
        .count() as u64;
    driver.script(&format!(
        "document.getElementById('f-rule').value = ''; const q = document.getElementById('f-q'); q.value = '{hh}'; q.oninput(); return 1"
    ));
    assert_eq!(
        driver
            .script("return document.querySelectorAll('#grid tr.finding').length")
            .as_u64(),
        Some(n_hh)
    );
    // A corrupt file beside the sample: a clear message for it, the sample still shown.
    let bad = downloads.path().join("broken.xlsx");
    std::fs::write(&bad, b"PK\x03\x04 not really a workbook").unwrap();
    let input = driver.element("#files");
    driver
        .call(
            "POST",
            &format!("{s}/element/{input}/value"),
            Some(serde_json::json!({"text": format!("{}\n{}", bad.display(), path.display())})),
        )
        .unwrap();
    let msg = driver.wait_for(
        "const m = document.querySelector('#inputs .unreadable'); return document.body.dataset.state === 'done' && m ? m.textContent : null",
        60,
    );
    assert!(
        msg.as_str().is_some_and(|m| m.contains("broken.xlsx")),
        "{msg}"
    );
    assert_eq!(
        driver
            .script("return document.querySelector('.card[data-k=rows] b').textContent")
            .as_str()
            .and_then(|n| n.parse::<u64>().ok()),
        expected["summary"]["rows"].as_u64()
    );
    // A desk started with the file (a drop onto the Windows exe) shows its check on load,
    // without an upload.
    let preloaded = Desk::start(&["--", path.to_str().unwrap()]);
    driver
        .call(
            "POST",
            &format!("{s}/url"),
            Some(serde_json::json!({"url": format!("http://127.0.0.1:{}/", preloaded.port)})),
        )
        .unwrap();
    driver.wait_for("return document.body.dataset.state === 'done'", 60);
    for k in ["rows", "households", "errors", "warnings"] {
        assert_eq!(
            Some(card(k)),
            expected["summary"][k].as_u64(),
            "preloaded {k}"
        );
    }
    driver.wait_for(
        "return document.querySelectorAll('#grid tr.finding td.flag').length",
        30,
    );
}

/// The desk reads a ledger but never creates one.
#[test]
fn a_missing_ledger_is_refused_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.sqlite");
    let out = Command::new(env!("CARGO_BIN_EXE_povcheck"))
        .args(["serve", "--no-open", "--port", "0", "--ledger"])
        .arg(&ledger)
        .output()
        .expect("run serve");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("不存在"));
    assert!(!ledger.exists());
}

/// With --ledger the units carry their ladder level, as `check --ledger` gives them.
#[test]
fn ledger_levels_as_check_gives_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("samples/sample.xlsx"),
        dir.path().join("sample.xlsx"),
    )
    .unwrap();
    for period in ["2017-11", "2017-12"] {
        let st = Command::new(env!("CARGO_BIN_EXE_povcheck"))
            .current_dir(dir.path())
            .args([
                "check",
                "sample.xlsx",
                "--quiet",
                "--format",
                "json",
                "--ledger",
                "l.sqlite",
            ])
            .args(["--record", period])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert_eq!(st.code(), Some(1));
    }
    let ledger = dir.path().join("l.sqlite");
    let desk = Desk::start(&["--ledger", ledger.to_str().unwrap()]);
    let api = desk.check(&[("sample.xlsx", &sample())], &[]).json();
    assert!(
        api["units"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["repeat"]["level"].as_u64() >= Some(2)),
        "a unit with errors in both recorded rounds is on the ladder"
    );
    let cli = cli_json(dir.path(), "sample.xlsx", &["--ledger", "l.sqlite"]);
    assert_eq!(normalized(api), normalized(cli));
}
