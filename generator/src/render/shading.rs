//! Materials: the lit look of scene materials, flat id colours, and the depth material.

use std::collections::BTreeMap;

use bevy::asset::{Asset, Assets, Handle, uuid_handle};
use bevy::color::Color;
use bevy::pbr::{Material, StandardMaterial};
use bevy::reflect::TypePath;
use bevy::render::render_resource::AsBindGroup;
use bevy::shader::{Shader, ShaderRef};
use ipt_scenes::materials::{Material as SceneMaterial, MaterialKind};

/// The depth shader (`depth.wgsl`), registered under this fixed handle at start-up.
pub const DEPTH_SHADER: Handle<Shader> = uuid_handle!("7d3f2a51-6c1e-4b8e-9f0a-2b6d9c4e1a37");

/// Writes linear depth along the viewing axis (see `depth.wgsl`).
#[derive(Asset, TypePath, AsBindGroup, Clone, Default, Debug)]
pub struct DepthMaterial {}

impl Material for DepthMaterial {
    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(DEPTH_SHADER)
    }
}

/// Material handles, created once and shared across scenes (their number is bounded by the
/// material library and the largest object id).
#[derive(Default)]
pub struct MaterialLibrary {
    lit: BTreeMap<String, Handle<StandardMaterial>>,
    ids: BTreeMap<u32, Handle<StandardMaterial>>,
    depth: Option<Handle<DepthMaterial>>,
    markers: BTreeMap<[u8; 3], Handle<StandardMaterial>>,
}

impl MaterialLibrary {
    /// The lit material for a scene material.
    pub fn lit(
        &mut self,
        materials: &mut Assets<StandardMaterial>,
        material: &SceneMaterial,
    ) -> Handle<StandardMaterial> {
        self.lit.entry(material.name.clone()).or_insert_with(|| materials.add(lit_material(material))).clone()
    }

    /// The flat colour that encodes object `id` (0 for structure), unlit (see
    /// [`render_id_bytes`]).
    pub fn id(&mut self, materials: &mut Assets<StandardMaterial>, id: u32) -> Handle<StandardMaterial> {
        self.ids
            .entry(id)
            .or_insert_with(|| {
                let [r, g, b] = render_id_bytes(id).map(|c| f32::from(c) / 255.0);
                materials.add(StandardMaterial {
                    base_color: Color::linear_rgb(r, g, b),
                    unlit: true,
                    ..Default::default()
                })
            })
            .clone()
    }

    /// The depth material.
    pub fn depth(&mut self, materials: &mut Assets<DepthMaterial>) -> Handle<DepthMaterial> {
        self.depth.get_or_insert_with(|| materials.add(DepthMaterial {})).clone()
    }

    /// Flat paint for floor markers: unlit, so a marker keeps its colour under any light.
    pub fn marker(&mut self, materials: &mut Assets<StandardMaterial>, rgb: [u8; 3]) -> Handle<StandardMaterial> {
        self.markers
            .entry(rgb)
            .or_insert_with(|| {
                materials.add(StandardMaterial {
                    base_color: Color::srgb_u8(rgb[0], rgb[1], rgb[2]),
                    unlit: true,
                    ..Default::default()
                })
            })
            .clone()
    }
}

/// Largest object id an id render can encode.
pub const MAX_RENDER_ID: u32 = (1 << 15) - 1;

/// The bytes an id render writes for object `id`: five bits per channel, each in the middle
/// of an 8-wide bucket (`bits * 8 + 4`). On lavapipe a few linear k/255 colours come back one
/// off, so the buckets make decoding exact under any error below 4/255.
pub fn render_id_bytes(id: u32) -> [u8; 3] {
    [0, 5, 10].map(|shift| (((id >> shift) & 31) * 8 + 4) as u8)
}

/// The object id of a pixel of an id render.
pub fn decode_render_id(rgb: [u8; 3]) -> u32 {
    rgb.iter().enumerate().map(|(i, &c)| (u32::from(c) / 8) << (5 * i)).sum()
}

/// The lit look of a scene material: its colour, roughness and metalness, with a glow for
/// light sources and a gloss for screens and glass.
fn lit_material(material: &SceneMaterial) -> StandardMaterial {
    let [r, g, b] = material.color;
    let base_color = Color::srgb_u8(r, g, b);
    let mut lit = StandardMaterial {
        base_color,
        perceptual_roughness: material.roughness,
        metallic: material.metallic,
        reflectance: 0.4,
        ..Default::default()
    };
    match material.kind {
        MaterialKind::Light => lit.emissive = base_color.to_linear() * 4.0,
        MaterialKind::Screen | MaterialKind::Glass => lit.reflectance = 0.6,
        MaterialKind::Fabric | MaterialKind::Carpet => lit.reflectance = 0.25,
        _ => {}
    }
    lit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_ids_decode_exactly_despite_small_colour_errors() {
        for id in [0, 1, 35, 1000, MAX_RENDER_ID] {
            let bytes = render_id_bytes(id);
            for error in -3i16..=3 {
                let off = bytes.map(|b| (i16::from(b) + error) as u8);
                assert_eq!(decode_render_id(off), id, "id {id}, error {error}");
            }
        }
    }
}
