//! The generator: task samplers, the renderer, shard writing and the `ipt-gen` commands.
//! So far it holds the scene inspection commands and the top-down plan drawing.

pub mod commands;
pub mod files;
pub mod plan;
