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

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use super::complete::{wait_complete, Completeness};
use super::events::SnapshotEvent;
use super::hook;
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
    /// By the `heapscan record` session the process runs under.
    Session { record_pid: u32 },
    /// By the process's `--heapsnapshot-signal`.
    Signal { signal: String },
    /// By heapscan's snapshot hook in the process (see `hook`); `installed_now` when this
    /// run installed it, over the inspector.
    Hook { installed_now: Option<InstalledVia> },
    /// Over the inspector, because the hook could not be installed: its ids are not kept.
    Inspector { port: u16, opened_by_heapscan: bool },
}

/// The inspector through which the hook was installed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InstalledVia {
    pub port: u16,
    pub opened_by_heapscan: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SnapResult {
    pub pid: u32,
    pub path: PathBuf,
    pub size: u64,
    pub duration_ms: u64,
    #[serde(flatten)]
    pub method: Method,
    /// Something the user should know about this snapshot (e.g. its ids will not be kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// Which way to take a snapshot when the process is not under `heapscan record`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Via {
    /// The hook if installed, else the process's `--heapsnapshot-signal`, else the inspector
    /// (installing the hook).
    #[default]
    Auto,
    /// Only the process's `--heapsnapshot-signal`: an error when it has none.
    Signal,
    /// Only the hook (installed over the inspector when missing), even when a snapshot signal
    /// is configured.
    Hook,
}

pub struct SnapOptions<'a> {
    /// Where to write; `None` is `./<pid>-<unix-seconds>.heapsnapshot`, or for a process
    /// under `heapscan record`, the session's own numbered file.
    pub out: Option<PathBuf>,
    /// Time limit for the whole snapshot.
    pub timeout: Duration,
    pub via: Via,
    /// Progress: bytes of the snapshot written so far (where heapscan can see the file grow).
    pub progress: &'a mut dyn FnMut(u64),
    /// Turn allocation tracking on in the process (through the hook) before the snapshot.
    pub track_allocations: bool,
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

/// The `heapscan record` session `pid` runs under, if it is alive: (recorder pid, folder).
pub fn recording_session(pid: u32) -> Option<(u32, PathBuf)> {
    let record_pid = env_var(pid, ENV_RECORD_PID)?.parse::<u32>().ok()?;
    let recorder = procfs::status(record_pid).ok()?;
    if !procfs::alive(record_pid) || !recorder.name.starts_with("heapscan") {
        return None;
    }
    let dir = PathBuf::from(env_var(pid, ENV_SESSION_DIR)?);
    dir.is_dir().then_some((record_pid, dir))
}

/// Takes a snapshot of `pid` into `opts.out`, with its side file (see `provenance`).
pub fn snapshot_pid(pid: u32, opts: SnapOptions) -> Result<SnapResult, CollectError> {
    let started = Instant::now();
    let status = procfs::status(pid)?;
    if let Some((record_pid, dir)) = recording_session(pid) {
        if opts.track_allocations {
            return Err(CollectError::Refused(format!(
                "process {pid} runs under `heapscan record` (pid {record_pid}): allocation tracking is set when the session starts (`heapscan record --track-allocations`)"
            )));
        }
        // The recorder writes the side file of its own snapshots.
        return via_session(pid, record_pid, &dir, &opts, started);
    }
    let before = procfs::stat(pid).ok();
    let result = take(pid, status, opts, started)?;
    write_provenance(pid, before, &result.path);
    Ok(result)
}

/// Writes the side file of a snapshot of `pid` just taken, `before` being the process's stat
/// before it was asked for. Best effort: a snapshot without one is still a snapshot.
pub fn write_provenance(pid: u32, before: Option<procfs::ProcStat>, snapshot: &Path) {
    let (Some(before), Ok(after)) = (before, procfs::stat(pid)) else {
        return;
    };
    if after.start_ticks != before.start_ticks {
        return; // another process took the pid meanwhile
    }
    let _ = crate::provenance::write(
        snapshot,
        &crate::provenance::Provenance {
            version: 1,
            process: crate::provenance::ProcessIdentity {
                pid,
                start_ticks: before.start_ticks,
                boot_id: procfs::boot_id(),
            },
            cpu_ms_before: before.cpu_ms,
            cpu_ms_after: after.cpu_ms,
            uptime_ms_before: before.uptime_ms,
        },
    );
}

fn take(
    pid: u32,
    status: procfs::ProcStatus,
    opts: SnapOptions,
    started: Instant,
) -> Result<SnapResult, CollectError> {
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
    // A process started with --track-heap-objects tracks from the start; the inspector
    // session that installs the hook stops that when it ends, so the hook turns it back on.
    let tracked_from_start = options.iter().any(|w| w == "--track-heap-objects");
    if opts.track_allocations && opts.via == Via::Signal {
        return Err(CollectError::Refused(
            "--track-allocations needs heapscan's snapshot hook, which --via signal does not use: use --via auto or hook".to_string(),
        ));
    }
    if opts.via != Via::Signal && hook::present(pid) {
        if opts.track_allocations || tracked_from_start {
            hook::start_tracking(pid)?;
        }
        return via_hook(pid, out, opts, started);
    }
    if opts.via != Via::Hook && !opts.track_allocations {
        let flag = flag_value(&options, "--heapsnapshot-signal");
        match flag.as_deref().map(|name| (name, signal_number(name))) {
            Some((name, Some(sig))) if status.catches(sig) => {
                return via_signal(pid, name, sig, &options, out, opts.timeout, started)
            }
            // A flag without a handler (yet): the inspector path is the safe one.
            _ if opts.via == Via::Auto => {}
            Some((name, _)) => {
                return Err(CollectError::Refused(format!(
                    "process {pid} does not catch its --heapsnapshot-signal={name} (yet): sending it could kill it; use --via auto"
                )))
            }
            None => {
                return Err(CollectError::Refused(format!(
                    "process {pid} was not started with --heapsnapshot-signal; use --via auto"
                )))
            }
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
        warning: None,
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

/// An inspector heapscan talks to: its port, the target's WebSocket path, and whether
/// heapscan opened it (and so closes it again).
struct OpenInspector {
    port: u16,
    path: String,
    opened: bool,
}

/// The process's inspector: the one already listening, else opened with SIGUSR1 (only when
/// Node's handler for it is installed).
fn open_inspector(
    pid: u32,
    status: &procfs::ProcStatus,
    options: &[String],
    timeout: Duration,
) -> Result<OpenInspector, CollectError> {
    let probe_timeout = Duration::from_secs(3);
    let before = procfs::listening_ports(pid);
    let wanted = inspect_port(options);
    if let Some(path) = before
        .contains(&wanted)
        .then(|| inspector::probe(wanted, probe_timeout))
        .flatten()
    {
        return Ok(OpenInspector {
            port: wanted,
            path,
            opened: false,
        });
    }
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
    let deadline = Instant::now() + Duration::from_secs(15).min(timeout);
    loop {
        let new: Vec<u16> = procfs::listening_ports(pid)
            .into_iter()
            .filter(|p| !before.contains(p))
            .collect();
        if let Some((port, path)) = new
            .iter()
            .find_map(|&p| inspector::probe(p, probe_timeout).map(|path| (p, path)))
        {
            return Ok(OpenInspector {
                port,
                path,
                opened: true,
            });
        }
        if Instant::now() > deadline {
            return Err(CollectError::Inspector(format!(
                "process {pid} did not open its inspector within 15 s of SIGUSR1 (is port {wanted} used by another process? see the app's stderr)"
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// No hook yet: install it over the inspector, close the session (and the inspector if we
/// opened it) so that V8 has forgotten nothing by the time the hook takes the snapshot. When
/// the hook cannot be installed, the snapshot is taken over the session itself and the result
/// says that its ids will not match later snapshots'.
fn via_inspector(
    pid: u32,
    status: &procfs::ProcStatus,
    options: &[String],
    out: PathBuf,
    opts: SnapOptions,
    started: Instant,
) -> Result<SnapResult, CollectError> {
    remove_stale_hook_dir(pid);
    let inspector = open_inspector(pid, status, options, opts.timeout)?;
    let mut session = match Session::connect(inspector.port, &inspector.path, opts.timeout) {
        Ok(s) => s,
        Err(e) => {
            close_opened(&inspector);
            return Err(e);
        }
    };
    let installed = hook::install(&mut session, pid, Duration::from_secs(30));
    let via = Method::Inspector {
        port: inspector.port,
        opened_by_heapscan: inspector.opened,
    };
    if let Err(why) = installed {
        if opts.track_allocations {
            if inspector.opened {
                let _ = session.close_inspector();
            }
            session.close();
            return Err(CollectError::Inspector(format!(
                "--track-allocations needs heapscan's snapshot hook in process {pid}, which could not be installed: {why}"
            )));
        }
        let result = session_snapshot(&mut session, pid, out, &opts, started, via, why);
        if inspector.opened {
            let _ = session.close_inspector();
        }
        session.close();
        return result;
    }
    session.close();
    if inspector.opened {
        hook::close_inspector(pid)?;
        // inspector.close() returns once no session is connected: when the port is gone,
        // the session (and its forgetting of ids) is behind us.
        let deadline = Instant::now() + Duration::from_secs(10);
        while procfs::listening_ports(pid).contains(&inspector.port) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    } else {
        // A session on an inspector that stays open ends on the process's main thread a
        // moment after the hang-up; the hook's request must come after it.
        std::thread::sleep(Duration::from_millis(300));
    }
    // Only now: the install session's end stopped any tracking and cleared the ids.
    let tracked_from_start = options.iter().any(|w| w == "--track-heap-objects");
    if opts.track_allocations || tracked_from_start {
        hook::start_tracking(pid)?;
    }
    let mut result = via_hook(pid, out, opts, started)?;
    result.method = Method::Hook {
        installed_now: Some(via_inspector_info(&inspector)),
    };
    if tracked_from_start {
        result.warning = Some(format!(
            "process {pid} was started with --track-heap-objects: installing heapscan's hook ended that tracking and made V8 forget the object ids, so the hook tracks again from now on; objects allocated before this snapshot have no allocation stack, and snapshots taken before it cannot be compared with it"
        ));
    } else if let Some(signal) = flag_value(options, "--heapsnapshot-signal") {
        result.warning = Some(format!(
            "process {pid} also takes snapshots on {signal}: installing heapscan's hook made V8 forget the object ids, so snapshots taken before this one cannot be compared with this one and later ones (a diff says it cannot judge them)"
        ));
    }
    Ok(result)
}

/// Removes a hook folder named after `pid` that another user owns: an earlier process with
/// the same pid left it (pids are reused, and a killed process cannot clean up), and the hook
/// of this process would refuse it (it uses only a folder of its own user), leaving no hook.
/// Best effort: heapscan may lack the right, and then the install reports why.
fn remove_stale_hook_dir(pid: u32) {
    use std::os::unix::fs::MetadataExt;
    let dir = hook::dir_from_outside(pid);
    let process_uid = std::fs::metadata(format!("/proc/{pid}")).map(|m| m.uid());
    let dir_uid = std::fs::symlink_metadata(&dir).map(|m| m.uid());
    if let (Ok(process), Ok(owner)) = (process_uid, dir_uid) {
        if process != owner {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

fn via_inspector_info(inspector: &OpenInspector) -> InstalledVia {
    InstalledVia {
        port: inspector.port,
        opened_by_heapscan: inspector.opened,
    }
}

/// Best effort: do not leave an inspector we opened listening after a failure.
fn close_opened(inspector: &OpenInspector) {
    if inspector.opened {
        if let Ok(mut s) =
            Session::connect(inspector.port, &inspector.path, Duration::from_secs(10))
        {
            let _ = s.close_inspector();
            s.close();
        }
    }
}

/// The fallback when no hook can be installed: `v8.writeHeapSnapshot` evaluated over the
/// session, to a hidden name beside `out` (so a half-written file never sits at `out`).
fn session_snapshot(
    session: &mut Session,
    pid: u32,
    out: PathBuf,
    opts: &SnapOptions,
    started: Instant,
    method: Method,
    why_no_hook: CollectError,
) -> Result<SnapResult, CollectError> {
    let tmp = partial_name(&out)?;
    if let Err(e) = session.write_heap_snapshot(&tmp, opts.timeout) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let size = finish_file(&tmp, &out)?;
    Ok(SnapResult {
        pid,
        path: out,
        size,
        duration_ms: started.elapsed().as_millis() as u64,
        method,
        warning: Some(format!(
            "heapscan's snapshot hook could not be installed ({why_no_hook}), so this snapshot was taken over the inspector: V8 forgets its object ids when the inspector session ends, so it cannot be compared object by object with later snapshots of this process (a diff says it cannot judge them)"
        )),
    })
}

/// A snapshot through the hook, written under a temporary name beside `out` (or in the
/// hook's directory, see [`hook::Target`]), then moved to `out` once complete.
fn via_hook(
    pid: u32,
    out: PathBuf,
    opts: SnapOptions,
    started: Instant,
) -> Result<SnapResult, CollectError> {
    let name = hook::file_name_for(&out);
    let in_hook_dir = |opts: &mut SnapOptions| {
        // Written inside the process's own /tmp first: that filesystem needs the room too.
        let status = procfs::status(pid)?;
        let dir = hook::dir_from_outside(pid);
        if !dir.is_dir() {
            // The hook removes its folder when the process exits.
            return Err(CollectError::Other(format!(
                "the snapshot hook's folder {} is gone: process {pid} is {}",
                dir.display(),
                if procfs::alive(pid) {
                    "exiting"
                } else {
                    "gone"
                }
            )));
        }
        safety::check_room(status.vm_rss, &dir)?;
        hook::take(
            pid,
            &name,
            &hook::Target::HookDir,
            opts.timeout,
            opts.progress,
        )
    };
    let mut opts = opts;
    let written = if hook::same_root(pid) {
        let dir = parent_dir(&out);
        let dir = std::path::absolute(&dir).map_err(|e| CollectError::io(&dir, e))?;
        match hook::take(
            pid,
            &name,
            &hook::Target::Dir(dir),
            opts.timeout,
            opts.progress,
        ) {
            Ok(file) => file,
            // The process may not write where heapscan may (another user): its own folder.
            Err(CollectError::NotWritten { .. }) => in_hook_dir(&mut opts)?,
            Err(e) => return Err(e),
        }
    } else {
        in_hook_dir(&mut opts)?
    };
    let size = finish_file(&written, &out)?;
    Ok(SnapResult {
        pid,
        path: out,
        size,
        duration_ms: started.elapsed().as_millis() as u64,
        method: Method::Hook {
            installed_now: None,
        },
        warning: None,
    })
}

/// Checks that a written snapshot is complete and moves it to `out`; a truncated one is
/// deleted. Returns the size.
fn finish_file(written: &Path, out: &Path) -> Result<u64, CollectError> {
    match super::complete::check_now(written) {
        Completeness::Complete { size } => {
            move_file(written, out)?;
            Ok(size)
        }
        Completeness::Incomplete(why) => {
            let _ = std::fs::remove_file(written);
            Err(CollectError::Snapshot {
                path: out.to_path_buf(),
                problem: format!("{why}; the partial file was deleted"),
            })
        }
    }
}

/// `.<name>.partial` beside `out`, as an absolute path (the target process resolves it).
fn partial_name(out: &Path) -> Result<PathBuf, CollectError> {
    let name = out
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("snapshot");
    let tmp = out.with_file_name(format!(".{name}.partial"));
    std::path::absolute(&tmp).map_err(|e| CollectError::io(&tmp, e))
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
        super::events::snapshot_outcomes(&events)
            .into_iter()
            .filter(|o| o.trigger() == "signal")
            .collect::<Vec<_>>()
    };
    let seen = outcomes().len();
    procfs::send_signal(record_pid as i32, SIGUSR2)?;
    let deadline = started + opts.timeout;
    loop {
        if let Some(outcome) = outcomes().get(seen) {
            let (file, size) = match outcome {
                SnapshotEvent::SnapshotFinished { file, size, .. } => (file, *size),
                other => {
                    let why = match other {
                        SnapshotEvent::SnapshotFailed { why, .. }
                        | SnapshotEvent::SnapshotSkipped { why, .. } => why.as_str(),
                        _ => "no reason given",
                    };
                    return Err(CollectError::Other(format!(
                        "the recording session (heapscan pid {record_pid}) did not take the snapshot: {why}"
                    )));
                }
            };
            let mut path = dir.join(file);
            if let Some(out) = &opts.out {
                std::fs::copy(&path, out).map_err(|e| CollectError::io(out, e))?;
                crate::provenance::carry(&path, out, true).map_err(|e| CollectError::io(out, e))?;
                path = out.clone();
            }
            return Ok(SnapResult {
                pid,
                path,
                size,
                duration_ms: started.elapsed().as_millis() as u64,
                method: Method::Session { record_pid },
                warning: None,
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

/// Stops the allocation tracking `--track-allocations` started in `pid` (through its snapshot
/// hook). `false` when the process has no hook, so heapscan never started tracking there.
pub fn stop_tracking(pid: u32) -> Result<bool, CollectError> {
    if !hook::present(pid) {
        return Ok(false);
    }
    hook::stop_tracking(pid)?;
    Ok(true)
}

/// The `index`-th file (1-based) of a series written to `base`: `name-001.heapsnapshot`, …
/// (zero-padded, so that a shell glob lists them in order).
pub fn numbered(base: &Path, index: u32) -> PathBuf {
    with_stem_suffix(base, &format!("-{index:03}"))
}

/// `path` with `suffix` put between its stem and extension (`api.heapsnapshot` → `api.3.heapsnapshot`).
pub fn with_stem_suffix(path: &Path, suffix: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("snapshot");
    let ext = path
        .extension()
        .and_then(|s| s.to_str())
        .unwrap_or("heapsnapshot");
    path.with_file_name(format!("{stem}{suffix}.{ext}"))
}

/// One target of a series: a process and the file (or, with several snapshots, the base
/// name of the numbered files) its snapshots go to.
#[derive(Debug, Clone)]
pub struct SeriesTarget {
    pub pid: u32,
    /// `None`: the default name (`<pid>-<unix-seconds>.heapsnapshot` when one snapshot,
    /// numbered after it otherwise), or the session's own file for a recorded process.
    pub out: Option<PathBuf>,
}

/// What a series is to take: `count` rounds, one snapshot of every target per round,
/// rounds starting `every` apart.
pub struct SeriesPlan<'a> {
    pub targets: Vec<SeriesTarget>,
    pub count: u32,
    pub every: Duration,
    pub timeout: Duration,
    pub via: Via,
    /// Turn allocation tracking on in each process before its first snapshot.
    pub track_allocations: bool,
    /// Set (e.g. by Ctrl-C) to stop after the snapshot being taken.
    pub stop: &'a std::sync::atomic::AtomicBool,
}

/// Takes a series of snapshots: each result is handed to `on_snapshot(round, result)` as it is
/// taken, `on_progress(pid, bytes)` follows each one. Stops at the first failure (the results
/// so far are not undone) or when `plan.stop` is set between snapshots. Returns how many
/// rounds were completed.
pub fn series(
    plan: SeriesPlan,
    on_snapshot: &mut dyn FnMut(u32, &SnapResult),
    on_progress: &mut dyn FnMut(u32, u64),
) -> Result<u32, CollectError> {
    use std::sync::atomic::Ordering;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut done = 0;
    for round in 1..=plan.count {
        let round_start = Instant::now();
        for target in &plan.targets {
            let out = match (&target.out, plan.count) {
                (Some(o), 1) => Some(o.clone()),
                (Some(o), _) => Some(numbered(o, round)),
                (None, 1) => None,
                (None, _) if recording_session(target.pid).is_some() => None,
                (None, _) => Some(numbered(
                    &PathBuf::from(format!("{}-{stamp}.heapsnapshot", target.pid)),
                    round,
                )),
            };
            let result = snapshot_pid(
                target.pid,
                SnapOptions {
                    out,
                    timeout: plan.timeout,
                    via: plan.via,
                    progress: &mut |bytes| on_progress(target.pid, bytes),
                    track_allocations: plan.track_allocations,
                },
            )?;
            on_snapshot(round, &result);
        }
        done = round;
        if round == plan.count {
            break;
        }
        while round_start.elapsed() < plan.every {
            if plan.stop.load(Ordering::Relaxed) {
                return Ok(done);
            }
            std::thread::sleep(Duration::from_millis(50).min(plan.every));
        }
        if plan.stop.load(Ordering::Relaxed) {
            return Ok(done);
        }
    }
    Ok(done)
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
