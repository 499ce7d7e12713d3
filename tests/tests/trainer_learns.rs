//! The trainer on datasets the generator really rendered, through the same library calls
//! the `ipt-gen` and `ipt-train` commands make: a tiny model overfits one in every regime and
//! every inference mode, and the whole results chain (generate, audit, train every task in
//! every regime, evaluate, report) fills every cell of the results page.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use candle_core::Device;
use ipt_gen::commands::audit::audit_dataset;
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
use ipt_train::report;
use ipt_train::train::autoencoder::{self, AutoencoderRun};
use ipt_train::train::curve::CurveSettings;
use ipt_train::train::optimizer::AdamWConfig;
use ipt_train::train::run::{TrainRun, small_model, train};

/// One renderer at a time in this process.
static RENDERING: Mutex<()> = Mutex::new(());

/// Renders `count` examples of every task at 64 px into the train split, plus `benchmark`
/// examples per task in the benchmark split.
fn render_dataset(root: &Path, count: u64, benchmark: u64, seed: u64) {
    let config = DatasetConfig {
        mix: [(Task::Pet, 1.0), (Task::Pt, 1.0), (Task::Mvc, 1.0)].into(),
        count,
        resolution: 64,
        benchmark: Task::ALL.into_iter().map(|t| (t, benchmark)).filter(|(_, n)| *n > 0).collect::<BTreeMap<_, _>>(),
        seed,
        splits: SplitShares { train: 1.0, validation: 0.0, test: 0.0 },
        ..DatasetConfig::default()
    };
    let _rendering = RENDERING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
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

/// A frozen 16 px autoencoder trained for `steps` steps on `data`.
fn autoencoder(data: &Path, out: &Path, steps: u64) -> PathBuf {
    let run = AutoencoderRun {
        data: data.to_path_buf(),
        model: AutoencoderConfig { image_size: 16, channels: vec![8, 8], latent_channels: 2 },
        steps,
        batch_size: 4,
        optimizer: AdamWConfig::default(),
        checkpoint_every: steps,
        seed: 1,
    };
    autoencoder::train(&run, out, &Device::Cpu).unwrap();
    out.to_path_buf()
}

/// The modes a run of `regime` is evaluated in.
fn modes(regime: Regime) -> &'static [Mode] {
    match regime {
        Regime::Label | Regime::Cot => &[Mode::Answer],
        Regime::Ipt | Regime::Mixed => &[Mode::Answer, Mode::Generate, Mode::Gt],
    }
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
    render_dataset(&data, 9, 0, 5);
    let ae = autoencoder(&data, &dir.path().join("ae"), 10);
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
            curve: None,
        };
        let summary = train(&config, &run, &Device::Cpu).unwrap();
        // Pure IPT training is not asked to answer without imagining (the paper's collapse).
        for &mode in modes(regime).iter().filter(|&&m| regime != Regime::Ipt || m != Mode::Answer) {
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

#[test]
fn the_results_chain_fills_every_cell_of_the_results_page() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    render_dataset(&data, 6, 2, 8);
    audit_dataset(&DatasetDir::new(&data)).unwrap();
    let ae = autoencoder(&data, &dir.path().join("ae"), 2);
    let mut runs = Vec::new();
    for task in Task::ALL {
        for regime in [Regime::Label, Regime::Cot, Regime::Ipt, Regime::Mixed] {
            let run = dir.path().join(format!("{task}-{}", regime.name()));
            let config = TrainRun {
                data: data.clone(),
                task: Some(task),
                regime,
                model: tiny_model(),
                autoencoder: Some(ae.clone()),
                vocabulary: 500,
                tokenizer: None,
                steps: 4,
                batch_size: 2,
                optimizer: AdamWConfig::default(),
                warmup: 1,
                checkpoint_every: 2,
                seed: 1,
                init: None,
                backbone: None,
                curve: Some(CurveSettings { every: 2, split: Split::Benchmark, limit: 2 }),
            };
            train(&config, &run, &Device::Cpu).unwrap();
            for &mode in modes(regime) {
                let options = EvalOptions {
                    split: Split::Benchmark,
                    mode: Some(mode),
                    data: None,
                    batch_size: 2,
                    limit: None,
                    sampling: Sampling { steps: 2, shift: 1.0, max_new_tokens: 16 },
                    save_imaginations: 1,
                    seed: 0,
                };
                evaluate(&run, &options, &Device::Cpu).unwrap();
            }
            runs.push(run);
        }
    }
    let page = dir.path().join("results.md");
    let pictures = report::write(&runs, Split::Benchmark, &page).unwrap();
    let text = std::fs::read_to_string(&page).unwrap();
    let grid = &text[text.find("| regime (mode) |").unwrap()..text.find("## Does a model beat").unwrap()];
    let rows: Vec<&str> = grid.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| regime")).collect();
    assert_eq!(rows.len(), 1 + 5 + 8, "chance, five blind baselines, eight regime rows:\n{grid}");
    for row in rows {
        assert!(!row.contains('—'), "an empty cell:\n{row}\nin\n{text}");
    }
    assert!(!text.contains("not measured"), "{text}");
    assert_eq!(text.matches("| main | 4 / 4 | 8 |").count(), 12, "every run in the runs table:\n{text}");
    // Loss, accuracy, and an imagination per task.
    assert_eq!(pictures.len(), 5, "{pictures:?}");
    for picture in &pictures {
        assert!(picture.exists(), "{}", picture.display());
    }
}
