//! `heapscan snap` on real, running Node.js processes: one started with no flags at all
//! (inspector path, on Node 16, 20 and 24), one with `--heapsnapshot-signal` (signal path),
//! one that must be refused because the signal would kill it, and a PM2-managed app. Every
//! target must still be running and serving afterwards.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;

const LONG: Duration = Duration::from_secs(90);

/// Node opens its inspector on 127.0.0.1:9229 on SIGUSR1: tests that go that way take turns.
static INSPECTOR_PORT: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn inspector_turn() -> std::sync::MutexGuard<'static, ()> {
    INSPECTOR_PORT.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts tests/apps/server.js with `node_args`; returns (guard, port).
fn start_app(node_bin: &Path, node_args: &[&str], dir: &Path) -> (Collected, u16) {
    let mut cmd = Command::new(node_bin);
    cmd.args(node_args)
        .arg(server_js())
        .arg("leak")
        .current_dir(dir)
        .env("MAX_LIFETIME_MS", "80000")
        .stderr(Stdio::null());
    // SAFETY: setpgid in the child before exec, so the Guard can kill its whole group.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::setpgid(0, 0);
            Ok(())
        });
    }
    let app = Collected::spawn(cmd);
    let port = app.port(1);
    assert_eq!(load(port, 100), 100);
    (app, port)
}

fn snap(args: &[&str]) -> (Option<i32>, Value, String) {
    let out = heapscan()
        .arg("snap")
        .args(["--format", "json", "--timeout", "60s"])
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn listening(pid: u32, port: u16) -> bool {
    // /proc/net/tcp lists sockets of every process; match on the owner's fds via `ss`-free
    // scan: heapscan's own procfs reader is what is under test elsewhere, so use the kernel
    // table plus /proc/PID/fd here too.
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .filter_map(|t| {
                    let t = t.to_string_lossy().into_owned();
                    t.strip_prefix("socket:[")?
                        .strip_suffix(']')
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table.lines().skip(1).any(|l| {
        let c: Vec<&str> = l.split_whitespace().collect();
        c.len() > 9
            && c[3] == "0A"
            && c[1].ends_with(&format!(":{port:04X}"))
            && inodes.iter().any(|i| i == c[9])
    })
}

#[test]
fn inspector_path_on_unmodified_node_16_20_24_and_the_process_keeps_running() {
    let _turn = inspector_turn();
    for major in [16, 20, 24] {
        let tmp = tempfile::tempdir().unwrap();
        let (app, port) = start_app(&node(major), &[], tmp.path());
        let pid = app.guard.pid();
        let out = tmp.path().join("inspector.heapsnapshot");
        let (code, json, err) = snap(&["--pid", &pid.to_string(), "-o", out.to_str().unwrap()]);
        assert_eq!(code, Some(0), "node {major}: {err}");
        assert_eq!(json[0]["method"], "inspector", "node {major}");
        assert_eq!(json[0]["opened_by_heapscan"], true);
        assert_eq!(json[0]["path"], out.to_str().unwrap());
        assert_complete_snapshot(&out);
        let inspector_port = json[0]["port"].as_u64().unwrap() as u16;
        assert!(alive(pid), "node {major} still running");
        assert_eq!(load(port, 20), 20, "node {major} still serving");
        // We opened the inspector, so we closed it again.
        wait_for("the inspector to close", LONG, || {
            (!listening(pid, inspector_port)).then_some(())
        });
        assert!(
            std::fs::read_dir(tmp.path())
                .unwrap()
                .flatten()
                .all(|e| !e.file_name().to_string_lossy().ends_with(".partial")),
            "no partial file left"
        );
        drop(app);
    }
}

#[test]
fn signal_path_when_started_with_heapsnapshot_signal() {
    let tmp = tempfile::tempdir().unwrap();
    // The flag on the command line…
    let (app, port) = start_app(&node(20), &["--heapsnapshot-signal=SIGUSR2"], tmp.path());
    let pid = app.guard.pid();
    let out = tmp.path().join("signal.heapsnapshot");
    let (code, json, err) = snap(&["--pid", &pid.to_string(), "-o", out.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(json[0]["method"], "signal");
    assert_eq!(json[0]["signal"], "SIGUSR2");
    assert_complete_snapshot(&out);
    assert!(alive(pid));
    assert_eq!(load(port, 20), 20);
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("Heap."))
        .collect();
    assert!(leftovers.is_empty(), "V8's file was moved to -o");
    drop(app);

    // …and through NODE_OPTIONS, with another signal and a diagnostic dir.
    let diag = tmp.path().join("diag");
    std::fs::create_dir(&diag).unwrap();
    let mut cmd = Command::new(node(24));
    cmd.arg(server_js())
        .arg("steady")
        .current_dir(tmp.path())
        .env(
            "NODE_OPTIONS",
            format!(
                "--heapsnapshot-signal=SIGPWR --diagnostic-dir={}",
                diag.display()
            ),
        )
        .env("MAX_LIFETIME_MS", "80000");
    let app = Collected::spawn(cmd);
    let port = app.port(1);
    let pid = app.guard.pid();
    let out = tmp.path().join("pwr.heapsnapshot");
    let (code, json, err) = snap(&["--pid", &pid.to_string(), "-o", out.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(json[0]["signal"], "SIGPWR");
    assert_complete_snapshot(&out);
    assert!(alive(pid));
    assert_eq!(load(port, 5), 5);
}

#[test]
fn refuses_signals_that_would_kill_the_process() {
    let _turn = inspector_turn();
    let tmp = tempfile::tempdir().unwrap();
    // Port 9229 taken by someone else: SIGUSR1 could not open the inspector; say so.
    let squatter = std::net::TcpListener::bind(("127.0.0.1", 9229));
    if let Ok(_listener) = squatter {
        let (app, _port) = start_app(&node(20), &[], tmp.path());
        let pid = app.guard.pid();
        let (code, _, err) = snap(&["--pid", &pid.to_string()]);
        assert_eq!(code, Some(2));
        assert!(err.contains("port 9229"), "{err}");
        assert!(alive(pid));
    }
    // Node 24 without a SIGUSR1 handler: neither path is safe.
    let (app, _port) = start_app(&node(24), &["--disable-sigusr1"], tmp.path());
    let pid = app.guard.pid();
    let (code, _, err) = snap(&["--pid", &pid.to_string(), "-o", "/dev/null/x"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("SIGUSR1"), "{err}");
    assert!(alive(pid), "the process was not signalled");
    drop(app);
    // Not Node at all.
    let sleeper = Guard::new(Command::new("sleep").arg("60").spawn().unwrap());
    let (code, _, err) = snap(&["--pid", &sleeper.pid().to_string()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("not Node.js"), "{err}");
    assert!(alive(sleeper.pid()));
    // No such process.
    let (code, _, err) = snap(&["--pid", "4194304"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no process"), "{err}");
}

/// PM2 from the npm registry (scripts/pm2-path.sh), with its own PM2_HOME; killed on drop.
struct Pm2 {
    bin: String,
    home: tempfile::TempDir,
}

impl Pm2 {
    fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.env("PM2_HOME", self.home.path());
        // pm2 runs the app with the node on PATH; pin it to Node 20.
        let node_dir = node(20).parent().unwrap().display().to_string();
        let path = std::env::var("PATH").unwrap_or_default();
        c.env("PATH", format!("{node_dir}:{path}"));
        c
    }
}

impl Drop for Pm2 {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill").output();
    }
}

#[test]
fn pm2_app_by_name() {
    let _turn = inspector_turn();
    let pm2 = Pm2 {
        bin: script_path("scripts/pm2-path.sh", &[])
            .display()
            .to_string(),
        home: tempfile::tempdir().unwrap(),
    };
    run_ok(
        pm2.cmd()
            .args([
                "start",
                server_js().to_str().unwrap(),
                "--name",
                "hs-api",
                "--",
                "leak",
            ])
            .env("MAX_LIFETIME_MS", "80000"),
    );
    let jlist = || -> Value {
        let out = pm2.cmd().arg("jlist").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        serde_json::from_str(&text[text.find('[').unwrap_or(0)..]).unwrap_or(Value::Null)
    };
    let pid = wait_for("the PM2 app online", LONG, || {
        let v = jlist();
        let app = &v[0];
        (app["pm2_env"]["status"] == "online" && app["pid"].as_u64().unwrap_or(0) > 0)
            .then(|| app["pid"].as_u64().unwrap())
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pm2.heapsnapshot");
    let mut cmd = heapscan();
    cmd.args([
        "snap",
        "--format",
        "json",
        "--pm2",
        "hs-api",
        "--pm2-bin",
        &pm2.bin,
        "-o",
    ])
    .arg(&out)
    .env("PM2_HOME", pm2.home.path());
    let res = run_ok(&mut cmd);
    let json: Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(json[0]["pid"].as_u64(), Some(pid));
    assert_complete_snapshot(&out);
    let after = jlist();
    assert_eq!(after[0]["pid"].as_u64(), Some(pid), "same process");
    assert_eq!(after[0]["pm2_env"]["restart_time"], 0, "not restarted");
    assert!(alive(pid as u32));
    // An unknown name is an error that lists the known ones.
    let mut cmd = heapscan();
    cmd.args(["snap", "--pm2", "nope", "--pm2-bin", &pm2.bin])
        .env("PM2_HOME", pm2.home.path());
    let res = cmd.output().unwrap();
    assert_eq!(res.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&res.stderr).contains("hs-api"));
}
