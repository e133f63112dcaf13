//! A place in the source: what a suspect or a class points at, as editors and CI annotations
//! want it (`file:line:column`, 1-based). Serialized as that text, so the JSON stays a string.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `file:line:column`, line and column 1-based. `file` is the script's name as V8 has it (a
/// path, a `file://` URL, `node:internal/…`), or `script#ID` when the snapshot does not name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceLocation {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

impl SourceLocation {
    /// The npm package the file belongs to: the name after its last `node_modules/` (with its
    /// scope, `@scope/name`).
    pub fn package(&self) -> Option<String> {
        let file = self.file.replace('\\', "/");
        let rest = &file[file.rfind("/node_modules/")? + "/node_modules/".len()..];
        let mut parts = rest.split('/');
        let first = parts.next().filter(|p| !p.is_empty())?;
        if first.starts_with('@') {
            let second = parts.next().filter(|p| !p.is_empty())?;
            Some(format!("{first}/{second}"))
        } else {
            Some(first.to_string())
        }
    }

    /// The location with `file` relative to `root` and without `file://`, so that baselines
    /// and annotations do not depend on where the checkout lives.
    pub fn relative_to(&self, root: Option<&Path>) -> SourceLocation {
        let mut file = self.file.strip_prefix("file://").unwrap_or(&self.file);
        let prefix = root.map(|r| format!("{}/", r.display().to_string().trim_end_matches('/')));
        if let Some(rest) = prefix.as_deref().and_then(|p| file.strip_prefix(p)) {
            file = rest;
        }
        SourceLocation {
            file: file.to_string(),
            ..self.clone()
        }
    }
}

/// Ordered as their text (`file:line:column`), so that lists sorted by location read as they
/// did when locations were strings.
impl Ord for SourceLocation {
    fn cmp(&self, other: &SourceLocation) -> std::cmp::Ordering {
        self.to_string().cmp(&other.to_string())
    }
}

impl PartialOrd for SourceLocation {
    fn partial_cmp(&self, other: &SourceLocation) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl std::str::FromStr for SourceLocation {
    type Err = String;

    /// Reads `file:line:column` (the file may itself hold colons, as `node:events` does).
    fn from_str(text: &str) -> Result<SourceLocation, String> {
        let mut parts = text.rsplitn(3, ':');
        let (Some(column), Some(line), Some(file)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("`{text}` is not file:line:column"));
        };
        match (line.parse(), column.parse()) {
            (Ok(line), Ok(column)) => Ok(SourceLocation {
                file: file.to_string(),
                line,
                column,
            }),
            _ => Err(format!("`{text}` is not file:line:column")),
        }
    }
}

impl Serialize for SourceLocation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SourceLocation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SourceLocation, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_file_line_column() {
        let loc: SourceLocation = "node:internal/timers:218:14".parse().expect("parses");
        assert_eq!(
            (loc.file.as_str(), loc.line, loc.column),
            ("node:internal/timers", 218, 14)
        );
        assert_eq!(loc.to_string(), "node:internal/timers:218:14");
        assert_eq!(
            serde_json::to_string(&loc).expect("json"),
            "\"node:internal/timers:218:14\""
        );
        assert!("app.js:12".parse::<SourceLocation>().is_err());
        assert!("app.js:x:3".parse::<SourceLocation>().is_err());
        let back: SourceLocation =
            serde_json::from_str("\"/srv/app/a.js:3:9\"").expect("from json");
        assert_eq!(back.line, 3);
    }

    #[test]
    fn relative_to_the_checkout() {
        let loc: SourceLocation = "file:///srv/app/lib/cache.js:10:5".parse().expect("parses");
        assert_eq!(
            loc.relative_to(Some(Path::new("/srv/app/"))).to_string(),
            "lib/cache.js:10:5"
        );
        assert_eq!(
            loc.relative_to(None).to_string(),
            "/srv/app/lib/cache.js:10:5"
        );
    }
}
