//! Reading the library's `.sh3f` archives: zip files holding a Java properties catalog
//! (`PluginFurnitureCatalog.properties`: `id#N`, `name#N`, `model#N`, `width#N`, ...) and one
//! folder per model with its OBJ, MTL and texture files.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use glam::{Mat3, Vec3};

use crate::error::AssetError;

const CATALOG_ENTRY: &str = "PluginFurnitureCatalog.properties";

/// One model of the library.
#[derive(Debug, Clone)]
pub struct LibraryModel {
    /// Its id, e.g. `Blend Swap CC-0#armchair`.
    pub id: String,
    /// Its English name.
    pub name: String,
    /// The archive's file stem, e.g. `BlendSwap-CC-0`.
    pub archive: String,
    /// The archive's path.
    pub archive_path: PathBuf,
    /// Path of the OBJ file inside the archive.
    pub model_path: String,
    /// Width (x), height (y) and depth (z) in metres.
    pub size: Vec3,
    /// Its author, when the catalog names one.
    pub author: Option<String>,
    /// The rotation that stands the model up (`modelRotation`, row by row), if any.
    pub rotation: Option<Mat3>,
}

/// Every model of the `.sh3f` archives in `dir`, by id.
pub fn read_library(dir: &Path) -> Result<BTreeMap<String, LibraryModel>, AssetError> {
    let error =
        |path: &Path, message: String| AssetError { file: path.to_path_buf(), position: None, field: None, message };
    let mut archives: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| {
            error(dir, format!("cannot read the library folder ({e}); install it with `scripts/setup --assets`"))
        })?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sh3f"))
        .collect();
    archives.sort();
    if archives.is_empty() {
        return Err(error(dir, "holds no .sh3f archives; install them with `scripts/setup --assets`".into()));
    }
    let mut models = BTreeMap::new();
    for path in archives {
        let file = File::open(&path).map_err(|e| error(&path, format!("cannot open: {e}")))?;
        let mut zip = zip::ZipArchive::new(file).map_err(|e| error(&path, format!("not a readable archive: {e}")))?;
        let entry = zip.by_name(CATALOG_ENTRY).map_err(|e| error(&path, format!("no {CATALOG_ENTRY}: {e}")))?;
        let properties =
            java_properties::read(entry).map_err(|e| error(&path, format!("{CATALOG_ENTRY} is unreadable: {e}")))?;
        let archive = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        for (key, id) in &properties {
            let Some(n) = key.strip_prefix("id#") else { continue };
            let get = |name: &str| properties.get(&format!("{name}#{n}")).map(|v| v.trim().to_string());
            let number = |name: &str| get(name).and_then(|v| v.parse::<f32>().ok()).filter(|v| *v > 0.0);
            let (Some(model_path), Some(w), Some(h), Some(d)) =
                (get("model"), number("width"), number("height"), number("depth"))
            else {
                continue;
            };
            let rotation = get("modelRotation").and_then(|text| {
                let values: Vec<f32> = text.split_whitespace().filter_map(|v| v.parse().ok()).collect();
                (values.len() == 9).then(|| Mat3::from_cols_slice(&values).transpose())
            });
            models.insert(
                id.clone(),
                LibraryModel {
                    id: id.clone(),
                    name: get("name").unwrap_or_else(|| id.clone()),
                    archive: archive.clone(),
                    archive_path: path.clone(),
                    model_path: model_path.trim_start_matches('/').to_string(),
                    size: Vec3::new(w, h, d) * 0.01,
                    author: get("creator").filter(|c| !c.is_empty()),
                    rotation,
                },
            );
        }
    }
    Ok(models)
}

/// Extracts the folder of `model`'s OBJ file from its archive into `into`; returns the OBJ's
/// path there.
pub(crate) fn extract_model(model: &LibraryModel, into: &Path) -> Result<PathBuf, AssetError> {
    let error = |message: String| AssetError {
        file: model.archive_path.clone(),
        position: None,
        field: None,
        message: format!("{}: {message}", model.id),
    };
    let file = File::open(&model.archive_path).map_err(|e| error(format!("cannot open: {e}")))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| error(format!("not a readable archive: {e}")))?;
    let folder = model.model_path.rsplit_once('/').map_or("", |(folder, _)| folder);
    let prefix = if folder.is_empty() { String::new() } else { format!("{folder}/") };
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index).map_err(|e| error(format!("entry {index}: {e}")))?;
        let name = entry.name().map_err(|e| error(format!("entry {index}: {e}")))?.into_owned();
        let Some(relative) = name.strip_prefix(&prefix) else { continue };
        // Entries with `..` or absolute paths are refused by `enclosed_name`.
        if entry.is_dir() || relative.contains('/') || entry.enclosed_name().is_none() {
            continue;
        }
        let target = into.join(relative);
        let mut out = File::create(&target).map_err(|e| error(format!("cannot write {}: {e}", target.display())))?;
        std::io::copy(&mut entry, &mut out).map_err(|e| error(format!("cannot extract {name}: {e}")))?;
    }
    let obj = into.join(model.model_path.rsplit('/').next().unwrap_or(&model.model_path));
    if !obj.is_file() {
        return Err(error(format!("the archive has no {}", model.model_path)));
    }
    Ok(obj)
}
