//! Materials: the lit look of scene materials, flat id colours, and the depth material.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use bevy::asset::{Asset, Assets, Handle, RenderAssetUsages, uuid_handle};
use bevy::color::Color;
use bevy::image::{Image, ImageAddressMode, ImageSampler, ImageSamplerDescriptor};
use bevy::mesh::MeshVertexBufferLayoutRef;
use bevy::pbr::{Material, MaterialPipeline, MaterialPipelineKey, StandardMaterial};
use bevy::reflect::TypePath;
use bevy::render::render_resource::{
    AsBindGroup, Extent3d, Face, RenderPipelineDescriptor, SpecializedMeshPipelineError, TextureDimension,
    TextureFormat,
};
use bevy::shader::{Shader, ShaderRef};
use ipt_scenes::materials::{Material as SceneMaterial, MaterialKind, Texture};

/// The depth shader (`depth.wgsl`), registered under this fixed handle at start-up.
pub const DEPTH_SHADER: Handle<Shader> = uuid_handle!("7d3f2a51-6c1e-4b8e-9f0a-2b6d9c4e1a37");

/// Writes linear depth along the viewing axis (see `depth.wgsl`).
#[derive(Asset, TypePath, AsBindGroup, Clone, Default, Debug)]
pub struct DepthMaterial {}

impl Material for DepthMaterial {
    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(DEPTH_SHADER)
    }

    /// Both sides of every triangle: a mesh model's open surfaces (a leaf, a thin panel) are
    /// seen from behind too, as the label ray casts see them. Closed primitives look the same.
    fn specialize(
        _pipeline: &MaterialPipeline,
        descriptor: &mut RenderPipelineDescriptor,
        _layout: &MeshVertexBufferLayoutRef,
        _key: MaterialPipelineKey<Self>,
    ) -> Result<(), SpecializedMeshPipelineError> {
        descriptor.primitive.cull_mode = None;
        Ok(())
    }
}

/// Material handles, created once and shared across scenes (their number is bounded by the
/// material library and the largest object id).
#[derive(Default)]
pub struct MaterialLibrary {
    lit: BTreeMap<String, Handle<StandardMaterial>>,
    ids: BTreeMap<(u32, bool), Handle<StandardMaterial>>,
    textures: BTreeMap<String, Handle<Image>>,
    depth: Option<Handle<DepthMaterial>>,
    markers: BTreeMap<[u8; 3], Handle<StandardMaterial>>,
}

impl MaterialLibrary {
    /// The lit material for a scene material, drawn on both sides of its triangles when
    /// `double_sided` (mesh models), with its texture if it has one.
    pub fn lit(
        &mut self,
        materials: &mut Assets<StandardMaterial>,
        images: &mut Assets<Image>,
        material: &SceneMaterial,
        double_sided: bool,
    ) -> Result<Handle<StandardMaterial>> {
        if let Some(handle) = self.lit.get(&material.name) {
            return Ok(handle.clone());
        }
        let mut lit = lit_material(material);
        if let Some(texture) = &material.texture {
            lit.base_color_texture = Some(self.texture(images, texture)?);
            lit.base_color = Color::WHITE;
        }
        if double_sided {
            lit.double_sided = true;
            lit.cull_mode = None;
        }
        let handle = materials.add(lit);
        self.lit.insert(material.name.clone(), handle.clone());
        Ok(handle)
    }

    /// A texture image, read once.
    fn texture(&mut self, images: &mut Assets<Image>, texture: &Texture) -> Result<Handle<Image>> {
        if let Some(handle) = self.textures.get(&texture.name) {
            return Ok(handle.clone());
        }
        let pixels = image::open(&texture.path)
            .with_context(|| format!("texture {} ({})", texture.path.display(), texture.name))?
            .to_rgba8();
        let (width, height) = pixels.dimensions();
        let mut image = Image::new(
            Extent3d { width, height, depth_or_array_layers: 1 },
            TextureDimension::D2,
            pixels.into_raw(),
            TextureFormat::Rgba8UnormSrgb,
            RenderAssetUsages::RENDER_WORLD,
        );
        // Models tile their textures.
        image.sampler = ImageSampler::Descriptor(ImageSamplerDescriptor {
            address_mode_u: ImageAddressMode::Repeat,
            address_mode_v: ImageAddressMode::Repeat,
            ..ImageSamplerDescriptor::linear()
        });
        let handle = images.add(image);
        self.textures.insert(texture.name.clone(), handle.clone());
        Ok(handle)
    }

    /// The flat colour that encodes object `id` (0 for structure), unlit (see
    /// [`render_id_bytes`]), on both sides of triangles when `double_sided`.
    pub fn id(
        &mut self,
        materials: &mut Assets<StandardMaterial>,
        id: u32,
        double_sided: bool,
    ) -> Handle<StandardMaterial> {
        self.ids
            .entry((id, double_sided))
            .or_insert_with(|| {
                let [r, g, b] = render_id_bytes(id).map(|c| f32::from(c) / 255.0);
                materials.add(StandardMaterial {
                    base_color: Color::linear_rgb(r, g, b),
                    unlit: true,
                    double_sided,
                    cull_mode: if double_sided { None } else { Some(Face::Back) },
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
