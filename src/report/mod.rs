//! Report models (plain `Serialize` structs, one per command) and their renderers. Renderers
//! only format what the model holds; they compute nothing.

pub mod diff;
pub mod gate;
pub mod html;
pub mod location;
pub mod nodes;
pub mod retainers;
pub mod strings;
pub mod summary;

use std::io::{self, Write};

pub use location::SourceLocation;

/// Output format, the same word for every command (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
    Jsonl,
}

/// A byte count for people: `0 B`, `812 B`, `12.3 kB`, `4.56 MB` (powers of 1000, as DevTools).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    value /= 1000.0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else if value >= 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.2} {}", UNITS[unit])
    }
}

/// A signed byte difference for people: `+1.20 MB`, `-812 B`.
pub fn signed_bytes(v: i64) -> String {
    if v < 0 {
        format!("-{}", human_bytes(v.unsigned_abs()))
    } else {
        format!("+{}", human_bytes(v as u64))
    }
}

/// A count with thousands separators: `1,234,567`.
/// Values one per snapshot as people read them: `500 → 700 → 900` (`human`: as sizes,
/// `1.2 MB → 2.4 MB`).
pub fn series(values: &[u64], human: bool) -> String {
    values
        .iter()
        .map(|&v| if human { human_bytes(v) } else { grouped(v) })
        .collect::<Vec<_>>()
        .join(" → ")
}

pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// DevTools shows distances of unreachable objects, and of objects only reachable through
/// system roots, as a dash.
pub fn distance_cell(distance: Option<i32>) -> String {
    let Some(distance) = distance else {
        return "n/a".to_string();
    };
    if !(0..crate::graph::BASE_SYSTEM_DISTANCE).contains(&distance) {
        "−".to_string()
    } else {
        distance.to_string()
    }
}

/// A terminal table with the house style; numeric columns are right-aligned by the caller.
pub fn new_table(header: &[&str]) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.remove_style(comfy_table::TableComponent::HorizontalLines);
    table.set_header(header.iter().copied());
    table
}

/// The widest a class name is shown in a terminal table, in characters: DevTools names plain
/// objects by their property sets (`{setupHooks, setCallbackTrampoline, …}`), which would
/// otherwise widen the whole table past any terminal. JSON and CSV keep the whole name.
pub const TABLE_LABEL_CHARS: usize = 64;

/// A class's cell in a terminal table: its name, with the constructor's location when
/// DevTools keys the class by it, cut to [`TABLE_LABEL_CHARS`].
pub fn class_cell(class: &str, location: Option<impl std::fmt::Display>) -> String {
    let label = match location {
        Some(loc) => format!("{class} ({loc})"),
        None => class.to_string(),
    };
    cut_chars(label, TABLE_LABEL_CHARS)
}

/// `text` cut to `max` characters, the last of them `…`, when it is longer.
pub fn cut_chars(text: String, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((end, _)) if text[end..].chars().nth(1).is_some() => format!("{}…", &text[..end]),
        _ => text,
    }
}

/// Right-aligns the given columns.
pub fn align_right(table: &mut comfy_table::Table, columns: &[usize]) {
    for &c in columns {
        if let Some(col) = table.column_mut(c) {
            col.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
}

/// Writes a model as pretty JSON followed by a newline.
pub fn write_json<T: serde::Serialize>(out: &mut dyn Write, model: &T) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, model).map_err(io::Error::from)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_class_names_are_cut_in_tables() {
        let location = "node:internal/priority_queue:19:14";
        assert_eq!(
            class_cell("Map", Some(location)),
            "Map (node:internal/priority_queue:19:14)"
        );
        let exact: String = "x".repeat(TABLE_LABEL_CHARS);
        assert_eq!(class_cell(&exact, None::<&str>), exact);
        let long = "{setupHooks, setCallbackTrampoline, pushAsyncContext, popAsyncContext, \
                    executionAsyncResource, clearAsyncIdStack}";
        let cut = class_cell(long, None::<&str>);
        assert_eq!(cut.chars().count(), TABLE_LABEL_CHARS);
        assert!(cut.ends_with('…'));
        assert!(long.starts_with(cut.trim_end_matches('…')));
        // Cut on a character, never inside one.
        let wide: String = "é".repeat(TABLE_LABEL_CHARS + 5);
        assert_eq!(
            class_cell(&wide, None::<&str>).chars().count(),
            TABLE_LABEL_CHARS
        );
        assert_eq!(cut_chars("abc".to_string(), 3), "abc");
        assert_eq!(cut_chars("abcd".to_string(), 3), "ab…");
    }

    #[test]
    fn sizes_and_counts_read_well() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1000), "1.00 kB");
        assert_eq!(human_bytes(12_345), "12.3 kB");
        assert_eq!(human_bytes(4_560_000), "4.56 MB");
        assert_eq!(human_bytes(700_000_000), "700 MB");
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(1234567), "1,234,567");
        assert_eq!(distance_cell(Some(-5)), "−");
        assert_eq!(distance_cell(Some(100_000_003)), "−");
        assert_eq!(distance_cell(Some(3)), "3");
        assert_eq!(distance_cell(None), "n/a");
    }
}
