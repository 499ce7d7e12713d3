//! Stage 5: navigation. An occupancy grid over the floor (a cell is free when an agent of
//! the given radius standing at its centre touches no wall and no object), the main walkable
//! region, reachability and shortest walkable paths.

use glam::Vec2;
use pathfinding::prelude::{astar, bfs_reach};
use serde::{Deserialize, Serialize};

use crate::geometry::Rect2;
use crate::scene::{Doorway, Room, SceneObject, Wall};

/// Objects and walls whose bottom is above this height do not block walking (door lintels).
const AGENT_HEIGHT: f32 = 1.8;

/// What a grid cell holds. Written into the scene file as one character per cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellState {
    /// Not floor (outside the rooms and doorways): ' '.
    Outside,
    /// Floor an agent cannot stand on (too close to a wall or an object): '#'.
    Occupied,
    /// Free floor in the main walkable region: '.'.
    Walkable,
    /// Free floor cut off from the main region: ':'.
    Isolated,
}

impl CellState {
    fn symbol(self) -> char {
        match self {
            CellState::Outside => ' ',
            CellState::Occupied => '#',
            CellState::Walkable => '.',
            CellState::Isolated => ':',
        }
    }

    fn from_symbol(c: char) -> CellState {
        match c {
            '#' => CellState::Occupied,
            '.' => CellState::Walkable,
            ':' => CellState::Isolated,
            _ => CellState::Outside,
        }
    }

    /// Whether an agent can stand here.
    pub fn is_free(self) -> bool {
        matches!(self, CellState::Walkable | CellState::Isolated)
    }
}

/// A cell index: (column along +X, row along +Z).
pub type Cell = (u32, u32);

/// The occupancy grid of a scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NavGrid {
    /// World (x, z) of the grid's lowest corner.
    pub origin: Vec2,
    /// Cell edge length, metres.
    pub cell_size: f32,
    /// Agent radius the grid was built for, metres.
    pub agent_radius: f32,
    /// Number of columns (along +X).
    pub cols: u32,
    /// Number of rows (along +Z).
    pub rows: u32,
    /// One string per row (increasing z), one character per column: ' ' outside, '#' occupied,
    /// '.' walkable (main region), ':' free but cut off.
    pub cells: Vec<String>,
}

/// A shortest walkable path.
#[derive(Debug, Clone, PartialEq)]
pub struct NavPath {
    /// The cells from start to goal.
    pub cells: Vec<Cell>,
    /// Cell centres from start to goal.
    pub points: Vec<Vec2>,
    /// Length along the cell centres, metres.
    pub length: f32,
}

/// Inputs of the grid: the floor and what stands on it.
pub struct NavInput<'a> {
    /// Rooms.
    pub rooms: &'a [Room],
    /// Doorways (walkable floor between rooms).
    pub doorways: &'a [Doorway],
    /// Wall boxes.
    pub walls: &'a [Wall],
    /// Objects; those resting on others do not block more floor than their support.
    pub objects: &'a [SceneObject],
}

impl NavGrid {
    /// Builds the grid for `input` with square cells of `cell_size` for an agent of `agent_radius`.
    pub fn build(input: &NavInput<'_>, cell_size: f32, agent_radius: f32) -> NavGrid {
        let min = input.rooms.iter().map(|r| r.min).reduce(Vec2::min).unwrap_or(Vec2::ZERO);
        let max = input.rooms.iter().map(|r| r.max).reduce(Vec2::max).unwrap_or(Vec2::ZERO);
        let cols = ((max.x - min.x) / cell_size).ceil() as u32;
        let rows = ((max.y - min.y) / cell_size).ceil() as u32;
        let obstacles: Vec<Rect2> = input
            .walls
            .iter()
            .filter(|w| w.center.y - 0.5 * w.size.y < AGENT_HEIGHT)
            .map(|w| Rect2 {
                center: Vec2::new(w.center.x, w.center.z),
                half_extents: Vec2::new(0.5 * w.size.x, 0.5 * w.size.z),
                axis_z: Vec2::Y,
            })
            .chain(
                input
                    .objects
                    .iter()
                    .filter(|o| o.support.is_none() && o.aabb.min.y < AGENT_HEIGHT)
                    .map(SceneObject::footprint),
            )
            .collect();
        let mut grid = NavGrid { origin: min, cell_size, agent_radius, cols, rows, cells: Vec::new() };
        let mut states = vec![CellState::Outside; (cols * rows) as usize];
        for row in 0..rows {
            for col in 0..cols {
                let p = grid.center((col, row));
                let on_floor = input.rooms.iter().any(|r| r.contains(p, 0.0))
                    || input.doorways.iter().any(|d| p.cmpge(d.min).all() && p.cmple(d.max).all());
                if on_floor {
                    let blocked = obstacles.iter().any(|o| o.distance_to(p) < agent_radius);
                    states[(row * cols + col) as usize] =
                        if blocked { CellState::Occupied } else { CellState::Isolated };
                }
            }
        }
        grid.cells = encode(&states, cols);
        // The main region is the largest connected set of free cells.
        let mut best: Vec<Cell> = Vec::new();
        let mut seen = vec![false; states.len()];
        for row in 0..rows {
            for col in 0..cols {
                let index = (row * cols + col) as usize;
                if states[index].is_free() && !seen[index] {
                    let region = grid.reachable_from((col, row));
                    for &(c, r) in &region {
                        seen[(r * cols + c) as usize] = true;
                    }
                    if region.len() > best.len() {
                        best = region;
                    }
                }
            }
        }
        for (c, r) in best {
            states[(r * cols + c) as usize] = CellState::Walkable;
        }
        grid.cells = encode(&states, cols);
        grid
    }

    /// The state of a cell.
    pub fn state(&self, (col, row): Cell) -> CellState {
        self.cells
            .get(row as usize)
            .and_then(|r| r.as_bytes().get(col as usize))
            .map_or(CellState::Outside, |&b| CellState::from_symbol(b as char))
    }

    /// World (x, z) centre of a cell.
    pub fn center(&self, (col, row): Cell) -> Vec2 {
        self.origin + Vec2::new((col as f32 + 0.5) * self.cell_size, (row as f32 + 0.5) * self.cell_size)
    }

    /// The cell containing a world (x, z) point, if inside the grid.
    pub fn cell_at(&self, point: Vec2) -> Option<Cell> {
        let local = (point - self.origin) / self.cell_size;
        (local.x >= 0.0 && local.y >= 0.0 && local.x < self.cols as f32 && local.y < self.rows as f32)
            .then_some((local.x as u32, local.y as u32))
    }

    /// Every cell in one state.
    pub fn cells_in(&self, state: CellState) -> Vec<Cell> {
        (0..self.rows)
            .flat_map(|r| (0..self.cols).map(move |c| (c, r)))
            .filter(|&cell| self.state(cell) == state)
            .collect()
    }

    /// Free cells an agent can step to from `cell`: 8 neighbours, diagonals only when both
    /// cells they pass between are free too (no cutting corners).
    pub fn neighbours(&self, (col, row): Cell) -> Vec<(Cell, u32)> {
        let free = |c: i64, r: i64| c >= 0 && r >= 0 && self.state((c as u32, r as u32)).is_free();
        let (c, r) = (col as i64, row as i64);
        let mut out = Vec::with_capacity(8);
        for (dc, dr) in [(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)] {
            let (nc, nr) = (c + dc, r + dr);
            if !free(nc, nr) {
                continue;
            }
            let diagonal = dc != 0 && dr != 0;
            if diagonal && !(free(c + dc, r) && free(c, r + dr)) {
                continue;
            }
            out.push(((nc as u32, nr as u32), if diagonal { 1414 } else { 1000 }));
        }
        out
    }

    /// All cells reachable from `start` (including it), or nothing if `start` is not free.
    pub fn reachable_from(&self, start: Cell) -> Vec<Cell> {
        if !self.state(start).is_free() {
            return Vec::new();
        }
        bfs_reach(start, |&cell| self.neighbours(cell).into_iter().map(|(n, _)| n)).collect()
    }

    /// The shortest walkable path between the cells containing two world points.
    pub fn shortest_path(&self, from: Vec2, to: Vec2) -> Option<NavPath> {
        let (start, goal) = (self.cell_at(from)?, self.cell_at(to)?);
        self.shortest_path_between(start, goal)
    }

    /// The shortest walkable path between two cells.
    pub fn shortest_path_between(&self, start: Cell, goal: Cell) -> Option<NavPath> {
        if !self.state(start).is_free() || !self.state(goal).is_free() {
            return None;
        }
        let octile = |&(c, r): &Cell| {
            let dx = c.abs_diff(goal.0);
            let dy = r.abs_diff(goal.1);
            1000 * dx.max(dy) + 414 * dx.min(dy)
        };
        let (cells, cost) = astar(&start, |&cell| self.neighbours(cell), octile, |&cell| cell == goal)?;
        let points = cells.iter().map(|&c| self.center(c)).collect();
        Some(NavPath { cells, points, length: cost as f32 / 1000.0 * self.cell_size })
    }

    /// Fraction of the rooms' floor cells that are in the main walkable region.
    pub fn walkable_fraction(&self, rooms: &[Room]) -> f32 {
        let (mut floor, mut walkable) = (0usize, 0usize);
        for row in 0..self.rows {
            for col in 0..self.cols {
                if rooms.iter().any(|r| r.contains(self.center((col, row)), 0.0)) {
                    floor += 1;
                    walkable += usize::from(self.state((col, row)) == CellState::Walkable);
                }
            }
        }
        if floor == 0 { 0.0 } else { walkable as f32 / floor as f32 }
    }
}

fn encode(states: &[CellState], cols: u32) -> Vec<String> {
    states.chunks(cols.max(1) as usize).map(|row| row.iter().map(|s| s.symbol()).collect()).collect()
}
