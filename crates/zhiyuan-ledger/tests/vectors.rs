//! The official transparency-dev/merkle probes (`tests/vectors/`): RFC 6962's tree of
//! eight leaves, with valid and mutated inclusion and consistency proofs. Every valid
//! proof verifies and is the proof this crate produces; every mutated one is refused.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use zhiyuan_ledger::{
    Hash, MemoryTree, consistency_proof, inclusion_proof, leaf_hash, verify_consistency,
    verify_inclusion,
};

fn vectors(name: &str) -> Vec<Value> {
    let path = format!("{}/tests/vectors/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let doc: Value = serde_json::from_str(&text).expect("vector JSON");
    doc["probes"].as_array().expect("probes").clone()
}

/// A hash, or `None` when the probe's value is not 32 bytes: the verifier's types cannot
/// even hold it, which is how such a probe is refused.
fn hash(v: &Value) -> Option<Hash> {
    let bytes = STANDARD.decode(v.as_str().unwrap_or_default()).ok()?;
    bytes.try_into().ok()
}

fn hashes(v: &Value) -> Option<Vec<Hash>> {
    v.as_array()
        .map_or(Some(Vec::new()), |a| a.iter().map(hash).collect())
}

/// RFC 6962's eight test leaves, as transparency-dev/merkle's `testonly` holds them.
fn classic_tree() -> MemoryTree {
    let leaves: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    let mut tree = MemoryTree::new();
    for leaf in leaves {
        tree.push(leaf_hash(leaf));
    }
    tree
}

#[test]
fn inclusion_probes_verify_exactly_when_they_should() {
    let probes = vectors("inclusion");
    assert!(probes.len() >= 90, "{} probes", probes.len());
    for p in probes {
        let (index, size) = (
            p["leafIdx"].as_u64().unwrap(),
            p["treeSize"].as_u64().unwrap(),
        );
        let want_err = p["wantErr"].as_bool().unwrap();
        let (Some(proof), Some(leaf), Some(root)) =
            (hashes(&p["proof"]), hash(&p["leafHash"]), hash(&p["root"]))
        else {
            assert!(
                want_err,
                "{}: a valid probe with a malformed hash",
                p["file"]
            );
            continue;
        };
        let result = verify_inclusion(index, size, &leaf, &proof, &root);
        assert_eq!(result.is_err(), want_err, "{}: {result:?}", p["file"]);
    }
}

#[test]
fn consistency_probes_verify_exactly_when_they_should() {
    let probes = vectors("consistency");
    assert!(probes.len() >= 90, "{} probes", probes.len());
    for p in probes {
        let (first, second) = (p["size1"].as_u64().unwrap(), p["size2"].as_u64().unwrap());
        let want_err = p["wantErr"].as_bool().unwrap();
        let (Some(proof), Some(r1), Some(r2)) =
            (hashes(&p["proof"]), hash(&p["root1"]), hash(&p["root2"]))
        else {
            // The one valid probe of this kind: equal sizes, no proof, the same bytes as
            // both roots (of a length a SHA-256 root never has, which a typed root rules
            // out before verification).
            let same = first == second && first > 0 && p["root1"] == p["root2"];
            assert!(
                want_err || same,
                "{}: a valid probe with a malformed hash",
                p["file"]
            );
            continue;
        };
        let result = verify_consistency(first, second, &proof, &r1, &r2);
        assert_eq!(result.is_err(), want_err, "{}: {result:?}", p["file"]);
    }
}

#[test]
fn proofs_made_from_the_classic_tree_are_the_official_ones() {
    let tree = classic_tree();
    let mut checked = 0;
    for p in vectors("inclusion") {
        let size = p["treeSize"].as_u64().unwrap();
        let index = p["leafIdx"].as_u64().unwrap();
        if p["wantErr"].as_bool().unwrap() || size > tree.size() || index >= size {
            continue;
        }
        if Some(tree.root_at(size).unwrap()) != hash(&p["root"]) {
            continue; // a probe over another tree
        }
        assert_eq!(
            Some(inclusion_proof(&tree, index, size).unwrap()),
            hashes(&p["proof"]),
            "{}",
            p["file"]
        );
        checked += 1;
    }
    for p in vectors("consistency") {
        let (first, second) = (p["size1"].as_u64().unwrap(), p["size2"].as_u64().unwrap());
        if p["wantErr"].as_bool().unwrap() || second > tree.size() || first > second {
            continue;
        }
        if Some(tree.root_at(second).unwrap()) != hash(&p["root2"]) {
            continue;
        }
        assert_eq!(
            Some(consistency_proof(&tree, first, second).unwrap()),
            hashes(&p["proof"]),
            "{}",
            p["file"]
        );
        checked += 1;
    }
    assert!(
        checked >= 2,
        "only {checked} happy paths matched the classic tree"
    );
}
