//! The rendering stage of the pipeline: one or more renderers side by side. On a machine
//! without a GPU one renderer leaves part of the cores idle (Bevy's frame preparation and the
//! rasteriser's threads wait for each other), and a second one fills that time
//! (docs/benchmarks.md); on a GPU one is enough.
//!
//! The first renderer runs on the calling thread, the others each on a thread of its own for
//! their whole life (a Bevy app stays on the thread that made it). Examples are numbered in
//! the order they come and dealt out in turn: renderer `k` of `n` draws examples `k`, `k + n`,
//! and so on, so the deal does not depend on timing (and an example's images do not depend
//! on the renderer that draws it; docs/rendering.md). The consumer puts the examples back in
//! order.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

use anyhow::{Context, Result, anyhow};

use super::layout::Unit;
use crate::render::{Outputs, Renderer};
use crate::tasks::driver::PlannedExample;
use crate::tasks::render::{RenderedExample, render_plan};

/// An example to render: where it belongs and its scene and plan.
pub struct Job {
    /// The shard it belongs to.
    pub unit: Unit,
    /// Its index in the unit's stream.
    pub index: u64,
    /// Its scene and plan.
    pub planned: PlannedExample,
}

/// A rendered example, numbered in the order the examples came (from 0).
pub struct Done {
    /// Its place in the order the examples came.
    pub seq: usize,
    /// The example.
    pub job: Job,
    /// Its images.
    pub rendered: RenderedExample,
}

/// Jobs dealt to one renderer, numbered.
type Dealt = Receiver<(usize, Result<Job>)>;

/// Jobs a renderer may hold before it starts them; the deal waits for a renderer whose
/// queue is full.
const DEALT_AHEAD: usize = 4;

/// What a helper renderer is asked to do: render `jobs` until they end.
struct Work {
    jobs: Dealt,
    outputs: Outputs,
    stop: Arc<AtomicBool>,
    done: SyncSender<Done>,
    report: Sender<Result<()>>,
}

/// A renderer on a thread of its own.
struct Helper {
    work: Sender<Work>,
    thread: JoinHandle<()>,
}

/// The renderers of a run.
pub struct Renderers<R> {
    first: R,
    helpers: Vec<Helper>,
}

impl<R: Renderer> Renderers<R> {
    /// `first` (made by the caller, used on the calling thread: renderer 0) and `helpers`
    /// more, renderer `k` made by `make(k)` on a thread of its own; fails if making any of
    /// them fails.
    pub fn start<F>(first: R, helpers: usize, make: F) -> Result<Renderers<R>>
    where
        F: Fn(usize) -> Result<R> + Clone + Send + 'static,
    {
        let starting: Vec<_> = (1..=helpers)
            .map(|number| {
                let make = make.clone();
                let (ready_tx, ready_rx) = channel::<Result<()>>();
                let (work, work_rx) = channel::<Work>();
                let thread = std::thread::spawn(move || {
                    let mut renderer = match make(number) {
                        Ok(renderer) => renderer,
                        Err(error) => {
                            ready_tx.send(Err(error)).ok();
                            return;
                        }
                    };
                    ready_tx.send(Ok(())).ok();
                    for Work { jobs, outputs, stop, done, report } in work_rx {
                        report.send(render_jobs(&mut renderer, jobs, &stop, outputs, done)).ok();
                    }
                });
                (Helper { work, thread }, ready_rx)
            })
            .collect();
        let mut renderers = Renderers { first, helpers: Vec::new() };
        for (helper, ready) in starting {
            let made = ready.recv().map_err(|_| anyhow!("a renderer's thread panicked while starting"));
            renderers.helpers.push(helper);
            made.and_then(|made| made).context("cannot start another renderer")?;
        }
        Ok(renderers)
    }

    /// The renderer on the calling thread.
    pub fn first(&self) -> &R {
        &self.first
    }

    /// How many renderers there are.
    pub fn count(&self) -> usize {
        1 + self.helpers.len()
    }

    /// Renders `jobs` with every renderer, dealt out in turn, and sends each to `done` as
    /// soon as it is rendered (so not always in order; see [`Done::seq`]). Stops every
    /// renderer at the first error, which names the example; stops quietly when `done` is
    /// closed.
    pub fn render(
        &mut self,
        jobs: impl Iterator<Item = Result<Job>> + Send,
        outputs: Outputs,
        done: SyncSender<Done>,
    ) -> Result<()> {
        let (mut deal, mut dealt): (Vec<_>, Vec<_>) = (0..self.count()).map(|_| sync_channel(DEALT_AHEAD)).unzip();
        let stop = Arc::new(AtomicBool::new(false));
        let (report, reports) = channel();
        let first_jobs = dealt.remove(0);
        for (helper, jobs) in self.helpers.iter().zip(dealt) {
            let work = Work { jobs, outputs, stop: stop.clone(), done: done.clone(), report: report.clone() };
            helper.work.send(work).map_err(|_| anyhow!("a renderer's thread has stopped"))?;
        }
        drop(report);
        std::thread::scope(|scope| {
            // Deals the jobs; ends when they do or when a renderer has stopped.
            scope.spawn(move || {
                for (seq, job) in jobs.enumerate() {
                    let renderers = deal.len();
                    if deal[seq % renderers].send((seq, job)).is_err() {
                        break;
                    }
                }
                deal.clear();
            });
            let mut result = render_jobs(&mut self.first, first_jobs, &stop, outputs, done);
            for _ in &self.helpers {
                let outcome = reports.recv().map_err(|_| anyhow!("a renderer's thread panicked"));
                result = result.and(outcome.and_then(|outcome| outcome));
            }
            result
        })
    }
}

impl<R> Drop for Renderers<R> {
    fn drop(&mut self) {
        for Helper { work, thread } in self.helpers.drain(..) {
            drop(work);
            thread.join().ok();
        }
    }
}

/// One renderer's loop: renders its jobs until there are none, `stop` is set, or `done` is
/// closed; sets `stop` on an error.
fn render_jobs<R: Renderer>(
    renderer: &mut R,
    jobs: Dealt,
    stop: &AtomicBool,
    outputs: Outputs,
    done: SyncSender<Done>,
) -> Result<()> {
    for (seq, job) in jobs {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let rendered = job.and_then(|job| {
            let example = &job.planned;
            let rendered = renderer
                .load_scene(&example.scene)
                .and_then(|_| render_plan(renderer, &example.plan, outputs))
                .with_context(|| job.unit.stream.example_name(job.index))?;
            Ok(Done { seq, job, rendered })
        });
        match rendered {
            Ok(item) => {
                if done.send(item).is_err() {
                    break;
                }
            }
            Err(error) => {
                stop.store(true, Ordering::Relaxed);
                return Err(error);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use ipt_scenes::{Assets, Scene};

    use super::*;
    use crate::dataset::layout::{Split, Stream};
    use crate::render::{RenderedView, ViewRequest};
    use crate::tasks::driver::Planner;
    use crate::tasks::{Task, TaskSettings};

    /// Which renderer loaded which scene (by seed), in order.
    type Log = Arc<Mutex<Vec<(usize, u64)>>>;

    /// A renderer that draws a plain gradient and logs the scenes it loads; renderer 0 is
    /// slow, so that a deal by speed would give the others more examples.
    struct Plain {
        number: usize,
        log: Log,
    }

    impl Renderer for Plain {
        fn load_scene(&mut self, scene: &Scene) -> Result<()> {
            self.log.lock().unwrap().push((self.number, scene.seed));
            std::thread::sleep(Duration::from_millis(if self.number == 0 { 40 } else { 2 }));
            Ok(())
        }

        fn render(&mut self, views: &[ViewRequest]) -> Result<Vec<RenderedView>> {
            Ok(views
                .iter()
                .map(|view| RenderedView {
                    camera: view.camera,
                    rgb: Some(image::RgbImage::from_fn(view.camera.width, view.camera.height, |x, _| {
                        image::Rgb([x as u8, 0, 0])
                    })),
                    ids: None,
                    depth: None,
                })
                .collect())
        }

        fn adapter(&self) -> &str {
            "plain"
        }
    }

    fn jobs(count: u64) -> Vec<Job> {
        let assets = Assets::builtin().unwrap();
        let planner = Planner::new(&assets, TaskSettings { resolution: 32, strict: false });
        let stream = Stream { split: Split::Train, task: Task::Pet, count, seed: 1 };
        let unit = Unit { stream, shard: 0, shards: 1, start: 0, end: count };
        (0..count)
            .map(|index| Job { unit, index, planned: planner.plan("bedroom", Task::Pet, 1, index).unwrap() })
            .collect()
    }

    fn plain_renderers(helpers: usize, log: &Log) -> Renderers<Plain> {
        let helper_log = log.clone();
        let make = move |number| Ok(Plain { number, log: helper_log.clone() });
        Renderers::start(Plain { number: 0, log: log.clone() }, helpers, make).unwrap()
    }

    #[test]
    fn examples_are_dealt_in_turn_whatever_the_speed_and_all_come_back() {
        let jobs = jobs(9);
        let seeds: Vec<u64> = jobs.iter().map(|job| job.planned.scene.seed).collect();
        let log = Log::default();
        let mut renderers = plain_renderers(2, &log);
        assert_eq!(renderers.count(), 3);
        let (done, arrivals) = sync_channel(16);
        renderers.render(jobs.into_iter().map(Ok), Outputs::RGB, done).unwrap();
        let mut arrived: Vec<(usize, u64)> = arrivals.into_iter().map(|d| (d.seq, d.job.index)).collect();
        arrived.sort();
        assert_eq!(arrived, (0..9).map(|i| (i, i as u64)).collect::<Vec<_>>());
        for number in 0..3 {
            let loaded: Vec<u64> = log.lock().unwrap().iter().filter(|(n, _)| *n == number).map(|(_, s)| *s).collect();
            let dealt: Vec<u64> = seeds.iter().skip(number).step_by(3).copied().collect();
            assert_eq!(loaded, dealt, "renderer {number}");
        }
    }

    #[test]
    fn the_first_error_stops_every_renderer_and_comes_back() {
        let log = Log::default();
        let mut renderers = plain_renderers(1, &log);
        let jobs = jobs(3).into_iter().map(Ok).chain((0..50).map(|i| Err(anyhow!("planning failed at {i}"))));
        let (done, arrivals) = sync_channel(64);
        let error = renderers.render(jobs, Outputs::RGB, done).unwrap_err();
        assert!(error.to_string().starts_with("planning failed at"), "{error:#}");
        assert!(arrivals.into_iter().count() <= 3);
        // The renderers still work afterwards.
        let (done, arrivals) = sync_channel(16);
        renderers.render(self::jobs(2).into_iter().map(Ok), Outputs::RGB, done).unwrap();
        assert_eq!(arrivals.into_iter().count(), 2);
    }
}
