//! Promises that never settle while the calls awaiting them pile up: one pending promise
//! (a "ready" signal that never fires, a lock never released) whose reaction list grows by a
//! suspended call per request, each keeping its state alive. Found by the collection detector
//! (a pending promise's reactions are its entries, [`CollectionKind::Promise`]); described here
//! by the function that awaits it.
//!
//! [`CollectionKind::Promise`]: crate::diff::shapes::CollectionKind::Promise

use super::{Clues, Finding, Held, Last, Verdict};
use crate::report::diff::{Fix, LocationBasis, SuspectKind};

/// How many reactions are looked at to name the awaiting function.
const LOOKED_AT: usize = 500;

/// The finding for a pending promise whose `reactions` grow.
pub(super) fn finding(
    last: &Last<'_>,
    held: &Held,
    reactions: &[u32],
    verdict: &Verdict,
) -> Finding {
    let functions: Vec<u32> = reactions
        .iter()
        .take(LOOKED_AT)
        .filter_map(|&r| last.shapes.reaction_function(r))
        .collect();
    let awaiting = last.main_function(&functions);
    let label = held.label("Promise", format!("Promise @{}", held.owner.id));
    let (who, location) = match &awaiting {
        Some((f, at)) => (format!("`{}`", last.function_name(*f)), at.clone()),
        None => ("the calls".to_string(), None),
    };
    let at_text = location
        .as_ref()
        .map(|l| format!(" ({l})"))
        .unwrap_or_default();
    Finding {
        kind: SuspectKind::Promise,
        class: "Promise".to_string(),
        subject: format!("calls of {who} awaiting {label}"),
        title: format!(
            "{label} never settles, and the calls of {who} awaiting it pile up: {} waiting",
            verdict.growth().trail()
        ),
        hint: format!(
            "{who}{at_text} awaits {label}, which never settles, so every call stays suspended with everything it holds: settle it on every path (reject it when the work it stands for fails or times out), or await it with a timeout (`Promise.race` with a timer, `AbortSignal.timeout`)"
        ),
        fix: Fix::SettlePromise,
        clues: Clues::own(location, LocationBasis::Function),
        allocation_stacks: last.allocation_stacks(reactions),
    }
}
