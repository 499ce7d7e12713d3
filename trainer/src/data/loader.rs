//! The background loader: a thread of its own reads shards, decodes and resizes images, and
//! sends batches of examples through a bounded queue, so training never waits on Parquet or
//! PNG decoding unless the queue runs dry (the wait is measured and reported).
//!
//! Order is deterministic: each epoch visits the shards in an order drawn from (seed, epoch)
//! and shuffles rows within a buffer of several shards' batches, so the same seed gives the
//! same batches on any machine.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::examples::{Example, StoredExample, read_shard};

/// How the loader reads.
#[derive(Debug, Clone)]
pub struct LoaderConfig {
    /// The shard files, in layout order.
    pub shards: Vec<PathBuf>,
    /// Side of the resized images, pixels.
    pub image_size: u32,
    /// Examples per batch.
    pub batch_size: usize,
    /// Seed of the shard order and the shuffle.
    pub seed: u64,
    /// Examples shuffled together (a larger buffer mixes more shards).
    pub shuffle_buffer: usize,
    /// Batches that may wait in the queue.
    pub queue: usize,
    /// Passes over the data; `None`: until dropped.
    pub epochs: Option<u64>,
    /// Batches to pass over first without decoding their images: a resumed run skips what
    /// it has already trained on and sees the batches an uninterrupted run would.
    pub skip: u64,
}

/// Batches from the background thread.
pub struct Loader {
    batches: Option<Receiver<Result<Vec<Example>>>>,
    thread: Option<JoinHandle<()>>,
    waited: Duration,
}

impl Loader {
    /// Starts the thread.
    pub fn spawn(config: LoaderConfig) -> Loader {
        let (sender, receiver) = sync_channel(config.queue.max(1));
        let thread = std::thread::Builder::new()
            .name("ipt-loader".into())
            .spawn(move || produce(&config, &sender))
            .expect("the loader thread starts");
        Loader { batches: Some(receiver), thread: Some(thread), waited: Duration::ZERO }
    }

    /// The next batch (`None` after the last epoch); an error names the shard and example.
    pub fn next_batch(&mut self) -> Option<Result<Vec<Example>>> {
        let start = Instant::now();
        let batch = self.batches.as_ref()?.recv().ok();
        self.waited += start.elapsed();
        batch
    }

    /// Time spent waiting for batches since the last call (how much the loader stalled
    /// training).
    pub fn take_wait(&mut self) -> Duration {
        std::mem::take(&mut self.waited)
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        // Closing the queue makes the thread's next send fail, so it stops.
        self.batches.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread's body: epochs of shuffled batches until done or the receiver is gone.
fn produce(config: &LoaderConfig, sender: &SyncSender<Result<Vec<Example>>>) {
    if config.shards.is_empty() {
        let _ = sender.send(Err(anyhow!("no shards to read")));
        return;
    }
    let mut out = Outlet { sender, size: config.image_size, batch_size: config.batch_size.max(1), skip: config.skip };
    let buffer_size = config.shuffle_buffer.max(out.batch_size);
    let mut epoch = 0;
    while config.epochs.is_none_or(|epochs| epoch < epochs) {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut order = config.shards.clone();
        order.shuffle(&mut rng);
        let mut buffer: Vec<StoredExample> = Vec::new();
        for path in &order {
            let batches = match read_shard(path) {
                Ok(batches) => batches,
                Err(error) => return out.fail(error),
            };
            for batch in batches {
                match batch {
                    Ok(examples) => buffer.extend(examples),
                    Err(error) => return out.fail(error),
                }
                // Half the buffer stays behind to mix with the next rows.
                if buffer.len() >= buffer_size && !out.send_batches(&mut buffer, buffer_size / 2, &mut rng) {
                    return;
                }
            }
        }
        // The epoch's last examples, the final batch possibly short.
        if !out.send_batches(&mut buffer, 0, &mut rng) {
            return;
        }
        epoch += 1;
    }
}

/// The sending end: decodes the batches it sends and passes over the ones to skip.
struct Outlet<'a> {
    sender: &'a SyncSender<Result<Vec<Example>>>,
    size: u32,
    batch_size: usize,
    skip: u64,
}

impl Outlet<'_> {
    fn fail(&self, error: anyhow::Error) {
        let _ = self.sender.send(Err(error));
    }

    /// Shuffles `buffer` and sends full batches while more than `keep` examples remain (with
    /// `keep` 0: every example, the last batch possibly short). False once the receiver is
    /// gone or after an error was sent.
    fn send_batches(&mut self, buffer: &mut Vec<StoredExample>, keep: usize, rng: &mut ChaCha8Rng) -> bool {
        buffer.shuffle(rng);
        while buffer.len() > keep && (keep == 0 || buffer.len() >= self.batch_size) {
            let batch = buffer.split_off(buffer.len() - self.batch_size.min(buffer.len()));
            if self.skip > 0 {
                self.skip -= 1;
                continue;
            }
            let decoded = batch.iter().map(|stored| stored.decode(self.size)).collect::<Result<Vec<_>>>();
            let failed = decoded.is_err();
            if self.sender.send(decoded).is_err() || failed {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::examples::shard_paths;
    use crate::data::testing;
    use ipt_schema::Split;

    fn config(shards: Vec<PathBuf>, epochs: Option<u64>) -> LoaderConfig {
        LoaderConfig { shards, image_size: 8, batch_size: 4, seed: 5, shuffle_buffer: 8, queue: 2, epochs, skip: 0 }
    }

    fn ids(loader: &mut Loader) -> Vec<Vec<String>> {
        std::iter::from_fn(|| loader.next_batch()).map(|b| b.unwrap().into_iter().map(|e| e.id).collect()).collect()
    }

    #[test]
    fn every_example_comes_once_per_epoch_in_a_seeded_order() {
        let dir = tempfile::tempdir().unwrap();
        testing::dataset(dir.path(), &[Split::Train, Split::Test], 10);
        let shards =
            [shard_paths(dir.path(), Split::Train, None).unwrap(), shard_paths(dir.path(), Split::Test, None).unwrap()]
                .concat();
        let first = ids(&mut Loader::spawn(config(shards.clone(), Some(2))));
        let again = ids(&mut Loader::spawn(config(shards.clone(), Some(2))));
        assert_eq!(first, again, "same seed, same batches");
        let sizes: Vec<usize> = first.iter().map(Vec::len).collect();
        assert_eq!(sizes.iter().sum::<usize>(), 40);
        assert!(sizes.iter().all(|&n| n <= 4));
        let mut epoch: Vec<String> = first.concat()[..20].to_vec();
        epoch.sort();
        epoch.dedup();
        assert_eq!(epoch.len(), 20, "one epoch holds every example once");
        assert_ne!(first.concat()[..20], first.concat()[20..], "epochs are shuffled differently");
        let skipped = ids(&mut Loader::spawn(LoaderConfig { skip: 3, ..config(shards, Some(2)) }));
        assert_eq!(skipped, first[3..], "skipping resumes the same order");
    }

    #[test]
    fn an_endless_loader_stops_when_dropped_and_errors_name_the_shard() {
        let dir = tempfile::tempdir().unwrap();
        testing::dataset(dir.path(), &[Split::Train], 6);
        let shards = shard_paths(dir.path(), Split::Train, None).unwrap();
        let mut endless = Loader::spawn(config(shards.clone(), None));
        for _ in 0..10 {
            assert!(endless.next_batch().unwrap().is_ok());
        }
        drop(endless);
        std::fs::write(&shards[0], b"not parquet").unwrap();
        let error = Loader::spawn(config(shards, None)).next_batch().unwrap().unwrap_err().to_string();
        assert!(error.contains("pet-00000-of-00001.parquet"), "{error}");
    }
}
