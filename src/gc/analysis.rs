//! The `heapscan gc` analysis: pure functions from parsed logs to a [`GcReport`] (counts and
//! pause percentiles by collector, mutator utilisation, the heap-after-GC series and a fitted
//! growth slope with a verdict). Nothing here reads files or prints.
//!
//! One log can hold several processes (a supervisor restarting the app writes them all into
//! one `gc.log`) and one process several isolates (worker threads); each (file, pid, isolate)
//! is its own [`ProcessReport`], because V8's timestamps restart with each isolate.

use serde::{Deserialize, Serialize};

use super::parse::{GcEvent, GcKind, LineStats, ParsedLog, SkippedLine};

/// Thresholds of the growth verdict.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GrowthRule {
    /// Events earlier than this (ms since the isolate started) are ignored: start-up fills the heap.
    pub warmup_ms: f64,
    /// Growth over the window must exceed this many MB …
    pub min_growth_mb: f64,
    /// … and this fraction of the mean heap-after-GC …
    pub min_growth_fraction: f64,
    /// … and the linear fit must explain at least this much of the variance (R²).
    pub min_r2: f64,
    /// Fewer points than this give `insufficient-data`.
    pub min_points: usize,
}

impl Default for GrowthRule {
    fn default() -> Self {
        GrowthRule {
            warmup_ms: 0.0,
            min_growth_mb: 1.0,
            min_growth_fraction: 0.10,
            min_r2: 0.5,
            min_points: 3,
        }
    }
}

/// The whole report of one `heapscan gc` run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GcReport {
    /// Worst verdict over all processes.
    pub verdict: Verdict,
    pub rule: GrowthRule,
    pub files: Vec<FileSummary>,
    pub processes: Vec<ProcessReport>,
}

/// How the lines of one input file were accounted for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileSummary {
    pub path: String,
    pub lines: LineStats,
    /// Examples of lines that were not GC records (the first few).
    pub skipped: Vec<SkippedLine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// No GC records, or too few after the warm-up, to say anything.
    InsufficientData,
    Stable,
    Growing,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::InsufficientData => "insufficient data",
            Verdict::Stable => "stable",
            Verdict::Growing => "growing",
        }
    }
}

/// Pause statistics over a set of GCs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PauseStats {
    pub count: usize,
    pub total_ms: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KindStats {
    pub kind: GcKind,
    pub pauses: PauseStats,
    /// Incremental marking time spent before full GCs (not part of the pause).
    pub incremental_ms: f64,
}

/// One point of the heap-after-GC series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeapPoint {
    pub time_ms: f64,
    pub kind: GcKind,
    pub heap_after_mb: f64,
    pub pause_ms: f64,
    /// Run by V8 for a heap snapshot: shown, but not in the fit.
    pub for_heap_snapshot: bool,
}

/// The fitted growth of heap-after-GC.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Growth {
    pub verdict: Verdict,
    /// `full-gcs` when at least `min_points` full GCs exist (their heap-after is the live
    /// set), else `all-gcs` (young GCs' heap-after includes old garbage: less reliable).
    pub basis: String,
    pub points: usize,
    /// The fitted window: time of its first and last point (ms since the isolate started).
    pub window_start_ms: f64,
    pub window_end_ms: f64,
    pub window_s: f64,
    pub slope_mb_per_min: f64,
    pub r2: f64,
    /// Fitted heap-after at the start and end of the window.
    pub start_mb: f64,
    pub end_mb: f64,
    /// One sentence saying why the verdict is what it is.
    pub why: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessReport {
    pub file: String,
    pub pid: u32,
    pub isolate: String,
    pub first_ms: f64,
    pub last_ms: f64,
    /// GCs of the app, those for heap snapshots not included.
    pub gcs: usize,
    /// GCs V8 ran to take heap snapshots (reason `heap profiler`): left out of `gcs`, the
    /// pause statistics, the mutator utilisation and the growth fit.
    pub heap_snapshot_gcs: usize,
    pub pauses: PauseStats,
    pub by_kind: Vec<KindStats>,
    /// 1 − (total pause / time spanned by the trace): the share of time the app ran.
    pub mutator_utilisation: Option<f64>,
    /// V8's last printed `average mu`.
    pub v8_average_mu: Option<f64>,
    pub peak_heap_after_mb: Option<f64>,
    pub growth: Growth,
    pub heap_after: Vec<HeapPoint>,
}

/// Analyses parsed logs (in the order given) into one report.
pub fn analyse(logs: &[ParsedLog], rule: &GrowthRule) -> GcReport {
    let mut processes = Vec::new();
    for log in logs {
        // Group by (pid, isolate) in order of first appearance: deterministic, and the order
        // a reader of the log expects.
        let mut groups: Vec<((u32, &str), Vec<&GcEvent>)> = Vec::new();
        for e in &log.events {
            let key = (e.pid, e.isolate.as_str());
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, v)) => v.push(e),
                None => groups.push((key, vec![e])),
            }
        }
        for ((pid, isolate), events) in groups {
            processes.push(analyse_process(&log.source, pid, isolate, &events, rule));
        }
    }
    let verdict = processes
        .iter()
        .map(|p| p.growth.verdict)
        .max()
        .unwrap_or(Verdict::InsufficientData);
    GcReport {
        verdict,
        rule: rule.clone(),
        files: logs
            .iter()
            .map(|l| FileSummary {
                path: l.source.clone(),
                lines: l.lines.clone(),
                skipped: l.skipped.clone(),
            })
            .collect(),
        processes,
    }
}

fn analyse_process(
    file: &str,
    pid: u32,
    isolate: &str,
    all_events: &[&GcEvent],
    rule: &GrowthRule,
) -> ProcessReport {
    let heap_after: Vec<HeapPoint> = all_events
        .iter()
        .filter_map(|e| {
            Some(HeapPoint {
                time_ms: e.time_ms,
                kind: e.kind,
                heap_after_mb: e.heap_after_mb?,
                pause_ms: e.pause_ms,
                for_heap_snapshot: e.for_heap_snapshot(),
            })
        })
        .collect();
    let events: Vec<&GcEvent> = all_events
        .iter()
        .copied()
        .filter(|e| !e.for_heap_snapshot())
        .collect();
    let events = events.as_slice();
    let first_ms = events
        .iter()
        .map(|e| e.time_ms)
        .fold(f64::INFINITY, f64::min);
    let last = events.iter().max_by(|a, b| a.time_ms.total_cmp(&b.time_ms));
    let last_ms = last.map_or(0.0, |e| e.time_ms);
    let pauses = pause_stats(events.iter().map(|e| e.pause_ms));
    let mut kinds: Vec<GcKind> = events.iter().map(|e| e.kind).collect();
    kinds.sort();
    kinds.dedup();
    let by_kind = kinds
        .into_iter()
        .map(|kind| {
            let of_kind = || events.iter().filter(move |e| e.kind == kind);
            KindStats {
                kind,
                pauses: pause_stats(of_kind().map(|e| e.pause_ms)),
                incremental_ms: of_kind().filter_map(|e| e.incremental_ms).sum(),
            }
        })
        .collect();
    // The trace spans from the first GC's start to the last GC's end; the time before the
    // first GC is unobserved, so it is not counted as mutator time.
    let span = last.map_or(0.0, |e| e.time_ms + e.pause_ms) - first_ms;
    let mutator_utilisation =
        (events.len() >= 2 && span > 0.0).then(|| (1.0 - pauses.total_ms / span).clamp(0.0, 1.0));
    let apps_own: Vec<HeapPoint> = heap_after
        .iter()
        .copied()
        .filter(|p| !p.for_heap_snapshot)
        .collect();
    ProcessReport {
        file: file.to_string(),
        pid,
        isolate: isolate.to_string(),
        first_ms,
        last_ms,
        gcs: events.len(),
        heap_snapshot_gcs: all_events.len() - events.len(),
        pauses,
        by_kind,
        mutator_utilisation,
        v8_average_mu: last.and_then(|e| e.v8_average_mu),
        peak_heap_after_mb: apps_own
            .iter()
            .map(|p| p.heap_after_mb)
            .max_by(f64::total_cmp),
        growth: growth(&apps_own, rule),
        heap_after,
    }
}

/// Nearest-rank percentiles over the pauses.
pub fn pause_stats(pauses: impl Iterator<Item = f64>) -> PauseStats {
    let mut v: Vec<f64> = pauses.collect();
    if v.is_empty() {
        return PauseStats::default();
    }
    v.sort_by(f64::total_cmp);
    let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    let total: f64 = v.iter().sum();
    PauseStats {
        count: v.len(),
        total_ms: total,
        mean_ms: total / v.len() as f64,
        p50_ms: rank(0.50),
        p95_ms: rank(0.95),
        max_ms: v[v.len() - 1],
    }
}

/// Least-squares fit of heap-after-GC against time, and the verdict.
pub fn growth(series: &[HeapPoint], rule: &GrowthRule) -> Growth {
    let after_warmup: Vec<&HeapPoint> = series
        .iter()
        .filter(|p| p.time_ms >= rule.warmup_ms)
        .collect();
    let full: Vec<(f64, f64)> = after_warmup
        .iter()
        .filter(|p| p.kind.is_full())
        .map(|p| (p.time_ms, p.heap_after_mb))
        .collect();
    let (basis, points) = if full.len() >= rule.min_points {
        ("full-gcs".to_string(), full)
    } else {
        let all = after_warmup
            .iter()
            .map(|p| (p.time_ms, p.heap_after_mb))
            .collect();
        ("all-gcs".to_string(), all)
    };
    let mut g = Growth {
        verdict: Verdict::InsufficientData,
        basis,
        points: points.len(),
        window_start_ms: 0.0,
        window_end_ms: 0.0,
        window_s: 0.0,
        slope_mb_per_min: 0.0,
        r2: 0.0,
        start_mb: 0.0,
        end_mb: 0.0,
        why: String::new(),
    };
    let t0 = points.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let t1 = points.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    if points.len() < rule.min_points || t1 <= t0 {
        g.why = format!(
            "{} heap-after-GC point(s) after the warm-up; need at least {} spread over time",
            points.len(),
            rule.min_points
        );
        return g;
    }
    let n = points.len() as f64;
    let mean_t = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_t).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_t) * (p.1 - mean_y)).sum();
    let syy: f64 = points.iter().map(|p| (p.1 - mean_y).powi(2)).sum();
    let slope_per_ms = sxy / sxx;
    let r2 = if syy > 0.0 {
        (sxy * sxy / (sxx * syy)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let at = |t: f64| mean_y + slope_per_ms * (t - mean_t);
    g.window_start_ms = t0;
    g.window_end_ms = t1;
    g.window_s = (t1 - t0) / 1000.0;
    g.slope_mb_per_min = slope_per_ms * 60_000.0;
    g.r2 = r2;
    g.start_mb = at(t0);
    g.end_mb = at(t1);
    let grew = g.end_mb - g.start_mb;
    let needed = rule.min_growth_mb.max(rule.min_growth_fraction * mean_y);
    if grew >= needed && r2 >= rule.min_r2 {
        g.verdict = Verdict::Growing;
        g.why = format!(
            "heap after GC grew {grew:.1} MB over {:.0} s ({:+.2} MB/min, R² {r2:.2}), more than the {needed:.1} MB allowed",
            g.window_s, g.slope_mb_per_min
        );
    } else {
        g.verdict = Verdict::Stable;
        g.why = if grew >= needed {
            format!(
                "heap after GC rose {grew:.1} MB but not steadily (R² {r2:.2} < {:.2})",
                rule.min_r2
            )
        } else {
            format!(
                "heap after GC changed {grew:+.1} MB over {:.0} s (growth needs ≥ {needed:.1} MB)",
                g.window_s
            )
        };
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(t: f64, mb: f64) -> HeapPoint {
        HeapPoint {
            time_ms: t,
            kind: GcKind::MarkCompact,
            heap_after_mb: mb,
            pause_ms: 1.0,
            for_heap_snapshot: false,
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let s = pause_stats((1..=100).map(f64::from));
        assert_eq!((s.p50_ms, s.p95_ms, s.max_ms), (50.0, 95.0, 100.0));
        assert_eq!(pause_stats(std::iter::empty()).count, 0);
    }

    #[test]
    fn verdicts() {
        let rule = GrowthRule::default();
        let rising: Vec<_> = (0..10)
            .map(|i| pt(i as f64 * 6000.0, 50.0 + i as f64 * 2.0))
            .collect();
        let g = growth(&rising, &rule);
        assert_eq!(g.verdict, Verdict::Growing);
        assert!((g.slope_mb_per_min - 20.0).abs() < 1e-9);
        let flat: Vec<_> = (0..10)
            .map(|i| pt(i as f64 * 6000.0, 50.0 + (i % 2) as f64 * 0.5))
            .collect();
        assert_eq!(growth(&flat, &rule).verdict, Verdict::Stable);
        assert_eq!(
            growth(&rising[..2], &rule).verdict,
            Verdict::InsufficientData
        );
        let late = GrowthRule {
            warmup_ms: 50_000.0,
            ..GrowthRule::default()
        };
        assert_eq!(growth(&rising, &late).verdict, Verdict::InsufficientData);
    }
}
