//! Allocation traces: the `trace_tree` a snapshot carries when the process tracked its
//! allocations (`node --track-heap-objects`, or the inspector's
//! `HeapProfiler.startTrackingHeapObjects`). Each node of the tree is a call site; an object's
//! `trace_node_id` names the one whose stack allocated it. Read into flat columns (the tree is
//! as deep as the deepest stack: no recursion).

use std::ops::Range;

/// The allocation-trace tree, as flat columns in the order the snapshot lists its nodes
/// (every node after its parent).
#[derive(Debug, Default, Clone)]
pub struct TraceTree {
    /// Per trace node: its id (what objects' `trace_node_id` refers to).
    pub id: Vec<u32>,
    /// Per trace node: its record in `trace_function_infos`.
    pub function_info: Vec<u32>,
    /// Per trace node: its parent's position, or [`NO_PARENT`] for the root.
    pub parent: Vec<u32>,
    /// (id, position) of every trace node, by id.
    by_id: Vec<(u32, u32)>,
}

/// The root's parent.
pub const NO_PARENT: u32 = u32::MAX;

impl TraceTree {
    /// Whether the snapshot had no allocation traces.
    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }

    /// The position of the trace node with id `id`.
    pub fn position(&self, id: u32) -> Option<u32> {
        self.by_id
            .binary_search_by_key(&id, |&(i, _)| i)
            .ok()
            .map(|p| self.by_id[p].1)
    }

    /// Reads `trace_tree` (the text of `span`, brackets included), whose nodes are
    /// `[id, function_info_index, count, size, [children…]]` flattened into their parent's
    /// children list. An error says what is wrong, for the caller to name the file.
    pub fn parse(text: &[u8], span: Range<usize>) -> Result<TraceTree, String> {
        let bytes = &text[span.clone()];
        let mut tree = TraceTree::default();
        // The parent of the nodes being read: a stack as deep as the tree.
        let mut parents: Vec<u32> = Vec::new();
        let mut fields = [0u64; 4];
        let mut read = 0usize;
        let mut i = 0usize;
        while i < bytes.len() {
            match bytes[i] {
                b'[' => {
                    if parents.is_empty() && i == 0 {
                        // The outer list: its one node is the root.
                        parents.push(NO_PARENT);
                    } else {
                        // A node's children follow its four numbers.
                        if read != 4 {
                            return Err(format!(
                                "a trace node has {read} numbers before its children, not 4 (byte {})",
                                span.start + i
                            ));
                        }
                        let position = tree.id.len() as u32;
                        let parent = *parents.last().unwrap_or(&NO_PARENT);
                        tree.push(fields, parent)?;
                        parents.push(position);
                        read = 0;
                    }
                    i += 1;
                }
                b']' => {
                    if read != 0 || parents.pop().is_none() {
                        return Err(format!(
                            "a trace node is cut short at byte {}",
                            span.start + i
                        ));
                    }
                    i += 1;
                }
                b'0'..=b'9' => {
                    let start = i;
                    let mut value = 0u64;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        value = value
                            .checked_mul(10)
                            .and_then(|v| v.checked_add(u64::from(bytes[i] - b'0')))
                            .ok_or_else(|| {
                                format!("a number overflows at byte {}", span.start + start)
                            })?;
                        i += 1;
                    }
                    if read == 4 {
                        return Err(format!(
                            "a trace node has more than 4 numbers (byte {})",
                            span.start + start
                        ));
                    }
                    fields[read] = value;
                    read += 1;
                }
                b',' | b' ' | b'\n' | b'\r' | b'\t' => i += 1,
                other => {
                    return Err(format!(
                        "unexpected {:?} at byte {}",
                        other as char,
                        span.start + i
                    ))
                }
            }
        }
        if !parents.is_empty() || read != 0 {
            return Err("the list ends before its nodes do".to_string());
        }
        tree.index_ids();
        Ok(tree)
    }

    /// A tree from its columns (as an index file stores them), or `None` when their lengths
    /// differ or a parent is not an earlier node.
    pub(crate) fn from_columns(
        id: Vec<u32>,
        function_info: Vec<u32>,
        parent: Vec<u32>,
    ) -> Option<TraceTree> {
        let consistent = id.len() == function_info.len()
            && id.len() == parent.len()
            && parent
                .iter()
                .enumerate()
                .all(|(p, &q)| q == NO_PARENT || (q as usize) < p);
        if !consistent {
            return None;
        }
        let mut tree = TraceTree {
            id,
            function_info,
            parent,
            by_id: Vec::new(),
        };
        tree.index_ids();
        Some(tree)
    }

    fn index_ids(&mut self) {
        self.by_id = self
            .id
            .iter()
            .enumerate()
            .map(|(p, &id)| (id, p as u32))
            .collect();
        self.by_id.sort_unstable();
    }

    fn push(&mut self, fields: [u64; 4], parent: u32) -> Result<(), String> {
        let narrow =
            |v: u64| u32::try_from(v).map_err(|_| format!("a trace node field {v} is too large"));
        self.id.push(narrow(fields[0])?);
        self.function_info.push(narrow(fields[1])?);
        self.parent.push(parent);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<TraceTree, String> {
        TraceTree::parse(text.as_bytes(), 0..text.len())
    }

    #[test]
    fn reads_a_nested_tree_into_flat_columns() {
        let tree = parse("[1,0,0,0,[2,1,5,80,[],3,2,1,16,[4,3,2,32,[]]]]").unwrap();
        assert_eq!(tree.id, [1, 2, 3, 4]);
        assert_eq!(tree.function_info, [0, 1, 2, 3]);
        assert_eq!(tree.parent, [NO_PARENT, 0, 0, 2]);
        assert_eq!(tree.position(4), Some(3));
        assert_eq!(tree.position(9), None);
        assert!(parse("[]").unwrap().is_empty());
    }

    #[test]
    fn a_deep_tree_needs_no_recursion() {
        let depth = 200_000;
        let mut text = String::new();
        for d in 0..depth {
            text.push_str(&format!("[{},{d},0,0,", d + 1));
        }
        text.push_str("[]");
        text.push_str(&"]".repeat(depth));
        let tree = parse(&text).unwrap();
        assert_eq!(tree.id.len(), depth);
        assert_eq!(tree.parent[depth - 1], depth as u32 - 2);
    }

    #[test]
    fn malformed_trees_are_errors() {
        for bad in [
            "[1,0,0,[]]",
            "[1,0,0,0,0,[]]",
            "[1,0,0,0,[]",
            "[1,0,0,0,[]]]",
            "[1,0,0,0,[x]]",
            "[99999999999,0,0,0,[]]",
            "[1,0,0,0]",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
