//! CPU time of the pipeline's own stages (planning, making records, writing shards), summed
//! over the threads that ran them. On a machine without a GPU these stages share the cores
//! with the rasteriser, so their CPU per example is what the pipeline costs beyond rendering.

use std::sync::atomic::{AtomicU64, Ordering};

/// CPU time of the calling thread, seconds (0 where the clock is unavailable).
pub fn thread_cpu_seconds() -> f64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the valid timespec it is given.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) } != 0 {
        return 0.0;
    }
    now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
}

/// CPU time summed over the threads that ran some work.
#[derive(Debug, Default)]
pub struct CpuTally {
    nanoseconds: AtomicU64,
}

impl CpuTally {
    /// Runs `work` on the calling thread and adds the CPU time it took (`work` must not hand
    /// parts of itself to other threads: their time would not be counted).
    pub fn time<T>(&self, work: impl FnOnce() -> T) -> T {
        let start = thread_cpu_seconds();
        let result = work();
        let spent = (thread_cpu_seconds() - start).max(0.0);
        self.nanoseconds.fetch_add((spent * 1e9) as u64, Ordering::Relaxed);
        result
    }

    /// The CPU time counted so far, seconds.
    pub fn seconds(&self) -> f64 {
        self.nanoseconds.load(Ordering::Relaxed) as f64 * 1e-9
    }
}

/// The CPU time of the pipeline's stages besides rendering.
#[derive(Debug, Default)]
pub struct StageCpu {
    /// Building scenes and sampling examples.
    pub planning: CpuTally,
    /// Making records: labels, metadata and PNG encoding.
    pub records: CpuTally,
    /// Writing shard files and committing shards.
    pub writing: CpuTally,
}

impl StageCpu {
    /// A line of CPU milliseconds per example, out of `total_seconds` of the process's CPU
    /// time over `examples` examples (the rest is rendering and the queues between stages).
    pub fn per_example(&self, total_seconds: f64, examples: u64) -> String {
        let ms = |seconds: f64| 1000.0 * seconds / examples.max(1) as f64;
        let stages = self.planning.seconds() + self.records.seconds() + self.writing.seconds();
        format!(
            "planning {:.1} ms, records (labels, PNG) {:.1} ms, writing {:.1} ms, rendering and the rest {:.1} ms",
            ms(self.planning.seconds()),
            ms(self.records.seconds()),
            ms(self.writing.seconds()),
            ms((total_seconds - stages).max(0.0)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Burns CPU on the calling thread for about `seconds` of its own CPU time.
    fn spin(seconds: f64) -> u64 {
        let start = thread_cpu_seconds();
        let mut x = 1u64;
        while thread_cpu_seconds() - start < seconds {
            for _ in 0..10_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            }
        }
        x
    }

    #[test]
    fn counts_cpu_time_not_sleep_over_threads() {
        let tally = CpuTally::default();
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    tally.time(|| {
                        std::thread::sleep(std::time::Duration::from_millis(100));
                        spin(0.05)
                    })
                });
            }
        });
        // Two threads of 50 ms CPU each; their 100 ms sleeps are not CPU time.
        assert!((0.1..0.15).contains(&tally.seconds()), "{} s", tally.seconds());
    }
}
