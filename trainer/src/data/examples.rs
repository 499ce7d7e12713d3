//! A dataset's examples as the trainer needs them: text fields and images decoded and
//! resized to the model's input size, read shard by shard through `ipt-schema` (only the
//! columns used, a few hundred rows in memory at a time).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use image::RgbImage;
use image::imageops::FilterType;
use ipt_schema::{Image, Manifest, Split, Task, read_columns};
use serde::Deserialize;

/// The columns the trainer reads (never the id or depth images).
const COLUMNS: [&str; 12] = [
    "id",
    "task",
    "variant",
    "subtype",
    "question",
    "choices",
    "answer",
    "answer_text",
    "cot",
    "think",
    "images",
    "imagination",
];

/// The text columns (what a tokenizer is trained on).
const TEXT_COLUMNS: [&str; 4] = ["question", "choices", "cot", "think"];

/// The projected row (field names are column names).
#[derive(Debug, Clone, Deserialize)]
struct Row {
    id: String,
    task: String,
    variant: String,
    subtype: String,
    question: String,
    choices: Vec<String>,
    answer: String,
    answer_text: String,
    cot: String,
    think: String,
    images: Vec<Image>,
    imagination: Image,
}

/// One example, ready to be tokenised and batched.
#[derive(Debug, Clone)]
pub struct Example {
    /// `<split>-<task>-<index>`.
    pub id: String,
    /// The task.
    pub task: Task,
    /// Task variant.
    pub variant: String,
    /// Balanced sub-type.
    pub subtype: String,
    /// The question.
    pub question: String,
    /// The options in letter order.
    pub choices: Vec<String>,
    /// Index of the correct option.
    pub answer: usize,
    /// Text of the correct option.
    pub answer_text: String,
    /// Chain of thought.
    pub cot: String,
    /// The think phrase.
    pub think: String,
    /// Input images, resized.
    pub images: Vec<RgbImage>,
    /// The imagination, resized.
    pub imagination: RgbImage,
}

/// The letter of option `index`: A, B, C, ...
pub fn letter(index: usize) -> char {
    char::from(b'A' + index as u8)
}

/// Decodes a stored PNG and resizes it to `size` x `size` (area-averaging filter).
fn decode(image: &Image, size: u32, what: &str) -> Result<RgbImage> {
    let decoded = image::load_from_memory(image.data()).with_context(|| format!("{what} does not decode"))?.into_rgb8();
    if decoded.width() == size && decoded.height() == size {
        return Ok(decoded);
    }
    Ok(image::imageops::resize(&decoded, size, size, FilterType::Triangle))
}

/// An example as stored: its fields read, its images still PNG bytes (cheap to hold and
/// shuffle; decoding is the expensive part, done by [`StoredExample::decode`]).
#[derive(Debug, Clone)]
pub struct StoredExample {
    row: Row,
    shard: Arc<PathBuf>,
}

impl StoredExample {
    /// `<split>-<task>-<index>`.
    pub fn id(&self) -> &str {
        &self.row.id
    }

    /// The example with its images decoded and resized to `size`; an error names the shard
    /// and the example.
    pub fn decode(&self, size: u32) -> Result<Example> {
        Example::from_row(self.row.clone(), size).with_context(|| self.shard.display().to_string())
    }
}

/// The text fields of one example.
#[derive(Debug, Clone, Deserialize)]
pub struct ExampleText {
    /// The question.
    pub question: String,
    /// The options.
    pub choices: Vec<String>,
    /// Chain of thought.
    pub cot: String,
    /// The think phrase.
    pub think: String,
}

impl Example {
    fn from_row(row: Row, size: u32) -> Result<Example> {
        let task: Task = row.task.parse().map_err(|e: String| anyhow::anyhow!("{}: {e}", row.id))?;
        let Some(answer) = row.answer.chars().next().map(|c| (c as usize).wrapping_sub('A' as usize)) else {
            bail!("{}: empty answer letter", row.id);
        };
        if answer >= row.choices.len() {
            bail!("{}: answer {} but {} options", row.id, row.answer, row.choices.len());
        }
        let images = row
            .images
            .iter()
            .enumerate()
            .map(|(i, image)| decode(image, size, &format!("{}: input image {i}", row.id)))
            .collect::<Result<Vec<_>>>()?;
        let imagination = decode(&row.imagination, size, &format!("{}: imagination", row.id))?;
        Ok(Example {
            id: row.id,
            task,
            variant: row.variant,
            subtype: row.subtype,
            question: row.question,
            choices: row.choices,
            answer,
            answer_text: row.answer_text,
            cot: row.cot,
            think: row.think,
            images,
            imagination,
        })
    }
}

/// The shard files of `split` (and `task`, or every task) of the dataset in `dir`, in
/// layout order, from its manifest.
pub fn shard_paths(dir: &Path, split: Split, task: Option<Task>) -> Result<Vec<PathBuf>> {
    let manifest = Manifest::read(dir)?;
    let paths: Vec<PathBuf> = manifest.shards(split, task).map(|entry| dir.join(&entry.path)).collect();
    if paths.is_empty() {
        let what = task.map_or("any task".to_string(), |t| format!("task {t}"));
        bail!("{}: the dataset has no {split} examples of {what}", dir.display());
    }
    Ok(paths)
}

/// Reads the examples of one shard in batches of at most 256 rows, images left encoded (see
/// [`StoredExample::decode`]); every error names the shard.
pub fn read_shard(path: &Path) -> Result<impl Iterator<Item = Result<Vec<StoredExample>>> + use<>> {
    let batches = read_columns::<Row>(path, &COLUMNS)?;
    let shard = Arc::new(path.to_path_buf());
    Ok(batches
        .map(move |batch| Ok(batch?.into_iter().map(|row| StoredExample { row, shard: Arc::clone(&shard) }).collect())))
}

/// Reads only the text fields of one shard (no image bytes), in batches.
pub fn read_texts(path: &Path) -> Result<impl Iterator<Item = Result<Vec<ExampleText>>> + use<>> {
    Ok(read_columns::<ExampleText>(path, &TEXT_COLUMNS)?.map(|batch| Ok(batch?)))
}

/// Reads and decodes every example of one shard, images resized to `size` (for tests and
/// small splits; the loader decodes lazily).
pub fn read_decoded(path: &Path, size: u32) -> Result<Vec<Example>> {
    let mut examples = Vec::new();
    for batch in read_shard(path)? {
        for stored in batch? {
            examples.push(stored.decode(size)?);
        }
    }
    Ok(examples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testing;

    #[test]
    fn examples_are_read_with_images_resized_and_answers_as_indices() {
        let dir = tempfile::tempdir().unwrap();
        testing::dataset(dir.path(), &[Split::Train, Split::Test], 5);
        let paths = shard_paths(dir.path(), Split::Train, Some(Task::Pet)).unwrap();
        assert_eq!(paths.len(), 1);
        let examples = read_decoded(&paths[0], 16).unwrap();
        assert_eq!(examples.len(), 5);
        assert_eq!((examples[1].answer, letter(examples[1].answer)), (1, 'B'));
        assert_eq!(examples[0].images[0].dimensions(), (16, 16));
        assert_eq!(examples[0].images[0].get_pixel(3, 3).0, [200, 30, 30]);
        assert_eq!(examples[0].imagination.dimensions(), (16, 16));
        let missing = shard_paths(dir.path(), Split::Benchmark, None).unwrap_err().to_string();
        assert!(missing.contains("no benchmark examples"), "{missing}");
    }

    #[test]
    fn a_corrupt_shard_is_named() {
        let dir = tempfile::tempdir().unwrap();
        testing::dataset(dir.path(), &[Split::Train], 3);
        let path = shard_paths(dir.path(), Split::Train, None).unwrap().remove(0);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 3]).unwrap();
        let error = read_shard(&path).err().expect("a truncated shard must not open").to_string();
        assert!(error.contains("pet-00000-of-00001.parquet"), "{error}");
    }
}
