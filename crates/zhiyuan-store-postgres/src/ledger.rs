//! The ledger on PostgreSQL: entries appended inside the writes they certify
//! ([`append_many`]), the sequencer (one at a time across app servers: it locks the tree
//! row, and a second one skips), tiles, checkpoints and the audit's reads.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::Row;
use zhiyuan_ledger::{Hash, TileAppender, TileId, edge_tiles, leaf_hash, tile_bytes, tile_hashes};
use zhiyuan_store::ledger::{
    Integration, LedgerEntry, LedgerKind, LedgerTree, SealedEntry, StoredCheckpoint, SubjectPage,
    certificate_content, certificate_revocation_content, record_content, star_content,
    star_revocation_content,
};
use zhiyuan_store::{LedgerStore, Result, StoreError};

use crate::PgStore;
use crate::conv::{get, pg_err};

/// Whether the sequencer has entries to integrate or a checkpoint to sign: asked five
/// times a second by every app server. Pending entries are found through their partial
/// index as the first by id: asked as `EXISTS`, statistics taken while many entries
/// waited (after a seed or a large upload, until the next `ANALYZE`) make PostgreSQL
/// scan the whole table for one, 2.5 s on 20,000,000 entries (`plans.rs` checks both).
pub(crate) const HAS_WORK: &str =
    "SELECT (SELECT id FROM ledger_entries WHERE seq IS NULL ORDER BY id LIMIT 1) IS NOT NULL
        OR (SELECT size FROM ledger_tree WHERE id = 1)
            > COALESCE((SELECT max(size) FROM ledger_checkpoints), 0)";

/// The parameters of [`Sealed`] entries: kind, subjects, salts, commitments.
pub(crate) type EntryParams<'a> = (i16, Vec<i64>, Vec<&'a [u8]>, Vec<&'a [u8]>);

/// Entries sealed for one statement, to be written from `unnest` as the columns of
/// `ledger_entries` ([`Sealed::params`], in the order `kind, subjects, salts, commitments`).
pub(crate) struct Sealed {
    kind: i16,
    entries: Vec<SealedEntry>,
}

impl Sealed {
    /// Seals each `(subject, content)` as an entry of `kind`.
    pub(crate) fn new(kind: LedgerKind, items: &[(i64, Vec<u8>)]) -> Self {
        Sealed {
            kind: kind.as_i64() as i16,
            entries: items
                .iter()
                .map(|(subject, content)| SealedEntry::seal(kind, *subject, content))
                .collect(),
        }
    }

    pub(crate) fn params(&self) -> EntryParams<'_> {
        (
            self.kind,
            self.entries.iter().map(|e| e.subject).collect(),
            self.entries.iter().map(|e| e.salt.as_slice()).collect(),
            self.entries
                .iter()
                .map(|e| e.commitment.as_slice())
                .collect(),
        )
    }
}

/// Seals each `(subject, content)` as an entry of `kind` and writes them in one
/// statement; a subject that has its entry of this kind already keeps it (each is logged
/// once, when it first qualifies).
pub(crate) async fn append_many(
    c: &impl GenericClient,
    kind: LedgerKind,
    items: &[(i64, Vec<u8>)],
) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let sealed = Sealed::new(kind, items);
    let (kind, subjects, salts, commitments) = sealed.params();
    let stmt = c
        .prepare_cached(
            "INSERT INTO ledger_entries (kind, subject_id, salt, commitment, created_at)
             SELECT $1, s, salt, c, $5 FROM UNNEST($2::BIGINT[], $3::BYTEA[], $4::BYTEA[])
                AS u(s, salt, c)
             ON CONFLICT (kind, subject_id) DO NOTHING",
        )
        .await
        .map_err(pg_err)?;
    c.execute(
        &stmt,
        &[
            &kind,
            &subjects,
            &salts,
            &commitments,
            &OffsetDateTime::now_utc(),
        ],
    )
    .await
    .map_err(pg_err)?;
    Ok(())
}

/// Appends the entry for `content` when there is one (the subject qualifies).
pub(crate) async fn append_if(
    c: &impl GenericClient,
    kind: LedgerKind,
    subject: i64,
    content: Option<Vec<u8>>,
) -> Result<()> {
    match content {
        Some(content) => append_many(c, kind, &[(subject, content)]).await,
        None => Ok(()),
    }
}

const ENTRY: &str = "id, kind, subject_id, salt, commitment, seq, created_at";

fn hash(row: &Row, idx: usize) -> Result<Hash> {
    let v: Vec<u8> = get(row, idx)?;
    Hash::try_from(v.as_slice()).map_err(|_| StoreError::corrupt("a ledger hash is not 32 bytes"))
}

fn entry_from(row: &Row) -> Result<LedgerEntry> {
    let kind: i16 = get(row, 1)?;
    Ok(LedgerEntry {
        id: get(row, 0)?,
        sealed: SealedEntry {
            kind: LedgerKind::from_i64(i64::from(kind))
                .ok_or_else(|| StoreError::corrupt(format!("unknown ledger kind {kind}")))?,
            subject: get(row, 2)?,
            salt: hash(row, 3)?,
            commitment: hash(row, 4)?,
        },
        seq: get::<Option<i64>>(row, 5)?.map(|s| s as u64),
        created_at: get(row, 6)?,
    })
}

fn tree_from(row: &Row) -> Result<LedgerTree> {
    Ok(LedgerTree {
        size: get::<i64>(row, 0)? as u64,
        root: hash(row, 1)?,
    })
}

async fn tree(c: &impl GenericClient) -> Result<LedgerTree> {
    let stmt = c
        .prepare_cached("SELECT size, root FROM ledger_tree WHERE id = 1")
        .await
        .map_err(pg_err)?;
    tree_from(&c.query_one(&stmt, &[]).await.map_err(pg_err)?)
}

async fn tiles(c: &impl GenericClient, ids: &[TileId]) -> Result<HashMap<TileId, Vec<Hash>>> {
    let levels: Vec<i16> = ids.iter().map(|t| i16::from(t.level)).collect();
    let indexes: Vec<i64> = ids.iter().map(|t| t.index as i64).collect();
    let stmt = c
        .prepare_cached(
            "SELECT t.level, t.idx, t.hashes FROM ledger_tiles t
             JOIN UNNEST($1::SMALLINT[], $2::BIGINT[]) AS u(level, idx)
               ON t.level = u.level AND t.idx = u.idx",
        )
        .await
        .map_err(pg_err)?;
    let mut out = HashMap::new();
    for row in c.query(&stmt, &[&levels, &indexes]).await.map_err(pg_err)? {
        let level: i16 = get(&row, 0)?;
        let index: i64 = get(&row, 1)?;
        let bytes: Vec<u8> = get(&row, 2)?;
        let hashes = tile_hashes(&bytes)
            .ok_or_else(|| StoreError::corrupt("a tile's length is not a multiple of 32"))?;
        out.insert(
            TileId {
                level: level as u8,
                index: index as u64,
            },
            hashes,
        );
    }
    Ok(out)
}

fn ledger_err(e: zhiyuan_ledger::ProofError) -> StoreError {
    StoreError::corrupt(format!("ledger: {e}"))
}

/// Statement text of one kind's page of rows, in id order.
fn subject_sql(kind: LedgerKind) -> String {
    match kind {
        LedgerKind::Record => crate::records::page_after_sql(),
        LedgerKind::Star | LedgerKind::StarRevocation => crate::stars::page_after_sql(),
        LedgerKind::Certificate | LedgerKind::CertificateRevocation => {
            crate::certificates::page_after_sql()
        }
    }
}

/// The `(id, content now)` of one row of `kind`.
fn subject_from(kind: LedgerKind, row: &Row) -> Result<(i64, Option<Vec<u8>>)> {
    Ok(match kind {
        LedgerKind::Record => {
            let r = crate::records::from_row(row)?;
            let content = record_content(r.id, r.origin, r.revision, &r.record);
            (r.id.0, content)
        }
        LedgerKind::Star => {
            let a = crate::stars::from_row(row)?;
            (a.id.0, star_content(&a))
        }
        LedgerKind::StarRevocation => {
            let a = crate::stars::from_row(row)?;
            (a.id.0, star_revocation_content(&a))
        }
        LedgerKind::Certificate => {
            let c = crate::certificates::from_row(row)?;
            (c.id, certificate_content(&c))
        }
        LedgerKind::CertificateRevocation => {
            let c = crate::certificates::from_row(row)?;
            (c.id, certificate_revocation_content(&c))
        }
    })
}

#[async_trait]
impl LedgerStore for PgStore {
    async fn integrate_ledger(&self, limit: usize) -> Result<Integration> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        // The tree row is the sequencer's lock: whoever holds it integrates; anyone else
        // skips this round rather than queue behind it.
        let stmt = tx
            .prepare_cached(
                "SELECT size, root FROM ledger_tree WHERE id = 1 FOR UPDATE SKIP LOCKED",
            )
            .await
            .map_err(pg_err)?;
        let Some(row) = tx.query_opt(&stmt, &[]).await.map_err(pg_err)? else {
            drop(tx);
            return Ok(Integration {
                tree: tree(&client).await?,
                added: 0,
            });
        };
        let before = tree_from(&row)?;
        let stmt = tx
            .prepare_cached(
                "SELECT id, commitment FROM ledger_entries WHERE seq IS NULL ORDER BY id LIMIT $1",
            )
            .await
            .map_err(pg_err)?;
        let pending = tx
            .query(&stmt, &[&(limit as i64)])
            .await
            .map_err(pg_err)?
            .iter()
            .map(|r| Ok((get::<i64>(r, 0)?, hash(r, 1)?)))
            .collect::<Result<Vec<_>>>()?;
        if pending.is_empty() {
            return Ok(Integration {
                tree: before,
                added: 0,
            });
        }
        let added = pending.len() as u64;
        let edge = tiles(&tx, &edge_tiles(before.size)).await?;
        let mut appender = TileAppender::new(before.size, &edge).map_err(ledger_err)?;
        let (mut ids, mut seqs) = (Vec::new(), Vec::new());
        for (id, commitment) in pending {
            ids.push(id);
            seqs.push(appender.size() as i64);
            appender.push(leaf_hash(&commitment));
        }
        let after = LedgerTree {
            size: appender.size(),
            root: appender.root().map_err(ledger_err)?,
        };
        let stmt = tx
            .prepare_cached(
                "UPDATE ledger_entries e SET seq = u.seq
                 FROM UNNEST($1::BIGINT[], $2::BIGINT[]) AS u(id, seq) WHERE e.id = u.id",
            )
            .await
            .map_err(pg_err)?;
        tx.execute(&stmt, &[&ids, &seqs]).await.map_err(pg_err)?;
        let written = appender.finish();
        let levels: Vec<i16> = written.iter().map(|(t, _)| i16::from(t.level)).collect();
        let indexes: Vec<i64> = written.iter().map(|(t, _)| t.index as i64).collect();
        let bytes: Vec<Vec<u8>> = written.iter().map(|(_, h)| tile_bytes(h)).collect();
        let stmt = tx
            .prepare_cached(
                "INSERT INTO ledger_tiles (level, idx, hashes)
                 SELECT * FROM UNNEST($1::SMALLINT[], $2::BIGINT[], $3::BYTEA[])
                 ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes",
            )
            .await
            .map_err(pg_err)?;
        tx.execute(&stmt, &[&levels, &indexes, &bytes])
            .await
            .map_err(pg_err)?;
        let stmt = tx
            .prepare_cached("UPDATE ledger_tree SET size = $1, root = $2 WHERE id = 1")
            .await
            .map_err(pg_err)?;
        tx.execute(&stmt, &[&(after.size as i64), &after.root.as_slice()])
            .await
            .map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(Integration { tree: after, added })
    }

    async fn ledger_tree(&self) -> Result<LedgerTree> {
        tree(&self.client().await?).await
    }

    async fn ledger_tiles(&self, ids: &[TileId]) -> Result<HashMap<TileId, Vec<Hash>>> {
        tiles(&self.client().await?, ids).await
    }

    async fn ledger_entries_by_seq(&self, from: u64, count: u64) -> Result<Vec<LedgerEntry>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {ENTRY} FROM ledger_entries WHERE seq >= $1 AND seq < $2 ORDER BY seq"
            ))
            .await
            .map_err(pg_err)?;
        client
            .query(&stmt, &[&(from as i64), &((from + count) as i64)])
            .await
            .map_err(pg_err)?
            .iter()
            .map(entry_from)
            .collect()
    }

    async fn insert_checkpoint(&self, cp: &StoredCheckpoint) -> Result<()> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO ledger_checkpoints (size, root, note, signed_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (size) DO NOTHING",
            )
            .await
            .map_err(pg_err)?;
        client
            .execute(
                &stmt,
                &[
                    &(cp.size as i64),
                    &cp.root.as_slice(),
                    &cp.note,
                    &cp.signed_at,
                ],
            )
            .await
            .map_err(pg_err)?;
        Ok(())
    }

    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT size, root, note, signed_at FROM ledger_checkpoints
                 ORDER BY size DESC LIMIT 1",
            )
            .await
            .map_err(pg_err)?;
        let row = client.query_opt(&stmt, &[]).await.map_err(pg_err)?;
        row.map(|r| {
            Ok(StoredCheckpoint {
                size: get::<i64>(&r, 0)? as u64,
                root: hash(&r, 1)?,
                note: get(&r, 2)?,
                signed_at: get(&r, 3)?,
            })
        })
        .transpose()
    }

    async fn ledger_entry(&self, kind: LedgerKind, subject: i64) -> Result<Option<LedgerEntry>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {ENTRY} FROM ledger_entries WHERE kind = $1 AND subject_id = $2"
            ))
            .await
            .map_err(pg_err)?;
        let row = client
            .query_opt(&stmt, &[&(kind.as_i64() as i16), &subject])
            .await
            .map_err(pg_err)?;
        row.as_ref().map(entry_from).transpose()
    }

    async fn ledger_subjects(
        &self,
        kind: LedgerKind,
        after: i64,
        limit: u32,
    ) -> Result<SubjectPage> {
        let mut client = self.client().await?;
        // One snapshot for the rows and their entries.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg_err)?;
        let stmt = tx
            .prepare_cached(&subject_sql(kind))
            .await
            .map_err(pg_err)?;
        let rows = tx
            .query(&stmt, &[&after, &i64::from(limit)])
            .await
            .map_err(pg_err)?
            .iter()
            .map(|r| subject_from(kind, r))
            .collect::<Result<Vec<_>>>()?;
        let (lo, hi) = SubjectPage::entry_range(after, limit, &rows);
        let stmt = tx
            .prepare_cached(&format!(
                "SELECT {ENTRY} FROM ledger_entries
                 WHERE kind = $1 AND subject_id > $2 AND subject_id <= $3"
            ))
            .await
            .map_err(pg_err)?;
        let entries: BTreeMap<i64, LedgerEntry> = tx
            .query(&stmt, &[&(kind.as_i64() as i16), &lo, &hi])
            .await
            .map_err(pg_err)?
            .iter()
            .map(|r| entry_from(r).map(|e| (e.sealed.subject, e)))
            .collect::<Result<_>>()?;
        tx.commit().await.map_err(pg_err)?;
        Ok(SubjectPage::pair(limit, rows, entries))
    }

    async fn ledger_subjects_between(
        &self,
        kind: LedgerKind,
        lo: i64,
        hi: i64,
    ) -> Result<Vec<i64>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT subject_id FROM ledger_entries
                 WHERE kind = $1 AND subject_id >= $2 AND subject_id < $3 ORDER BY subject_id",
            )
            .await
            .map_err(pg_err)?;
        client
            .query(&stmt, &[&(kind.as_i64() as i16), &lo, &hi])
            .await
            .map_err(pg_err)?
            .iter()
            .map(|r| get(r, 0))
            .collect()
    }

    async fn ledger_pending(&self) -> Result<u64> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT count(*) FROM ledger_entries WHERE seq IS NULL")
            .await
            .map_err(pg_err)?;
        let n: i64 = get(&client.query_one(&stmt, &[]).await.map_err(pg_err)?, 0)?;
        Ok(n as u64)
    }

    async fn ledger_has_work(&self) -> Result<bool> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(HAS_WORK).await.map_err(pg_err)?;
        get(&client.query_one(&stmt, &[]).await.map_err(pg_err)?, 0)
    }
}
