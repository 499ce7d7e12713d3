//! What a dataset is made of: tasks and their mix, size, seed, resolution, splits, the
//! benchmark split, templates and shard size. Read from `--config run.toml` and the command
//! line (flags win); stored in the manifest, so a resumed or validated run uses the same.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};

use ipt_scenes::{AssetSources, Looks};

use crate::tasks::Task;

/// A dataset's full configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatasetConfig {
    /// Relative share of each task in the train/validation/test examples.
    pub mix: BTreeMap<Task, f64>,
    /// Train + validation + test examples (the benchmark split comes on top).
    pub count: u64,
    /// Seed of everything random.
    pub seed: u64,
    /// Width and height of first-person images, pixels (maps are this wide).
    pub resolution: u32,
    /// Shares of the train, validation and test splits.
    pub splits: SplitShares,
    /// Examples per task in the strict `benchmark` split.
    pub benchmark: BTreeMap<Task, u64>,
    /// Templates to draw scenes from; empty: every loaded template.
    pub templates: Vec<String>,
    /// Extra template folders (as `--templates`).
    pub template_dirs: Vec<PathBuf>,
    /// Extra catalog folders (as `--catalog`).
    pub catalog_dirs: Vec<PathBuf>,
    /// Primitive objects, mesh models, or both (as `--assets`); datasets made before meshes
    /// existed read as primitives (and primitive datasets do not write it, so their manifests
    /// stay as they were).
    #[serde(skip_serializing_if = "is_primitives")]
    pub assets: Looks,
    /// Examples per shard; 0: chosen from the resolution (about 100 MB per shard).
    pub shard_rows: u64,
    /// Largest size of a shard file, bytes; a shard that would be larger is written as
    /// several files (`-part-000` and on). 0: no bound.
    pub shard_max_bytes: u64,
    /// Rows per Parquet row group (bounds the memory of a reader and of the writer).
    pub row_group_rows: u64,
    /// Also store instance-id images.
    pub with_ids: bool,
    /// Also store depth images.
    pub with_depth: bool,
}

/// Shares of the three scene-disjoint splits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitShares {
    /// Training share.
    pub train: f64,
    /// Validation share.
    pub validation: f64,
    /// Test share.
    pub test: f64,
}

impl Default for DatasetConfig {
    fn default() -> DatasetConfig {
        DatasetConfig {
            mix: Task::ALL.into_iter().map(|t| (t, 1.0)).collect(),
            count: 1000,
            seed: 0,
            resolution: 512,
            splits: SplitShares { train: 0.9, validation: 0.05, test: 0.05 },
            benchmark: Self::SPEC_BENCHMARK.into_iter().collect(),
            templates: Vec::new(),
            template_dirs: Vec::new(),
            catalog_dirs: Vec::new(),
            assets: Looks::Primitives,
            shard_rows: 0,
            shard_max_bytes: Self::DEFAULT_SHARD_MAX_BYTES,
            row_group_rows: 32,
            with_ids: false,
            with_depth: false,
        }
    }
}

fn is_primitives(looks: &Looks) -> bool {
    *looks == Looks::Primitives
}

impl DatasetConfig {
    /// Where the run's templates and objects come from.
    pub fn asset_sources(&self) -> AssetSources {
        AssetSources {
            catalog_dirs: self.catalog_dirs.clone(),
            template_dirs: self.template_dirs.clone(),
            looks: self.assets,
        }
    }

    /// The default largest shard file: 500 MB, as the Hugging Face Hub's upload tools use.
    pub const DEFAULT_SHARD_MAX_BYTES: u64 = 500_000_000;

    /// The smallest byte bound accepted: room for a file's footer and a few small rows.
    pub const MIN_SHARD_MAX_BYTES: u64 = 256 * 1024;

    /// The benchmark sizes of the spec (the paper's human-verified sets).
    pub const SPEC_BENCHMARK: [(Task, u64); 3] = [(Task::Pet, 238), (Task::Pt, 329), (Task::Mvc, 260)];

    /// Reads a TOML config file; errors name the file and the field.
    pub fn read(path: &Path) -> Result<DatasetConfig> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let deserializer = toml::Deserializer::parse(&text).with_context(|| format!("{}", path.display()))?;
        serde_path_to_error::deserialize(deserializer)
            .map_err(|e| anyhow::anyhow!("{}: field '{}': {}", path.display(), e.path(), e.inner().message()))
    }

    /// Checks the values; errors name the field.
    pub fn check(&self) -> Result<()> {
        ensure!(!self.mix.is_empty(), "mix: no task selected");
        ensure!(self.mix.values().all(|w| w.is_finite() && *w > 0.0), "mix: every share must be positive");
        ensure!((64..=4096).contains(&self.resolution), "resolution: must be between 64 and 4096 pixels");
        let shares = [self.splits.train, self.splits.validation, self.splits.test];
        ensure!(shares.iter().all(|s| s.is_finite() && *s >= 0.0), "splits: shares must be >= 0");
        ensure!(shares.iter().sum::<f64>() > 0.0, "splits: shares must not all be 0");
        ensure!(self.row_group_rows > 0, "row_group_rows: must be at least 1");
        ensure!(
            self.shard_max_bytes == 0 || self.shard_max_bytes >= Self::MIN_SHARD_MAX_BYTES,
            "shard_max_bytes: must be 0 (no bound) or at least {} bytes (256KiB)",
            Self::MIN_SHARD_MAX_BYTES
        );
        if self.count == 0 && self.benchmark.values().all(|&n| n == 0) {
            bail!("count: the dataset would be empty");
        }
        Ok(())
    }

    /// Examples per shard: `shard_rows`, or about 100 MB of PNGs (400 rows at 256 px, 100 at
    /// 512 px).
    pub fn rows_per_shard(&self) -> u64 {
        if self.shard_rows > 0 {
            return self.shard_rows;
        }
        let scale = (256.0 / self.resolution as f64).powi(2);
        ((400.0 * scale).round() as u64).clamp(16, 4000)
    }

    /// The first field where `other` differs, as "field: this vs other" (for a clear refusal
    /// to resume a dataset with another config).
    pub fn difference(&self, other: &DatasetConfig) -> Option<String> {
        let (a, b) = (serde_json::to_value(self).ok()?, serde_json::to_value(other).ok()?);
        let (a, b) = (a.as_object()?, b.as_object()?);
        a.iter().find(|(k, v)| b.get(*k) != Some(*v)).map(|(k, v)| format!("{k}: {v} vs {}", b[k]))
    }
}

/// A size in bytes from text such as `500MB`, `2GiB`, `256KiB` or `1000000` (decimal units
/// KB, MB, GB, TB; binary units KiB, MiB, GiB, TiB; case does not matter).
pub fn parse_size(text: &str) -> Result<u64> {
    let trimmed = text.trim();
    let digits = trimmed.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits);
    let number: f64 = number.parse().map_err(|_| anyhow::anyhow!("'{text}' is not a size (e.g. 500MB, 2GiB)"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        other => bail!("'{text}': unknown unit '{other}' (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)"),
    };
    Ok((number * scale as f64).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_with_their_units() {
        assert_eq!(parse_size("500MB").unwrap(), 500_000_000);
        assert_eq!(parse_size("2 GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("1.5kb").unwrap(), 1500);
        assert_eq!(parse_size("123").unwrap(), 123);
        assert!(parse_size("12 parsecs").unwrap_err().to_string().contains("parsecs"));
        assert!(parse_size("MB").is_err());
    }

    #[test]
    fn a_config_file_error_names_the_file_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.toml");
        std::fs::write(&path, "count = 10\n[splits]\ntrain = \"most\"\nvalidation = 0.1\ntest = 0.1\n").unwrap();
        let error = DatasetConfig::read(&path).unwrap_err().to_string();
        assert!(error.contains("run.toml") && error.contains("splits.train"), "{error}");
    }

    #[test]
    fn a_config_file_reads_its_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.toml");
        std::fs::write(&path, "count = 10\nresolution = 256\n[mix]\npet = 2.0\nmvc = 1.0\n[benchmark]\npt = 5\n")
            .unwrap();
        let config = DatasetConfig::read(&path).unwrap();
        assert_eq!(config.count, 10);
        assert_eq!(config.mix, BTreeMap::from([(Task::Pet, 2.0), (Task::Mvc, 1.0)]));
        assert_eq!(config.benchmark, BTreeMap::from([(Task::Pt, 5)]));
        assert_eq!(config.rows_per_shard(), 400);
        config.check().unwrap();
    }
}
