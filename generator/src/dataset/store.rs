//! A dataset folder and its state: the lock that keeps a second process out, the config the
//! folder was started with, finished shards (each with a small record beside it, written
//! only after the shard's files are complete and renamed into place), and the final manifest.
//!
//! Layout: `data/<split>/<task>-NNNNN-of-MMMMM.parquet` (or, for a shard over the byte
//! bound, `...-of-MMMMM-part-KKK.parquet` files), `manifest.json`, `stats.json`, `README.md`,
//! and `.ipt-gen/` for the state (config, locks, one JSON per finished shard).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::config::DatasetConfig;
use super::layout::{Split, Unit, streams, units};
use super::stats::Distribution;
use crate::audit::AuditReport;
use crate::files::{write_atomic, write_new_atomic};
use ipt_schema::Task;
pub use ipt_schema::audit::AUDIT_FILE;
pub use ipt_schema::manifest::{DATASET_FORMAT, GeneratorInfo, MANIFEST_FILE, ShardEntry, StreamEntry};

/// The manifest as the generator writes and reads it, with its configuration typed.
pub type Manifest = ipt_schema::Manifest<DatasetConfig>;

/// The generator of this build, as a manifest records it.
pub fn this_generator() -> GeneratorInfo {
    GeneratorInfo {
        name: "ipt-gen".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        git: env!("IPT_GIT_HASH").into(),
    }
}

/// Folder of the generator's state inside a dataset folder.
pub const STATE_DIR: &str = ".ipt-gen";

/// What is kept beside a finished shard: its files' entries and its label distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinishedShard {
    /// The manifest entries of its files, in row order (one unless the shard was over the
    /// byte bound).
    pub files: Vec<ShardEntry>,
    /// Its examples' distribution.
    pub stats: Distribution,
}

/// Whether `files` are the files of `unit`: named in order, their rows following each other
/// from the shard's first example to its last.
pub fn files_hold_shard(files: &[ShardEntry], unit: &Unit) -> bool {
    let mut next = unit.start;
    for (part, entry) in files.iter().enumerate() {
        if entry.path != unit.part_path(part, files.len()) || entry.first_index != next || entry.rows == 0 {
            return false;
        }
        next += entry.rows;
    }
    !files.is_empty() && next == unit.end
}

/// Rows of one file of a shard being committed: the file is the shard's temporary part file
/// of the same number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartRows {
    /// Index of the file's first example in the stream.
    pub first_index: u64,
    /// Rows in the file.
    pub rows: u64,
}

/// Split -> task -> distribution (`stats.json`).
pub type Stats = BTreeMap<Split, BTreeMap<Task, Distribution>>;

/// A dataset folder.
#[derive(Debug, Clone)]
pub struct DatasetDir {
    root: PathBuf,
}

/// SHA-256 of a file, hex.
pub fn sha256_of(path: &Path) -> Result<String> {
    let mut file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not valid", path.display()))
}

fn json_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value).context("cannot serialise JSON")?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    write_atomic(path, &json_bytes(value)?)
}

impl DatasetDir {
    /// The dataset folder at `root` (not created yet).
    pub fn new(root: &Path) -> DatasetDir {
        DatasetDir { root: root.to_path_buf() }
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn state(&self) -> PathBuf {
        self.root.join(STATE_DIR)
    }

    /// Takes worker `index` of `workers`'s lock; a second process with the same worker slot
    /// is refused. The lock lasts as long as the returned file is open.
    pub fn lock(&self, workers: u64, index: u64) -> Result<File> {
        std::fs::create_dir_all(self.state())
            .with_context(|| format!("cannot create folder {}", self.state().display()))?;
        let path = self.state().join(format!("lock-worker-{index}-of-{workers}"));
        let file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => bail!(
                "another ipt-gen process is already writing {} into {} (lock {}); wait for it or stop it",
                if workers == 1 { "this dataset".to_string() } else { format!("worker {index} of {workers}") },
                self.root.display(),
                path.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("cannot lock {}", path.display())),
        }
    }

    /// Records `config` as this folder's config, or checks it equals the recorded one. Of
    /// workers starting together on one folder, the first to record its config wins and the
    /// others are checked against it.
    pub fn claim(&self, config: &DatasetConfig) -> Result<()> {
        let path = self.state().join("config.json");
        if !path.exists() && write_new_atomic(&path, &json_bytes(config)?)? {
            return Ok(());
        }
        let existing: DatasetConfig = read_json(&path)?;
        if let Some(difference) = config.difference(&existing) {
            bail!(
                "{} holds a dataset made with another configuration ({difference} in this run vs the folder); \
                 use another --out, or delete the folder to start over",
                self.root.display()
            );
        }
        Ok(())
    }

    /// The config this folder was started with.
    pub fn config(&self) -> Result<DatasetConfig> {
        let path = self.state().join("config.json");
        if !path.exists() {
            bail!("{} is not a dataset folder made by ipt-gen (no {})", self.root.display(), path.display());
        }
        read_json(&path)
    }

    fn record_path(&self, unit: &Unit) -> PathBuf {
        self.state().join("shards").join(format!("{}-{}-{:05}.json", unit.stream.split, unit.stream.task, unit.shard))
    }

    /// Where file `part` of `unit` is written until the shard is complete (its folder
    /// created).
    pub fn part_temp(&self, unit: &Unit, part: usize) -> Result<PathBuf> {
        let path = self.root.join(unit.numbered_part_path(part));
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let temp = path.with_file_name(format!(".{name}.partial"));
        if let Some(parent) = temp.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create folder {}", parent.display()))?;
        }
        Ok(temp)
    }

    /// The finished shard of `unit`, if its files are complete (their sizes match the record).
    pub fn finished(&self, unit: &Unit) -> Option<FinishedShard> {
        let finished: FinishedShard = read_json(&self.record_path(unit)).ok()?;
        let complete = files_hold_shard(&finished.files, unit)
            && finished
                .files
                .iter()
                .all(|entry| std::fs::metadata(self.root.join(&entry.path)).is_ok_and(|m| m.len() == entry.bytes));
        complete.then_some(finished)
    }

    /// Removes what a killed run left of `unit`: partial files, and files of a shard without
    /// a record (every file of its folder named after the shard).
    pub fn discard_partial(&self, unit: &Unit) -> Result<()> {
        let path = self.root.join(unit.path());
        let Some(folder) = path.parent() else { return Ok(()) };
        let stem = path.file_stem().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let Ok(entries) = std::fs::read_dir(folder) else { return Ok(()) };
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", folder.display()))?;
            let name = entry.file_name().to_string_lossy().to_string();
            if name.trim_start_matches('.').starts_with(&stem) {
                let path = entry.path();
                std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
            }
        }
        Ok(())
    }

    /// Moves the complete temporary files of `unit` (`parts[k]` the rows of part file `k`)
    /// into place and records the shard as finished.
    pub fn commit(&self, unit: &Unit, parts: &[PartRows], stats: Distribution) -> Result<FinishedShard> {
        let mut files = Vec::new();
        let mut temps = Vec::new();
        for (part, rows) in parts.iter().enumerate() {
            let temp = self.part_temp(unit, part)?;
            let bytes = std::fs::metadata(&temp).with_context(|| format!("cannot read {}", temp.display()))?.len();
            files.push(ShardEntry {
                path: unit.part_path(part, parts.len()),
                split: unit.stream.split,
                task: unit.stream.task,
                shard: unit.shard,
                first_index: rows.first_index,
                rows: rows.rows,
                bytes,
                sha256: sha256_of(&temp)?,
            });
            temps.push(temp);
        }
        if !files_hold_shard(&files, unit) {
            bail!("{}: its files do not hold the shard's rows {}..{}", unit.path(), unit.start, unit.end);
        }
        for (temp, entry) in temps.iter().zip(&files) {
            let path = self.root.join(&entry.path);
            std::fs::rename(temp, &path)
                .with_context(|| format!("cannot rename {} to {}", temp.display(), path.display()))?;
        }
        let finished = FinishedShard { files, stats };
        write_json(&self.record_path(unit), &finished)?;
        Ok(finished)
    }

    /// Copies a finished shard (files and record) from another dataset folder into this one.
    pub fn adopt(&self, from: &DatasetDir, unit: &Unit) -> Result<()> {
        let finished = from.finished(unit).with_context(|| format!("{} is not finished", unit.path()))?;
        let mut parts = Vec::new();
        for (part, entry) in finished.files.iter().enumerate() {
            let source = from.root.join(&entry.path);
            let temp = self.part_temp(unit, part)?;
            std::fs::copy(&source, &temp)
                .with_context(|| format!("cannot copy {} to {}", source.display(), temp.display()))?;
            parts.push(PartRows { first_index: entry.first_index, rows: entry.rows });
        }
        let committed = self.commit(unit, &parts, finished.stats)?;
        if committed.files != finished.files {
            bail!("{}: the copy differs from the original (checksum)", from.root.join(unit.path()).display());
        }
        Ok(())
    }

    /// Writes `manifest.json`, `stats.json` and the dataset card once every shard of the
    /// config is finished; names the missing shards otherwise.
    pub fn finalize(&self, config: &DatasetConfig) -> Result<Manifest> {
        let mut shards = Vec::new();
        let mut missing = Vec::new();
        let mut finished_shards = 0;
        let mut stats = Stats::new();
        for unit in units(config) {
            match self.finished(&unit) {
                Some(finished) => {
                    stats
                        .entry(unit.stream.split)
                        .or_default()
                        .entry(unit.stream.task)
                        .or_default()
                        .merge(&finished.stats);
                    shards.extend(finished.files);
                    finished_shards += 1;
                }
                None => missing.push(unit.path()),
            }
        }
        if !missing.is_empty() {
            bail!(
                "{} of {} shards are not finished yet (first: {}); run the remaining workers (or re-run the command) first",
                missing.len(),
                missing.len() + finished_shards,
                missing[0]
            );
        }
        let manifest = Manifest {
            format: DATASET_FORMAT.into(),
            schema_version: ipt_schema::SCHEMA_VERSION,
            generator: this_generator(),
            config: config.clone(),
            examples: shards.iter().map(|s| s.rows).sum(),
            streams: streams(config)
                .iter()
                .map(|s| StreamEntry { split: s.split, task: s.task, count: s.count, seed: s.seed })
                .collect(),
            shards,
        };
        write_json(&self.root.join("stats.json"), &stats)?;
        // An audit made earlier of this folder (same config, so the same examples) stays.
        let audit: Option<AuditReport> = read_json(&self.root.join(AUDIT_FILE)).ok();
        let card = super::card::card(&manifest, &stats, audit.as_ref());
        write_atomic(&self.root.join("README.md"), card.as_bytes())?;
        write_json(&self.root.join(MANIFEST_FILE), &manifest)?;
        Ok(manifest)
    }

    /// Writes `audit.json` and the dataset card with the audit's table (the dataset must be
    /// finished: the card is made from `manifest.json` and `stats.json`).
    pub fn write_audit(&self, audit: &AuditReport) -> Result<()> {
        let manifest = self.manifest()?;
        let stats: Stats = read_json(&self.root.join("stats.json"))?;
        write_json(&self.root.join(AUDIT_FILE), audit)?;
        write_atomic(&self.root.join("README.md"), super::card::card(&manifest, &stats, Some(audit)).as_bytes())
    }

    /// Reads `manifest.json`.
    pub fn manifest(&self) -> Result<Manifest> {
        read_json(&self.root.join(MANIFEST_FILE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discarding_a_partial_shard_removes_its_files_and_no_other() {
        let root = tempfile::tempdir().unwrap();
        let dir = DatasetDir::new(root.path());
        let config = DatasetConfig { count: 40, shard_rows: 10, mix: [(Task::Pet, 1.0)].into(), ..Default::default() };
        let all = units(&config);
        let (unit, next) = (&all[1], &all[2]);
        let mut kept = vec![dir.part_temp(next, 0).unwrap(), root.path().join(next.path())];
        let mut removed = vec![dir.part_temp(unit, 0).unwrap(), dir.part_temp(unit, 1).unwrap()];
        removed.extend((0..2).map(|part| root.path().join(unit.part_path(part, 2))));
        removed.push(root.path().join(unit.path()));
        kept.push(root.path().join(all[0].path()));
        for path in kept.iter().chain(&removed) {
            std::fs::write(path, b"x").unwrap();
        }
        dir.discard_partial(unit).unwrap();
        assert!(removed.iter().all(|p| !p.exists()));
        assert!(kept.iter().all(|p| p.exists()));
    }

    #[test]
    fn workers_starting_together_agree_on_one_config() {
        for round in 0..10 {
            let root = tempfile::tempdir().unwrap();
            let dir = DatasetDir::new(root.path());
            let configs = [0, 0, 0, 1].map(|seed| DatasetConfig { seed, ..DatasetConfig::default() });
            let claimed: Vec<bool> = std::thread::scope(|scope| {
                let workers: Vec<_> = configs.iter().map(|c| scope.spawn(|| dir.claim(c).is_ok())).collect();
                workers.into_iter().map(|w| w.join().unwrap()).collect()
            });
            let recorded = dir.config().unwrap();
            let expected: Vec<bool> = configs.iter().map(|c| c.difference(&recorded).is_none()).collect();
            assert_eq!(claimed, expected, "round {round}: recorded seed {}", recorded.seed);
        }
    }
}
