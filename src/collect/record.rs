//! `heapscan record -- COMMAND…`: run a Node.js app as a supervised child and keep the
//! evidence of its memory behaviour in a session folder.
//!
//! Threads and who owns what:
//! - the main thread runs [`record`]'s loop: it owns the child, samples `/proc` every
//!   `sample_interval` into `memory.csv`, fires snapshot triggers, applies the restart policy
//!   and exits with the child's exit code;
//! - a signal thread turns SIGINT/SIGTERM/SIGHUP/SIGQUIT (forwarded to the child's process
//!   group) and SIGUSR2 (take a snapshot) into messages;
//! - per child: a pump thread splits its stdout into the app's bytes (to our stdout, in
//!   order, unchanged) and GC lines (to `gc.log`), and a waiter thread reports its exit;
//! - at most one snapshot thread at a time signals the app (`--heapsnapshot-signal=SIGUSR2`
//!   and `--diagnostic-dir` are given to it through NODE_OPTIONS), waits for a complete file
//!   and moves it to `snapshot-NNN.heapsnapshot`.
//!
//! The child's stderr is not touched. A failure of a snapshot is an event, never a reason to
//! stop the app.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use serde_json::{json, Value};

use super::events::{SessionEvent, SnapshotEvent};
use super::policy::{Action, Event, Policy, Trigger};
use super::procfs::{self, SIGUSR2};
use super::snap::{take_via_signal, write_provenance, ENV_RECORD_PID, ENV_SESSION_DIR};
use super::split::{Piece, Splitter};
use super::{safety, CollectError};
use crate::observe::Observer;

/// When to start the app again after it exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// Only after a non-zero exit or a death by signal.
    OnCrash,
    Always,
    Never,
}

#[derive(Debug, Clone)]
pub struct RecordConfig {
    pub command: Vec<String>,
    pub out_dir: PathBuf,
    pub sample_interval: Duration,
    pub snapshot_every: Option<Duration>,
    pub snapshot_at_rss: Option<u64>,
    pub restart: RestartPolicy,
    pub max_restarts: Option<u32>,
    pub max_memory_restart: Option<u64>,
    pub max_snapshots: Option<usize>,
    pub max_disk: Option<u64>,
    /// After SIGINT, how long the app has to exit before SIGKILL (memory restarts).
    pub kill_timeout: Duration,
    pub snapshot_timeout: Duration,
    /// Start Node with allocation tracking (`--track-heap-objects`, through NODE_OPTIONS), so
    /// that snapshots carry the stacks that allocated each object.
    pub track_allocations: bool,
}

/// What `record` returns: the code heapscan exits with and where the session is.
#[derive(Debug, Clone)]
pub struct RecordOutcome {
    pub exit_code: i32,
    pub session: PathBuf,
    pub snapshots: usize,
    pub restarts: u32,
}

/// How often the waiter thread looks whether the app has exited.
const WAIT_POLL: Duration = Duration::from_millis(20);
const SIGNALS_FORWARDED: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

enum Msg {
    Signal(i32),
    Exited { generation: u32, status: ExitStatus },
    SnapshotDone,
}

/// The session folder and its append-only files; shared by all threads.
pub struct Session {
    pub dir: PathBuf,
    started: Instant,
    events: Mutex<File>,
    gc_log: Mutex<File>,
    /// (file name, size) of finished snapshots, in order.
    snapshots: Mutex<Vec<(String, u64)>>,
    /// Where warnings and progress lines go (the library never prints).
    observer: Arc<dyn Observer + Send>,
}

impl Session {
    fn create(dir: &Path, observer: Arc<dyn Observer + Send>) -> Result<Session, CollectError> {
        // Never mix two sessions: numbering would restart and overwrite snapshot-001.
        if fs::read_dir(dir).is_ok_and(|mut rd| rd.next().is_some()) {
            return Err(CollectError::Other(format!(
                "{} already exists and is not empty: choose another --out",
                dir.display()
            )));
        }
        fs::create_dir_all(dir.join(".incoming")).map_err(|e| CollectError::io(dir, e))?;
        let open = |name: &str| {
            let p = dir.join(name);
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&p)
                .map_err(|e| CollectError::io(p, e))
        };
        Ok(Session {
            dir: dir.to_path_buf(),
            started: Instant::now(),
            events: Mutex::new(open("events.jsonl")?),
            gc_log: Mutex::new(open("gc.log")?),
            snapshots: Mutex::new(Vec::new()),
            observer,
        })
    }

    fn t_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Appends one line to events.jsonl: `{"t_ms":…,"event":name,…fields}`.
    fn write_line(&self, name: &str, fields: Value) {
        let mut line = json!({ "t_ms": self.t_ms(), "event": name });
        if let (Some(obj), Value::Object(extra)) = (line.as_object_mut(), fields) {
            obj.extend(extra);
        }
        if let Ok(mut f) = self.events.lock() {
            // An events line that cannot be written must not stop the recording.
            let _ = writeln!(f, "{line}");
            let _ = f.flush();
        }
    }

    /// Appends one line (an enum tagged `event`: [`SessionEvent`], [`SnapshotEvent`], the
    /// policy's lines).
    fn log(&self, line: &impl Serialize) {
        if let Ok(Value::Object(mut fields)) = serde_json::to_value(line) {
            if let Some(Value::String(name)) = fields.remove("event") {
                self.write_line(&name, Value::Object(fields));
            }
        }
    }

    fn warn(&self, message: String) {
        self.observer.warning(&message);
        self.log(&SessionEvent::Warning { message });
    }
}

/// A default session folder name: `heapscan-YYYYMMDD-HHMMSS` (UTC).
pub fn default_session_dir() -> PathBuf {
    PathBuf::from(format!(
        "heapscan-{}",
        utc_stamp(SystemTime::now(), "%d-%t")
    ))
}

/// `SystemTime` as UTC text: `%d` → `YYYYMMDD`, `%t` → `HHMMSS`, `%i` → RFC 3339.
fn utc_stamp(t: SystemTime, pattern: &str) -> String {
    // `YYYY-MM-DDTHH:MM:SSZ`
    let rfc3339 = crate::units::utc_rfc3339(t);
    let (date, time) = rfc3339.split_once('T').unwrap_or((&rfc3339, ""));
    pattern
        .replace("%d", &date.replace('-', ""))
        .replace("%t", &time.trim_end_matches('Z').replace(':', ""))
        .replace("%i", &rfc3339)
}

/// Whether argv[0] is Node itself (so `--trace-gc` can go on its command line).
fn is_node_command(argv0: &str) -> bool {
    Path::new(argv0)
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| {
            // `node`, `nodejs`, and versioned names like `node20` or `node-18.1`.
            n == "nodejs"
                || n.strip_prefix("node").is_some_and(|v| {
                    v.chars()
                        .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
                })
        })
}

/// Quotes a NODE_OPTIONS word when it has spaces (Node accepts double quotes there).
fn node_option_word(flag: &str, path: &Path) -> String {
    let p = path.display().to_string();
    if p.contains(' ') {
        format!("{flag}=\"{p}\"")
    } else {
        format!("{flag}={p}")
    }
}

/// What heapscan adds to the child's command and environment.
#[derive(Debug, Clone, Serialize)]
struct Injected {
    argv: Vec<String>,
    node_options: String,
    preload: Option<String>,
}

const PRELOAD: &str = "// Written by heapscan record: Node refuses --trace-gc in NODE_OPTIONS, so this\n// preload turns it on from inside each Node process the command starts.\nrequire('v8').setFlagsFromString('--trace-gc');\n";

fn prepare_command(
    cfg: &RecordConfig,
    session: &Session,
) -> Result<(Command, Injected), CollectError> {
    let argv = &cfg.command;
    let program = argv.first().ok_or_else(|| {
        CollectError::Other("no command given: heapscan record -- node app.js".into())
    })?;
    let mut args: Vec<String> = argv[1..].to_vec();
    let incoming = session.dir.join(".incoming");
    let mut node_options = vec![
        "--heapsnapshot-signal=SIGUSR2".to_string(),
        node_option_word("--diagnostic-dir", &absolute(&incoming)),
    ];
    if cfg.track_allocations {
        node_options.push("--track-heap-objects".to_string());
    }
    let mut argv_added = Vec::new();
    let mut preload = None;
    if is_node_command(program) {
        args.insert(0, "--trace-gc".into());
        argv_added.push("--trace-gc".to_string());
    } else {
        let path = absolute(&session.dir.join("heapscan-preload.js"));
        fs::write(&path, PRELOAD).map_err(|e| CollectError::io(&path, e))?;
        node_options.push(node_option_word("--require", &path));
        preload = Some(path.display().to_string());
    }
    let added = node_options.join(" ");
    let merged = match std::env::var("NODE_OPTIONS") {
        Ok(existing) if !existing.trim().is_empty() => format!("{existing} {added}"),
        _ => added.clone(),
    };
    let mut cmd = Command::new(program);
    cmd.args(&args)
        .env("NODE_OPTIONS", merged)
        .env(ENV_RECORD_PID, std::process::id().to_string())
        .env(ENV_SESSION_DIR, absolute(&session.dir))
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // The child leads its own process group, so forwarded signals reach wrappers'
    // grandchildren too and a terminal's Ctrl-C reaches only heapscan, which forwards it once.
    cmd.process_group(0);
    Ok((
        cmd,
        Injected {
            argv: argv_added,
            node_options: added,
            preload,
        },
    ))
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| p.to_path_buf(), |cwd| cwd.join(p))
    }
}

/// Copies the child's stdout: app bytes to our stdout (flushed per read, so order and
/// timing are kept), GC lines to gc.log.
fn pump(mut stdout: ChildStdout, session: Arc<Session>) {
    let mut splitter = Splitter::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut our_stdout_ok = true;
    let fd = stdout.as_raw_fd();
    let emit = |piece: Piece, ok: &mut bool| match piece {
        Piece::App(bytes) => {
            if *ok {
                let mut out = io::stdout().lock();
                // If our own stdout is gone, keep draining the child: it must not block.
                *ok = out.write_all(&bytes).and_then(|()| out.flush()).is_ok();
            }
        }
        Piece::Gc(bytes) => {
            if let Ok(mut f) = session.gc_log.lock() {
                let _ = f.write_all(&bytes);
            }
        }
    };
    loop {
        if splitter.has_pending() && !splitter.pending_is_gc() {
            // Something that may be the start of a GC marker is held back: give the rest
            // 50 ms to arrive, then let the app have it.
            let mut pfd = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd for the duration of the call.
            let ready = unsafe { libc::poll(&mut pfd, 1, 50) };
            if ready == 0 {
                if let Some(p) = splitter.flush_undecided() {
                    emit(p, &mut our_stdout_ok);
                }
                continue;
            }
        }
        match stdout.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                for p in splitter.feed(&buf[..n]) {
                    emit(p, &mut our_stdout_ok);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    if let Some(p) = splitter.finish() {
        emit(p, &mut our_stdout_ok);
    }
    if let Ok(mut f) = session.gc_log.lock() {
        let _ = f.flush();
    }
}

/// The Node process to measure and snapshot: the child itself when it is Node, else the
/// Node descendant without Node children that uses the most memory (`npm start` → sh → node).
fn target_pid(child: u32) -> u32 {
    if procfs::is_node(child) && procfs::status(child).is_ok_and(|s| s.catches(SIGUSR2)) {
        return child;
    }
    let nodes: Vec<u32> = procfs::descendants(child)
        .into_iter()
        .filter(|&p| procfs::is_node(p))
        .collect();
    let leaves = nodes
        .iter()
        .copied()
        .filter(|&p| !procfs::descendants(p).iter().any(|d| nodes.contains(d)));
    leaves
        .max_by_key(|&p| procfs::status(p).map_or(0, |s| s.vm_rss))
        .unwrap_or(child)
}

fn node_version(pid: u32) -> Option<String> {
    let exe = procfs::exe(pid)?;
    let out = Command::new(exe).arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs the session to the end; see the module docs. Warnings and a line per snapshot go to
/// `observer`.
pub fn record(
    cfg: RecordConfig,
    observer: Arc<dyn Observer + Send>,
) -> Result<RecordOutcome, CollectError> {
    if cfg.command.is_empty() {
        return Err(CollectError::Other(
            "no command given: heapscan record [OPTIONS] -- node app.js".into(),
        ));
    }
    let existed = cfg.out_dir.exists();
    let session = Arc::new(Session::create(&cfg.out_dir, observer)?);
    let (tx, rx) = mpsc::channel::<Msg>();
    let mut signals = signal_hook::iterator::Signals::new(
        SIGNALS_FORWARDED.iter().copied().chain([libc::SIGUSR2]),
    )
    .map_err(|e| CollectError::Other(format!("cannot install signal handlers: {e}")))?;
    let handle = signals.handle();
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for sig in signals.forever() {
                if tx.send(Msg::Signal(sig)).is_err() {
                    break;
                }
            }
        });
    }
    let mut memory = File::create(session.dir.join("memory.csv"))
        .map_err(|e| CollectError::io(session.dir.join("memory.csv"), e))?;
    writeln!(
        memory,
        "t_ms,pid,rss_bytes,rss_anon_bytes,rss_file_bytes,vm_size_bytes,vm_hwm_bytes,vm_swap_bytes,threads,mem_available_bytes"
    )
    .map_err(|e| CollectError::io(session.dir.join("memory.csv"), e))?;
    let mut sup = Supervisor {
        cfg: cfg.clone(),
        session: session.clone(),
        tx,
        child: None,
        generation: 0,
        pumps: Vec::new(),
        snapshot_busy: Arc::new(AtomicBool::new(false)),
        snapshot_thread: None,
        restarts: 0,
        node_version: None,
        injected: None,
        target: None,
        started_wall: SystemTime::now(),
        signal_queued: false,
    };
    if let Err(e) = sup.spawn() {
        // Nothing ran: leave no session behind (a folder of empty files would look like one).
        handle.close();
        drop(sup);
        drop(memory);
        if existed {
            if let Ok(entries) = fs::read_dir(&cfg.out_dir) {
                for entry in entries.flatten() {
                    let p = entry.path();
                    let _ = if p.is_dir() {
                        fs::remove_dir_all(&p)
                    } else {
                        fs::remove_file(&p)
                    };
                }
            }
        } else {
            let _ = fs::remove_dir_all(&cfg.out_dir);
        }
        return Err(e);
    }
    let result = sup.run(&rx, &mut memory);
    handle.close();
    let exit_code = match &result {
        Ok(code) => *code,
        Err(_) => 2,
    };
    sup.finish_manifest(exit_code);
    result?;
    let snapshots = session.snapshots.lock().map_or(0, |s| s.len());
    Ok(RecordOutcome {
        exit_code,
        session: cfg.out_dir,
        snapshots,
        restarts: sup.restarts,
    })
}

struct Supervisor {
    cfg: RecordConfig,
    session: Arc<Session>,
    tx: Sender<Msg>,
    /// The running app, shared with its waiter thread (see [`Supervisor::spawn`]).
    child: Option<Arc<Mutex<Child>>>,
    generation: u32,
    pumps: Vec<JoinHandle<()>>,
    snapshot_busy: Arc<AtomicBool>,
    snapshot_thread: Option<JoinHandle<()>>,
    restarts: u32,
    node_version: Option<String>,
    injected: Option<Injected>,
    target: Option<u32>,
    started_wall: SystemTime,
    /// A SIGUSR2 arrived during another snapshot: take one when it is done.
    signal_queued: bool,
}

/// Exit code as a shell reports it: the code, or 128 + signal.
fn exit_code_of(status: &ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

impl Supervisor {
    fn spawn(&mut self) -> Result<(), CollectError> {
        let (mut cmd, injected) = prepare_command(&self.cfg, &self.session)?;
        let mut child = cmd.spawn().map_err(|e| {
            CollectError::Other(format!("cannot start `{}`: {e}", self.cfg.command[0]))
        })?;
        self.generation += 1;
        let pid = child.id();
        self.session.log(&SessionEvent::Start {
            pid,
            generation: self.generation,
            command: self.cfg.command.clone(),
        });
        if self.injected.is_none() {
            self.injected = Some(injected);
            self.write_manifest("running", None);
        }
        if let Some(out) = child.stdout.take() {
            let s = self.session.clone();
            self.pumps.push(std::thread::spawn(move || pump(out, s)));
        }
        // The waiter reaps the app through its `Child`, under the lock that signalling takes
        // too: a signal goes only to an app not reaped yet, whose pid cannot have been reused.
        let child = Arc::new(Mutex::new(child));
        let waited = child.clone();
        let tx = self.tx.clone();
        let generation = self.generation;
        std::thread::spawn(move || loop {
            let reaped = match waited.lock() {
                Ok(mut c) => c.try_wait(),
                Err(_) => return,
            };
            match reaped {
                Ok(Some(status)) => {
                    let _ = tx.send(Msg::Exited { generation, status });
                    return;
                }
                Ok(None) => std::thread::sleep(WAIT_POLL),
                Err(_) => return,
            }
        });
        self.child = Some(child);
        self.target = None;
        Ok(())
    }

    fn child_pid(&self) -> Option<u32> {
        self.child
            .as_ref()
            .and_then(|c| c.lock().ok().map(|c| c.id()))
    }

    fn signal_group(&self, sig: i32) {
        let Some(child) = &self.child else { return };
        let Ok(mut child) = child.lock() else { return };
        // Not reaped while the lock is held: the pid (and its group) is still the app's.
        if let Ok(None) = child.try_wait() {
            let _ = procfs::send_signal(-(child.id() as i32), sig);
        }
    }

    /// Supervises the app spawned by [`Supervisor::spawn`] until the session ends: turns
    /// what happens into [`Event`]s for the [`Policy`] and carries out its [`Action`]s.
    fn run(&mut self, rx: &Receiver<Msg>, memory: &mut File) -> Result<i32, CollectError> {
        let mut policy = Policy::new(&self.cfg, Instant::now());
        let mut pending: VecDeque<Action> = policy.on(Event::Tick, Instant::now()).into();
        loop {
            while let Some(action) = pending.pop_front() {
                if let Some(code) = self.carry_out(action, &mut policy, memory, &mut pending)? {
                    self.wait_snapshot_thread();
                    return Ok(code);
                }
            }
            let wait = policy.next_wake().saturating_duration_since(Instant::now());
            let event = match rx.recv_timeout(wait) {
                Ok(Msg::Signal(libc::SIGUSR2)) => Event::SnapshotSignal,
                Ok(Msg::Signal(sig)) => Event::StopSignal(sig),
                Ok(Msg::SnapshotDone) => {
                    if std::mem::take(&mut self.signal_queued) {
                        self.request_snapshot(Trigger::Signal, false, policy.stopping());
                    }
                    Event::SnapshotDone
                }
                Ok(Msg::Exited { generation, status }) if generation == self.generation => {
                    let code = exit_code_of(&status);
                    self.child = None;
                    self.session.log(&SessionEvent::Exit {
                        generation,
                        code: status.code(),
                        signal: status.signal(),
                        exit_code: code,
                    });
                    // The pump is not joined here: a wrapper's orphaned grandchild may keep
                    // the pipe open, and the supervisor must stay responsive. It ends on EOF.
                    self.pumps.retain(|p| !p.is_finished());
                    Event::Exited(code)
                }
                // An earlier generation, already handled.
                Ok(Msg::Exited { .. }) | Err(RecvTimeoutError::Timeout) => Event::Tick,
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(CollectError::Other("internal channel closed".into()))
                }
            };
            pending.extend(policy.on(event, Instant::now()));
        }
    }

    /// Carries out one action of the policy (whose answers to what it learns go to
    /// `pending`); returns the exit code when the session ends.
    fn carry_out(
        &mut self,
        action: Action,
        policy: &mut Policy,
        memory: &mut File,
        pending: &mut VecDeque<Action>,
    ) -> Result<Option<i32>, CollectError> {
        match action {
            Action::Snapshot { trigger, then_done } => {
                self.request_snapshot(trigger, then_done, policy.stopping());
            }
            Action::Signal(sig) => self.signal_group(sig),
            Action::Spawn => {
                self.restarts = policy.restarts();
                self.spawn()?;
                pending.extend(policy.on(Event::Started, Instant::now()));
            }
            Action::Sample => {
                if let Some(rss) = self.sample(memory) {
                    let snapshot_busy = self.snapshot_busy.load(Ordering::SeqCst);
                    let event = Event::Sampled { rss, snapshot_busy };
                    pending.extend(policy.on(event, Instant::now()));
                }
            }
            Action::Log(logged) => self.session.log(&logged),
            Action::Warn(message) => self.session.warn(message),
            Action::Stop(code) => return Ok(Some(code)),
        }
        Ok(None)
    }

    /// Appends one memory.csv row for the target; returns its RSS.
    fn sample(&mut self, memory: &mut File) -> Option<u64> {
        let child = self.child_pid()?;
        let target = match self.target {
            Some(t) if procfs::alive(t) => t,
            _ => {
                let t = target_pid(child);
                // A wrapper's Node child may not exist yet: remember only a Node process,
                // and measure the wrapper meanwhile.
                if procfs::is_node(t) {
                    self.target = Some(t);
                    if self.node_version.is_none() {
                        self.node_version = node_version(t);
                    }
                }
                t
            }
        };
        let s = procfs::status(target).ok()?;
        // An app that has exited but is not reaped yet (a zombie) has no memory lines at all:
        // a row of zeros would read as a collapse of RSS, so there is no row.
        if s.has_exited() || s.vm_size == 0 {
            return None;
        }
        let avail = procfs::mem_available().unwrap_or(0);
        let row = format!(
            "{},{},{},{},{},{},{},{},{},{}",
            self.session.t_ms(),
            target,
            s.vm_rss,
            s.rss_anon,
            s.rss_file,
            s.vm_size,
            s.vm_hwm,
            s.vm_swap,
            s.threads,
            avail
        );
        if writeln!(memory, "{row}")
            .and_then(|()| memory.flush())
            .is_err()
        {
            self.session.warn("cannot write memory.csv".into());
        }
        Some(s.vm_rss)
    }

    /// Starts a snapshot thread unless one is running or a bound is reached. Returns whether
    /// one was started. `then_done` asks for a `SnapshotDone` message either way.
    fn request_snapshot(&mut self, trigger: Trigger, then_done: bool, stopping: bool) -> bool {
        let skip = |why: String| {
            self.session.log(&SnapshotEvent::SnapshotSkipped {
                trigger: trigger.name().into(),
                why,
            });
            if then_done {
                let _ = self.tx.send(Msg::SnapshotDone);
            }
            false
        };
        if stopping {
            return skip("the app is being stopped".into());
        }
        let Some(child) = self.child_pid() else {
            return skip("the app is not running".into());
        };
        if self.snapshot_busy.load(Ordering::SeqCst) && trigger == Trigger::Signal {
            // Asked for by a person (or `heapscan snap`): take it right after the current one.
            self.signal_queued = true;
            self.session.log(&SnapshotEvent::SnapshotQueued {
                trigger: trigger.name().into(),
            });
            return false;
        }
        if self.snapshot_busy.load(Ordering::SeqCst) {
            // The running snapshot's own SnapshotDone will follow: do not send another.
            self.session.log(&SnapshotEvent::SnapshotSkipped {
                trigger: trigger.name().into(),
                why: "another snapshot is in progress".into(),
            });
            return false;
        }
        let (count, used): (usize, u64) = self
            .session
            .snapshots
            .lock()
            .map_or((0, 0), |s| (s.len(), s.iter().map(|x| x.1).sum()));
        if let Some(max) = self.cfg.max_snapshots {
            if count >= max {
                return skip(format!("--max-snapshots {max} reached"));
            }
        }
        let target = self.target.unwrap_or_else(|| target_pid(child));
        let Ok(status) = procfs::status(target) else {
            return skip(format!("cannot read /proc/{target}/status"));
        };
        if !status.catches(SIGUSR2) {
            // Node installs the handler early during start-up; before that SIGUSR2 would kill it.
            return skip(
                "the app has not installed its snapshot signal handler yet (still starting?)"
                    .into(),
            );
        }
        if let Some(max) = self.cfg.max_disk {
            let estimate = (status.vm_rss as f64 * safety::DISK_FACTOR) as u64;
            if used + estimate > max {
                return skip(format!(
                    "--max-disk {} would be exceeded ({} used, about {} more needed)",
                    crate::report::human_bytes(max),
                    crate::report::human_bytes(used),
                    crate::report::human_bytes(estimate)
                ));
            }
        }
        if let Err(e) = safety::check_room(status.vm_rss, &self.session.dir) {
            self.session.warn(format!("snapshot skipped: {e}"));
            return skip(e.to_string());
        }
        self.wait_snapshot_thread();
        self.snapshot_busy.store(true, Ordering::SeqCst);
        let session = self.session.clone();
        let busy = self.snapshot_busy.clone();
        let tx = self.tx.clone();
        let timeout = self.cfg.snapshot_timeout;
        let rss = status.vm_rss;
        self.snapshot_thread = Some(std::thread::spawn(move || {
            take_session_snapshot(&session, target, rss, trigger, timeout);
            busy.store(false, Ordering::SeqCst);
            let _ = tx.send(Msg::SnapshotDone);
        }));
        true
    }

    fn wait_snapshot_thread(&mut self) {
        if let Some(t) = self.snapshot_thread.take() {
            let _ = t.join();
        }
    }

    /// Waits (bounded) for the stdout pumps to copy the last output: normally they see EOF
    /// as soon as the app exits; an orphaned grandchild holding the pipe is not waited for.
    fn join_pumps(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.pumps.iter().any(|p| !p.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        for p in self.pumps.drain(..) {
            if p.is_finished() {
                let _ = p.join();
            } else {
                self.session.warn(
                    "a process of the app still holds its stdout open; heapscan stops copying it"
                        .into(),
                );
            }
        }
    }

    fn write_manifest(&self, state: &str, exit_code: Option<i32>) {
        let snapshots: Vec<Value> = self
            .session
            .snapshots
            .lock()
            .map(|s| {
                s.iter()
                    .map(|(f, size)| json!({ "file": f, "size": size }))
                    .collect()
            })
            .unwrap_or_default();
        let manifest = json!({
            "heapscan_version": env!("CARGO_PKG_VERSION"),
            "state": state,
            "command": self.cfg.command,
            "started_at": utc_stamp(self.started_wall, "%i"),
            "node_version": self.node_version,
            "injected": self.injected,
            "options": {
                "sample_interval_ms": self.cfg.sample_interval.as_millis() as u64,
                "snapshot_every_ms": self.cfg.snapshot_every.map(|d| d.as_millis() as u64),
                "snapshot_at_rss": self.cfg.snapshot_at_rss,
                "restart": self.cfg.restart,
                "max_restarts": self.cfg.max_restarts,
                "max_memory_restart": self.cfg.max_memory_restart,
                "max_snapshots": self.cfg.max_snapshots,
                "max_disk": self.cfg.max_disk,
            },
            "restarts": self.restarts,
            "exit_code": exit_code,
            "files": {
                "gc_log": "gc.log",
                "memory": "memory.csv",
                "events": "events.jsonl",
                "snapshots": snapshots,
            },
        });
        let path = self.session.dir.join("session.json");
        let tmp = self.session.dir.join(".session.json.tmp");
        let written = serde_json::to_vec_pretty(&manifest)
            .map_err(io::Error::other)
            .and_then(|bytes| fs::write(&tmp, bytes))
            .and_then(|()| fs::rename(&tmp, &path));
        if let Err(e) = written {
            self.session
                .observer
                .warning(&format!("cannot write {}: {e}", path.display()));
        }
    }

    fn finish_manifest(&mut self, exit_code: i32) {
        self.wait_snapshot_thread();
        self.join_pumps();
        self.session.log(&SessionEvent::End {
            exit_code,
            restarts: self.restarts,
        });
        self.write_manifest("finished", Some(exit_code));
        let _ = fs::remove_dir(self.session.dir.join(".incoming"));
    }
}

/// The snapshot thread's work: signal, wait, verify, number, log.
fn take_session_snapshot(
    session: &Session,
    pid: u32,
    rss: u64,
    trigger: Trigger,
    timeout: Duration,
) {
    let started = Instant::now();
    session.log(&SnapshotEvent::SnapshotBegun {
        trigger: trigger.name().into(),
        pid,
        rss,
    });
    let pending = session.dir.join(".incoming").join("pending.heapsnapshot");
    let before = procfs::stat(pid).ok();
    let result = take_via_signal(
        pid,
        "SIGUSR2",
        SIGUSR2,
        &session.dir.join(".incoming"),
        &pending,
        started + timeout,
    );
    match result {
        Ok(size) => {
            let Ok(mut list) = session.snapshots.lock() else {
                return;
            };
            let name = format!("snapshot-{:03}.heapsnapshot", list.len() + 1);
            let dest = session.dir.join(&name);
            if let Err(e) = fs::rename(&pending, &dest) {
                drop(list);
                session.log(&SnapshotEvent::SnapshotFailed {
                    trigger: trigger.name().into(),
                    why: format!("cannot move into place: {e}"),
                    duration_ms: None,
                });
                return;
            }
            list.push((name.clone(), size));
            drop(list);
            write_provenance(pid, before, &dest);
            session.observer.note(&format!(
                "{} ({}): {} in {:.1} s",
                dest.display(),
                trigger.name(),
                crate::report::human_bytes(size),
                started.elapsed().as_secs_f64()
            ));
            session.log(&SnapshotEvent::SnapshotFinished {
                trigger: trigger.name().into(),
                file: name,
                size,
                duration_ms: started.elapsed().as_millis() as u64,
            });
        }
        Err(e) => {
            let _ = fs::remove_file(&pending);
            session.observer.warning(&format!("snapshot failed: {e}"));
            session.log(&SnapshotEvent::SnapshotFailed {
                trigger: trigger.name().into(),
                why: e.to_string(),
                duration_ms: Some(started.elapsed().as_millis() as u64),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_and_node_detection() {
        let t = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(utc_stamp(t, "%i"), "2023-11-14T22:13:20Z");
        assert_eq!(utc_stamp(t, "%d-%t"), "20231114-221320");
        assert!(is_node_command("/usr/bin/node"));
        assert!(is_node_command("node"));
        assert!(!is_node_command("npm"));
        assert!(!is_node_command("nodemon"));
    }
}
