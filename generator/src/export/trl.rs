//! `--format trl`: a Hugging Face dataset that TRL's SFT trainer takes as it is: Parquet
//! files of the example's `id`, `images` (a list of images, stored like `datasets` stores them: `struct<bytes,
//! path>` with the `Image` feature in the schema metadata, so `load_dataset` decodes them to
//! PIL images) and `messages` (`{"role", "content": [{"type": "image"}, ..., {"type":
//! "text", "text"}]}`, one image part per image, in order). A dataset card maps each split
//! to its files.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use arrow_schema::{DataType, Field, Fields, Schema};
use ipt_schema::Record;
use serde::Serialize;
use serde_bytes::Bytes;
use serde_json::json;

use super::json_list::splits;
use super::table::Table;
use super::text::{instruction, outputs};
use super::{Imagination, Target, Unit, Writer, images_of, write_readme};

#[derive(Serialize)]
struct ImageCell<'a> {
    bytes: &'a Bytes,
    path: Option<&'a str>,
}

#[derive(Serialize)]
struct Part {
    #[serde(rename = "type")]
    kind: &'static str,
    text: Option<String>,
}

#[derive(Serialize)]
struct Message {
    role: &'static str,
    content: Vec<Part>,
}

#[derive(Serialize)]
struct Row<'a> {
    id: &'a str,
    images: Vec<ImageCell<'a>>,
    messages: [Message; 2],
}

/// The schema: image lists in the layout `datasets` decodes (every part nullable, `Image`
/// feature in the `huggingface` metadata), messages as lists of structs.
fn schema() -> Schema {
    let image = DataType::Struct(Fields::from(vec![
        Field::new("bytes", DataType::Binary, true),
        Field::new("path", DataType::Utf8, true),
    ]));
    let part = DataType::Struct(Fields::from(vec![
        Field::new("type", DataType::Utf8, false),
        Field::new("text", DataType::Utf8, true),
    ]));
    let message = DataType::Struct(Fields::from(vec![
        Field::new("role", DataType::Utf8, false),
        Field::new("content", DataType::List(Arc::new(Field::new("item", part, false))), false),
    ]));
    let features =
        json!({ "info": { "features": { "images": { "feature": { "_type": "Image" }, "_type": "List" } } } });
    Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("images", DataType::List(Arc::new(Field::new("item", image, true))), true),
        Field::new("messages", DataType::List(Arc::new(Field::new("item", message, false))), false),
    ])
    .with_metadata(HashMap::from([("huggingface".to_string(), features.to_string())]))
}

/// The row of `record` under `target`'s regime.
fn row<'r>(target: &Target, record: &'r Record) -> Result<Row<'r>> {
    let presentation = target.options.regime.presentations()[0];
    let with_imagination = target.options.imagination == Imagination::Input;
    let images = images_of(record, with_imagination)?;
    let mut user: Vec<Part> = images.iter().map(|_| Part { kind: "image", text: None }).collect();
    let prompt = instruction(record, presentation, with_imagination).trim_start().to_string();
    user.push(Part { kind: "text", text: Some(prompt) });
    let answer = Part { kind: "text", text: Some(outputs(record, presentation).concat()) };
    Ok(Row {
        id: &record.id,
        images: images.into_iter().map(|bytes| ImageCell { bytes: Bytes::new(bytes), path: None }).collect(),
        messages: [Message { role: "user", content: user }, Message { role: "assistant", content: vec![answer] }],
    })
}

/// Writes a TRL-ready Hugging Face dataset.
pub(crate) struct Trl<'t> {
    target: &'t Target,
}

impl<'t> Trl<'t> {
    pub(crate) fn new(target: &'t Target) -> Trl<'t> {
        Trl { target }
    }
}

impl Writer for Trl<'_> {
    fn outputs(&self, unit: &Unit) -> Vec<PathBuf> {
        vec![PathBuf::from("data").join(format!("{}.parquet", unit.name))]
    }

    fn write_unit(&self, unit: &Unit, batches: &mut dyn Iterator<Item = Result<Vec<Record>>>) -> Result<()> {
        let path = self.target.folder.join(&self.outputs(unit)[0]);
        let mut table = Table::create(&path, schema())?;
        for batch in batches {
            let batch = batch?;
            let rows = batch.iter().map(|record| row(self.target, record)).collect::<Result<Vec<_>>>()?;
            table.write(&rows)?;
        }
        table.finish()?;
        Ok(())
    }

    fn finish(&self, units: &[Unit]) -> Result<Vec<PathBuf>> {
        let files: String = splits(units)
            .into_iter()
            .map(|split| format!("  - split: {}\n    path: data/{}-*.parquet\n", split.name(), split.name()))
            .collect();
        let examples = units.iter().map(|u| u.rows).sum();
        let how = format!(
            "```python\nfrom datasets import load_dataset\ndataset = load_dataset(\"{}\")\n```\n\n\
             Each row has `images` (decoded to PIL images) and `messages` (one `{{\"type\": \"image\"}}` part per image, \
             then the text): pass `dataset[\"train\"]` to TRL's `SFTTrainer` with a vision-language model and \
             `SFTConfig(max_length=None)`. See docs/export.md.",
            self.target.folder.display()
        );
        // The dataset card's YAML header maps each split to its files (`benchmark` is not a
        // split name `datasets` would guess from file names).
        let front_matter = format!("---\nconfigs:\n- config_name: default\n  data_files:\n{files}---\n\n");
        let readme = write_readme(self.target, &front_matter, examples, &how)?;
        Ok(vec![readme])
    }
}
