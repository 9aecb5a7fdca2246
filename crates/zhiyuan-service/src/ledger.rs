//! The tamper-evident ledger's use cases: integrating written entries and signing
//! checkpoints (the sequencer), serving tiles and proofs, a record's ledger opening for
//! its holder, and the audit that recomputes everything from the rows.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use time::OffsetDateTime;
use zhiyuan_domain::Reason;
use zhiyuan_ledger::{
    Checkpoint, ExpandedTile, ExpandedTiles, Hash, NoteSigner, NoteVerifier, ProofError,
    RootBuilder, TILE_WIDTH, TileId, TilePath, consistency_proof, consistency_tiles,
    inclusion_proof, inclusion_tiles, leaf_hash, verify_consistency,
};
use zhiyuan_store::RecordId;
use zhiyuan_store::ledger::{
    Integration, LedgerEntry, LedgerKind, LedgerTree, StoredCheckpoint, commit,
};

use crate::{Ctx, Result, ServiceError, Zhiyuan};

/// Entries integrated per sequencer transaction.
pub const INTEGRATE_BATCH: usize = 65_536;

/// Who the log is and how it signs.
#[derive(Debug, Clone)]
pub struct LedgerSettings {
    /// The checkpoint origin, e.g. `zhiyuan.gd.example/ledger`.
    pub origin: String,
    /// Signs checkpoints; its name is the origin.
    pub signer: NoteSigner,
    /// Keys that signed earlier checkpoints (after a rotation), still trusted to verify.
    pub retired: Vec<NoteVerifier>,
}

impl LedgerSettings {
    /// Settings with a fresh random key (tests and tools; a server loads its key).
    pub fn ephemeral(origin: &str) -> Self {
        let seed: [u8; 32] = rand::random();
        Self {
            origin: origin.to_owned(),
            signer: NoteSigner::new(origin, ed25519_dalek::SigningKey::from_bytes(&seed))
                .expect("an origin is a valid key name"),
            retired: Vec::new(),
        }
    }

    /// Every key that may have signed a checkpoint of this log: the current one first.
    pub fn verifiers(&self) -> Vec<NoteVerifier> {
        let mut all = vec![self.signer.verifier().clone()];
        all.extend(self.retired.iter().cloned());
        all
    }
}

/// Reads the signing key file (`PRIVATE+KEY+…`), or creates it with a fresh key named
/// after `origin`.
pub fn load_or_create_signer(path: &Path, origin: &str) -> std::io::Result<NoteSigner> {
    let invalid = |e: zhiyuan_ledger::NoteError| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
    };
    match std::fs::read_to_string(path) {
        Ok(text) => NoteSigner::parse(text.trim()).map_err(invalid),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let signer = LedgerSettings::ephemeral(origin).signer;
            crate::vault::write_private(path, &format!("{}\n", signer.to_skey()))?;
            Ok(signer)
        }
        Err(e) => Err(e),
    }
}

/// What a holder needs to prove a ledger entry: the content and salt that make the
/// commitment, its leaf index, and the inclusion proof to a signed checkpoint.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerOpening {
    pub kind: &'static str,
    pub subject: i64,
    /// The canonical JSON the entry commits to.
    pub content: serde_json::Value,
    /// Base64; secret to the holder.
    pub salt: String,
    /// Base64 of SHA-256(salt ‖ content): the log entry.
    pub commitment: String,
    /// The leaf index, once integrated.
    pub index: Option<u64>,
    /// The signed checkpoint the proof leads to, when the entry is in it.
    pub checkpoint: Option<String>,
    /// Base64 hashes, nearest sibling first.
    pub inclusion_proof: Vec<String>,
}

/// One finding of the audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerProblem {
    /// `record`, `star`, … or `log` for the tree itself.
    pub kind: &'static str,
    pub subject: Option<i64>,
    pub index: Option<u64>,
    pub problem: ProblemKind,
    pub detail: String,
}

impl LedgerProblem {
    /// A finding about the log itself rather than one subject.
    fn log(detail: String, index: Option<u64>) -> Self {
        Self {
            kind: "log",
            subject: None,
            index,
            problem: ProblemKind::LogAltered,
            detail,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The row says something other than what was logged.
    Changed,
    /// A row that should have been logged was not (written outside zhiyuan).
    Inserted,
    /// A logged row is gone.
    Deleted,
    /// The log itself does not match its signed checkpoint or its tiles.
    LogAltered,
}

/// What `zhiyuan ledger verify` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LedgerReport {
    pub leaves: u64,
    pub checkpoint_size: Option<u64>,
    pub subjects_checked: u64,
    pub pending: u64,
    pub problems: Vec<LedgerProblem>,
}

fn b64(h: &[u8]) -> String {
    STANDARD.encode(h)
}

fn internal(message: String) -> ServiceError {
    ServiceError::Internal(message.into())
}

/// A proof asked of sizes that do not make one, refused on the parameter at fault.
fn proof_err(e: ProofError) -> ServiceError {
    let (field, why) = match e {
        ProofError::IndexOutOfRange { size: 0, .. } => ("size", Reason::AtLeast { min: 1 }),
        ProofError::IndexOutOfRange { size, .. } => (
            "index",
            Reason::OutOfRange {
                min: 0,
                max: size as i64 - 1,
            },
        ),
        ProofError::SizesOutOfOrder { second, .. } => (
            "first",
            Reason::OutOfRange {
                min: 1,
                max: second as i64,
            },
        ),
        ProofError::EmptyTree => ("first", Reason::AtLeast { min: 1 }),
        _ => return internal(format!("ledger: {e}")),
    };
    ServiceError::because(field, why)
}

impl Zhiyuan {
    fn ledger(&self) -> &LedgerSettings {
        &self.0.config.ledger
    }

    /// Integrates what was written since the last call (up to one batch) and signs a
    /// checkpoint of the new tree, after checking it extends the last one signed. (A tree
    /// left unsigned by a crash between the two is signed by the next call.)
    pub async fn integrate_ledger(&self) -> Result<Integration> {
        let store = &self.0.store;
        let step = store.integrate_ledger(INTEGRATE_BATCH).await?;
        let tree = step.tree;
        let last = store.latest_checkpoint().await?;
        if last.as_ref().is_some_and(|c| c.size >= tree.size) || tree.size == 0 {
            return Ok(step);
        }
        // Never sign a tree that does not extend the last checkpoint.
        if let Some(last) = last.as_ref().filter(|c| c.size > 0) {
            let proof = self.consistency_proof(last.size, tree.size).await?;
            verify_consistency(last.size, tree.size, &proof, &last.root, &tree.root).map_err(
                |e| {
                    internal(format!(
                        "ledger: the tree of {} leaves does not extend checkpoint {}: {e}",
                        tree.size, last.size
                    ))
                },
            )?;
        }
        let settings = self.ledger();
        let note = Checkpoint {
            origin: settings.origin.clone(),
            size: tree.size,
            root: tree.root,
        }
        .sign(&settings.signer)
        .map_err(|e| internal(format!("ledger: signing: {e}")))?;
        store
            .insert_checkpoint(&StoredCheckpoint {
                size: tree.size,
                root: tree.root,
                note,
                signed_at: OffsetDateTime::now_utc(),
            })
            .await?;
        Ok(step)
    }

    /// Integrates batch after batch while whole batches were waiting; returns the tree and
    /// how many entries were added in all. `progress` is told the running count.
    pub async fn integrate_waiting(&self, progress: &(dyn Fn(u64) + Sync)) -> Result<Integration> {
        let mut added = 0;
        loop {
            let step = self.integrate_ledger().await?;
            added += step.added;
            progress(added);
            if step.added < INTEGRATE_BATCH as u64 {
                return Ok(Integration {
                    tree: step.tree,
                    added,
                });
            }
        }
    }

    /// Waits until a signed checkpoint covers the entry of `subject`, integrating as the
    /// sequencer would (safe beside it: one integration runs at a time), for up to five
    /// seconds; for what must carry its inclusion proof at once (a bundle's certificate).
    pub(crate) async fn await_checkpoint(&self, kind: LedgerKind, subject: i64) -> Result<()> {
        let store = &self.0.store;
        for _ in 0..100 {
            let entry = store
                .ledger_entry(kind, subject)
                .await?
                .ok_or(ServiceError::NotFound("ledger entry"))?;
            let signed = store.latest_checkpoint().await?.map_or(0, |c| c.size);
            if entry.seq.is_some_and(|seq| seq < signed) {
                return Ok(());
            }
            if self.integrate_ledger().await?.added == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        Err(ServiceError::Unavailable(
            "the ledger did not integrate the entry in time; try again".into(),
        ))
    }

    /// The latest signed checkpoint (a C2SP signed note).
    pub async fn ledger_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        Ok(self.0.store.latest_checkpoint().await?)
    }

    /// The verifier keys of this log, current first (`name+id+key` lines).
    pub fn ledger_keys(&self) -> Vec<String> {
        self.ledger()
            .verifiers()
            .iter()
            .map(NoteVerifier::to_vkey)
            .collect()
    }

    pub fn ledger_origin(&self) -> &str {
        &self.ledger().origin
    }

    /// The tiles a tree of `size` leaves needs, through an in-process cache: a tile only
    /// ever grows (its first hashes never change), so a cached one serves every tree it
    /// is wide enough for, and is replaced when a larger tree needs more of it.
    /// A tree larger than the log is refused on `field`, which names its size.
    ///
    /// Tiles are kept expanded (their inner subtrees hashed once), so a proof from cached
    /// tiles hashes nothing.
    async fn tiles(
        &self,
        ids: &BTreeSet<TileId>,
        size: u64,
        field: &'static str,
    ) -> Result<ExpandedTiles> {
        let mut tiles = ExpandedTiles::default();
        let mut missing = Vec::new();
        for id in ids {
            match self.0.tiles.get(id) {
                Some(tile) if tile.hashes().len() as u64 >= id.width_at(size) => {
                    tiles.0.insert(*id, tile);
                }
                _ => missing.push(*id),
            }
        }
        if !missing.is_empty() {
            for (id, hashes) in self.0.store.ledger_tiles(&missing).await? {
                let tile = Arc::new(ExpandedTile::new(hashes));
                self.0.tiles.insert(id, tile.clone());
                tiles.0.insert(id, tile);
            }
            // Tiles are written with the tree: one narrower than a tree of `size` needs
            // means the log is smaller. (When every tile was cached wide enough, the log
            // is at least that large, and nothing needs asking.)
            let short = missing.iter().any(|id| {
                tiles
                    .0
                    .get(id)
                    .is_none_or(|t| (t.hashes().len() as u64) < id.width_at(size))
            });
            if short {
                return Err(self.beyond_the_log(field).await);
            }
        }
        Ok(tiles)
    }

    /// RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        let ids = inclusion_tiles(index, size).map_err(proof_err)?;
        let tiles = self.tiles(&ids, size, "size").await?;
        inclusion_proof(&tiles, index, size).map_err(proof_err)
    }

    /// RFC 9162 consistency proof between trees of `first` and `second` leaves.
    pub async fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>> {
        let ids = consistency_tiles(first, second).map_err(proof_err)?;
        let tiles = self.tiles(&ids, second, "second").await?;
        consistency_proof(&tiles, first, second).map_err(proof_err)
    }

    /// The refusal of a proof for a tree larger than the log, on `field`.
    async fn beyond_the_log(&self, field: &'static str) -> ServiceError {
        match self.0.store.ledger_tree().await {
            Ok(tree) => ServiceError::because(
                field,
                Reason::OutOfRange {
                    min: 1,
                    max: tree.size as i64,
                },
            ),
            Err(e) => e.into(),
        }
    }

    /// A C2SP tlog-tiles resource (the part of the path after `tile/`): a hash tile or
    /// an entry bundle. `None` when it does not exist (yet).
    pub async fn ledger_tile(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let Some(parsed) = zhiyuan_ledger::parse_tile_path(path) else {
            return Ok(None);
        };
        let tree = self.0.store.ledger_tree().await?;
        match parsed {
            TilePath::Hashes { tile, width } => {
                if tile.width_at(tree.size) < width {
                    return Ok(None);
                }
                // At least `width` wide: `tiles` refuses narrower ones.
                let tiles = self
                    .tiles(&BTreeSet::from([tile]), tree.size, "size")
                    .await?;
                Ok(tiles
                    .0
                    .get(&tile)
                    .map(|t| zhiyuan_ledger::tile_bytes(&t.hashes()[..width as usize])))
            }
            TilePath::Entries { index, width } => {
                let from = index * TILE_WIDTH;
                if tree.size < from + width {
                    return Ok(None);
                }
                let entries = self.0.store.ledger_entries_by_seq(from, width).await?;
                if entries.len() as u64 != width {
                    return Err(internal(format!(
                        "ledger: entries {from}..{} are incomplete",
                        from + width
                    )));
                }
                // C2SP tlog-tiles entry bundle: each entry as a 16-bit length and bytes.
                let mut out = Vec::with_capacity(entries.len() * 34);
                for e in entries {
                    out.extend_from_slice(&32u16.to_be_bytes());
                    out.extend_from_slice(&e.sealed.commitment);
                }
                Ok(Some(out))
            }
        }
    }

    /// Writes the latest checkpoint and every tile and entry bundle of the tree it signs
    /// under `dir` in the C2SP tlog-tiles layout; returns how many files.
    pub async fn export_ledger(&self, dir: &Path) -> Result<u64> {
        let io = |e: std::io::Error| internal(format!("ledger export: {e}"));
        let Some(cp) = self.0.store.latest_checkpoint().await? else {
            return Ok(0);
        };
        let mut files = 0;
        let mut write = |path: String, bytes: &[u8]| -> Result<()> {
            let path = dir.join(path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            std::fs::write(&path, bytes).map_err(io)?;
            files += 1;
            Ok(())
        };
        let mut level = 0u8;
        loop {
            let nodes = cp.size >> (8 * u32::from(level));
            if nodes == 0 {
                break;
            }
            for index in 0..nodes.div_ceil(TILE_WIDTH) {
                let tile = TileId { level, index };
                let width = tile.width_at(cp.size);
                let path = tile.path(width);
                let bytes = self
                    .ledger_tile(path.trim_start_matches("tile/"))
                    .await?
                    .ok_or_else(|| internal(format!("ledger export: {path} is missing")))?;
                write(path, &bytes)?;
                if level == 0 {
                    let path = zhiyuan_ledger::entries_path(index, width);
                    let bytes = self
                        .ledger_tile(path.trim_start_matches("tile/"))
                        .await?
                        .ok_or_else(|| internal(format!("ledger export: {path} is missing")))?;
                    write(path, &bytes)?;
                }
            }
            level += 1;
        }
        write("checkpoint".into(), cp.note.as_bytes())?;
        Ok(files)
    }

    /// The ledger opening of a service record, for those who may read its history (the
    /// volunteer, the recording unit, those over the volunteer).
    pub async fn record_ledger(&self, ctx: &Ctx, record: RecordId) -> Result<LedgerOpening> {
        // The same readers as the record's history.
        self.record_history(ctx, record).await?;
        let entry = self
            .0
            .store
            .ledger_entry(LedgerKind::Record, record.0)
            .await?
            .ok_or(ServiceError::NotFound("ledger entry"))?;
        let row = self
            .0
            .store
            .get_record(record)
            .await?
            .ok_or(ServiceError::NotFound("record"))?;
        let content =
            zhiyuan_store::ledger::record_content(row.id, row.origin, row.revision, &row.record)
                .ok_or(ServiceError::NotFound("ledger entry"))?;
        self.opening(entry, &content).await
    }

    /// An entry with its content, salt and, when a checkpoint covers it, its proof.
    pub(crate) async fn opening(
        &self,
        entry: LedgerEntry,
        content: &[u8],
    ) -> Result<LedgerOpening> {
        if commit(&entry.sealed.salt, content) != entry.sealed.commitment {
            return Err(internal(format!(
                "ledger: entry {} no longer matches its subject",
                entry.id
            )));
        }
        let checkpoint = self.0.store.latest_checkpoint().await?;
        let (checkpoint, proof) = match (entry.seq, checkpoint) {
            (Some(index), Some(cp)) if index < cp.size => {
                let proof = self.inclusion_proof(index, cp.size).await?;
                (Some(cp.note), proof.iter().map(|h| b64(h)).collect())
            }
            _ => (None, Vec::new()),
        };
        Ok(LedgerOpening {
            kind: entry.sealed.kind.as_str(),
            subject: entry.sealed.subject,
            content: serde_json::from_slice(content)
                .map_err(|e| internal(format!("ledger content: {e}")))?,
            salt: b64(&entry.sealed.salt),
            commitment: b64(&entry.sealed.commitment),
            index: entry.seq,
            checkpoint,
            inclusion_proof: proof,
        })
    }

    /// Recomputes every entry from the rows and the tree from the entries, and reports
    /// every difference: rows changed, inserted or deleted outside zhiyuan, and a log
    /// that no longer matches its signed checkpoint or its tiles. `progress` is told how
    /// many leaves and subjects were checked so far.
    pub async fn verify_ledger(&self, progress: &(dyn Fn(u64) + Sync)) -> Result<LedgerReport> {
        let store = &self.0.store;
        let tree = store.ledger_tree().await?;
        let mut report = LedgerReport {
            leaves: tree.size,
            pending: store.ledger_pending().await?,
            ..LedgerReport::default()
        };
        let log_problem = LedgerProblem::log;
        let checkpoint = match store.latest_checkpoint().await? {
            None => None,
            Some(cp) => {
                match Checkpoint::open(&cp.note, &self.ledger().origin, &self.ledger().verifiers())
                {
                    Ok(c) if c.size == cp.size && c.root == cp.root => Some(c),
                    Ok(_) => {
                        report.problems.push(log_problem(
                            "the stored checkpoint's size or root differ from its signed note"
                                .into(),
                            None,
                        ));
                        None
                    }
                    Err(e) => {
                        report.problems.push(log_problem(
                            format!("the latest checkpoint does not verify: {e}"),
                            None,
                        ));
                        None
                    }
                }
            }
        };
        report.checkpoint_size = checkpoint.as_ref().map(|c| c.size);
        if let Some(c) = &checkpoint
            && c.size > tree.size
        {
            report.problems.push(log_problem(
                format!(
                    "the checkpoint signs {} leaves but the tree has {}",
                    c.size, tree.size
                ),
                None,
            ));
        }
        let (leaves, subjects) = tokio::join!(
            self.verify_leaves(tree, checkpoint.as_ref(), progress),
            self.verify_subjects(progress)
        );
        report.problems.extend(leaves?);
        let (checked, problems) = subjects?;
        report.subjects_checked = checked;
        report.problems.extend(problems);
        Ok(report)
    }

    /// The tree from the stored entries, against the signed checkpoint, the stored tree
    /// and the stored tiles.
    async fn verify_leaves(
        &self,
        tree: LedgerTree,
        checkpoint: Option<&Checkpoint>,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Vec<LedgerProblem>> {
        const CHUNK: u64 = 64 * TILE_WIDTH;
        let store = &self.0.store;
        let mut problems = Vec::new();
        let mut builder = RootBuilder::new();
        let mut from = 0;
        while from < tree.size {
            let count = CHUNK.min(tree.size - from);
            let ids: Vec<TileId> = (from / TILE_WIDTH..(from + count).div_ceil(TILE_WIDTH))
                .map(|index| TileId { level: 0, index })
                .collect();
            let (entries, tiles) = tokio::join!(
                store.ledger_entries_by_seq(from, count),
                store.ledger_tiles(&ids)
            );
            let (entries, tiles) = (entries?, tiles?);
            let mut slots: Vec<Option<LedgerEntry>> = vec![None; count as usize];
            for e in entries {
                if let Some(slot) = e.seq.and_then(|s| slots.get_mut((s - from) as usize)) {
                    *slot = Some(e);
                }
            }
            for (seq, slot) in (from..).zip(slots) {
                let Some(e) = slot else {
                    problems.push(LedgerProblem::log(
                        format!("the entry at leaf {seq} is gone"),
                        Some(seq),
                    ));
                    builder.push([0; 32]);
                    continue;
                };
                let leaf = leaf_hash(&e.sealed.commitment);
                let published = tiles
                    .get(&TileId {
                        level: 0,
                        index: seq / TILE_WIDTH,
                    })
                    .and_then(|t| t.get((seq % TILE_WIDTH) as usize));
                if published != Some(&leaf) {
                    problems.push(LedgerProblem {
                        kind: e.sealed.kind.as_str(),
                        subject: Some(e.sealed.subject),
                        index: Some(seq),
                        problem: ProblemKind::LogAltered,
                        detail: "the entry differs from the published leaf".into(),
                    });
                }
                builder.push(leaf);
                if let Some(c) = checkpoint
                    && builder.size() == c.size
                    && builder.root() != c.root
                {
                    problems.push(LedgerProblem::log(
                        format!(
                            "the entries do not make the root signed for {} leaves",
                            c.size
                        ),
                        None,
                    ));
                }
            }
            from += count;
            progress(from);
        }
        if builder.root() != tree.root {
            problems.push(LedgerProblem {
                kind: "log",
                subject: None,
                index: None,
                problem: ProblemKind::LogAltered,
                detail: format!(
                    "the entries do not make the stored root of {} leaves",
                    tree.size
                ),
            });
        }
        Ok(problems)
    }

    /// Every subject of every kind against its entry.
    async fn verify_subjects(
        &self,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(u64, Vec<LedgerProblem>)> {
        const PAGE: u32 = 10_000;
        let mut problems = Vec::new();
        let mut checked = 0;
        for kind in LedgerKind::ALL {
            let mut after = 0;
            loop {
                let page = self.0.store.ledger_subjects(kind, after, PAGE).await?;
                for c in &page.checks {
                    checked += 1;
                    let found = |problem, detail: &str| LedgerProblem {
                        kind: kind.as_str(),
                        subject: Some(c.subject),
                        index: c.entry.as_ref().and_then(|e| e.seq),
                        problem,
                        detail: detail.to_owned(),
                    };
                    match (&c.entry, &c.content) {
                        (None, Some(_)) => problems.push(found(
                            ProblemKind::Inserted,
                            "the row qualifies for the ledger but was never logged",
                        )),
                        (Some(_), _) if !c.exists => {
                            problems.push(found(ProblemKind::Deleted, "the logged row is gone"))
                        }
                        (Some(_), None) => problems.push(found(
                            ProblemKind::Changed,
                            "the row no longer says what was logged",
                        )),
                        (Some(e), Some(content)) => {
                            if commit(&e.sealed.salt, content) != e.sealed.commitment {
                                problems.push(found(
                                    ProblemKind::Changed,
                                    "the row differs from what was logged",
                                ));
                            }
                        }
                        (None, None) => {}
                    }
                }
                progress(checked);
                match page.next {
                    Some(next) => after = next,
                    None => break,
                }
            }
        }
        Ok((checked, problems))
    }
}
