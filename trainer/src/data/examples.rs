//! A dataset's examples as the trainer needs them: text fields and images decoded and
//! resized to the model's input size, read shard by shard through `ipt-schema` (only the
//! columns used, a few hundred rows in memory at a time).

use std::path::{Path, PathBuf};

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

/// The projected row (field names are column names).
#[derive(Debug, Deserialize)]
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

/// Reads the examples of one shard in batches of at most 256 rows, images resized to
/// `size`; every error names the shard (and the example).
pub fn read_shard(path: &Path, size: u32) -> Result<impl Iterator<Item = Result<Vec<Example>>> + use<>> {
    let batches = read_columns::<Row>(path, &COLUMNS)?;
    let path = path.to_path_buf();
    Ok(batches.map(move |batch| {
        let rows = batch?;
        rows.into_iter()
            .map(|row| Example::from_row(row, size))
            .collect::<Result<Vec<_>>>()
            .with_context(|| path.display().to_string())
    }))
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
        let examples: Vec<Example> = read_shard(&paths[0], 16).unwrap().flat_map(Result::unwrap).collect();
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
        let error = read_shard(&path, 16).err().expect("a truncated shard must not open").to_string();
        assert!(error.contains("pet-00000-of-00001.parquet"), "{error}");
    }
}
