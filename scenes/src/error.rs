//! Errors of the scene builder. Every message names the file (and line, column and field for a
//! malformed data file) or the template and rule that could not be met.

use std::fmt;
use std::path::PathBuf;

/// A data file (template, category or material library) that could not be read or understood.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetError {
    /// The file, as the user would recognise it (a path, or `builtin:` plus the file name).
    pub file: PathBuf,
    /// 1-based line and column of the offending text, when the parser knows it.
    pub position: Option<(usize, usize)>,
    /// The field path inside the file, such as `groups[2].count`, when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl AssetError {
    /// An error about one field of a file whose position is not known (checks made after
    /// parsing, such as an unknown category).
    pub fn field(file: &std::path::Path, field: impl Into<String>, message: impl Into<String>) -> AssetError {
        AssetError { file: file.to_path_buf(), position: None, field: Some(field.into()), message: message.into() }
    }
}

impl fmt::Display for AssetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for AssetError {}

/// Why a scene could not be built from a template.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SceneError {
    /// No template of that name is loaded.
    #[error("unknown template `{name}`; available: {available}")]
    UnknownTemplate {
        /// The requested name.
        name: String,
        /// Comma-separated list of loaded template names.
        available: String,
    },
    /// A rule of the template cannot be met (in every layout attempt).
    #[error("template `{template}`, {rule}: {message}")]
    Infeasible {
        /// The template's name.
        template: String,
        /// The rule that failed, e.g. `room 'office' group 'desks' (rule rows)`.
        rule: String,
        /// What went wrong, with numbers.
        message: String,
    },
}
