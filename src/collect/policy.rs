//! What `heapscan record` decides, apart from doing it: when to restart the app (with its
//! back-off), when to take a snapshot (every N seconds, on crossing an RSS threshold, before a
//! memory restart, on SIGUSR2), when to stop it for `--max-memory-restart` and when to kill it.
//! [`Policy::on`] takes one [`Event`] and the time it happened and returns the [`Action`]s to
//! carry out; it reads no clock, process or file, so it is tested with made-up times. The
//! supervisor in `record` owns the processes, threads and files and carries the actions out.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::record::{RecordConfig, RestartPolicy};

/// Back-off after a crash: doubles from this …
pub(crate) const BACKOFF_START: Duration = Duration::from_millis(250);
/// … up to this.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A run at least this long resets the back-off.
pub(crate) const MIN_UPTIME: Duration = Duration::from_secs(10);

/// What started a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    Interval,
    RssThreshold,
    Signal,
    BeforeMemoryRestart,
}

impl Trigger {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Trigger::Interval => "interval",
            Trigger::RssThreshold => "rss-threshold",
            Trigger::Signal => "signal",
            Trigger::BeforeMemoryRestart => "before-memory-restart",
        }
    }
}

/// What happened, as the supervisor tells it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Event {
    /// The app (re)started.
    Started,
    /// SIGUSR2 reached heapscan: a person (or `heapscan snap`) asks for a snapshot.
    SnapshotSignal,
    /// A signal that stops the session (SIGINT, SIGTERM, SIGHUP, SIGQUIT).
    StopSignal(i32),
    /// A snapshot asked for by [`Action::Snapshot`] is done (or was skipped, when it asked
    /// `then_done`).
    SnapshotDone,
    /// The app exited with this code (as a shell reports it).
    Exited(i32),
    /// The app's RSS, read after [`Action::Sample`]; `snapshot_busy` while a snapshot is
    /// being written (whose cost the RSS then includes).
    Sampled { rss: u64, snapshot_busy: bool },
    /// Nothing but time passed (the wake-up [`Policy::next_wake`] asked for).
    Tick,
}

/// What to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    /// Take a snapshot; `then_done` asks for [`Event::SnapshotDone`] even if it is skipped.
    Snapshot { trigger: Trigger, then_done: bool },
    /// Send this signal to the app's process group.
    Signal(i32),
    /// Start the app again.
    Spawn,
    /// Read the app's memory and tell [`Event::Sampled`].
    Sample,
    /// Write this to events.jsonl.
    Log(Logged),
    /// Tell the user (and events.jsonl).
    Warn(String),
    /// End the session with this exit code.
    Stop(i32),
}

/// A line of events.jsonl that the policy decides (`{"t_ms":…,"event":"restart",…}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub(crate) enum Logged {
    Signal { signal: i32, forwarded: bool },
    RestartScheduled { in_ms: u64, reason: &'static str },
    Restart { restarts: u32 },
    MemoryLimit { rss: u64, limit: u64 },
    MemoryRestart { signal: &'static str },
}

/// The supervisor's state between events.
#[derive(Debug)]
pub(crate) struct Policy {
    restart: RestartPolicy,
    max_restarts: Option<u32>,
    kill_timeout: Duration,
    snapshot_every: Option<Duration>,
    sample_interval: Duration,
    snapshot_at_rss: Option<u64>,
    max_memory_restart: Option<u64>,
    running: bool,
    child_started: Instant,
    next_sample: Instant,
    next_periodic: Option<Instant>,
    above_rss: bool,
    /// Restarting for `--max-memory-restart`: the snapshot first, then SIGINT.
    memory_restart: bool,
    kill_at: Option<Instant>,
    restart_at: Option<Instant>,
    backoff: Duration,
    /// A stop signal came: no more restarts or snapshots.
    stopping: bool,
    last_exit: Option<i32>,
    restarts: u32,
}

impl Policy {
    /// The policy of `cfg` for an app started at `now`.
    pub(crate) fn new(cfg: &RecordConfig, now: Instant) -> Policy {
        Policy {
            restart: cfg.restart,
            max_restarts: cfg.max_restarts,
            kill_timeout: cfg.kill_timeout,
            snapshot_every: cfg.snapshot_every,
            sample_interval: cfg.sample_interval,
            snapshot_at_rss: cfg.snapshot_at_rss,
            max_memory_restart: cfg.max_memory_restart,
            running: true,
            child_started: now,
            next_sample: now,
            next_periodic: cfg.snapshot_every.map(|d| now + d),
            above_rss: false,
            memory_restart: false,
            kill_at: None,
            restart_at: None,
            backoff: BACKOFF_START,
            stopping: false,
            last_exit: None,
            restarts: 0,
        }
    }

    /// How many times the app was restarted.
    pub(crate) fn restarts(&self) -> u32 {
        self.restarts
    }

    /// Whether a stop signal came (snapshots are then refused).
    pub(crate) fn stopping(&self) -> bool {
        self.stopping
    }

    /// When to wake up if no event comes first.
    pub(crate) fn next_wake(&self) -> Instant {
        [self.next_periodic, self.kill_at, self.restart_at]
            .into_iter()
            .flatten()
            .fold(self.next_sample, Instant::min)
    }

    /// The actions `event`, which happened at `now`, calls for; then what is due at `now`.
    pub(crate) fn on(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        match event {
            Event::Started => {
                self.running = true;
                self.child_started = now;
                self.above_rss = false;
            }
            Event::SnapshotSignal => actions.push(Action::Snapshot {
                trigger: Trigger::Signal,
                then_done: false,
            }),
            Event::StopSignal(signal) => {
                actions.push(Action::Log(Logged::Signal {
                    signal,
                    forwarded: self.running,
                }));
                self.stopping = true;
                if self.running {
                    actions.push(Action::Signal(signal));
                } else {
                    // Waiting to restart: stop now with the last exit code.
                    actions.push(Action::Stop(self.last_exit.unwrap_or(128 + signal)));
                    return actions;
                }
            }
            Event::SnapshotDone => {
                if self.memory_restart && self.kill_at.is_none() && self.running {
                    actions.push(Action::Log(Logged::MemoryRestart { signal: "SIGINT" }));
                    actions.push(Action::Signal(libc::SIGINT));
                    self.kill_at = Some(now + self.kill_timeout);
                }
            }
            Event::Exited(code) => {
                if let Some(stop) = self.exited(code, now, &mut actions) {
                    actions.push(stop);
                    return actions;
                }
            }
            Event::Sampled { rss, snapshot_busy } => self.sampled(rss, snapshot_busy, &mut actions),
            Event::Tick => {}
        }
        self.due(now, &mut actions);
        actions
    }

    /// The app exited: a restart is scheduled, or the session ends (the returned action).
    fn exited(&mut self, code: i32, now: Instant, actions: &mut Vec<Action>) -> Option<Action> {
        self.last_exit = Some(code);
        self.running = false;
        self.kill_at = None;
        if now.saturating_duration_since(self.child_started) >= MIN_UPTIME {
            self.backoff = BACKOFF_START;
        }
        if self.memory_restart && !self.stopping {
            // Stopped by us for its memory: start it again at once.
            self.memory_restart = false;
            self.restart_at = Some(now);
            return None;
        }
        let crashed = code != 0;
        let wanted = !self.stopping
            && match self.restart {
                RestartPolicy::Never => false,
                RestartPolicy::Always => true,
                RestartPolicy::OnCrash => crashed,
            };
        let allowed = self.max_restarts.is_none_or(|m| self.restarts < m);
        if wanted && !allowed {
            actions.push(Action::Warn(format!(
                "not restarting: --max-restarts {} reached",
                self.restarts
            )));
        }
        if !(wanted && allowed) {
            return Some(Action::Stop(code));
        }
        self.restart_at = Some(now + self.backoff);
        actions.push(Action::Log(Logged::RestartScheduled {
            in_ms: self.backoff.as_millis() as u64,
            reason: if crashed { "crash" } else { "exit" },
        }));
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
        None
    }

    /// A memory reading: the RSS-threshold snapshot and the memory restart.
    fn sampled(&mut self, rss: u64, snapshot_busy: bool, actions: &mut Vec<Action>) {
        if let Some(limit) = self.snapshot_at_rss {
            if rss >= limit && !self.above_rss {
                self.above_rss = true;
                actions.push(Action::Snapshot {
                    trigger: Trigger::RssThreshold,
                    then_done: false,
                });
            } else if rss < limit {
                self.above_rss = false;
            }
        }
        if let Some(limit) = self.max_memory_restart {
            // RSS read during a snapshot includes the snapshot's own cost: heapscan must not
            // restart the app for memory it made it use.
            if rss >= limit && !self.memory_restart && !self.stopping && !snapshot_busy {
                self.memory_restart = true;
                actions.push(Action::Log(Logged::MemoryLimit { rss, limit }));
                // Evidence first: the snapshot, then the restart when SnapshotDone arrives
                // (sent even when the snapshot is skipped).
                actions.push(Action::Snapshot {
                    trigger: Trigger::BeforeMemoryRestart,
                    then_done: true,
                });
            }
        }
    }

    /// What is due at `now`: a restart, a kill, a periodic snapshot, a memory sample.
    fn due(&mut self, now: Instant, actions: &mut Vec<Action>) {
        if self.restart_at.is_some_and(|t| now >= t) && !self.running && !self.stopping {
            self.restart_at = None;
            self.restarts += 1;
            actions.push(Action::Log(Logged::Restart {
                restarts: self.restarts,
            }));
            actions.push(Action::Spawn);
        }
        if self.kill_at.is_some_and(|t| now >= t) {
            self.kill_at = None;
            if self.running {
                actions.push(Action::Warn(format!(
                    "app did not exit within {:?} of SIGINT: sending SIGKILL",
                    self.kill_timeout
                )));
                actions.push(Action::Signal(libc::SIGKILL));
            }
        }
        if let (Some(next), Some(every)) = (self.next_periodic.as_mut(), self.snapshot_every) {
            if now >= *next {
                // One snapshot however many periods passed (a long snapshot, a suspended host).
                while *next <= now {
                    *next += every;
                }
                actions.push(Action::Snapshot {
                    trigger: Trigger::Interval,
                    then_done: false,
                });
            }
        }
        if now >= self.next_sample {
            self.next_sample = now + self.sample_interval;
            actions.push(Action::Sample);
        }
    }
}

#[cfg(test)]
mod tests;
