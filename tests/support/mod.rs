//! Real-process test support: start one of the Node.js apps in `tests/apps/`, drive it with HTTP
//! requests and capture heap snapshots of it with `--heapsnapshot-signal=SIGUSR2`.
//!
//! ```ignore
//! mod support;
//! let node = support::node_binary(Some(20));
//! let cap = support::capture("leak-cache.js", &["map"], &node, 3, 300);
//! // cap.snapshots: [.../snap-1.heapsnapshot, snap-2, snap-3], deleted when `cap` is dropped
//! let line = support::marker_line("leak-cache.js", "heapscan-expect: collection map");
//! ```
//!
//! Everything here panics with a message that says what went wrong (including the app's
//! stderr): these are test helpers. Linux only (`kill`, `/proc`). The child is killed on every
//! way out, including a panic half-way through.

#![allow(dead_code)]

mod collect;
pub mod samples;
#[allow(unused_imports)]
pub use collect::*;
pub mod report;

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The path of an app in `tests/apps/`, e.g. `app_path("leak-cache.js")`; apps under
/// `packages/` need the npm packages `scripts/test.sh` installs there.
pub fn app_path(app: &str) -> PathBuf {
    let apps = repo_root().join("tests").join("apps");
    let path = apps.join(app);
    assert!(path.is_file(), "no test app {}", path.display());
    if app.starts_with("packages/") {
        let installed = apps.join("packages/node_modules/.package-lock.json");
        assert!(
            installed.is_file(),
            "{app} runs through npm packages that are not installed: run scripts/test.sh (it installs them with `npm ci` in tests/apps/packages)"
        );
    }
    path
}

/// A Node.js binary: `None` is the `node` on `PATH`; `Some(major)` asks
/// `samples/node-version.sh major`, which uses the `node` on `PATH` when it has that major and
/// otherwise the one `scripts/test.sh` installed (from the npm registry, cached outside the
/// repo); it fails, saying so, when that was not run. Nothing is installed from a test.
pub fn node_binary(major: Option<u32>) -> PathBuf {
    static CACHE: OnceLock<Mutex<HashMap<Option<u32>, PathBuf>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(path) = cache.get(&major) {
        return path.clone();
    }
    let path = match major {
        None => find_on_path("node").expect("no `node` on PATH"),
        Some(major) => {
            let script = repo_root().join("samples").join("node-version.sh");
            let out = Command::new("bash")
                .arg(&script)
                .arg(major.to_string())
                .env("HEAPSCAN_NODE_NO_FETCH", "1")
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
            assert!(
                out.status.success(),
                "{} {major} failed ({}): {}",
                script.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            let line = text.lines().last().unwrap_or("").trim();
            PathBuf::from(line)
        }
    };
    assert!(
        path.is_file(),
        "node binary {} does not exist",
        path.display()
    );
    if let Some(major) = major {
        let got = node_major(&path);
        assert_eq!(got, major, "{} is Node {got}, not {major}", path.display());
    }
    cache.insert(major, path.clone());
    path
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// `node --version` without the `v`, e.g. `20.20.2`.
pub fn node_version(node: &Path) -> String {
    let out = Command::new(node)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} --version: {e}", node.display()));
    assert!(out.status.success(), "{} --version failed", node.display());
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .trim_start_matches('v')
        .to_string()
}

/// The major version of a Node.js binary.
pub fn node_major(node: &Path) -> u32 {
    let version = node_version(node);
    version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("cannot read a major version from `{version}`"))
}

/// The 1-based line of `tests/apps/<app>` that carries the marker comment
/// `// <marker>`, e.g. `marker_line("leak-timer.js", "heapscan-expect: timer")`. Markers sit on
/// the line of the function or class that `heapscan diff` should name. Panics unless exactly
/// one line matches.
pub fn marker_line(app: &str, marker: &str) -> u32 {
    let text = fs::read_to_string(app_path(app)).expect("read app");
    let hits: Vec<u32> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            line.split_once("//")
                .is_some_and(|(_, comment)| comment.trim() == marker)
        })
        .map(|(i, _)| i as u32 + 1)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "marker `{marker}` in {app}: expected exactly one line, found {hits:?}"
    );
    hits[0]
}

/// How to run a capture; [`CaptureOptions::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// Requests sent before the first snapshot, so that lazily created state (HTTP parser
    /// pools, a cache that plateaus, compiled code) is in place before anything is compared.
    pub warmup: usize,
    /// Number of snapshots to take.
    pub snapshots: usize,
    /// Requests sent before each snapshot.
    pub requests_between: usize,
    /// Extra Node.js flags, before the app (e.g. `--max-old-space-size=64`).
    pub node_flags: Vec<String>,
    /// Longest wait for `LISTENING <port>`.
    pub start_timeout: Duration,
    /// Longest wait for one snapshot to be written completely.
    pub snapshot_timeout: Duration,
    /// Longest wait for one HTTP request (connect, send, read the whole response).
    pub request_timeout: Duration,
    /// Requests before each snapshot, when they differ (bursty load, idle steps): overrides
    /// `snapshots` and `requests_between`.
    pub requests_before: Option<Vec<usize>>,
    /// How the snapshots are taken.
    pub via: CaptureVia,
}

/// How [`capture_with`] takes snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureVia {
    /// `--heapsnapshot-signal=SIGUSR2` and `kill -USR2`, as a user would by hand: no side
    /// files, so a diff judges from the heap alone.
    Signal,
    /// The app started without flags, each snapshot one `heapscan snap --pid` run (the hook,
    /// installed over the inspector the first time), with heapscan's side files.
    HeapscanSnap,
}

impl CaptureOptions {
    pub fn new(snapshots: usize, requests_between: usize) -> CaptureOptions {
        CaptureOptions {
            warmup: 300,
            snapshots,
            requests_between,
            node_flags: Vec::new(),
            start_timeout: Duration::from_secs(60),
            snapshot_timeout: Duration::from_secs(300),
            request_timeout: Duration::from_secs(60),
            requests_before: None,
            via: CaptureVia::Signal,
        }
    }
}

/// The snapshots of one run; they live in a temporary directory that is deleted when this is
/// dropped (set `HEAPSCAN_KEEP_CAPTURES=1` to keep it and print where it is).
pub struct Capture {
    /// `snap-1.heapsnapshot`, `snap-2.heapsnapshot`, ... in the order they were taken.
    pub snapshots: Vec<PathBuf>,
    /// The Node.js version that ran the app, e.g. `20.20.2`.
    pub node_version: String,
    /// Time from spawning the app to the last snapshot being complete.
    pub elapsed: Duration,
    /// Per snapshot: time from the signal until the file was complete.
    pub snapshot_times: Vec<Duration>,
    dir: Option<tempfile::TempDir>,
}

impl Capture {
    /// The directory holding the snapshots.
    pub fn dir(&self) -> &Path {
        self.dir.as_ref().expect("capture dir").path()
    }

    /// The snapshot paths as `&str`, handy for command lines.
    pub fn snapshot_args(&self) -> Vec<String> {
        self.snapshots
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if std::env::var_os("HEAPSCAN_KEEP_CAPTURES").is_some() {
            if let Some(dir) = self.dir.take() {
                eprintln!("keeping captured snapshots in {}", dir.keep().display());
            }
        }
    }
}

/// Runs `tests/apps/<app> <args>` under `node`, sends the default warm-up, then `snapshots`
/// times: `requests_between` requests and one heap snapshot. See [`capture_with`].
pub fn capture(
    app: &str,
    args: &[&str],
    node: &Path,
    snapshots: usize,
    requests_between: usize,
) -> Capture {
    capture_with(
        app,
        args,
        node,
        &CaptureOptions::new(snapshots, requests_between),
    )
}

/// Runs `node --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=<tmp> tests/apps/<app> <args>`
/// (in `<tmp>`, with `NODE_OPTIONS` cleared), waits for `LISTENING <port>`, sends
/// `opts.warmup` requests, then for each snapshot sends `opts.requests_between` requests
/// (or `opts.requests_before[i]`), signals the app and waits until the new
/// `Heap.*.heapsnapshot` is complete, and renames it to `snap-<i>.heapsnapshot`. With
/// [`CaptureVia::HeapscanSnap`] the app gets no flags and `heapscan snap` writes
/// `snap-<i>.heapsnapshot` (and its side file). Requests are sequential `GET /<app>/<n>` with
/// `Connection: close`.
pub fn capture_with(app: &str, args: &[&str], node: &Path, opts: &CaptureOptions) -> Capture {
    let started = Instant::now();
    let script = app_path(app);
    let dir = tempfile::Builder::new()
        .prefix("heapscan-capture-")
        .tempdir()
        .expect("create a temporary directory");
    let node_version = node_version(node);

    let mut cmd = Command::new(node);
    if opts.via == CaptureVia::Signal {
        cmd.arg("--heapsnapshot-signal=SIGUSR2")
            .arg(format!("--diagnostic-dir={}", dir.path().display()));
    }
    cmd.args(&opts.node_flags)
        .arg(&script)
        .args(args)
        .current_dir(dir.path())
        .env_remove("NODE_OPTIONS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let what = format!("{app} {} (node {node_version})", args.join(" "));
    let mut app_proc = AppProcess::spawn(cmd, what);

    let port = app_proc.wait_listening(opts.start_timeout);
    if opts.via == CaptureVia::Signal {
        app_proc.check_signal_handler();
    }

    let mut sent = 0usize;
    app_proc.send_requests(port, opts.warmup, &mut sent, opts.request_timeout);

    let plan = opts
        .requests_before
        .clone()
        .unwrap_or_else(|| vec![opts.requests_between; opts.snapshots]);
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut snapshots = Vec::with_capacity(plan.len());
    let mut snapshot_times = Vec::with_capacity(plan.len());
    for (i, &requests) in plan.iter().enumerate() {
        app_proc.send_requests(port, requests, &mut sent, opts.request_timeout);
        let dest = dir.path().join(format!("snap-{}.heapsnapshot", i + 1));
        let signalled = Instant::now();
        match opts.via {
            CaptureVia::Signal => {
                app_proc.signal("USR2");
                let raw = app_proc.wait_snapshot(dir.path(), &mut seen, opts.snapshot_timeout);
                fs::rename(&raw, &dest).unwrap_or_else(|e| {
                    panic!("rename {} -> {}: {e}", raw.display(), dest.display())
                });
            }
            CaptureVia::HeapscanSnap => app_proc.heapscan_snap(&dest, opts.snapshot_timeout),
        }
        snapshot_times.push(signalled.elapsed());
        seen.insert(dest.clone());
        snapshots.push(dest);
    }
    app_proc.stop();

    Capture {
        snapshots,
        node_version,
        elapsed: started.elapsed(),
        snapshot_times,
        dir: Some(dir),
    }
}

/// True when `path` looks like a completely written heap snapshot: it starts with `{` and its
/// last non-whitespace bytes are `]}`.
pub fn is_complete_snapshot(path: &Path) -> bool {
    let Ok(mut file) = fs::File::open(path) else {
        return false;
    };
    let Ok(len) = file.metadata().map(|m| m.len()) else {
        return false;
    };
    if len < 16 {
        return false;
    }
    let mut head = [0u8; 1];
    if file.read_exact(&mut head).is_err() || head[0] != b'{' {
        return false;
    }
    let tail_len = len.min(4096);
    let mut tail = vec![0u8; tail_len as usize];
    if file.seek(SeekFrom::Start(len - tail_len)).is_err() || file.read_exact(&mut tail).is_err() {
        return false;
    }
    let end = tail
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |p| p + 1);
    tail[..end].ends_with(b"]}")
}

/// A running app; killed (and reaped) when dropped.
struct AppProcess {
    child: Child,
    what: String,
    stdout_lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

/// How much of the app's stderr is kept for error messages.
const STDERR_KEEP: usize = 64 * 1024;

impl AppProcess {
    fn spawn(mut cmd: Command, what: String) -> AppProcess {
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr_pipe = child.stderr.take().expect("piped stderr");
        let (tx, stdout_lines) = mpsc::channel();
        // Drain both pipes for the whole life of the child so that it never blocks on them.
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    // Nobody listens any more: keep draining.
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        thread::spawn(move || {
            let mut reader = BufReader::new(stderr_pipe);
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut text = sink.lock().unwrap_or_else(|e| e.into_inner());
                if text.len() < STDERR_KEEP {
                    text.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        AppProcess {
            child,
            what,
            stdout_lines,
            stderr,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stderr_text(&self) -> String {
        // Give the reader thread a moment to collect what a dying process wrote last.
        thread::sleep(Duration::from_millis(100));
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Panics with `msg`, the exit status if the app has exited, and its stderr.
    fn fail(&mut self, msg: &str) -> ! {
        let status = match self.child.try_wait() {
            Ok(Some(status)) => format!("exited: {status}"),
            Ok(None) => "still running (killed now)".to_string(),
            Err(e) => format!("status unknown: {e}"),
        };
        let _ = self.child.kill();
        let _ = self.child.wait();
        panic!(
            "{}: {msg}\napp {status}\n--- app stderr ---\n{}",
            self.what,
            self.stderr_text()
        );
    }

    /// Panics if the app has exited.
    fn check_alive(&mut self, doing: &str) {
        if let Ok(Some(_)) = self.child.try_wait() {
            self.fail(&format!("the app died while {doing}"));
        }
    }

    fn wait_listening(&mut self, timeout: Duration) -> u16 {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.fail(&format!("no `LISTENING <port>` line within {timeout:?}"));
            }
            match self
                .stdout_lines
                .recv_timeout(left.min(Duration::from_millis(200)))
            {
                Ok(line) => {
                    if let Some(port) = line.trim().strip_prefix("LISTENING ") {
                        match port.trim().parse() {
                            Ok(port) => return port,
                            Err(_) => self.fail(&format!("bad LISTENING line {line:?}")),
                        }
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => self.check_alive("starting"),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.fail("stdout closed before `LISTENING <port>`")
                }
            }
        }
    }

    /// SIGUSR2 kills a process that does not handle it: make sure the `--heapsnapshot-signal`
    /// handler is installed (`SigCgt` bit 0x800 in `/proc/PID/status`) before signalling.
    fn check_signal_handler(&mut self) {
        let status_path = format!("/proc/{}/status", self.pid());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let caught = fs::read_to_string(&status_path).ok().and_then(|status| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("SigCgt:"))
                    .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            });
            match caught {
                Some(mask) if mask & (1 << (12 - 1)) != 0 => return,
                None => return, // no /proc: nothing to check
                Some(_) if Instant::now() > deadline => {
                    self.fail("the app does not catch SIGUSR2 (no --heapsnapshot-signal handler)")
                }
                Some(_) => thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    fn send_requests(&mut self, port: u16, count: usize, sent: &mut usize, timeout: Duration) {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        for _ in 0..count {
            *sent += 1;
            let path = format!("/req/{}", *sent);
            let mut attempt = 0;
            loop {
                attempt += 1;
                match http_get(addr, &path, timeout) {
                    Ok(()) => break,
                    Err(e) => {
                        self.check_alive("serving requests");
                        if attempt >= 5 {
                            self.fail(&format!("request {path} failed {attempt} times: {e}"));
                        }
                        thread::sleep(Duration::from_millis(100 * attempt));
                    }
                }
            }
        }
    }

    fn signal(&mut self, sig: &str) {
        self.check_alive("waiting to be signalled");
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => self.fail(&format!("kill -{sig} failed: {s}")),
            Err(e) => self.fail(&format!("cannot run kill: {e}")),
        }
    }

    /// Waits for a `Heap.*.heapsnapshot` in `dir` not in `seen`, and for it to be complete:
    /// it ends with `]}`, its size has not changed for a few polls and the app no longer has
    /// it open (checked through `/proc/PID/fd` when readable).
    fn wait_snapshot(
        &mut self,
        dir: &Path,
        seen: &mut HashSet<PathBuf>,
        timeout: Duration,
    ) -> PathBuf {
        const POLL: Duration = Duration::from_millis(50);
        const STABLE_POLLS: u32 = 4;
        let deadline = Instant::now() + timeout;
        let mut found: Option<PathBuf> = None;
        let mut last_size = u64::MAX;
        let mut stable = 0u32;
        loop {
            if Instant::now() > deadline {
                let state = match &found {
                    None => "no new Heap.*.heapsnapshot appeared".to_string(),
                    Some(p) => format!(
                        "{} is still incomplete ({} bytes)",
                        p.display(),
                        fs::metadata(p).map(|m| m.len()).unwrap_or(0)
                    ),
                };
                self.fail(&format!("snapshot not written within {timeout:?}: {state}"));
            }
            if found.is_none() {
                found = new_snapshot_file(dir, seen);
                if let Some(p) = &found {
                    seen.insert(p.clone());
                }
            }
            if let Some(path) = &found {
                let size = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
                if size == last_size && size > 0 {
                    stable += 1;
                } else {
                    stable = 0;
                    last_size = size;
                }
                if stable >= STABLE_POLLS && !self.has_open(path) && is_complete_snapshot(path) {
                    return path.clone();
                }
            }
            self.check_alive("writing a heap snapshot");
            thread::sleep(POLL);
        }
    }

    /// `heapscan snap --pid <app> -o dest`, which must succeed. Runs that may open the
    /// inspector (its port is fixed) take turns within a test binary.
    fn heapscan_snap(&mut self, dest: &Path, timeout: Duration) {
        static INSPECTOR: Mutex<()> = Mutex::new(());
        let _turn = INSPECTOR.lock().unwrap_or_else(|e| e.into_inner());
        self.check_alive("waiting for a snapshot");
        let out = Command::new(env!("CARGO_BIN_EXE_heapscan"))
            .args(["snap", "--pid", &self.pid().to_string(), "--timeout"])
            .arg(format!("{}s", timeout.as_secs()))
            .arg("-o")
            .arg(dest)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| self.fail(&format!("cannot run heapscan snap: {e}")));
        if !out.status.success() {
            self.fail(&format!(
                "heapscan snap failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }

    /// True if the app has `path` open (false when `/proc` cannot tell).
    fn has_open(&self, path: &Path) -> bool {
        let Ok(entries) = fs::read_dir(format!("/proc/{}/fd", self.pid())) else {
            return false;
        };
        let want = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        entries
            .flatten()
            .filter_map(|e| fs::read_link(e.path()).ok())
            .any(|target| target == want || target == path)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

fn new_snapshot_file(dir: &Path, seen: &HashSet<PathBuf>) -> Option<PathBuf> {
    let mut fresh: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("Heap.") && n.ends_with(".heapsnapshot"))
        })
        .filter(|p| !seen.contains(p))
        .collect();
    // Names end with a per-process sequence number, so the oldest sorts first.
    fresh.sort();
    fresh.into_iter().next()
}

/// One `GET` with `Connection: close`; Ok when the whole response was read and it is a 200.
fn http_get(addr: SocketAddr, path: &str, timeout: Duration) -> std::io::Result<()> {
    use std::io::{Error, ErrorKind};
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUser-Agent: heapscan-tests\r\nConnection: close\r\n\r\n",
        addr.port()
    )?;
    stream.flush()?;
    let mut response = Vec::with_capacity(256);
    stream.read_to_end(&mut response)?;
    let _ = stream.shutdown(Shutdown::Both);
    let status_line = response.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let status_line = String::from_utf8_lossy(status_line);
    if status_line.starts_with("HTTP/1.1 200") {
        Ok(())
    } else if response.is_empty() {
        Err(Error::new(ErrorKind::UnexpectedEof, "empty response"))
    } else {
        Err(Error::other(format!(
            "unexpected response `{}`",
            status_line.trim()
        )))
    }
}
