//! C2SP tlog-tiles: the tree stored as tiles of 256 hashes, the form in which zhiyuan keeps
//! it in the database and publishes it.
//!
//! A tile at level `L` holds up to 256 consecutive hashes of the tree's nodes at height
//! `8·L` (level 0 holds leaf hashes); tile `N` holds nodes `256·N ..`. A node at height
//! `8·L + r` (r < 8) is the root of `2^r` consecutive hashes inside one tile, so any
//! complete subtree is one tile read plus at most 127 hashings. Full tiles never change;
//! only the right edge of each level grows.

use std::collections::{BTreeSet, HashMap};

use crate::merkle::{Hash, NodeSource, ProofError, consistency_proof, inclusion_proof, node_hash};

/// Hashes per full tile.
pub const TILE_WIDTH: u64 = 256;
/// Tree levels per tile level.
const TILE_HEIGHT: u32 = 8;

/// Which tile: its level and index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    pub level: u8,
    pub index: u64,
}

impl TileId {
    /// How many hashes this tile holds in a tree of `size` leaves (0 when it is beyond
    /// the tree, [`TILE_WIDTH`] when full).
    pub fn width_at(self, size: u64) -> u64 {
        let nodes = size
            .checked_shr(TILE_HEIGHT * u32::from(self.level))
            .unwrap_or(0);
        nodes
            .saturating_sub(self.index * TILE_WIDTH)
            .min(TILE_WIDTH)
    }

    /// The C2SP path below the log's prefix: `tile/<L>/<N>` for a full tile, with
    /// `.p/<W>` for a partial one of width `W`.
    pub fn path(self, width: u64) -> String {
        tile_path(&self.level.to_string(), self.index, width)
    }
}

fn tile_path(level: &str, index: u64, width: u64) -> String {
    let mut path = format!("tile/{level}/{}", encode_index(index));
    if width < TILE_WIDTH {
        path.push_str(&format!(".p/{width}"));
    }
    path
}

/// The path of entry bundle `index` (`tile/entries/<N>[.p/<W>]`).
pub fn entries_path(index: u64, width: u64) -> String {
    tile_path("entries", index, width)
}

/// `N` as 3-digit path elements, all but the last prefixed with `x`: 1234067 →
/// `x001/x234/067`.
fn encode_index(mut n: u64) -> String {
    let mut parts = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        parts.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    parts.reverse();
    parts.join("/")
}

/// What a tile path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TilePath {
    Hashes { tile: TileId, width: u64 },
    Entries { index: u64, width: u64 },
}

/// Parses the part of a path after `tile/`; `None` for anything that is not a
/// well-formed tile path (non-canonical indexes included).
pub fn parse_tile_path(path: &str) -> Option<TilePath> {
    let (level, rest) = path.split_once('/')?;
    let (index, width) = match rest.split_once(".p/") {
        Some((index, w)) => {
            let width: u64 = parse_canonical(w)?;
            if !(1..TILE_WIDTH).contains(&width) {
                return None;
            }
            (index, width)
        }
        None => (rest, TILE_WIDTH),
    };
    let parts: Vec<&str> = index.split('/').collect();
    let (last, prefix) = parts.split_last()?;
    let mut n: u64 = 0;
    for (i, part) in prefix.iter().enumerate() {
        let digits = part.strip_prefix('x')?;
        if digits.len() != 3 || (i == 0 && digits == "000") {
            return None;
        }
        n = n.checked_mul(1000)?.checked_add(digits.parse().ok()?)?;
    }
    if last.len() != 3 || !last.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n = n.checked_mul(1000)?.checked_add(last.parse().ok()?)?;
    if level == "entries" {
        return Some(TilePath::Entries { index: n, width });
    }
    let level: u8 = parse_canonical(level)?;
    if level > 63 / TILE_HEIGHT as u8 {
        return None;
    }
    Some(TilePath::Hashes {
        tile: TileId { level, index: n },
        width,
    })
}

fn parse_canonical<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || (s.len() > 1 && s.starts_with('0')) || !s.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    s.parse().ok()
}

/// Concatenated hashes, as a tile is stored and served.
pub fn tile_bytes(hashes: &[Hash]) -> Vec<u8> {
    hashes.concat()
}

/// Hashes from a tile's bytes; `None` unless the length is a multiple of 32.
pub fn tile_hashes(bytes: &[u8]) -> Option<Vec<Hash>> {
    if !bytes.len().is_multiple_of(32) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0; 32];
                h.copy_from_slice(c);
                h
            })
            .collect(),
    )
}

/// The root of `hashes` (a power of two of them) as a complete subtree.
fn subtree(hashes: &[Hash]) -> Hash {
    debug_assert!(hashes.len().is_power_of_two());
    let mut level = hashes.to_vec();
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|p| node_hash(&p[0], &p[1]))
            .collect();
    }
    level[0]
}

/// The node (height, index) from the tiles `tile` returns, or why not.
fn node_from_tiles<'t>(
    height: u32,
    index: u64,
    tile: impl Fn(TileId) -> Option<&'t [Hash]>,
) -> Result<Hash, ProofError> {
    let unavailable = |why: &str| ProofError::Unavailable {
        level: height,
        index,
        why: why.into(),
    };
    let level = u8::try_from(height / TILE_HEIGHT).map_err(|_| unavailable("too high"))?;
    let r = height % TILE_HEIGHT;
    let first = index << r;
    let id = TileId {
        level,
        index: first / TILE_WIDTH,
    };
    let hashes = tile(id).ok_or_else(|| unavailable("its tile is not loaded"))?;
    let lo = (first % TILE_WIDTH) as usize;
    let hi = lo + (1usize << r);
    if hi > hashes.len() {
        return Err(unavailable("its tile is narrower than the subtree"));
    }
    Ok(subtree(&hashes[lo..hi]))
}

/// Tiles held in memory (as loaded from storage) as a source of proofs.
#[derive(Debug, Clone, Default)]
pub struct Tiles(pub HashMap<TileId, Vec<Hash>>);

impl NodeSource for Tiles {
    fn node(&self, level: u32, index: u64) -> Result<Hash, ProofError> {
        node_from_tiles(level, index, |id| self.0.get(&id).map(Vec::as_slice))
    }
}

/// A tile with the complete subtrees inside it hashed once: `levels[r][j]` is the node of
/// height `8·L + r` covering hashes `j·2^r ..` of the tile. A proof then reads its nodes
/// instead of hashing up to 127 of them per tile level; worth it for tiles kept in a cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpandedTile {
    levels: Vec<Vec<Hash>>,
}

impl ExpandedTile {
    pub fn new(hashes: Vec<Hash>) -> Self {
        let mut levels = vec![hashes];
        for _ in 1..TILE_HEIGHT {
            let next: Vec<Hash> = levels[levels.len() - 1]
                .chunks_exact(2)
                .map(|p| node_hash(&p[0], &p[1]))
                .collect();
            levels.push(next);
        }
        Self { levels }
    }

    /// The tile's own hashes.
    pub fn hashes(&self) -> &[Hash] {
        &self.levels[0]
    }

    /// Bytes held, for cache weights.
    pub fn weight(&self) -> usize {
        self.levels.iter().map(|l| l.len() * 32).sum()
    }
}

/// Expanded tiles as a source of proofs (see [`ExpandedTile`]).
#[derive(Debug, Clone, Default)]
pub struct ExpandedTiles(pub HashMap<TileId, std::sync::Arc<ExpandedTile>>);

impl NodeSource for ExpandedTiles {
    fn node(&self, level: u32, index: u64) -> Result<Hash, ProofError> {
        let unavailable = |why: &str| ProofError::Unavailable {
            level,
            index,
            why: why.into(),
        };
        let tile_level = u8::try_from(level / TILE_HEIGHT).map_err(|_| unavailable("too high"))?;
        let r = level % TILE_HEIGHT;
        let first = index << r;
        let tile = self
            .0
            .get(&TileId {
                level: tile_level,
                index: first / TILE_WIDTH,
            })
            .ok_or_else(|| unavailable("its tile is not loaded"))?;
        tile.levels[r as usize]
            .get(((first % TILE_WIDTH) >> r) as usize)
            .copied()
            .ok_or_else(|| unavailable("its tile is narrower than the subtree"))
    }
}

/// A source that answers every node with zeros and notes which tile each came from: run
/// a proof against it to learn which tiles the real proof will read.
#[derive(Debug, Default)]
struct Recorder(std::cell::RefCell<BTreeSet<TileId>>);

impl NodeSource for Recorder {
    fn node(&self, level: u32, index: u64) -> Result<Hash, ProofError> {
        let tile_level =
            u8::try_from(level / TILE_HEIGHT).map_err(|_| ProofError::Unavailable {
                level,
                index,
                why: "too high".into(),
            })?;
        self.0.borrow_mut().insert(TileId {
            level: tile_level,
            index: (index << (level % TILE_HEIGHT)) / TILE_WIDTH,
        });
        Ok([0; 32])
    }
}

/// The tiles an inclusion proof of leaf `index` in a tree of `size` reads.
pub fn inclusion_tiles(index: u64, size: u64) -> Result<BTreeSet<TileId>, ProofError> {
    let r = Recorder::default();
    inclusion_proof(&r, index, size)?;
    Ok(r.0.into_inner())
}

/// The tiles a consistency proof between trees of `first` and `second` leaves reads.
pub fn consistency_tiles(first: u64, second: u64) -> Result<BTreeSet<TileId>, ProofError> {
    let r = Recorder::default();
    consistency_proof(&r, first, second)?;
    Ok(r.0.into_inner())
}

/// The tiles at the right edge of a tree of `size`: per level, the last tile when it is
/// partial. The root of the tree is computed from these alone, and appending starts
/// from them.
pub fn edge_tiles(size: u64) -> Vec<TileId> {
    let mut out = Vec::new();
    let mut level = 0u8;
    loop {
        let nodes = size
            .checked_shr(TILE_HEIGHT * u32::from(level))
            .unwrap_or(0);
        if nodes == 0 {
            return out;
        }
        if !nodes.is_multiple_of(TILE_WIDTH) {
            out.push(TileId {
                level,
                index: nodes / TILE_WIDTH,
            });
        }
        level += 1;
    }
}

/// Appends leaves to a tree kept as tiles: starts from the edge tiles of the stored
/// tree, and yields every tile that changed (full ones once, partial ones at their new
/// width) and the new root.
#[derive(Debug, Clone)]
pub struct TileAppender {
    size: u64,
    /// Per level, the hashes of the tile at the right edge (fewer than 256).
    edge: Vec<Vec<Hash>>,
    /// Per level, whether its edge tile changed.
    touched: Vec<bool>,
    full: Vec<(TileId, Vec<Hash>)>,
}

impl TileAppender {
    /// Starts from a tree of `size` leaves whose edge tiles (see [`edge_tiles`]) `tiles`
    /// holds, at least as wide as the tree needs (wider ones are cut to the tree).
    pub fn new(size: u64, tiles: &HashMap<TileId, Vec<Hash>>) -> Result<Self, ProofError> {
        let mut edge = Vec::new();
        let mut level = 0u8;
        while size
            .checked_shr(TILE_HEIGHT * u32::from(level))
            .unwrap_or(0)
            > 0
        {
            edge.push(Vec::new());
            level += 1;
        }
        for id in edge_tiles(size) {
            let width = id.width_at(size) as usize;
            let hashes =
                tiles
                    .get(&id)
                    .filter(|h| h.len() >= width)
                    .ok_or(ProofError::Unavailable {
                        level: u32::from(id.level) * TILE_HEIGHT,
                        index: id.index * TILE_WIDTH,
                        why: "an edge tile is missing or too narrow".into(),
                    })?;
            edge[usize::from(id.level)] = hashes[..width].to_vec();
        }
        Ok(Self {
            size,
            touched: vec![false; edge.len()],
            edge,
            full: Vec::new(),
        })
    }

    /// Leaves in the tree so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn push(&mut self, leaf: Hash) {
        self.size += 1;
        let mut hash = leaf;
        let mut level = 0usize;
        loop {
            if self.edge.len() == level {
                self.edge.push(Vec::new());
                self.touched.push(false);
            }
            self.touched[level] = true;
            self.edge[level].push(hash);
            if self.edge[level].len() < TILE_WIDTH as usize {
                return;
            }
            let hashes = std::mem::take(&mut self.edge[level]);
            hash = subtree(&hashes);
            let nodes = self.size >> (TILE_HEIGHT * level as u32);
            self.full.push((
                TileId {
                    level: level as u8,
                    index: nodes / TILE_WIDTH - 1,
                },
                hashes,
            ));
            level += 1;
        }
    }

    /// The root of the tree so far.
    pub fn root(&self) -> Result<Hash, ProofError> {
        crate::merkle::root(self, self.size)
    }

    /// The tiles that changed: full ones, then the edge tiles that grew.
    pub fn finish(self) -> Vec<(TileId, Vec<Hash>)> {
        let mut out = self.full;
        for (level, hashes) in self.edge.into_iter().enumerate() {
            if self.touched[level] && !hashes.is_empty() {
                let nodes = self.size >> (TILE_HEIGHT * level as u32);
                out.push((
                    TileId {
                        level: level as u8,
                        index: nodes / TILE_WIDTH,
                    },
                    hashes,
                ));
            }
        }
        out
    }
}

impl NodeSource for TileAppender {
    fn node(&self, level: u32, index: u64) -> Result<Hash, ProofError> {
        node_from_tiles(level, index, |id| {
            let hashes = self.edge.get(usize::from(id.level))?;
            let nodes = self.size >> (TILE_HEIGHT * u32::from(id.level));
            (id.index == nodes / TILE_WIDTH).then_some(hashes.as_slice())
        })
    }
}

/// The root of a tree whose leaves arrive one by one, in `O(log n)` memory: for checking
/// a whole stored tree.
#[derive(Debug, Clone, Default)]
pub struct RootBuilder {
    size: u64,
    /// Roots of the complete subtrees along the right edge, largest first.
    stack: Vec<Hash>,
}

impl RootBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut n = self.size;
        while n & 1 == 1 {
            let left = self.stack.pop().unwrap_or_default();
            hash = node_hash(&left, &hash);
            n >>= 1;
        }
        self.stack.push(hash);
        self.size += 1;
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The RFC 9162 root of the leaves pushed so far.
    pub fn root(&self) -> Hash {
        let mut it = self.stack.iter().rev();
        match it.next() {
            None => {
                use sha2::Digest;
                sha2::Sha256::digest([]).into()
            }
            Some(last) => it.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{MemoryTree, leaf_hash, verify_consistency, verify_inclusion};
    use proptest::prelude::*;

    fn leaf(i: u64) -> Hash {
        leaf_hash(&i.to_be_bytes())
    }

    /// Appends `0..size` in the given batch sizes, storing tiles as a database would.
    fn stored(batches: &[u64]) -> (Tiles, u64, Hash) {
        let mut tiles = Tiles::default();
        let mut size = 0;
        let mut root = [0; 32];
        for &n in batches {
            let mut a = TileAppender::new(size, &tiles.0).unwrap();
            for i in size..size + n {
                a.push(leaf(i));
            }
            size = a.size();
            root = a.root().unwrap();
            for (id, hashes) in a.finish() {
                tiles.0.insert(id, hashes);
            }
        }
        (tiles, size, root)
    }

    #[test]
    fn tile_paths_follow_the_c2sp_examples() {
        let t = TileId {
            level: 0,
            index: 1_234_067,
        };
        assert_eq!(t.path(256), "tile/0/x001/x234/067");
        assert_eq!(t.path(8), "tile/0/x001/x234/067.p/8");
        assert_eq!(entries_path(5, 256), "tile/entries/005");
        assert_eq!(
            parse_tile_path("0/x001/x234/067.p/8"),
            Some(TilePath::Hashes { tile: t, width: 8 })
        );
        assert_eq!(
            parse_tile_path("entries/005"),
            Some(TilePath::Entries {
                index: 5,
                width: 256
            })
        );
        for bad in [
            "0/1234067",
            "0/x000/067",
            "0/001/067",
            "0/x1/067",
            "0/067.p/0",
            "0/067.p/256",
            "0/067.p/08",
            "01/067",
            "9/000",
            "0/06a",
            "0/067/",
        ] {
            assert_eq!(parse_tile_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn widths_and_edges_follow_the_tree_size() {
        let t = |level, index| TileId { level, index };
        assert_eq!(t(0, 0).width_at(10), 10);
        assert_eq!(t(0, 0).width_at(300), 256);
        assert_eq!(t(0, 1).width_at(300), 44);
        assert_eq!(t(1, 0).width_at(300), 1);
        assert_eq!(t(0, 5).width_at(300), 0);
        assert_eq!(edge_tiles(0), vec![]);
        assert_eq!(edge_tiles(256), vec![t(1, 0)]);
        assert_eq!(edge_tiles(300), vec![t(0, 1), t(1, 0)]);
        assert_eq!(edge_tiles(65_536), vec![t(2, 0)]);
    }

    proptest! {
        #[test]
        fn tiles_appended_in_any_batches_give_the_trees_root_and_proofs(
            batches in proptest::collection::vec(0u64..700, 1..6),
            pick in 0u64..1_000_000,
        ) {
            let (tiles, size, root) = stored(&batches);
            let mut memory = MemoryTree::new();
            let mut builder = RootBuilder::new();
            for i in 0..size {
                memory.push(leaf(i));
                builder.push(leaf(i));
            }
            prop_assert_eq!(root, memory.root_at(size).unwrap());
            prop_assert_eq!(builder.root(), root);
            prop_assert_eq!(crate::merkle::root(&tiles, size).unwrap(), root);
            if size > 0 {
                let index = pick % size;
                let proof = inclusion_proof(&tiles, index, size).unwrap();
                prop_assert!(verify_inclusion(index, size, &leaf(index), &proof, &root).is_ok());
                // Only the tiles the recorder named are needed.
                let needed = inclusion_tiles(index, size).unwrap();
                let only = Tiles(tiles.0.iter().filter(|(id, _)| needed.contains(id))
                    .map(|(id, h)| (*id, h.clone())).collect());
                prop_assert_eq!(inclusion_proof(&only, index, size).unwrap(), proof);
                let first = 1 + pick % size;
                let old_root = memory.root_at(first).unwrap();
                let proof = consistency_proof(&tiles, first, size).unwrap();
                prop_assert!(verify_consistency(first, size, &proof, &old_root, &root).is_ok());
                let needed = consistency_tiles(first, size).unwrap();
                prop_assert!(needed.iter().all(|id| tiles.0.contains_key(id)));
                // Expanded tiles give the same proofs.
                let expanded = ExpandedTiles(tiles.0.iter()
                    .map(|(id, h)| (*id, std::sync::Arc::new(ExpandedTile::new(h.clone()))))
                    .collect());
                prop_assert_eq!(consistency_proof(&expanded, first, size).unwrap(), proof);
                prop_assert_eq!(
                    inclusion_proof(&expanded, index, size).unwrap(),
                    inclusion_proof(&tiles, index, size).unwrap()
                );
            }
        }
    }

    #[test]
    fn a_missing_edge_tile_is_reported_not_guessed() {
        let (mut tiles, size, _) = stored(&[300]);
        tiles.0.remove(&TileId { level: 0, index: 1 });
        assert!(TileAppender::new(size, &tiles.0).is_err());
    }
}
