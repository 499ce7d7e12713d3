//! `--format sharegpt`: LLaMA-Factory's multimodal sharegpt, one JSON list per split of
//! `{"id", "messages": [{"role": "user", "content": "<image>...<image>\n..."}, {"role":
//! "assistant", "content": ...}], "images": [...]}` (as many `<image>` tags as images), and
//! its entries in `dataset_info.json` at the top of the output folder, which is then
//! LLaMA-Factory's `dataset_dir` (image paths are relative to it).

use std::path::PathBuf;

use anyhow::{Context, Result};
use ipt_schema::Record;
use serde_json::{Value, json};

use super::json_list::{Conversation, assemble, part, splits, write_part};
use super::{Imagination, Target, Unit, Writer, write_readme};
use crate::files::write_atomic;

/// The index LLaMA-Factory reads in its `dataset_dir`.
const DATASET_INFO: &str = "dataset_info.json";

/// Writes LLaMA-Factory sharegpt lists.
pub(crate) struct ShareGpt<'t> {
    target: &'t Target,
}

impl<'t> ShareGpt<'t> {
    pub(crate) fn new(target: &'t Target) -> ShareGpt<'t> {
        ShareGpt { target }
    }

    /// The dataset name of `split` in `dataset_info.json`: `ipt_<regime>[_imagination]_<split>`.
    fn dataset_name(&self, split: &str) -> String {
        let options = &self.target.options;
        let imagination = if options.imagination == Imagination::Input { "_imagination" } else { "" };
        format!("ipt_{}{imagination}_{split}", options.regime.name())
    }
}

/// A conversation as a sharegpt item.
fn item(conversation: Conversation) -> Value {
    let tags = "<image>".repeat(conversation.images.len());
    json!({
        "id": conversation.id,
        "messages": [
            { "role": "user", "content": format!("{tags}\n{}", conversation.prompt) },
            { "role": "assistant", "content": conversation.answer },
        ],
        "images": conversation.images,
    })
}

impl Writer for ShareGpt<'_> {
    fn outputs(&self, unit: &Unit) -> Vec<PathBuf> {
        vec![part(unit)]
    }

    fn write_unit(&self, unit: &Unit, batches: &mut dyn Iterator<Item = Result<Vec<Record>>>) -> Result<()> {
        write_part(self.target, unit, batches, item)
    }

    fn finish(&self, units: &[Unit]) -> Result<Vec<PathBuf>> {
        let index = self.target.out.join(DATASET_INFO);
        let mut entries: serde_json::Map<String, Value> = match std::fs::read(&index) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| format!("{} is not JSON", index.display()))?,
            Err(_) => serde_json::Map::new(),
        };
        let folder = self.target.folder.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let mut names = Vec::new();
        for split in splits(units) {
            assemble(self.target, units, split)?;
            let name = self.dataset_name(split.name());
            entries.insert(
                name.clone(),
                json!({
                    "file_name": format!("{folder}/{}.json", split.name()),
                    "formatting": "sharegpt",
                    "columns": { "messages": "messages", "images": "images" },
                    "tags": { "role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant" },
                }),
            );
            names.push(name);
        }
        write_atomic(&index, &serde_json::to_vec_pretty(&entries)?)?;
        let examples = units.iter().map(|u| u.rows).sum();
        let how = format!(
            "- `<split>.json`: the sharegpt lists; `{}` names them {}.\n\
             - In LLaMA-Factory's training YAML: `dataset_dir: {}` and `dataset: {}` (image paths are relative to \
             `dataset_dir`, LLaMA-Factory's default `media_dir`).\n\nSee docs/export.md.",
            index.display(),
            names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
            self.target.out.display(),
            names.first().map_or("", String::as_str)
        );
        Ok(vec![index, write_readme(self.target, "", examples, &how)?])
    }
}
