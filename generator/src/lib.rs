//! The generator: task samplers, the renderer, shard writing and the `ipt-gen` commands.

pub mod audit;
pub mod commands;
pub mod dataset;
pub mod export;
pub mod files;
pub mod plan;
pub mod render;
pub mod tasks;
