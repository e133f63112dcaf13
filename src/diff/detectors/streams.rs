//! Writable streams whose write buffer grows because nothing drains it: the destination has
//! stalled or is slower than the writer, and the writer ignores `write()` returning false.
//! Node keeps the waiting chunks in an array of the stream's `WritableState` (`buffered`, or
//! `[kBufferedValue]` since Node 20), which the collection detector finds growing; this names
//! the stream instead of the array.

use super::{Clues, Finding, Held, Last, Verdict};
use crate::diff::holder::{Holder, HolderKey, Reference};
use crate::report::diff::{Fix, SuspectKind};

/// The stream whose write buffer an array is, as people name it: `Writable `auditSink``.
pub(super) struct WriteBuffer {
    pub label: String,
}

/// When `held_in` says the array is a WritableState's buffer: the stream that owns it.
pub(super) fn write_buffer_of(held_in: &HolderKey) -> Option<WriteBuffer> {
    let steps = &held_in.steps;
    let first = steps.first()?;
    let buffer = matches!(&first.reference, Reference::Property(name)
        if name == "buffered" || name == "<symbol kBufferedValue>");
    let state = matches!(&first.holder, Holder::Instance { class, .. } if class == "WritableState");
    if !(buffer && state) {
        return None;
    }
    // The stream holds its state in `_writableState`; what holds the stream names it.
    let stream_at = steps
        .iter()
        .position(|s| matches!(&s.reference, Reference::Property(n) if n == "_writableState"));
    let label = match stream_at.map(|i| (&steps[i].holder, steps.get(i + 1))) {
        Some((Holder::Instance { class, .. } | Holder::Object(class), Some(above))) => match &above
            .reference
        {
            Reference::Variable(name) | Reference::Property(name) => format!("{class} `{name}`"),
            Reference::Element | Reference::Store => format!("a {class}"),
        },
        Some((Holder::Instance { class, .. } | Holder::Object(class), None)) => {
            format!("a {class}")
        }
        _ => "a writable stream".to_string(),
    };
    Some(WriteBuffer { label })
}

/// The finding for a stream whose write buffer (`chunks`) grows. Node makes the chunk records
/// (`writeOrBuffer`), so the location is the allocation stack's innermost app frame (the
/// writer) when the snapshots have stacks, else a function of the scope that holds the stream.
pub(super) fn finding(
    last: &Last<'_>,
    held: &Held,
    stream: &WriteBuffer,
    chunks: &[u32],
    verdict: &Verdict,
) -> Finding {
    let label = &stream.label;
    Finding {
        kind: SuspectKind::Stream,
        class: "(write buffer)".to_string(),
        subject: format!("the write buffer of {label}"),
        title: format!(
            "the write buffer of {label} keeps growing: {} chunks waiting",
            verdict.growth().trail()
        ),
        hint: format!(
            "{label} keeps every chunk written since its destination stopped keeping up (its write has not called back): respect backpressure — when `write()` returns false, stop writing until 'drain' (or use `stream.pipeline()`), and destroy the stream or drop writes when the destination is gone"
        ),
        fix: Fix::RespectBackpressure,
        clues: Clues {
            own: None,
            holding_scope: last.holding_scope(held),
            app: None,
        },
        allocation_stacks: last.allocation_stacks(chunks),
    }
}
