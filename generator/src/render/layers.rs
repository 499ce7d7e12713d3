//! Render layers: which camera sees which geometry. Each part of the scene is spawned once per
//! image kind (lit colour, flat id colour, depth), and cameras pick their kind's layers.

use bevy::camera::visibility::RenderLayers;

/// Walls are split at this height so that views can hide their upper part, metres.
pub const WALL_CUT: f32 = 1.0;

/// What a piece of geometry is, for layer selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Floors, lower walls and objects: seen by every view.
    Base,
    /// Walls above [`WALL_CUT`]: hidden on request.
    UpperWall,
    /// Ceilings: hidden in top-down views.
    Ceiling,
}

/// The kind of image a camera produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Lit colour.
    Rgb,
    /// Flat object-id colours.
    Ids,
    /// Linear depth.
    Depth,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 3] = [Kind::Rgb, Kind::Ids, Kind::Depth];
}

const ROLES: usize = 3;
/// First layer of per-view floor markers (one layer per view slot).
const MARKER_BASE: usize = 16;

fn role_index(role: Role) -> usize {
    match role {
        Role::Base => 0,
        Role::UpperWall => 1,
        Role::Ceiling => 2,
    }
}

fn kind_index(kind: Kind) -> usize {
    match kind {
        Kind::Rgb => 0,
        Kind::Ids => 1,
        Kind::Depth => 2,
    }
}

/// The layer of geometry with `role` drawn for images of `kind`.
pub fn geometry_layer(kind: Kind, role: Role) -> RenderLayers {
    RenderLayers::layer(1 + kind_index(kind) * ROLES + role_index(role))
}

/// The layer of the floor markers of view slot `slot`.
pub fn marker_layer(slot: usize) -> RenderLayers {
    RenderLayers::layer(MARKER_BASE + slot)
}

/// The layers lights shine on: everything drawn in colour, markers included (lights only
/// affect cameras and shadow casters on layers they share).
pub fn lit_layers() -> RenderLayers {
    let mut layers = RenderLayers::none();
    for role in [Role::Base, Role::UpperWall, Role::Ceiling] {
        layers = layers.union(&geometry_layer(Kind::Rgb, role));
    }
    for slot in 0..super::bevy_backend::SLOTS {
        layers = layers.union(&marker_layer(slot));
    }
    layers
}

/// The layers a camera of `kind` in view slot `slot` sees.
pub fn camera_layers(kind: Kind, slot: usize, hide_ceiling: bool, hide_upper_walls: bool) -> RenderLayers {
    let mut layers = geometry_layer(kind, Role::Base);
    if !hide_upper_walls {
        layers = layers.union(&geometry_layer(kind, Role::UpperWall));
    }
    if !hide_ceiling {
        layers = layers.union(&geometry_layer(kind, Role::Ceiling));
    }
    if kind == Kind::Rgb {
        layers = layers.union(&marker_layer(slot));
    }
    layers
}
