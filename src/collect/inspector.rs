//! A minimal Chrome DevTools Protocol client for Node's inspector, loopback only: list the
//! targets (`GET /json/list`), open the target's WebSocket, evaluate JavaScript in the
//! process (to install heapscan's snapshot hook, see `hook`), and, when we opened the
//! inspector, close it again. Snapshots are never taken with `HeapProfiler.takeHeapSnapshot`:
//! ending the session would make V8 forget the ids that let snapshots be compared.
//!
//! We only ever connect to 127.0.0.1: the inspector gives whoever reaches it full control
//! of the process, so heapscan never talks to it over a network.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

use super::CollectError;

fn err(msg: impl Into<String>) -> CollectError {
    CollectError::Inspector(msg.into())
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// `GET path` on 127.0.0.1:port; returns the body of a 200 answer.
pub fn http_get(port: u16, path: &str, timeout: Duration) -> Result<String, CollectError> {
    let mut s = TcpStream::connect_timeout(&loopback(port), timeout)
        .map_err(|e| err(format!("cannot connect to 127.0.0.1:{port}: {e}")))?;
    s.set_read_timeout(Some(timeout)).ok();
    s.set_write_timeout(Some(timeout)).ok();
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes())
        .map_err(|e| err(format!("127.0.0.1:{port}: {e}")))?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    // Read until the body is complete (Content-Length) or the server closes.
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) => return Err(err(format!("127.0.0.1:{port}{path}: {e}"))),
        }
        if let Some(body) = complete_body(&raw) {
            return body;
        }
        if raw.len() > 16 << 20 {
            return Err(err(format!("127.0.0.1:{port}{path}: answer too large")));
        }
    }
    complete_body(&raw).unwrap_or_else(|| {
        Err(err(format!(
            "127.0.0.1:{port}{path}: incomplete HTTP answer"
        )))
    })
}

/// The body once the answer is complete; `None` while more is expected.
fn complete_body(raw: &[u8]) -> Option<Result<String, CollectError>> {
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let body = &raw[head_end + 4..];
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())
            .flatten()
    });
    if length.is_some_and(|n| body.len() < n) {
        return None;
    }
    let status_ok = head
        .lines()
        .next()
        .is_some_and(|l| l.split_whitespace().nth(1) == Some("200"));
    Some(if status_ok {
        Ok(String::from_utf8_lossy(body).into_owned())
    } else {
        Err(err(format!(
            "unexpected answer: {}",
            head.lines().next().unwrap_or("")
        )))
    })
}

/// The WebSocket path (`/UUID`) of the first target a Node inspector on `port` lists, or
/// `None` when whatever listens there is not a Node inspector.
pub fn probe(port: u16, timeout: Duration) -> Option<String> {
    let body = http_get(port, "/json/list", timeout).ok()?;
    let targets: Value = serde_json::from_str(&body).ok()?;
    targets.as_array()?.iter().find_map(|t| {
        let url = t["webSocketDebuggerUrl"].as_str()?;
        // ws://127.0.0.1:9229/UUID → /UUID: we rebuild the URL on loopback ourselves.
        let rest = url.strip_prefix("ws://")?;
        Some(rest[rest.find('/')?..].to_string())
    })
}

/// An open DevTools session.
pub struct Session {
    ws: WebSocket<TcpStream>,
    next_id: u64,
}

impl Session {
    /// Connects to `ws://127.0.0.1:port{path}`. `read_timeout` bounds each wait for a message.
    pub fn connect(port: u16, path: &str, read_timeout: Duration) -> Result<Session, CollectError> {
        let stream = TcpStream::connect_timeout(&loopback(port), Duration::from_secs(10))
            .map_err(|e| err(format!("cannot connect to 127.0.0.1:{port}: {e}")))?;
        stream.set_read_timeout(Some(read_timeout)).ok();
        let url = format!("ws://127.0.0.1:{port}{path}");
        let (ws, _) = tungstenite::client::client(url.as_str(), stream)
            .map_err(|e| err(format!("WebSocket handshake with {url} failed: {e}")))?;
        Ok(Session { ws, next_id: 1 })
    }

    fn send(&mut self, method: &str, params: Value) -> Result<u64, CollectError> {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({ "id": id, "method": method, "params": params });
        self.ws
            .send(Message::text(msg.to_string()))
            .map_err(|e| err(format!("sending {method}: {e}")))?;
        Ok(id)
    }

    /// Reads messages until the answer to `id` (events are skipped).
    fn wait_answer(&mut self, id: u64, deadline: Instant) -> Result<Value, CollectError> {
        loop {
            if Instant::now() > deadline {
                return Err(err("timed out waiting for the inspector's answer"));
            }
            // Each read waits no longer than the deadline leaves.
            let left = deadline.saturating_duration_since(Instant::now());
            let _ = self
                .ws
                .get_mut()
                .set_read_timeout(Some(left.max(Duration::from_millis(1))));
            let msg = self.ws.read().map_err(|e| match e {
                tungstenite::Error::Io(io)
                    if matches!(
                        io.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    err("timed out waiting for the inspector's answer")
                }
                e => err(format!("reading from the inspector: {e}")),
            })?;
            let text = match msg {
                Message::Text(t) => t,
                Message::Close(_) => return Err(err("the inspector closed the connection")),
                _ => continue,
            };
            let v: Value = serde_json::from_str(text.as_str())
                .map_err(|e| err(format!("bad message from the inspector: {e}")))?;
            if v["method"].is_null() && v["id"].as_u64() == Some(id) {
                if let Some(e) = v.get("error") {
                    return Err(err(format!("the inspector refused: {e}")));
                }
                return Ok(v["result"].clone());
            }
        }
    }

    /// `Runtime.evaluate` with `params`; an exception thrown by the expression is an error
    /// naming its first line. Returns the evaluation's `result`.
    pub fn evaluate(&mut self, params: Value, timeout: Duration) -> Result<Value, CollectError> {
        let id = self.send("Runtime.evaluate", params)?;
        let answer = self.wait_answer(id, Instant::now() + timeout)?;
        if let Some(details) = answer.get("exceptionDetails") {
            let why = details["exception"]["description"]
                .as_str()
                .or_else(|| details["text"].as_str())
                .unwrap_or("unknown error");
            return Err(err(format!(
                "evaluating in the process failed: {}",
                why.lines().next().unwrap_or(why)
            )));
        }
        Ok(answer)
    }

    /// Has the process write a heap snapshot itself, `v8.writeHeapSnapshot(path)` (`path`
    /// absolute, as the process sees it). Used only when heapscan's snapshot hook cannot be
    /// installed: the ids of such a snapshot are forgotten when this session ends (see
    /// `hook`).
    pub fn write_heap_snapshot(
        &mut self,
        path: &std::path::Path,
        timeout: Duration,
    ) -> Result<(), CollectError> {
        let target = path
            .to_str()
            .ok_or_else(|| err(format!("{} is not valid UTF-8", path.display())))?;
        let expression = format!(
            "(() => {{ require('v8').writeHeapSnapshot({}); return true; }})()",
            Value::String(target.to_string())
        );
        self.evaluate(
            json!({ "expression": expression, "includeCommandLineAPI": true }),
            timeout,
        )?;
        Ok(())
    }

    /// Closes an inspector we opened: `inspector.close()` blocks until no session is
    /// connected, so it is scheduled on a timer and runs after we hang up.
    pub fn close_inspector(&mut self) -> Result<(), CollectError> {
        self.evaluate(
            json!({
                "expression": "(() => { const i = require('inspector'); setTimeout(() => i.close(), 0); return true; })()",
                "includeCommandLineAPI": true,
            }),
            Duration::from_secs(10),
        )
        .map_err(|e| err(format!("could not close the inspector: {e}")))?;
        Ok(())
    }

    /// Hangs up politely.
    pub fn close(mut self) {
        let _ = self
            .ws
            .get_mut()
            .set_read_timeout(Some(Duration::from_secs(2)));
        let _ = self.ws.close(None);
        // Drain until the close handshake finishes or the socket errors.
        for _ in 0..100 {
            if self.ws.read().is_err() {
                break;
            }
        }
    }
}
