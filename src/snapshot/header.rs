//! The snapshot's small header (`"snapshot": {"meta": …, "node_count": …}`) read through a serde
//! skeleton, and the [`Layout`] derived from it. Everything about field order and type names is
//! driven by `meta`, because it changes between V8 versions (Node 24 drops `trace_node_id`,
//! Node 20 adds `object shape`, pre-2021 snapshots lack `detachedness`).

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// `snapshot` as V8 writes it. Unknown fields are ignored so newer versions still load.
#[derive(Debug, Deserialize)]
pub(crate) struct RawHeader {
    pub meta: RawMeta,
    pub node_count: u64,
    pub edge_count: u64,
    /// Memory held outside the V8 heap that Chrome reports (absent in Node.js snapshots).
    #[serde(default)]
    pub extra_native_bytes: Option<f64>,
}

impl RawHeader {
    /// Reads the header from its JSON value, naming the field that is missing or of the wrong
    /// type (serde alone says only "invalid type … at column N").
    pub(crate) fn from_value(path: &Path, value: Value) -> Result<RawHeader> {
        let unknown = |what: String| {
            Error::bad(
                path,
                format!(
                    "unknown snapshot layout: {what}; heapscan reads snapshots written by V8 \
                     (Node.js 12+ and Chrome); please report this file's `snapshot` header"
                ),
            )
        };
        let Value::Object(header) = &value else {
            return Err(unknown(format!(
                "`snapshot` is {}, not an object",
                short(&value)
            )));
        };
        let field = |name: &str| {
            header
                .get(name)
                .ok_or_else(|| unknown(format!("the `snapshot` header has no `{name}`")))
        };
        for name in ["node_count", "edge_count"] {
            let v = field(name)?;
            if v.as_u64().is_none() {
                return Err(unknown(format!("`{name}` is {}, not a count", short(v))));
            }
        }
        let Value::Object(meta) = field("meta")? else {
            return Err(unknown("`meta` is not an object".into()));
        };
        for (name, required, strings) in [
            ("node_fields", true, true),
            ("node_types", true, false),
            ("edge_fields", true, true),
            ("edge_types", true, false),
            ("trace_function_info_fields", false, true),
            ("location_fields", false, true),
        ] {
            match meta.get(name) {
                None if required => {
                    return Err(unknown(format!("meta has no `{name}`")));
                }
                None => {}
                Some(Value::Array(list)) if !strings || list.iter().all(Value::is_string) => {}
                Some(v) => {
                    let what = if strings { "list of names" } else { "list" };
                    return Err(unknown(format!(
                        "meta.{name} is {}, not a {what}",
                        short(v)
                    )));
                }
            }
        }
        serde_json::from_value(value).map_err(|e| {
            unknown(format!(
                "the `snapshot` header does not have the fields V8 writes ({e})"
            ))
        })
    }
}

/// A JSON value cut short for a message.
fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(40) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawMeta {
    pub node_fields: Vec<String>,
    pub node_types: Vec<Value>,
    pub edge_fields: Vec<String>,
    pub edge_types: Vec<Value>,
    #[serde(default)]
    pub trace_function_info_fields: Vec<String>,
    #[serde(default)]
    pub location_fields: Vec<String>,
}

/// Type indexes that no V8 version uses, standing for "this snapshot has no such type".
pub const NO_TYPE: u8 = u8::MAX;

/// Where each field sits in a node or edge record, and the index of each type name we care
/// about (or [`NO_TYPE`] when this V8 version does not have it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Layout {
    /// Numbers per node record (6 or 7 in practice).
    pub node_width: usize,
    pub node_type_field: usize,
    pub node_name_field: usize,
    pub node_id_field: usize,
    pub node_self_size_field: usize,
    pub node_edge_count_field: usize,
    pub node_trace_id_field: Option<usize>,
    pub node_detachedness_field: Option<usize>,
    /// Numbers per edge record (3 in practice).
    pub edge_width: usize,
    pub edge_type_field: usize,
    pub edge_name_field: usize,
    pub edge_to_field: usize,
    /// Node type names in the order their indexes refer to.
    pub node_type_names: Vec<String>,
    /// Edge type names in the order their indexes refer to.
    pub edge_type_names: Vec<String>,
    pub node_types: NodeTypes,
    pub edge_types: EdgeTypes,
    /// Numbers per `trace_function_infos` record, when present.
    pub trace_function_info_width: usize,
    /// Where a `trace_function_infos` record holds the function's name, script name, line
    /// and column, when it has all four.
    pub trace_function_fields: Option<[usize; 4]>,
    /// Numbers per `locations` record and where the fields sit, when present.
    pub location_width: usize,
    pub location_fields: Option<[usize; 4]>,
}

/// Indexes of the node types the analysis distinguishes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct NodeTypes {
    pub hidden: u8,
    pub array: u8,
    pub string: u8,
    pub object: u8,
    pub code: u8,
    pub closure: u8,
    pub regexp: u8,
    pub number: u8,
    pub native: u8,
    pub synthetic: u8,
    pub concatenated_string: u8,
    pub sliced_string: u8,
    pub symbol: u8,
    pub bigint: u8,
    pub object_shape: u8,
}

/// Indexes of the edge types.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct EdgeTypes {
    pub context: u8,
    pub element: u8,
    pub property: u8,
    pub internal: u8,
    pub hidden: u8,
    pub shortcut: u8,
    pub weak: u8,
}

impl NodeTypes {
    /// True for the three string representations.
    pub fn is_string(&self, t: u8) -> bool {
        t == self.string || t == self.concatenated_string || t == self.sliced_string
    }
}

fn type_names(path: &Path, what: &str, types: &[Value]) -> Result<Vec<String>> {
    let list = types.first().and_then(Value::as_array).ok_or_else(|| {
        Error::bad(
            path,
            format!("unknown snapshot layout: meta.{what}[0] is not a list of type names"),
        )
    })?;
    list.iter()
        .map(|v| {
            v.as_str().map(str::to_owned).ok_or_else(|| {
                Error::bad(
                    path,
                    format!("unknown snapshot layout: meta.{what}[0] holds a non-string"),
                )
            })
        })
        .collect()
}

fn index_of(names: &[String], name: &str) -> Option<usize> {
    names.iter().position(|n| n == name)
}

/// The index of type `name` in `names`, or [`NO_TYPE`].
fn type_index(names: &[String], name: &str) -> u8 {
    index_of(names, name).map_or(NO_TYPE, |i| i as u8)
}

impl NodeTypes {
    /// The node types' indexes in the header's `node_types` names.
    fn named(names: &[String]) -> NodeTypes {
        let t = |name: &str| type_index(names, name);
        NodeTypes {
            hidden: t("hidden"),
            array: t("array"),
            string: t("string"),
            object: t("object"),
            code: t("code"),
            closure: t("closure"),
            regexp: t("regexp"),
            number: t("number"),
            native: t("native"),
            synthetic: t("synthetic"),
            concatenated_string: t("concatenated string"),
            sliced_string: t("sliced string"),
            symbol: t("symbol"),
            bigint: t("bigint"),
            object_shape: t("object shape"),
        }
    }
}

impl EdgeTypes {
    /// The edge types' indexes in the header's `edge_types` names.
    fn named(names: &[String]) -> EdgeTypes {
        let t = |name: &str| type_index(names, name);
        EdgeTypes {
            context: t("context"),
            element: t("element"),
            property: t("property"),
            internal: t("internal"),
            hidden: t("hidden"),
            shortcut: t("shortcut"),
            weak: t("weak"),
        }
    }
}

impl Layout {
    /// Checks the header's `meta` and works out the layout, or says what is unknown.
    pub(crate) fn from_meta(path: &Path, meta: &RawMeta) -> Result<Layout> {
        let unknown = |what: String| {
            Error::bad(
                path,
                format!(
                    "unknown snapshot layout: {what}; heapscan reads snapshots written by V8 \
                     (Node.js 12+ and Chrome); please report this file's meta section"
                ),
            )
        };
        let node_field = |name: &str| {
            index_of(&meta.node_fields, name)
                .ok_or_else(|| unknown(format!("meta.node_fields has no `{name}`")))
        };
        let edge_field = |name: &str| {
            index_of(&meta.edge_fields, name)
                .ok_or_else(|| unknown(format!("meta.edge_fields has no `{name}`")))
        };
        let node_type_names = type_names(path, "node_types", &meta.node_types)?;
        let edge_type_names = type_names(path, "edge_types", &meta.edge_types)?;
        if node_type_names.len() >= NO_TYPE as usize || edge_type_names.len() >= NO_TYPE as usize {
            return Err(unknown("more than 254 node or edge types".into()));
        }
        for (what, fields) in [
            ("node_fields", &meta.node_fields),
            ("edge_fields", &meta.edge_fields),
            (
                "trace_function_info_fields",
                &meta.trace_function_info_fields,
            ),
            ("location_fields", &meta.location_fields),
        ] {
            // The number parser keeps one record in a fixed array of this width.
            if fields.len() > MAX_RECORD_WIDTH {
                return Err(unknown(format!(
                    "meta.{what} has {} fields, more than the {MAX_RECORD_WIDTH} heapscan reads",
                    fields.len()
                )));
            }
        }
        let node_types = NodeTypes::named(&node_type_names);
        let edge_types = EdgeTypes::named(&edge_type_names);
        for (name, t) in [
            ("object", node_types.object),
            ("synthetic", node_types.synthetic),
        ] {
            if t == NO_TYPE {
                return Err(unknown(format!("meta.node_types has no `{name}` type")));
            }
        }
        for (name, t) in [
            ("element", edge_types.element),
            ("hidden", edge_types.hidden),
            ("weak", edge_types.weak),
        ] {
            if t == NO_TYPE {
                return Err(unknown(format!("meta.edge_types has no `{name}` type")));
            }
        }
        let location_fields = if meta.location_fields.is_empty() {
            None
        } else {
            let lf = |name: &str| {
                index_of(&meta.location_fields, name)
                    .ok_or_else(|| unknown(format!("meta.location_fields has no `{name}`")))
            };
            Some([
                lf("object_index")?,
                lf("script_id")?,
                lf("line")?,
                lf("column")?,
            ])
        };
        Ok(Layout {
            node_width: meta.node_fields.len(),
            node_type_field: node_field("type")?,
            node_name_field: node_field("name")?,
            node_id_field: node_field("id")?,
            node_self_size_field: node_field("self_size")?,
            node_edge_count_field: node_field("edge_count")?,
            node_trace_id_field: index_of(&meta.node_fields, "trace_node_id"),
            node_detachedness_field: index_of(&meta.node_fields, "detachedness"),
            edge_width: meta.edge_fields.len(),
            edge_type_field: edge_field("type")?,
            edge_name_field: edge_field("name_or_index")?,
            edge_to_field: edge_field("to_node")?,
            node_type_names,
            edge_type_names,
            node_types,
            edge_types,
            trace_function_info_width: meta.trace_function_info_fields.len(),
            trace_function_fields: {
                let field = |name| index_of(&meta.trace_function_info_fields, name);
                match (
                    field("name"),
                    field("script_name"),
                    field("line"),
                    field("column"),
                ) {
                    (Some(n), Some(s), Some(l), Some(c)) => Some([n, s, l, c]),
                    _ => None,
                }
            },
            location_width: meta.location_fields.len(),
            location_fields,
        })
    }

    /// The name of node type `t`, or `"unknown"`.
    pub fn node_type_name(&self, t: u8) -> &str {
        self.node_type_names
            .get(t as usize)
            .map_or("unknown", String::as_str)
    }

    /// The name of edge type `t`, or `"unknown"`.
    pub fn edge_type_name(&self, t: u8) -> &str {
        self.edge_type_names
            .get(t as usize)
            .map_or("unknown", String::as_str)
    }

    /// Whether an edge of type `t` names its target by a number instead of a string index.
    pub fn edge_name_is_index(&self, t: u8) -> bool {
        t == self.edge_types.element || t == self.edge_types.hidden
    }
}

/// Records wider than this are refused; V8 uses at most 7 node fields.
pub const MAX_RECORD_WIDTH: usize = 16;
