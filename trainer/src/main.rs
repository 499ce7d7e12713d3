//! `ipt-train`: trains and evaluates IPT models on datasets made by `ipt-gen generate`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use candle_core::Device;
use clap::{Parser, Subcommand, ValueEnum};

use ipt_schema::{Split, Task};
use ipt_train::bench::{self, Shape};
use ipt_train::data::batch::Regime;
use ipt_train::data::examples::shard_paths;
use ipt_train::data::loader::LoaderConfig;
use ipt_train::eval::infer::{Mode, Sampling};
use ipt_train::eval::{self, EvalOptions};
use ipt_train::model::autoencoder::AutoencoderConfig;
use ipt_train::model::ipt::IptConfig;
use ipt_train::report;
use ipt_train::train::autoencoder::{self, AutoencoderRun};
use ipt_train::train::curve::CurveSettings;
use ipt_train::train::optimizer::AdamWConfig;
use ipt_train::train::run::{self, TrainRun, small_model};

/// Trains and evaluates Imaginative Perception Token models (candle) on the generator's
/// Parquet datasets.
#[derive(Debug, Parser)]
#[command(
    version,
    about,
    long_about = None,
    after_help = "A run, start to finish (docs/trainer.md):\n  ipt-train autoencoder --data DATA --out runs/ae\n  ipt-train train --data DATA --task pet --regime ipt --autoencoder runs/ae --out runs/pet-ipt\n  ipt-train eval --run runs/pet-ipt --split test"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train the imagination autoencoder on a dataset's imagination images (train split, every
    /// task); the IPT model later predicts its latents. Resumes from the run folder's last
    /// checkpoint when run again with the same --out.
    Autoencoder(AutoencoderArgs),
    /// Train the IPT model on one task (or all) in one regime. Run it again with the same
    /// --out to resume from the last checkpoint (a larger --steps continues training).
    Train(TrainArgs),
    /// Evaluate a trained run on a split: accuracy per task, sub-type and variant with 95 %
    /// intervals, written to RUN/eval/<split>-<mode>.json with every answer beside it.
    Eval(EvalArgs),
    /// Measure training speed: samples and tokens per second of the model on batches shaped
    /// like IPT examples, its FLOP utilisation against candle's own large-matmul rate in the
    /// same run, and (with --data) the loader's time per batch.
    Bench(BenchArgs),
    /// Put evaluated runs side by side: a Markdown table shaped like the paper's (regimes
    /// down, tasks across, chance and the paper's numbers beside ours), every evaluation in
    /// detail, and the training curves as a PNG next to it.
    Report(ReportArgs),
}

/// Which task to train on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TaskChoice {
    /// Perspective Taking.
    Pet,
    /// Path Tracing.
    Pt,
    /// Multiview Counting.
    Mvc,
    /// Every task of the dataset, mixed.
    All,
}

impl TaskChoice {
    fn task(self) -> Option<Task> {
        match self {
            TaskChoice::Pet => Some(Task::Pet),
            TaskChoice::Pt => Some(Task::Pt),
            TaskChoice::Mvc => Some(Task::Mvc),
            TaskChoice::All => None,
        }
    }
}

/// Where to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DeviceChoice {
    /// The CPU (always available).
    Cpu,
    /// The first CUDA GPU (needs a build with `--features cuda`).
    Cuda,
}

fn device(choice: DeviceChoice) -> Result<Device> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Cuda if !candle_core::utils::cuda_is_available() => {
            bail!(
                "--device cuda: this build has no CUDA support; rebuild with `cargo build -p ipt-train --features cuda` on a machine with the CUDA toolkit"
            )
        }
        DeviceChoice::Cuda => Ok(Device::new_cuda(0)?),
    }
}

#[derive(Debug, clap::Args)]
struct AutoencoderArgs {
    /// The dataset folder (made by `ipt-gen generate`; its manifest lists the shards).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// The run folder: checkpoints, `autoencoder.safetensors`, `autoencoder.json` (sizes and
    /// latent statistics) and `reconstructions.png`.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Side of the images it encodes (imaginations are resized), pixels.
    #[arg(long, default_value_t = 64)]
    image_size: usize,
    /// Channels after each halving of the resolution, comma-separated; the latent grid is
    /// image_size / 2^levels cells on a side.
    #[arg(long, value_delimiter = ',', default_value = "32,64,64")]
    channels: Vec<usize>,
    /// Values per latent grid cell.
    #[arg(long, default_value_t = 4)]
    latent_channels: usize,
    /// Optimizer steps.
    #[arg(long, default_value_t = 2000)]
    steps: u64,
    /// Images per step.
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Learning rate (AdamW, betas 0.9 / 0.95, gradient norm clipped at 1).
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Steps between checkpoints.
    #[arg(long, default_value_t = 200)]
    checkpoint_every: u64,
    /// Seed of the initial weights and the data order.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where to compute.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    device: DeviceChoice,
}

#[derive(Debug, clap::Args)]
struct TrainArgs {
    /// The dataset folder (made by `ipt-gen generate`); training reads its train split.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// The task to train on.
    #[arg(long, value_enum, default_value_t = TaskChoice::All)]
    task: TaskChoice,
    /// What the model learns to write: the answer (label), a chain of thought and the answer
    /// (cot), the think phrase, an imagination and the answer (ipt), or half ipt, half
    /// answer-only (mixed).
    #[arg(long, value_name = "label|cot|ipt|mixed")]
    regime: Regime,
    /// The run folder: run.json, tokenizer.json, model.safetensors, log.jsonl, checkpoints/.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The frozen autoencoder's run folder (from `ipt-train autoencoder`); needed by the ipt
    /// and mixed regimes, whose imaginations are its latents.
    #[arg(long, value_name = "DIR")]
    autoencoder: Option<PathBuf>,
    /// Optimizer steps.
    #[arg(long, default_value_t = 3000)]
    steps: u64,
    /// Examples per step.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Peak learning rate (AdamW, betas 0.9 / 0.95, weight decay 0.01, gradient norm
    /// clipped at 1): linear warm-up, then a cosine down to a tenth at the last step.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Warm-up steps.
    #[arg(long, default_value_t = 100)]
    warmup: u64,
    /// Steps between checkpoints (each also refreshes model.safetensors and log.jsonl).
    #[arg(long, default_value_t = 250)]
    checkpoint_every: u64,
    /// Seed of the initial weights, the data order and the flow noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Model sizes as JSON (the `model` object of a run.json; docs/trainer.md shows the
    /// default, a 2 M-parameter model that trains on a laptop CPU).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Latent grid cells per side of one imagination token (the latent-resolution ablation;
    /// replaces the config's `latent.patch`): the default autoencoder's 8 x 8 grid makes 64
    /// tokens with 1, 16 with 2 (the default) and 4 with 4.
    #[arg(long, value_name = "CELLS")]
    latent_patch: Option<usize>,
    /// Start from a finished run's weights and tokenizer (fine-tuning); the model sizes
    /// must match.
    #[arg(long, value_name = "RUN")]
    init: Option<PathBuf>,
    /// A pretrained Hugging Face Llama-architecture checkpoint folder (config.json,
    /// tokenizer.json, model.safetensors or its shards, e.g. SmolLM2-135M) as the language
    /// model; the image encoder and imagination layers start fresh.
    #[arg(long, value_name = "DIR", conflicts_with = "tokenizer")]
    backbone: Option<PathBuf>,
    /// Use this tokenizer.json instead of training one on the train split.
    #[arg(long, value_name = "FILE")]
    tokenizer: Option<PathBuf>,
    /// Tokens of the tokenizer trained on the train split.
    #[arg(long, default_value_t = 1024)]
    vocabulary: usize,
    /// Steps between points of the accuracy curve (curve.jsonl): the model answers the first
    /// --curve-limit examples of --curve-split in its regime's default mode, and `report`
    /// draws the accuracy against the step. A multiple of --checkpoint-every; 0: no curve.
    #[arg(long, value_name = "STEPS", default_value_t = 500)]
    curve_every: u64,
    /// The split the curve answers. Default: benchmark, else validation, else test, the
    /// first the dataset has for the task (none: no curve).
    #[arg(long)]
    curve_split: Option<Split>,
    /// Examples answered per curve point (a cot run answers a quarter as many: it writes
    /// its reasoning first).
    #[arg(long, value_name = "N", default_value_t = 256)]
    curve_limit: usize,
    /// Where to compute.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    device: DeviceChoice,
}

#[derive(Debug, clap::Args)]
struct EvalArgs {
    /// The run folder made by `ipt-train train`.
    #[arg(long, value_name = "DIR")]
    run: PathBuf,
    /// The split answered.
    #[arg(long, default_value = "test")]
    split: Split,
    /// How the model answers: straight away (answer), after sampling an imagination
    /// (generate), or with the ground-truth imagination in context (gt). Default: generate
    /// for ipt and mixed runs, answer otherwise.
    #[arg(long, value_enum)]
    mode: Option<Mode>,
    /// Another dataset folder to answer (default: the one the run trained on).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Examples per forward pass.
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Answer only the split's first N examples.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Euler steps of the imagination sampler (generate mode).
    #[arg(long, default_value_t = 25)]
    steps: usize,
    /// Timestep shift of the sampler's schedule (1: uniform steps; BAGEL uses 3).
    #[arg(long, default_value_t = 1.0)]
    shift: f32,
    /// Longest chain of thought generated by a cot run, tokens.
    #[arg(long, default_value_t = 256)]
    max_new_tokens: usize,
    /// Save pictures of the first N imaginations (inputs, imagined, ground truth) into
    /// RUN/eval/<split>-<mode>-imaginations/.
    #[arg(long, value_name = "N", default_value_t = 8)]
    save_imaginations: usize,
    /// Seed of the sampler's noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where to compute.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    device: DeviceChoice,
}

#[derive(Debug, clap::Args)]
struct ReportArgs {
    /// Run folders (evaluated with `ipt-train eval`), e.g. runs/*.
    #[arg(required = true, value_name = "RUN")]
    runs: Vec<PathBuf>,
    /// The split whose evaluations are reported.
    #[arg(long, default_value = "test")]
    split: Split,
    /// The Markdown file to write (e.g. docs/results.md); its pictures go beside it as
    /// <name>-loss.png, <name>-accuracy.png and <name>-imagination-<task>.png.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
struct BenchArgs {
    /// Model sizes as JSON (as `train --config`); default: the small default model.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Examples per step.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Steps timed (after one warm-up step).
    #[arg(long, default_value_t = 5)]
    steps: usize,
    /// Input images per example (PET 1, PT 1, MVC 4).
    #[arg(long, default_value_t = 1)]
    images: usize,
    /// Prompt and think tokens per example.
    #[arg(long, default_value_t = 24)]
    text: usize,
    /// Target tokens per example ("Answer: B" and the end token are about 4).
    #[arg(long, default_value_t = 4)]
    target: usize,
    /// Time answer-only examples (no imagination blocks).
    #[arg(long)]
    no_imagination: bool,
    /// Vocabulary of the timed model (a run's comes from its tokenizer).
    #[arg(long, default_value_t = 1024)]
    vocabulary: usize,
    /// A dataset whose train split the loader reads, to time it beside the step.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Also write the measurements as JSON here.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Where to compute.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    device: DeviceChoice,
}

fn bench_command(args: BenchArgs) -> Result<()> {
    let device = device(args.device)?;
    let mut config = model_config(args.config.as_deref())?;
    config.language.vocab_size = args.vocabulary;
    let shape = Shape { images: args.images, text: args.text, target: args.target, imagine: !args.no_imagination };
    let loader = match &args.data {
        Some(data) => Some(LoaderConfig {
            shards: shard_paths(data, Split::Train, None)?,
            image_size: config.vision.image_size as u32,
            batch_size: args.batch_size,
            seed: 0,
            shuffle_buffer: args.batch_size,
            queue: 1,
            epochs: None,
            skip: 0,
        }),
        None => None,
    };
    let report = bench::run(&config, shape, args.batch_size, args.steps, loader, &device)?;
    println!(
        "model: {:.2} M parameters, {} tokens per example, batch {}",
        report.parameters as f64 / 1e6,
        report.tokens_per_example,
        report.batch_size
    );
    println!("candle matmul (1024 x 1024, f32): {:.1} GFLOP/s", report.matmul_gflops);
    println!(
        "training step: {:.3} s = {:.1} samples/s, {:.0} tokens/s; {:.2} GFLOP per step = {:.1} GFLOP/s, {:.0} % of the matmul rate",
        report.step_seconds,
        report.samples_per_second,
        report.tokens_per_second,
        report.step_gflop,
        report.step_gflop / report.step_seconds,
        100.0 * report.model_flop_utilisation
    );
    if let Some(seconds) = report.loader_seconds_per_batch {
        println!(
            "loader: {seconds:.3} s per batch on its own thread ({:.0} % of a step: {})",
            100.0 * seconds / report.step_seconds,
            if seconds < report.step_seconds { "training never waits" } else { "training waits for data" }
        );
    }
    if let Some(out) = &args.out {
        std::fs::write(out, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    Ok(())
}

/// The model sizes of `--config`, or the default small model.
fn model_config(path: Option<&Path>) -> Result<IptConfig> {
    let Some(path) = path else { return Ok(small_model()) };
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{}: not a model config", path.display()))
}

/// The accuracy curve's settings from the `train` flags: `None` for `--curve-every 0`, or
/// when no held-out split has examples of the task and none was named.
fn curve_settings(args: &TrainArgs) -> Result<Option<CurveSettings>> {
    if args.curve_every == 0 {
        return Ok(None);
    }
    if !args.curve_every.is_multiple_of(args.checkpoint_every.max(1)) {
        bail!(
            "--curve-every {} is not a multiple of --checkpoint-every {}: the curve is measured at checkpoints",
            args.curve_every,
            args.checkpoint_every
        );
    }
    let split = match args.curve_split {
        Some(split) => split,
        None => {
            let manifest = ipt_schema::Manifest::read(&args.data)?;
            let held_out = [Split::Benchmark, Split::Validation, Split::Test];
            let Some(split) = held_out.into_iter().find(|&s| manifest.shards(s, args.task.task()).next().is_some())
            else {
                eprintln!("no held-out split in {}: training without an accuracy curve", args.data.display());
                return Ok(None);
            };
            split
        }
    };
    Ok(Some(CurveSettings { every: args.curve_every, split, limit: args.curve_limit }))
}

fn train_command(args: TrainArgs) -> Result<()> {
    let device = device(args.device)?;
    let curve = curve_settings(&args)?;
    let mut model = model_config(args.config.as_deref())?;
    if let Some(patch) = args.latent_patch {
        model.latent.patch = patch;
    }
    let config = TrainRun {
        data: args.data,
        task: args.task.task(),
        regime: args.regime,
        model,
        autoencoder: args.autoencoder,
        vocabulary: args.vocabulary,
        tokenizer: args.tokenizer,
        steps: args.steps,
        batch_size: args.batch_size,
        optimizer: AdamWConfig { learning_rate: args.lr, ..AdamWConfig::default() },
        warmup: args.warmup,
        checkpoint_every: args.checkpoint_every,
        seed: args.seed,
        init: args.init,
        backbone: args.backbone,
        curve,
    };
    let summary = run::train(&config, &args.out, &device)?;
    let speed = if summary.examples_seen == 0 {
        "already finished: no step taken now".to_string()
    } else {
        format!(
            "{:.1} samples/s, {:.0} % of the time waiting for data",
            summary.samples_per_second,
            100.0 * summary.wait_share
        )
    };
    println!(
        "{} steps; loss {:.4} (mean of the last 50); {:.2} M parameters; {speed}",
        summary.steps,
        summary.final_loss,
        summary.parameters as f64 / 1e6,
    );
    println!("written to {}; evaluate with `ipt-train eval --run {}`", args.out.display(), args.out.display());
    Ok(())
}

fn eval_command(args: EvalArgs) -> Result<()> {
    let device = device(args.device)?;
    let options = EvalOptions {
        split: args.split,
        mode: args.mode,
        data: args.data,
        batch_size: args.batch_size,
        limit: args.limit,
        sampling: Sampling { steps: args.steps, shift: args.shift, max_new_tokens: args.max_new_tokens },
        save_imaginations: args.save_imaginations,
        seed: args.seed,
    };
    let evaluation = eval::evaluate(&args.run, &options, &device)?;
    print!("{}", eval::summary_table(&evaluation));
    println!(
        "written to {}",
        args.run.join("eval").join(format!("{}-{}.json", evaluation.split, evaluation.mode.name())).display()
    );
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Autoencoder(args) => {
            let config = AutoencoderRun {
                data: args.data,
                model: AutoencoderConfig {
                    image_size: args.image_size,
                    channels: args.channels,
                    latent_channels: args.latent_channels,
                },
                steps: args.steps,
                batch_size: args.batch_size,
                optimizer: AdamWConfig { learning_rate: args.lr, ..AdamWConfig::default() },
                checkpoint_every: args.checkpoint_every,
                seed: args.seed,
            };
            let frozen = autoencoder::train(&config, &args.out, &device(args.device)?)?;
            println!(
                "autoencoder: {} x {} latent grid of {} values; reconstruction MSE {:.4} on [-1, 1]; latents mean {:.3}, std {:.3}",
                frozen.model.latent_size(),
                frozen.model.latent_size(),
                frozen.model.latent_channels,
                frozen.reconstruction_mse,
                frozen.latent_mean,
                frozen.latent_std
            );
            println!("written to {}", args.out.display());
            Ok(())
        }
        Command::Train(args) => train_command(args),
        Command::Eval(args) => eval_command(args),
        Command::Bench(args) => bench_command(args),
        Command::Report(args) => {
            let pictures = report::write(&args.runs, args.split, &args.out)?;
            let names: Vec<String> = pictures.iter().map(|p| p.display().to_string()).collect();
            println!("written to {} with {}", args.out.display(), names.join(", "));
            Ok(())
        }
    }
}

/// Process-wide settings that make candle's CPU training faster (measured in
/// docs/benchmarks.md, "Training"); runs first, before any other thread exists.
fn tune_cpu_runtime() {
    // candle allocates a fresh buffer for every tensor; glibc maps large ones from the
    // kernel and unmaps them when dropped, and the page faults of re-mapping them took a
    // sixth of an autoencoder step. Keep buffers up to 32 MiB in the heap, and the heap's
    // free memory.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: plain allocator settings, made before any allocation-heavy work or thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
    }
}

fn main() -> ExitCode {
    tune_cpu_runtime();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
