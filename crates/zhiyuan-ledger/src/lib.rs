//! The tamper-evident service ledger: an append-only Merkle tree hashed as RFC 9162
//! (Certificate Transparency 2.0) prescribes, so that any outside monitor with a standard
//! verifier can check what zhiyuan publishes.
//!
//! This crate holds the arithmetic and formats only: hashing, proofs and their
//! verification over any [`NodeSource`] that can return the hash of a complete subtree,
//! and C2SP signed notes and checkpoints. Storage lives in the store crates.

mod merkle;
mod note;
mod tiles;

pub use merkle::{
    Hash, MemoryTree, NodeSource, ProofError, consistency_proof, inclusion_proof, leaf_hash,
    node_hash, root, verify_consistency, verify_inclusion,
};
pub use note::{Checkpoint, NoteError, NoteSigner, NoteVerifier, open as open_note};
pub use tiles::{
    ExpandedTile, ExpandedTiles, RootBuilder, TILE_WIDTH, TileAppender, TileId, TilePath, Tiles,
    consistency_tiles, edge_tiles, entries_path, inclusion_tiles, parse_tile_path, tile_bytes,
    tile_hashes,
};
