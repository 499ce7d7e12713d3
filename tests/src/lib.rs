//! End-to-end tests live in `tests/`; this crate holds only what several of them share.

use ipt_scenes::library::installed_catalog;
use ipt_scenes::{AssetSources, Assets, Looks};

/// The built-in catalog with the imported furniture library, every object drawn by a mesh
/// where its category has one. Panics, saying how to import it, when the library is not
/// imported on this machine (`scripts/test` imports it, so CI always tests meshes).
pub fn mesh_assets() -> Assets {
    assert!(
        installed_catalog().is_some(),
        "the furniture library is not imported on this machine: run `scripts/setup --assets` (scripts/test does)"
    );
    Assets::load(&AssetSources { looks: Looks::Meshes, ..AssetSources::default() }).unwrap_or_else(|e| panic!("{e}"))
}
