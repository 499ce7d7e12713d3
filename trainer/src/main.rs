//! `ipt-train`: trains and evaluates IPT models on datasets made by `ipt-gen generate`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use candle_core::Device;
use clap::{Parser, Subcommand, ValueEnum};

use ipt_train::model::autoencoder::AutoencoderConfig;
use ipt_train::train::autoencoder::{self, AutoencoderRun};
use ipt_train::train::optimizer::AdamWConfig;

/// Trains and evaluates Imaginative Perception Token models (candle) on the generator's
/// Parquet datasets.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None, after_help = "Status: `autoencoder` is built; `train`, `eval`, `report` and `bench` come next (docs/trainer.md).")]
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
                "--device cuda: this build has no CUDA support; rebuild with `cargo build -p ipt-train --release --features cuda` on a machine with the CUDA toolkit"
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
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
