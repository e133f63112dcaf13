//! `heapscan diff`: comparing successive snapshots of one process, or of processes of one app,
//! and naming what leaks.
//!
//! [`compare`] is the one entry point (`diff`, `gate` and `report` call it); `pipeline`
//! schedules the work. Each snapshot but the last is reduced to a [`Digest`] as soon as its
//! graph is built, so a diff of N snapshots holds one full graph at a time. The last
//! snapshot's graph stays, to describe each suspect: its owner, the shortest path to it from
//! the GC roots, and where in the source it is created. This module judges whether and how
//! the snapshots can be compared — one process in order, or different processes of one
//! program (then matched by structure: [`holder`]); which steps were idle, which go to a
//! restarted process — and builds the class comparison; `detectors` holds the leak detectors,
//! one module per kind; `stored` keeps digests in the index cache for the next diff of the same
//! files. Pure: returns a [`DiffReport`], prints nothing.

mod detectors;
pub mod digest;
pub mod holder;
mod located;
pub mod objects;
pub mod owners;
mod pipeline;
pub mod shapes;
mod stored;
pub mod views;

use std::collections::BTreeMap;

use crate::provenance::Provenance;
use crate::report::diff::{
    ClassChange, DiffReport, Judgement, Matching, SnapshotSummary, Step, Thresholds, Unjudgeable,
};
use digest::{Digest, DigestBody};
use objects::membership;
pub(crate) use pipeline::compare_visiting;
pub use pipeline::{compare, index_ahead};
use rayon::prelude::*;

/// What the user asked of the diff.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    pub thresholds: Thresholds,
    /// Keep this many class rows (all when `None`).
    pub top: Option<usize>,
    /// Keep this many suspects (all when `None`).
    pub max_suspects: Option<usize>,
    /// The memory the diff may plan to take, in bytes: with less than its faster plan needs,
    /// it reads one snapshot at a time ([`pipeline`]). `None`: half of what is available
    /// when it starts ([`crate::memory::available`]).
    pub max_memory: Option<u64>,
}

/// Why two successive snapshots cannot be compared object by object.
#[derive(Debug, Clone)]
enum Mismatch {
    /// The later one's ids are lower: out of order (or another process).
    IdsGoDown(String),
    /// Too few ids in common, or shared ids of different classes: another process.
    OtherProcess(String),
}

impl Mismatch {
    fn message(&self) -> &str {
        match self {
            Mismatch::IdsGoDown(m) | Mismatch::OtherProcess(m) => m,
        }
    }
}

/// How snapshot `b` follows snapshot `a`.
struct PairCheck {
    same: Result<(), Mismatch>,
    /// Objects of `b` whose ids `a` does not have.
    new_objects: u64,
}

/// Whether two snapshots come from one process: V8 keeps an object's id for its lifetime and
/// gives new objects higher ids, so most objects of the earlier snapshot reappear under the
/// same id with the same class, and the highest id does not go down.
fn same_process(a: &DigestBody, b: &DigestBody) -> PairCheck {
    // Embedder (`Node / …`) and synthetic nodes get fresh ids in every snapshot: they say
    // nothing about what the process did in between.
    let fresh_each_time: Vec<bool> = b
        .classes
        .iter()
        .map(|c| {
            c.name.starts_with("Node / ")
                || c.name.starts_with("Detached Node / ")
                || c.name == "(synthetic)"
        })
        .collect();
    let (mut matched, mut consistent, mut new_objects) = (0u64, 0u64, 0u64);
    let mut earlier = a.objects.iter().peekable();
    for o in b.objects.iter() {
        while earlier.next_if(|e| e.id < o.id).is_some() {}
        match earlier.next_if(|e| e.id == o.id) {
            Some(e) => {
                matched += 1;
                if a.classes[e.class as usize].key == b.classes[o.class as usize].key {
                    consistent += 1;
                }
            }
            // Not in `a` (or past its end): new since `a`.
            None => new_objects += u64::from(!fresh_each_time[o.class as usize]),
        }
    }
    let smaller = a.objects.len().min(b.objects.len()).max(1) as f64;
    let same = if b.max_node_id < a.max_node_id {
        Err(Mismatch::IdsGoDown(format!(
            "{} has lower object ids than {} (max {} < {}): not a later snapshot of the same process",
            b.file, a.file, b.max_node_id, a.max_node_id
        )))
    } else if (matched as f64) < 0.2 * smaller {
        Err(Mismatch::OtherProcess(format!(
            "only {matched} object ids of {} reappear in {}: not snapshots of one process",
            a.file, b.file
        )))
    } else if (consistent as f64) < 0.9 * matched as f64 {
        Err(Mismatch::OtherProcess(format!(
            "{} of {matched} shared object ids have a different class in {} than in {}: not snapshots of one process",
            matched - consistent,
            b.file,
            a.file
        )))
    } else {
        Ok(())
    };
    PairCheck { same, new_objects }
}

/// How a diff's snapshots relate: whether they are one process in order, the activity of each
/// step, and which snapshots the detectors compare.
struct Judging {
    /// The first pair of successive snapshots that are not of one process, if any.
    mismatch: Option<Mismatch>,
    /// How objects are matched from one snapshot to the next.
    matched_by: Matching,
    judgement: Judgement,
    steps: Vec<Step>,
    /// Indexes of the snapshots the detectors compare: a snapshot after an idle step
    /// replaces the one before it (the step neither confirms nor refutes growth).
    judged: Vec<usize>,
    /// Per step between judged snapshots: whether growth in it counts (not across a restart).
    counted: Vec<bool>,
    /// Per step between judged snapshots: whether it goes from one process to another.
    across: Vec<bool>,
}

/// Judges how `digests` can be compared (see [`Judging`]); `provenance[k]` is the side file of
/// snapshot `k`, when it has one.
fn judge(digests: &[&DigestBody], provenance: &[Option<Provenance>], th: &Thresholds) -> Judging {
    let checks: Vec<PairCheck> = digests
        .par_windows(2)
        .map(|pair| same_process(pair[0], pair[1]))
        .collect();
    let side = |k: usize| provenance.get(k).and_then(Option::as_ref);
    // Per step: whether both snapshots are of one process. Side files name the process: a
    // different one is certain, whatever the ids say.
    let pairs: Vec<Result<(), Mismatch>> = (1..digests.len())
        .map(|k| match (side(k - 1), side(k)) {
            (Some(a), Some(b)) if a.process != b.process => Err(Mismatch::OtherProcess(format!(
                "{} (pid {}) and {} (pid {}) were taken of different processes",
                digests[k - 1].file,
                a.process.pid,
                digests[k].file,
                b.process.pid
            ))),
            _ => checks[k - 1].same.clone(),
        })
        .collect();
    let mismatch = pairs.iter().find_map(|p| p.clone().err());
    let one_process: Vec<bool> = pairs.iter().map(Result::is_ok).collect();
    let cpu: Vec<Option<u64>> = (1..digests.len())
        .map(|k| {
            let (a, b) = (side(k - 1)?, side(k)?);
            Some(b.cpu_ms_before.saturating_sub(a.cpu_ms_after))
        })
        .collect();
    // A later process that had done less work (CPU time, up to the snapshot: writing one
    // takes CPU too) than the earlier one, and had run for less time, is younger: it was
    // started after it, as on a restart, and what it holds says nothing about growth since the
    // earlier snapshot. Processes of one app given at increasing uptime each did more work
    // than the one before. CPU time alone misleads where startup costs vary (a process that
    // faulted in cold pages pays for it in system time); the wall clock, where both side
    // files have it, must agree.
    let restart: Vec<bool> = (1..digests.len())
        .map(|k| {
            !one_process[k - 1]
                && matches!((side(k - 1), side(k)), (Some(a), Some(b)) if younger(b, a))
        })
        .collect();
    let steps = steps(&checks, &cpu, &one_process, &restart, th);
    // An idle step is merged into the next: the snapshot after it replaces the one before.
    // (Idle steps are within one process, so a merged step crosses processes and restarts
    // as the step after it does.)
    let mut judged = vec![0];
    let mut counted = Vec::new();
    let mut across = Vec::new();
    for (k, step) in steps.iter().enumerate() {
        if step.idle {
            judged.pop();
        } else {
            counted.push(!step.restart);
            across.push(step.other_process);
        }
        judged.push(k + 1);
    }
    let matched_by = if mismatch.is_none() {
        Matching::Ids
    } else {
        Matching::Structure
    };
    let judgement = judgement(digests, mismatch.as_ref(), &steps, &judged, &counted, th);
    Judging {
        mismatch,
        matched_by,
        judgement,
        steps,
        judged,
        counted,
        across,
    }
}

/// Whether the process of side file `later` had done less than that of `earlier` when its
/// snapshot was asked for: less CPU time, and less time running where both know it.
fn younger(later: &Provenance, earlier: &Provenance) -> bool {
    later.cpu_ms_before < earlier.cpu_ms_before
        && match (later.uptime_ms_before, earlier.uptime_ms_before) {
            (Some(l), Some(e)) => l < e,
            _ => true,
        }
}

/// Each step's activity, and whether it was idle: when the objects it left in the heap and,
/// where both side files have it (`cpu`), the CPU time the process spent in it are each below
/// their floor or below `idle_step_fraction` of the busiest step's. Either measure alone shows
/// work: a light handler serves hundreds of requests in a few ms of CPU, and work that leaves
/// nothing behind still takes CPU. Only within one process (`one_process`, per step): from one
/// process to another nothing is measured, and a step to a `restart`ed process is marked.
fn steps(
    checks: &[PairCheck],
    cpu: &[Option<u64>],
    one_process: &[bool],
    restart: &[bool],
    th: &Thresholds,
) -> Vec<Step> {
    let within = |k: usize| one_process[k];
    let busiest_cpu = (0..cpu.len())
        .filter(|&k| within(k))
        .filter_map(|k| cpu[k])
        .max()
        .unwrap_or(0);
    let busiest_objects = (0..checks.len())
        .filter(|&k| within(k))
        .map(|k| checks[k].new_objects)
        .max()
        .unwrap_or(0);
    let below = |value: u64, floor: u64, busiest: u64| {
        (value as f64) < (floor as f64).max(th.idle_step_fraction * busiest as f64)
    };
    checks
        .iter()
        .zip(cpu)
        .enumerate()
        .map(|(k, (c, &cpu_ms))| Step {
            new_objects: within(k).then_some(c.new_objects),
            cpu_ms: cpu_ms.filter(|_| within(k)),
            idle: within(k)
                && below(c.new_objects, th.idle_step_objects, busiest_objects)
                && cpu_ms.is_none_or(|ms| below(ms, th.idle_step_cpu_ms, busiest_cpu)),
            other_process: !within(k),
            restart: restart[k],
        })
        .collect()
}

/// How many of the app's own scripts two snapshots share, and of how many in all.
fn shared_app_scripts(a: &DigestBody, b: &DigestBody) -> (usize, usize) {
    let shared = a
        .app_scripts
        .iter()
        .filter(|s| b.app_scripts.binary_search(s).is_ok())
        .count();
    (shared, a.app_scripts.len() + b.app_scripts.len() - shared)
}

/// Whether the snapshots can be judged, and if not why and what to do; `judged` snapshots
/// remain once idle steps are merged, `counted` says which steps between them count.
fn judgement(
    digests: &[&DigestBody],
    mismatch: Option<&Mismatch>,
    steps: &[Step],
    judged: &[usize],
    counted: &[bool],
    th: &Thresholds,
) -> Judgement {
    let advice = "compare snapshots of one app, oldest first: `heapscan snap --pid PID --count 3 --every 30s` takes a series of one process";
    // Ids that go down are snapshots out of order only if in the order of their ids they are
    // one process; otherwise they are of different processes.
    if let Some(Mismatch::IdsGoDown(message)) = mismatch {
        if let Some(files) = id_order(digests) {
            return Judgement::CannotJudge {
                problem: Unjudgeable::OutOfOrder,
                message: message.clone(),
                advice: format!(
                    "these look out of order — did you mean `heapscan diff {files}`? Give snapshots oldest first"
                ),
            };
        }
    }
    // Across processes, what is matched is the app's variables, properties and functions:
    // the processes must run one program.
    let unrelated = steps.iter().enumerate().find_map(|(k, step)| {
        let (a, b) = (digests[k], digests[k + 1]);
        let (shared, all) = shared_app_scripts(a, b);
        (step.other_process && (shared == 0 || shared * 2 < all)).then(|| {
            format!(
                "{} and {} come from different processes that do not run one program: they share {shared} of the {all} scripts of their own (outside Node and node_modules)",
                a.file, b.file
            )
        })
    });
    if let Some(message) = unrelated {
        return Judgement::CannotJudge {
            problem: Unjudgeable::NotOneProcess,
            message,
            advice: advice.into(),
        };
    }
    if judged.len() < 2 {
        return Judgement::CannotJudge {
            problem: Unjudgeable::AllStepsIdle,
            message: if steps.iter().all(|s| s.cpu_ms.is_some()) {
                format!(
                    "the process did (almost) nothing between these snapshots: in every step it spent less than {} ms of CPU time and left fewer than {} new objects in the heap, so growth can be neither seen nor ruled out",
                    th.idle_step_cpu_ms, th.idle_step_objects
                )
            } else {
                format!(
                    "no step shows the process at work: each left fewer than {} new objects in the heap, so growth can be neither seen nor ruled out (an app whose work leaves nothing behind looks the same; snapshots taken with `heapscan snap` or `heapscan record` also measure its CPU time)",
                    th.idle_step_objects
                )
            },
            advice: "put the app under its usual load between snapshots (requests, jobs), then take the next one; `--idle-below N` and `--idle-cpu-below MS` set what counts as idle".into(),
        };
    }
    if !counted.contains(&true) {
        return Judgement::CannotJudge {
            problem: Unjudgeable::OnlyRestarts,
            message: "every step goes to a process that had done less CPU work and run for less time than the one before (it was restarted, or is younger), so growth can be neither seen nor ruled out".into(),
            advice: "compare two or more snapshots of one process, or of processes of one app at increasing uptime, oldest first".into(),
        };
    }
    Judgement::Judged
}

/// The files in the order of their ids, when in that order they are snapshots of one process.
fn id_order(digests: &[&DigestBody]) -> Option<String> {
    let mut order: Vec<usize> = (0..digests.len()).collect();
    order.sort_by_key(|&i| digests[i].max_node_id);
    let consistent = order
        .windows(2)
        .all(|w| same_process(digests[w[0]], digests[w[1]]).same.is_ok());
    consistent.then(|| {
        let files: Vec<&str> = order.iter().map(|&i| digests[i].file.as_str()).collect();
        files.join(" ")
    })
}

/// DevTools' comparison per class (first vs last snapshot) and each class's totals in every
/// snapshot.
fn class_changes(digests: &[&Digest], same: bool) -> Vec<ClassChange> {
    let k = digests.len();
    let mut rows: BTreeMap<&str, ClassChange> = BTreeMap::new();
    for (s, d) in digests.iter().enumerate() {
        for (c, totals) in d.classes.iter().zip(&d.class_totals) {
            if totals.count == 0 {
                continue;
            }
            let row = rows.entry(c.key.as_str()).or_insert_with(|| ClassChange {
                class: c.name.clone(),
                location: c.location.clone(),
                counts: vec![0; k],
                retained_sizes: vec![0; k],
                new: 0,
                deleted: 0,
                delta: 0,
                alloc_size: 0,
                freed_size: 0,
                size_delta: 0,
                retained_delta: 0,
                survivors: None,
            });
            row.counts[s] += totals.count;
            row.retained_sizes[s] += totals.retained_size;
            if s == 0 {
                row.size_delta -= totals.self_size as i64;
            }
            if s == k - 1 {
                row.size_delta += totals.self_size as i64;
            }
        }
    }
    let mut rows: Vec<(&str, ClassChange)> = rows.into_iter().collect();
    if same {
        add_id_changes(digests, &mut rows);
    }
    let mut out: Vec<ClassChange> = rows
        .into_iter()
        .map(|(_, mut row)| {
            row.delta = row.counts[k - 1] as i64 - row.counts[0] as i64;
            row.retained_delta = row.retained_sizes[k - 1] as i64 - row.retained_sizes[0] as i64;
            row
        })
        .filter(|r| r.new != 0 || r.deleted != 0 || r.delta != 0 || r.retained_delta != 0)
        .collect();
    // Like DevTools' Comparison view: biggest growth in shallow size first (retained growth
    // piles up on every dominator above a leak, shallow growth sits where objects are added).
    out.sort_by(|a, b| {
        b.size_delta
            .cmp(&a.size_delta)
            .then(b.delta.cmp(&a.delta))
            .then(b.retained_delta.cmp(&a.retained_delta))
            .then_with(|| a.class.cmp(&b.class))
            .then_with(|| {
                let text = |c: &ClassChange| c.location.as_ref().map(ToString::to_string);
                text(a).cmp(&text(b))
            })
    });
    out
}

/// The by-id columns of DevTools' comparison, added to `rows` (sorted by class key): objects
/// new in the last snapshot, deleted since the first, and (with three or more snapshots)
/// survivors of the second. Only within one process, where ids carry over.
fn add_id_changes<'d>(digests: &[&'d Digest], rows: &mut Vec<(&'d str, ClassChange)>) {
    let k = digests.len();
    let first = digests[0];
    let last = digests[k - 1];
    // Objects are tallied per class of their digest, then added to the class's row: one
    // row lookup per class instead of one per object.
    let tally = |d: &Digest, counted: &dyn Fn(usize) -> bool| -> Vec<(u64, u64)> {
        let mut per_class = vec![(0u64, 0u64); d.classes.len()];
        for (i, o) in d.objects.iter().enumerate() {
            if counted(i) {
                let slot = &mut per_class[o.class as usize];
                slot.0 += 1;
                slot.1 += o.self_size;
            }
        }
        per_class
    };
    let add = |rows: &mut Vec<(&str, ClassChange)>,
               d: &Digest,
               per_class: Vec<(u64, u64)>,
               apply: &dyn Fn(&mut ClassChange, u64, u64)| {
        for (c, (count, size)) in per_class.into_iter().enumerate() {
            if count == 0 {
                continue;
            }
            let key = d.classes[c].key.as_str();
            if let Ok(r) = rows.binary_search_by(|(k, _)| (*k).cmp(key)) {
                apply(&mut rows[r].1, count, size);
            }
        }
    };
    // New objects (in the last snapshot, not the first), deleted ones (in the first, not
    // the last) and survivors (allocated after the first snapshot, alive at the second
    // and at the last) are independent merges of sorted ids: run them side by side.
    let second = (k >= 3).then(|| &digests[1]);
    let (new, (deleted, survivors)) = rayon::join(
        || {
            let last_in_first = membership(&last.objects, &first.objects);
            tally(last, &|i| !last_in_first.get(i))
        },
        || {
            rayon::join(
                || {
                    let first_in_last = membership(&first.objects, &last.objects);
                    tally(first, &|i| !first_in_last.get(i))
                },
                || {
                    second.map(|second| {
                        let (in_first, in_last) = rayon::join(
                            || membership(&second.objects, &first.objects),
                            || membership(&second.objects, &last.objects),
                        );
                        tally(second, &|i| !in_first.get(i) && in_last.get(i))
                    })
                },
            )
        },
    );
    add(rows, last, new, &|row, count, size| {
        row.new += count;
        row.alloc_size += size;
    });
    add(rows, first, deleted, &|row, count, size| {
        row.deleted += count;
        row.freed_size += size;
    });
    if let (Some(second), Some(survivors)) = (second, survivors) {
        for (_, row) in rows.iter_mut() {
            row.survivors = Some(0);
        }
        add(rows, second, survivors, &|row, count, _| {
            row.survivors = Some(row.survivors.unwrap_or(0) + count);
        });
    }
}

fn report(
    digests: &[&Digest],
    judging: Judging,
    last: &detectors::Last<'_>,
    shaped: detectors::Detected,
    options: &DiffOptions,
) -> DiffReport {
    assert!(digests.len() >= 2, "diff needs two or more snapshots");
    let Judging {
        mismatch,
        matched_by,
        judgement,
        steps,
        judged,
        counted,
        across,
    } = judging;
    let same_process_reason = match &mismatch {
        None => {
            "object ids carry over from each snapshot to the next with the same classes".to_string()
        }
        Some(m) => format!(
            "{}; matched by structure: collections and listeners by what holds them, timers and closures by their function's location, classes only when they are the app's own",
            m.message()
        ),
    };
    let same = mismatch.is_none();
    let out_of_order = matches!(
        judgement,
        Judgement::CannotJudge {
            problem: Unjudgeable::OutOfOrder,
            ..
        }
    );
    let judged_digests: Vec<&Digest> = judged.iter().map(|&i| digests[i]).collect();
    let comparison = detectors::Comparison {
        matched_by,
        counted: &counted,
        across: &across,
    };
    // The class table reads the digests, the suspects the digests and the last graph: build
    // them side by side.
    let (mut classes, mut found) = rayon::join(
        || class_changes(digests, same),
        || {
            detectors::find(
                &judged_digests,
                last,
                comparison,
                &options.thresholds,
                shaped,
            )
        },
    );
    if out_of_order {
        // Growth read backwards is shrinking: nothing found in that order means anything.
        found.clear();
    }
    let class_count = classes.len();
    if let Some(max) = options.max_suspects {
        found.suspects.truncate(max);
    }
    if let Some(top) = options.top {
        classes.truncate(top);
    }
    DiffReport {
        snapshots: digests
            .iter()
            .map(|d| SnapshotSummary {
                file: d.file.clone(),
                node_count: d.node_count,
                edge_count: d.edge_count,
                total_size: d.total_size,
                max_node_id: d.max_node_id,
            })
            .collect(),
        same_process: same,
        same_process_reason,
        matched_by,
        judgement,
        steps,
        judged_snapshots: judged,
        thresholds: options.thresholds.clone(),
        suspects: found.suspects,
        near_misses: found.near_misses,
        class_count,
        classes,
    }
}

#[cfg(test)]
mod tests {
    use super::{steps, younger, PairCheck, Thresholds};
    use crate::provenance::{ProcessIdentity, Provenance};

    fn check(new_objects: u64) -> PairCheck {
        PairCheck {
            same: Ok(()),
            new_objects,
        }
    }

    fn side(pid: u32, cpu_ms: u64, uptime_ms: Option<u64>) -> Provenance {
        Provenance {
            version: 1,
            process: ProcessIdentity {
                pid,
                start_ticks: 100,
                boot_id: "b".into(),
            },
            cpu_ms_before: cpu_ms,
            cpu_ms_after: cpu_ms + 50,
            uptime_ms_before: uptime_ms,
        }
    }

    /// A later process is younger (restarted) only when both its CPU time and, where both
    /// side files have it, its running time are below the earlier one's.
    #[test]
    fn a_process_is_younger_only_when_cpu_and_wall_clock_agree() {
        let earlier = side(1, 300, Some(60_000));
        assert!(younger(&side(2, 120, Some(2_000)), &earlier));
        assert!(!younger(&side(2, 120, Some(90_000)), &earlier));
        assert!(!younger(&side(2, 400, Some(2_000)), &earlier));
        assert!(younger(&side(2, 120, None), &earlier));
        assert!(younger(&side(2, 120, Some(90_000)), &side(1, 300, None)));
        assert!(!younger(&side(2, 400, None), &side(1, 300, None)));
    }

    /// A step is idle only when every measure it has says so: a light handler leaves
    /// thousands of objects in a few ms of CPU, and work that leaves nothing behind still
    /// takes CPU.
    #[test]
    fn a_step_is_idle_only_when_objects_and_cpu_both_say_so() {
        let th = Thresholds::default();
        let checks = [check(2_000), check(120), check(10), check(150)];
        let cpu = [Some(30), Some(2), Some(400), None];
        let (one, no_restart) = ([true; 4], [false; 4]);
        let idle: Vec<bool> = steps(&checks, &cpu, &one, &no_restart, &th)
            .iter()
            .map(|s| s.idle)
            .collect();
        assert_eq!(idle, [false, true, false, true]);
        // Across processes nothing is measured, so nothing is idle.
        assert!(steps(&checks, &cpu, &[false; 4], &no_restart, &th)
            .iter()
            .all(|s| !s.idle && s.other_process && s.new_objects.is_none()));
        // Under a tenth of the busiest step's objects is idle too (with little CPU).
        let idle: Vec<bool> = steps(
            &[check(50_000), check(4_000)],
            &[None, Some(10)],
            &one[..2],
            &no_restart[..2],
            &th,
        )
        .iter()
        .map(|s| s.idle)
        .collect();
        assert_eq!(idle, [false, true]);
        // The busiest step is measured within one process only: a step across processes
        // (whose new objects mean nothing) does not make the others idle.
        let idle: Vec<bool> = steps(
            &[check(900), check(90_000), check(800)],
            &[None, None, None],
            &[true, false, true],
            &[false, true, false],
            &th,
        )
        .iter()
        .map(|s| s.idle)
        .collect();
        assert_eq!(idle, [false, false, false]);
    }
}
