//! The object catalog: one TOML file per category, describing the object as primitive parts
//! in metres with colour palettes, and/or as mesh models ([`MeshDef`], OBJ files). Files are
//! parsed into [`CategoryDef`] and resolved into [`Category`]: mirrored and repeated parts
//! expanded, palettes checked against the material library, the parts moved so the object
//! stands centred on its origin, and mesh models read, with the faces small objects rest on
//! found on them ([`crate::mesh_support`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use glam::{Quat, Vec3};
use serde::{Deserialize, Serialize};

use crate::error::AssetError;
use crate::geometry::{Aabb, Obb, Shape, euler_degrees};
use crate::materials::{Material, MaterialLibrary};
use crate::mesh::{Axis, MeshModel, Orientation, load_obj};
use crate::mesh_support::{SupportFace, find_support_faces};

/// One category file as written by a user.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryDef {
    /// Identifier used by templates; defaults to the file name without `.toml`.
    pub name: Option<String>,
    /// Readable singular used in questions, e.g. "office chair"; defaults to the name with spaces.
    pub display: Option<String>,
    /// Readable plural; defaults to the display name plus "s".
    pub plural: Option<String>,
    /// Relative size jitter per axis (0.1 = up to +-10 %).
    #[serde(default = "default_jitter")]
    pub jitter: f32,
    /// Whether instances may be counted in questions (false for structure-like things).
    #[serde(default = "yes")]
    pub countable: bool,
    /// The category this one is a kind of, as a person reads the names: a houseplant is a
    /// kind of potted plant, an office chair a kind of chair. Questions never rely on telling
    /// two categories of one family apart (see [`Catalog::family`]).
    pub kind_of: Option<String>,
    /// Material slot name -> material names; each object picks one material per slot.
    #[serde(default)]
    pub palettes: BTreeMap<String, Vec<String>>,
    /// The primitives the object is made of (none for a category drawn only by meshes).
    #[serde(default)]
    pub parts: Vec<PartDef>,
    /// Mesh models of the category: each is one more look an object may take.
    #[serde(default)]
    pub meshes: Vec<MeshDef>,
    /// This file only adds its `meshes` to the category of the same name loaded before it
    /// (built in, or from an earlier folder), keeping that category's parts and settings.
    #[serde(default)]
    pub extends: bool,
}

/// A mesh model of a category, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshDef {
    /// The OBJ file (its MTL files and textures beside it), relative to the category file.
    pub file: PathBuf,
    /// A name for the model in scene output and attributions; defaults to the file's path as
    /// written.
    pub id: Option<String>,
    /// The model's axis that points up; default `"+y"`.
    pub up: Option<Axis>,
    /// The model's axis its front faces; default `"+z"`.
    pub front: Option<Axis>,
    /// Size of the object's box (width x, height y, depth z) in metres, once turned: the model
    /// is stretched to it. Default: the file's own size times `scale`.
    pub size: Option<[f32; 3]>,
    /// Metres per unit of the file when `size` is absent (0.01 for a model in centimetres).
    pub scale: Option<f32>,
    /// Who made the model (kept with every dataset that uses it).
    pub author: Option<String>,
    /// The model's licence, e.g. `"CC0-1.0"` or `"CC-BY-3.0"`.
    pub license: Option<String>,
    /// Where the model comes from: a web address or a library's id.
    pub source: Option<String>,
}

fn default_jitter() -> f32 {
    0.05
}

fn yes() -> bool {
    true
}

/// One primitive of a category, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartDef {
    /// Optional name, for readability of files and scene output.
    pub name: Option<String>,
    /// The primitive.
    pub shape: Shape,
    /// Bounding size in the part's own axes, metres.
    pub size: [f32; 3],
    /// Centre of the part's box in the object's frame (+Y up, front +Z), metres.
    pub at: [f32; 3],
    /// Rotation in degrees about X, then Y, then Z.
    pub rotate: Option<[f32; 3]>,
    /// Also place mirrored copies: "x", "z" or "xz".
    pub mirror: Option<Mirror>,
    /// Also place `count - 1` further copies, each shifted by `step` from the previous one.
    pub repeat: Option<RepeatDef>,
    /// Palette slot giving this part's material.
    pub material: String,
    /// Each copy of this part picks its own material from the slot (e.g. book spines).
    #[serde(default)]
    pub vary: bool,
    /// The part's top face carries small objects.
    #[serde(default)]
    pub support: bool,
    /// Free height above a support face (shelves); unlimited when absent.
    pub clearance: Option<f32>,
}

/// Mirror planes for [`PartDef::mirror`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mirror {
    /// Mirror across the plane x = 0.
    X,
    /// Mirror across the plane z = 0.
    Z,
    /// Both: four copies.
    Xz,
}

/// Repetition for [`PartDef::repeat`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatDef {
    /// Total number of copies, at least 1.
    pub count: u32,
    /// Offset between consecutive copies, metres.
    pub step: [f32; 3],
}

/// A resolved primitive of a category, in the object's frame at nominal size.
#[derive(Debug, Clone, PartialEq)]
pub struct PartSpec {
    /// Part name (may repeat across copies).
    pub name: String,
    /// The primitive.
    pub shape: Shape,
    /// Size in the part's own axes.
    pub size: Vec3,
    /// Centre in the object frame.
    pub center: Vec3,
    /// Object-from-part rotation.
    pub rotation: Quat,
    /// Palette slot.
    pub slot: String,
    /// Picks its own material per object instead of sharing the slot's choice.
    pub vary: bool,
    /// `Some(clearance)` when the top face carries small objects (clearance may be infinite).
    pub support: Option<f32>,
}

impl PartSpec {
    /// The part's box in the object frame.
    pub fn obb(&self) -> Obb {
        Obb { center: self.center, half_extents: 0.5 * self.size, rotation: self.rotation }
    }
}

/// Who made a mesh model and under which licence.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Attribution {
    /// The model's id (as in scene output).
    pub id: String,
    /// Its author, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Its licence, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Where it came from, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A resolved mesh look of a category.
#[derive(Debug, Clone)]
pub struct MeshVariant {
    /// The model, oriented and normalised.
    pub model: Arc<MeshModel>,
    /// Nominal size of the object's box, metres.
    pub size: Vec3,
    /// Faces where small objects rest (for receptacle categories), at the nominal size.
    pub supports: Vec<SupportFace>,
    /// Who made it.
    pub attribution: Attribution,
}

/// A resolved category.
#[derive(Debug, Clone)]
pub struct Category {
    /// Identifier.
    pub name: String,
    /// Readable singular.
    pub display: String,
    /// Readable plural.
    pub plural: String,
    /// Relative size jitter per axis.
    pub jitter: f32,
    /// Whether instances may be counted in questions.
    pub countable: bool,
    /// The category this one is a kind of (checked to exist by [`Catalog::check_kinds`]).
    pub kind_of: Option<String>,
    /// Nominal bounding size (x width, y height, z depth).
    pub size: Vec3,
    /// Slot -> candidate materials.
    pub palettes: BTreeMap<String, Vec<Material>>,
    /// Parts, placed so the object's box is centred in X and Z with its bottom at y = 0
    /// (empty when the category is drawn by meshes only).
    pub parts: Vec<PartSpec>,
    /// Mesh looks.
    pub meshes: Vec<MeshVariant>,
}

impl Category {
    /// True when some look carries small objects.
    pub fn is_receptacle(&self) -> bool {
        self.parts.iter().any(|p| p.support.is_some()) || self.meshes.iter().any(|m| !m.supports.is_empty())
    }

    /// Number of looks an object may take: the primitive one (when there are parts) and
    /// each mesh.
    pub fn looks(&self) -> usize {
        usize::from(!self.parts.is_empty()) + self.meshes.len()
    }

    /// Adds the meshes of an `extends` file (see [`CategoryDef::extends`]).
    pub fn extend(&mut self, def: CategoryDef, file: &Path) -> Result<(), AssetError> {
        let unexpected = [
            ("name", def.name.is_some()),
            ("display", def.display.is_some()),
            ("plural", def.plural.is_some()),
            ("kind_of", def.kind_of.is_some()),
            ("palettes", !def.palettes.is_empty()),
            ("parts", !def.parts.is_empty()),
        ];
        if let Some((field, _)) = unexpected.iter().find(|(_, set)| *set) {
            return Err(AssetError::field(
                file,
                *field,
                "a file with `extends = true` only adds `meshes` to a loaded category".to_string(),
            ));
        }
        let receptacle = self.is_receptacle();
        for (index, mesh) in def.meshes.iter().enumerate() {
            let variant = resolve_mesh(mesh, index, receptacle, file)?;
            self.size = self.size.max(variant.size);
            self.meshes.push(variant);
        }
        Ok(())
    }

    /// Resolves a parsed file. `file` is used in error messages; `stem` is the file name
    /// without extension (the default name).
    pub fn resolve(
        def: CategoryDef,
        stem: &str,
        materials: &MaterialLibrary,
        file: &Path,
    ) -> Result<Category, AssetError> {
        let error = |field: String, message: String| AssetError::field(file, field, message);
        let name = def.name.unwrap_or_else(|| stem.to_string());
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return Err(error("name".into(), format!("`{name}` must be lowercase letters, digits and _")));
        }
        let display = def.display.unwrap_or_else(|| name.replace('_', " "));
        let plural = def.plural.unwrap_or_else(|| format!("{display}s"));
        if !(0.0..=0.5).contains(&def.jitter) {
            return Err(error("jitter".into(), format!("{} is outside 0..=0.5", def.jitter)));
        }
        let mut palettes = BTreeMap::new();
        for (slot, names) in &def.palettes {
            palettes.insert(slot.clone(), materials.resolve_palette(names, file, &format!("palettes.{slot}"))?);
        }
        if def.extends {
            return Err(error(
                "extends".into(),
                format!("there is no category `{name}` loaded before this file to add meshes to"),
            ));
        }
        if def.parts.is_empty() && def.meshes.is_empty() {
            return Err(error("parts".into(), "a category needs at least one part or one mesh".into()));
        }
        let mut parts = Vec::new();
        for (index, part) in def.parts.iter().enumerate() {
            let field = |f: &str| format!("parts[{index}].{f}");
            if part.size.iter().any(|&s| !(s > 0.0 && s < 20.0)) {
                return Err(error(field("size"), format!("{:?}: every size must be between 0 and 20 m", part.size)));
            }
            // `abs() <= limit` is false for NaN, so this also rejects `nan` and `inf`.
            let within = |values: &[f32], limit: f32| values.iter().all(|v| v.abs() <= limit);
            if !within(&part.at, 20.0) {
                return Err(error(field("at"), format!("{:?}: every coordinate must be within +-20 m", part.at)));
            }
            if !within(&part.rotate.unwrap_or_default(), 360.0) {
                return Err(error(field("rotate"), "every angle must be within +-360 degrees".into()));
            }
            if !within(&part.repeat.as_ref().map_or([0.0; 3], |r| r.step), 20.0) {
                return Err(error(field("repeat.step"), "every step must be within +-20 m".into()));
            }
            if !palettes.contains_key(&part.material) {
                let slots: Vec<&str> = palettes.keys().map(String::as_str).collect();
                return Err(error(
                    field("material"),
                    format!("slot `{}` is not in [palettes] (slots: {})", part.material, slots.join(", ")),
                ));
            }
            if part.clearance.is_some_and(|c| !(c > 0.0 && c.is_finite())) {
                return Err(error(field("clearance"), "must be positive".into()));
            }
            if part.clearance.is_some() && !part.support {
                return Err(error(field("clearance"), "only meaningful with `support = true`".into()));
            }
            let copies = part.repeat.as_ref().map_or(1, |r| r.count);
            if !(1..=200).contains(&copies) {
                return Err(error(field("repeat.count"), format!("{copies} is outside 1..=200")));
            }
            expand_part(part, &mut parts);
        }
        let bounds = parts.iter().map(|p| p.obb().aabb()).reduce(Aabb::union);
        let shift = bounds.map_or(Vec3::ZERO, |b| Vec3::new(-b.center().x, -b.min.y, -b.center().z));
        for part in &mut parts {
            part.center += shift;
        }
        let receptacle = parts.iter().any(|p| p.support.is_some());
        let meshes = (def.meshes.iter().enumerate())
            .map(|(index, mesh)| resolve_mesh(mesh, index, receptacle, file))
            .collect::<Result<Vec<_>, _>>()?;
        let size = meshes.iter().map(|m| m.size).fold(bounds.map_or(Vec3::ZERO, |b| b.size()), Vec3::max);
        Ok(Category {
            name,
            display,
            plural,
            jitter: def.jitter,
            countable: def.countable,
            kind_of: def.kind_of,
            size,
            palettes,
            parts,
            meshes,
        })
    }
}

/// Reads the model of `meshes[index]` of `file`, and finds its support faces when the
/// category is a `receptacle`.
fn resolve_mesh(def: &MeshDef, index: usize, receptacle: bool, file: &Path) -> Result<MeshVariant, AssetError> {
    let field = |f: &str| format!("meshes[{index}].{f}");
    let path = file.parent().unwrap_or(Path::new(".")).join(&def.file);
    let orientation = Orientation {
        up: def.up.unwrap_or(Orientation::default().up),
        front: def.front.unwrap_or(Orientation::default().front),
    };
    let id = def.id.clone().unwrap_or_else(|| def.file.to_string_lossy().into_owned());
    let model = load_obj(&path, orientation, &id)
        .map_err(|e| AssetError::field(file, field("file"), format!("{}: {}", e.file.display(), e.message)))?;
    let size = match (def.size, def.scale) {
        (Some(_), Some(_)) => {
            return Err(AssetError::field(file, field("scale"), "give `size` or `scale`, not both"));
        }
        (Some(size), None) => Vec3::from(size),
        (None, scale) => model.extent * scale.unwrap_or(1.0),
    };
    if !size.cmpgt(Vec3::splat(0.005)).all() || !size.cmplt(Vec3::splat(20.0)).all() {
        return Err(AssetError::field(
            file,
            field(if def.size.is_some() { "size" } else { "scale" }),
            format!(
                "the model would be {:.3} x {:.3} x {:.3} m; every side must be within 0.005..20 m",
                size.x, size.y, size.z
            ),
        ));
    }
    let supports = if receptacle { find_support_faces(&model, size) } else { Vec::new() };
    if receptacle && supports.is_empty() {
        return Err(AssetError::field(
            file,
            field("file"),
            format!(
                "{}: the category holds small objects, but the model has no level face for them (at least {:.0} cm up)",
                path.display(),
                100.0 * crate::mesh_support::LOWEST_FACE
            ),
        ));
    }
    let attribution =
        Attribution { id, author: def.author.clone(), license: def.license.clone(), source: def.source.clone() };
    Ok(MeshVariant { model: Arc::new(model), size, supports, attribution })
}

/// Expands mirror and repeat into concrete parts.
fn expand_part(def: &PartDef, out: &mut Vec<PartSpec>) {
    let rotate = def.rotate.unwrap_or([0.0; 3]);
    let size = Shape::fit(def.shape, Vec3::from(def.size));
    let (count, step) = def.repeat.as_ref().map_or((1, [0.0; 3]), |r| (r.count, r.step));
    let mirrors: &[(f32, f32)] = match def.mirror {
        None => &[(1.0, 1.0)],
        Some(Mirror::X) => &[(1.0, 1.0), (-1.0, 1.0)],
        Some(Mirror::Z) => &[(1.0, 1.0), (1.0, -1.0)],
        Some(Mirror::Xz) => &[(1.0, 1.0), (-1.0, 1.0), (1.0, -1.0), (-1.0, -1.0)],
    };
    for &(mx, mz) in mirrors {
        // Mirroring across x = 0 flips rotations about Y and Z; across z = 0, about X and Y.
        let angles = [rotate[0] * mz, rotate[1] * mx * mz, rotate[2] * mx];
        for i in 0..count {
            let offset = Vec3::from(step) * i as f32;
            let at = Vec3::from(def.at) + offset;
            out.push(PartSpec {
                name: def.name.clone().unwrap_or_else(|| format!("{:?}", def.shape).to_lowercase()),
                shape: def.shape,
                size,
                center: Vec3::new(at.x * mx, at.y, at.z * mz),
                rotation: euler_degrees(angles),
                slot: def.material.clone(),
                vary: def.vary,
                support: def.support.then(|| def.clearance.unwrap_or(f32::INFINITY)),
            });
        }
    }
}

/// All categories by name.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    categories: BTreeMap<String, Category>,
}

impl Catalog {
    /// Adds (or replaces) a category.
    pub fn insert(&mut self, category: Category) {
        self.categories.insert(category.name.clone(), category);
    }

    /// The category called `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Category> {
        self.categories.get(name)
    }

    /// All categories in name order.
    pub fn iter(&self) -> impl Iterator<Item = &Category> {
        self.categories.values()
    }

    /// Lets `keep` choose each category's looks (see [`crate::assets::Looks`]).
    pub(crate) fn apply_looks(&mut self, keep: impl Fn(&mut Category)) {
        self.categories.values_mut().for_each(keep);
    }

    /// The mesh model with catalog id `id` (see [`Attribution::id`]), in any category.
    pub fn mesh_model(&self, id: &str) -> Option<&Arc<MeshModel>> {
        self.categories.values().flat_map(|c| &c.meshes).find(|m| m.attribution.id == id).map(|m| &m.model)
    }

    /// Number of categories.
    pub fn len(&self) -> usize {
        self.categories.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }

    /// The family of category `name`: the category at the end of its `kind_of` chain (itself
    /// when it is a kind of nothing). Two categories of one family are the same kind to a
    /// person ("bottles" include soap bottles), so no question may depend on telling them
    /// apart. An unknown name is its own family.
    pub fn family<'a>(&'a self, name: &'a str) -> &'a str {
        let mut current = name;
        // `check_kinds` rules out cycles; the bound only guards a catalog that skipped it.
        for _ in 0..self.categories.len() {
            match self.categories.get(current).and_then(|c| c.kind_of.as_deref()) {
                Some(parent) => current = parent,
                None => break,
            }
        }
        current
    }

    /// Every category's family (see [`family`](Self::family)).
    pub fn families(&self) -> BTreeMap<String, String> {
        self.categories.keys().map(|name| (name.clone(), self.family(name).to_string())).collect()
    }

    /// Checks every `kind_of`: it names a loaded category and the chain ends (no cycle).
    /// `file_of` gives the file a category came from, for the message.
    pub fn check_kinds(&self, file_of: impl Fn(&str) -> std::path::PathBuf) -> Result<(), AssetError> {
        for category in self.categories.values() {
            let Some(parent) = &category.kind_of else { continue };
            let error = |message: String| AssetError::field(&file_of(&category.name), "kind_of", message);
            if !self.categories.contains_key(parent) {
                return Err(error(format!(
                    "`{parent}` is not a loaded category (built in, or a file in a --catalog folder)"
                )));
            }
            let mut seen = vec![category.name.as_str()];
            let mut current = parent.as_str();
            while let Some(next) = self.categories.get(current).and_then(|c| c.kind_of.as_deref()) {
                seen.push(current);
                if seen.contains(&next) {
                    seen.push(next);
                    return Err(error(format!("the kinds form a cycle: {}", seen.join(" -> "))));
                }
                current = next;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library() -> MaterialLibrary {
        let mut m = MaterialLibrary::default();
        m.load_file("[oak]\nkind = \"wood\"\ncolor = \"#a0703c\"\n", Path::new("m.toml")).unwrap();
        m
    }

    fn resolve(text: &str) -> Result<Category, AssetError> {
        let def: CategoryDef = crate::toml_file::parse(text, Path::new("stool.toml"))?;
        Category::resolve(def, "stool", &library(), Path::new("stool.toml"))
    }

    const STOOL: &str = r#"
palettes = { wood = ["oak"] }
[[parts]]
shape = "cylinder"
size = [0.3, 0.04, 0.3]
at = [0, 0.7, 0]
material = "wood"
support = true
[[parts]]
shape = "box"
size = [0.03, 0.68, 0.03]
at = [0.1, 0.34, 0.1]
mirror = "xz"
material = "wood"
"#;

    #[test]
    fn mirrors_and_normalises() {
        let stool = resolve(STOOL).unwrap();
        assert_eq!(stool.name, "stool");
        assert_eq!(stool.plural, "stools");
        assert_eq!(stool.parts.len(), 5);
        assert!((stool.size.y - 0.72).abs() < 1e-6);
        assert!(stool.parts[1..].iter().all(|p| (p.center.y - 0.34).abs() < 1e-6));
        assert!(stool.is_receptacle());
    }

    #[test]
    fn unknown_slot_is_named() {
        let err =
            resolve(&STOOL.replacen("material = \"wood\"\nsupport", "material = \"metal\"\nsupport", 1)).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("parts[0].material"));
        assert!(err.message.contains("`metal`"), "{err}");
    }

    #[test]
    fn a_mesh_look_is_read_and_a_missing_mesh_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let cube = "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nv 0 0 1\nv 1 0 1\nv 1 1 1\nv 0 1 1\n\
                    f 4 3 2 1\nf 5 6 7 8\nf 1 2 6 5\nf 3 4 8 7\nf 1 5 8 4\nf 2 3 7 6\n";
        std::fs::write(dir.path().join("crate.obj"), cube).unwrap();
        let file = dir.path().join("crate.toml");
        let resolve_text = |text: &str| {
            let def: CategoryDef = crate::toml_file::parse(text, &file)?;
            Category::resolve(def, "crate", &library(), &file)
        };
        let category = resolve_text("[[meshes]]\nfile = \"crate.obj\"\nsize = [0.5, 0.4, 0.3]\n").unwrap();
        assert_eq!((category.looks(), category.parts.len()), (1, 0));
        assert_eq!(category.size, Vec3::new(0.5, 0.4, 0.3));
        assert_eq!(category.meshes[0].attribution.id, "crate.obj");
        let err = resolve_text("[[meshes]]\nfile = \"missing.obj\"\nscale = 0.01\n").unwrap_err();
        assert_eq!(err.field.as_deref(), Some("meshes[0].file"));
        assert!(err.message.contains("missing.obj"), "{err}");
        let err = resolve_text("[[meshes]]\nfile = \"crate.obj\"\nscale = 100\n").unwrap_err();
        assert_eq!(err.field.as_deref(), Some("meshes[0].scale"), "{err}");
    }

    #[test]
    fn unknown_material_is_named() {
        let err = resolve(&STOOL.replace("[\"oak\"]", "[\"teak\"]")).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("palettes.wood"));
    }
}
