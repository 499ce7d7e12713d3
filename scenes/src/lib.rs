//! Procedural indoor scenes for imaginative-perception training data.
//!
//! From a template and a seed this crate builds a furnished room or apartment with exact
//! geometry: rooms, walls and doorways, objects made of primitive parts, small objects
//! settled onto their receptacles with rapier3d, and a navigation grid with shortest paths.
//! It knows nothing about rendering; later stages read the [`Scene`] it produces.
//!
//! The stages, in order, each a module: [`floorplan`] (rooms, doorways, walls),
//! [`placement`] (furniture by rule), [`small`] (spots on receptacles), [`settle`] (physics),
//! [`nav`] (occupancy grid and paths); [`builder`] runs them with bounded retries.

pub mod assets;
pub mod builder;
pub mod catalog;
pub mod collide;
pub mod error;
pub mod floorplan;
pub mod geometry;
pub mod instance;
pub mod library;
pub mod materials;
pub mod mesh;
pub mod mesh_support;
pub mod nav;
pub mod placement;
pub mod raycast;
pub mod rng;
pub mod scene;
pub mod settle;
pub mod small;
pub mod template;
mod toml_file;

pub use assets::{AssetSources, Assets, Looks};
pub use builder::{BuildOptions, build_scene};
pub use error::{AssetError, SceneError};
pub use scene::Scene;
