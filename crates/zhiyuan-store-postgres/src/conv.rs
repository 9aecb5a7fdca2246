//! Conversions between domain values and PostgreSQL columns, and error mapping.

use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, ToSql};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_store::{AuditEntry, Result, StoreError, conflict_field};

/// Maps a driver error: unique violations become conflicts naming the request field,
/// lost connections and overload become `Unavailable`.
pub fn pg_err(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        if *db.code() == SqlState::UNIQUE_VIOLATION {
            let table = db.table().unwrap_or_default();
            let constraint = db.constraint().unwrap_or_default();
            // Default names are `<table>_<columns>_key`.
            let column = constraint
                .strip_prefix(table)
                .and_then(|c| c.strip_prefix('_'))
                .map(|c| c.strip_suffix("_key").unwrap_or(c))
                .unwrap_or_default();
            let field = conflict_field(table, column);
            return StoreError::Conflict { field };
        }
        if matches!(
            *db.code(),
            SqlState::T_R_SERIALIZATION_FAILURE
                | SqlState::T_R_DEADLOCK_DETECTED
                | SqlState::TOO_MANY_CONNECTIONS
                | SqlState::ADMIN_SHUTDOWN
        ) {
            return StoreError::Unavailable(db.message().to_owned());
        }
    } else if e.is_closed() {
        return StoreError::Unavailable(e.to_string());
    }
    StoreError::internal(e)
}

/// Reads a column, reporting type mismatches as errors rather than panics.
pub fn get<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T> {
    row.try_get(idx).map_err(pg_err)
}

/// Reads a column and converts it, reporting impossible values as corruption.
pub fn conv<'a, R: FromSql<'a>, T>(
    row: &'a Row,
    idx: usize,
    f: impl FnOnce(R) -> Option<T>,
) -> Result<T> {
    f(get(row, idx)?)
        .ok_or_else(|| StoreError::corrupt(format!("unexpected value in column {idx}")))
}

pub fn region(row: &Row, idx: usize) -> Result<RegionCode> {
    conv(row, idx, RegionCode::from_i64)
}

pub fn json<T: serde::de::DeserializeOwned>(row: &Row, idx: usize) -> Result<T> {
    conv(row, idx, |v: serde_json::Value| {
        serde_json::from_value(v).ok()
    })
}

pub fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// `(lo, hi)` of an optional subtree filter; no filter covers everything.
/// `column = $n` when a filter is given, `$n::ty IS NULL` (true) when it is not. Written
/// `($n IS NULL OR column = $n)`, one statement would serve every combination, but its
/// generic plan (which PostgreSQL switches to when the custom plans look no cheaper) could
/// never use `column`'s index: a volunteer's records listed by walking every record. So
/// the SQL says which filters apply, and each combination is prepared on its own.
pub fn eq_filter(column: &str, n: usize, ty: &str, given: bool) -> String {
    if given {
        format!("{column} = ${n}")
    } else {
        format!("${n}::{ty} IS NULL")
    }
}

/// A region subtree filter on `column` between parameters `$lo` and `$hi`, or, with no
/// region, both bound NULL and tested once: a range of unknown bounds would make a generic
/// plan count on a selective filter that passes every row (the overdue shifts to flag
/// were then read team by team, 0.7 s, instead of from their own index).
pub fn within_filter(column: &str, lo: usize, hi: usize, given: bool) -> String {
    if given {
        format!("{column} >= ${lo} AND {column} < ${hi}")
    } else {
        format!("${lo}::BIGINT IS NULL AND ${hi}::BIGINT IS NULL")
    }
}

pub fn range(within: Option<RegionCode>) -> (i64, i64) {
    within.map_or((0, i64::MAX), RegionCode::subtree)
}

pub const AUDIT_INSERT: &str = "INSERT INTO audit_log (at, actor_account_id, request_id, action,
    subject_type, subject_id, region_code, reason, details)";

/// Writes an audit entry in the caller's transaction.
pub async fn write_audit(
    tx: &impl GenericClient,
    entry: &AuditEntry,
    subject_id: Option<String>,
) -> Result<()> {
    insert_audit(tx, entry, subject_id, None).await
}

/// Writes the entries of one change filed in several trails ([`AuditEntry::in_each`]):
/// the first as it is, the others as copies of it (migration 0033), so that a trail
/// that holds the first shows the change once. Refused when there is none.
pub async fn write_audit_in_each(tx: &impl GenericClient, entries: &[AuditEntry]) -> Result<()> {
    let (first, copies) = entries
        .split_first()
        .ok_or_else(|| StoreError::corrupt("a change without an audit entry"))?;
    insert_audit(tx, first, None, None).await?;
    for copy in copies {
        insert_audit(tx, copy, None, first.region).await?;
    }
    Ok(())
}

async fn insert_audit(
    tx: &impl GenericClient,
    entry: &AuditEntry,
    subject_id: Option<String>,
    copy_of_region: Option<RegionCode>,
) -> Result<()> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO audit_log (at, actor_account_id, request_id, action, subject_type,
                subject_id, region_code, reason, details, copy_of_region)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .await
        .map_err(pg_err)?;
    tx.execute(
        &stmt,
        &[
            &entry.at,
            &entry.actor.map(|a| a.0),
            &entry.request_id,
            &entry.action,
            &entry.subject_type,
            &subject_id.as_deref().unwrap_or(&entry.subject_id),
            &entry.region.map(RegionCode::as_i64),
            &entry.reason,
            &entry.details,
            &copy_of_region.map(RegionCode::as_i64),
        ],
    )
    .await
    .map_err(pg_err)?;
    Ok(())
}

/// Draws `n` ids from the sequence of `table`'s `id`, so that rows written in bulk are
/// known by id before the server answers. The sequence is looked up once: named in the
/// call of each row, it was looked up for each (100,000 ids in 0.29–0.41 s instead of
/// 0.04–0.05 s).
pub async fn draw_ids(c: &impl GenericClient, table: &str, n: usize) -> Result<Vec<i64>> {
    let stmt = c
        .prepare_cached(&format!(
            "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence('{table}', 'id')::regclass AS seq)
             SELECT nextval(s.seq) FROM s, generate_series(1, $1::BIGINT)"
        ))
        .await
        .map_err(pg_err)?;
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    let rows = c.query(&stmt, &[&n]).await.map_err(pg_err)?;
    rows.iter().map(|r| get(r, 0)).collect()
}

/// Audit entries as the columns of `audit_log` (`AUDIT_INSERT`'s order), one array each,
/// for statements that write many entries from `unnest` (see [`audit_arrays`]).
pub struct AuditColumns<'a> {
    at: Vec<OffsetDateTime>,
    actor: Vec<Option<i64>>,
    request: Vec<&'a str>,
    action: Vec<&'a str>,
    subject_type: Vec<&'a str>,
    subject: Vec<&'a str>,
    region: Vec<Option<i64>>,
    reason: Vec<Option<&'a str>>,
    details: Vec<&'a serde_json::Value>,
}

/// The types of [`AuditColumns::params`], for `unnest`.
const AUDIT_TYPES: [&str; 9] = [
    "TIMESTAMPTZ",
    "BIGINT",
    "TEXT",
    "TEXT",
    "TEXT",
    "TEXT",
    "BIGINT",
    "TEXT",
    "JSONB",
];

impl<'a> AuditColumns<'a> {
    /// Each entry with its subject id.
    pub fn new(e: impl Iterator<Item = (&'a AuditEntry, &'a str)> + Clone) -> Self {
        Self {
            at: e.clone().map(|(e, _)| e.at).collect(),
            actor: e.clone().map(|(e, _)| e.actor.map(|a| a.0)).collect(),
            request: e.clone().map(|(e, _)| e.request_id.as_str()).collect(),
            action: e.clone().map(|(e, _)| e.action).collect(),
            subject_type: e.clone().map(|(e, _)| e.subject_type).collect(),
            subject: e.clone().map(|(_, id)| id).collect(),
            region: e
                .clone()
                .map(|(e, _)| e.region.map(RegionCode::as_i64))
                .collect(),
            reason: e.clone().map(|(e, _)| e.reason.as_deref()).collect(),
            details: e.map(|(e, _)| &e.details).collect(),
        }
    }

    pub fn params(&self) -> [&(dyn ToSql + Sync); 9] {
        [
            &self.at,
            &self.actor,
            &self.request,
            &self.action,
            &self.subject_type,
            &self.subject,
            &self.region,
            &self.reason,
            &self.details,
        ]
    }
}

/// `$first::T[], …` for the nine arrays of [`AuditColumns::params`].
pub fn audit_arrays(first: usize) -> String {
    AUDIT_TYPES
        .iter()
        .enumerate()
        .map(|(i, t)| format!("${}::{t}[]", first + i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes audit entries in the caller's transaction in one statement, each with its
/// subject id.
pub async fn write_audits(tx: &impl GenericClient, entries: &[(AuditEntry, String)]) -> Result<()> {
    let stmt = tx
        .prepare_cached(&format!(
            "{AUDIT_INSERT} SELECT * FROM unnest({})",
            audit_arrays(1)
        ))
        .await
        .map_err(pg_err)?;
    let columns = AuditColumns::new(entries.iter().map(|(e, id)| (e, id.as_str())));
    tx.execute(&stmt, &columns.params()).await.map_err(pg_err)?;
    Ok(())
}

/// Runs `write` (an `INSERT`/`UPDATE` of one row at most, `RETURNING id, …`, taking
/// `params`) and audits the row it returns (subject id: the row's `id`), as one statement:
/// atomic without a transaction, and one round trip. No row returned, nothing audited.
pub async fn write_audited(
    c: &impl GenericClient,
    write: &str,
    params: &[&(dyn ToSql + Sync)],
    entry: &AuditEntry,
) -> Result<Option<Row>> {
    let n = params.len();
    let p = |i: usize| n + i;
    let stmt = c
        .prepare_cached(&format!(
            "WITH written AS ({write}),
             audited AS ({AUDIT_INSERT}
                 SELECT ${}::TIMESTAMPTZ, ${}::BIGINT, ${}::TEXT, ${}::TEXT, ${}::TEXT,
                     written.id::TEXT, ${}::BIGINT, ${}::TEXT, ${}::JSONB FROM written)
             SELECT * FROM written",
            p(1),
            p(2),
            p(3),
            p(4),
            p(5),
            p(6),
            p(7),
            p(8),
        ))
        .await
        .map_err(pg_err)?;
    let (actor, region) = (
        entry.actor.map(|a| a.0),
        entry.region.map(RegionCode::as_i64),
    );
    let mut all = params.to_vec();
    all.extend_from_slice(&[
        &entry.at,
        &actor,
        &entry.request_id,
        &entry.action,
        &entry.subject_type,
        &region,
        &entry.reason,
        &entry.details,
    ]);
    c.query_opt(&stmt, &all).await.map_err(pg_err)
}

/// `t` at the precision a `TIMESTAMPTZ` keeps (microseconds), for records returned
/// without being read back.
pub fn to_micros(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .expect("fewer nanoseconds are in range")
}

/// Fails with a version conflict when an optimistic update touched no row.
pub fn expect_one(changed: u64) -> Result<()> {
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict { field: "version" })
    }
}
