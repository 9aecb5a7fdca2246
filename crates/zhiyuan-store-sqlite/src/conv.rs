//! Conversions between domain values and SQLite columns, and error mapping.

use rusqlite::types::Type;
use rusqlite::{Row, Transaction, params};
use time::{Date, OffsetDateTime};
use zhiyuan_domain::region::{RegionCode, RegionLevel};
use zhiyuan_store::{AuditEntry, StoreError, conflict_field};

/// Microseconds since the epoch.
/// `column = ?n` when a filter is given, `?n IS NULL` (true) when it is not. With the query
/// planner's stability guarantee on, a plan cannot depend on which parameters are NULL,
/// so `(?n IS NULL OR column = ?n)` would never use `column`'s index: the SQL itself must
/// say which filters apply. Each combination is a statement of its own in the cache.
pub fn eq_filter(column: &str, n: usize, given: bool) -> String {
    if given {
        format!("{column} = ?{n}")
    } else {
        format!("?{n} IS NULL")
    }
}

/// A region subtree filter on `column` between parameters `?lo` and `?hi` (bound NULL
/// when there is no region), for a list newest first. A province, a city or a county
/// holds a large share of the rows, so the list walks them newest first and tests each
/// (`+column` keeps the region index out: read through it, every row of a city would be
/// read and sorted for one page); a town or a village holds few, so the list searches the
/// region index and sorts them.
pub fn within_filter(column: &str, lo: usize, hi: usize, within: Option<RegionCode>) -> String {
    match within.map(RegionCode::level) {
        None => format!("?{lo} IS NULL AND ?{hi} IS NULL"),
        Some(RegionLevel::Town | RegionLevel::Village) => {
            format!("{column} >= ?{lo} AND {column} < ?{hi}")
        }
        Some(_) => format!("+{column} >= ?{lo} AND +{column} < ?{hi}"),
    }
}

pub fn micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

pub fn from_micros(us: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub fn date_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

fn bad(idx: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, what.to_owned().into())
}

/// Reads column `idx` and converts it with `f`, reporting a corrupt value as a conversion
/// error on that column.
pub fn col<T, R: rusqlite::types::FromSql>(
    row: &Row<'_>,
    idx: usize,
    f: impl FnOnce(R) -> Option<T>,
) -> rusqlite::Result<T> {
    f(row.get(idx)?).ok_or_else(|| bad(idx, "unexpected value"))
}

pub fn region(row: &Row<'_>, idx: usize) -> rusqlite::Result<RegionCode> {
    col(row, idx, RegionCode::from_i64)
}

pub fn time(row: &Row<'_>, idx: usize) -> rusqlite::Result<OffsetDateTime> {
    Ok(from_micros(row.get(idx)?))
}

pub fn opt_time(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<OffsetDateTime>> {
    Ok(row.get::<_, Option<i64>>(idx)?.map(from_micros))
}

pub fn date(row: &Row<'_>, idx: usize) -> rusqlite::Result<Date> {
    col(row, idx, |s: String| {
        zhiyuan_domain::registration::parse_date(&s).ok()
    })
}

pub fn json<T: serde::de::DeserializeOwned>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
    col(row, idx, |s: String| serde_json::from_str(&s).ok())
}

pub fn opt_json<T: serde::de::DeserializeOwned>(
    row: &Row<'_>,
    idx: usize,
) -> rusqlite::Result<Option<T>> {
    match row.get::<_, Option<String>>(idx)? {
        None => Ok(None),
        Some(s) => serde_json::from_str(&s)
            .map(Some)
            .map_err(|_| bad(idx, "unexpected JSON")),
    }
}

pub fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Maps a rusqlite error: unique violations become conflicts naming the request field.
pub fn store_err(e: rusqlite::Error) -> StoreError {
    let rusqlite::Error::SqliteFailure(failure, msg) = &e else {
        return StoreError::internal(e);
    };
    let msg = msg.as_deref().unwrap_or_default();
    match failure.code {
        rusqlite::ErrorCode::ConstraintViolation => {
            match msg.strip_prefix("UNIQUE constraint failed: ") {
                Some(cols) => {
                    let first = cols.split(", ").next().unwrap_or_default();
                    let (table, column) = first.split_once('.').unwrap_or((first, ""));
                    StoreError::Conflict {
                        field: conflict_field(table, column),
                    }
                }
                None => StoreError::internal(e),
            }
        }
        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
            StoreError::Unavailable(msg.to_owned())
        }
        _ => StoreError::internal(e),
    }
}

/// Writes an audit entry inside the caller's transaction. `subject_id` overrides the
/// entry's when the subject was created by the same transaction.
pub fn write_audit(
    tx: &Transaction<'_>,
    entry: &AuditEntry,
    subject_id: Option<String>,
) -> Result<(), StoreError> {
    insert_audit(tx, entry, subject_id, None)
}

/// Writes the entries of one change filed in several trails ([`AuditEntry::in_each`]):
/// the first as it is, the others as copies of it (migration 0033), so that a trail
/// that holds the first shows the change once. Refused when there is none.
pub fn write_audit_in_each(tx: &Transaction<'_>, entries: &[AuditEntry]) -> Result<(), StoreError> {
    let (first, copies) = entries
        .split_first()
        .ok_or_else(|| StoreError::corrupt("a change without an audit entry"))?;
    insert_audit(tx, first, None, None)?;
    for copy in copies {
        insert_audit(tx, copy, None, first.region)?;
    }
    Ok(())
}

fn insert_audit(
    tx: &Transaction<'_>,
    entry: &AuditEntry,
    subject_id: Option<String>,
    copy_of_region: Option<RegionCode>,
) -> Result<(), StoreError> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO audit_log (at, actor_account_id, request_id, action, subject_type,
                subject_id, region_code, reason, details, copy_of_region)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(store_err)?;
    stmt.execute(params![
        micros(entry.at),
        entry.actor.map(|a| a.0),
        entry.request_id,
        entry.action,
        entry.subject_type,
        subject_id.as_deref().unwrap_or(&entry.subject_id),
        entry.region.map(RegionCode::as_i64),
        entry.reason,
        entry.details.to_string(),
        copy_of_region.map(RegionCode::as_i64),
    ])
    .map_err(store_err)?;
    Ok(())
}

/// Fails with a version conflict when an optimistic update touched no row.
pub fn expect_one(changed: usize) -> Result<(), StoreError> {
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict { field: "version" })
    }
}

/// `?from, ?from+1, ...`: `n` numbered parameters for an `IN (...)` list.
pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
