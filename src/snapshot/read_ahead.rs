//! Reading a snapshot ahead, at idle priority, while this process computes something else.
//!
//! A diff reads its files one after another, and the first file's graph build leaves a core
//! idle for a second or more (the build's two chains are uneven, and nothing earlier is left
//! to finish beside the shorter one). [`ReadAhead`] parses the next file in that time on
//! threads the kernel runs only when a core would otherwise idle (`SCHED_IDLE` on Linux), so
//! the build it overlaps is not slowed by it, and takes both cores once the build is done.
//!
//! What it costs is memory: the parsed columns (about 60 % of the file's size) are held
//! beside the graph being built. The parse releases the file's pages as it goes
//! ([`Source::release`](super::Source::release)), so the mapped file does not add to that.

use std::path::PathBuf;
use std::thread::JoinHandle;

use super::Snapshot;
use crate::error::Result;

/// A snapshot being read on idle-priority threads.
pub struct ReadAhead {
    reading: JoinHandle<Result<Snapshot>>,
}

impl ReadAhead {
    /// Starts reading `path` ([`Snapshot::open`]) on idle-priority threads, as many as the
    /// global rayon pool has.
    pub fn start(path: PathBuf) -> ReadAhead {
        let threads = rayon::current_num_threads();
        let reading = std::thread::spawn(move || {
            lower_to_idle_priority();
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("heapscan-read-ahead-{i}"))
                .start_handler(|_| lower_to_idle_priority())
                .build();
            match pool {
                Ok(pool) => pool.install(|| Snapshot::open(&path)),
                // No threads to spare: read on this one.
                Err(_) => Snapshot::open(&path),
            }
        });
        ReadAhead { reading }
    }

    /// Waits for the snapshot (or its error). A panic while reading resumes here.
    pub fn finish(self) -> Result<Snapshot> {
        match self.reading.join() {
            Ok(read) => read,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// Makes the calling thread run only when a core has nothing else to run. Best effort: where
/// the scheduler cannot (not Linux), the thread keeps its priority and only competes for cores.
fn lower_to_idle_priority() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: plain system calls on the calling thread (pid 0), with a valid parameter.
        // On Linux both apply to the calling thread only, not to the process.
        let idle = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
        if idle != 0 {
            // SCHED_IDLE refused (a sandbox): the lowest nice value instead.
            let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_the_same_error_read_ahead() {
        let path = PathBuf::from("/nonexistent/dir/a.heapsnapshot");
        let direct = Snapshot::open(&path).err().map(|e| e.to_string());
        let ahead = ReadAhead::start(path).finish().err().map(|e| e.to_string());
        assert!(direct.is_some());
        assert_eq!(direct, ahead);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn read_ahead_threads_run_at_idle_priority() {
        let reading = std::thread::spawn(|| {
            lower_to_idle_priority();
            // SAFETY: queries the calling thread's policy.
            unsafe { libc::sched_getscheduler(0) }
        });
        let policy = reading.join().expect("thread ran");
        assert_eq!(policy, libc::SCHED_IDLE);
        // The caller's own thread is untouched.
        // SAFETY: as above.
        assert_ne!(unsafe { libc::sched_getscheduler(0) }, libc::SCHED_IDLE);
    }
}
