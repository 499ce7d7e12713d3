//! Blind baselines: can a dataset's answers be guessed without looking at its images?
//!
//! The audit trains simple models that see only the text of an example (the answer letters,
//! the options, the question) on the `train` split and scores them on `test` and
//! `benchmark`, per task and per variant ([`model`]). A model that beats chance has found a
//! shortcut a trained network would find too. The examples come from a dataset's shards
//! (text columns only) or, for `--plans-only`, straight from the plans of a configuration
//! ([`examples`]); [`report`] runs the baselines and renders the table, `audit.json` and the
//! warnings of the guard that `generate` runs when it finishes.

pub mod examples;
pub mod model;
pub mod report;

pub use examples::AuditExample;
pub use report::{AuditReport, audit};
