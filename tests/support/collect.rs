//! The collector's test helpers (part of [`super`]): Node binaries by major version, child
//! processes that are killed when a test fails, and waiting on conditions with a deadline
//! (never sleep-and-hope: CI machines are slow and loaded).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use super as support;

/// The repository root.
pub fn root() -> PathBuf {
    support::repo_root()
}

/// The heapscan binary built for these tests.
pub fn heapscan() -> Command {
    Command::new(env!("CARGO_BIN_EXE_heapscan"))
}

/// Runs a command that must succeed; returns its output (stderr shown on failure).
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run command");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a repo script that prints one path (`samples/node-version.sh 20`) and returns it.
pub fn script_path(script: &str, args: &[&str]) -> PathBuf {
    let out = run_ok(Command::new("bash").arg(root().join(script)).args(args));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Path of a `node` binary of major version `major` ([`support::node_binary`]: via
/// `samples/node-version.sh`, which fetches it from the npm registry once and caches it outside
/// the repo).
pub fn node(major: u32) -> PathBuf {
    support::node_binary(Some(major))
}

/// A child process killed (with its process group, when it leads one) on drop, so a failing
/// assertion never leaves a Node process running.
pub struct Guard {
    pub child: Option<Child>,
}

impl Guard {
    pub fn new(child: Child) -> Self {
        Guard { child: Some(child) }
    }
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }
    pub fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("child already taken")
    }
    /// Waits for exit with a deadline; kills and panics when it is passed.
    pub fn wait_output(mut self, limit: Duration) -> Output {
        let child = self.child.take().expect("child");
        let pid = child.id() as i32;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        match rx.recv_timeout(limit) {
            Ok(out) => out.expect("wait for child"),
            Err(_) => {
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
                panic!("process {pid} did not exit within {limit:?}");
            }
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let pid = c.id() as i32;
            // SAFETY: plain kill(2) calls on a pid we spawned (and its group, if it leads one).
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
                libc::kill(pid, libc::SIGKILL);
            }
            let _ = c.wait();
        }
    }
}

/// Polls `cond` every 50 ms until it returns `Some`, or panics with `what` after `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut cond: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = cond() {
            return v;
        }
        if start.elapsed() > limit {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a process is still alive (and not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// Lists files in `dir` whose names end with `suffix`, sorted.
pub fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.to_string_lossy().ends_with(suffix))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Checks a heap snapshot file the way the tests want it: ends with `]}` and its header and
/// node/edge counts parse as JSON (the whole file is parsed: test snapshots are small).
pub fn assert_complete_snapshot(path: &Path) {
    let text = std::fs::read_to_string(path).expect("read snapshot");
    assert!(
        text.trim_end().ends_with("]}"),
        "{} is truncated",
        path.display()
    );
    let v: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
    let nodes = v["snapshot"]["node_count"].as_u64().expect("node_count");
    assert!(nodes > 1000, "{} has only {nodes} nodes", path.display());
    let fields = v["snapshot"]["meta"]["node_fields"]
        .as_array()
        .expect("meta")
        .len() as u64;
    assert_eq!(
        v["nodes"].as_array().expect("nodes").len() as u64,
        nodes * fields
    );
}

/// The collector's test app (tests/apps/server.js).
pub fn server_js() -> PathBuf {
    root().join("tests/apps/server.js")
}

/// A child whose stdout is collected in the background, so a test can wait on its content.
pub struct Collected {
    pub guard: Guard,
    pub stdout: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Collected {
    pub fn spawn(mut cmd: Command) -> Collected {
        use std::io::Read;
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut out = child.stdout.take().expect("stdout");
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = stdout.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Collected {
            guard: Guard::new(child),
            stdout,
            reader: Some(reader),
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    /// Waits for `LISTENING <port>` from an app of tests/apps/ (tests/apps/common.js).
    pub fn listening_port(&self) -> u16 {
        self.nth_listening_port(1)
    }

    /// The port of the `nth` (1-based) `LISTENING <port>` line: the app's `nth` run under a
    /// supervisor that restarts it.
    pub fn nth_listening_port(&self, nth: usize) -> u16 {
        wait_for("the app to listen", Duration::from_secs(60), || {
            self.text()
                .lines()
                .filter_map(|l| l.strip_prefix("LISTENING "))
                .nth(nth - 1)
                .and_then(|p| p.trim().parse().ok())
        })
    }

    /// Spawns `cmd` as the leader of its own process group (so the guard can kill the whole
    /// group), its stdout collected.
    pub fn spawn_in_group(mut cmd: Command) -> Collected {
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        Collected::spawn(cmd)
    }

    /// Waits for `listening PORT` from tests/apps/server.js; the `nth` one (1-based).
    pub fn port(&self, nth: usize) -> u16 {
        wait_for("the app to listen", Duration::from_secs(60), || {
            self.text()
                .lines()
                .filter_map(|l| l.strip_prefix("listening "))
                .nth(nth - 1)
                .and_then(|p| p.trim().parse().ok())
        })
    }

    /// Sends `sig` to the process, waits for it to exit, returns (exit code, all stdout).
    pub fn stop(self, sig: i32, limit: Duration) -> (Option<i32>, Vec<u8>) {
        let pid = self.guard.pid() as i32;
        // SAFETY: kill(2) on our own child.
        unsafe {
            libc::kill(pid, sig);
        }
        self.wait(limit)
    }

    /// Waits for exit (killing it after `limit`), returns (exit code, all stdout).
    pub fn wait(mut self, limit: Duration) -> (Option<i32>, Vec<u8>) {
        let child = self.guard.child();
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().expect("try_wait") {
                break s;
            }
            if start.elapsed() > limit {
                panic!("process did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        if let Some(r) = self.reader.take() {
            r.join().expect("reader");
        }
        self.guard.child = None;
        let out = self.stdout.lock().unwrap().clone();
        (status.code(), out)
    }
}

/// `n` HTTP GETs to 127.0.0.1:port, one connection each; returns how many got an answer.
pub fn load(port: u16, n: usize) -> usize {
    use std::io::{Read, Write};
    let mut ok = 0;
    for i in 0..n {
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            continue;
        };
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let req = format!("GET /r{i} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
        if s.write_all(req.as_bytes()).is_err() {
            continue;
        }
        let mut answer = Vec::new();
        if s.read_to_end(&mut answer).is_ok() && answer.starts_with(b"HTTP/1.1 200") {
            ok += 1;
        }
    }
    ok
}

/// The events of a session, parsed.
pub fn events(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Events named `name` (and, when given, with this trigger).
pub fn events_named(dir: &Path, name: &str, trigger: Option<&str>) -> Vec<serde_json::Value> {
    events(dir)
        .into_iter()
        .filter(|e| e["event"] == name && trigger.is_none_or(|t| e["trigger"] == t))
        .collect()
}
