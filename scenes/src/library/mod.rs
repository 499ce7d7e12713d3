//! The free furniture library: Debian's `sweethome3d-furniture` package, imported into a
//! catalog folder our loader reads like any user's. A checked-in mapping file
//! (`scenes/assets/sweethome3d.toml`) names, per catalog category, the library's models to use;
//! [`import`] reads each from the package's `.sh3f` archives, simplifies it to a triangle
//! budget ([`simplify`]), writes it as an OBJ file in metres with its materials and textures,
//! and writes one `extends` category file per category with the models' sizes, authors and
//! licences. The output is the same, byte for byte, for the same package and mapping file.

mod archive;
mod simplify;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use glam::Vec3;
use serde::Deserialize;

use crate::catalog::Catalog;
use crate::error::AssetError;
use crate::mesh::{Orientation, load_obj};
use crate::mesh_support::find_support_faces;

pub use archive::{LibraryModel, read_library};

/// Where Debian's package puts the library's archives.
pub const DEBIAN_FURNITURE_DIR: &str = "/usr/share/sweethome3d/furniture";
/// The mapping file built into the binary (`scenes/assets/sweethome3d.toml`).
pub const BUILTIN_MAPPING: &str = include_str!("../../assets/sweethome3d.toml");
/// The folder, inside an import's output, that holds the category files.
pub const CATALOG_FOLDER: &str = "catalog";

/// Where imported libraries live: `$IPT_ASSETS_DIR`, else `$XDG_DATA_HOME/ipt-toolkit/assets`,
/// else `~/.local/share/ipt-toolkit/assets` (outside any checkout, so that every clone and CI
/// run on a machine shares one import).
pub fn installed_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("IPT_ASSETS_DIR") {
        return PathBuf::from(dir);
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("ipt-toolkit/assets")
}

/// The imported library's catalog folder, if an import has written one.
pub fn installed_catalog() -> Option<PathBuf> {
    let dir = installed_dir().join(CATALOG_FOLDER);
    dir.is_dir().then_some(dir)
}

/// Parses a mapping file's text (`file` names it in errors).
pub fn parse_mapping(text: &str, file: &Path) -> Result<Mapping, AssetError> {
    crate::toml_file::parse(text, file)
}

/// The mapping file: which library models stand for which catalog category.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Licence of each archive (file stem of the `.sh3f`), as an SPDX-like name.
    pub licenses: BTreeMap<String, String>,
    /// Category name -> the models' ids in the library (`Blend Swap CC-0#armchair`).
    pub categories: BTreeMap<String, Vec<String>>,
}

/// Settings of an import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The folder of `.sh3f` archives.
    pub from: PathBuf,
    /// The output folder (its `catalog/` is a catalog folder; `meshes/` holds the models).
    pub out: PathBuf,
    /// Most triangles per model after simplification.
    pub triangle_budget: usize,
    /// Largest texture side, pixels.
    pub texture_size: u32,
    /// Only models whose licence is one of these (all when empty).
    pub licenses: Vec<String>,
}

/// One imported model.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The category it stands for.
    pub category: String,
    /// The library's id.
    pub id: String,
    /// Triangles before and after simplification.
    pub triangles: (usize, usize),
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// The models written.
    pub imported: Vec<Imported>,
    /// Models of the mapping left out, with why.
    pub skipped: Vec<(String, String)>,
    /// Things worth knowing about models that were imported.
    pub notes: Vec<String>,
}

/// Imports the models `mapping` names (parsed from `mapping_file`) for the categories of
/// `catalog`, calling `progress` after each model.
pub fn import(
    mapping: &Mapping,
    mapping_file: &Path,
    catalog: &Catalog,
    options: &ImportOptions,
    mut progress: impl FnMut(&str),
) -> Result<ImportReport, AssetError> {
    let library = read_library(&options.from)?;
    let meshes_dir = options.out.join("meshes");
    let catalog_dir = options.out.join(CATALOG_FOLDER);
    for dir in [&meshes_dir, &catalog_dir] {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| io_error(dir, e))?;
        }
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    }
    let mut report = ImportReport::default();
    for (category_name, ids) in &mapping.categories {
        let field = |f: String| format!("categories.{category_name}{f}");
        let Some(category) = catalog.get(category_name) else {
            return Err(AssetError::field(mapping_file, field(String::new()), "not a category of the catalog"));
        };
        let mut entries = String::new();
        for (index, id) in ids.iter().enumerate() {
            let Some(model) = library.get(id) else {
                return Err(AssetError::field(
                    mapping_file,
                    field(format!("[{index}]")),
                    format!("`{id}` is not a model of the library in {}", options.from.display()),
                ));
            };
            let license = mapping.licenses.get(&model.archive).cloned().ok_or_else(|| {
                AssetError::field(mapping_file, "licenses", format!("no licence given for archive `{}`", model.archive))
            })?;
            progress(id);
            if !options.licenses.is_empty() && !options.licenses.contains(&license) {
                report.skipped.push((id.clone(), format!("licence {license}")));
                continue;
            }
            let folder = meshes_dir.join(slug(id));
            let size = fitted_size(model.size, category.size);
            let written = simplify::write_model(model, size, &folder, options.triangle_budget, options.texture_size)?;
            report.notes.extend(written.missing_textures.iter().map(|e| format!("{id}: {e}; its colour stands in")));
            let obj = folder.join("model.obj");
            // The model as the catalog will read it; a receptacle must offer a level face.
            let loaded = load_obj(&obj, Orientation::default(), id)?;
            if category.is_receptacle() && find_support_faces(&loaded, size).is_empty() {
                report.skipped.push((id.clone(), "no level face for small objects".into()));
                std::fs::remove_dir_all(&folder).map_err(|e| io_error(&folder, e))?;
                continue;
            }
            let relative = format!("../meshes/{}/model.obj", slug(id));
            write_entry(&mut entries, &relative, id, model, size, &license);
            report.imported.push(Imported {
                category: category_name.clone(),
                id: id.clone(),
                triangles: written.triangles,
            });
        }
        if !entries.is_empty() {
            let text = format!(
                "# Written by `ipt-gen assets import` from {}: do not edit, re-import.\nextends = true\n{entries}",
                mapping_file.display()
            );
            let path = catalog_dir.join(format!("{category_name}.toml"));
            std::fs::write(&path, text).map_err(|e| io_error(&path, e))?;
        }
    }
    // A texture shared by several materials is missed once.
    report.notes.dedup();
    Ok(report)
}

/// The most a model is scaled to match its category's size.
const MAX_FIT: f32 = 1.15;

/// The size a model of real size `size` is given in a category whose primitive look is
/// `category` large: scaled, keeping its proportions, so that the longer side of its
/// footprint matches the category's (by at most [`MAX_FIT`] either way). Templates are laid
/// out for the category's size; a sofa a third longer would not fit where they put sofas.
fn fitted_size(size: Vec3, category: Vec3) -> Vec3 {
    let long = |s: Vec3| s.x.max(s.z);
    let scale = (long(category) / long(size)).clamp(1.0 / MAX_FIT, MAX_FIT);
    size * scale
}

/// Appends the `[[meshes]]` entry of one model.
fn write_entry(out: &mut String, file: &str, id: &str, model: &LibraryModel, size: Vec3, license: &str) {
    let s = size;
    let quoted = |text: &str| toml::Value::String(text.to_string()).to_string();
    writeln!(out, "\n[[meshes]]").unwrap();
    writeln!(out, "file = {}", quoted(file)).unwrap();
    writeln!(out, "id = {}", quoted(&format!("sweethome3d:{id}"))).unwrap();
    writeln!(out, "size = [{:.3}, {:.3}, {:.3}]", s.x, s.y, s.z).unwrap();
    if let Some(author) = &model.author {
        writeln!(out, "author = {}", quoted(author)).unwrap();
    }
    writeln!(out, "license = {}", quoted(license)).unwrap();
    writeln!(out, "source = {}", quoted(&format!("sweethome3d-furniture {} ({})", model.archive, model.name))).unwrap();
}

/// A folder name for a library id: lowercase letters, digits and `-`.
fn slug(id: &str) -> String {
    let mut out = String::new();
    for c in id.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> AssetError {
    AssetError { file: path.to_path_buf(), position: None, field: None, message: e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_mapping_names_catalog_categories() {
        let mapping = parse_mapping(BUILTIN_MAPPING, Path::new("sweethome3d.toml")).unwrap();
        let catalog = crate::Assets::builtin().unwrap().catalog;
        for name in mapping.categories.keys() {
            assert!(catalog.get(name).is_some(), "{name}");
        }
        assert!(mapping.categories.len() >= 30, "{} categories", mapping.categories.len());
    }

    #[test]
    fn slugs_are_plain() {
        assert_eq!(slug("Blend Swap CC-0#armchair2"), "blend-swap-cc-0-armchair2");
    }
}
