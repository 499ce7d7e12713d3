//! Loading the data files: the built-in material library, catalog and templates embedded in
//! the binary, plus user folders that add to or override them.
//!
//! A catalog folder holds one `*.toml` per category and optionally a `materials.toml`;
//! a templates folder holds one `*.toml` per template. A user file with the same name as a
//! built-in one replaces it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::builder::{BuildOptions, build_scene};
use crate::catalog::{Catalog, Category, CategoryDef};
use crate::error::{AssetError, SceneError};
use crate::materials::MaterialLibrary;
use crate::scene::Scene;
use crate::template::{ResolveContext, RoomTemplate, Template, TemplateDef};

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_assets.rs"));
}

const MATERIALS_FILE: &str = "materials.toml";

/// How many times more layouts a scene with mesh models may try (see [`Assets::build`]).
pub const MESH_ATTEMPTS: u32 = 3;

/// Where to load data files from, besides the built-in ones.
#[derive(Debug, Clone, Default)]
pub struct AssetSources {
    /// Folders of category files (and optional `materials.toml`), in order.
    pub catalog_dirs: Vec<PathBuf>,
    /// Folders of template files, in order.
    pub template_dirs: Vec<PathBuf>,
    /// Which looks objects take when a category has mesh models. Unless it is
    /// [`Looks::Primitives`] (the default), the installed furniture library's catalog
    /// ([`crate::library::installed_catalog`]) loads before `catalog_dirs`.
    pub looks: Looks,
}

/// Which looks objects take when a category has both primitive parts and mesh models.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Looks {
    /// Primitive parts only; meshes only for a category that has no parts.
    #[default]
    Primitives,
    /// Mesh models only; primitives for a category that has no mesh.
    Meshes,
    /// Either, with equal chances per look.
    Mixed,
}

impl Looks {
    /// The default on this machine: meshes when the furniture library is installed,
    /// primitives otherwise.
    pub fn installed() -> Looks {
        if crate::library::installed_catalog().is_some() { Looks::Meshes } else { Looks::Primitives }
    }

    /// Keeps the looks of `category` this choice allows.
    fn apply(self, category: &mut Category) {
        if category.parts.is_empty() || category.meshes.is_empty() {
            return;
        }
        match self {
            Looks::Primitives => category.meshes.clear(),
            Looks::Meshes => category.parts.clear(),
            Looks::Mixed => {}
        }
    }
}

/// A data file's name (as shown in messages) and its text.
struct SourceFile {
    path: PathBuf,
    text: String,
}

impl SourceFile {
    fn builtin(folder: &str, name: &str, text: &str) -> SourceFile {
        SourceFile { path: PathBuf::from(format!("builtin:scenes/{folder}{name}")), text: text.to_string() }
    }

    fn stem(&self) -> String {
        self.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
    }
}

/// Everything loaded: materials, categories and templates.
#[derive(Debug, Clone)]
pub struct Assets {
    /// The material library.
    pub materials: MaterialLibrary,
    /// The object catalog.
    pub catalog: Catalog,
    templates: BTreeMap<String, Arc<Template>>,
}

impl Assets {
    /// The built-in data files only.
    pub fn builtin() -> Result<Assets, AssetError> {
        Assets::load(&AssetSources::default())
    }

    /// The built-in data files plus the user folders in `sources`.
    pub fn load(sources: &AssetSources) -> Result<Assets, AssetError> {
        let mut materials = MaterialLibrary::default();
        materials.load_file(builtin::MATERIALS, Path::new("builtin:scenes/materials.toml"))?;
        // Each category file parsed once: stem -> (file, definition).
        let mut category_files: BTreeMap<String, (PathBuf, CategoryDef)> = BTreeMap::new();
        for (name, text) in builtin::CATALOG {
            let file = SourceFile::builtin("catalog/", name, text);
            let def = crate::toml_file::parse(&file.text, &file.path)?;
            category_files.insert(file.stem(), (file.path, def));
        }
        let mut extensions: Vec<(String, PathBuf, CategoryDef)> = Vec::new();
        let library = crate::library::installed_catalog().filter(|_| sources.looks != Looks::Primitives);
        for dir in library.iter().chain(&sources.catalog_dirs) {
            for file in read_folder(dir)? {
                if file.path.file_name().is_some_and(|n| n == MATERIALS_FILE) {
                    materials.load_file(&file.text, &file.path)?;
                    continue;
                }
                let def: CategoryDef = crate::toml_file::parse(&file.text, &file.path)?;
                if def.extends {
                    extensions.push((file.stem(), file.path, def));
                } else {
                    category_files.insert(file.stem(), (file.path, def));
                }
            }
        }
        let mut catalog = Catalog::default();
        let mut category_paths: BTreeMap<String, PathBuf> = BTreeMap::new();
        for (stem, (path, def)) in category_files {
            catalog.insert(Category::resolve(def, &stem, &materials, &path)?);
            category_paths.insert(stem, path);
        }
        for (stem, path, def) in extensions {
            let Some(mut category) = catalog.get(&stem).cloned() else {
                return Err(AssetError::field(
                    &path,
                    "extends",
                    format!(
                        "there is no category `{stem}` (built in, or a file in a --catalog folder) to add meshes to"
                    ),
                ));
            };
            category.extend(def, &path)?;
            catalog.insert(category);
        }
        catalog.apply_looks(|category| sources.looks.apply(category));
        if sources.looks != Looks::Primitives && catalog.iter().all(|c| c.meshes.is_empty()) {
            return Err(AssetError {
                file: crate::library::installed_dir(),
                position: None,
                field: None,
                message: format!(
                    "{:?} looks were asked for, but no category has a mesh model: import the furniture \
                     library with `scripts/setup --assets`, add meshes in a --catalog folder, or use \
                     --assets primitives",
                    sources.looks
                ),
            });
        }
        catalog.check_kinds(|name| {
            category_paths.get(name).cloned().unwrap_or_else(|| PathBuf::from(format!("{name}.toml")))
        })?;

        let mut template_files: BTreeMap<String, SourceFile> = BTreeMap::new();
        for (name, text) in builtin::TEMPLATES {
            let file = SourceFile::builtin("templates/", name, text);
            template_files.insert(file.stem(), file);
        }
        for dir in &sources.template_dirs {
            for file in read_folder(dir)? {
                template_files.insert(file.stem(), file);
            }
        }
        let mut defs = Vec::new();
        for (stem, file) in &template_files {
            let def: TemplateDef = crate::toml_file::parse(&file.text, &file.path)?;
            defs.push((stem.clone(), &file.path, def));
        }
        let (apartment_defs, room_defs): (Vec<_>, Vec<_>) =
            defs.into_iter().partition(|(_, _, def)| def.is_apartment());
        let mut rooms: BTreeMap<String, Arc<RoomTemplate>> = BTreeMap::new();
        let mut templates = BTreeMap::new();
        for (stem, path, def) in room_defs {
            let cx = ResolveContext { catalog: &catalog, materials: &materials, rooms: &rooms };
            let room = Arc::new(def.resolve_room(&stem, &cx, path)?);
            templates.insert(stem.clone(), Arc::new(Template::single_room(room.clone(), path)));
            rooms.insert(stem, room);
        }
        for (stem, path, def) in apartment_defs {
            let cx = ResolveContext { catalog: &catalog, materials: &materials, rooms: &rooms };
            templates.insert(stem.clone(), Arc::new(def.resolve_apartment(&stem, &cx, path)?));
        }
        Ok(Assets { materials, catalog, templates })
    }

    /// The template called `name`.
    pub fn template(&self, name: &str) -> Result<Arc<Template>, SceneError> {
        self.templates.get(name).cloned().ok_or_else(|| SceneError::UnknownTemplate {
            name: name.to_string(),
            available: self.template_names().join(", "),
        })
    }

    /// Builds the scene of the template called `template` for `seed`. With mesh models,
    /// [`MESH_ATTEMPTS`] times `options.max_attempts` layouts are tried: models differ in
    /// shape and size from the primitives the templates were tuned with, and fewer layouts
    /// meet every rule (docs/benchmarks.md, "Mesh models").
    pub fn build(&self, template: &str, seed: u64, options: &BuildOptions) -> Result<Scene, SceneError> {
        let meshes = self.catalog.iter().any(|c| !c.meshes.is_empty());
        let options = BuildOptions {
            max_attempts: if meshes { options.max_attempts * MESH_ATTEMPTS } else { options.max_attempts },
            ..options.clone()
        };
        build_scene(&*self.template(template)?, &self.catalog, seed, &options)
    }

    /// Names of all loaded templates, sorted.
    pub fn template_names(&self) -> Vec<String> {
        self.templates.keys().cloned().collect()
    }
}

/// The `*.toml` files of a folder, sorted by name.
fn read_folder(dir: &Path) -> Result<Vec<SourceFile>, AssetError> {
    let io_error = |path: &Path, e: std::io::Error| AssetError {
        file: path.to_path_buf(),
        position: None,
        field: None,
        message: format!("cannot read: {e}"),
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io_error(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
            Ok(SourceFile { path, text })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_assets_load() {
        let assets = Assets::builtin().unwrap_or_else(|e| panic!("{e}"));
        println!("{} materials, {} categories", assets.materials.len(), assets.catalog.len());
        for category in assets.catalog.iter() {
            println!(
                "{:<18} {:>5.2} x {:>5.2} x {:>5.2} m, {:>3} parts{}",
                category.name,
                category.size.x,
                category.size.y,
                category.size.z,
                category.parts.len(),
                if category.is_receptacle() { ", receptacle" } else { "" }
            );
        }
        assert!(!assets.catalog.is_empty());
    }
}
