//! Chains of closures of one function, each capturing the previous one in its context.

use rustc_hash::FxHashMap;

use super::Clues;
use super::{find_sorted, series, Detected, Finding, Inputs, Last};
use crate::diff::shapes::NO_LOCATION;
use crate::report::diff::{Fix, LocationBasis, SuspectKind};
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
        let chain = describe_chain(last, head, &fname);
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
            subject: chain.subject,
            title: format!("{}: chain length {}", chain.title, verdict.growth().trail()),
            hint: chain.hint,
            fix: chain.fix,
            clues: Clues::own(last.shapes.location_of(head), LocationBasis::Function),
            allocation_stacks: last.allocation_stacks(&[head]),
        };
        found.add(verdict, finding, held);
    }
}

/// How a chain of `fname` closures is linked, in words: the near-miss subject, the title
/// (without its numbers) and the hint.
struct ChainWords {
    subject: String,
    title: String,
    hint: String,
    fix: Fix,
}

/// Names the captured variable that links `head` (a `fname` closure) to the previous closure
/// of its chain, and — when the link passes through an object — the property that holds the
/// previous closure and the functions that share `head`'s scope (one of them uses the
/// variable; `head` itself need not).
fn describe_chain(last: &Last<'_>, head: u32, fname: &str) -> ChainWords {
    let s = &last.graph.snapshot;
    let Some(link) = last.shapes.chain_link(head) else {
        return ChainWords {
            subject: format!("chain of `{fname}` closures"),
            title: format!("each new `{fname}` closure keeps the previous one alive"),
            hint: format!("find what `{fname}` captures that leads to the previous `{fname}` (`heapscan retainers` on its id) and stop capturing it"),
            fix: Fix::StopCapturing,
        };
    };
    let variable = s.edge_name_str(link.variable).into_owned();
    let Some(property) = link.property else {
        return ChainWords {
            subject: format!("chain of `{fname}` closures linked through `{variable}`"),
            title: format!("each new `{fname}` closure keeps the previous one alive through `{variable}`"),
            hint: format!("do not capture the previous closure: clear `{variable}` once it has been used, or keep only the data you need instead of the closure"),
            fix: Fix::StopCapturing,
        };
    };
    let property = s.edge_name_str(property).into_owned();
    let siblings: Vec<String> = last
        .shapes
        .context_siblings(head)
        .into_iter()
        .take(3)
        .map(|f| match last.shapes.location_of(f) {
            Some(at) => format!("`{}` ({at})", last.function_name(f)),
            None => format!("`{}`", last.function_name(f)),
        })
        .collect();
    let shared = if siblings.is_empty() {
        format!(
            "`{variable}` is a variable of the scope `{fname}` is created in, and V8 keeps one context per scope: every closure made there keeps each variable that any function of that scope uses, even if `{fname}` never uses it"
        )
    } else {
        format!(
            "`{fname}` shares its scope with {}, and V8 keeps one context per scope: `{variable}` lives as long as any of them does, even if `{fname}` never uses it",
            siblings.join(", ")
        )
    };
    ChainWords {
        subject: format!("chain of `{fname}` closures linked through `{variable}.{property}`"),
        title: format!(
            "each new `{fname}` closure keeps the previous object alive: its context captures `{variable}`, whose `.{property}` is the previous `{fname}`"
        ),
        hint: format!(
            "{shared}; set `{variable} = null` once it has been used, or move the code that uses it out of that scope"
        ),
        fix: Fix::ClearScopeVariable,
    }
}
