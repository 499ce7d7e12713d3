//! Where every example of a dataset goes, decided from the config alone: the examples of
//! each (split, task) form a stream with its own seed, cut into shards of a fixed number of
//! rows. A shard is the unit of work, of resuming and of sharing work between machines, so
//! any worker can tell which examples are its own without talking to the others.

use super::config::DatasetConfig;
use crate::tasks::Task;

pub use ipt_schema::Split;

/// The examples of one task in one split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stream {
    /// The split.
    pub split: Split,
    /// The task.
    pub task: Task,
    /// Number of examples.
    pub count: u64,
    /// Seed of the stream's examples (scenes and sampling).
    pub seed: u64,
}

impl Stream {
    /// What messages call example `index` of the stream, e.g. "pet example 12".
    pub fn example_name(&self, index: u64) -> String {
        format!("{} example {index}", self.task)
    }
}

/// One shard: examples `start..end` of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    /// The stream.
    pub stream: Stream,
    /// Shard number within the stream.
    pub shard: u64,
    /// Shards in the stream.
    pub shards: u64,
    /// First example index.
    pub start: u64,
    /// One past the last example index.
    pub end: u64,
}

impl Unit {
    /// The shard's path inside the dataset folder, in the Hugging Face naming convention:
    /// `data/<split>/<task>-00000-of-00004.parquet`.
    pub fn path(&self) -> String {
        format!("data/{}/{}-{:05}-of-{:05}.parquet", self.stream.split, self.stream.task, self.shard, self.shards)
    }

    /// The path of file `part` of `parts`: a shard over the byte bound is written as several
    /// files, `data/<split>/<task>-00000-of-00004-part-000.parquet` and on (they sort in row
    /// order); a shard of one file has the plain [`path`](Self::path).
    pub fn part_path(&self, part: usize, parts: usize) -> String {
        if parts == 1 { self.path() } else { self.numbered_part_path(part) }
    }

    /// The path of file `part` of a shard of several files (`...-part-000.parquet`).
    pub fn numbered_part_path(&self, part: usize) -> String {
        format!("{}-part-{part:03}.parquet", self.path().trim_end_matches(".parquet"))
    }

    /// Number of examples.
    pub fn rows(&self) -> u64 {
        self.end - self.start
    }
}

/// SplitMix64: a well-mixed 64-bit value of `x`.
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Splits `total` into integer parts proportional to `weights` (largest remainder; ties to
/// the earlier part), so the parts always add up to `total`.
fn apportion(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    if sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut parts: Vec<u64> = exact.iter().map(|e| e.floor() as u64).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())).then(a.cmp(&b)));
    let missing = total - parts.iter().sum::<u64>();
    for &i in order.iter().take(missing as usize) {
        parts[i] += 1;
    }
    parts
}

/// Every stream of the dataset, in order: train, validation, test, benchmark; tasks in order.
pub fn streams(config: &DatasetConfig) -> Vec<Stream> {
    let tasks: Vec<Task> = config.mix.keys().copied().collect();
    let per_task = apportion(config.count, &tasks.iter().map(|t| config.mix[t]).collect::<Vec<_>>());
    let shares = [config.splits.train, config.splits.validation, config.splits.test];
    let mut streams = Vec::new();
    for (split_index, split) in Split::ALL.into_iter().enumerate() {
        let seed = mix(config.seed ^ mix(split_index as u64 + 1));
        for task in Task::ALL {
            let count = match (split, tasks.iter().position(|&t| t == task)) {
                (Split::Benchmark, _) => config.benchmark.get(&task).copied().unwrap_or(0),
                (_, Some(task_index)) => apportion(per_task[task_index], &shares)[split_index],
                (_, None) => 0,
            };
            if count > 0 {
                streams.push(Stream { split, task, count, seed });
            }
        }
    }
    streams
}

/// Every shard of the dataset, in order.
pub fn units(config: &DatasetConfig) -> Vec<Unit> {
    let rows = config.rows_per_shard();
    let mut units = Vec::new();
    for stream in streams(config) {
        let shards = stream.count.div_ceil(rows);
        for shard in 0..shards {
            let start = shard * rows;
            units.push(Unit { stream, shard, shards, start, end: (start + rows).min(stream.count) });
        }
    }
    units
}

/// The shards worker `index` of `workers` makes: every `workers`-th, starting at `index`.
pub fn worker_units(config: &DatasetConfig, workers: u64, index: u64) -> Vec<Unit> {
    units(config).into_iter().enumerate().filter(|(i, _)| *i as u64 % workers == index).map(|(_, u)| u).collect()
}

/// The template of example `index` of `stream`: a hash of the stream's seed, task and index
/// over `templates` (independent of the index cycles that balance sub-types and answers).
pub fn template_of<'a>(templates: &'a [String], stream: &Stream, index: u64) -> &'a str {
    let h = mix(stream.seed ^ mix((stream.task as u64) << 48 ^ index));
    &templates[(h % templates.len() as u64) as usize]
}

/// The record id of example `index` of `stream`: `<split>-<task>-<index>`.
pub fn example_id(stream: &Stream, index: u64) -> String {
    format!("{}-{}-{index:07}", stream.split, stream.task)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportioning_keeps_the_total() {
        assert_eq!(apportion(10, &[1.0, 1.0, 1.0]), vec![4, 3, 3]);
        assert_eq!(apportion(20000, &[0.9, 0.05, 0.05]), vec![18000, 1000, 1000]);
        assert_eq!(apportion(7, &[0.9, 0.05, 0.05]).iter().sum::<u64>(), 7);
    }

    #[test]
    fn workers_share_the_units_disjointly_and_completely() {
        let config = DatasetConfig { count: 1000, shard_rows: 50, ..DatasetConfig::default() };
        let all = units(&config);
        let mut joined: Vec<Unit> = (0..3).flat_map(|i| worker_units(&config, 3, i)).collect();
        joined.sort_by_key(|u| all.iter().position(|a| a == u).unwrap());
        assert_eq!(joined, all);
        let total: u64 = all.iter().map(Unit::rows).sum();
        assert_eq!(total, 1000 + 238 + 329 + 260);
    }

    #[test]
    fn the_files_of_a_shard_sort_in_row_order_before_the_next_shard() {
        let config = DatasetConfig { count: 30, shard_rows: 10, mix: [(Task::Pet, 1.0)].into(), ..Default::default() };
        let all = units(&config);
        let one = all[0].part_path(0, 1);
        assert_eq!(one, "data/train/pet-00000-of-00003.parquet");
        let parts: Vec<String> = (0..12).map(|k| all[0].part_path(k, 12)).collect();
        assert_eq!(parts[11], "data/train/pet-00000-of-00003-part-011.parquet");
        let mut names = parts.clone();
        names.push(all[1].part_path(0, 1));
        names.sort();
        assert_eq!(names[..12], parts[..]);
        assert!(names.iter().all(|n| n.starts_with("data/train/pet-") && n.ends_with(".parquet")));
    }

    #[test]
    fn splits_have_their_own_seeds() {
        let config = DatasetConfig::default();
        let seeds: std::collections::BTreeSet<u64> = streams(&config).iter().map(|s| s.seed).collect();
        assert_eq!(seeds.len(), 4);
    }
}
