//! One module per `ipt-gen` subcommand: arguments and a `run` function.

pub mod assets;
pub mod audit;
pub mod bench;
pub mod export;
pub mod generate;
pub mod merge;
pub mod pipeline_bench;
pub mod preview;
pub mod render;
pub mod sample;
pub mod scene;
pub mod templates;
pub mod validate;

use anyhow::Result;
use ipt_scenes::{AssetSources, Assets};

/// Loads built-in and user data files, turning a data-file error into a readable one.
pub fn load_assets(sources: &AssetSources) -> Result<Assets> {
    Assets::load(sources).map_err(|e| anyhow::anyhow!("{e}"))
}
