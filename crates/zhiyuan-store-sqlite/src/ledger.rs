//! The ledger on SQLite: entries appended inside the writes they certify ([`append`]),
//! the sequencer (a job on the writer thread, so it never races another writer), tiles,
//! checkpoints and the audit's reads.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use time::OffsetDateTime;
use zhiyuan_ledger::{Hash, TileAppender, TileId, edge_tiles, leaf_hash, tile_bytes, tile_hashes};
use zhiyuan_store::ledger::{
    Integration, LedgerEntry, LedgerKind, LedgerTree, SealedEntry, StoredCheckpoint, SubjectPage,
    certificate_content, certificate_revocation_content, record_content, star_content,
    star_revocation_content,
};
use zhiyuan_store::{LedgerStore, Result, StoreError};

use crate::SqliteStore;
use crate::conv::{from_micros, micros, store_err, time};

/// Seals `content` as the entry for `subject` and writes it, unless the subject has its
/// entry of this kind already (each is logged once, when it first qualifies).
pub(crate) fn append(
    tx: &Transaction<'_>,
    kind: LedgerKind,
    subject: i64,
    content: &[u8],
) -> Result<()> {
    let e = SealedEntry::seal(kind, subject, content);
    tx.prepare_cached(
        "INSERT INTO ledger_entries (kind, subject_id, salt, commitment, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (kind, subject_id) DO NOTHING",
    )
    .and_then(|mut s| {
        s.execute(params![
            kind.as_i64(),
            subject,
            e.salt,
            e.commitment,
            micros(OffsetDateTime::now_utc())
        ])
    })
    .map_err(store_err)?;
    Ok(())
}

/// Appends the entry for `content` when there is one (the subject qualifies).
pub(crate) fn append_if(
    tx: &Transaction<'_>,
    kind: LedgerKind,
    subject: i64,
    content: Option<Vec<u8>>,
) -> Result<()> {
    match content {
        Some(c) => append(tx, kind, subject, &c),
        None => Ok(()),
    }
}

const ENTRY: &str = "id, kind, subject_id, salt, commitment, seq, created_at";

fn hash(row: &Row<'_>, idx: usize) -> rusqlite::Result<Hash> {
    let v: Vec<u8> = row.get(idx)?;
    Hash::try_from(v.as_slice()).map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            rusqlite::types::Type::Blob,
            "not a 32-byte hash".into(),
        )
    })
}

fn entry_from(row: &Row<'_>) -> rusqlite::Result<LedgerEntry> {
    let kind: i64 = row.get(1)?;
    Ok(LedgerEntry {
        id: row.get(0)?,
        sealed: SealedEntry {
            kind: LedgerKind::from_i64(kind).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    1,
                    rusqlite::types::Type::Integer,
                    format!("unknown ledger kind {kind}").into(),
                )
            })?,
            subject: row.get(2)?,
            salt: hash(row, 3)?,
            commitment: hash(row, 4)?,
        },
        seq: row.get::<_, Option<i64>>(5)?.map(|s| s as u64),
        created_at: time(row, 6)?,
    })
}

fn tree(c: &Connection) -> rusqlite::Result<LedgerTree> {
    c.prepare_cached("SELECT size, root FROM ledger_tree WHERE id = 1")?
        .query_row([], |r| {
            Ok(LedgerTree {
                size: r.get::<_, i64>(0)? as u64,
                root: hash(r, 1)?,
            })
        })
}

fn tiles(c: &Connection, ids: &[TileId]) -> rusqlite::Result<HashMap<TileId, Vec<Hash>>> {
    let mut stmt =
        c.prepare_cached("SELECT hashes FROM ledger_tiles WHERE level = ?1 AND idx = ?2")?;
    let mut out = HashMap::new();
    for id in ids {
        let bytes: Option<Vec<u8>> = stmt
            .query_row(params![id.level, id.index as i64], |r| r.get(0))
            .optional()?;
        if let Some(bytes) = bytes {
            let hashes = tile_hashes(&bytes).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Blob,
                    "a tile's length is not a multiple of 32".into(),
                )
            })?;
            out.insert(*id, hashes);
        }
    }
    Ok(out)
}

fn ledger_err(e: zhiyuan_ledger::ProofError) -> StoreError {
    StoreError::corrupt(format!("ledger: {e}"))
}

/// The next `?1` pending entries, in the order they were written.
pub(crate) const PENDING: &str =
    "SELECT id, commitment FROM ledger_entries WHERE seq IS NULL ORDER BY id LIMIT ?1";

/// Whether the sequencer has work: an entry pending, or a tree larger than its last
/// checkpoint.
pub(crate) const HAS_WORK: &str = "SELECT EXISTS (SELECT 1 FROM ledger_entries WHERE seq IS NULL)
     OR (SELECT size FROM ledger_tree WHERE id = 1)
        > COALESCE((SELECT max(size) FROM ledger_checkpoints), 0)";

/// One integration step: the next `limit` entries into the tree.
fn integrate(tx: &Transaction<'_>, limit: usize) -> Result<Integration> {
    let before = tree(tx).map_err(store_err)?;
    let pending: Vec<(i64, Hash)> = tx
        .prepare_cached(PENDING)
        .and_then(|mut s| {
            s.query_map([limit as i64], |r| Ok((r.get(0)?, hash(r, 1)?)))?
                .collect()
        })
        .map_err(store_err)?;
    if pending.is_empty() {
        return Ok(Integration {
            tree: before,
            added: 0,
        });
    }
    let added = pending.len() as u64;
    let edge = tiles(tx, &edge_tiles(before.size)).map_err(store_err)?;
    let mut appender = TileAppender::new(before.size, &edge).map_err(ledger_err)?;
    let mut set_seq = tx
        .prepare_cached("UPDATE ledger_entries SET seq = ?2 WHERE id = ?1")
        .map_err(store_err)?;
    for (id, commitment) in pending {
        set_seq
            .execute(params![id, appender.size() as i64])
            .map_err(store_err)?;
        appender.push(leaf_hash(&commitment));
    }
    let after = LedgerTree {
        size: appender.size(),
        root: appender.root().map_err(ledger_err)?,
    };
    let mut put = tx
        .prepare_cached(
            "INSERT INTO ledger_tiles (level, idx, hashes) VALUES (?1, ?2, ?3)
             ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes",
        )
        .map_err(store_err)?;
    for (id, hashes) in appender.finish() {
        put.execute(params![id.level, id.index as i64, tile_bytes(&hashes)])
            .map_err(store_err)?;
    }
    tx.prepare_cached("UPDATE ledger_tree SET size = ?1, root = ?2 WHERE id = 1")
        .and_then(|mut s| s.execute(params![after.size as i64, after.root]))
        .map_err(store_err)?;
    Ok(Integration { tree: after, added })
}

/// A page of one kind's rows as `(id, content now)`.
fn subject_rows(
    c: &Connection,
    kind: LedgerKind,
    after: i64,
    limit: u32,
) -> rusqlite::Result<Vec<(i64, Option<Vec<u8>>)>> {
    match kind {
        LedgerKind::Record => {
            let rows = crate::records::page_after(c, after, limit)?;
            Ok(rows
                .into_iter()
                .map(|r| {
                    let content = record_content(r.id, r.origin, r.revision, &r.record);
                    (r.id.0, content)
                })
                .collect())
        }
        LedgerKind::Star | LedgerKind::StarRevocation => {
            let content = if kind == LedgerKind::Star {
                star_content
            } else {
                star_revocation_content
            };
            Ok(crate::stars::page_after(c, after, limit)?
                .into_iter()
                .map(|a| (a.id.0, content(&a)))
                .collect())
        }
        LedgerKind::Certificate | LedgerKind::CertificateRevocation => {
            let content = if kind == LedgerKind::Certificate {
                certificate_content
            } else {
                certificate_revocation_content
            };
            Ok(crate::certificates::page_after(c, after, limit)?
                .into_iter()
                .map(|cert| (cert.id, content(&cert)))
                .collect())
        }
    }
}

#[async_trait]
impl LedgerStore for SqliteStore {
    async fn integrate_ledger(&self, limit: usize) -> Result<Integration> {
        self.write(move |tx| integrate(tx, limit)).await
    }

    async fn ledger_tree(&self) -> Result<LedgerTree> {
        self.lookup(tree).await
    }

    async fn ledger_tiles(&self, ids: &[TileId]) -> Result<HashMap<TileId, Vec<Hash>>> {
        let ids = ids.to_vec();
        self.lookup(move |c| tiles(c, &ids)).await
    }

    async fn ledger_entries_by_seq(&self, from: u64, count: u64) -> Result<Vec<LedgerEntry>> {
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {ENTRY} FROM ledger_entries WHERE seq >= ?1 AND seq < ?2 ORDER BY seq"
            ))?
            .query_map(params![from as i64, (from + count) as i64], entry_from)?
            .collect()
        })
        .await
    }

    async fn insert_checkpoint(&self, cp: &StoredCheckpoint) -> Result<()> {
        let cp = cp.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO ledger_checkpoints (size, root, note, signed_at)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (size) DO NOTHING",
                params![cp.size as i64, cp.root, cp.note, micros(cp.signed_at)],
            )
            .map_err(store_err)?;
            Ok(())
        })
        .await
    }

    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        self.lookup(|c| {
            c.prepare_cached(
                "SELECT size, root, note, signed_at FROM ledger_checkpoints
                 ORDER BY size DESC LIMIT 1",
            )?
            .query_row([], |r| {
                Ok(StoredCheckpoint {
                    size: r.get::<_, i64>(0)? as u64,
                    root: hash(r, 1)?,
                    note: r.get(2)?,
                    signed_at: from_micros(r.get(3)?),
                })
            })
            .optional()
        })
        .await
    }

    async fn ledger_entry(&self, kind: LedgerKind, subject: i64) -> Result<Option<LedgerEntry>> {
        self.lookup(move |c| {
            c.prepare_cached(&format!(
                "SELECT {ENTRY} FROM ledger_entries WHERE kind = ?1 AND subject_id = ?2"
            ))?
            .query_row(params![kind.as_i64(), subject], entry_from)
            .optional()
        })
        .await
    }

    async fn ledger_subjects(
        &self,
        kind: LedgerKind,
        after: i64,
        limit: u32,
    ) -> Result<SubjectPage> {
        self.read(move |c| {
            let tx = c.unchecked_transaction()?;
            let rows = subject_rows(&tx, kind, after, limit)?;
            let (lo, hi) = SubjectPage::entry_range(after, limit, &rows);
            let entries: BTreeMap<i64, LedgerEntry> = tx
                .prepare_cached(&format!(
                    "SELECT {ENTRY} FROM ledger_entries
                     WHERE kind = ?1 AND subject_id > ?2 AND subject_id <= ?3"
                ))?
                .query_map(params![kind.as_i64(), lo, hi], entry_from)?
                .map(|e| e.map(|e| (e.sealed.subject, e)))
                .collect::<rusqlite::Result<_>>()?;
            Ok(SubjectPage::pair(limit, rows, entries))
        })
        .await
    }

    async fn ledger_subjects_between(
        &self,
        kind: LedgerKind,
        lo: i64,
        hi: i64,
    ) -> Result<Vec<i64>> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT subject_id FROM ledger_entries
                 WHERE kind = ?1 AND subject_id >= ?2 AND subject_id < ?3 ORDER BY subject_id",
            )?
            .query_map(params![kind.as_i64(), lo, hi], |r| r.get(0))?
            .collect()
        })
        .await
    }

    async fn ledger_pending(&self) -> Result<u64> {
        self.lookup(|c| {
            c.prepare_cached("SELECT count(*) FROM ledger_entries WHERE seq IS NULL")?
                .query_row([], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
        })
        .await
    }

    async fn ledger_has_work(&self) -> Result<bool> {
        self.lookup(|c| c.prepare_cached(HAS_WORK)?.query_row([], |r| r.get(0)))
            .await
    }
}
