//! `--format llava`: one JSON list per split, `{"id", "image", "conversations": [{"from":
//! "human", "value": "<image>\n..."}, {"from": "gpt", "value": ...}]}`, with image paths
//! relative to the output folder (LLaVA's `--image_folder`). One image is a string (what
//! the original LLaVA reads); several are a list with one `<image>` line each (LLaVA-NeXT).

use std::path::PathBuf;

use anyhow::Result;
use ipt_schema::Record;
use serde_json::{Value, json};

use super::json_list::{Conversation, assemble, part, splits, write_part};
use super::{Target, Unit, Writer, write_readme};

/// Writes LLaVA JSON lists.
pub(crate) struct Llava<'t> {
    target: &'t Target,
}

impl<'t> Llava<'t> {
    pub(crate) fn new(target: &'t Target) -> Llava<'t> {
        Llava { target }
    }
}

/// A conversation as a LLaVA item.
fn item(conversation: Conversation) -> Value {
    let tags = "<image>\n".repeat(conversation.images.len());
    let image = match conversation.images.as_slice() {
        [one] => json!(one),
        many => json!(many),
    };
    json!({
        "id": conversation.id,
        "image": image,
        "conversations": [
            { "from": "human", "value": format!("{tags}{}", conversation.prompt) },
            { "from": "gpt", "value": conversation.answer },
        ],
    })
}

impl Writer for Llava<'_> {
    fn outputs(&self, unit: &Unit) -> Vec<PathBuf> {
        vec![part(unit)]
    }

    fn write_unit(&self, unit: &Unit, batches: &mut dyn Iterator<Item = Result<Vec<Record>>>) -> Result<()> {
        write_part(self.target, unit, batches, item)
    }

    fn finish(&self, units: &[Unit]) -> Result<Vec<PathBuf>> {
        let lists =
            splits(units).into_iter().map(|split| assemble(self.target, units, split)).collect::<Result<Vec<_>>>()?;
        let examples = units.iter().map(|u| u.rows).sum();
        let how = format!(
            "- `<split>.json`: the JSON list to train on (LLaVA's `--data_path`).\n\
             - Images: `{}/images/`, named by their content; pass `--image_folder {}`.\n\n\
             Several images per example need LLaVA-NeXT (the original LLaVA reads one). See docs/export.md.",
            self.target.out.display(),
            self.target.out.display()
        );
        let mut entry_points = lists;
        entry_points.push(write_readme(self.target, "", examples, &how)?);
        Ok(entry_points)
    }
}
