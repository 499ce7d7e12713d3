//! Parsing a TOML data file into a typed definition with errors that name the file, the
//! line and column, and the field path.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::AssetError;

/// Parses `text` (the contents of `file`) as `T`. Unknown fields are errors in every
/// definition type (`deny_unknown_fields`), so a typo is reported, not silently ignored.
pub fn parse<T: DeserializeOwned>(text: &str, file: &Path) -> Result<T, AssetError> {
    let deserializer = toml::de::Deserializer::parse(text).map_err(|e| toml_error(&e, text, file, None))?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != ".").then_some(path);
        toml_error(e.inner(), text, file, field)
    })
}

fn toml_error(error: &toml::de::Error, text: &str, file: &Path, field: Option<String>) -> AssetError {
    AssetError {
        file: file.to_path_buf(),
        position: error.span().map(|span| line_column(text, span.start)),
        field,
        message: error.message().trim().to_string(),
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        name: String,
        groups: Vec<Group>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Group {
        count: [u32; 2],
    }

    #[test]
    fn type_error_names_line_column_and_field() {
        let text = "name = \"x\"\n[[groups]]\ncount = [1, 2]\n[[groups]]\ncount = \"three\"\n";
        let err = parse::<Doc>(text, Path::new("t.toml")).unwrap_err();
        assert_eq!(err.position, Some((5, 9)));
        assert_eq!(err.field.as_deref(), Some("groups[1].count"));
        assert!(err.to_string().starts_with("t.toml:5:9: field `groups[1].count`: "), "{err}");
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let err = parse::<Doc>("name = \"x\n", Path::new("t.toml")).unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(1));
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\ncé d", 7), (2, 4));
    }
}
