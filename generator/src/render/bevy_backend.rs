//! The Bevy implementation of [`Renderer`]: one long-lived headless app per process.
//!
//! Each scene part is spawned three times (lit, flat id colour, depth), on layers that only
//! cameras of the matching kind see (`layers`). A batch of views is rendered in rounds of up
//! to [`SLOTS`] views: every view of a round gets its own cameras and target images, the
//! cameras render one frame, and the targets are then copied to memory on the same GPU queue
//! (so the copies see the finished frame, and no further frame is needed). Pipelines compile
//! synchronously, and a round is redone if any pipeline was still compiling, so warm-up frames
//! are never captured.
//!
//! On a software rasteriser every frame and every triangle counts (docs/benchmarks.md): a
//! round is a single frame (a new scene and the round's markers are drawn in it), and round
//! shapes get only the segments their size calls for (`meshes`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail, ensure};
use bevy::app::{App, PluginsState};
use bevy::asset::{Assets, Handle, RenderAssetUsages};
use bevy::camera::{
    Camera, Camera3d, ClearColorConfig, Hdr, OrthographicProjection, PerspectiveProjection, Projection, RenderTarget,
    ScalingMode,
};
use bevy::core_pipeline::prepass::DepthPrepass;
use bevy::core_pipeline::tonemapping::{DebandDither, Tonemapping};
use bevy::ecs::entity::Entity;
use bevy::ecs::world::World;
use bevy::image::Image;
use bevy::light::{
    CascadeShadowConfigBuilder, DirectionalLight, DirectionalLightShadowMap, GlobalAmbientLight, NotShadowCaster,
    PointLight, ShadowFilteringMethod,
};
use bevy::math::{Quat, Vec3};
use bevy::mesh::{Mesh, Mesh3d};
use bevy::pbr::{MaterialPlugin, MeshMaterial3d, StandardMaterial};
use bevy::prelude::{Color, DefaultPlugins, PluginGroup, Transform, Visibility};
use bevy::render::RenderApp;
use bevy::render::RenderPlugin;
use bevy::render::render_asset::RenderAssets;
use bevy::render::render_resource::{
    BufferAsyncError, BufferDescriptor, BufferUsages, CommandEncoderDescriptor, MapMode, PipelineCache, PollType,
    TexelCopyBufferInfo, TexelCopyBufferLayout, TextureFormat, TextureUsages,
};
use bevy::render::renderer::{RenderAdapterInfo, RenderDevice, RenderQueue};
use bevy::render::settings::{RenderCreation, WgpuSettings};
use bevy::render::texture::GpuImage;
use bevy::render::view::{Msaa, NoIndirectDrawing};
use bevy::shader::Shader;
use bevy::window::{ExitCondition, WindowPlugin};
use ipt_scenes::Scene;
use ipt_scenes::geometry::Shape;
use ipt_scenes::materials::Material as SceneMaterial;
use ipt_scenes::scene::{PartMesh, SceneObject};

use super::images::{DepthImage, IdImage};
use super::layers::{Kind, Role, WALL_CUT, camera_layers, geometry_layer, lit_layers, marker_layer};
use super::markers::marker_boxes;
use super::meshes::MeshLibrary;
use super::shading::{DEPTH_SHADER, DepthMaterial, MAX_RENDER_ID, MaterialLibrary, decode_render_id};
use super::{Lens, RenderedView, Renderer, ViewRequest};

/// Views rendered per round (each with its own cameras and targets): five, so that an example
/// of any task (at most four inputs and an imagination) renders in one round.
pub const SLOTS: usize = 5;
/// Target images (one per view slot, image kind and size) kept before all are released.
const MAX_TARGETS: usize = 48;
/// Rounds redone at most because pipelines were still compiling.
const MAX_REDO: usize = 10;

/// What to tell a user whose machine offers no graphics adapter.
const NO_ADAPTER: &str = "no graphics adapter found: install a Vulkan driver (on Debian/Ubuntu without a GPU: \
                          `apt-get install mesa-vulkan-drivers libvulkan1`, or run scripts/setup)";

/// Fails with [`NO_ADAPTER`] when no adapter is available (Bevy would panic instead).
fn require_adapter() -> Result<()> {
    let descriptor = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    let backends = descriptor.backends;
    let instance = wgpu::Instance::new(descriptor);
    let adapters = bevy::tasks::block_on(instance.enumerate_adapters(backends));
    if adapters.is_empty() {
        bail!(NO_ADAPTER);
    }
    Ok(())
}

/// Renderer settings.
#[derive(Debug, Clone, Default)]
pub struct RendererOptions {
    /// Part of the name of the graphics adapter to use (default: the first suitable one,
    /// a GPU when there is one). The `WGPU_ADAPTER_NAME` environment variable does the same.
    pub adapter: Option<String>,
}

/// One piece of scene geometry to spawn.
struct Piece<'a> {
    transform: Transform,
    shape: Shape,
    size: glam::Vec3,
    /// The triangles of a mesh part.
    mesh: Option<&'a PartMesh>,
    material: &'a SceneMaterial,
    role: Role,
    /// Object id (0 for structure).
    id: u32,
    casts_shadow: bool,
}

/// A floor-plan box (floor, ceiling, wall) of structure: id 0, casting no shadow, so the sun
/// shines into the rooms.
fn slab(center: glam::Vec3, size: glam::Vec3, material: &SceneMaterial, role: Role) -> Piece<'_> {
    Piece {
        transform: Transform::from_xyz(center.x, center.y, center.z),
        shape: Shape::Box,
        size,
        mesh: None,
        material,
        role,
        id: 0,
        casts_shadow: false,
    }
}

/// Growth per side of scene piece `rank` (its place in the scene's spawn order): 16 to 800
/// micrometres, a different amount for pieces near each other in that order. Faces that would
/// lie in one plane (parts flush with each other, the two halves of a wall) then never tie in
/// depth, and which one shows does not depend on the draw order, which follows Bevy's entity
/// and asset ids and so the scenes drawn before. Depth resolves a few micrometres at these
/// distances (reverse-Z perspective; 6 micrometres for orthographic maps, whose depth spans
/// 100 m), and 0.8 mm is under a tenth of a pixel at 256 px one metre away.
fn tie_breaking_growth(rank: usize) -> f32 {
    const STEP: f32 = 16e-6;
    const RANKS: usize = 50;
    STEP * (1 + rank % RANKS) as f32
}

/// The cores this process may use (1 if unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// How many renderers a long run of images `resolution` pixels wide should use side by side
/// on an adapter that rasterises on the CPU: two when there are at least two cores and the
/// images are smaller than 512 px, as one renderer then leaves part of the cores idle; else
/// one (at 512 px a second gave about 12 % more examples/s in short runs, for about 300 MiB
/// and a pipeline / render-only ratio at the edge of 0.9, not yet confirmed over a long
/// run; docs/benchmarks.md).
pub fn side_by_side_on_cpu(resolution: u32) -> usize {
    if cores() >= 2 && resolution < 512 { 2 } else { 1 }
}

/// The raster threads each of `renderers` renderers side by side should give lavapipe
/// (`LP_NUM_THREADS`): the cores shared among them, at least one each; `None` for a single
/// renderer, which keeps lavapipe's default of one per core. By default each lavapipe device
/// starts one raster thread per core, so two renderers on two cores would run four raster
/// threads and two main threads; one raster thread each made 6-12 % more examples per
/// second at 256 px (docs/benchmarks.md, session 10).
pub fn cpu_raster_threads_each(renderers: usize) -> Option<usize> {
    (renderers > 1).then(|| (cores() / renderers).max(1))
}

/// The Bevy renderer.
pub struct BevyRenderer {
    app: App,
    adapter: String,
    /// The adapter rasterises on the CPU (lavapipe).
    software: bool,
    meshes: MeshLibrary,
    materials: MaterialLibrary,
    scene_entities: Vec<Entity>,
    /// Pieces of the current scene spawned so far.
    pieces: usize,
    /// The ceiling lights (see [`spawn_light`]).
    lights: Vec<Entity>,
    /// One camera per (view slot, image kind), for the renderer's lifetime: Bevy keeps
    /// per-(light, camera) shadow state after a camera is despawned, so cameras are reused and
    /// only their target changes with the image size.
    cameras: BTreeMap<(usize, Kind), Entity>,
    targets: BTreeMap<(usize, Kind, u32, u32), Handle<Image>>,
    /// A 1 x 1 target for cameras whose target was released.
    placeholder: Handle<Image>,
    /// A round has been rendered (see [`Self::render_round`]).
    warmed_up: bool,
}

impl BevyRenderer {
    /// Starts the renderer: creates the app, finds an adapter, and compiles the pipelines.
    pub fn new(options: &RendererOptions) -> Result<BevyRenderer> {
        require_adapter()?;
        let mut settings = WgpuSettings::default();
        if let Some(name) = &options.adapter {
            settings.adapter_name = Some(name.clone());
        }
        let mut app = App::new();
        app.add_plugins(
            DefaultPlugins
                .set(WindowPlugin {
                    primary_window: None,
                    exit_condition: ExitCondition::DontExit,
                    ..Default::default()
                })
                .set(RenderPlugin {
                    render_creation: RenderCreation::Automatic(Box::new(settings)),
                    synchronous_pipeline_compilation: true,
                    ..Default::default()
                })
                .disable::<bevy::render::pipelined_rendering::PipelinedRenderingPlugin>()
                .disable::<bevy::log::LogPlugin>(),
        )
        .add_plugins(MaterialPlugin::<DepthMaterial>::default())
        .insert_resource(GlobalAmbientLight {
            color: Color::WHITE,
            brightness: 150.0,
            affects_lightmapped_meshes: true,
        })
        .insert_resource(DirectionalLightShadowMap { size: 1024 });
        app.world_mut()
            .resource_mut::<Assets<Shader>>()
            .insert(&DEPTH_SHADER, Shader::from_wgsl(include_str!("depth.wgsl"), "ipt_gen/render/depth.wgsl"))
            .context("cannot register the depth shader")?;
        while app.plugins_state() == PluginsState::Adding {
            bevy::tasks::tick_global_task_pools_on_main_thread();
        }
        app.finish();
        app.cleanup();
        spawn_sun(app.world_mut());
        let lights = (0..CEILING_LIGHTS).map(|_| spawn_light(app.world_mut())).collect();
        let placeholder = app.world_mut().resource_mut::<Assets<Image>>().add(Image::new_target_texture(
            1,
            1,
            TextureFormat::Rgba8UnormSrgb,
            None,
        ));
        let info = app.sub_app(RenderApp).world().get_resource::<RenderAdapterInfo>().context(NO_ADAPTER)?;
        // The driver's version belongs in every benchmark: lavapipe from Mesa 25 renders the
        // same images as Mesa 22.3's about 1.7 times faster (docs/rendering.md).
        let mut adapter = format!("{} ({:?}, {:?}", info.name, info.device_type, info.backend);
        if !info.driver_info.is_empty() {
            adapter += &format!(", {}", info.driver_info);
        }
        adapter += ")";
        let software = info.device_type == wgpu::DeviceType::Cpu;
        let mut renderer = BevyRenderer {
            app,
            adapter,
            software,
            meshes: MeshLibrary::default(),
            materials: MaterialLibrary::default(),
            scene_entities: Vec::new(),
            pieces: 0,
            lights,
            cameras: BTreeMap::new(),
            targets: BTreeMap::new(),
            placeholder,
            warmed_up: false,
        };
        renderer.frame()?;
        Ok(renderer)
    }

    /// How many renderers a long run of images `resolution` pixels wide should use side by
    /// side by default: [`side_by_side_on_cpu`] when the adapter rasterises on the CPU (no
    /// GPU), else one.
    pub fn default_side_by_side(&self, resolution: u32) -> usize {
        if self.software { side_by_side_on_cpu(resolution) } else { 1 }
    }

    /// Spawns one piece of geometry three times: lit, as a flat id colour, and for depth.
    fn spawn_piece(&mut self, piece: Piece<'_>) -> Result<()> {
        let size = piece.size + glam::Vec3::splat(2.0 * tie_breaking_growth(self.pieces));
        self.pieces += 1;
        let world = self.app.world_mut();
        let (mesh, scale) = self.meshes.part(
            &mut world.resource_mut::<Assets<Mesh>>(),
            piece.shape,
            Vec3::from_array(size.to_array()),
            piece.mesh,
        );
        let transform = piece.transform.with_scale(scale);
        // A mesh model's surfaces may be open: drawn from both sides, as ray casts see them.
        let double_sided = piece.mesh.is_some();
        let lit = world.resource_scope(
            |world, mut materials: bevy::ecs::change_detection::Mut<Assets<StandardMaterial>>| {
                self.materials.lit(
                    &mut materials,
                    &mut world.resource_mut::<Assets<Image>>(),
                    piece.material,
                    double_sided,
                )
            },
        )?;
        let flat = self.materials.id(&mut world.resource_mut::<Assets<StandardMaterial>>(), piece.id, double_sided);
        let depth = self.materials.depth(&mut world.resource_mut::<Assets<DepthMaterial>>());
        let mut lit_entity =
            world.spawn((Mesh3d(mesh.clone()), MeshMaterial3d(lit), transform, geometry_layer(Kind::Rgb, piece.role)));
        if !piece.casts_shadow {
            lit_entity.insert(NotShadowCaster);
        }
        let lit_entity = lit_entity.id();
        let flat_entity = world
            .spawn((
                Mesh3d(mesh.clone()),
                MeshMaterial3d(flat),
                transform,
                geometry_layer(Kind::Ids, piece.role),
                NotShadowCaster,
            ))
            .id();
        let depth_entity = world
            .spawn((
                Mesh3d(mesh),
                MeshMaterial3d(depth),
                transform,
                geometry_layer(Kind::Depth, piece.role),
                NotShadowCaster,
            ))
            .id();
        self.scene_entities.extend([lit_entity, flat_entity, depth_entity]);
        Ok(())
    }

    fn clear_scene(&mut self) {
        self.pieces = 0;
        let world = self.app.world_mut();
        for entity in self.scene_entities.drain(..) {
            world.despawn(entity);
        }
        self.meshes.release_sized(&mut world.resource_mut::<Assets<Mesh>>());
        // Top-down views of each scene have their own height: keep the number of targets
        // bounded over many scenes. Cameras are first pointed at the placeholder: Bevy fails on
        // a camera whose target image is gone, even an inactive one.
        if self.targets.len() > MAX_TARGETS {
            for camera in self.cameras.values() {
                world.entity_mut(*camera).insert(RenderTarget::Image(self.placeholder.clone().into()));
            }
            for (_, target) in std::mem::take(&mut self.targets) {
                world.resource_mut::<Assets<Image>>().remove(&target);
            }
        }
    }

    /// The camera of `slot` and `kind`, pointed at a target image of the given size.
    fn camera_slot(&mut self, slot: usize, kind: Kind, width: u32, height: u32) -> (Entity, Handle<Image>) {
        let target = self.target(slot, kind, width, height);
        let camera = match self.cameras.get(&(slot, kind)) {
            Some(camera) => *camera,
            None => {
                let camera = spawn_camera(self.app.world_mut(), kind);
                self.cameras.insert((slot, kind), camera);
                camera
            }
        };
        self.app.world_mut().entity_mut(camera).insert(RenderTarget::Image(target.clone().into()));
        (camera, target)
    }

    /// The target image of `slot`, `kind` and size, made on first use.
    fn target(&mut self, slot: usize, kind: Kind, width: u32, height: u32) -> Handle<Image> {
        if let Some(existing) = self.targets.get(&(slot, kind, width, height)) {
            return existing.clone();
        }
        let format = match kind {
            Kind::Rgb => TextureFormat::Rgba8UnormSrgb,
            Kind::Ids => TextureFormat::Rgba8Unorm,
            Kind::Depth => TextureFormat::Rgba16Float,
        };
        let mut image = Image::new_target_texture(width, height, format, None);
        image.texture_descriptor.usage |= TextureUsages::COPY_SRC;
        image.asset_usage = RenderAssetUsages::RENDER_WORLD;
        let target = self.app.world_mut().resource_mut::<Assets<Image>>().add(image);
        self.targets.insert((slot, kind, width, height), target.clone());
        target
    }

    /// Renders up to [`SLOTS`] views in one round: one frame with the round's cameras active,
    /// then a copy of every target image to memory.
    fn render_round(&mut self, views: &[ViewRequest]) -> Result<Vec<RenderedView>> {
        for attempt in 0..=MAX_REDO {
            let mut pending: Vec<(usize, Kind, Entity, Handle<Image>)> = Vec::new();
            let markers = self.spawn_markers(views);
            if !self.warmed_up {
                // The renderer's first frame with a scene leaves out some shadows (the sun's
                // shadow state is made during that frame). Later scenes and markers are drawn
                // in the frame they are spawned for: checked image for image against a frame
                // in between, for all tasks, with id images; and the dataset tests check that
                // a worker starting mid-stream renders what one process does.
                self.frame()?;
                self.warmed_up = true;
            }
            for (slot, view) in views.iter().enumerate() {
                for kind in Kind::ALL {
                    let wanted = match kind {
                        Kind::Rgb => view.outputs.rgb,
                        Kind::Ids => view.outputs.ids,
                        Kind::Depth => view.outputs.depth,
                    };
                    if !wanted {
                        continue;
                    }
                    let (camera, target) = self.camera_slot(slot, kind, view.camera.width, view.camera.height);
                    self.aim(camera, view, slot, kind);
                    pending.push((slot, kind, camera, target));
                }
            }
            self.frame()?;
            let compiling = self.app.sub_app(RenderApp).world().resource::<PipelineCache>().waiting_pipelines().count();
            let world = self.app.world_mut();
            for (_, _, camera, _) in &pending {
                if let Some(mut c) = world.get_mut::<Camera>(*camera) {
                    c.is_active = false;
                }
            }
            for entity in markers {
                world.despawn(entity);
            }
            if compiling > 0 && attempt < MAX_REDO {
                continue;
            }
            let targets: Vec<&Handle<Image>> = pending.iter().map(|(_, _, _, target)| target).collect();
            let mut arrivals: BTreeMap<(usize, Kind), Vec<u8>> =
                pending.iter().map(|(slot, kind, _, _)| (*slot, *kind)).zip(self.read_targets(&targets)?).collect();
            return Ok(views
                .iter()
                .enumerate()
                .map(|(slot, view)| {
                    let (w, h) = (view.camera.width, view.camera.height);
                    RenderedView {
                        camera: view.camera,
                        rgb: arrivals.remove(&(slot, Kind::Rgb)).map(|data| decode_rgb(&data, w, h)),
                        ids: arrivals.remove(&(slot, Kind::Ids)).map(|data| decode_ids(&data, w, h)),
                        depth: arrivals.remove(&(slot, Kind::Depth)).map(|data| decode_depth(&data, w, h)),
                    }
                })
                .collect());
        }
        bail!("pipelines kept compiling for {MAX_REDO} rounds")
    }

    /// Copies the rendered target images to memory, in order (rows padded to 256 bytes).
    ///
    /// The copy is submitted after the frame's own work on the same queue, so it sees the
    /// finished images; reading them here saves the extra frame that Bevy's `Readback` needs
    /// to deliver its data.
    fn read_targets(&self, targets: &[&Handle<Image>]) -> Result<Vec<Vec<u8>>> {
        let world = self.app.sub_app(RenderApp).world();
        let device = world.resource::<RenderDevice>();
        let images = world.resource::<RenderAssets<GpuImage>>();
        let mut encoder = device.create_command_encoder(&CommandEncoderDescriptor { label: Some("ipt-gen readback") });
        let mut buffers = Vec::with_capacity(targets.len());
        for target in targets {
            let image = images.get(*target).context("a render target image is not on the GPU")?;
            let size = image.texture_descriptor.size;
            let pixel_bytes =
                image.texture_descriptor.format.block_copy_size(None).context("unreadable target format")?;
            let row_bytes = (size.width * pixel_bytes).div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT)
                * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
            let buffer = device.create_buffer(&BufferDescriptor {
                label: Some("ipt-gen readback"),
                size: u64::from(row_bytes * size.height),
                usage: BufferUsages::MAP_READ | BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            encoder.copy_texture_to_buffer(
                image.texture.as_image_copy(),
                TexelCopyBufferInfo {
                    buffer: &buffer,
                    layout: TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(row_bytes), rows_per_image: None },
                },
                size,
            );
            buffers.push(buffer);
        }
        world.resource::<RenderQueue>().submit([encoder.finish()]);
        let mapped: Arc<Mutex<Vec<Result<(), BufferAsyncError>>>> = Arc::default();
        for buffer in &buffers {
            let mapped = mapped.clone();
            buffer.slice(..).map_async(MapMode::Read, move |result| {
                mapped.lock().expect("no panics while holding the lock").push(result);
            });
        }
        device.poll(PollType::wait_indefinitely()).context("waiting for the GPU to copy the images")?;
        let mapped = std::mem::take(&mut *mapped.lock().expect("no panics while holding the lock"));
        ensure!(mapped.len() == buffers.len(), "{} of {} image copies completed", mapped.len(), buffers.len());
        for result in mapped {
            result.context("cannot read a rendered image back from the GPU")?;
        }
        Ok(buffers
            .iter()
            .map(|buffer| {
                let data = buffer.slice(..).get_mapped_range().to_vec();
                buffer.unmap();
                data
            })
            .collect())
    }

    /// Spawns the floor markers of each view on that view's marker layer.
    fn spawn_markers(&mut self, views: &[ViewRequest]) -> Vec<Entity> {
        let mut spawned = Vec::new();
        for (slot, view) in views.iter().enumerate() {
            for piece in view.markers.iter().flat_map(marker_boxes) {
                let world = self.app.world_mut();
                let (mesh, _) =
                    self.meshes.part(&mut world.resource_mut::<Assets<Mesh>>(), Shape::Box, Vec3::ONE, None);
                let material =
                    self.materials.marker(&mut world.resource_mut::<Assets<StandardMaterial>>(), piece.color);
                let transform = Transform { translation: piece.center, rotation: piece.rotation, scale: piece.size };
                let bundle = (Mesh3d(mesh), MeshMaterial3d(material), transform, marker_layer(slot), NotShadowCaster);
                spawned.push(world.spawn(bundle).id());
            }
        }
        spawned
    }

    /// Points a camera as `view` asks and shows it the right layers.
    fn aim(&mut self, camera: Entity, view: &ViewRequest, slot: usize, kind: Kind) {
        let model = view.camera;
        let position = Vec3::from_array(model.pose.position.to_array());
        let rotation = Quat::from_array(model.pose.rotation.to_array());
        let projection = match model.lens {
            Lens::Pinhole { .. } => Projection::Perspective(PerspectiveProjection {
                fov: model.vfov_radians().expect("pinhole"),
                aspect_ratio: model.width as f32 / model.height as f32,
                near: 0.05,
                far: 100.0,
                ..Default::default()
            }),
            Lens::Orthographic { pixels_per_metre } => Projection::Orthographic(OrthographicProjection {
                near: 0.0,
                far: 100.0,
                scaling_mode: ScalingMode::Fixed {
                    width: model.width as f32 / pixels_per_metre,
                    height: model.height as f32 / pixels_per_metre,
                },
                ..OrthographicProjection::default_3d()
            }),
        };
        let layers = camera_layers(kind, slot, view.hide_ceiling, view.hide_upper_walls);
        let mut entity = self.app.world_mut().entity_mut(camera);
        entity.insert((Transform { translation: position, rotation, scale: Vec3::ONE }, projection, layers));
        if let Some(mut c) = entity.get_mut::<Camera>() {
            c.is_active = true;
        }
    }
}

impl BevyRenderer {
    /// One frame: update the app, wait for the GPU to finish it, and turn
    /// a render error (which makes Bevy stop rendering) into an error here.
    fn frame(&mut self) -> Result<()> {
        self.app.update();
        self.app.world().resource::<RenderDevice>().poll(PollType::wait_indefinitely()).ok();
        if let Some(exit) = self.app.should_exit() {
            bail!("the renderer stopped ({exit:?}); see the log above for the GPU error");
        }
        Ok(())
    }
}

impl Renderer for BevyRenderer {
    fn load_scene(&mut self, scene: &Scene) -> Result<()> {
        if scene.objects.len() as u32 > MAX_RENDER_ID {
            bail!("the scene has {} objects; id images hold at most {MAX_RENDER_ID}", scene.objects.len());
        }
        self.clear_scene();
        for room in &scene.rooms {
            let (size, c) = (room.max - room.min, 0.5 * (room.min + room.max));
            let slab_size = glam::Vec3::new(size.x, 0.01, size.y);
            self.spawn_piece(slab(glam::Vec3::new(c.x, -0.005, c.y), slab_size, &room.floor, Role::Base))?;
            let ceiling = glam::Vec3::new(c.x, scene.ceiling_height + 0.005, c.y);
            self.spawn_piece(slab(ceiling, slab_size, &room.ceiling, Role::Ceiling))?;
        }
        for door in &scene.doorways {
            let (size, c) = (door.max - door.min, 0.5 * (door.min + door.max));
            let floor = &scene.rooms[door.rooms[0] as usize].floor;
            self.spawn_piece(slab(
                glam::Vec3::new(c.x, -0.005, c.y),
                glam::Vec3::new(size.x, 0.01, size.y),
                floor,
                Role::Base,
            ))?;
        }
        for wall in &scene.walls {
            let bottom = wall.center.y - 0.5 * wall.size.y;
            let top = wall.center.y + 0.5 * wall.size.y;
            for (low, high, role) in
                [(bottom, top.min(WALL_CUT), Role::Base), (bottom.max(WALL_CUT), top, Role::UpperWall)]
            {
                if high - low > 1e-4 {
                    let center = glam::Vec3::new(wall.center.x, 0.5 * (low + high), wall.center.z);
                    let size = glam::Vec3::new(wall.size.x, high - low, wall.size.z);
                    self.spawn_piece(slab(center, size, &wall.material, role))?;
                }
            }
        }
        for object in &scene.objects {
            // A hidden part is a mesh's support face, not a surface.
            for (index, part) in object.parts.iter().enumerate().filter(|(_, p)| !p.hidden) {
                self.spawn_piece(Piece {
                    transform: part_transform(object, index),
                    shape: part.shape,
                    size: part.size,
                    mesh: part.mesh.as_ref(),
                    material: &part.material,
                    role: Role::Base,
                    id: object.id,
                    casts_shadow: true,
                })?;
            }
        }
        self.light_rooms(scene);
        Ok(())
    }

    fn render(&mut self, views: &[ViewRequest]) -> Result<Vec<RenderedView>> {
        let mut out = Vec::with_capacity(views.len());
        for round in views.chunks(SLOTS) {
            out.extend(self.render_round(round)?);
        }
        Ok(out)
    }

    fn adapter(&self) -> &str {
        &self.adapter
    }
}

impl BevyRenderer {
    /// Lights each room with a ceiling light from the pool; the pool's other lights go dark.
    fn light_rooms(&mut self, scene: &Scene) {
        let world = self.app.world_mut();
        while self.lights.len() < scene.rooms.len() {
            self.lights.push(spawn_light(world));
        }
        for (k, light) in self.lights.iter().enumerate() {
            let mut entity = world.entity_mut(*light);
            let Some(room) = scene.rooms.get(k) else {
                entity.insert(Visibility::Hidden);
                continue;
            };
            let center = 0.5 * (room.min + room.max);
            let area = (room.max - room.min).x * (room.max - room.min).y;
            let light = PointLight {
                intensity: 40_000.0 * area.max(4.0),
                range: 20.0,
                shadow_maps_enabled: false,
                ..Default::default()
            };
            let position = Transform::from_xyz(center.x, scene.ceiling_height - 0.3, center.y);
            entity.insert((light, position, Visibility::Visible));
        }
    }
}

/// Ceiling lights made when the renderer starts, enough for the rooms of every built-in
/// template.
const CEILING_LIGHTS: usize = 8;

/// Spawns a ceiling light, dark until a scene needs it. Ceiling lights are kept for the
/// renderer's lifetime, in the order they were made: Bevy sums a pixel's lights in entity
/// order, and a light spawned per scene would take whatever entity slot the scenes before
/// left free, so a pixel's last bit could depend on those scenes.
fn spawn_light(world: &mut World) -> Entity {
    world.spawn((PointLight::default(), Transform::default(), Visibility::Hidden, lit_layers())).id()
}

/// Spawns an inactive camera for images of `kind`; its target is set per view.
///
/// Three settings make a software rasteriser (lavapipe) faster here, measured with
/// `ipt-gen bench render` and `bench generate` (docs/benchmarks.md): direct drawing
/// (`NoIndirectDrawing`: GPU-side culling and instance building are compute passes that the
/// CPU then runs for every view), 2x2 hardware shadow filtering instead of the default
/// Gaussian kernel, and a depth prepass for colour images, so that each pixel is lit once
/// however many surfaces overlap it (the images are the same, byte for byte).
fn spawn_camera(world: &mut World, kind: Kind) -> Entity {
    let clear = match kind {
        Kind::Rgb => Color::srgb_u8(235, 235, 235),
        Kind::Ids | Kind::Depth => Color::BLACK,
    };
    let mut camera = world.spawn((
        Camera3d::default(),
        Camera { is_active: false, clear_color: ClearColorConfig::Custom(clear), ..Default::default() },
        Msaa::Off,
        NoIndirectDrawing,
        Transform::default(),
    ));
    match kind {
        Kind::Rgb => {
            camera.insert((Tonemapping::TonyMcMapface, ShadowFilteringMethod::Hardware2x2, DepthPrepass));
        }
        Kind::Ids => {
            camera.insert((Tonemapping::None, DebandDither::Disabled));
        }
        Kind::Depth => {
            camera.insert((Tonemapping::None, DebandDither::Disabled, Hdr));
        }
    }
    camera.id()
}

/// Spawns the shadow-casting sun, once for the renderer's lifetime: Bevy 0.19 keeps per-light
/// shadow state after a directional light is despawned (about 1 MiB per respawn, measured), so
/// the sun is never replaced.
fn spawn_sun(world: &mut World) {
    let sun = DirectionalLight { illuminance: 1_500.0, shadow_maps_enabled: true, ..Default::default() };
    let cascades = CascadeShadowConfigBuilder { num_cascades: 1, maximum_distance: 20.0, ..Default::default() }.build();
    let direction = Transform::from_xyz(0.0, 10.0, 0.0).looking_at(Vec3::new(-3.0, 0.0, -2.0), Vec3::Y);
    world.spawn((sun, cascades, direction, lit_layers()));
}

/// The world placement of part `index`, from the scene's own part box.
fn part_transform(object: &SceneObject, index: usize) -> Transform {
    let obb = object.part_obb(index);
    Transform {
        translation: Vec3::from_array(obb.center.to_array()),
        rotation: Quat::from_array(obb.rotation.to_array()),
        scale: Vec3::ONE,
    }
}

/// Strips the 256-byte row padding of a readback.
fn rows(data: &[u8], width: u32, height: u32, bytes_per_pixel: u32) -> impl Iterator<Item = &[u8]> {
    let row = (width * bytes_per_pixel) as usize;
    let padded = row.div_ceil(256) * 256;
    (0..height as usize).map(move |y| &data[y * padded..y * padded + row])
}

fn decode_rgb(data: &[u8], width: u32, height: u32) -> image::RgbImage {
    let mut pixels = Vec::with_capacity((width * height * 3) as usize);
    for row in rows(data, width, height, 4) {
        for px in row.chunks_exact(4) {
            pixels.extend_from_slice(&px[..3]);
        }
    }
    image::RgbImage::from_raw(width, height, pixels).expect("sizes match")
}

fn decode_ids(data: &[u8], width: u32, height: u32) -> IdImage {
    let ids = rows(data, width, height, 4)
        .flat_map(|row| row.chunks_exact(4).map(|px| decode_render_id([px[0], px[1], px[2]])))
        .collect();
    IdImage { width, height, ids }
}

fn decode_depth(data: &[u8], width: u32, height: u32) -> DepthImage {
    let metres = rows(data, width, height, 8)
        .flat_map(|row| {
            row.chunks_exact(8).map(|px| {
                let depth = half::f16::from_le_bytes([px[0], px[1]]).to_f32();
                if depth > 0.0 { depth } else { f32::INFINITY }
            })
        })
        .collect();
    DepthImage { width, height, metres }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renderers_side_by_side_share_the_cores_among_their_raster_threads() {
        assert_eq!(cpu_raster_threads_each(1), None, "a single renderer keeps lavapipe's default");
        for renderers in 2..=16 {
            let each = cpu_raster_threads_each(renderers).expect("a share for renderers side by side");
            assert!(each >= 1, "{renderers} renderers: every renderer needs a raster thread");
            assert!(
                each * renderers <= cores().max(renderers),
                "{renderers} renderers: more raster threads than cores"
            );
            assert!((each + 1) * renderers > cores(), "{renderers} renderers: cores left without a raster thread");
        }
    }
}
