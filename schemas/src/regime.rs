//! The training regimes of the paper, shared by the trainer (`ipt-train --regime`) and the
//! export to other stacks (`ipt-gen export --regime`): what a model is taught to write.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What the model is trained to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Regime {
    /// The answer only.
    Label,
    /// A textual chain of thought, then the answer.
    Cot,
    /// The think phrase, the imagination, then the answer.
    Ipt,
    /// Half the examples as `ipt` (with its instruction), half answer-only (with the
    /// answer-only instruction).
    Mixed,
}

/// How one example is presented: what it asks the model to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Presentation {
    /// The answer only.
    Answer,
    /// A chain of thought and the answer.
    Reasoned,
    /// The think phrase, the imagination and the answer.
    Imagined,
}

impl Regime {
    /// Every regime, in the paper's order.
    pub const ALL: [Regime; 4] = [Regime::Label, Regime::Cot, Regime::Ipt, Regime::Mixed];

    /// Its name on the command line and in reports: `label`, `cot`, `ipt`, `mixed`.
    pub fn name(self) -> &'static str {
        match self {
            Regime::Label => "label",
            Regime::Cot => "cot",
            Regime::Ipt => "ipt",
            Regime::Mixed => "mixed",
        }
    }

    /// The presentations its examples take (`mixed`: imagined and answer-only, in equal
    /// shares).
    pub fn presentations(self) -> &'static [Presentation] {
        match self {
            Regime::Label => &[Presentation::Answer],
            Regime::Cot => &[Presentation::Reasoned],
            Regime::Ipt => &[Presentation::Imagined],
            Regime::Mixed => &[Presentation::Imagined, Presentation::Answer],
        }
    }
}

impl fmt::Display for Regime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Regime {
    type Err = String;

    fn from_str(s: &str) -> Result<Regime, String> {
        Regime::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| format!("unknown regime '{s}' (expected one of: label, cot, ipt, mixed)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_list_the_regimes() {
        for regime in Regime::ALL {
            assert_eq!(regime.name().parse::<Regime>(), Ok(regime));
            assert_eq!(serde_json::to_string(&regime).unwrap(), format!("\"{}\"", regime.name()));
        }
        assert!("ipt2".parse::<Regime>().unwrap_err().contains("label, cot, ipt, mixed"));
    }
}
