//! `ipt-train train`: trains the IPT model on one task (or all) in one regime, resumably.
//!
//! A run folder holds everything needed to continue or evaluate it:
//!
//! - `run.json`: the settings ([`TrainRun`]), fixed when the run starts; running again with
//!   the same settings (a larger `steps` allowed) resumes, other settings are refused.
//! - `tokenizer.json`: the tokenizer (trained on the train split's text, or a given one).
//! - `model.safetensors`: the model's weights as of the last checkpoint.
//! - `log.jsonl`: one line per step ([`LogLine`]), written up to the last checkpoint.
//! - `checkpoints/`: weights, AdamW moments, step and random state ([`super::checkpoint`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use candle_core::Device;
use candle_nn::VarMap;
use indicatif::{ProgressBar, ProgressStyle};
use ipt_schema::{Split, Task};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::autoencoder::LatentCodec;
use super::backbone;
use super::checkpoint::{self, CheckpointMeta, RngState};
use super::curve::{CurveSettings, read_curve, write_curve};
use super::optimizer::{AdamWConfig, Optimizer};
use crate::data::batch::{ANSWER_INSTRUCTION, COT_INSTRUCTION, IMAGINE_INSTRUCTION, Regime, make_batch};
use crate::data::examples::{letter, read_texts, shard_paths};
use crate::data::loader::{Loader, LoaderConfig};
use crate::data::tokenizer::TextCodec;
use crate::model::init::seeded_builder;
use crate::model::ipt::{IptConfig, IptModel, LatentConfig};
use crate::model::llama::LlamaConfig;
use crate::model::vision::VisionConfig;

/// The run's settings in its folder.
pub const RUN_FILE: &str = "run.json";
/// The run's tokenizer.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// The model's weights as of the last checkpoint.
pub const MODEL_FILE: &str = "model.safetensors";
/// The training log, one JSON line per step.
pub const LOG_FILE: &str = "log.jsonl";

/// What `train` trains with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainRun {
    /// The dataset folder.
    pub data: PathBuf,
    /// The task trained on; `None`: every task.
    pub task: Option<Task>,
    /// What the model learns to produce.
    pub regime: Regime,
    /// Sizes. The vocabulary comes from the tokenizer and the latent grid from the
    /// autoencoder when the run starts.
    pub model: IptConfig,
    /// The frozen autoencoder's run folder (needed by the imagining regimes).
    pub autoencoder: Option<PathBuf>,
    /// Tokens of a tokenizer trained on the train split.
    pub vocabulary: usize,
    /// A `tokenizer.json` to use instead of training one.
    pub tokenizer: Option<PathBuf>,
    /// Optimizer steps.
    pub steps: u64,
    /// Examples per step.
    pub batch_size: usize,
    /// AdamW settings; `learning_rate` is the peak of the schedule.
    pub optimizer: AdamWConfig,
    /// Steps of linear warm-up; after it the rate follows a cosine down to a tenth at `steps`.
    pub warmup: u64,
    /// Steps between checkpoints.
    pub checkpoint_every: u64,
    /// Seed of the initial weights, the data order, the noise and the mixed regime's draws.
    pub seed: u64,
    /// A finished run whose weights (and tokenizer) this one starts from.
    pub init: Option<PathBuf>,
    /// A pretrained Hugging Face Llama-architecture checkpoint folder whose `config.json`,
    /// `tokenizer.json` and weights become the language model (see [`super::backbone`]).
    pub backbone: Option<PathBuf>,
    /// The accuracy measured on a held-out split while training (`curve.jsonl`); `None`: not
    /// measured. Unlike the other settings it may change when a run resumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<CurveSettings>,
}

/// The default sizes of a model that trains on a laptop CPU (about 2 M parameters): 64 px
/// input images in 8 px patches, a 4-layer language model 192 wide with grouped-query
/// attention. `vocab_size` and `latent` are filled in when a run starts.
pub fn small_model() -> IptConfig {
    IptConfig {
        language: LlamaConfig {
            vocab_size: 0,
            hidden_size: 192,
            intermediate_size: 512,
            num_hidden_layers: 4,
            num_attention_heads: 4,
            num_key_value_heads: Some(2),
            rms_norm_eps: 1e-5,
            rope_theta: 10_000.0,
            max_position_embeddings: 1024,
            tie_word_embeddings: true,
        },
        vision: VisionConfig { image_size: 64, patch_size: 8, width: 96, layers: 2, heads: 4 },
        latent: LatentConfig { channels: 4, grid: 8, patch: 2 },
    }
}

impl TrainRun {
    /// Whether the regime puts imaginations in the sequence.
    fn imagines(&self) -> bool {
        matches!(self.regime, Regime::Ipt | Regime::Mixed)
    }

    /// The learning rate of step `step` (0-based): linear warm-up, then a cosine to a tenth.
    pub fn learning_rate(&self, step: u64) -> f64 {
        let peak = self.optimizer.learning_rate;
        if step < self.warmup {
            return peak * (step + 1) as f64 / self.warmup as f64;
        }
        let span = self.steps.saturating_sub(self.warmup).max(1) as f64;
        let progress = ((step - self.warmup) as f64 / span).min(1.0);
        peak * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()))
    }
}

/// One training step in `log.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// Steps taken after this one.
    pub step: u64,
    /// Cross-entropy + flow.
    pub loss: f32,
    /// The answer (and chain of thought) cross-entropy.
    pub text_loss: f32,
    /// The imagination's flow-matching loss (0 without imaginations).
    pub flow_loss: f32,
    /// The learning rate used.
    pub learning_rate: f64,
    /// Gradient norm before clipping.
    pub gradient_norm: f64,
    /// Examples in the batch.
    pub examples: usize,
    /// Seconds of the step (forward, backward, update).
    pub step_seconds: f64,
    /// Seconds spent waiting for the loader before the step.
    pub wait_seconds: f64,
}

/// What a finished `train` reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSummary {
    /// Steps taken in all (resumed runs included).
    pub steps: u64,
    /// Mean loss over the last (up to) 50 logged steps.
    pub final_loss: f32,
    /// Parameters of the model.
    pub parameters: usize,
    /// Examples this invocation trained on (0 when the run was already finished).
    pub examples_seen: usize,
    /// Examples per second of this invocation's steps (waiting included).
    pub samples_per_second: f64,
    /// Share of this invocation's time spent waiting for data.
    pub wait_share: f64,
}

/// A run folder's settings; `None` when it has none yet.
pub fn read_run(run: &Path) -> Result<Option<TrainRun>> {
    let path = run.join(RUN_FILE);
    let Ok(bytes) = std::fs::read(&path) else { return Ok(None) };
    let saved = serde_json::from_slice(&bytes).with_context(|| format!("{} is not a run record", path.display()))?;
    Ok(Some(saved))
}

/// The settings of a run that is already started, checked against what is asked now: only
/// `steps` may differ.
fn resumed_settings(saved: TrainRun, asked: &TrainRun, run: &Path) -> Result<TrainRun> {
    let mut comparable = asked.clone();
    comparable.steps = saved.steps;
    // Filled in when the run started.
    comparable.model.language.vocab_size = saved.model.language.vocab_size;
    if asked.backbone.is_some() {
        comparable.model.language = saved.model.language.clone();
    }
    comparable.model.latent = saved.model.latent.clone();
    comparable.curve = saved.curve.clone();
    if comparable != saved {
        let (a, b) = (serde_json::to_value(&saved)?, serde_json::to_value(&comparable)?);
        let differing: Vec<&String> = a
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(key, value)| b.get(key.as_str()) != Some(value))
            .map(|(key, _)| key)
            .collect();
        bail!(
            "{} was started with other settings ({}): resume it with the same options, or train into a new --out",
            run.join(RUN_FILE).display(),
            differing.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
        );
    }
    Ok(TrainRun { steps: asked.steps, curve: asked.curve.clone(), ..saved })
}

/// Every text the model reads or writes in the train split of `task`, for the tokenizer.
fn training_texts(data: &Path, task: Option<Task>) -> Result<Vec<String>> {
    let mut texts: Vec<String> = [ANSWER_INSTRUCTION, COT_INSTRUCTION, IMAGINE_INSTRUCTION].map(String::from).to_vec();
    texts.extend((0..8).map(|i| format!("Answer: {}", letter(i))));
    for path in shard_paths(data, Split::Train, task)? {
        for batch in read_texts(&path)? {
            for example in batch? {
                texts.push(example.question);
                texts.extend(example.choices);
                texts.push(example.cot);
                texts.push(example.think);
            }
        }
    }
    Ok(texts)
}

/// The run's tokenizer: its own if it has one, else the init run's, the given one, or one
/// trained on the train split; saved into the run folder.
fn tokenizer(config: &TrainRun, run: &Path) -> Result<TextCodec> {
    let own = run.join(TOKENIZER_FILE);
    if own.exists() {
        return TextCodec::load(&own);
    }
    let codec = match (&config.init, &config.backbone, &config.tokenizer) {
        (Some(init), _, _) => TextCodec::load(&init.join(TOKENIZER_FILE))?,
        (None, Some(backbone), _) => TextCodec::load(&backbone.join(backbone::TOKENIZER_FILE))?,
        (None, None, Some(path)) => TextCodec::load(path)?,
        (None, None, None) => {
            TextCodec::train(training_texts(&config.data, config.task)?.into_iter(), config.vocabulary)?
        }
    };
    codec.save(&own)?;
    Ok(codec)
}

/// The run's settings with the vocabulary and latent grid filled in, checked, and saved
/// into a new run folder (or checked against an existing one's).
fn settle(asked: &TrainRun, run: &Path, codec: &TextCodec, latents: Option<&LatentCodec>) -> Result<TrainRun> {
    if let Some(saved) = read_run(run)? {
        return resumed_settings(saved, asked, run);
    }
    let mut config = asked.clone();
    match &config.backbone {
        Some(dir) => {
            config.model.language = backbone::read_config(dir)?;
            if codec.vocabulary() > config.model.language.vocab_size {
                bail!(
                    "--backbone {}: the tokenizer has {} tokens but config.json's vocab_size is {}",
                    dir.display(),
                    codec.vocabulary(),
                    config.model.language.vocab_size
                );
            }
        }
        None => config.model.language.vocab_size = codec.vocabulary(),
    }
    if let Some(latents) = latents {
        let frozen = latents.frozen();
        config.model.latent.channels = frozen.model.latent_channels;
        config.model.latent.grid = frozen.model.latent_size();
        if frozen.model.image_size != config.model.vision.image_size {
            bail!(
                "the autoencoder encodes {} px images but the model reads {} px (vision.image_size): train them at one size",
                frozen.model.image_size,
                config.model.vision.image_size
            );
        }
    }
    config.model.check().context("model settings")?;
    checkpoint::write_atomic(&run.join(RUN_FILE), &serde_json::to_vec_pretty(&config)?)?;
    Ok(config)
}

/// The log's lines up to and including `step` (a resumed run drops what came after its
/// checkpoint; `u64::MAX` reads them all).
pub(crate) fn read_log(run: &Path, step: u64) -> Result<Vec<LogLine>> {
    let mut lines: Vec<LogLine> = checkpoint::read_json_lines(&run.join(LOG_FILE))?;
    lines.retain(|line| line.step <= step);
    Ok(lines)
}

/// Rewrites the log with `lines`.
fn write_log(run: &Path, lines: &[LogLine]) -> Result<()> {
    checkpoint::write_json_lines(&run.join(LOG_FILE), lines)
}

/// Trains (or resumes) the run in folder `run`.
pub fn train(asked: &TrainRun, run: &Path, device: &Device) -> Result<TrainSummary> {
    std::fs::create_dir_all(run).with_context(|| format!("cannot create {}", run.display()))?;
    let latents = match (&asked.autoencoder, asked.imagines()) {
        (Some(dir), true) => Some(LatentCodec::load(dir, device)?),
        (None, true) => bail!(
            "--regime {} imagines: give it a frozen autoencoder with --autoencoder (made by `ipt-train autoencoder --data {} --out runs/ae`)",
            asked.regime.name(),
            asked.data.display()
        ),
        (_, false) => None,
    };
    let codec = tokenizer(asked, run)?;
    let config = settle(asked, run, &codec, latents.as_ref())?;
    let shards = shard_paths(&config.data, Split::Train, config.task)?;

    let varmap = VarMap::new();
    let model = IptModel::new(&config.model, seeded_builder(&varmap, config.seed, device))?;
    let parameters = varmap.all_vars().iter().map(|v| v.elem_count()).sum();
    let mut optimizer = Optimizer::new(&varmap, config.optimizer)?;
    let (mut step, mut rng) = match checkpoint::load(run, &varmap, &mut optimizer, device)? {
        Some(meta) => (meta.step, meta.rng.rng()?),
        None => {
            if let Some(init) = &config.init {
                checkpoint::load_weights(&varmap, &init.join(MODEL_FILE), device)
                    .with_context(|| format!("--init {}", init.display()))?;
            } else if let Some(dir) = &config.backbone {
                backbone::load_weights(&varmap, dir, device)?;
            }
            (0, ChaCha8Rng::seed_from_u64(config.seed))
        }
    };
    let mut log = read_log(run, step)?;
    let mut curve = read_curve(run, step)?;
    let trained = TrainedRun { config, codec, model, latents };
    if let Some(settings) = &trained.config.curve {
        settings.check(&trained)?;
    }
    let TrainedRun { config, codec, model, latents } = &trained;
    let mut loader = Loader::spawn(LoaderConfig {
        shards,
        image_size: config.model.vision.image_size as u32,
        batch_size: config.batch_size,
        seed: config.seed,
        shuffle_buffer: 8 * config.batch_size,
        queue: 4,
        epochs: None,
        skip: step,
    });
    let encode = |images: &candle_core::Tensor| match &latents {
        Some(latents) => latents.encode(images),
        None => candle_core::bail!("no autoencoder to encode imaginations with"),
    };

    let bar = ProgressBar::new(config.steps).with_position(step).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps · eta {eta} · {msg}").expect("valid template"),
    );
    let started = Instant::now();
    let (mut examples_seen, mut waited) = (0usize, 0f64);
    while step < config.steps {
        let examples = loader.next_batch().context("the loader stopped")??;
        let wait_seconds = loader.take_wait().as_secs_f64();
        let step_started = Instant::now();
        let learning_rate = config.learning_rate(step);
        optimizer.set_learning_rate(learning_rate);
        let batch = make_batch(&examples, config.regime, codec, encode, &mut rng, device)?;
        let losses = model.losses(&batch.images, &batch.items).with_context(|| oom_hint(step, config))?;
        let report = optimizer.backward_step(&losses.total).with_context(|| oom_hint(step, config))?;
        step += 1;
        let line = LogLine {
            step,
            loss: losses.total.to_scalar()?,
            text_loss: losses.text.to_scalar()?,
            flow_loss: losses.flow.to_scalar()?,
            learning_rate,
            gradient_norm: report.gradient_norm,
            examples: examples.len(),
            step_seconds: step_started.elapsed().as_secs_f64(),
            wait_seconds,
        };
        if !line.loss.is_finite() {
            bail!("step {step}: the loss is {} (try a lower --lr)", line.loss);
        }
        examples_seen += examples.len();
        waited += wait_seconds;
        let rate = examples_seen as f64 / started.elapsed().as_secs_f64();
        bar.set_position(step);
        bar.set_message(format!(
            "loss {:.3} (text {:.3}, flow {:.3}) · {rate:.1} samples/s · data wait {:.0} %",
            line.loss,
            line.text_loss,
            line.flow_loss,
            100.0 * waited / started.elapsed().as_secs_f64()
        ));
        log.push(line);
        if step.is_multiple_of(config.checkpoint_every.max(1)) || step == config.steps {
            checkpoint::save_weights(&varmap, &run.join(MODEL_FILE))?;
            write_log(run, &log)?;
            checkpoint::save(run, &varmap, &optimizer, &CheckpointMeta { step, rng: RngState::of(&rng) })?;
            if let Some(settings) = config.curve.as_ref().filter(|c| c.due(step, config.steps)) {
                curve.push(settings.measure(&trained, step, device)?);
                write_curve(run, &curve)?;
            }
            if bar.is_hidden() {
                // No terminal (a background run): a line per checkpoint instead of the bar.
                eprintln!("step {step}/{} · {}", config.steps, bar.message());
            }
        }
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let recent = &log[log.len().saturating_sub(50)..];
    Ok(TrainSummary {
        steps: step,
        final_loss: recent.iter().map(|l| l.loss).sum::<f32>() / recent.len().max(1) as f32,
        parameters,
        examples_seen,
        samples_per_second: if elapsed > 0.0 { examples_seen as f64 / elapsed } else { 0.0 },
        wait_share: if elapsed > 0.0 { waited / elapsed } else { 0.0 },
    })
}

/// Context for a failed step: on a GPU the usual cause is memory.
fn oom_hint(step: u64, config: &TrainRun) -> String {
    format!(
        "training step {} failed (batch size {}); if the device ran out of memory, lower --batch-size",
        step + 1,
        config.batch_size
    )
}

/// A trained run, loaded for inference.
pub struct TrainedRun {
    /// Its settings.
    pub config: TrainRun,
    /// Its tokenizer.
    pub codec: TextCodec,
    /// The model with the run's latest weights.
    pub model: IptModel,
    /// The frozen autoencoder, for the imagining regimes.
    pub latents: Option<LatentCodec>,
}

/// Loads a run folder's settings, tokenizer, latest weights and autoencoder.
pub fn load_trained(run: &Path, device: &Device) -> Result<TrainedRun> {
    let Some(config) = read_run(run)? else {
        bail!("{} is not a training run (no {RUN_FILE}; make one with `ipt-train train`)", run.display());
    };
    let codec = TextCodec::load(&run.join(TOKENIZER_FILE))?;
    let varmap = VarMap::new();
    let model = IptModel::new(&config.model, seeded_builder(&varmap, config.seed, device))?;
    let weights = run.join(MODEL_FILE);
    if !weights.exists() {
        bail!("{} has no weights yet: it has not reached its first checkpoint", run.display());
    }
    checkpoint::load_weights(&varmap, &weights, device)?;
    let latents = match (&config.autoencoder, config.imagines()) {
        (Some(dir), true) => Some(LatentCodec::load(dir, device)?),
        _ => None,
    };
    Ok(TrainedRun { config, codec, model, latents })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testing;
    use crate::eval::infer::{Answerer, Mode, Sampling};
    use crate::eval::{answer_split, metrics};
    use crate::model::autoencoder::AutoencoderConfig;
    use crate::train::autoencoder::{self, AutoencoderRun};

    fn tiny_model() -> IptConfig {
        IptConfig {
            language: LlamaConfig {
                hidden_size: 32,
                intermediate_size: 64,
                num_hidden_layers: 2,
                num_attention_heads: 4,
                num_key_value_heads: Some(2),
                ..small_model().language
            },
            vision: VisionConfig { image_size: 8, patch_size: 4, width: 16, layers: 1, heads: 2 },
            latent: small_model().latent,
        }
    }

    fn config(data: &Path, regime: Regime, steps: u64, autoencoder: Option<PathBuf>) -> TrainRun {
        TrainRun {
            data: data.to_path_buf(),
            task: None,
            regime,
            model: tiny_model(),
            autoencoder,
            vocabulary: 300,
            tokenizer: None,
            steps,
            batch_size: 4,
            optimizer: AdamWConfig { learning_rate: 3e-3, ..AdamWConfig::default() },
            warmup: 2,
            checkpoint_every: 3,
            seed: 7,
            init: None,
            backbone: None,
            curve: None,
        }
    }

    /// The losses of a run's log (timings differ between runs).
    fn losses(run: &Path) -> Vec<(u64, f32, f32)> {
        read_log(run, u64::MAX).unwrap().iter().map(|l| (l.step, l.text_loss, l.flow_loss)).collect()
    }

    /// A frozen 8 px autoencoder trained for a few steps.
    fn autoencoder(data: &Path, dir: &Path) -> PathBuf {
        let run = AutoencoderRun {
            data: data.to_path_buf(),
            model: AutoencoderConfig { image_size: 8, channels: vec![8, 8], latent_channels: 2 },
            steps: 4,
            batch_size: 4,
            optimizer: AdamWConfig::default(),
            checkpoint_every: 4,
            seed: 1,
        };
        autoencoder::train(&run, dir, &Device::Cpu).unwrap();
        dir.to_path_buf()
    }

    #[test]
    fn a_resumed_run_repeats_the_straight_runs_losses_and_refuses_other_settings() {
        let data = tempfile::tempdir().unwrap();
        testing::dataset(data.path(), &[Split::Train], 10);
        let ae = autoencoder(data.path(), &data.path().join("ae"));
        let (stopped, straight) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mixed = |steps| config(data.path(), Regime::Mixed, steps, Some(ae.clone()));
        train(&mixed(3), stopped.path(), &Device::Cpu).unwrap();
        let summary = train(&mixed(7), stopped.path(), &Device::Cpu).unwrap();
        assert_eq!(summary.steps, 7);
        train(&mixed(7), straight.path(), &Device::Cpu).unwrap();
        assert_eq!(losses(stopped.path()), losses(straight.path()));
        assert_eq!(losses(straight.path()).len(), 7);
        assert!(losses(straight.path()).iter().any(|l| l.2 > 0.0), "the mixed regime imagines");
        let other = TrainRun { seed: 8, ..mixed(9) };
        let error = train(&other, straight.path(), &Device::Cpu).unwrap_err().to_string();
        assert!(error.contains("other settings (seed)"), "{error}");
        let no_autoencoder = config(data.path(), Regime::Ipt, 1, None);
        let error = train(&no_autoencoder, &data.path().join("x"), &Device::Cpu).unwrap_err().to_string();
        assert!(error.contains("--autoencoder"), "{error}");
    }

    #[test]
    fn the_accuracy_curve_is_measured_at_checkpoints_without_changing_the_training() {
        let data = tempfile::tempdir().unwrap();
        testing::dataset(data.path(), &[Split::Train, Split::Test], 8);
        let ae = autoencoder(data.path(), &data.path().join("ae"));
        let plain = config(data.path(), Regime::Mixed, 9, Some(ae.clone()));
        let measured =
            TrainRun { curve: Some(CurveSettings { every: 6, split: Split::Test, limit: 5 }), ..plain.clone() };
        let (with_curve, without) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        // Stopped at step 3 (the warm-up ends at 2, so the schedule so far is the same) and resumed.
        train(&TrainRun { steps: 3, ..measured.clone() }, with_curve.path(), &Device::Cpu).unwrap();
        train(&measured, with_curve.path(), &Device::Cpu).unwrap();
        train(&plain, without.path(), &Device::Cpu).unwrap();
        assert_eq!(losses(with_curve.path()), losses(without.path()), "answering must not disturb training");
        let curve = read_curve(with_curve.path(), u64::MAX).unwrap();
        // Every 6 steps (checkpoints at 3, 6, 9) and at the last step of each invocation.
        assert_eq!(curve.iter().map(|p| p.step).collect::<Vec<_>>(), [3, 6, 9]);
        for point in &curve {
            assert_eq!((point.split, point.mode, point.scores.overall.examples), (Split::Test, Mode::Generate, 5));
        }
        let no_test = TrainRun { curve: Some(CurveSettings { every: 3, split: Split::Benchmark, limit: 5 }), ..plain };
        let error = train(&no_test, &data.path().join("other"), &Device::Cpu).unwrap_err().to_string();
        assert!(error.contains("no benchmark examples"), "{error}");
    }

    #[test]
    fn a_backbone_checkpoint_becomes_the_language_model() {
        let data = tempfile::tempdir().unwrap();
        testing::dataset(data.path(), &[Split::Train], 4);
        // A "pretrained" checkpoint in the Hugging Face layout, with random weights.
        let pretrained = data.path().join("pretrained");
        std::fs::create_dir_all(&pretrained).unwrap();
        let texts = training_texts(data.path(), None).unwrap();
        let codec = TextCodec::train(texts.into_iter(), 300).unwrap();
        codec.save(&pretrained.join(backbone::TOKENIZER_FILE)).unwrap();
        let language = LlamaConfig { vocab_size: 320, tie_word_embeddings: false, ..tiny_model().language };
        let mut hf = serde_json::to_value(&language).unwrap();
        hf["architectures"] = serde_json::json!(["LlamaForCausalLM"]); // other fields are ignored
        std::fs::write(pretrained.join(backbone::CONFIG_FILE), hf.to_string()).unwrap();
        let weights = VarMap::new();
        crate::model::llama::Llama::new(&language, seeded_builder(&weights, 99, &Device::Cpu)).unwrap();
        checkpoint::save_weights(&weights, &pretrained.join("model.safetensors")).unwrap();
        // Train one step at learning rate 0: the language weights stay the backbone's.
        let run = tempfile::tempdir().unwrap();
        let mut config = config(data.path(), Regime::Label, 1, None);
        config.backbone = Some(pretrained.clone());
        config.optimizer.learning_rate = 0.0;
        config.warmup = 0;
        train(&config, run.path(), &Device::Cpu).unwrap();
        let trained = candle_core::safetensors::load(run.path().join(MODEL_FILE), &Device::Cpu).unwrap();
        let original = candle_core::safetensors::load(pretrained.join("model.safetensors"), &Device::Cpu).unwrap();
        assert_eq!(original.len(), 2 * 9 + 3, "two blocks of nine tensors, embeddings, norm, head");
        for (name, tensor) in &original {
            let difference = (tensor - &trained[name]).unwrap().abs().unwrap().max_all().unwrap();
            assert_eq!(difference.to_scalar::<f32>().unwrap(), 0.0, "{name}");
        }
        assert_eq!(read_run(run.path()).unwrap().unwrap().model.language, language);
        std::fs::remove_file(pretrained.join("model.safetensors")).unwrap();
        let error = train(&config, &data.path().join("other"), &Device::Cpu).unwrap_err().to_string();
        assert!(error.contains("no model.safetensors"), "{error}");
    }

    #[test]
    fn a_tiny_model_learns_the_colour_rule_in_every_regime() {
        // Red input image: A; blue: B. Only the image tells them apart.
        let data = tempfile::tempdir().unwrap();
        testing::dataset(data.path(), &[Split::Train, Split::Test], 8);
        let ae = autoencoder(data.path(), &data.path().join("ae"));
        for regime in [Regime::Label, Regime::Cot, Regime::Ipt, Regime::Mixed] {
            let run = tempfile::tempdir().unwrap();
            train(&config(data.path(), regime, 40, Some(ae.clone())), run.path(), &Device::Cpu).unwrap();
            let trained = load_trained(run.path(), &Device::Cpu).unwrap();
            let sampling = Sampling { steps: 2, shift: 1.0, max_new_tokens: 24 };
            let modes: &[Mode] = match regime {
                Regime::Label | Regime::Cot => &[Mode::Answer],
                Regime::Ipt => &[Mode::Generate, Mode::Gt],
                Regime::Mixed => &[Mode::Answer, Mode::Generate, Mode::Gt],
            };
            for &mode in modes {
                let answerer = Answerer::new(&trained, mode, sampling, &Device::Cpu).unwrap();
                let mut rng = ChaCha8Rng::seed_from_u64(0);
                let predictions = answer_split(data.path(), Split::Test, None, 8, 4, None, |examples| {
                    Ok(answerer.answer(examples, &mut rng)?.predictions)
                })
                .unwrap();
                let scores = metrics::score(&predictions);
                assert_eq!(scores.overall.accuracy, 1.0, "{regime:?} in mode {mode:?}: {predictions:?}");
            }
        }
    }
}
