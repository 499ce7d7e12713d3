//! The generation pipeline of one worker: a planning thread (examples planned in parallel on
//! a rayon pool, in order) feeds the renderers (the calling thread's and any more beside it,
//! see `rendering`), which feed a writing thread (PNG encoding on the same pool, then
//! Parquet, in the planned order). Bounded queues between the
//! stages keep memory flat and rendering busy; the planning, writing and pool threads run at
//! idle priority, so they use only the CPU the renderer leaves. Each shard is written to
//! temporary names and moved into place only when complete.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use anyhow::{Context, Result, anyhow};
use indicatif::ProgressBar;
use ipt_scenes::Assets;
use rayon::ThreadPool;
use rayon::prelude::*;

use super::config::DatasetConfig;
use super::layout::{Split, Stream, Unit, template_of};
use super::record::{Extras, record};
use super::rendering::{Done, Job, Renderers};
use super::shard_files::ShardFiles;
use super::stage_cpu::StageCpu;
use super::stats::Distribution;
use super::store::DatasetDir;
use crate::render::{Outputs, Renderer};
use crate::tasks::driver::{PlannedExample, Planner};
use crate::tasks::{Task, TaskSettings};

/// Plans planned ahead of rendering.
const PLAN_AHEAD: usize = 16;
/// Examples planned together on the rayon pool.
const PLAN_BATCH: usize = 4;
/// Rendered examples waiting for encoding.
const ENCODE_AHEAD: usize = 8;

/// Plans the examples of a dataset (one planner per rule set: the benchmark split is strict).
pub struct Generator<'a> {
    config: &'a DatasetConfig,
    templates: Vec<String>,
    planner: Planner<'a>,
    strict_planner: Planner<'a>,
}

impl<'a> Generator<'a> {
    /// A generator for `config` over `assets`; checks that its templates exist.
    pub fn new(assets: &'a Assets, config: &'a DatasetConfig) -> Result<Generator<'a>> {
        let templates = if config.templates.is_empty() { assets.template_names() } else { config.templates.clone() };
        for name in &templates {
            assets.template(name).map_err(|e| anyhow!("templates: {e}"))?;
        }
        let settings = |strict| TaskSettings { resolution: config.resolution, strict };
        Ok(Generator {
            config,
            planner: Planner::with_templates(assets, settings(false), templates.clone()),
            strict_planner: Planner::with_templates(assets, settings(true), templates.clone()),
            templates,
        })
    }

    fn planner(&self, split: Split) -> &Planner<'a> {
        if split == Split::Benchmark { &self.strict_planner } else { &self.planner }
    }

    /// Calibrates what `units` need now (with a spinner) rather than in the middle of a run.
    pub fn prepare(&self, units: &[Unit]) {
        for split in [Split::Train, Split::Benchmark] {
            let strict = split == Split::Benchmark;
            let tasks: Vec<Task> = units
                .iter()
                .filter(|u| (u.stream.split == Split::Benchmark) == strict)
                .map(|u| u.stream.task)
                .collect();
            self.planner(split).prepare(&tasks);
        }
    }

    /// Plans example `index` of `stream`. Multiview Counting examples choose their
    /// template by the category they ask about (see `Planner::mvc_template`); the others
    /// draw it from the stream and index.
    pub fn plan(&self, stream: &Stream, index: u64) -> Result<PlannedExample> {
        let planner = self.planner(stream.split);
        let chosen = if stream.task == Task::Mvc { planner.mvc_template(stream.seed, index) } else { None };
        let template = chosen.unwrap_or_else(|| template_of(&self.templates, stream, index));
        planner.plan(template, stream.task, stream.seed, index)
    }

    /// The images a record stores.
    pub fn extras(&self) -> Extras {
        Extras { ids: self.config.with_ids, depth: self.config.with_depth }
    }
}

/// Plans the examples of `units` in order (batches in parallel on `pool`) and sends them on.
fn plan_units(
    generator: &Generator<'_>,
    units: &[Unit],
    pool: &ThreadPool,
    cpu: &StageCpu,
    plans: SyncSender<(Unit, u64, Result<PlannedExample>)>,
) {
    for unit in units {
        let indices: Vec<u64> = (unit.start..unit.end).collect();
        for batch in indices.chunks(PLAN_BATCH) {
            let plan = |&i: &u64| (i, cpu.planning.time(|| generator.plan(&unit.stream, i)));
            let planned: Vec<_> = pool.install(|| batch.par_iter().map(plan).collect());
            for (index, plan) in planned {
                if plans.send((*unit, index, plan)).is_err() {
                    return;
                }
            }
        }
    }
}

/// Lets the calling thread run only when a core would otherwise be idle (Linux
/// `SCHED_IDLE`), so planning and encoding fill the gaps the renderer leaves instead of
/// taking its cores.
fn yield_to_rendering() {
    #[cfg(target_os = "linux")]
    // SAFETY: sched_setscheduler on the calling thread (pid 0) with a valid parameter.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
    }
}

/// Generates `units` into `dir` with `renderers`; returns the CPU time of the stages besides
/// rendering. Progress goes to `progress` (one step per example, message: examples per task).
pub fn generate<R: Renderer>(
    generator: &Generator<'_>,
    dir: &DatasetDir,
    units: &[Unit],
    renderers: &mut Renderers<R>,
    progress: &ProgressBar,
) -> Result<StageCpu> {
    let outputs = Outputs { rgb: true, ids: generator.config.with_ids, depth: generator.config.with_depth };
    let background = rayon::ThreadPoolBuilder::new()
        .start_handler(|_| yield_to_rendering())
        .build()
        .context("cannot start the planning and encoding threads")?;
    let background = &background;
    let stage_cpu = StageCpu::default();
    let cpu = &stage_cpu;
    std::thread::scope(|scope| {
        let (plans, planned_rx) = sync_channel::<(Unit, u64, Result<PlannedExample>)>(PLAN_AHEAD);
        let planning = scope.spawn(move || {
            yield_to_rendering();
            plan_units(generator, units, background, cpu, plans)
        });
        let (rendered_tx, rendered_rx) = sync_channel::<Done>(ENCODE_AHEAD);
        let writing = scope.spawn(move || {
            yield_to_rendering();
            write(generator, dir, background, cpu, rendered_rx, progress)
        });
        let jobs = planned_rx.into_iter().map(|(unit, index, planned)| {
            planned.map(|planned| Job { unit, index, planned }).with_context(|| unit.stream.example_name(index))
        });
        // The renderers stop when the writer does; its error is reported below.
        let rendering = renderers.render(jobs, outputs, rendered_tx);
        planning.join().map_err(|_| anyhow!("the planning thread panicked"))?;
        let written = writing.join().map_err(|_| anyhow!("the writing thread panicked"))?;
        rendering.and(written)
    })?;
    Ok(stage_cpu)
}

/// The shard being written.
struct OpenShard<'a> {
    files: ShardFiles<'a>,
    stats: Distribution,
}

/// Encodes (PNGs in parallel on `pool`) and writes rendered examples in the order they were
/// planned (renderers side by side may finish them out of order), one shard after the other.
fn write(
    generator: &Generator<'_>,
    dir: &DatasetDir,
    pool: &ThreadPool,
    cpu: &StageCpu,
    arrivals: Receiver<Done>,
    progress: &ProgressBar,
) -> Result<()> {
    let config = generator.config;
    let mut open: Option<OpenShard> = None;
    let mut per_task: BTreeMap<Task, u64> = BTreeMap::new();
    let mut early: BTreeMap<usize, Done> = BTreeMap::new();
    let mut next = 0;
    for arrival in arrivals {
        early.insert(arrival.seq, arrival);
        while let Some(Done { job: Job { unit, index, planned }, rendered, .. }) = early.remove(&next) {
            next += 1;
            let extras = generator.extras();
            let record =
                pool.install(|| record(&unit.stream, index, &planned.plan, &rendered, extras, &cpu.records))?;
            cpu.writing.time(|| -> Result<()> {
                if open.as_ref().map(|o| o.files.unit()) != Some(unit) {
                    let files = ShardFiles::create(dir, unit, config.shard_max_bytes, config.row_group_rows as usize)?;
                    open = Some(OpenShard { files, stats: Distribution::default() });
                }
                let shard = open.as_mut().expect("a shard is open");
                shard.stats.add(&record);
                shard.files.push(&record)?;
                if index + 1 == unit.end {
                    let shard = open.take().expect("a shard is open");
                    let parts = shard.files.finish()?;
                    dir.commit(&unit, &parts, shard.stats)?;
                }
                Ok(())
            })?;
            *per_task.entry(unit.stream.task).or_default() += 1;
            progress.set_message(per_task.iter().map(|(t, n)| format!("{t} {n}")).collect::<Vec<_>>().join(" · "));
            progress.inc(1);
        }
    }
    Ok(())
}
