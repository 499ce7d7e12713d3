//! The splits of a dataset.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A split of the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Training.
    Train,
    /// Validation.
    Validation,
    /// Test.
    Test,
    /// The strict evaluation benchmark (larger margins, no near-threshold cases).
    Benchmark,
}

impl Split {
    /// Every split, in order.
    pub const ALL: [Split; 4] = [Split::Train, Split::Validation, Split::Test, Split::Benchmark];

    /// The name in file paths and records.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
            Split::Benchmark => "benchmark",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Split {
    type Err = String;

    fn from_str(s: &str) -> Result<Split, String> {
        Split::ALL
            .into_iter()
            .find(|split| split.name() == s)
            .ok_or_else(|| format!("unknown split '{s}' (expected one of: train, validation, test, benchmark)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_names_round_trip() {
        for split in Split::ALL {
            assert_eq!(split.name().parse::<Split>(), Ok(split));
            assert_eq!(serde_json::to_string(&split).unwrap(), format!("\"{split}\""));
        }
        assert!("dev".parse::<Split>().unwrap_err().contains("benchmark"));
    }
}
