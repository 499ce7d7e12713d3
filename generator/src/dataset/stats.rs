//! Label and category distributions: per shard while writing, summed per (split, task) for
//! `stats.json` and the dataset card.

use std::collections::BTreeMap;

use ipt_schema::Record;
use serde::{Deserialize, Serialize};

/// Counts over a set of examples.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distribution {
    /// Examples.
    pub examples: u64,
    /// Per sub-type.
    pub subtypes: BTreeMap<String, u64>,
    /// Per variant.
    pub variants: BTreeMap<String, u64>,
    /// Per answer letter.
    pub answers: BTreeMap<String, u64>,
    /// Per correct option text.
    pub answer_texts: BTreeMap<String, u64>,
    /// Per category of the objects the questions are about.
    pub categories: BTreeMap<String, u64>,
    /// Per scene template.
    pub templates: BTreeMap<String, u64>,
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str, by: u64) {
    *map.entry(key.to_string()).or_default() += by;
}

impl Distribution {
    /// Counts one record.
    pub fn add(&mut self, record: &Record) {
        self.examples += 1;
        bump(&mut self.subtypes, &record.subtype, 1);
        bump(&mut self.variants, &record.variant, 1);
        bump(&mut self.answers, &record.answer, 1);
        bump(&mut self.answer_texts, &record.answer_text, 1);
        for object in &record.objects {
            bump(&mut self.categories, &object.category, 1);
        }
        bump(&mut self.templates, &record.template, 1);
    }

    /// Adds another distribution's counts.
    pub fn merge(&mut self, other: &Distribution) {
        self.examples += other.examples;
        let pairs = [
            (&mut self.subtypes, &other.subtypes),
            (&mut self.variants, &other.variants),
            (&mut self.answers, &other.answers),
            (&mut self.answer_texts, &other.answer_texts),
            (&mut self.categories, &other.categories),
            (&mut self.templates, &other.templates),
        ];
        for (mine, theirs) in pairs {
            for (key, &count) in theirs {
                bump(mine, key, count);
            }
        }
    }
}
