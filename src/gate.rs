//! `heapscan gate`: the CI leak-regression verdict over a diff. Checks that no leak suspect
//! appears (unless accepted in a baseline, matched by kind + class + location, never by ids)
//! and that retained growth stays under the limits, in total and per class. Pure: takes a
//! [`DiffReport`], returns a [`GateReport`].

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::report::diff::{DiffReport, Judgement, Suspect, SuspectKind};
use crate::report::SourceLocation;

/// The gate's limits and accepted suspects.
#[derive(Debug, Clone, Default)]
pub struct GateConfig {
    /// Fail when the total retained size grows by more than this from first to last snapshot.
    pub max_growth: Option<u64>,
    /// Fail when any class's retained size grows by more than this.
    pub max_class_growth: Option<u64>,
    /// Suspects accepted as known.
    pub baseline: Baseline,
    /// Directory that source locations are made relative to (the checkout).
    pub root: Option<std::path::PathBuf>,
}

/// Suspects accepted as known, as `--write-baseline` writes them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Format version (1).
    pub version: u32,
    pub accepted: Vec<BaselineEntry>,
}

/// One accepted suspect: what identifies it across runs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    pub kind: SuspectKind,
    pub class: String,
    /// Source location relative to the checkout (`src/cache.js:12:5`), or null.
    pub location: Option<SourceLocation>,
}

/// The gate's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GateStatus {
    /// Every check passed on snapshots that could be judged (exit 0).
    Passed,
    /// A check failed: a leak suspect not in the baseline, or a limit exceeded (exit 1).
    Failed,
    /// Nothing failed, but the snapshots could not be judged (exit 2): never a pass.
    CannotJudge,
}

/// The verdict.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateReport {
    pub status: GateStatus,
    /// `status == passed`.
    pub passed: bool,
    pub checks: Vec<Check>,
    /// The diff the verdict was made from.
    pub diff: DiffReport,
}

/// One check (one JUnit test case).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// Stable name, e.g. `leak: collection Map sessionCache` or `retained growth`.
    pub name: String,
    pub passed: bool,
    /// One line: what was found or measured.
    pub message: String,
    /// Source file (relative to the checkout) and 1-based line, for CI annotations.
    pub file: Option<String>,
    pub line: Option<u32>,
    /// Set when the check failed but the suspect is accepted in the baseline.
    pub accepted: bool,
    /// Set when the check could not be made (the snapshots cannot be judged): an error, not
    /// a failure.
    pub error: bool,
}

impl BaselineEntry {
    /// The baseline identity of a suspect.
    pub fn of(suspect: &Suspect, root: Option<&Path>) -> BaselineEntry {
        BaselineEntry {
            kind: suspect.kind,
            class: suspect.class.clone(),
            location: suspect.location.as_ref().map(|l| l.relative_to(root)),
        }
    }
}

impl Baseline {
    /// A baseline accepting every suspect of `diff`.
    pub fn from_diff(diff: &DiffReport, root: Option<&Path>) -> Baseline {
        let mut accepted: Vec<BaselineEntry> = diff
            .suspects
            .iter()
            .map(|s| BaselineEntry::of(s, root))
            .collect();
        accepted.sort();
        accepted.dedup();
        Baseline {
            version: 1,
            accepted,
        }
    }
}

/// Evaluates the gate over a diff.
pub fn evaluate(diff: DiffReport, config: &GateConfig) -> GateReport {
    let root = config.root.as_deref();
    let mut checks: Vec<Check> = diff
        .suspects
        .iter()
        .map(|s| suspect_check(s, &config.baseline, root))
        .collect();
    if let Judgement::CannotJudge {
        message, advice, ..
    } = &diff.judgement
    {
        checks.push(Check {
            error: true,
            ..Check::new(
                "judgement",
                false,
                format!("cannot judge these snapshots: {message}; {advice}"),
            )
        });
    } else if diff.suspects.is_empty() {
        checks.push(Check::new(
            "no leak suspects",
            true,
            "nothing grows steadily across the snapshots",
        ));
    }
    if let Some(max) = config.max_growth {
        checks.push(total_growth_check(&diff, max));
    }
    if let Some(max) = config.max_class_growth {
        checks.extend(class_growth_checks(&diff, max, root));
    }
    let status = if checks.iter().any(|c| !c.passed && !c.error) {
        GateStatus::Failed
    } else if checks.iter().any(|c| c.error) {
        GateStatus::CannotJudge
    } else {
        GateStatus::Passed
    };
    GateReport {
        status,
        passed: status == GateStatus::Passed,
        checks,
        diff,
    }
}

impl Check {
    /// A check with no source location.
    fn new(name: impl Into<String>, passed: bool, message: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            passed,
            message: message.into(),
            file: None,
            line: None,
            accepted: false,
            error: false,
        }
    }

    /// The check with the file and line of `location`, if any.
    fn at(self, location: Option<&SourceLocation>) -> Check {
        Check {
            file: location.map(|l| l.file.clone()),
            line: location.map(|l| l.line),
            ..self
        }
    }
}

/// A suspect as a check: failed unless the baseline accepts it.
fn suspect_check(s: &Suspect, baseline: &Baseline, root: Option<&Path>) -> Check {
    let entry = BaselineEntry::of(s, root);
    let accepted = baseline.accepted.contains(&entry);
    let at = entry
        .location
        .as_ref()
        .map(|l| format!(" at {l}"))
        .unwrap_or_default();
    let name = if s.owner.via.is_empty() {
        format!("leak: {} {}", s.kind, s.class)
    } else {
        format!("leak: {} {} (in {})", s.kind, s.class, s.owner.via)
    };
    let message = if accepted {
        format!("accepted in the baseline: {}{at}", s.title)
    } else {
        format!(
            "{}{at}; owner: {}; fix: {}",
            s.title, s.owner.description, s.hint
        )
    };
    Check {
        accepted,
        ..Check::new(name, accepted, message).at(entry.location.as_ref())
    }
}

/// `--max-growth`: the total retained size, first snapshot to last.
fn total_growth_check(diff: &DiffReport, max: u64) -> Check {
    let k = diff.snapshots.len();
    let growth = diff.snapshots[k - 1].total_size as i64 - diff.snapshots[0].total_size as i64;
    Check::new(
        "retained growth",
        growth <= max as i64,
        format!(
            "total retained size grew by {} (limit {})",
            crate::report::signed_bytes(growth),
            crate::report::human_bytes(max)
        ),
    )
}

/// `--max-class-growth`: one failed check per class over the limit, or one passed check.
fn class_growth_checks(diff: &DiffReport, max: u64, root: Option<&Path>) -> Vec<Check> {
    let offenders: Vec<Check> = diff
        .classes
        .iter()
        .filter(|c| c.retained_delta > max as i64)
        .map(|c| {
            let location = c.location.as_ref().map(|l| l.relative_to(root));
            Check::new(
                format!("class growth: {}", c.class),
                false,
                format!(
                    "{} grew by {} retained (limit {}), {:+} objects",
                    c.class,
                    crate::report::signed_bytes(c.retained_delta),
                    crate::report::human_bytes(max),
                    c.delta
                ),
            )
            .at(location.as_ref())
        })
        .collect();
    if offenders.is_empty() {
        vec![Check::new(
            "class growth",
            true,
            format!(
                "no class grew by more than {}",
                crate::report::human_bytes(max)
            ),
        )]
    } else {
        offenders
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_become_relative_and_give_file_and_line() {
        let root = Path::new("/ci/work/app");
        let rel = |text: &str| {
            let loc: SourceLocation = text.parse().expect("a location");
            loc.relative_to(Some(root)).to_string()
        };
        assert_eq!(rel("/ci/work/app/src/cache.js:12:5"), "src/cache.js:12:5");
        assert_eq!(rel("file:///ci/work/app/a.mjs:1:2"), "a.mjs:1:2");
        assert_eq!(
            rel("node:internal/timers:12:3"),
            "node:internal/timers:12:3"
        );
        let loc: SourceLocation = "src/cache.js:12:5".parse().expect("a location");
        let check = Check::new("x", false, "y").at(Some(&loc));
        assert_eq!(
            (check.file.as_deref(), check.line),
            (Some("src/cache.js"), Some(12))
        );
        assert_eq!(Check::new("x", true, "y").at(None).file, None);
    }
}
