//! The JSON-list formats (LLaVA, LLaMA-Factory): each unit's items go to a part file (one
//! JSON object per line, written atomically), and the parts of a split are joined into one
//! JSON list at the end, streaming (never the whole list in memory).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ipt_schema::{Record, Split};
use serde_json::Value;

use super::images::ImageStore;
use super::text::{instruction, outputs};
use super::{Imagination, Target, Unit, images_of};
use crate::files::write_atomic;

/// The part file of `unit`, relative to the export folder.
pub(crate) fn part(unit: &Unit) -> PathBuf {
    PathBuf::from(".parts").join(format!("{}.jsonl", unit.name))
}

/// One example as the text-only formats see it: image paths (relative to the export's
/// output folder), the user's text after the image tags, and the assistant's text.
pub(crate) struct Conversation {
    /// The example's id.
    pub(crate) id: String,
    /// Its images, stored in the shared image folder.
    pub(crate) images: Vec<String>,
    /// The instruction (prompt, question, options), without a leading newline.
    pub(crate) prompt: String,
    /// The supervised answer.
    pub(crate) answer: String,
}

/// The conversation of `record` under `target`'s regime (one presentation: the text-only formats
/// serve label and cot), storing its images in `store`.
pub(crate) fn conversation(target: &Target, store: &ImageStore, record: &Record) -> Result<Conversation> {
    let presentation = target.options.regime.presentations()[0];
    let with_imagination = target.options.imagination == Imagination::Input;
    let images =
        images_of(record, with_imagination)?.into_iter().map(|bytes| store.put(bytes)).collect::<Result<_>>()?;
    Ok(Conversation {
        id: record.id.clone(),
        images,
        prompt: instruction(record, presentation, with_imagination).trim_start().to_string(),
        answer: outputs(record, presentation).concat(),
    })
}

/// Writes `unit`'s items (made by `item` from each record) to its part file.
pub(crate) fn write_part(
    target: &Target,
    unit: &Unit,
    batches: &mut dyn Iterator<Item = Result<Vec<Record>>>,
    item: impl Fn(Conversation) -> Value,
) -> Result<()> {
    let store = ImageStore::new(&target.out);
    let mut lines = Vec::new();
    for batch in batches {
        for record in batch? {
            serde_json::to_writer(&mut lines, &item(conversation(target, &store, &record)?))?;
            lines.push(b'\n');
        }
    }
    write_atomic(&target.folder.join(part(unit)), &lines)
}

/// Joins the parts of `split`'s units into `<split>.json` (a JSON list) in the export folder;
/// returns its path.
pub(crate) fn assemble(target: &Target, units: &[Unit], split: Split) -> Result<PathBuf> {
    let path = target.folder.join(format!("{}.json", split.name()));
    let temp = target.folder.join(format!(".{}.json.partial", split.name()));
    let result = (|| -> Result<()> {
        let mut out = BufWriter::new(File::create(&temp)?);
        out.write_all(b"[\n")?;
        let mut first = true;
        for unit in units.iter().filter(|u| u.split == split) {
            for line in read_lines(&target.folder.join(part(unit)))? {
                if !first {
                    out.write_all(b",\n")?;
                }
                out.write_all(line?.as_bytes())?;
                first = false;
            }
        }
        out.write_all(b"\n]\n")?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&temp, &path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

fn read_lines(path: &Path) -> Result<std::io::Lines<BufReader<File>>> {
    Ok(BufReader::new(File::open(path).with_context(|| format!("cannot read {}", path.display()))?).lines())
}

/// The splits of `units`, in order.
pub(crate) fn splits(units: &[Unit]) -> Vec<Split> {
    let mut splits: Vec<Split> = units.iter().map(|u| u.split).collect();
    splits.sort();
    splits.dedup();
    splits
}
