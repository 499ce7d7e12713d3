//! `ipt-gen export`: a dataset's examples in the formats the training stacks read, so that
//! nobody writes a converter and gets the image tags, the think phrase or the imagination
//! target subtly wrong (docs/export.md).
//!
//! The work is cut into units, one per source shard file, each written to its own output
//! file(s) atomically: a killed export resumes where it stopped, and a unit is never half
//! written. When every unit is done, the format writes its index files and a README.
//!
//! - [`text`]: the instruction and supervised outputs, the same in every format.
//! - [`bagel`], [`llava`], [`sharegpt`], [`trl`]: one module per format.
//! - [`images`]: the shared, content-addressed image folder of the file-based formats.

mod bagel;
mod images;
mod json_list;
mod llava;
mod sharegpt;
mod table;
mod text;
mod trl;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use indicatif::{ProgressBar, ProgressStyle};
use ipt_schema::{Manifest, Record, Regime, Split, Task, stream_records};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::files::write_atomic;

/// A training stack's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The IPT authors' BAGEL `unified_edit` Parquet (images, instruction, outputs with the
    /// imagination as an output image), with `parquet_info.json`, a `dataset_info.py` entry
    /// and a YAML data config.
    Bagel,
    /// LLaVA(-NeXT): one JSON list of `{id, image, conversations}` and an image folder.
    Llava,
    /// LLaMA-Factory's sharegpt: one JSON list of `{messages, images}` and a
    /// `dataset_info.json` entry.
    Sharegpt,
    /// TRL vision SFT: a Hugging Face dataset (Parquet) of `images` and `messages`.
    Trl,
}

impl Format {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Bagel => "bagel",
            Format::Llava => "llava",
            Format::Sharegpt => "sharegpt",
            Format::Trl => "trl",
        }
    }
}

/// Where the ground-truth imagination goes in the text-only formats, which have no output
/// image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Imagination {
    /// Left out.
    Omit,
    /// After the inputs, as one more input image (the paper's ground truth in context).
    Input,
}

/// What to export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportOptions {
    /// The dataset folder (with manifest.json).
    pub dataset: PathBuf,
    /// The format.
    pub format: Format,
    /// The regime.
    pub regime: Regime,
    /// The tasks exported.
    pub tasks: Vec<Task>,
    /// The splits exported.
    pub splits: Vec<Split>,
    /// Where the imagination goes (text-only formats).
    pub imagination: Imagination,
}

impl ExportOptions {
    /// Checks that the format can serve the regime: the text-only formats have no output
    /// image, so `ipt` and `mixed` are BAGEL's; `--imagination input` is for the text-only
    /// formats (BAGEL's `ipt` outputs the imagination).
    fn check(&self) -> Result<()> {
        let text_only = self.format != Format::Bagel;
        if text_only && matches!(self.regime, Regime::Ipt | Regime::Mixed) {
            bail!(
                "--format {} has no output image, so it cannot hold --regime {}: use --regime label or cot (add \
                 --imagination input to give the ground-truth imagination as one more input image), or --format bagel",
                self.format.name(),
                self.regime.name()
            );
        }
        if !text_only && self.imagination == Imagination::Input {
            bail!(
                "--imagination input is for the text-only formats: --format bagel's ipt regime outputs the imagination"
            );
        }
        ensure!(!self.tasks.is_empty(), "--tasks names no task");
        ensure!(!self.splits.is_empty(), "--splits names no split");
        Ok(())
    }

    /// The export's folder inside the output folder: `<format>-<regime>`, with
    /// `-imagination-input` when the imagination is an input.
    fn folder(&self) -> String {
        let imagination = if self.imagination == Imagination::Input { "-imagination-input" } else { "" };
        format!("{}-{}{imagination}", self.format.name(), self.regime.name())
    }
}

/// One source shard file and what its examples become.
#[derive(Debug, Clone)]
pub(crate) struct Unit {
    /// The shard file.
    pub(crate) source: PathBuf,
    /// Its split.
    pub(crate) split: Split,
    /// Its rows.
    pub(crate) rows: u64,
    /// A name unique in the dataset: `<split>-<file stem>` (`train-pet-00000-of-00027`).
    pub(crate) name: String,
}

/// What every format module does.
pub(crate) trait Writer: Sync {
    /// The files (relative to the export folder) that `unit` becomes; it is done when all
    /// exist.
    fn outputs(&self, unit: &Unit) -> Vec<PathBuf>;
    /// Writes `unit`'s outputs from its records, batch by batch.
    fn write_unit(&self, unit: &Unit, batches: &mut dyn Iterator<Item = Result<Vec<Record>>>) -> Result<()>;
    /// Writes the index files and the README once every unit is done; returns the files a
    /// user points the stack at.
    fn finish(&self, units: &[Unit]) -> Result<Vec<PathBuf>>;
}

/// Where the export goes, for the format modules.
pub(crate) struct Target {
    /// The output folder (absolute): holds `images/` and one folder per export.
    pub(crate) out: PathBuf,
    /// This export's folder (absolute).
    pub(crate) folder: PathBuf,
    /// The options.
    pub(crate) options: ExportOptions,
}

/// The file marking a folder as made by `ipt-gen export` (other exports may join it).
const MARK_FILE: &str = ".ipt-export";
/// The options of one export, in its folder (a resumed export must ask the same).
const OPTIONS_FILE: &str = "export.json";

/// What an export did.
#[derive(Debug)]
pub struct ExportSummary {
    /// The export's folder.
    pub folder: PathBuf,
    /// Examples in the selected shards.
    pub examples: u64,
    /// Examples written now (the rest were done before).
    pub written: u64,
    /// The files a user points the stack at.
    pub entry_points: Vec<PathBuf>,
}

/// Exports `options.dataset` into `out` (resuming an export that stopped).
pub fn export(options: &ExportOptions, out: &Path) -> Result<ExportSummary> {
    options.check()?;
    let manifest = Manifest::read(&options.dataset)?;
    let units = units(options, &manifest)?;
    let target = prepare(options, out)?;
    let writer: Box<dyn Writer> = match options.format {
        Format::Bagel => Box::new(bagel::Bagel::new(&target)),
        Format::Llava => Box::new(llava::Llava::new(&target)),
        Format::Sharegpt => Box::new(sharegpt::ShareGpt::new(&target)),
        Format::Trl => Box::new(trl::Trl::new(&target)),
    };
    let done = |unit: &Unit| writer.outputs(unit).iter().all(|file| target.folder.join(file).exists());
    let examples: u64 = units.iter().map(|u| u.rows).sum();
    let todo: Vec<&Unit> = units.iter().filter(|u| !done(u)).collect();
    let written: u64 = todo.iter().map(|u| u.rows).sum();
    let bar = ProgressBar::new(examples).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} examples, {per_sec}, eta {eta}").expect("valid template"),
    );
    bar.inc(examples - written);
    todo.par_iter().try_for_each(|unit| -> Result<()> {
        let batches = stream_records(&unit.source)?;
        let mut counted = batches.map(|batch| {
            let batch = batch?;
            bar.inc(batch.len() as u64);
            Ok(batch)
        });
        writer.write_unit(unit, &mut counted).with_context(|| format!("cannot export {}", unit.source.display()))
    })?;
    bar.finish_and_clear();
    let entry_points = writer.finish(&units)?;
    Ok(ExportSummary { folder: target.folder.clone(), examples, written, entry_points })
}

/// The selected shards of the dataset, in manifest order.
fn units(options: &ExportOptions, manifest: &Manifest) -> Result<Vec<Unit>> {
    let units: Vec<Unit> = manifest
        .shards
        .iter()
        .filter(|s| options.splits.contains(&s.split) && options.tasks.contains(&s.task))
        .map(|s| {
            let stem = Path::new(&s.path).file_stem().map_or_else(|| s.path.clone(), |n| n.to_string_lossy().into());
            Unit {
                source: options.dataset.join(&s.path),
                split: s.split,
                rows: s.rows,
                name: format!("{}-{stem}", s.split),
            }
        })
        .collect();
    if units.is_empty() {
        let present: std::collections::BTreeSet<String> =
            manifest.streams.iter().filter(|s| s.count > 0).map(|s| format!("{} {}", s.split, s.task)).collect();
        bail!(
            "{} has no examples of the asked splits and tasks; it has: {}",
            options.dataset.display(),
            present.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(units)
}

/// Makes (or reopens) the output folder and this export's folder: an existing folder must
/// be one `export` made, and an existing export must have been asked with the same options.
fn prepare(options: &ExportOptions, out: &Path) -> Result<Target> {
    if out.exists() {
        let mut entries = std::fs::read_dir(out).with_context(|| format!("cannot read {}", out.display()))?;
        if entries.next().is_some() && !out.join(MARK_FILE).exists() {
            bail!(
                "{} exists, is not empty and was not made by `ipt-gen export`: give --out a new or empty folder",
                out.display()
            );
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let out = out.canonicalize().with_context(|| format!("cannot resolve {}", out.display()))?;
    write_atomic(&out.join(MARK_FILE), b"made by ipt-gen export; other exports may join this folder\n")?;
    let mut options = options.clone();
    options.dataset =
        options.dataset.canonicalize().with_context(|| format!("cannot resolve {}", options.dataset.display()))?;
    let folder = out.join(options.folder());
    let saved_path = folder.join(OPTIONS_FILE);
    let saved = std::fs::read(&saved_path).ok();
    let asked = serde_json::to_vec_pretty(&options)?;
    match saved {
        Some(saved) if saved != asked => bail!(
            "{} was exported with other options ({}): give --out another folder, or ask what it was made with",
            folder.display(),
            saved_path.display()
        ),
        Some(_) => remove_partial_files(&folder)?,
        None => write_atomic(&saved_path, &asked)?,
    }
    Ok(Target { out, folder, options })
}

/// Removes the temporary files (`.<name>.partial`) a killed export left in `folder`.
fn remove_partial_files(folder: &Path) -> Result<()> {
    let mut stack = vec![folder.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))? {
            let path = entry?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            if path.is_dir() {
                stack.push(path);
            } else if name.starts_with('.') && name.ends_with(".partial") {
                std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// The images an example shows, in order: its inputs, then (when `with_imagination`) its
/// imagination; an error names the row when the imagination is missing.
pub(crate) fn images_of(record: &Record, with_imagination: bool) -> Result<Vec<&[u8]>> {
    let mut images: Vec<&[u8]> = record.images.iter().map(|i| i.data()).collect();
    if with_imagination {
        let imagination = record.imagination.data();
        ensure!(!imagination.is_empty(), "example {} has no imagination image, which this export needs", record.id);
        images.push(imagination);
    }
    Ok(images)
}

/// The export's README: `front_matter` (a dataset card's YAML header, or nothing), what it
/// holds and how to point the stack at it (`how`: Markdown).
pub(crate) fn write_readme(target: &Target, front_matter: &str, examples: u64, how: &str) -> Result<PathBuf> {
    let options = &target.options;
    let list = |names: Vec<&str>| names.join(",");
    let text = format!(
        "{front_matter}# {} export ({} regime)\n\nMade by `ipt-gen export {} --format {} --regime {} --tasks {} --splits {} \
         --imagination {} --out {}` from the dataset in `{}`: {examples} examples.\n\n{how}\n",
        options.format.name(),
        options.regime.name(),
        options.dataset.display(),
        options.format.name(),
        options.regime.name(),
        list(options.tasks.iter().map(|t| t.name()).collect()),
        list(options.splits.iter().map(|s| s.name()).collect()),
        match options.imagination {
            Imagination::Omit => "omit",
            Imagination::Input => "input",
        },
        target.out.display(),
        options.dataset.display(),
    );
    let path = target.folder.join("README.md");
    write_atomic(&path, text.as_bytes())?;
    Ok(path)
}
