//! The trainer on a dataset the generator really rendered: a tiny model overfits it in
//! every regime and every inference mode, through the same library calls the
//! `ipt-train autoencoder`, `train` and `eval` commands make.

use std::path::Path;

use candle_core::Device;
use ipt_gen::dataset::config::{DatasetConfig, SplitShares};
use ipt_gen::dataset::layout::units;
use ipt_gen::dataset::pipeline::{Generator, generate};
use ipt_gen::dataset::rendering::Renderers;
use ipt_gen::dataset::store::DatasetDir;
use ipt_gen::render::bevy_backend::{BevyRenderer, RendererOptions};
use ipt_gen::tasks::Task;
use ipt_schema::Split;
use ipt_train::data::batch::Regime;
use ipt_train::eval::infer::{Mode, Sampling};
use ipt_train::eval::{EvalOptions, evaluate};
use ipt_train::model::autoencoder::AutoencoderConfig;
use ipt_train::model::ipt::IptConfig;
use ipt_train::model::llama::LlamaConfig;
use ipt_train::model::vision::VisionConfig;
use ipt_train::train::autoencoder::{self, AutoencoderRun};
use ipt_train::train::optimizer::AdamWConfig;
use ipt_train::train::run::{TrainRun, small_model, train};

/// Renders a dataset of every task, all of it in the train split.
fn render_dataset(root: &Path) {
    let config = DatasetConfig {
        mix: [(Task::Pet, 1.0), (Task::Pt, 1.0), (Task::Mvc, 1.0)].into(),
        count: 9,
        resolution: 64,
        benchmark: Default::default(),
        seed: 5,
        splits: SplitShares { train: 1.0, validation: 0.0, test: 0.0 },
        ..DatasetConfig::default()
    };
    let out = DatasetDir::new(root);
    let _lock = out.lock(1, 0).unwrap();
    out.claim(&config).unwrap();
    let assets = ipt_scenes::Assets::builtin().unwrap();
    let generator = Generator::new(&assets, &config).unwrap();
    let renderer = BevyRenderer::new(&RendererOptions::default()).unwrap();
    let mut renderers = Renderers::start(renderer, 0, |_| anyhow::bail!("one renderer")).unwrap();
    generate(&generator, &out, &units(&config), &mut renderers, &indicatif::ProgressBar::hidden()).unwrap();
    out.finalize(&config).unwrap();
}

fn tiny_model() -> IptConfig {
    IptConfig {
        language: LlamaConfig {
            hidden_size: 64,
            intermediate_size: 128,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            num_key_value_heads: Some(2),
            ..small_model().language
        },
        vision: VisionConfig { image_size: 16, patch_size: 8, width: 16, layers: 1, heads: 2 },
        latent: small_model().latent,
    }
}

#[test]
fn a_tiny_model_overfits_a_rendered_dataset_in_every_regime_and_mode() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    render_dataset(&data);
    let ae = dir.path().join("ae");
    let autoencoder_run = AutoencoderRun {
        data: data.clone(),
        model: AutoencoderConfig { image_size: 16, channels: vec![8, 8], latent_channels: 2 },
        steps: 10,
        batch_size: 4,
        optimizer: AdamWConfig::default(),
        checkpoint_every: 10,
        seed: 1,
    };
    autoencoder::train(&autoencoder_run, &ae, &Device::Cpu).unwrap();
    for regime in [Regime::Label, Regime::Cot, Regime::Ipt, Regime::Mixed] {
        let run = dir.path().join(format!("{regime:?}"));
        let config = TrainRun {
            data: data.clone(),
            task: None,
            regime,
            model: tiny_model(),
            autoencoder: Some(ae.clone()),
            // Merges shorten the chains of thought, the longest sequences here.
            vocabulary: 2000,
            tokenizer: None,
            // Answer-only memorises fastest; imagining also has to learn the flow.
            steps: match regime {
                Regime::Label => 100,
                Regime::Cot => 150,
                Regime::Ipt | Regime::Mixed => 300,
            },
            batch_size: 9,
            optimizer: AdamWConfig { learning_rate: 3e-3, weight_decay: 0.0, ..AdamWConfig::default() },
            warmup: 10,
            checkpoint_every: 100,
            seed: 2,
            init: None,
            backbone: None,
        };
        let summary = train(&config, &run, &Device::Cpu).unwrap();
        let modes: &[Mode] = match regime {
            Regime::Label | Regime::Cot => &[Mode::Answer],
            Regime::Ipt => &[Mode::Generate, Mode::Gt],
            Regime::Mixed => &[Mode::Answer, Mode::Generate, Mode::Gt],
        };
        for &mode in modes {
            let options = EvalOptions {
                split: Split::Train,
                mode: Some(mode),
                data: None,
                batch_size: 9,
                limit: None,
                sampling: Sampling { steps: 8, shift: 1.0, max_new_tokens: 400 },
                save_imaginations: 2,
                seed: 0,
            };
            let evaluation = evaluate(&run, &options, &Device::Cpu).unwrap();
            let overall = &evaluation.scores.overall;
            assert_eq!(
                (overall.correct, overall.examples),
                (9, 9),
                "{regime:?} in mode {mode:?} after {summary:?}: {:#?}",
                evaluation.scores
            );
            if mode != Mode::Answer {
                let pictures = run.join("eval").join(format!("train-{}-imaginations", mode.name()));
                assert_eq!(std::fs::read_dir(pictures).unwrap().count(), 2);
            }
        }
    }
}
