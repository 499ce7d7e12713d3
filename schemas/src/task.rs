//! The three tasks: their names in records, file names and on command lines, and the phrase
//! that precedes an imagination.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One of the three tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Perspective Taking.
    Pet,
    /// Path Tracing.
    Pt,
    /// Multiview Counting.
    Mvc,
}

impl Task {
    /// Every task, in order.
    pub const ALL: [Task; 3] = [Task::Pet, Task::Pt, Task::Mvc];

    /// The short name used on the command line and in records.
    pub fn name(self) -> &'static str {
        match self {
            Task::Pet => "pet",
            Task::Pt => "pt",
            Task::Mvc => "mvc",
        }
    }

    /// The task's name for people: "Perspective Taking".
    pub fn title(self) -> &'static str {
        match self {
            Task::Pet => "Perspective Taking",
            Task::Pt => "Path Tracing",
            Task::Mvc => "Multiview Counting",
        }
    }

    /// The phrase that precedes the imagination in IPT training.
    pub fn think(self) -> &'static str {
        match self {
            Task::Pet => "I need to visualize the scene from the new perspective after moving to the marked position.",
            Task::Pt => "I need to visualize what is beside me when I stand at the midpoint of the path.",
            Task::Mvc => "Examining the scene from above to identify all objects.",
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Task {
    type Err = String;

    fn from_str(s: &str) -> Result<Task, String> {
        Task::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| format!("unknown task '{s}' (expected one of: pet, pt, mvc)"))
    }
}
