//! Reading a snapshot ahead, at idle priority, while this process computes something else.
//!
//! A diff reads its files one after another, and the first file's graph build leaves a core
//! idle for a second or more (the build's two chains are uneven, and nothing earlier is left
//! to finish beside the shorter one). [`ReadAhead`] parses the next file in that time on
//! threads the kernel runs only when a core would otherwise idle (`SCHED_IDLE` on Linux), so
//! the build it overlaps is not slowed by it.
//!
//! Idle priority must not become a stall: on a busy machine (a CI runner, other processes on
//! both cores) such threads get almost no CPU, and the diff would wait for them. So when
//! [`ReadAhead::finish`] finds the read unfinished, it raises the reading threads back to normal
//! priority first. Leaving `SCHED_IDLE` needs a permission an ordinary user may lack
//! (`CAP_SYS_NICE`, or an `RLIMIT_NICE` of 20); [`ReadAhead::start`] checks that it would be
//! allowed and, where it would not, reads nothing ahead: the file is read in turn.
//!
//! What it costs is memory: the parsed columns (about 60 % of the file's size) are held
//! beside the graph being built. The parse releases the file's pages as it goes
//! ([`Source::release`](super::Source::release)), so the mapped file does not add to that.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use super::Snapshot;
use crate::error::Result;

/// A snapshot being read on idle-priority threads, or to be read when it is needed.
pub struct ReadAhead {
    reading: Reading,
}

/// The reading threads (Linux thread ids) that run at idle priority, and whether they were
/// raised (a thread that starts after that stays at normal priority).
#[derive(Default)]
struct Threads {
    idle: Vec<i32>,
    raised: bool,
}

enum Reading {
    Ahead {
        thread: JoinHandle<Result<Snapshot>>,
        /// The reading threads still running, to raise when waited for.
        threads: Arc<Mutex<Threads>>,
    },
    /// Idle priority could not be left again here: read by [`ReadAhead::finish`].
    InTurn(PathBuf),
}

impl ReadAhead {
    /// Starts reading `path` ([`Snapshot::open`]) on idle-priority threads, as many as the
    /// global rayon pool has, if their priority can be raised again when they are waited for.
    pub fn start(path: PathBuf) -> ReadAhead {
        if !idle_priority_can_be_left() {
            return ReadAhead {
                reading: Reading::InTurn(path),
            };
        }
        let threads: Arc<Mutex<Threads>> = Arc::default();
        let count = rayon::current_num_threads();
        let registry = threads.clone();
        let thread = std::thread::spawn(move || {
            let on_start = registry.clone();
            let on_exit = registry.clone();
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(count)
                .thread_name(|i| format!("heapscan-read-ahead-{i}"))
                .start_handler(move |_| enter_idle(&on_start))
                .exit_handler(move |_| leave(&on_exit))
                .build();
            match pool {
                Ok(pool) => pool.install(|| Snapshot::open(&path)),
                // No threads to spare: read on this one, at its normal priority.
                Err(_) => Snapshot::open(&path),
            }
        });
        ReadAhead {
            reading: Reading::Ahead { thread, threads },
        }
    }

    /// The snapshot (or its error). An unfinished read is raised to normal priority first,
    /// so that it cannot stall behind other work. A panic while reading resumes here.
    pub fn finish(self) -> Result<Snapshot> {
        match self.reading {
            Reading::InTurn(path) => Snapshot::open(&path),
            Reading::Ahead { thread, threads } => {
                if !thread.is_finished() {
                    raise_to_normal(&threads);
                }
                match thread.join() {
                    Ok(read) => read,
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
        }
    }
}

/// Whether a thread of this process that enters `SCHED_IDLE` may leave it again: tried once,
/// on a thread of its own that ends right after.
fn idle_priority_can_be_left() -> bool {
    static ALLOWED: OnceLock<bool> = OnceLock::new();
    *ALLOWED.get_or_init(|| {
        #[cfg(target_os = "linux")]
        {
            std::thread::spawn(|| {
                let param = libc::sched_param { sched_priority: 0 };
                // SAFETY: plain system calls on the calling thread (pid 0) with a valid
                // parameter; on Linux they apply to the calling thread only.
                unsafe {
                    libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) == 0
                        && libc::sched_setscheduler(0, libc::SCHED_OTHER, &param) == 0
                }
            })
            .join()
            .unwrap_or(false)
        }
        #[cfg(not(target_os = "linux"))]
        false
    })
}

/// Makes the calling thread run only when a core has nothing else to run, and records it
/// (unless the read is already waited for).
fn enter_idle(threads: &Mutex<Threads>) {
    #[cfg(target_os = "linux")]
    if let Ok(mut list) = threads.lock() {
        if list.raised {
            return;
        }
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: plain system calls on the calling thread (pid 0), with a valid parameter.
        // On Linux they apply to the calling thread only, not to the process.
        unsafe {
            if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) == 0 {
                list.idle.push(libc::gettid());
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = threads;
}

/// Forgets the calling thread, which is about to exit (its id may then be reused).
fn leave(threads: &Mutex<Threads>) {
    #[cfg(target_os = "linux")]
    if let Ok(mut list) = threads.lock() {
        // SAFETY: gettid has no preconditions.
        let me = unsafe { libc::gettid() };
        list.idle.retain(|&t| t != me);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = threads;
}

/// Puts every recorded reading thread back to normal priority. Under the lock, so that no
/// thread leaves (and its id is reused) meanwhile.
fn raise_to_normal(threads: &Mutex<Threads>) {
    #[cfg(target_os = "linux")]
    if let Ok(mut list) = threads.lock() {
        list.raised = true;
        let param = libc::sched_param { sched_priority: 0 };
        for &tid in list.idle.iter() {
            // SAFETY: plain system calls on threads of this process that are still running
            // (they remove themselves from the list, under this lock, before they exit).
            unsafe {
                libc::sched_setscheduler(tid, libc::SCHED_OTHER, &param);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = threads;
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
    fn read_ahead_threads_run_at_idle_priority_until_waited_for() {
        let threads: Arc<Mutex<Threads>> = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let registry = threads.clone();
        let reader = std::thread::spawn(move || {
            enter_idle(&registry);
            // SAFETY: queries the calling thread's policy.
            let _ = tx.send(unsafe { libc::sched_getscheduler(0) });
            let _ = go_rx.recv();
            // SAFETY: as above.
            let after = unsafe { libc::sched_getscheduler(0) };
            leave(&registry);
            after
        });
        assert_eq!(rx.recv().expect("policy"), libc::SCHED_IDLE);
        // The caller's own thread is untouched.
        // SAFETY: as above.
        assert_ne!(unsafe { libc::sched_getscheduler(0) }, libc::SCHED_IDLE);
        assert_eq!(threads.lock().expect("lock").idle.len(), 1);
        if idle_priority_can_be_left() {
            raise_to_normal(&threads);
            go_tx.send(()).expect("go");
            assert_eq!(reader.join().expect("thread ran"), libc::SCHED_OTHER);
        } else {
            go_tx.send(()).expect("go");
            assert_eq!(reader.join().expect("thread ran"), libc::SCHED_IDLE);
        }
        assert!(
            threads.lock().expect("lock").idle.is_empty(),
            "it left the list"
        );
    }
}
