//! Scene templates: one TOML file per room type or apartment. A room template gives size
//! ranges, material palettes and object groups with placement rules; an apartment template
//! joins room templates through doorways. Files are parsed into [`TemplateDef`] and resolved
//! into [`Template`] against the catalog and the material library.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::catalog::Catalog;
use crate::error::AssetError;
use crate::materials::{Material, MaterialLibrary};

/// One template file as written by a user. A room template has `width`, `depth`, palettes
/// and `groups`; an apartment template has `rooms` and `doors` instead.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateDef {
    /// Readable name, e.g. "living room"; defaults to the file name with spaces.
    pub display: Option<String>,
    /// Room size along X (min, max), metres.
    pub width: Option<[f32; 2]>,
    /// Room size along Z (min, max), metres.
    pub depth: Option<[f32; 2]>,
    /// Ceiling height (min, max), metres.
    pub height: Option<[f32; 2]>,
    /// Floor materials (one is picked per room).
    #[serde(default)]
    pub floor: Vec<String>,
    /// Wall materials.
    #[serde(default)]
    pub walls: Vec<String>,
    /// Ceiling materials.
    #[serde(default)]
    pub ceiling: Vec<String>,
    /// Object groups, placed in file order.
    #[serde(default)]
    pub groups: Vec<GroupDef>,
    /// Apartment: doorways, each a pair of room names.
    #[serde(default)]
    pub doors: Vec<[String; 2]>,
    /// Apartment: the rooms, each from a room template.
    #[serde(default)]
    pub rooms: Vec<ApartmentRoomDef>,
}

/// A room of an apartment template.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApartmentRoomDef {
    /// Name used by `doors`, e.g. "kitchen".
    pub name: String,
    /// The room template it is built from.
    pub template: String,
}

/// An object group as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupDef {
    /// Name used in messages and scene output; defaults to the category.
    pub name: Option<String>,
    /// Catalog category of the objects.
    pub category: String,
    /// How many to place (min, max), inclusive.
    pub count: [u32; 2],
    /// Probability that the group appears at all in a room (default 1).
    pub chance: Option<f32>,
    /// Placement rule.
    pub rule: RuleKind,
    /// `around` and `front_of`: the category of an object placed by an earlier group.
    pub anchor: Option<String>,
    /// `on`: receptacle categories (placed by earlier groups) to put the objects on.
    pub on: Option<Vec<String>>,
    /// `rows`: a category placed behind each object, facing it (e.g. a chair at each desk).
    pub with: Option<String>,
    /// `around`: gap to the anchor's edge; `front_of`: distance from the anchor's front;
    /// `rows`: free aisle between rows. Metres (min, max).
    pub gap: Option<[f32; 2]>,
}

/// Placement rules, as named in files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// Back against a wall, facing into the room.
    Wall,
    /// In a corner, back against one wall and side against the other.
    Corner,
    /// In the open floor, away from the walls.
    Middle,
    /// Around an anchor (chairs around a table), facing it.
    Around,
    /// In front of an anchor (a coffee table before a sofa), facing it.
    FrontOf,
    /// In rows across the room (desks), optionally each with a partner behind it.
    Rows,
    /// Dropped onto the support surfaces of receptacles (small objects).
    On,
}

/// An inclusive range of metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// Lower bound.
    pub min: f32,
    /// Upper bound.
    pub max: f32,
}

/// A resolved placement rule with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// Back against a wall.
    Wall,
    /// In a corner.
    Corner,
    /// In the open floor.
    Middle,
    /// Around each anchor object, at `gap` from its edge.
    Around {
        /// Anchor category.
        anchor: String,
        /// Gap to the anchor's edge.
        gap: Range,
    },
    /// In front of an anchor object at `gap` from its front.
    FrontOf {
        /// Anchor category.
        anchor: String,
        /// Distance from the anchor's front.
        gap: Range,
    },
    /// Rows across the room with `aisle` free space between them.
    Rows {
        /// Partner category placed behind each object.
        with: Option<String>,
        /// Free aisle between rows.
        aisle: Range,
    },
    /// On receptacles of these categories.
    On {
        /// Receptacle categories.
        receptacles: Vec<String>,
    },
}

impl Rule {
    /// The rule's name as written in files.
    pub fn name(&self) -> &'static str {
        match self {
            Rule::Wall => "wall",
            Rule::Corner => "corner",
            Rule::Middle => "middle",
            Rule::Around { .. } => "around",
            Rule::FrontOf { .. } => "front_of",
            Rule::Rows { .. } => "rows",
            Rule::On { .. } => "on",
        }
    }
}

/// A resolved object group.
#[derive(Debug, Clone)]
pub struct Group {
    /// Group name.
    pub name: String,
    /// Category of its objects.
    pub category: String,
    /// Inclusive count range.
    pub count: (u32, u32),
    /// Probability the group appears.
    pub chance: f32,
    /// Placement rule.
    pub rule: Rule,
}

impl Group {
    /// The categories the group places: its own and a `rows` partner's.
    pub fn categories(&self) -> impl Iterator<Item = &str> {
        let partner = match &self.rule {
            Rule::Rows { with, .. } => with.as_deref(),
            _ => None,
        };
        std::iter::once(self.category.as_str()).chain(partner)
    }
}

/// A resolved room template.
#[derive(Debug, Clone)]
pub struct RoomTemplate {
    /// Template name (file stem), e.g. `living_room`.
    pub name: String,
    /// Readable name.
    pub display: String,
    /// Size range along X.
    pub width: Range,
    /// Size range along Z.
    pub depth: Range,
    /// Ceiling height range.
    pub height: Range,
    /// Floor palette.
    pub floor: Vec<Material>,
    /// Wall palette.
    pub walls: Vec<Material>,
    /// Ceiling palette.
    pub ceiling: Vec<Material>,
    /// Groups in placement order.
    pub groups: Vec<Group>,
}

/// A room of a resolved template.
#[derive(Debug, Clone)]
pub struct RoomSlot {
    /// Room name within the template.
    pub name: String,
    /// What the room is built from.
    pub room: Arc<RoomTemplate>,
}

/// A resolved template: one or more rooms and the doorways between them.
#[derive(Debug, Clone)]
pub struct Template {
    /// Template name (file stem).
    pub name: String,
    /// Readable name.
    pub display: String,
    /// Where it was loaded from, for messages.
    pub file: PathBuf,
    /// Ceiling height range (shared by all rooms).
    pub height: Range,
    /// Rooms; a room template has exactly one.
    pub rooms: Vec<RoomSlot>,
    /// Doorways as pairs of room indices.
    pub doors: Vec<(usize, usize)>,
}

const DEFAULT_HEIGHT: [f32; 2] = [2.5, 2.8];

/// Everything a template resolves against.
pub struct ResolveContext<'a> {
    /// The catalog.
    pub catalog: &'a Catalog,
    /// The materials.
    pub materials: &'a MaterialLibrary,
    /// Room templates resolved so far (apartments refer to them).
    pub rooms: &'a BTreeMap<String, Arc<RoomTemplate>>,
}

impl TemplateDef {
    /// True when this is an apartment (multi-room) template.
    pub fn is_apartment(&self) -> bool {
        !self.rooms.is_empty()
    }

    /// Resolves a room template.
    pub fn resolve_room(self, stem: &str, cx: &ResolveContext<'_>, file: &Path) -> Result<RoomTemplate, AssetError> {
        let error = |field: &str, message: String| AssetError::field(file, field, message);
        if !self.doors.is_empty() {
            return Err(error("doors", "`doors` belongs to apartment templates (with [[rooms]])".into()));
        }
        let width = self.width.ok_or_else(|| error("width", "missing: a room needs width = [min, max]".into()))?;
        let depth = self.depth.ok_or_else(|| error("depth", "missing: a room needs depth = [min, max]".into()))?;
        let width = range(width, "width", 1.5, 30.0, &error)?;
        let depth = range(depth, "depth", 1.5, 30.0, &error)?;
        let height = range(self.height.unwrap_or(DEFAULT_HEIGHT), "height", 2.1, 6.0, &error)?;
        let floor = cx.materials.resolve_palette(&self.floor, file, "floor")?;
        let walls = cx.materials.resolve_palette(&self.walls, file, "walls")?;
        let ceiling = cx.materials.resolve_palette(&self.ceiling, file, "ceiling")?;
        let mut groups: Vec<Group> = Vec::new();
        for (index, def) in self.groups.into_iter().enumerate() {
            let group = resolve_group(def, index, &groups, cx.catalog, &error)?;
            let category = cx.catalog.get(&group.category).expect("checked by resolve_group");
            let (long, short) = (width.max.max(depth.max), width.max.min(depth.max));
            let (a, b) = (category.size.x.max(category.size.z), category.size.x.min(category.size.z));
            if a > long || b > short {
                return Err(error(
                    &format!("groups[{index}]"),
                    format!(
                        "group `{}` (rule {}): a {} is {:.2} x {:.2} m but the room is at most {:.2} x {:.2} m",
                        group.name,
                        group.rule.name(),
                        category.display,
                        category.size.x,
                        category.size.z,
                        width.max,
                        depth.max
                    ),
                ));
            }
            groups.push(group);
        }
        Ok(RoomTemplate {
            name: stem.to_string(),
            display: self.display.unwrap_or_else(|| stem.replace('_', " ")),
            width,
            depth,
            height,
            floor,
            walls,
            ceiling,
            groups,
        })
    }

    /// Resolves an apartment template against the room templates in `cx`.
    pub fn resolve_apartment(self, stem: &str, cx: &ResolveContext<'_>, file: &Path) -> Result<Template, AssetError> {
        let error = |field: &str, message: String| AssetError::field(file, field, message);
        let room_only = [
            ("width", self.width.is_some()),
            ("depth", self.depth.is_some()),
            ("floor", !self.floor.is_empty()),
            ("walls", !self.walls.is_empty()),
            ("ceiling", !self.ceiling.is_empty()),
            ("groups", !self.groups.is_empty()),
        ];
        if let Some((field, _)) = room_only.iter().find(|(_, present)| *present) {
            return Err(error(field, "an apartment takes these from its rooms' templates; remove it".into()));
        }
        if !(2..=6).contains(&self.rooms.len()) {
            return Err(error("rooms", format!("an apartment has 2 to 6 rooms, not {}", self.rooms.len())));
        }
        let mut rooms: Vec<RoomSlot> = Vec::new();
        for (index, def) in self.rooms.into_iter().enumerate() {
            let room = cx.rooms.get(&def.template).cloned().ok_or_else(|| {
                let known: Vec<&str> = cx.rooms.keys().map(String::as_str).collect();
                error(
                    &format!("rooms[{index}].template"),
                    format!("unknown room template `{}` (room templates: {})", def.template, known.join(", ")),
                )
            })?;
            if rooms.iter().any(|r| r.name == def.name) {
                return Err(error(&format!("rooms[{index}].name"), format!("duplicate room name `{}`", def.name)));
            }
            rooms.push(RoomSlot { name: def.name, room });
        }
        let mut doors = Vec::new();
        for (index, [a, b]) in self.doors.iter().enumerate() {
            let find = |name: &String| {
                rooms
                    .iter()
                    .position(|r| &r.name == name)
                    .ok_or_else(|| error(&format!("doors[{index}]"), format!("no room named `{name}` in [[rooms]]")))
            };
            let (i, j) = (find(a)?, find(b)?);
            if i == j || doors.contains(&(i, j)) || doors.contains(&(j, i)) {
                return Err(error(&format!("doors[{index}]"), format!("`{a}` - `{b}` is not a new pair of rooms")));
            }
            doors.push((i, j));
        }
        if !connected(rooms.len(), &doors) {
            return Err(error("doors", "every room must be reachable from the first through doors".into()));
        }
        let height = range(self.height.unwrap_or(DEFAULT_HEIGHT), "height", 2.1, 6.0, &error)?;
        Ok(Template {
            name: stem.to_string(),
            display: self.display.unwrap_or_else(|| stem.replace('_', " ")),
            file: file.to_path_buf(),
            height,
            rooms,
            doors,
        })
    }
}

impl Template {
    /// The one-room template made from a room template.
    pub fn single_room(room: Arc<RoomTemplate>, file: &Path) -> Template {
        Template {
            name: room.name.clone(),
            display: room.display.clone(),
            file: file.to_path_buf(),
            height: room.height,
            rooms: vec![RoomSlot { name: room.display.clone(), room }],
            doors: Vec::new(),
        }
    }
}

fn range(
    value: [f32; 2],
    field: &str,
    lowest: f32,
    highest: f32,
    error: &dyn Fn(&str, String) -> AssetError,
) -> Result<Range, AssetError> {
    let [min, max] = value;
    if !(min >= lowest && max <= highest && min <= max) {
        return Err(error(field, format!("[{min}, {max}] must satisfy {lowest} <= min <= max <= {highest}")));
    }
    Ok(Range { min, max })
}

fn resolve_group(
    def: GroupDef,
    index: usize,
    earlier: &[Group],
    catalog: &Catalog,
    error: &dyn Fn(&str, String) -> AssetError,
) -> Result<Group, AssetError> {
    let name = def.name.clone().unwrap_or_else(|| def.category.clone());
    let field = |f: &str| format!("groups[{index}].{f}");
    let rule_name = format!("{:?}", def.rule).to_lowercase();
    let fail = |f: &str, message: String| error(&field(f), format!("group `{name}` (rule {rule_name}): {message}"));
    let known = |category: &str, f: &str| -> Result<(), AssetError> {
        if catalog.get(category).is_none() {
            return Err(fail(f, format!("unknown category `{category}` (no such file in the catalog)")));
        }
        Ok(())
    };
    let placed_earlier = |category: &str, f: &str| -> Result<(), AssetError> {
        known(category, f)?;
        if !earlier.iter().any(|g| g.category == category) {
            return Err(fail(f, format!("`{category}` must be placed by an earlier group of this room")));
        }
        Ok(())
    };
    known(&def.category, "category")?;
    let [low, high] = def.count;
    if low > high || high > 200 {
        return Err(fail("count", format!("[{low}, {high}] must satisfy min <= max <= 200")));
    }
    let chance = def.chance.unwrap_or(1.0);
    if !(0.0..=1.0).contains(&chance) {
        return Err(fail("chance", format!("{chance} is outside 0..=1")));
    }
    let uses = |f: &str, present: bool, wanted: bool| -> Result<(), AssetError> {
        match (present, wanted) {
            (true, false) => Err(fail(f, format!("`{f}` is not used by rule {rule_name}"))),
            (false, true) => Err(fail(f, format!("rule {rule_name} needs `{f}`"))),
            _ => Ok(()),
        }
    };
    let anchored = matches!(def.rule, RuleKind::Around | RuleKind::FrontOf);
    uses("anchor", def.anchor.is_some(), anchored)?;
    uses("on", def.on.is_some(), def.rule == RuleKind::On)?;
    if def.with.is_some() {
        uses("with", true, def.rule == RuleKind::Rows)?;
    }
    if def.gap.is_some() {
        uses("gap", true, anchored || def.rule == RuleKind::Rows)?;
    }
    let gap = |default: [f32; 2]| -> Result<Range, AssetError> {
        let [min, max] = def.gap.unwrap_or(default);
        if !(0.0 <= min && min <= max && max <= 5.0) {
            return Err(fail("gap", format!("[{min}, {max}] must satisfy 0 <= min <= max <= 5")));
        }
        Ok(Range { min, max })
    };
    let rule = match def.rule {
        RuleKind::Wall => Rule::Wall,
        RuleKind::Corner => Rule::Corner,
        RuleKind::Middle => Rule::Middle,
        RuleKind::Around | RuleKind::FrontOf => {
            let anchor = def.anchor.clone().expect("checked above");
            placed_earlier(&anchor, "anchor")?;
            if def.rule == RuleKind::Around {
                Rule::Around { anchor, gap: gap([0.02, 0.12])? }
            } else {
                Rule::FrontOf { anchor, gap: gap([0.35, 0.6])? }
            }
        }
        RuleKind::Rows => {
            if let Some(with) = &def.with {
                known(with, "with")?;
            }
            Rule::Rows { with: def.with.clone(), aisle: gap([0.7, 1.0])? }
        }
        RuleKind::On => {
            let receptacles = def.on.clone().expect("checked above");
            if receptacles.is_empty() {
                return Err(fail("on", "name at least one receptacle category".into()));
            }
            for receptacle in &receptacles {
                placed_earlier(receptacle, "on")?;
                if !catalog.get(receptacle).is_some_and(|c| c.is_receptacle()) {
                    return Err(fail("on", format!("`{receptacle}` has no part with `support = true`")));
                }
            }
            Rule::On { receptacles }
        }
    };
    Ok(Group { name, category: def.category, count: (low, high), chance, rule })
}

fn connected(rooms: usize, doors: &[(usize, usize)]) -> bool {
    let mut seen = vec![false; rooms];
    let mut stack = vec![0];
    seen[0] = true;
    while let Some(room) = stack.pop() {
        for &(a, b) in doors {
            for (from, to) in [(a, b), (b, a)] {
                if from == room && !seen[to] {
                    seen[to] = true;
                    stack.push(to);
                }
            }
        }
    }
    seen.into_iter().all(|s| s)
}
