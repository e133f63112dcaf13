//! How much memory this process may still take: what the kernel says is available, bounded by
//! the memory limit of the control group it runs in (a container's limit, which
//! `/proc/meminfo` does not show). Work that can trade speed for memory (a diff overlapping
//! two snapshots' builds) asks here before it chooses.

use std::fs;
use std::path::{Path, PathBuf};

/// Bytes this process may still take before it meets the machine's or its control group's
/// limit; `None` where neither can be read (not Linux).
pub fn available() -> Option<u64> {
    let machine = crate::collect::procfs::mem_available().ok();
    let group = cgroup_room(Path::new("/proc/self/cgroup"), Path::new("/sys/fs/cgroup"));
    match (machine, group) {
        (Some(m), Some(g)) => Some(m.min(g)),
        (m, g) => m.or(g),
    }
}

/// The room left under the memory limit of the control group `cgroup_file` names (v2's
/// `memory.max` less `memory.current`, or v1's `memory.limit_in_bytes` less
/// `memory.usage_in_bytes`), `None` when the group sets no limit.
fn cgroup_room(cgroup_file: &Path, root: &Path) -> Option<u64> {
    let text = fs::read_to_string(cgroup_file).ok()?;
    let read = |dir: &Path, name: &str| -> Option<u64> {
        fs::read_to_string(dir.join(name)).ok()?.trim().parse().ok()
    };
    let within = |relative: &str, base: PathBuf| base.join(relative.trim_start_matches('/'));
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (dir, limit, usage, inactive_file) = if controllers.is_empty() {
            (
                within(path, root.to_path_buf()),
                "memory.max",
                "memory.current",
                "inactive_file",
            )
        } else if controllers.split(',').any(|c| c == "memory") {
            (
                within(path, root.join("memory")),
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
                "total_inactive_file",
            )
        } else {
            continue;
        };
        // Inside a container's own namespace the group's path may not resolve from here:
        // its files are then at the root of the hierarchy.
        let dir = if dir.join(limit).exists() {
            dir
        } else if controllers.is_empty() {
            root.to_path_buf()
        } else {
            root.join("memory")
        };
        // v2 writes "max" for no limit, v1 a number near 2^63.
        if let Some(limit) = read(&dir, limit).filter(|&l| l < 1 << 60) {
            // The group's usage counts the page cache its processes filled; the inactive
            // part of it is given back before anything is killed (the working set, as
            // container tools count it).
            let used = read(&dir, usage)
                .unwrap_or(0)
                .saturating_sub(stat(&dir, inactive_file).unwrap_or(0));
            return Some(limit.saturating_sub(used));
        }
    }
    None
}

/// The value of `key` in the group's `memory.stat`.
fn stat(dir: &Path, key: &str) -> Option<u64> {
    let text = fs::read_to_string(dir.join("memory.stat")).ok()?;
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(' ')?;
        (name == key).then(|| value.trim().parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(lines: &str, files: &[(&str, &str)]) -> Option<u64> {
        let dir = tempfile::tempdir().unwrap();
        let cgroup = dir.path().join("cgroup");
        fs::write(&cgroup, lines).unwrap();
        let root = dir.path().join("fs");
        for (name, text) in files {
            let path = root.join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        cgroup_room(&cgroup, &root)
    }

    #[test]
    fn a_v2_limit_leaves_the_room_under_it() {
        let files = [
            ("app.slice/memory.max", "1073741824\n"),
            ("app.slice/memory.current", "73741824\n"),
        ];
        assert_eq!(group("0::/app.slice\n", &files), Some(1_000_000_000));
        // Page cache the group could give back is room.
        let cached = [
            ("app.slice/memory.max", "1000\n"),
            ("app.slice/memory.current", "900\n"),
            (
                "app.slice/memory.stat",
                "anon 100\nfile 800\ninactive_file 600\n",
            ),
        ];
        assert_eq!(group("0::/app.slice\n", &cached), Some(700));
        // No limit set.
        let unlimited = [("memory.max", "max\n"), ("memory.current", "5\n")];
        assert_eq!(group("0::/\n", &unlimited), None);
        // A container's namespace: its path is not under this root, its files are at the root.
        let root_files = [("memory.max", "2000\n"), ("memory.current", "500\n")];
        assert_eq!(group("0::/elsewhere\n", &root_files), Some(1500));
    }

    #[test]
    fn a_v1_limit_leaves_the_room_under_it() {
        let files = [
            ("memory/docker/1/memory.limit_in_bytes", "4096\n"),
            ("memory/docker/1/memory.usage_in_bytes", "1024\n"),
        ];
        let lines = "12:cpu,cpuacct:/docker/1\n4:memory:/docker/1\n";
        assert_eq!(group(lines, &files), Some(3072));
        let cached = [
            ("memory/docker/1/memory.limit_in_bytes", "4096\n"),
            ("memory/docker/1/memory.usage_in_bytes", "4000\n"),
            (
                "memory/docker/1/memory.stat",
                "cache 3000\ntotal_inactive_file 2000\n",
            ),
        ];
        assert_eq!(group(lines, &cached), Some(2096));
        let unlimited = [("memory/memory.limit_in_bytes", "9223372036854771712\n")];
        assert_eq!(group("4:memory:/\n", &unlimited), None);
    }

    #[test]
    fn no_control_group_file_means_no_limit_known() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(cgroup_room(&dir.path().join("none"), dir.path()), None);
    }
}
