//! `manifest.json`, the index of a finished dataset folder: which shard files hold which
//! split and task, their sizes and checksums, and the configuration that made them. Readers
//! list shards from here, never by globbing the folder, so a stray or partial file is never
//! read.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::columns::SCHEMA_VERSION;
use crate::split::Split;
use crate::task::Task;

/// The manifest's file name in a dataset folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The manifest's `format`.
pub const DATASET_FORMAT: &str = "ipt-dataset";

/// A finished shard file, as listed in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardEntry {
    /// Path inside the dataset folder.
    pub path: String,
    /// Split.
    pub split: Split,
    /// Task.
    pub task: Task,
    /// Shard number within its (split, task) stream.
    pub shard: u64,
    /// Index of the file's first example in the stream.
    pub first_index: u64,
    /// Rows (examples).
    pub rows: u64,
    /// File size, bytes.
    pub bytes: u64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
}

/// The generator that made a dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratorInfo {
    /// `ipt-gen`.
    pub name: String,
    /// Crate version.
    pub version: String,
    /// Git commit it was built from (`unknown` outside a checkout).
    pub git: String,
}

/// One (split, task) stream of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamEntry {
    /// Split.
    pub split: Split,
    /// Task.
    pub task: Task,
    /// Examples.
    pub count: u64,
    /// Seed of its scenes and sampling.
    pub seed: u64,
}

/// `manifest.json`: everything needed to check and reproduce the dataset, and the list of
/// its shard files that readers go by (never a glob of the folder).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest<C = serde_json::Value> {
    /// Always `ipt-dataset`.
    pub format: String,
    /// Record schema version (`ipt_schema::SCHEMA_VERSION`).
    pub schema_version: u32,
    /// The generator.
    pub generator: GeneratorInfo,
    /// The configuration the dataset was generated with (the generator's `DatasetConfig`;
    /// readers that do not need it keep it as JSON).
    pub config: C,
    /// Total examples.
    pub examples: u64,
    /// The streams.
    pub streams: Vec<StreamEntry>,
    /// Every shard, in layout order.
    pub shards: Vec<ShardEntry>,
}

/// Why a dataset folder cannot be read, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// No readable `manifest.json`: not a dataset folder, or one still being generated.
    #[error(
        "{path}: cannot read the manifest ({cause}); is this a dataset folder made by `ipt-gen generate` (and merged, if made by several workers)?"
    )]
    Missing {
        /// The manifest's path.
        path: PathBuf,
        /// Why it could not be read (in the message itself, not as an error source, so a
        /// printed chain names it once).
        cause: std::io::Error,
    },
    /// The manifest is not valid JSON of the expected shape.
    #[error("{path}: not a dataset manifest: {message}")]
    Malformed {
        /// The manifest's path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Another format, or another schema version than this build reads.
    #[error("{path}: {message}")]
    Foreign {
        /// The manifest's path.
        path: PathBuf,
        /// What differs.
        message: String,
    },
}

impl Manifest {
    /// Reads `dir/manifest.json` with its configuration left as JSON, checking that it is a
    /// dataset of this schema version.
    pub fn read(dir: &Path) -> Result<Manifest, DatasetError> {
        let path = dir.join(MANIFEST_FILE);
        let text =
            std::fs::read_to_string(&path).map_err(|cause| DatasetError::Missing { path: path.clone(), cause })?;
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| DatasetError::Malformed { path: path.clone(), message: e.to_string() })?;
        if manifest.format != DATASET_FORMAT {
            let message = format!("format '{}', expected '{DATASET_FORMAT}'", manifest.format);
            return Err(DatasetError::Foreign { path, message });
        }
        if manifest.schema_version != SCHEMA_VERSION {
            let message = format!(
                "schema version {}, this build reads version {SCHEMA_VERSION}: regenerate the dataset or use a matching build",
                manifest.schema_version
            );
            return Err(DatasetError::Foreign { path, message });
        }
        Ok(manifest)
    }
}

impl<C> Manifest<C> {
    /// The shard files of `split` and `task` (every task when `None`), in layout order.
    pub fn shards(&self, split: Split, task: Option<Task>) -> impl Iterator<Item = &ShardEntry> {
        self.shards.iter().filter(move |entry| entry.split == split && task.is_none_or(|task| entry.task == task))
    }

    /// Examples of `split` and `task` (every task when `None`).
    pub fn examples(&self, split: Split, task: Option<Task>) -> u64 {
        self.shards(split, task).map(|entry| entry.rows).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(split: Split, task: Task, rows: u64) -> ShardEntry {
        ShardEntry {
            path: format!("data/{split}/{task}-00000-of-00001.parquet"),
            split,
            task,
            shard: 0,
            first_index: 0,
            rows,
            bytes: 1,
            sha256: String::new(),
        }
    }

    fn manifest(format: &str, schema_version: u32) -> Manifest {
        Manifest {
            format: format.into(),
            schema_version,
            generator: GeneratorInfo { name: "ipt-gen".into(), version: "0".into(), git: "x".into() },
            config: serde_json::json!({ "seed": 1 }),
            examples: 7,
            streams: vec![],
            shards: vec![
                entry(Split::Train, Task::Pet, 3),
                entry(Split::Train, Task::Mvc, 4),
                entry(Split::Test, Task::Pet, 2),
            ],
        }
    }

    fn write(dir: &Path, manifest: &Manifest) {
        std::fs::write(dir.join(MANIFEST_FILE), serde_json::to_vec(manifest).unwrap()).unwrap();
    }

    #[test]
    fn shards_are_listed_by_split_and_task() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &manifest(DATASET_FORMAT, SCHEMA_VERSION));
        let read = Manifest::read(dir.path()).unwrap();
        assert_eq!(read.examples(Split::Train, None), 7);
        assert_eq!(read.examples(Split::Train, Some(Task::Pet)), 3);
        assert_eq!(read.shards(Split::Test, Some(Task::Mvc)).count(), 0);
        assert_eq!(read.config["seed"], 1);
    }

    #[test]
    fn foreign_and_missing_manifests_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Manifest::read(dir.path()).unwrap_err().to_string();
        assert!(missing.contains(MANIFEST_FILE) && missing.contains("ipt-gen generate"), "{missing}");
        write(dir.path(), &manifest(DATASET_FORMAT, SCHEMA_VERSION + 1));
        let newer = Manifest::read(dir.path()).unwrap_err().to_string();
        assert!(newer.contains("schema version"), "{newer}");
        write(dir.path(), &manifest("something-else", SCHEMA_VERSION));
        assert!(Manifest::read(dir.path()).unwrap_err().to_string().contains("format"));
        std::fs::write(dir.path().join(MANIFEST_FILE), "{").unwrap();
        assert!(Manifest::read(dir.path()).unwrap_err().to_string().contains("not a dataset manifest"));
    }
}
