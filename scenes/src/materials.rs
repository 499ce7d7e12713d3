//! The material library: named surface looks (`oak`, `grey_fabric`, ...) that palettes in
//! templates and categories refer to. The renderer turns a material's kind, colour, roughness
//! and metalness into its own shading; the scene builder only chooses among names.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::AssetError;

/// What a surface is made of; the renderer picks shading and procedural texture by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaterialKind {
    /// Wood grain (furniture, floors).
    Wood,
    /// Woven fabric (sofas, beds, curtains).
    Fabric,
    /// Leather (armchairs, office chairs).
    Leather,
    /// Bare or brushed metal.
    Metal,
    /// Plastic (appliances, bins).
    Plastic,
    /// Glazed ceramic or porcelain (toilets, sinks, mugs).
    Ceramic,
    /// Glass.
    Glass,
    /// Painted surface (walls, painted furniture).
    #[default]
    Paint,
    /// Plaster (walls, ceilings).
    Plaster,
    /// Tiles (floors, bathroom walls).
    Tile,
    /// Stone or concrete (counters, floors).
    Stone,
    /// Carpet.
    Carpet,
    /// Plant leaves.
    Leaf,
    /// Potting soil.
    Soil,
    /// Paper and card (books).
    Paper,
    /// Rubber.
    Rubber,
    /// A display screen (TVs, monitors, laptops).
    Screen,
    /// A light-emitting surface (lamp shades, bulbs).
    Light,
}

/// A resolved material as it appears in scene output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Material {
    /// The library name, e.g. `oak`.
    pub name: String,
    /// What it is made of.
    pub kind: MaterialKind,
    /// Base colour, sRGB, 0-255.
    pub color: [u8; 3],
    /// Perceptual roughness, 0 (mirror) to 1 (matte).
    pub roughness: f32,
    /// Metalness, 0 or 1 in practice.
    pub metallic: f32,
    /// An image drawn on the surface (mesh models' materials), tinted by `color`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub texture: Option<Texture>,
}

/// A texture image of a material.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Texture {
    /// Its name in scene output: the model's file stem and the image's file name, the same on
    /// every machine.
    pub name: String,
    /// Where the image is on this machine (not written out).
    #[serde(skip)]
    pub path: std::path::PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MaterialDef {
    kind: MaterialKind,
    color: String,
    roughness: Option<f32>,
    metallic: Option<f32>,
}

/// All materials by name.
#[derive(Debug, Clone, Default)]
pub struct MaterialLibrary {
    materials: BTreeMap<String, Material>,
}

impl MaterialLibrary {
    /// Adds (or overrides) the materials of one `materials.toml` file.
    pub fn load_file(&mut self, text: &str, file: &Path) -> Result<(), AssetError> {
        let defs: BTreeMap<String, MaterialDef> = crate::toml_file::parse(text, file)?;
        for (name, def) in defs {
            let field_error =
                |field: &str, message: String| AssetError::field(file, format!("{name}.{field}"), message);
            let color = parse_hex_color(&def.color)
                .ok_or_else(|| field_error("color", format!("`{}` is not a colour like \"#a0522d\"", def.color)))?;
            let roughness = def.roughness.unwrap_or(default_roughness(def.kind));
            if !(0.0..=1.0).contains(&roughness) {
                return Err(field_error("roughness", format!("{roughness} is outside 0..=1")));
            }
            let metallic = def.metallic.unwrap_or(if def.kind == MaterialKind::Metal { 1.0 } else { 0.0 });
            if !(0.0..=1.0).contains(&metallic) {
                return Err(field_error("metallic", format!("{metallic} is outside 0..=1")));
            }
            let material = Material { name: name.clone(), kind: def.kind, color, roughness, metallic, texture: None };
            self.materials.insert(name, material);
        }
        Ok(())
    }

    /// The material called `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Material> {
        self.materials.get(name)
    }

    /// Number of materials.
    pub fn len(&self) -> usize {
        self.materials.len()
    }

    /// True when no material is loaded.
    pub fn is_empty(&self) -> bool {
        self.materials.is_empty()
    }

    /// Resolves a palette (a list of names) into materials, naming `field` of `file` on error.
    pub fn resolve_palette(&self, names: &[String], file: &Path, field: &str) -> Result<Vec<Material>, AssetError> {
        let error = |message: String| AssetError::field(file, field, message);
        if names.is_empty() {
            return Err(error("the palette is empty; name at least one material".into()));
        }
        names
            .iter()
            .map(|name| {
                self.get(name).cloned().ok_or_else(|| {
                    error(format!("unknown material `{name}` (materials are defined in materials.toml)"))
                })
            })
            .collect()
    }
}

fn default_roughness(kind: MaterialKind) -> f32 {
    match kind {
        MaterialKind::Glass | MaterialKind::Screen => 0.1,
        MaterialKind::Ceramic => 0.25,
        MaterialKind::Metal => 0.35,
        MaterialKind::Plastic | MaterialKind::Tile | MaterialKind::Leather => 0.45,
        MaterialKind::Wood | MaterialKind::Paint | MaterialKind::Stone | MaterialKind::Rubber => 0.6,
        _ => 0.9,
    }
}

fn parse_hex_color(text: &str) -> Option<[u8; 3]> {
    let hex = text.strip_prefix('#')?;
    if hex.len() != 6 || !hex.is_ascii() {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_colours() {
        assert_eq!(parse_hex_color("#a0522d"), Some([0xa0, 0x52, 0x2d]));
        assert_eq!(parse_hex_color("a0522d"), None);
        assert_eq!(parse_hex_color("#a0522"), None);
    }

    #[test]
    fn bad_colour_names_the_field() {
        let mut library = MaterialLibrary::default();
        let err = library.load_file("[oak]\nkind = \"wood\"\ncolor = \"brown\"\n", Path::new("m.toml")).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("oak.color"));
    }
}
