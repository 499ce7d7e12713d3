//! The generator: task samplers, the renderer, shard writing and the `ipt-gen` commands.
//! So far: the scene inspection commands, the top-down plan drawing and the renderer.

pub mod commands;
pub mod files;
pub mod plan;
pub mod render;
pub mod tasks;
