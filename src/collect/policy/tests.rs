//! The policy on made-up times: back-off, memory restarts with their snapshot first, stop
//! signals, periodic and RSS-threshold snapshots.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{Action, Event, Logged, Policy, Trigger, BACKOFF_MAX, BACKOFF_START};
use crate::collect::record::{RecordConfig, RestartPolicy};

fn config() -> RecordConfig {
    RecordConfig {
        command: vec!["node".into(), "app.js".into()],
        out_dir: PathBuf::from("session"),
        sample_interval: Duration::from_secs(1),
        snapshot_every: None,
        snapshot_at_rss: None,
        restart: RestartPolicy::OnCrash,
        max_restarts: None,
        max_memory_restart: None,
        max_snapshots: None,
        max_disk: None,
        kill_timeout: Duration::from_secs(5),
        snapshot_timeout: Duration::from_secs(60),
        track_allocations: false,
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn spawns(actions: &[Action]) -> usize {
    actions.iter().filter(|a| **a == Action::Spawn).count()
}

fn signals(actions: &[Action]) -> Vec<i32> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Signal(s) => Some(*s),
            _ => None,
        })
        .collect()
}

fn snapshots(actions: &[Action]) -> Vec<(Trigger, bool)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Snapshot { trigger, then_done } => Some((*trigger, *then_done)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_crash_restarts_after_a_back_off_that_doubles_and_resets_after_a_long_run() {
    let t0 = Instant::now();
    let mut p = Policy::new(&config(), t0);
    let mut now = t0 + ms(100);
    let mut expected = BACKOFF_START;
    for _ in 0..9 {
        let a = p.on(Event::Exited(1), now);
        assert!(a.contains(&Action::Log(Logged::RestartScheduled {
            in_ms: expected.as_millis() as u64,
            reason: "crash",
        })));
        assert_eq!(spawns(&a), 0, "not before the back-off");
        assert!(
            p.next_wake() <= now + expected,
            "it wakes up for the restart"
        );
        assert_eq!(spawns(&p.on(Event::Tick, now + expected - ms(1))), 0);
        now += expected;
        assert_eq!(spawns(&p.on(Event::Tick, now)), 1);
        p.on(Event::Started, now);
        now += ms(100);
        expected = (expected * 2).min(BACKOFF_MAX);
    }
    assert_eq!(expected, BACKOFF_MAX, "it stops doubling");
    assert_eq!(p.restarts(), 9);
    // A run of more than ten seconds starts the back-off over.
    let a = p.on(Event::Exited(1), now + Duration::from_secs(11));
    assert!(a.contains(&Action::Log(Logged::RestartScheduled {
        in_ms: BACKOFF_START.as_millis() as u64,
        reason: "crash",
    })));
}

#[test]
fn a_clean_exit_ends_the_session_unless_restart_always_and_max_restarts_is_kept() {
    let t0 = Instant::now();
    let mut p = Policy::new(&config(), t0);
    assert_eq!(p.on(Event::Exited(0), t0), [Action::Stop(0)]);

    let always = RecordConfig {
        restart: RestartPolicy::Always,
        max_restarts: Some(1),
        ..config()
    };
    let mut p = Policy::new(&always, t0);
    p.on(Event::Exited(0), t0);
    assert_eq!(spawns(&p.on(Event::Tick, t0 + BACKOFF_START)), 1);
    p.on(Event::Started, t0 + BACKOFF_START);
    let a = p.on(Event::Exited(3), t0 + ms(1000));
    assert_eq!(
        a,
        [
            Action::Warn("not restarting: --max-restarts 1 reached".into()),
            Action::Stop(3)
        ]
    );
}

#[test]
fn a_memory_restart_takes_its_snapshot_first_then_stops_restarts_and_kills_if_needed() {
    let t0 = Instant::now();
    let cfg = RecordConfig {
        max_memory_restart: Some(1000),
        ..config()
    };
    let mut p = Policy::new(&cfg, t0);
    // Below the limit, or above it while a snapshot is being written: nothing.
    assert!(snapshots(&p.on(
        Event::Sampled {
            rss: 999,
            snapshot_busy: false
        },
        t0
    ))
    .is_empty());
    let busy = Event::Sampled {
        rss: 5000,
        snapshot_busy: true,
    };
    assert!(snapshots(&p.on(busy, t0)).is_empty());
    let a = p.on(
        Event::Sampled {
            rss: 1200,
            snapshot_busy: false,
        },
        t0 + ms(10),
    );
    assert_eq!(
        a,
        [
            Action::Log(Logged::MemoryLimit {
                rss: 1200,
                limit: 1000
            }),
            Action::Snapshot {
                trigger: Trigger::BeforeMemoryRestart,
                then_done: true
            }
        ]
    );
    // No second snapshot while the restart is under way.
    assert!(snapshots(&p.on(
        Event::Sampled {
            rss: 1300,
            snapshot_busy: false
        },
        t0 + ms(20)
    ))
    .is_empty());
    let a = p.on(Event::SnapshotDone, t0 + ms(500));
    assert_eq!(
        a,
        [
            Action::Log(Logged::MemoryRestart { signal: "SIGINT" }),
            Action::Signal(libc::SIGINT)
        ]
    );
    // It does not exit: SIGKILL once the kill timeout has passed.
    assert!(signals(&p.on(Event::Tick, t0 + ms(5499))).is_empty());
    let a = p.on(Event::Tick, t0 + ms(5500));
    assert_eq!(signals(&a), [libc::SIGKILL], "{a:?}");
    // Its exit (even a crash code) restarts it at once, without back-off.
    let a = p.on(Event::Exited(137), t0 + ms(5600));
    assert_eq!(spawns(&a), 1, "{a:?}");
    assert_eq!(p.restarts(), 1);
}

#[test]
fn a_stop_signal_is_forwarded_and_ends_the_session_without_restart() {
    let t0 = Instant::now();
    let mut p = Policy::new(&config(), t0);
    let a = p.on(Event::StopSignal(libc::SIGTERM), t0);
    assert_eq!(
        a[..2],
        [
            Action::Log(Logged::Signal {
                signal: libc::SIGTERM,
                forwarded: true
            }),
            Action::Signal(libc::SIGTERM)
        ]
    );
    assert!(p.stopping());
    // The app dies of the signal (a crash code): no restart.
    assert_eq!(p.on(Event::Exited(143), t0 + ms(50)), [Action::Stop(143)]);

    // While waiting to restart, a stop signal ends the session with the last exit code.
    let mut p = Policy::new(&config(), t0);
    p.on(Event::Exited(1), t0);
    let a = p.on(Event::StopSignal(libc::SIGINT), t0 + ms(10));
    assert_eq!(a.last(), Some(&Action::Stop(1)));
    assert_eq!(spawns(&p.on(Event::Tick, t0 + Duration::from_secs(60))), 0);
}

#[test]
fn periodic_snapshots_come_once_per_period_without_bursts_after_a_stall() {
    let t0 = Instant::now();
    let cfg = RecordConfig {
        snapshot_every: Some(Duration::from_secs(5)),
        ..config()
    };
    let mut p = Policy::new(&cfg, t0);
    assert!(snapshots(&p.on(Event::Tick, t0 + ms(4999))).is_empty());
    assert_eq!(
        snapshots(&p.on(Event::Tick, t0 + ms(5000))),
        [(Trigger::Interval, false)]
    );
    // Stalled for 23 s: one snapshot, and the next period from the schedule.
    assert_eq!(snapshots(&p.on(Event::Tick, t0 + ms(28_000))).len(), 1);
    assert!(snapshots(&p.on(Event::Tick, t0 + ms(29_999))).is_empty());
    assert_eq!(snapshots(&p.on(Event::Tick, t0 + ms(30_000))).len(), 1);
    // SIGUSR2 asks for one at any time.
    assert_eq!(
        snapshots(&p.on(Event::SnapshotSignal, t0 + ms(30_001))),
        [(Trigger::Signal, false)]
    );
}

#[test]
fn the_rss_threshold_snapshot_fires_once_per_crossing_and_samples_follow_the_interval() {
    let t0 = Instant::now();
    let cfg = RecordConfig {
        snapshot_at_rss: Some(100),
        ..config()
    };
    let mut p = Policy::new(&cfg, t0);
    assert_eq!(p.on(Event::Tick, t0), [Action::Sample]);
    assert!(p.on(Event::Tick, t0 + ms(999)).is_empty());
    assert_eq!(p.on(Event::Tick, t0 + ms(1000)), [Action::Sample]);
    let sample = |rss| Event::Sampled {
        rss,
        snapshot_busy: false,
    };
    assert_eq!(
        snapshots(&p.on(sample(150), t0 + ms(1000))),
        [(Trigger::RssThreshold, false)]
    );
    assert!(snapshots(&p.on(sample(200), t0 + ms(1000))).is_empty());
    assert!(snapshots(&p.on(sample(50), t0 + ms(1000))).is_empty());
    assert_eq!(snapshots(&p.on(sample(120), t0 + ms(1000))).len(), 1);
}
