//! `heapscan snap`: a heap snapshot of a running Node.js process, without restarting it.
//!
//! Three paths, chosen in this order:
//! 1. the process runs under `heapscan record`: ask the recorder (SIGUSR2 to it), so the
//!    snapshot lands in the session, numbered, with its events;
//! 2. it was started with `--heapsnapshot-signal=SIG` (argv or NODE_OPTIONS) *and* catches
//!    that signal (`SigCgt`): send it and wait for V8's `Heap.*.heapsnapshot` file;
//! 3. otherwise the inspector: SIGUSR1 (only when Node's handler for it is installed, or the
//!    signal would kill the process), find the new listening port, take the snapshot over
//!    the DevTools protocol, and close the inspector again if we opened it.
//!
//! Never: SIGUSR2 without the flag (kills the process), anything but loopback.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use super::complete::{wait_complete, Completeness};
use super::inspector::{self, Session};
use super::procfs::{self, SIGUSR1, SIGUSR2};
use super::{safety, CollectError};

/// Environment variables `heapscan record` gives its child, so `snap` can find the session.
pub const ENV_RECORD_PID: &str = "HEAPSCAN_RECORD_PID";
pub const ENV_SESSION_DIR: &str = "HEAPSCAN_SESSION_DIR";

/// How the snapshot was taken.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "method", rename_all = "kebab-case")]
pub enum Method {
    Session { record_pid: u32 },
    Signal { signal: String },
    Inspector { port: u16, opened_by_heapscan: bool },
}

#[derive(Debug, Clone, Serialize)]
pub struct SnapResult {
    pub pid: u32,
    pub path: PathBuf,
    pub size: u64,
    pub duration_ms: u64,
    #[serde(flatten)]
    pub method: Method,
}

pub struct SnapOptions<'a> {
    /// Where to write; `None` is `./<pid>-<unix-seconds>.heapsnapshot`, or for a process
    /// under `heapscan record`, the session's own numbered file.
    pub out: Option<PathBuf>,
    /// Time limit for the whole snapshot.
    pub timeout: Duration,
    /// Progress of the inspector path: (done, total) as V8 reports it.
    pub progress: &'a mut dyn FnMut(u64, u64),
}

/// A flag's value from argv-like words: `--name=value` or `--name value`.
pub fn flag_value(words: &[String], name: &str) -> Option<String> {
    let mut found = None;
    let mut it = words.iter();
    while let Some(w) = it.next() {
        if w == "--" {
            break;
        }
        if let Some(v) = w.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
            found = Some(v.to_string());
        } else if w == name {
            found = it.next().cloned();
        }
    }
    found
}

/// Node's options as the process sees them: its argv up to the script, then NODE_OPTIONS.
fn node_options(pid: u32) -> Vec<String> {
    let mut words: Vec<String> = procfs::cmdline(pid)
        .unwrap_or_default()
        .into_iter()
        .skip(1)
        .take_while(|w| w.starts_with('-'))
        .collect();
    if let Ok(env) = procfs::environ(pid) {
        if let Some(opts) = env.iter().find_map(|e| e.strip_prefix("NODE_OPTIONS=")) {
            words.extend(
                opts.split_whitespace()
                    .map(|w| w.trim_matches('"').to_string()),
            );
        }
    }
    words
}

fn env_var(pid: u32, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    procfs::environ(pid)
        .ok()?
        .into_iter()
        .find_map(|e| e.strip_prefix(&prefix).map(str::to_string))
}

/// Signal number of a name like `SIGUSR2` (the ones Node accepts for snapshots).
pub fn signal_number(name: &str) -> Option<i32> {
    Some(match name.trim_start_matches("SIG") {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "TERM" => libc::SIGTERM,
        "PWR" => libc::SIGPWR,
        "WINCH" => libc::SIGWINCH,
        "TTIN" => libc::SIGTTIN,
        "TTOU" => libc::SIGTTOU,
        "XCPU" => libc::SIGXCPU,
        "XFSZ" => libc::SIGXFSZ,
        "VTALRM" => libc::SIGVTALRM,
        "PROF" => libc::SIGPROF,
        _ => return None,
    })
}

/// `<pid>-<unix-seconds>.heapsnapshot` in the current directory.
pub fn default_name(pid: u32) -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    PathBuf::from(format!("{pid}-{secs}.heapsnapshot"))
}

/// Takes a snapshot of `pid` into `opts.out`.
pub fn snapshot_pid(pid: u32, opts: SnapOptions) -> Result<SnapResult, CollectError> {
    let started = Instant::now();
    let status = procfs::status(pid)?;
    if let Some(record_pid) = env_var(pid, ENV_RECORD_PID).and_then(|p| p.parse::<u32>().ok()) {
        if procfs::alive(record_pid) && procfs::status(record_pid)?.name.starts_with("heapscan") {
            let session = env_var(pid, ENV_SESSION_DIR).map(PathBuf::from);
            if let Some(dir) = session.filter(|d| d.is_dir()) {
                return via_session(pid, record_pid, &dir, &opts, started);
            }
        }
    }
    let mut opts = opts;
    let out = opts.out.take().unwrap_or_else(|| default_name(pid));
    if !procfs::is_node(pid) {
        return Err(CollectError::Refused(format!(
            "process {pid} ({}) is not Node.js: refusing to signal it",
            status.name
        )));
    }
    let out_dir = parent_dir(&out);
    safety::check_room(status.vm_rss, &out_dir)?;
    let options = node_options(pid);
    if let Some(name) = flag_value(&options, "--heapsnapshot-signal") {
        match signal_number(&name) {
            Some(sig) if status.catches(sig) => {
                return via_signal(pid, &name, sig, &options, out, opts.timeout, started)
            }
            _ => {} // flag without a handler (yet): the inspector path is the safe one
        }
    }
    via_inspector(pid, &status, &options, out, opts, started)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Moves a finished file into place (rename, or copy when crossing filesystems).
pub fn move_file(from: &Path, to: &Path) -> Result<(), CollectError> {
    if std::fs::rename(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to).map_err(|e| CollectError::io(to, e))?;
    std::fs::remove_file(from).map_err(|e| CollectError::io(from, e))
}

fn via_signal(
    pid: u32,
    name: &str,
    sig: i32,
    options: &[String],
    out: PathBuf,
    timeout: Duration,
    started: Instant,
) -> Result<SnapResult, CollectError> {
    let cwd = procfs::cwd(pid)?;
    let dir = match flag_value(options, "--diagnostic-dir") {
        Some(d) => cwd.join(d),
        None => cwd,
    };
    let size = take_via_signal(pid, name, sig, &dir, &out, started + timeout)?;
    Ok(SnapResult {
        pid,
        path: out,
        size,
        duration_ms: started.elapsed().as_millis() as u64,
        method: Method::Signal {
            signal: name.to_string(),
        },
    })
}

/// Sends `sig` to a process started with `--heapsnapshot-signal`, waits for V8's file in
/// `dir` to appear and be complete, and moves it to `out`. A truncated file is deleted.
/// Returns the size.
pub fn take_via_signal(
    pid: u32,
    name: &str,
    sig: i32,
    dir: &Path,
    out: &Path,
    deadline: Instant,
) -> Result<u64, CollectError> {
    let before = heap_files(dir, pid);
    procfs::send_signal(pid as i32, sig)?;
    // V8 builds the graph first and creates the file only then: wait for it to appear.
    let file = loop {
        if let Some(f) = heap_files(dir, pid)
            .into_iter()
            .find(|f| !before.contains(f))
        {
            break f;
        }
        if !procfs::alive(pid) {
            return Err(CollectError::Other(format!(
                "process {pid} exited while taking a snapshot"
            )));
        }
        if Instant::now() > deadline {
            return Err(CollectError::Other(format!(
                "no Heap.*.{pid}.*.heapsnapshot appeared in {} in time after {name}",
                dir.display(),
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let left = deadline.saturating_duration_since(Instant::now());
    match wait_complete(&file, Duration::from_millis(500), left, || {
        procfs::alive(pid)
    }) {
        Completeness::Complete { size } => {
            move_file(&file, out)?;
            Ok(size)
        }
        Completeness::Incomplete(why) => {
            let _ = std::fs::remove_file(&file);
            Err(CollectError::Snapshot {
                path: file,
                problem: format!("{why}; the truncated file was deleted"),
            })
        }
    }
}

/// `Heap.YYYYMMDD.HHMMSS.PID.TID.SEQ.heapsnapshot` files of `pid` in `dir`.
fn heap_files(dir: &Path, pid: u32) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    let parts: Vec<&str> = name.split('.').collect();
                    parts.len() == 7
                        && parts[0] == "Heap"
                        && parts[3] == pid.to_string()
                        && parts[6] == "heapsnapshot"
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The port the inspector is asked to use (`--inspect[-brk|-port]=[host:]port`), else 9229.
fn inspect_port(options: &[String]) -> u16 {
    ["--inspect-port", "--inspect", "--inspect-brk"]
        .iter()
        .filter_map(|f| flag_value(options, f))
        .find_map(|v| v.rsplit(':').next().and_then(|p| p.parse().ok()))
        .unwrap_or(9229)
}

fn via_inspector(
    pid: u32,
    status: &procfs::ProcStatus,
    options: &[String],
    out: PathBuf,
    opts: SnapOptions,
    started: Instant,
) -> Result<SnapResult, CollectError> {
    let probe_timeout = Duration::from_secs(3);
    let before = procfs::listening_ports(pid);
    let wanted = inspect_port(options);
    let (port, path, opened) = match before
        .contains(&wanted)
        .then(|| inspector::probe(wanted, probe_timeout))
        .flatten()
    {
        Some(path) => (wanted, path, false),
        None => {
            if !status.catches(SIGUSR1) {
                return Err(CollectError::Refused(format!(
                    "process {pid} has no SIGUSR1 handler (started with --disable-sigusr1?), so SIGUSR1 would kill it; restart it with --heapsnapshot-signal=SIGUSR2 or --inspect=127.0.0.1:PORT"
                )));
            }
            if std::net::TcpStream::connect_timeout(
                &std::net::SocketAddr::from(([127, 0, 0, 1], wanted)),
                Duration::from_secs(1),
            )
            .is_ok()
            {
                return Err(CollectError::Refused(format!(
                    "port {wanted} on 127.0.0.1 is used by another process, so process {pid} could not open its inspector there; free the port and retry"
                )));
            }
            procfs::send_signal(pid as i32, SIGUSR1)?;
            let deadline = Instant::now() + Duration::from_secs(15).min(opts.timeout);
            loop {
                let new: Vec<u16> = procfs::listening_ports(pid)
                    .into_iter()
                    .filter(|p| !before.contains(p))
                    .collect();
                if let Some((p, path)) = new
                    .iter()
                    .find_map(|&p| inspector::probe(p, probe_timeout).map(|path| (p, path)))
                {
                    break (p, path, true);
                }
                if Instant::now() > deadline {
                    return Err(CollectError::Inspector(format!(
                        "process {pid} did not open its inspector within 15 s of SIGUSR1 (is port {wanted} used by another process? see the app's stderr)"
                    )));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    let result = inspector_snapshot(pid, port, &path, opened, out, opts, started);
    if result.is_err() && opened {
        // Best effort: do not leave an inspector we opened listening after a failure.
        if let Ok(mut s) = Session::connect(port, &path, Duration::from_secs(10)) {
            let _ = s.close_inspector();
            s.close();
        }
    }
    result
}

fn inspector_snapshot(
    pid: u32,
    port: u16,
    path: &str,
    opened: bool,
    out: PathBuf,
    opts: SnapOptions,
    started: Instant,
) -> Result<SnapResult, CollectError> {
    // Write to a hidden temp name first: a half-written file must never sit at `out`.
    let tmp = out.with_file_name(format!(
        ".{}.partial",
        out.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("snapshot")
    ));
    let file = File::create(&tmp).map_err(|e| CollectError::io(&tmp, e))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let taken = (|| {
        let mut s = Session::connect(port, path, Duration::from_secs(120))?;
        s.take_heap_snapshot(&mut w, opts.timeout, opts.progress)?;
        std::io::Write::flush(&mut w).map_err(|e| CollectError::io(&tmp, e))?;
        if opened {
            s.close_inspector()?;
        }
        s.close();
        Ok::<(), CollectError>(())
    })();
    drop(w);
    if let Err(e) = taken {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    match super::complete::check_now(&tmp) {
        Completeness::Complete { size } => {
            move_file(&tmp, &out)?;
            Ok(SnapResult {
                pid,
                path: out,
                size,
                duration_ms: started.elapsed().as_millis() as u64,
                method: Method::Inspector {
                    port,
                    opened_by_heapscan: opened,
                },
            })
        }
        Completeness::Incomplete(why) => {
            let _ = std::fs::remove_file(&tmp);
            Err(CollectError::Snapshot {
                path: out,
                problem: format!("{why}; the partial file was deleted"),
            })
        }
    }
}

/// The target runs under `heapscan record`: ask the recorder and wait for its event.
fn via_session(
    pid: u32,
    record_pid: u32,
    dir: &Path,
    opts: &SnapOptions,
    started: Instant,
) -> Result<SnapResult, CollectError> {
    let events = dir.join("events.jsonl");
    // Only outcomes of signal-triggered snapshots answer us (interval ones may interleave).
    let outcomes = || {
        super::record::snapshot_outcomes(&events)
            .into_iter()
            .filter(|o| o.trigger == "signal")
            .collect::<Vec<_>>()
    };
    let seen = outcomes().len();
    procfs::send_signal(record_pid as i32, SIGUSR2)?;
    let deadline = started + opts.timeout;
    loop {
        if let Some(outcome) = outcomes().get(seen) {
            let (Some(file), "snapshot-finished") = (&outcome.file, outcome.event.as_str()) else {
                return Err(CollectError::Other(format!(
                    "the recording session (heapscan pid {record_pid}) did not take the snapshot: {}",
                    outcome.why.as_deref().unwrap_or("no reason given")
                )));
            };
            let mut path = dir.join(file);
            if let Some(out) = &opts.out {
                std::fs::copy(&path, out).map_err(|e| CollectError::io(out, e))?;
                path = out.clone();
            }
            return Ok(SnapResult {
                pid,
                path,
                size: outcome.size,
                duration_ms: started.elapsed().as_millis() as u64,
                method: Method::Session { record_pid },
            });
        }
        if Instant::now() > deadline || !procfs::alive(record_pid) {
            return Err(CollectError::Other(format!(
                "the recording session (heapscan pid {record_pid}) did not finish a snapshot within {:?}",
                opts.timeout
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One app as `pm2 jlist` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pm2App {
    pub name: String,
    pub pm_id: u64,
    pub pid: u32,
    pub status: String,
    pub max_memory_restart: Option<u64>,
}

/// Parses `pm2 jlist` output (PM2 may print warnings before the JSON array).
pub fn parse_pm2_jlist(text: &str) -> Result<Vec<Pm2App>, CollectError> {
    let start = text
        .find('[')
        .ok_or_else(|| CollectError::Other("`pm2 jlist` printed no JSON list".into()))?;
    let v: Value = serde_json::from_str(text[start..].trim())
        .map_err(|e| CollectError::Other(format!("`pm2 jlist` output does not parse: {e}")))?;
    let apps = v
        .as_array()
        .ok_or_else(|| CollectError::Other("`pm2 jlist` did not print a list".into()))?;
    Ok(apps
        .iter()
        .map(|a| Pm2App {
            name: a["name"].as_str().unwrap_or("").to_string(),
            pm_id: a["pm_id"].as_u64().unwrap_or(0),
            pid: a["pid"].as_u64().unwrap_or(0) as u32,
            status: a["pm2_env"]["status"].as_str().unwrap_or("").to_string(),
            max_memory_restart: a["pm2_env"]["max_memory_restart"].as_u64(),
        })
        .collect())
}

/// The online instances of a PM2 app, by name or pm_id, found with `pm2 jlist`.
pub fn pm2_instances(pm2: &Path, name: &str) -> Result<Vec<Pm2App>, CollectError> {
    let out = std::process::Command::new(pm2)
        .arg("jlist")
        .output()
        .map_err(|e| {
            CollectError::Other(format!(
                "cannot run `{} jlist`: {e} (is PM2 installed? use --pm2-bin PATH)",
                pm2.display()
            ))
        })?;
    if !out.status.success() {
        return Err(CollectError::Other(format!(
            "`{} jlist` failed: {}",
            pm2.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let apps = parse_pm2_jlist(&String::from_utf8_lossy(&out.stdout))?;
    let matching: Vec<Pm2App> = apps
        .iter()
        .filter(|a| a.name == name || a.pm_id.to_string() == name)
        .cloned()
        .collect();
    if matching.is_empty() {
        let known: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
        return Err(CollectError::Other(format!(
            "PM2 has no app named '{name}' (it has: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    let online: Vec<Pm2App> = matching
        .into_iter()
        .filter(|a| a.status == "online" && a.pid != 0)
        .collect();
    if online.is_empty() {
        return Err(CollectError::Other(format!(
            "PM2 app '{name}' has no online instance"
        )));
    }
    Ok(online)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn flags() {
        let w = words(
            "--max-old-space-size=100 --heapsnapshot-signal SIGUSR2 --inspect=127.0.0.1:9333",
        );
        assert_eq!(
            flag_value(&w, "--heapsnapshot-signal").as_deref(),
            Some("SIGUSR2")
        );
        assert_eq!(inspect_port(&w), 9333);
        assert_eq!(inspect_port(&words("--inspect")), 9229);
        assert_eq!(signal_number("SIGUSR2"), Some(SIGUSR2));
        assert_eq!(signal_number("SIGKILL"), None);
    }

    #[test]
    fn pm2_jlist() {
        let text = r#">>>> In-memory PM2 is out-of-date
[{"pid":123,"name":"api","pm_id":0,"pm2_env":{"status":"online","max_memory_restart":104857600}},
 {"pid":0,"name":"worker","pm_id":1,"pm2_env":{"status":"stopped"}}]"#;
        let apps = parse_pm2_jlist(text).unwrap();
        assert_eq!(apps[0].pid, 123);
        assert_eq!(apps[0].max_memory_restart, Some(100 << 20));
        assert_eq!(apps[1].status, "stopped");
        assert!(parse_pm2_jlist("nothing").is_err());
    }
}
