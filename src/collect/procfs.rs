//! Readers of Linux `/proc` and `statvfs`: a process's memory figures and caught signals, its
//! command line and environment, its children, the TCP ports it listens on, and the memory and
//! disk the machine has free. Each reader returns an error naming the file it could not read;
//! parsing is separated from reading so it can be tested on real captured text.

use std::collections::HashSet;
use std::ffi::CString;
use std::path::{Path, PathBuf};

use super::CollectError;

/// The signals the collector sends.
pub const SIGUSR1: i32 = libc::SIGUSR1;
pub const SIGUSR2: i32 = libc::SIGUSR2;

/// Fields of `/proc/PID/status` the collector uses; sizes in bytes.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ProcStatus {
    pub name: String,
    pub ppid: u32,
    pub state: String,
    /// Bit `n-1` set when signal `n` has a handler installed.
    pub sig_cgt: u64,
    pub vm_size: u64,
    pub vm_hwm: u64,
    pub vm_rss: u64,
    pub rss_anon: u64,
    pub rss_file: u64,
    pub vm_swap: u64,
    pub threads: u64,
}

impl ProcStatus {
    /// Whether the process has exited and only its entry is left (a zombie not reaped yet,
    /// or dead): it has no memory to measure and will not run again.
    pub fn has_exited(&self) -> bool {
        self.state.starts_with(['Z', 'X'])
    }

    /// Whether the process has a handler for `signal` (so it will not die of it).
    pub fn catches(&self, signal: i32) -> bool {
        (1..=64).contains(&signal) && self.sig_cgt & (1u64 << (signal - 1)) != 0
    }
}

/// Parses the text of `/proc/PID/status`.
pub fn parse_status(text: &str) -> ProcStatus {
    let mut s = ProcStatus::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let kb = || {
            value
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .unwrap_or(0)
                * 1024
        };
        match key {
            "Name" => s.name = value.to_string(),
            "State" => s.state = value.to_string(),
            "PPid" => s.ppid = value.parse().unwrap_or(0),
            "SigCgt" => s.sig_cgt = u64::from_str_radix(value, 16).unwrap_or(0),
            "VmSize" => s.vm_size = kb(),
            "VmHWM" => s.vm_hwm = kb(),
            "VmRSS" => s.vm_rss = kb(),
            "RssAnon" => s.rss_anon = kb(),
            "RssFile" => s.rss_file = kb(),
            "VmSwap" => s.vm_swap = kb(),
            "Threads" => s.threads = value.parse().unwrap_or(0),
            _ => {}
        }
    }
    s
}

fn read(path: impl AsRef<Path>) -> Result<Vec<u8>, CollectError> {
    let path = path.as_ref();
    std::fs::read(path).map_err(|source| CollectError::Io {
        path: path.to_path_buf(),
        os: source,
    })
}

/// Reads `/proc/PID/status`. A missing process gives [`CollectError::NoProcess`].
pub fn status(pid: u32) -> Result<ProcStatus, CollectError> {
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Ok(text) => Ok(parse_status(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(CollectError::NoProcess(pid)),
        Err(source) => Err(CollectError::io(format!("/proc/{pid}/status"), source)),
    }
}

/// What `/proc/PID/stat` says of a process's CPU use and identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// User plus system CPU time so far, in milliseconds.
    pub cpu_ms: u64,
    /// When it started, in clock ticks since boot: with the pid (and the boot), which process.
    pub start_ticks: u64,
    /// How long it had run (wall clock, ms) when this was read; `None` where the parsed text
    /// says nothing of the time since boot (see [`stat`]).
    pub uptime_ms: Option<u64>,
}

/// Parses the text of `/proc/PID/stat` with `ticks_per_second` clock ticks a second. The
/// command name (field 2) may hold spaces and parentheses, so fields are counted from the
/// last `)`.
pub fn parse_stat(text: &str, ticks_per_second: u64) -> Option<ProcStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime 15, starttime 22.
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    let ticks = field(14)? + field(15)?;
    Some(ProcStat {
        cpu_ms: ticks * 1000 / ticks_per_second.max(1),
        start_ticks: field(22)?,
        uptime_ms: None,
    })
}

/// Reads `/proc/PID/stat`.
pub fn stat(pid: u32) -> Result<ProcStat, CollectError> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => CollectError::NoProcess(pid),
        _ => CollectError::Io {
            path: path.clone().into(),
            os: source,
        },
    })?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks_per_second = u64::try_from(ticks).unwrap_or(100).max(1);
    let mut stat = parse_stat(&text, ticks_per_second)
        .ok_or_else(|| CollectError::Other(format!("{path}: unexpected format")))?;
    stat.uptime_ms =
        boot_uptime_ms().map(|now| now.saturating_sub(stat.start_ticks * 1000 / ticks_per_second));
    Ok(stat)
}

/// Time since boot in ms (`/proc/uptime`, the first number, in seconds), the clock a
/// process's start time in `/proc/PID/stat` counts on.
fn boot_uptime_ms() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/uptime").ok()?;
    let seconds: f64 = text.split_whitespace().next()?.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then_some((seconds * 1000.0) as u64)
}

/// This boot's id (`/proc/sys/kernel/random/boot_id`), empty when unknown.
pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    status(pid).is_ok_and(|s| !s.has_exited())
}

/// The NUL-separated argv of a process.
pub fn cmdline(pid: u32) -> Result<Vec<String>, CollectError> {
    Ok(split_nul(&read(format!("/proc/{pid}/cmdline"))?))
}

/// The initial environment of a process (what it was started with).
pub fn environ(pid: u32) -> Result<Vec<String>, CollectError> {
    Ok(split_nul(&read(format!("/proc/{pid}/environ"))?))
}

fn split_nul(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// The executable of a process (`/proc/PID/exe`).
pub fn exe(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// The working directory of a process.
pub fn cwd(pid: u32) -> Result<PathBuf, CollectError> {
    let path = format!("/proc/{pid}/cwd");
    std::fs::read_link(&path).map_err(|source| CollectError::Io {
        path: path.into(),
        os: source,
    })
}

/// Whether the process looks like Node.js: its executable or `argv[0]` is named `node…`.
pub fn is_node(pid: u32) -> bool {
    let named_node = |p: &str| {
        Path::new(p)
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("node") || n.starts_with("nodejs"))
    };
    exe(pid).is_some_and(|p| named_node(&p.to_string_lossy()))
        || cmdline(pid).is_ok_and(|argv| argv.first().is_some_and(|a| named_node(a)))
}

/// All live descendants of `pid` (children, grandchildren, …), found through each process's
/// `PPid`. Sorted by pid.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for entry in rd.flatten() {
            let Some(p) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if let Ok(s) = status(p) {
                parents.push((p, s.ppid));
            }
        }
    }
    let mut found: Vec<u32> = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for &(child, ppid) in &parents {
            if ppid == parent && !found.contains(&child) {
                found.push(child);
                frontier.push(child);
            }
        }
    }
    found.sort_unstable();
    found
}

/// `MemAvailable` from `/proc/meminfo`, in bytes.
pub fn mem_available() -> Result<u64, CollectError> {
    let text = String::from_utf8_lossy(&read("/proc/meminfo")?).into_owned();
    parse_meminfo_available(&text).ok_or_else(|| CollectError::Io {
        path: "/proc/meminfo".into(),
        os: std::io::Error::other("no MemAvailable line"),
    })
}

fn parse_meminfo_available(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// Bytes free for an unprivileged user on the filesystem holding `dir`.
pub fn disk_available(dir: &Path) -> Result<u64, CollectError> {
    let c = CString::new(dir.as_os_str().as_encoded_bytes()).map_err(|_| CollectError::Io {
        path: dir.to_path_buf(),
        os: std::io::Error::other("path contains a NUL byte"),
    })?;
    // SAFETY: statvfs writes into the zeroed struct we own; `c` is a valid C string.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return Err(CollectError::Io {
                path: dir.to_path_buf(),
                os: std::io::Error::last_os_error(),
            });
        }
        Ok(st.f_bavail as u64 * st.f_frsize as u64)
    }
}

/// TCP ports (IPv4 and IPv6) in LISTEN state whose sockets belong to `pid`, sorted.
pub fn listening_ports(pid: u32) -> Vec<u16> {
    let mut inodes = HashSet::new();
    if let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for entry in rd.flatten() {
            if let Ok(target) = std::fs::read_link(entry.path()) {
                let t = target.to_string_lossy();
                if let Some(inode) = t.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')) {
                    inodes.insert(inode.to_string());
                }
            }
        }
    }
    let mut ports = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(table) {
            ports.extend(parse_listening(&text, &inodes));
        }
    }
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// Rows of `/proc/net/tcp*` in state 0A (LISTEN) whose inode is in `inodes`.
fn parse_listening(text: &str, inodes: &HashSet<String>) -> Vec<u16> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (cols.get(1)?, cols.get(3)?, cols.get(9)?);
            if *state != "0A" || !inodes.contains(*inode) {
                return None;
            }
            let port = local.rsplit_once(':')?.1;
            u16::from_str_radix(port, 16).ok()
        })
        .collect()
}

/// Sends `signal` to `pid` (a negative pid is a process group).
pub fn send_signal(pid: i32, signal: i32) -> Result<(), CollectError> {
    // SAFETY: kill(2) has no memory-safety preconditions.
    if unsafe { libc::kill(pid, signal) } == 0 {
        Ok(())
    } else {
        Err(CollectError::Signal {
            pid,
            signal,
            os: std::io::Error::last_os_error(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_an_awkward_command_name() {
        // A real line of Node 20's /proc/PID/stat, with ") (" put into the command name.
        let text = "4242 (node ) (x) S 4200 4242 4200 34816 4242 4194304 5210 0 12 0 153 47 0 0 20 0 11 0 987654 1158852608 12016 18446744073709551615 1 1 0 0 0 0 0 4096 134234626 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
        let stat = parse_stat(text, 100).unwrap();
        assert_eq!(stat.cpu_ms, (153 + 47) * 10);
        assert_eq!(stat.start_ticks, 987654);
        assert_eq!(parse_stat("1 (x S 1", 100), None);
    }

    #[test]
    fn stat_of_this_process() {
        let me = stat(std::process::id()).unwrap();
        assert!(me.start_ticks > 0);
    }

    #[test]
    fn uptime_of_a_child_is_the_time_since_it_started() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let spawned = std::time::Instant::now();
        std::thread::sleep(std::time::Duration::from_millis(600));
        let at_most = spawned.elapsed().as_millis() as u64;
        let s = stat(child.id()).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        // Start times count in clock ticks (10 ms at 100 Hz), /proc/uptime in 10 ms steps.
        let uptime = s.uptime_ms.expect("an uptime");
        assert!(
            (550..=at_most + 50).contains(&uptime),
            "{uptime} ms, at most {at_most}"
        );
    }

    #[test]
    fn status_of_this_process() {
        let me = status(std::process::id()).unwrap();
        assert!(me.vm_rss > 0 && me.threads >= 1);
        assert!(!me.catches(0) && !me.catches(65));
        let s = parse_status("Name:\tnode\nSigCgt:\t0000000008000a02\nVmRSS:\t  1024 kB\n");
        assert!(s.catches(SIGUSR1) && s.catches(SIGUSR2));
        assert!(!s.catches(15));
        assert_eq!(s.vm_rss, 1 << 20);
    }

    #[test]
    fn meminfo_and_disk() {
        assert!(mem_available().unwrap() > 0);
        assert!(disk_available(Path::new("/")).unwrap() > 0);
        assert_eq!(
            parse_meminfo_available("MemTotal: 5 kB\nMemAvailable:  2 kB\n"),
            Some(2048)
        );
    }

    #[test]
    fn listening_rows() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:2405 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:2406 00000000:0000 01 00000000:00000000 00:00000000 00000000     0        0 4243 1\n";
        let inodes: HashSet<String> = ["4242".to_string(), "4243".to_string()].into();
        assert_eq!(parse_listening(text, &inodes), vec![9221]);
    }
}
