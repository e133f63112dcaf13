//! Chains of closures of one function, each capturing the previous one in its context.

use rustc_hash::FxHashMap;

use super::{find_sorted, series, Detected, Finding, Inputs};
use crate::diff::shapes::NO_LOCATION;
use crate::report::diff::SuspectKind;
use crate::report::grouped;

/// Every function of the last snapshot (keyed by its location) whose longest closure chain
/// gets longer; each explains the chain's head.
pub(super) fn detect(inputs: Inputs<'_, '_>, found: &mut Detected) {
    let (last, th) = (inputs.last, inputs.th);
    let graph = last.graph;
    let s = &graph.snapshot;
    let mut heads: Option<FxHashMap<String, u32>> = None;
    for c in &inputs.newest.closures {
        let measured = series(
            inputs.digests,
            |d| find_sorted(&d.closures, c.key.as_str(), |x| x.key.as_str()),
            |x| (x.longest_chain, x.chain_retained_size),
        );
        let Some(verdict) = inputs.verdict(measured, th.closure_chain_growth) else {
            continue;
        };
        // The head of the chain dominates it, so it is the closure of this function that
        // retains the most. One pass over the nodes finds that closure for every function,
        // the first time a chain grows.
        let heads = heads.get_or_insert_with(|| {
            let closure_type = s.layout.node_types.closure;
            let mut best: FxHashMap<String, u32> = FxHashMap::default();
            for n in 0..s.node_count() as u32 {
                if s.node_type[n as usize] != closure_type
                    || last.shapes.location_key(n) == NO_LOCATION
                {
                    continue;
                }
                let rank = |x: u32| (graph.retained_size(x), std::cmp::Reverse(x));
                best.entry(last.shapes.function_key(n))
                    .and_modify(|b| {
                        if rank(n) > rank(*b) {
                            *b = n;
                        }
                    })
                    .or_insert(n);
            }
            best
        });
        let Some(&head) = heads.get(&c.key) else {
            continue;
        };
        if verdict.is_leak() {
            found.explained_roots.push(head);
        }
        let fname = last.function_name(head);
        let link = last
            .shapes
            .previous_in_chain(head)
            .and_then(|prev| last.shapes.captured_as(head, prev))
            .unwrap_or_else(|| "a variable".to_string());
        let held = last.held(
            head,
            format!(
                "the newest of a chain of {} `{fname}` closures",
                grouped(c.longest_chain)
            ),
        );
        let finding = Finding {
            kind: SuspectKind::Closure,
            class: format!("Function {fname}"),
            subject: format!("chain of `{fname}` closures linked through `{link}`"),
            title: format!(
                "each new `{fname}` closure keeps the previous one alive through `{link}`: chain length {}",
                verdict.growth().trail()
            ),
            hint: format!("do not capture the previous closure: clear `{link}` once it has been used, or keep only the data you need instead of the closure"),
            location: last.shapes.location_of(head),
            allocation_stacks: last.allocation_stacks(&[head]),
        };
        found.add(verdict, finding, held);
    }
}
