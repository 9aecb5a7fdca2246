//! The ledger's arithmetic on a tree of 10,000,000 leaves held in memory: appending a
//! leaf, an inclusion proof for a random leaf with its verification, a consistency proof,
//! and opening a signed checkpoint. Storage costs come on top (see PERFORMANCE.md).

use criterion::{Criterion, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use std::hint::black_box;
use zhiyuan_ledger::{
    Checkpoint, MemoryTree, NoteSigner, TileAppender, Tiles, consistency_proof, inclusion_proof,
    leaf_hash, verify_consistency, verify_inclusion,
};

const LEAVES: u64 = 10_000_000;

fn bench(c: &mut Criterion) {
    let mut tree = MemoryTree::new();
    for i in 0..LEAVES {
        tree.push(leaf_hash(&i.to_be_bytes()));
    }
    let root = tree.root_at(LEAVES).expect("root");
    let mut i = 0u64;
    c.bench_function("leaf_hash_and_append", |b| {
        let mut t = MemoryTree::new();
        b.iter(|| {
            i += 1;
            t.push(leaf_hash(black_box(&i.to_be_bytes())));
        })
    });
    let mut x = 12345u64;
    c.bench_function("inclusion_proof_and_verify_10m", |b| {
        b.iter(|| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let index = x % LEAVES;
            let proof = inclusion_proof(&tree, index, LEAVES).expect("proof");
            let leaf = leaf_hash(&index.to_be_bytes());
            verify_inclusion(index, LEAVES, &leaf, &proof, &root).expect("verifies");
        })
    });
    // The same proofs from the tree kept as tiles, as the server computes them: the
    // siblings inside a tile are hashed up from the tile's 256 hashes.
    let mut appender = TileAppender::new(0, &Default::default()).expect("empty tree");
    for i in 0..LEAVES {
        appender.push(leaf_hash(&i.to_be_bytes()));
    }
    let tiles = Tiles(appender.finish().into_iter().collect());
    c.bench_function("inclusion_proof_from_tiles_10m", |b| {
        b.iter(|| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            inclusion_proof(&tiles, x % LEAVES, LEAVES).expect("proof")
        })
    });
    let old = 7_654_321;
    let old_root = tree.root_at(old).expect("root");
    c.bench_function("consistency_proof_and_verify_10m", |b| {
        b.iter(|| {
            let proof = consistency_proof(&tree, black_box(old), LEAVES).expect("proof");
            verify_consistency(old, LEAVES, &proof, &old_root, &root).expect("verifies");
        })
    });
    let signer = NoteSigner::new("zhiyuan.example/records", SigningKey::from_bytes(&[3; 32]))
        .expect("signer");
    let note = Checkpoint {
        origin: "zhiyuan.example/records".into(),
        size: LEAVES,
        root,
    }
    .sign(&signer)
    .expect("signed");
    let trusted = [signer.verifier().clone()];
    c.bench_function("checkpoint_open", |b| {
        b.iter(|| Checkpoint::open(black_box(&note), "zhiyuan.example/records", &trusted))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
