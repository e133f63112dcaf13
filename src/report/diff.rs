//! The `diff` report model and its renderers. The JSON form is documented in
//! `docs/diff-json.md` and tested with `deny_unknown_fields`.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use super::retainers::{edge_label, node_label, PathStep};
use super::{
    align_right, grouped, human_bytes, new_table, series, signed_bytes, write_json, Format,
    SourceLocation,
};
use crate::diff::holder::HolderKey;

/// The whole comparison.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffReport {
    pub snapshots: Vec<SnapshotSummary>,
    /// Whether the snapshots come from one process (node ids carry over between them); when
    /// not, objects cannot be matched and only class totals are compared.
    pub same_process: bool,
    /// Why `same_process` is what it is.
    pub same_process_reason: String,
    /// How objects were matched across the snapshots: by id within one process, by what holds
    /// them across processes of one app.
    pub matched_by: Matching,
    /// Whether the snapshots could be judged at all. When they cannot, an empty `suspects`
    /// is no evidence of health: `gate` and `diff --fail-on-leak` exit 2.
    pub judgement: Judgement,
    /// One per pair of successive snapshots: how much the process did in between.
    pub steps: Vec<Step>,
    /// Indexes into `snapshots` of the ones the suspects' `counts` and `retained_sizes`
    /// refer to: all of them but those merged into a later one across an idle step.
    pub judged_snapshots: Vec<usize>,
    /// The thresholds the verdict used.
    pub thresholds: Thresholds,
    pub suspects: Vec<Suspect>,
    /// What grew but fell short of a verdict (not steadily, or by too little), largest
    /// retained growth first, at most ten. They fail no gate.
    pub near_misses: Vec<NearMiss>,
    /// Number of classes compared (before `--top`).
    pub class_count: usize,
    pub classes: Vec<ClassChange>,
}

/// One input snapshot.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotSummary {
    pub file: String,
    pub node_count: u64,
    pub edge_count: u64,
    pub total_size: u64,
    /// Highest id of a V8 heap object (embedder and synthetic nodes left out).
    pub max_node_id: u32,
}

/// How a diff matches what it measures from one snapshot to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Matching {
    /// By object id: the snapshots are of one process, whose objects keep their ids.
    Ids,
    /// By structure: the snapshots are of different processes of one app. Collections and
    /// listener lists are matched by what holds them (the variable or property, its holder's
    /// class, the scope's source location), timers and closures by their function's location,
    /// classes by name and constructor location (only the app's own classes).
    Structure,
}

/// Whether a diff could reach a verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Judgement {
    /// The snapshots were compared: `suspects` is the answer.
    Judged,
    /// They could not be compared as asked; `message` says why, `advice` how to capture
    /// snapshots that can be.
    CannotJudge {
        problem: Unjudgeable,
        message: String,
        advice: String,
    },
}

impl Judgement {
    pub fn is_judged(&self) -> bool {
        matches!(self, Judgement::Judged)
    }
}

/// Why a diff cannot be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unjudgeable {
    /// Object ids go down from one snapshot to the next: given newest first, or mixed up.
    OutOfOrder,
    /// The snapshots do not come from one process, so no object can be matched.
    NotOneProcess,
    /// The process did (almost) nothing in every step: growth can be neither seen nor ruled
    /// out.
    AllStepsIdle,
    /// Every step goes to a restarted process (one that had done less CPU work, and run for less
    /// time, than the process before it): growth cannot be seen across a restart.
    OnlyRestarts,
}

/// What happened between two successive snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Objects in the later snapshot whose ids the earlier one does not have (embedder and
    /// synthetic nodes left out, they are new in every snapshot): what the process allocated
    /// in between and still holds. `None` when the snapshots are not of one process.
    pub new_objects: Option<u64>,
    /// CPU time the process spent between the two snapshots (the end of the first and the
    /// start of the second), when both have heapscan's side file (`heapscan snap`, `record`).
    pub cpu_ms: Option<u64>,
    /// The step neither confirms nor refutes growth and is merged into the next one: its
    /// activity (`cpu_ms` when known, else `new_objects`) is under the threshold
    /// (`idle_step_cpu_ms` or `idle_step_objects`) or under `idle_step_fraction` of the
    /// busiest step's.
    pub idle: bool,
    /// The two snapshots are of different processes (of one app): what they hold is matched
    /// by structure, and nothing is measured.
    pub other_process: bool,
    /// The later process had done less CPU work, and run for less time where both side files
    /// record it, than the earlier one: it is younger (restarted), so growth across this step
    /// is not judged.
    pub restart: bool,
}

/// What counts as a leak. Growth is between consecutive snapshots ("per step").
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// A class must gain at least this many objects per step.
    pub class_count_growth: u64,
    /// A collection must gain at least this many entries per step.
    pub collection_entry_growth: u64,
    /// An event must gain at least this many listeners per step.
    pub listener_growth: u64,
    /// A timer callback must gain at least this many live timers per step.
    pub timer_growth: u64,
    /// A closure chain must get at least this much longer per step.
    pub closure_chain_growth: u64,
    /// The suspect's retained size must grow by at least this many bytes, first to last.
    pub retained_growth: u64,
    /// Share of steps that must grow (the last step always must).
    pub steady_fraction: f64,
    /// A step with fewer new objects than this is idle (see [`Step`]).
    pub idle_step_objects: u64,
    /// A step in which the process spent less CPU time than this (ms) is idle.
    pub idle_step_cpu_ms: u64,
    /// A step with less than this share of the busiest step's activity is idle.
    pub idle_step_fraction: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            class_count_growth: 20,
            collection_entry_growth: 10,
            listener_growth: 5,
            timer_growth: 5,
            closure_chain_growth: 10,
            retained_growth: 50_000,
            steady_fraction: 0.75,
            idle_step_objects: 300,
            idle_step_cpu_ms: 50,
            idle_step_fraction: 0.1,
        }
    }
}

/// What holds a suspect.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Owner {
    /// Snapshot id of the owning object in the last snapshot.
    pub id: u32,
    pub class: String,
    /// The name it is reached by: the variable or property holding it (last edge of `path`).
    pub via: String,
    /// One line for people: `variable sessionCache (Map, 1,200 entries)`.
    pub description: String,
}

/// What kind of leak a suspect is, by the detector that found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SuspectKind {
    /// An event's listeners pile up.
    Listener,
    /// Live timers of one callback pile up.
    Timer,
    /// A Map, Set, Array or dictionary object only grows.
    Collection,
    /// Each new closure keeps the previous one alive.
    Closure,
    /// A promise that never settles while the calls awaiting it pile up.
    Promise,
    /// A writable stream's write buffer grows: nothing drains it.
    Stream,
    /// Instances of a class accumulate and nothing above explains them.
    Class,
}

impl SuspectKind {
    /// The word used in JSON, baselines and tables.
    pub fn name(self) -> &'static str {
        match self {
            SuspectKind::Listener => "listener",
            SuspectKind::Timer => "timer",
            SuspectKind::Collection => "collection",
            SuspectKind::Closure => "closure",
            SuspectKind::Promise => "promise",
            SuspectKind::Stream => "stream",
            SuspectKind::Class => "class",
        }
    }
}

impl std::fmt::Display for SuspectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a suspect's `location` was chosen, most certain first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LocationBasis {
    /// The listener, timer callback or closure function itself (a bound function's target).
    Function,
    /// The constructor of the class whose objects accumulate.
    Constructor,
    /// The function whose object literal creates the entries (V8's allocation site).
    AllocationSite,
    /// The innermost frame outside Node of the stack that allocated most of what accumulates.
    AllocationStack,
    /// A function of the scope that holds the owner: the snapshot does not say which function
    /// adds the entries (allocation tracking would).
    HoldingScope,
    /// Nothing in the snapshot locates it (see [`LocationBasis::UNKNOWN_REASON`]).
    Unknown,
}

impl LocationBasis {
    /// Why a suspect has no location, in one line.
    pub const UNKNOWN_REASON: &'static str = "what accumulates has no source location of its own (strings, arrays, plain data, Node internals) and the snapshots have no allocation stacks: take them with `heapscan record --track-allocations` (or `node --track-heap-objects`) to get the line that allocates them";

    /// What a reader should know about a location of this basis, if anything.
    pub fn caveat(self) -> Option<&'static str> {
        match self {
            LocationBasis::HoldingScope => Some("a function of the scope that holds it: the snapshot does not say which function adds the entries; `--track-allocations` would"),
            _ => None,
        }
    }
}

/// What a suspect's hint tells a person to change: the fix that fits what grows and who
/// holds it (the rules are in `docs/diff-json.md`, "The fixes"). The generic fixes of each kind
/// come only when nothing more specific is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fix {
    /// Remove the listener when its work is done (or add it once).
    RemoveListener,
    /// Keep the timer's handle and clear it.
    ClearTimer,
    /// An object that owns a timer is never closed: call its `close()`/`destroy()`.
    CloseOwner,
    /// Evict entries from a cache-like collection (LRU, TTL) or delete them when done.
    Evict,
    /// An array that only grows: cap it or stop keeping every item.
    Cap,
    /// A closure captures the previous one: stop capturing it.
    StopCapturing,
    /// A variable of a shared scope keeps the previous object alive: clear it.
    ClearScopeVariable,
    /// A metrics library's label map: bound the label values.
    BoundLabelValues,
    /// A callback registered into a library per call: register once.
    RegisterOnce,
    /// A library keeps what a factory makes per call: create it once.
    CreateOnce,
    /// A memoisation cache fed fresh object keys: key by value.
    KeyByValue,
    /// A cache meant to live per request lives as long as the process: one per request.
    PerRequest,
    /// Small views (sliced strings, Buffer/TypedArray views) keep large parents alive: copy.
    CopyOut,
    /// A promise never settles while calls await it: settle it, or await with a timeout.
    SettlePromise,
    /// A stream's write buffer grows: stop writing when `write()` returns false.
    RespectBackpressure,
    /// A FinalizationRegistry's held values keep their targets alive: hold an id only.
    HoldIdOnly,
    /// Objects accumulate: find what keeps them and drop the reference.
    DropReference,
}

impl Fix {
    /// The word used in JSON and tables.
    pub fn name(self) -> &'static str {
        match self {
            Fix::RemoveListener => "remove-listener",
            Fix::ClearTimer => "clear-timer",
            Fix::CloseOwner => "close-owner",
            Fix::Evict => "evict",
            Fix::Cap => "cap",
            Fix::StopCapturing => "stop-capturing",
            Fix::ClearScopeVariable => "clear-scope-variable",
            Fix::BoundLabelValues => "bound-label-values",
            Fix::RegisterOnce => "register-once",
            Fix::CreateOnce => "create-once",
            Fix::KeyByValue => "key-by-value",
            Fix::PerRequest => "per-request",
            Fix::CopyOut => "copy-out",
            Fix::SettlePromise => "settle-promise",
            Fix::RespectBackpressure => "respect-backpressure",
            Fix::HoldIdOnly => "hold-id-only",
            Fix::DropReference => "drop-reference",
        }
    }
}

/// One leak suspect.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suspect {
    pub kind: SuspectKind,
    /// What accumulates.
    pub class: String,
    pub owner: Owner,
    /// Where a person finds the owner in the code: the references up from it to the scope (or
    /// the instance of a class with a location) that holds it. `None` when it has no named
    /// holder.
    pub held_in: Option<HolderKey>,
    /// Shortest path from the GC roots to the owner, weak edges skipped. Paths longer than
    /// 40 steps keep their first 10 and last 25 steps.
    pub path: Vec<PathStep>,
    /// How many steps were left out of the middle of `path` (0 when none).
    pub path_elided: u64,
    /// Where in `path` they were left out: the steps before this index come before the cut
    /// (0 when none).
    pub path_elided_after: u64,
    /// `file:line:column` (1-based) of the code a person changes: the constructor, listener or
    /// callback, the function that creates the entries, or a frame of their allocation stack
    /// (`location_basis` says which). Never a Node internal when the app or a library has a
    /// frame.
    pub location: Option<SourceLocation>,
    /// Why `location` is where it is (or why there is none).
    pub location_basis: LocationBasis,
    /// The npm package `location` is in (`node_modules/<package>/…`), if any.
    pub package: Option<String>,
    /// When `location` is in a package or Node: the nearest frame in the app's own files that
    /// leads to it, from the allocation stacks (only snapshots with allocation tracking).
    pub app_location: Option<SourceLocation>,
    /// When the snapshots carry allocation traces (`node --track-heap-objects`): the stacks
    /// that allocated what accumulates in the last snapshot, most objects first (at most 3).
    pub allocation_stacks: Vec<AllocationStack>,
    /// What is counted (objects, entries, listeners, timers, chain length), one per snapshot.
    pub counts: Vec<u64>,
    /// Bytes retained by what accumulates, one per snapshot.
    pub retained_sizes: Vec<u64>,
    /// Average growth of `counts` per step.
    pub growth_per_snapshot: f64,
    /// Ranking: bytes of retained growth, weighted by how steady the growth is.
    pub score: f64,
    /// One line: what is leaking.
    pub title: String,
    /// One line: what to change.
    pub hint: String,
    /// Which fix the hint names.
    pub fix: Fix,
}

/// A stack that allocated some of what a suspect accumulates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocationStack {
    /// How many of the objects it allocated.
    pub count: u64,
    /// The calls, innermost (the allocating function) first.
    pub frames: Vec<StackFrame>,
}

/// One call of an allocation stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackFrame {
    pub function: String,
    /// `file:line:column`, when V8 knew the script.
    pub location: Option<SourceLocation>,
    /// The app's own code (not Node's, not a package under `node_modules`).
    pub app: bool,
}

impl AllocationStack {
    /// The calls worth reading: up to the outermost one in the app's own code (all of them
    /// when none is), and how many calls further out are left.
    pub fn shown_frames(&self) -> (&[StackFrame], usize) {
        let end = self
            .frames
            .iter()
            .rposition(|f| f.app)
            .map_or(self.frames.len(), |i| i + 1);
        (&self.frames[..end], self.frames.len() - end)
    }
}

impl StackFrame {
    /// Where the call's code lives, for frames outside the app: `node` for Node's own,
    /// `builtin` for V8's (no script), the package's name for a file under `node_modules`,
    /// `lib` for any other file.
    pub fn origin(&self) -> Option<String> {
        match &self.location {
            _ if self.app => None,
            None => Some("builtin".to_string()),
            Some(l) if l.file.starts_with("node:") => Some("node".to_string()),
            Some(l) => Some(l.package().unwrap_or_else(|| "lib".to_string())),
        }
    }
}

impl std::fmt::Display for StackFrame {
    /// `makeEntry /app/cache.js:25:19`, `[node] emit node:events:519:28`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(origin) = self.origin() {
            write!(f, "[{origin}] ")?;
        }
        f.write_str(&self.function)?;
        if let Some(l) = &self.location {
            write!(f, " {l}")?;
        }
        Ok(())
    }
}

/// Something that grew across the judged snapshots but not the way a leak does.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NearMiss {
    pub kind: SuspectKind,
    /// What grew: `Map `lruCache` (entries of Object)`.
    pub subject: String,
    /// `file:line:column` of the constructor, listener or callback, when known.
    pub location: Option<SourceLocation>,
    /// What is counted, one per judged snapshot.
    pub counts: Vec<u64>,
    /// Bytes retained by it, one per judged snapshot.
    pub retained_sizes: Vec<u64>,
    /// How much more it retains, over the steps that count (first to last but across
    /// restarts); the near misses are sorted by it.
    pub retained_growth: u64,
    pub reason: MissReason,
}

/// Why something that grew is not a suspect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "kebab-case", deny_unknown_fields)]
pub enum MissReason {
    /// It grew in `grew_in` of `steps` steps: fewer than `steady_fraction` of them, or not in
    /// the last one (a cache that filled up and stopped).
    Unsteady {
        grew_in: u64,
        steps: u64,
        last_step_grew: bool,
    },
    /// It grew in every step it had to, but what it retains grew by less than the threshold
    /// (and at least half of it).
    SmallRetainedGrowth {
        retained_growth: u64,
        threshold: u64,
    },
}

impl std::fmt::Display for MissReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MissReason::Unsteady {
                grew_in,
                steps,
                last_step_grew,
            } => {
                write!(f, "grew in {grew_in} of {steps} steps")?;
                if !last_step_grew {
                    write!(f, ", not in the last")?;
                }
                Ok(())
            }
            MissReason::SmallRetainedGrowth {
                retained_growth,
                threshold,
            } => write!(
                f,
                "retained only {} more (a suspect needs {})",
                human_bytes(*retained_growth),
                human_bytes(*threshold)
            ),
        }
    }
}

/// DevTools' comparison columns for one class, plus totals per snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassChange {
    pub class: String,
    /// The constructor's location, for classes DevTools keys by location.
    pub location: Option<SourceLocation>,
    /// Count in each snapshot.
    pub counts: Vec<u64>,
    /// Retained size in each snapshot (DevTools' class rule).
    pub retained_sizes: Vec<u64>,
    /// Objects in the last snapshot that are not in the first (by id; 0 across processes).
    pub new: u64,
    /// Objects in the first snapshot that are not in the last.
    pub deleted: u64,
    /// `count(last) - count(first)`.
    pub delta: i64,
    /// Shallow size of the new objects.
    pub alloc_size: u64,
    /// Shallow size of the deleted objects.
    pub freed_size: u64,
    /// `self size(last) - self size(first)`.
    pub size_delta: i64,
    /// `retained(last) - retained(first)`.
    pub retained_delta: i64,
    /// With 3+ snapshots: objects allocated between the first and second snapshot that are
    /// still alive in the last (memlab's baseline/target/final rule).
    pub survivors: Option<u64>,
}

/// Renders the report.
pub fn render(report: &DiffReport, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Table => render_table(report, out),
        _ => write_json(out, report),
    }
}

/// The idle steps, each as `#2→#3 (0 ms of CPU)` or `#2→#3 (61 new objects)`.
pub fn idle_step_labels(r: &DiffReport) -> Vec<String> {
    r.steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.idle)
        .map(|(k, s)| match s.cpu_ms {
            Some(ms) => format!("#{}→#{} ({} ms of CPU)", k + 1, k + 2, grouped(ms)),
            None => format!(
                "#{}→#{} ({} new objects)",
                k + 1,
                k + 2,
                grouped(s.new_objects.unwrap_or(0))
            ),
        })
        .collect()
}

/// The steps that go to a restarted process, each as `#3→#4`.
pub fn restart_step_labels(r: &DiffReport) -> Vec<String> {
    r.steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.restart)
        .map(|(k, _)| format!("#{}→#{}", k + 1, k + 2))
        .collect()
}

fn render_table(r: &DiffReport, out: &mut dyn Write) -> io::Result<()> {
    let judged: Vec<String> = r
        .judged_snapshots
        .iter()
        .map(|i| format!("#{}", i + 1))
        .collect();
    render_snapshots(r, &judged, out)?;
    writeln!(out)?;
    if let Judgement::CannotJudge {
        message, advice, ..
    } = &r.judgement
    {
        writeln!(out, "Cannot judge these snapshots: {message}.")?;
        writeln!(out, "  {advice}.")?;
        if !r.suspects.is_empty() {
            writeln!(out)?;
        }
    } else if r.suspects.is_empty() {
        writeln!(
            out,
            "No leak suspects: nothing grows steadily across these snapshots."
        )?;
    }
    if !r.suspects.is_empty() {
        writeln!(
            out,
            "{} leak suspect(s), most important first:",
            r.suspects.len()
        )?;
        for (i, s) in r.suspects.iter().enumerate() {
            writeln!(out)?;
            render_suspect(i + 1, s, r, &judged, out)?;
        }
    }
    render_near_misses(r, out)?;
    writeln!(out)?;
    render_classes(r, out)
}

/// The snapshots, one line each, and the notes on how they were compared.
fn render_snapshots(r: &DiffReport, judged: &[String], out: &mut dyn Write) -> io::Result<()> {
    for (i, s) in r.snapshots.iter().enumerate() {
        writeln!(
            out,
            "#{} {}: {} nodes, total {}",
            i + 1,
            s.file,
            grouped(s.node_count),
            human_bytes(s.total_size)
        )?;
    }
    // When the snapshots cannot be judged, the reason is said once, below.
    if !r.same_process && r.judgement.is_judged() {
        writeln!(out, "note: {}", r.same_process_reason)?;
        writeln!(
            out,
            "note: not one process: compared by structure; the comparison below has no new or deleted objects (ids do not carry over between processes)"
        )?;
    }
    let restarts = restart_step_labels(r);
    if !restarts.is_empty() && r.judgement.is_judged() {
        writeln!(
            out,
            "note: step(s) {} go to a restarted process (it had done less CPU work and run for less time than the one before): growth across them is not judged",
            restarts.join(", ")
        )?;
    }
    let idle = idle_step_labels(r);
    if !idle.is_empty() && r.judgement.is_judged() {
        writeln!(
            out,
            "note: idle step(s) {}: growth is judged over snapshots {}",
            idle.join(", "),
            judged.join(" ")
        )?;
    }
    Ok(())
}

/// One suspect: title, owner, location, growth, retained sizes, path and fix.
fn render_suspect(
    rank: usize,
    s: &Suspect,
    r: &DiffReport,
    judged: &[String],
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "{rank}. [{}] {}", s.kind, s.title)?;
    writeln!(out, "   owner:    {}", s.owner.description)?;
    if let Some(key) = &s.held_in {
        writeln!(out, "   held in:  {}", key.from_the_outside())?;
    }
    match &s.location {
        Some(loc) => {
            let package = s
                .package
                .as_ref()
                .map(|p| format!(" (package {p})"))
                .unwrap_or_default();
            writeln!(out, "   location: {loc}{package}")?;
            if let Some(caveat) = s.location_basis.caveat() {
                writeln!(out, "             ({caveat})")?;
            }
        }
        None => writeln!(
            out,
            "   location: unknown: {}",
            LocationBasis::UNKNOWN_REASON
        )?,
    }
    if let Some(app) = &s.app_location {
        writeln!(out, "   from app: {app}")?;
    }
    for stack in &s.allocation_stacks {
        let (frames, more) = stack.shown_frames();
        let calls: Vec<String> = frames.iter().map(ToString::to_string).collect();
        let more = if more > 0 {
            format!(" (+{more} calls outside the app)")
        } else {
            String::new()
        };
        writeln!(
            out,
            "   allocated: {} × {}{more}",
            grouped(stack.count),
            calls.join(" ← ")
        )?;
    }
    if r.judged_snapshots.len() == r.snapshots.len() {
        writeln!(out, "   growth:   {}", series(&s.counts, false))?;
    } else {
        writeln!(
            out,
            "   growth:   {} (snapshots {})",
            series(&s.counts, false),
            judged.join(" ")
        )?;
    }
    writeln!(out, "   retained: {}", series(&s.retained_sizes, true))?;
    // The shortest path from the GC roots often runs through unrelated code (a signal
    // handler sharing the module's scope): `held in` is the path for people. The table shows
    // the GC-roots path only when there is nothing better; JSON and HTML always have it.
    if s.held_in.is_none() && !s.path.is_empty() {
        let path: Vec<String> = s
            .path
            .iter()
            .map(|step| format!("{} → {}", edge_label(step), node_label(&step.node)))
            .collect();
        if s.path_elided > 0 {
            let (head, tail) = path.split_at(path.len().min(s.path_elided_after as usize));
            writeln!(
                out,
                "   path:     (GC roots) {} … ({} more steps) … {}",
                head.join(" "),
                s.path_elided,
                tail.join(" ")
            )?;
        } else {
            writeln!(out, "   path:     (GC roots) {}", path.join(" "))?;
        }
    }
    writeln!(out, "   fix:      {}", s.hint)
}

/// What grew short of a verdict, a line each.
fn render_near_misses(r: &DiffReport, out: &mut dyn Write) -> io::Result<()> {
    if r.near_misses.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "Near misses (grew, but not the way a leak does; they fail no gate):"
    )?;
    for m in &r.near_misses {
        let at = m
            .location
            .as_ref()
            .map(|l| format!(" at {l}"))
            .unwrap_or_default();
        writeln!(
            out,
            "  [{}] {}{at}: {}, retained {} — {}",
            m.kind,
            m.subject,
            series(&m.counts, false),
            series(&m.retained_sizes, true),
            m.reason
        )?;
    }
    Ok(())
}

/// The class comparison table.
fn render_classes(r: &DiffReport, out: &mut dyn Write) -> io::Result<()> {
    let mut table = new_table(&[
        "Class",
        "Count",
        "New",
        "Deleted",
        "Δ count",
        "Alloc",
        "Freed",
        "Δ size",
        "Δ retained",
    ]);
    for c in &r.classes {
        table.add_row(vec![
            super::class_cell(&c.class, c.location.as_ref()),
            series(&c.counts, false),
            grouped(c.new),
            grouped(c.deleted),
            format!("{:+}", c.delta),
            human_bytes(c.alloc_size),
            human_bytes(c.freed_size),
            signed_bytes(c.size_delta),
            signed_bytes(c.retained_delta),
        ]);
    }
    align_right(&mut table, &[1, 2, 3, 4, 5, 6, 7, 8]);
    writeln!(out, "{table}")?;
    if r.classes.len() < r.class_count {
        writeln!(
            out,
            "({} of {} classes shown; --top to see more)",
            r.classes.len(),
            r.class_count
        )?;
    }
    Ok(())
}
