//! heapscan's snapshot hook: a small Unix-socket listener installed once in a Node.js process
//! (over its inspector) that writes a heap snapshot with `v8.writeHeapSnapshot` when asked.
//!
//! Why not simply `HeapProfiler.takeHeapSnapshot` over the inspector each time: when an
//! inspector session goes away, V8's inspector disables its heap profiler agent, which makes
//! V8 forget every object id (`HeapProfiler::ClearObjectIds`); the next snapshot numbers the
//! objects afresh, so two such snapshots of one process cannot be compared object by object.
//! That happens even when the session never touched the `HeapProfiler` domain. So the
//! inspector is used once, to install the hook, and closed *before* the first snapshot; every
//! snapshot after that is taken through the hook, which opens no session, and shares its ids
//! with snapshots from `--heapsnapshot-signal` and the app's own `writeHeapSnapshot` calls.
//!
//! The hook lives in a private directory of the process's user, `/tmp/heapscan-snap-<pid>`
//! (0700, checked by the hook before use, so nobody else can plant or use it). It writes
//! under a plain file name heapscan chooses, into the directory of heapscan's output when the
//! process sees the same root as heapscan (so the snapshot lands on the filesystem heapscan
//! checked for room, not on a `/tmp` that may be memory), else into its own directory, which
//! heapscan reaches through `/proc/<pid>/root` (a container, a systemd `PrivateTmp`).
//! Protocol: heapscan sends `snapshot <name>[ <absolute dir>]\n`; the hook answers `ok\n`
//! (or `error <why>\n`) and hangs up; once the connection is closed (so none of its objects
//! is in the snapshot) it writes `<name>.partial`, then renames it to `<name>`, or writes
//! `<name>.error` into its own directory. The socket listener is `unref`ed: it never keeps
//! the process alive, and it costs a constant few kB of heap that every later snapshot
//! contains alike.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::inspector::Session;
use super::CollectError;

/// The hook's directory as the process sees it.
fn dir_in_process(pid: u32) -> String {
    format!("/tmp/heapscan-snap-{pid}")
}

/// The hook's directory as heapscan reaches it (through the process's root).
pub fn dir_from_outside(pid: u32) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/root{}", dir_in_process(pid)))
}

fn socket_path(pid: u32) -> PathBuf {
    dir_from_outside(pid).join("hook.sock")
}

/// The JavaScript evaluated in the process: installs the hook once (a second call finds it
/// by its symbol on `process`) and resolves when it listens.
fn install_script(dir: &str) -> String {
    let dir = Value::String(dir.to_string());
    format!(
        r#"(() => {{
  const key = Symbol.for('heapscan.snapshotHook');
  if (process[key]) return Promise.resolve('present');
  const fs = require('fs'), net = require('net'), path = require('path'), v8 = require('v8');
  const inspector = require('inspector');
  const dir = {dir};
  try {{ fs.mkdirSync(dir, {{ mode: 0o700 }}); }} catch (e) {{ if (e.code !== 'EEXIST') throw e; }}
  const st = fs.lstatSync(dir);
  const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0)
    throw new Error(dir + ' exists and is not a private directory of this user');
  const sock = path.join(dir, 'hook.sock');
  fs.rmSync(sock, {{ force: true }});
  // An in-process inspector session, opened on the first `track` request and never closed:
  // closing a session makes V8 stop tracking and forget every object id. While tracking is
  // on, V8's inspector also updates heap statistics every 50 ms and keeps the event loop
  // alive: `untrack` ends both.
  let tracking = null;
  const server = net.createServer(function heapscanSnapshotRequest(conn) {{
    let line = '';
    conn.setEncoding('utf8');
    conn.on('error', () => {{}});
    conn.on('data', (chunk) => {{
      line += chunk;
      const end = line.indexOf('\n');
      if (end < 0) {{ if (line.length > 512) conn.destroy(); return; }}
      const request = line.slice(0, end);
      if (request === 'track' || request === 'untrack') {{
        let answer = 'ok';
        try {{
          if (!tracking) {{
            tracking = {{ session: new inspector.Session(), on: false }};
            tracking.session.connect();
            tracking.session.post('HeapProfiler.enable');
          }}
          if (request === 'track' && !tracking.on) {{
            tracking.session.post('HeapProfiler.startTrackingHeapObjects', {{ trackAllocations: true }});
            tracking.on = true;
          }} else if (request === 'untrack' && tracking.on) {{
            // Stopping makes V8 take a snapshot for the session (ignored here); the ids stay.
            tracking.session.post('HeapProfiler.stopTrackingHeapObjects', {{ reportProgress: false }});
            tracking.on = false;
          }}
        }} catch (e) {{
          answer = 'error ' + String(e && e.message).replace(/\n/g, ' ');
        }}
        conn.end(answer + '\n');
        return;
      }}
      if (line.slice(0, end) === 'close-inspector') {{
        // Closed from the app's own thread once no session is connected: closing it from a
        // session blocks until that session hangs up.
        conn.on('close', () => setImmediate(() => {{ try {{ inspector.close(); }} catch (e) {{}} }}));
        conn.end('ok\n');
        return;
      }}
      const m = /^(snapshot|warm) ([A-Za-z0-9_-][A-Za-z0-9._-]{{0,120}})(?: (\/[^\0]*))?$/.exec(line.slice(0, end));
      if (!m) {{ conn.end('error bad request\n'); return; }}
      const warm = m[1] === 'warm', file = path.join(m[3] || dir, m[2]);
      // Written once this connection is gone, so that none of its objects is in the snapshot.
      conn.on('close', () => setImmediate(function heapscanWriteSnapshot() {{
        try {{
          if (warm) fs.writeFileSync(file + '.partial', '');
          else v8.writeHeapSnapshot(file + '.partial');
          fs.renameSync(file + '.partial', file);
          if (warm) fs.rmSync(file);
        }} catch (e) {{
          try {{
            fs.rmSync(file + '.partial', {{ force: true }});
            fs.writeFileSync(path.join(dir, m[2]) + '.error', String(e && e.message));
          }} catch (_) {{}}
        }}
      }}));
      conn.end('ok\n');
    }});
  }});
  Object.defineProperty(process, key, {{ value: server }});
  process.on('exit', function heapscanSnapshotHookCleanup() {{
    try {{ fs.rmSync(dir, {{ recursive: true, force: true }}); }} catch (e) {{}}
  }});
  return new Promise((resolve, reject) => {{
    server.once('error', (e) => {{ delete process[key]; reject(e); }});
    server.listen(sock, () => {{
      server.unref();
      // One request without a snapshot, so that the code a request runs is compiled before
      // the first snapshot, not between the first and the second.
      const c = net.connect(sock, () => c.end('warm warm-up\n'));
      c.resume();
      c.on('error', () => resolve('installed'));
      c.on('close', () => setImmediate(() => resolve('installed')));
    }});
  }});
}})()"#
    )
}

/// Installs the hook in the process behind `session` (idempotent). The caller closes the
/// session afterwards, before taking any snapshot.
pub fn install(session: &mut Session, pid: u32, timeout: Duration) -> Result<(), CollectError> {
    let answer = session.evaluate(
        json!({
            "expression": install_script(&dir_in_process(pid)),
            "includeCommandLineAPI": true,
            "awaitPromise": true,
            "returnByValue": true,
        }),
        timeout,
    )?;
    match answer["result"]["value"].as_str() {
        Some("installed" | "present") => Ok(()),
        _ => Err(CollectError::Inspector(format!(
            "installing heapscan's snapshot hook in process {pid} gave an unexpected answer: {}",
            answer["result"]
        ))),
    }
}

/// An error of the hook in `pid`.
fn hook_error(pid: u32, why: String) -> CollectError {
    CollectError::Other(format!("snapshot hook of process {pid}: {why}"))
}

/// Sends one request line to the hook in `pid` and returns its answer line (trimmed), waiting
/// at most `wait` for it. The connection is closed before this returns (the hook acts then).
fn ask(pid: u32, request: &str, wait: Duration) -> Result<String, CollectError> {
    let fail = |why: String| hook_error(pid, why);
    let socket = socket_path(pid);
    let stream = UnixStream::connect(&socket)
        .map_err(|e| fail(format!("cannot connect to {}: {e}", socket.display())))?;
    stream
        .set_read_timeout(Some(wait))
        .map_err(|e| fail(e.to_string()))?;
    (&stream)
        .write_all(request.as_bytes())
        .map_err(|e| fail(format!("cannot send the request: {e}")))?;
    let mut answer = String::new();
    BufReader::new(&stream)
        .read_line(&mut answer)
        .map_err(|e| fail(format!("no answer: {e}")))?;
    Ok(answer.trim_end().to_string())
}

/// Asks the hook in `pid` to track allocations from now on (`HeapProfiler.startTrackingHeapObjects`
/// with `trackAllocations`, over a session inside the process that stays open, so tracking and
/// the object ids last until the process exits): every later snapshot carries the stacks that
/// allocated its objects. Idempotent. A hook installed by an older heapscan does not know the
/// request.
pub fn start_tracking(pid: u32) -> Result<(), CollectError> {
    match ask(pid, "track\n", Duration::from_secs(30))?.as_str() {
        "error bad request" => Err(hook_error(
            pid,
            "it was installed by an older heapscan and cannot track allocations; restart the process (or start it with `heapscan record --track-allocations`)".to_string(),
        )),
        answer => answered_ok(pid, answer, "start tracking allocations"),
    }
}

/// Asks the hook in `pid` to stop tracking allocations (the ids stay; snapshots from then on
/// have no new stacks). Stopping costs the process about one snapshot's work (V8's inspector
/// takes one on stop). Nothing to do when it does not track.
pub fn stop_tracking(pid: u32) -> Result<(), CollectError> {
    let answer = ask(pid, "untrack\n", Duration::from_secs(600))?;
    answered_ok(pid, &answer, "stop tracking allocations")
}

/// Asks the hook in `pid` to close the process's inspector (the one heapscan opened to install
/// it), once no inspector session is connected.
pub fn close_inspector(pid: u32) -> Result<(), CollectError> {
    let answer = ask(pid, "close-inspector\n", Duration::from_secs(10))?;
    answered_ok(pid, &answer, "close the inspector")
}

/// `Ok` for the hook's `ok`; anything else is the error of a hook that could not `what`.
fn answered_ok(pid: u32, answer: &str, what: &str) -> Result<(), CollectError> {
    if answer == "ok" {
        return Ok(());
    }
    Err(hook_error(
        pid,
        format!(
            "could not {what}: {}",
            answer.strip_prefix("error ").unwrap_or(answer)
        ),
    ))
}

/// Is a hook listening in `pid`? (A stale socket of an earlier process with the same pid
/// refuses the connection.)
pub fn present(pid: u32) -> bool {
    UnixStream::connect(socket_path(pid)).is_ok()
}

/// Where the hook writes a snapshot.
#[derive(Debug, Clone)]
pub enum Target {
    /// Its own directory (the process lives in another mount namespace).
    HookDir,
    /// This absolute directory, which the process sees under the same path as heapscan
    /// (one mount namespace): the snapshot lands on the filesystem heapscan checked for room.
    Dir(PathBuf),
}

impl Target {
    /// The directory as heapscan reaches it.
    pub fn from_outside(&self, pid: u32) -> PathBuf {
        match self {
            Target::HookDir => dir_from_outside(pid),
            Target::Dir(d) => d.clone(),
        }
    }
}

/// Whether `pid` sees the same root as heapscan (no container, no private mounts of `/`).
pub fn same_root(pid: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (
        std::fs::metadata(format!("/proc/{pid}/root")),
        std::fs::metadata("/"),
    ) {
        (Ok(theirs), Ok(ours)) => theirs.dev() == ours.dev() && theirs.ino() == ours.ino(),
        _ => false,
    }
}

/// Asks the hook in `pid` for a snapshot, named `name` inside `target`, and waits until V8
/// has written it: the hook writes `<name>.partial` and renames it to `name` when done (or
/// leaves `<name>.error`). Returns the file's path as heapscan reaches it. `tick` is called
/// about every 100 ms with the bytes written so far.
pub fn take(
    pid: u32,
    name: &str,
    target: &Target,
    timeout: Duration,
    tick: &mut dyn FnMut(u64),
) -> Result<PathBuf, CollectError> {
    let fail = |why: String| hook_error(pid, why);
    let request = match target {
        Target::HookDir => format!("snapshot {name}\n"),
        Target::Dir(d) => {
            let d = d
                .to_str()
                .filter(|d| d.starts_with('/') && !d.contains(['\n', '\0']))
                .ok_or_else(|| fail(format!("{} is not a usable directory", d.display())))?;
            format!("snapshot {name} {d}\n")
        }
    };
    let answer = ask(pid, &request, Duration::from_secs(30))?;
    if answer != "ok" {
        return Err(fail(format!(
            "refused: {}",
            answer.strip_prefix("error ").unwrap_or(&answer)
        )));
    }
    let dir = target.from_outside(pid);
    let done = dir.join(name);
    let partial = dir.join(format!("{name}.partial"));
    let error = dir_from_outside(pid).join(format!("{name}.error"));
    let deadline = Instant::now() + timeout;
    loop {
        if done.exists() {
            return Ok(done);
        }
        if let Ok(why) = std::fs::read_to_string(&error) {
            let _ = std::fs::remove_file(&error);
            return Err(CollectError::NotWritten {
                pid,
                why: why.trim().to_string(),
            });
        }
        if !super::procfs::alive(pid) {
            return Err(CollectError::Other(format!(
                "process {pid} exited while taking a snapshot"
            )));
        }
        if Instant::now() > deadline {
            return Err(fail(format!(
                "the snapshot was not written within {timeout:?} (it may still be: {})",
                partial.display()
            )));
        }
        tick(std::fs::metadata(&partial).map_or(0, |m| m.len()));
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A file name for the hook's directory: letters, digits, `.`, `_`, `-`; not starting with a
/// dot.
pub fn file_name_for(out: &Path) -> String {
    let stem: String = out
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("snapshot")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let stem = stem.trim_start_matches('.');
    format!(
        "{}-{}",
        if stem.is_empty() { "snapshot" } else { stem },
        std::process::id()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain() {
        assert_eq!(
            file_name_for(Path::new("/x/s 1.heapsnapshot")),
            format!("s_1.heapsnapshot-{}", std::process::id())
        );
        assert!(file_name_for(Path::new("..")).starts_with("snapshot-"));
        assert!(!file_name_for(Path::new(".hidden")).starts_with('.'));
    }

    #[test]
    fn script_embeds_the_directory_as_a_string() {
        let s = install_script("/tmp/heapscan-snap-12'3");
        assert!(s.contains(r#"const dir = "/tmp/heapscan-snap-12'3";"#));
    }
}
