//! Debian's Chromium, headless, driven through the DevTools protocol: a page is opened and
//! its live DOM read with `Runtime.evaluate`, so a test sees what a learner's browser shows
//! after the page's scripts and its Server-Sent Events have run.
//!
//! Chromium is told `--remote-debugging-port=0` and writes the port it chose to
//! `DevToolsActivePort` in its profile; reading that file needs no parsing of its stderr,
//! which Debian's wrapper script shares with the browser's children. The browser runs in a
//! process group of its own, killed whole when the [`Chromium`] is dropped.

// Each test binary that includes this uses a part of it (the book's tests only find
// Chromium and take its flags).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use checker::process::GroupGuard;
use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

/// How long Chromium may take to start and open its DevTools port on a busy machine.
const STARTUP: Duration = Duration::from_secs(60);
/// How long one DevTools answer may take.
const ANSWER: Duration = Duration::from_secs(20);

/// Headless, with nothing that reaches the network or a desktop: a test's Chromium.
pub const HEADLESS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
];

/// The Chromium to run: `$CHROMIUM`, or the first of Debian's names on PATH.
pub fn find() -> Option<PathBuf> {
    crate::tools::find(
        "CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    )
}

/// A headless Chromium showing one page.
pub struct Chromium {
    child: Child,
    _group: GroupGuard,
    profile: PathBuf,
    socket: WebSocket<TcpStream>,
    next_id: u64,
}

impl Chromium {
    /// Starts `program` on `url`, with a fresh profile under `scratch`.
    pub fn open(program: &Path, url: &str, scratch: &Path) -> Chromium {
        let profile = scratch.join(format!("chromium-cdp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).unwrap();
        let mut child = Command::new(program)
            .args(HEADLESS)
            .args([
                "--window-size=1280,900",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let group = GroupGuard::new(child.id() as i32);
        let port = devtools_port(&mut child, &profile);
        let page = page_socket(port, url);
        let address = page
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let stream = TcpStream::connect(&address).unwrap();
        stream.set_read_timeout(Some(ANSWER)).unwrap();
        let (socket, _) = tungstenite::client(page.as_str(), stream)
            .unwrap_or_else(|e| panic!("cannot open Chromium's DevTools socket {page}: {e}"));
        Chromium {
            child,
            _group: group,
            profile,
            socket,
            next_id: 0,
        }
    }

    /// The value of the JavaScript `expression` in the page (JSON-serialisable).
    pub fn evaluate(&mut self, expression: &str) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let request = json!({
            "id": id,
            "method": "Runtime.evaluate",
            "params": { "expression": expression, "returnByValue": true },
        });
        self.socket
            .send(Message::text(request.to_string()))
            .expect("Chromium's DevTools socket closed");
        loop {
            let message = self
                .socket
                .read()
                .unwrap_or_else(|e| panic!("no DevTools answer within {ANSWER:?}: {e}"));
            let Message::Text(text) = message else {
                continue;
            };
            let answer: Value = serde_json::from_str(text.as_str()).unwrap();
            // Events (no id) and other answers are not ours.
            if answer["id"] != id {
                continue;
            }
            if let Some(thrown) = answer["result"].get("exceptionDetails") {
                panic!("the page threw evaluating {expression}: {thrown:#}");
            }
            return answer["result"]["result"]["value"].clone();
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // The guard kills the whole group; this reaps the one child we started.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The port Chromium's DevTools listen on, once it has written it.
fn devtools_port(child: &mut Child, profile: &Path) -> u16 {
    let file = profile.join("DevToolsActivePort");
    let deadline = Instant::now() + STARTUP;
    loop {
        if let Some(port) = std::fs::read_to_string(&file)
            .ok()
            .and_then(|text| text.lines().next()?.trim().parse().ok())
        {
            return port;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("Chromium exited before opening its DevTools port: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "Chromium wrote no {} within {STARTUP:?}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The DevTools socket of the page showing `url`.
fn page_socket(port: u16, url: &str) -> String {
    let deadline = Instant::now() + STARTUP;
    loop {
        let targets: Value =
            serde_json::from_str(&http_get(port, "/json/list")).unwrap_or_default();
        let found = targets.as_array().and_then(|targets| {
            targets.iter().find_map(|t| {
                (t["type"] == "page" && t["url"].as_str().is_some_and(|u| u.starts_with(url)))
                    .then(|| t["webSocketDebuggerUrl"].as_str().map(str::to_string))
                    .flatten()
            })
        });
        if let Some(socket) = found {
            return socket;
        }
        assert!(
            Instant::now() < deadline,
            "Chromium shows no page of {url}: {targets:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The body of `GET path` on 127.0.0.1:`port`. Chromium keeps the connection open, so the
/// body is read by its Content-Length.
fn http_get(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(ANSWER)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    String::from_utf8(body).unwrap()
}
