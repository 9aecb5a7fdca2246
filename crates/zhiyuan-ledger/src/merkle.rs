//! RFC 9162 §2.1: the Merkle tree hash, inclusion proofs (§2.1.3) and consistency proofs
//! (§2.1.4), computed from the hashes of complete subtrees.
//!
//! A tree of `n` leaves splits at `k`, the largest power of two smaller than `n`: the
//! left part is complete, the right part is a smaller tree of the same kind. So every
//! hash a proof needs is either a complete subtree, addressed as (level, index) where
//! it covers leaves `index << level .. (index + 1) << level`, or is folded from a few
//! of them along the tree's right edge.

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// The hash of a leaf: SHA-256(0x00 || entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    h.finalize().into()
}

/// The hash of an interior node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Why a proof was not produced or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf {index} is not in a tree of {size} leaves")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("a tree of {first} leaves cannot be a later version of one of {second}")]
    SizesOutOfOrder { first: u64, second: u64 },
    #[error("the proof has {got} hashes where {want} are needed")]
    WrongLength { got: usize, want: usize },
    #[error("a consistency proof from the empty tree proves nothing")]
    EmptyTree,
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
    #[error("the hash of subtree ({level}, {index}) is unavailable: {why}")]
    Unavailable { level: u32, index: u64, why: String },
}

/// Where the hashes of complete subtrees come from: memory in tests, stored tiles in
/// production.
pub trait NodeSource {
    /// The hash of the complete subtree at `level` (0 = a leaf) and `index`.
    fn node(&self, level: u32, index: u64) -> Result<Hash, ProofError>;
}

/// The largest power of two strictly smaller than `n` (`n` > 1).
fn split(n: u64) -> u64 {
    debug_assert!(n > 1);
    1 << (63 - (n - 1).leading_zeros())
}

/// The hash of leaves `lo .. hi`, where `lo` is a multiple of the largest power of two
/// not above `hi - lo` (true of every range the proofs below ask for).
fn range_hash(src: &impl NodeSource, lo: u64, hi: u64) -> Result<Hash, ProofError> {
    let n = hi - lo;
    if n.is_power_of_two() {
        let level = n.trailing_zeros();
        return src.node(level, lo >> level);
    }
    let k = split(n);
    Ok(node_hash(
        &range_hash(src, lo, lo + k)?,
        &range_hash(src, lo + k, hi)?,
    ))
}

/// The root of a tree of `size` leaves; SHA-256 of nothing for the empty tree.
pub fn root(src: &impl NodeSource, size: u64) -> Result<Hash, ProofError> {
    if size == 0 {
        return Ok(Sha256::digest([]).into());
    }
    range_hash(src, 0, size)
}

/// The audit path of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1),
/// nearest sibling first.
pub fn inclusion_proof(
    src: &impl NodeSource,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    inclusion_ranges(index, size)
        .into_iter()
        .map(|(lo, hi)| range_hash(src, lo, hi))
        .collect()
}

/// The leaf ranges whose hashes make the audit path of leaf `index` (< `size`), nearest
/// sibling first: walking down from the root, the sibling of each subtree taken.
fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    let mut ranges = Vec::new();
    let (mut lo, mut hi) = (0, size);
    while hi - lo > 1 {
        let k = split(hi - lo);
        if index < lo + k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
        }
    }
    ranges.reverse();
    ranges
}

/// The proof that the tree of `first` leaves is a prefix of the tree of `second`
/// (RFC 9162 §2.1.4.1), innermost hash first.
pub fn consistency_proof(
    src: &impl NodeSource,
    first: u64,
    second: u64,
) -> Result<Vec<Hash>, ProofError> {
    if first > second {
        return Err(ProofError::SizesOutOfOrder { first, second });
    }
    if first == 0 {
        return Err(ProofError::EmptyTree);
    }
    if first == second {
        return Ok(Vec::new());
    }
    consistency_ranges(first, second)
        .into_iter()
        .map(|(lo, hi)| range_hash(src, lo, hi))
        .collect()
}

/// The leaf ranges whose hashes make the consistency proof from `first` to `second`
/// (0 < `first` < `second`), innermost first: RFC 9162's SUBPROOF(m, D[lo:hi], b)
/// unrolled, with `whole` for b.
fn consistency_ranges(first: u64, second: u64) -> Vec<(u64, u64)> {
    let mut ranges = Vec::new();
    let (mut lo, mut hi, mut m) = (0, second, first);
    let mut whole = true;
    while m != hi - lo {
        let k = split(hi - lo);
        if m <= k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
            m -= k;
            whole = false;
        }
    }
    if !whole {
        ranges.push((lo, hi));
    }
    ranges.reverse();
    ranges
}

/// Checks that `leaf` is leaf `index` of the tree of `size` leaves whose root is `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let want = inclusion_ranges(index, size).len();
    if proof.len() != want {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s == 0 && r == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Checks that the tree of `first` leaves with root `first_root` is a prefix of the tree
/// of `second` leaves with root `second_root` (RFC 9162 §2.1.4.2). Every hash of the
/// proof must be used, and the walk must reach the second tree's root.
pub fn verify_consistency(
    first: u64,
    second: u64,
    proof: &[Hash],
    first_root: &Hash,
    second_root: &Hash,
) -> Result<(), ProofError> {
    if first > second {
        return Err(ProofError::SizesOutOfOrder { first, second });
    }
    if first == 0 {
        // RFC 9162 defines proofs for 0 < first < second only; a checkpoint of the empty
        // tree commits to nothing, so there is nothing to prove.
        return Err(ProofError::EmptyTree);
    }
    if first == second {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                want: 0,
            });
        }
        return if first_root == second_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    let want = consistency_ranges(first, second).len();
    if proof.len() != want {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    // When the first tree is a complete subtree, its root is the walk's starting point
    // and the proof leaves it out.
    let mut hashes = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        hashes.push(*first_root);
    }
    hashes.extend_from_slice(proof);
    let (mut f, mut s) = (first - 1, second - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (hashes[0], hashes[0]);
    for c in &hashes[1..] {
        if s == 0 {
            return Err(ProofError::RootMismatch);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if fr == *first_root && sr == *second_root && s == 0 {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// A tree held in memory, level by level: for tests and for checking a stored tree.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    /// `levels[0]` are the leaf hashes; `levels[l][i]` is complete subtree (l, i).
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf hash, completing the subtrees it closes.
    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(hash);
            let len = self.levels[level].len();
            if len % 2 == 1 {
                break;
            }
            hash = node_hash(&self.levels[level][len - 2], &self.levels[level][len - 1]);
            level += 1;
        }
    }

    /// Leaves held.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// The root of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        root(self, size)
    }
}

impl NodeSource for MemoryTree {
    fn node(&self, level: u32, index: u64) -> Result<Hash, ProofError> {
        self.levels
            .get(level as usize)
            .and_then(|l| l.get(usize::try_from(index).ok()?))
            .copied()
            .ok_or_else(|| ProofError::Unavailable {
                level,
                index,
                why: "not in the tree".into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tree(size: u64) -> MemoryTree {
        let mut t = MemoryTree::new();
        for i in 0..size {
            t.push(leaf_hash(&i.to_be_bytes()));
        }
        t
    }

    /// The root as RFC 9162 defines it, recursively over the leaves themselves.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Sha256::digest([]).into(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    proptest! {
        #[test]
        fn roots_match_the_recursive_definition(size in 0u64..300) {
            let t = tree(size);
            let leaves: Vec<Hash> = (0..size).map(|i| leaf_hash(&i.to_be_bytes())).collect();
            prop_assert_eq!(t.root_at(size).unwrap(), reference_root(&leaves));
        }

        #[test]
        fn every_leaf_is_proved_in_and_only_in_its_place(size in 1u64..300, pick in 0u64..300) {
            let t = tree(size);
            let index = pick % size;
            let root = t.root_at(size).unwrap();
            let proof = inclusion_proof(&t, index, size).unwrap();
            let leaf = t.node(0, index).unwrap();
            prop_assert!(verify_inclusion(index, size, &leaf, &proof, &root).is_ok());
            if size > 1 {
                let other = (index + 1) % size;
                prop_assert!(verify_inclusion(other, size, &leaf, &proof, &root).is_err());
            }
            if let Some(first) = proof.first() {
                let mut bent = proof.clone();
                bent[0] = node_hash(first, first);
                prop_assert!(verify_inclusion(index, size, &leaf, &bent, &root).is_err());
            }
        }

        #[test]
        fn every_older_tree_is_proved_a_prefix(second in 1u64..300, pick in 0u64..300) {
            let t = tree(second);
            let first = 1 + pick % second;
            let (r1, r2) = (t.root_at(first).unwrap(), t.root_at(second).unwrap());
            let proof = consistency_proof(&t, first, second).unwrap();
            prop_assert!(verify_consistency(first, second, &proof, &r1, &r2).is_ok());
            // A different older root is not consistent with the newer tree.
            if first > 0 && first < second {
                let forged = node_hash(&r1, &r1);
                prop_assert!(verify_consistency(first, second, &proof, &forged, &r2).is_err());
                let mut longer = proof.clone();
                longer.push(r2);
                prop_assert!(verify_consistency(first, second, &longer, &r1, &r2).is_err());
            }
        }
    }
}
