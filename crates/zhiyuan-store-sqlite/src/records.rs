//! Service records and the running totals they keep exact. Every path that makes a record
//! count goes through [`insert_row`] / [`count`], in the same transaction.

use std::collections::HashMap;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use time::{Date, OffsetDateTime};
use zhiyuan_domain::ids::{AccountId, OrgId, VolunteerId};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_store::{
    AuditEntry, BatchOutcome, DayCap, NewRecord, Page, PageRequest, ProjectId, RecordId,
    RecordQuery, RecordRow, RecordSource, RecordStatus, RecordStore, Result, ShiftId, StoreError,
    Totals, UnrecordedShift,
};

use zhiyuan_store::ledger::{LedgerKind, record_content};

use crate::SqliteStore;
use crate::conv::{
    col, date, date_text, eq_filter, json, micros, opt_time, region, store_err, time, to_json,
    write_audit,
};
use crate::ledger;
use crate::projects::shift_at;

const COLUMNS: &str = "id, origin_id, revision, is_current, volunteer_id, org_id, project_id,
    shift_id, activity_name, service_date, place, content, minutes, responsible_person, source,
    status, flags, dedupe_key, created_at, created_by, decided_at, decided_by";

fn from_row(row: &Row<'_>) -> rusqlite::Result<RecordRow> {
    Ok(RecordRow {
        id: RecordId(row.get(0)?),
        origin: row.get::<_, Option<i64>>(1)?.map(RecordId),
        revision: row.get(2)?,
        is_current: row.get(3)?,
        record: NewRecord {
            volunteer: VolunteerId(row.get(4)?),
            org: OrgId(row.get(5)?),
            project: row.get::<_, Option<i64>>(6)?.map(ProjectId),
            shift: row.get::<_, Option<i64>>(7)?.map(ShiftId),
            activity_name: row.get(8)?,
            service_date: date(row, 9)?,
            place: row.get(10)?,
            content: row.get(11)?,
            minutes: row.get(12)?,
            responsible_person: row.get(13)?,
            source: col(row, 14, |s: String| RecordSource::parse(&s))?,
            status: col(row, 15, |s: String| RecordStatus::parse(&s))?,
            flags: json(row, 16)?,
            dedupe_key: row.get(17)?,
            created_at: time(row, 18)?,
            created_by: row.get::<_, Option<i64>>(19)?.map(AccountId),
        },
        decided_at: opt_time(row, 20)?,
        decided_by: row.get::<_, Option<i64>>(21)?.map(AccountId),
    })
}

pub(crate) fn get(c: &Connection, id: i64) -> rusqlite::Result<Option<RecordRow>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM service_records WHERE id = ?1"
    ))?
    .query_row([id], from_row)
    .optional()
}

/// Adds (or, with negative values, removes) minutes and records to a volunteer's totals.
pub(crate) fn count(
    tx: &Transaction<'_>,
    volunteer: VolunteerId,
    day: Date,
    minutes: i64,
    records: i64,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO volunteer_totals (volunteer_id, minutes, records) VALUES (?1, ?2, ?3)
         ON CONFLICT (volunteer_id) DO UPDATE SET minutes = minutes + excluded.minutes,
            records = records + excluded.records",
    )
    .and_then(|mut s| s.execute(params![volunteer.0, minutes, records]))
    .map_err(store_err)?;
    tx.prepare_cached(
        "INSERT INTO volunteer_year_totals (volunteer_id, year, minutes, records)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (volunteer_id, year) DO UPDATE SET minutes = minutes + excluded.minutes,
            records = records + excluded.records",
    )
    .and_then(|mut s| s.execute(params![volunteer.0, day.year(), minutes, records]))
    .map_err(store_err)?;
    Ok(())
}

/// Inserts a record; an entry whose dedupe key exists is skipped (no row changes).
const INSERT: &str = "INSERT INTO service_records (origin_id, revision, volunteer_id, org_id,
        project_id, shift_id, activity_name, service_date, place, content, minutes,
        responsible_person, source, status, flags, dedupe_key, created_at, created_by)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
     ON CONFLICT (dedupe_key) DO NOTHING";

/// Executes [`INSERT`] for record `r`, a version of `origin`; returns rows inserted. A
/// record of a shift that is effective (and, being new, current) marks its volunteer's
/// sign-up recorded. PostgreSQL does that in a trigger; on SQLite a trigger on
/// `service_records` makes every insert keep a statement journal of the pages it
/// touches, which made an upload of 100,000 rows take 43–270 s instead of 1.6 s
/// (migration 0022).
fn execute_insert(
    c: &Connection,
    stmt: &mut rusqlite::CachedStatement<'_>,
    r: &NewRecord,
    origin: Option<(RecordId, i64)>,
) -> rusqlite::Result<usize> {
    let inserted = stmt.execute(params![
        origin.map(|o| o.0.0),
        origin.map_or(1, |o| o.1),
        r.volunteer.0,
        r.org.0,
        r.project.map(|p| p.0),
        r.shift.map(|s| s.0),
        r.activity_name,
        date_text(r.service_date),
        r.place,
        r.content,
        r.minutes,
        r.responsible_person,
        r.source.as_str(),
        r.status.as_str(),
        to_json(&r.flags),
        r.dedupe_key,
        micros(r.created_at),
        r.created_by.map(|a| a.0),
    ])?;
    if let (1, Some(shift), RecordStatus::Effective) = (inserted, r.shift, r.status) {
        c.prepare_cached(
            "UPDATE signups SET recorded = 1
             WHERE shift_id = ?1 AND volunteer_id = ?2 AND recorded = 0",
        )?
        .execute([shift.0, r.volunteer.0])?;
    }
    Ok(inserted)
}

/// Writes a record (a first version, or a new version of `origin`) and counts it when it
/// is effective. Conflict on `dedupe_key` when the entry was recorded before; refused when
/// it takes its day over `cap`.
pub(crate) fn insert_row(
    tx: &Transaction<'_>,
    r: &NewRecord,
    origin: Option<(RecordId, i64)>,
    cap: DayCap,
) -> Result<i64> {
    let inserted = tx
        .prepare_cached(INSERT)
        .and_then(|mut s| execute_insert(tx, &mut s, r, origin))
        .map_err(store_err)?;
    if inserted == 0 {
        return Err(StoreError::Conflict {
            field: "dedupe_key",
        });
    }
    let id = tx.last_insert_rowid();
    if r.status == RecordStatus::Effective {
        count(tx, r.volunteer, r.service_date, r.minutes, 1)?;
        within_cap(tx, r.volunteer, r.service_date, cap)?;
    }
    log_record(tx, RecordId(id), origin, r)?;
    Ok(id)
}

/// Refuses the write when `volunteer`'s `day`, with what the transaction wrote, holds more
/// than `cap`. Inside the one writer's transaction, nothing else can add to it meanwhile.
fn within_cap(tx: &Transaction<'_>, volunteer: VolunteerId, day: Date, cap: DayCap) -> Result<()> {
    match day_minutes_on(tx, volunteer, day).map_err(store_err)? > cap.0 {
        true => Err(cap.refusal(day)),
        false => Ok(()),
    }
}

/// The effective minutes each (volunteer, day) of `pairs` already has, and those of the
/// volunteer's other days between; days without any are left out. Each volunteer's index
/// is read once, from their first day in `pairs` to their last: an upload's days for one
/// volunteer are usually a few close together, and a statement per day cost four times
/// as many (a tenth of an upload's writer).
fn day_minutes_of(
    c: &Connection,
    pairs: impl Iterator<Item = (VolunteerId, Date)>,
) -> rusqlite::Result<HashMap<(VolunteerId, Date), i64>> {
    // In order, so that consecutive lookups descend through the same index pages.
    let pairs: std::collections::BTreeSet<(VolunteerId, Date)> = pairs.collect();
    let mut spans: Vec<(VolunteerId, Date, Date)> = Vec::new();
    for &(v, d) in &pairs {
        match spans.last_mut() {
            Some((last, _, until)) if *last == v => *until = d,
            _ => spans.push((v, d, d)),
        }
    }
    let mut stmt = c.prepare_cached(DAYS_MINUTES)?;
    let mut out = HashMap::new();
    for (v, from, until) in spans {
        let mut rows = stmt.query(params![v.0, date_text(from), date_text(until)])?;
        while let Some(row) = rows.next()? {
            let day = date(row, 0)?;
            let minutes: i64 = row.get(1)?;
            if minutes > 0 {
                out.insert((v, day), minutes);
            }
        }
    }
    Ok(out)
}

/// The effective minutes `volunteer` has on `day`, for the daily cap.
fn day_minutes_on(c: &Connection, volunteer: VolunteerId, day: Date) -> rusqlite::Result<i64> {
    c.prepare_cached(DAY_MINUTES)?
        .query_row(params![volunteer.0, date_text(day)], |r| r.get(0))
}

/// Writes the ledger entry of record `id` when it counts.
fn log_record(
    tx: &Transaction<'_>,
    id: RecordId,
    origin: Option<(RecordId, i64)>,
    r: &NewRecord,
) -> Result<()> {
    let content = record_content(id, origin.map(|o| o.0), origin.map_or(1, |o| o.1), r);
    ledger::append_if(tx, LedgerKind::Record, id.0, content)
}

/// Records in id order after `after`, for the ledger audit.
pub(crate) fn page_after(
    c: &Connection,
    after: i64,
    limit: u32,
) -> rusqlite::Result<Vec<RecordRow>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM service_records WHERE id > ?1 ORDER BY id LIMIT ?2"
    ))?
    .query_map(params![after, limit], from_row)?
    .collect()
}

/// Records newest first, by volunteer and/or team when given. A volunteer's page has its
/// ids chosen first and its rows read after: their index is in date order and covers the
/// filters, so the ids are sorted from it alone and only the page's rows are read. A
/// team's index is in id order already, so its page is read as it is walked.
pub(crate) fn list_sql(by_volunteer: bool, by_org: bool) -> String {
    let page = |columns: &str| {
        format!(
            "SELECT {columns} FROM service_records
             WHERE id < ?1 AND {} AND {} AND (?4 IS NULL OR status = ?4)
               AND (?5 = 0 OR is_current = 1)
             ORDER BY id DESC LIMIT ?6",
            eq_filter("volunteer_id", 2, by_volunteer),
            eq_filter("org_id", 3, by_org),
        )
    };
    match by_volunteer {
        true => format!(
            "SELECT {COLUMNS} FROM service_records WHERE id IN ({}) ORDER BY id DESC",
            page("id")
        ),
        false => page(COLUMNS),
    }
}

/// Shifts that ended before `?1` with accepted volunteers but no effective record, of a
/// team or a region, read from the shifts that owe records (migration 0028): a team's
/// report from its projects, a jurisdiction's oldest first. With `unflagged`, from the
/// owing shifts not yet flagged, so that housekeeping never walks the ones flagged
/// before. The indexes are named: without statistics the planner would rather walk
/// every shift by its end.
pub(crate) fn unrecorded_sql(by_org: bool, unflagged: bool) -> String {
    let index = match (by_org, unflagged) {
        (true, _) => "shifts_owing_project",
        (false, true) => "shifts_unflagged",
        (false, false) => "shifts_owing",
    };
    let from = if by_org {
        format!("projects p CROSS JOIN shifts sh INDEXED BY {index} ON sh.project_id = p.id")
    } else {
        format!("shifts sh INDEXED BY {index} JOIN projects p ON p.id = sh.project_id")
    };
    format!(
        "SELECT sh.id, sh.project_id, sh.position, sh.starts_at, sh.ends_at, sh.capacity,
            sh.accepted, sh.cancelled, sh.version, p.name, p.org_id, p.region_code, sh.owed
         FROM {from}
         WHERE sh.owing = 1 AND sh.cancelled = 0{} AND sh.ends_at < ?1 AND {}
           AND p.region_code >= ?3 AND p.region_code < ?4
         ORDER BY sh.ends_at, sh.id LIMIT ?5",
        if unflagged {
            " AND sh.overdue_flagged = 0"
        } else {
            ""
        },
        eq_filter("p.org_id", 2, by_org),
    )
}

pub(crate) const DAY_MINUTES: &str = "SELECT coalesce(sum(minutes), 0) FROM service_records
    WHERE volunteer_id = ?1 AND service_date = ?2 AND is_current = 1 AND status = 'effective'";

/// The effective minutes of each of a volunteer's days from `?2` to `?3` that has any.
pub(crate) const DAYS_MINUTES: &str = "SELECT service_date, sum(minutes) FROM service_records
    WHERE volunteer_id = ?1 AND service_date BETWEEN ?2 AND ?3
      AND is_current = 1 AND status = 'effective'
    GROUP BY service_date";

#[async_trait]
impl RecordStore for SqliteStore {
    async fn insert_record(
        &self,
        r: &NewRecord,
        cap: DayCap,
        audit: &AuditEntry,
    ) -> Result<RecordRow> {
        let (r, audit) = (r.clone(), audit.clone());
        self.write(move |tx| {
            let id = insert_row(tx, &r, None, cap)?;
            write_audit(tx, &audit, Some(id.to_string()))?;
            get(tx, id).map_err(store_err)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn insert_records(
        &self,
        rows: Vec<NewRecord>,
        cap: Option<DayCap>,
        audit: &AuditEntry,
    ) -> Result<Vec<BatchOutcome>> {
        let audit = audit.clone();
        self.write(move |tx| {
            // Entries recorded before and what each day holds are read by the writer, so
            // nothing can be added between the reading and the rows written.
            let decided = match cap {
                Some(cap) => {
                    let mut exists = tx
                        .prepare_cached("SELECT 1 FROM service_records WHERE dedupe_key = ?1")
                        .map_err(store_err)?;
                    let recorded = rows
                        .iter()
                        .map(|r| match &r.dedupe_key {
                            Some(key) => exists.exists([key]),
                            None => Ok(false),
                        })
                        .collect::<rusqlite::Result<Vec<bool>>>()
                        .map_err(store_err)?;
                    let pairs = DayCap::taking_room(&rows, &recorded)
                        .map(|r| (r.volunteer, r.service_date));
                    let used = day_minutes_of(tx, pairs).map_err(store_err)?;
                    cap.admit(&rows, &recorded, &used)
                }
                None => vec![None; rows.len()],
            };
            let mut out = Vec::with_capacity(rows.len());
            // Totals are summed per volunteer and year and written once each.
            let mut totals: HashMap<(VolunteerId, i32), (i64, i64, Date)> = HashMap::new();
            let mut stmt = tx.prepare_cached(INSERT).map_err(store_err)?;
            for (r, decided) in rows.iter().zip(decided) {
                if let Some(outcome) = decided {
                    out.push(outcome);
                    continue;
                }
                let inserted = execute_insert(tx, &mut stmt, r, None).map_err(store_err)?;
                if inserted == 0 {
                    out.push(BatchOutcome::Duplicate);
                    continue;
                }
                let id = RecordId(tx.last_insert_rowid());
                out.push(BatchOutcome::Inserted(id));
                log_record(tx, id, None, r)?;
                if r.status == RecordStatus::Effective {
                    let t = totals
                        .entry((r.volunteer, r.service_date.year()))
                        .or_insert((0, 0, r.service_date));
                    t.0 += r.minutes;
                    t.1 += 1;
                }
            }
            drop(stmt);
            for ((volunteer, _), (minutes, records, day)) in totals {
                count(tx, volunteer, day, minutes, records)?;
            }
            write_audit(tx, &audit, None)?;
            Ok(out)
        })
        .await
    }

    async fn get_record(&self, id: RecordId) -> Result<Option<RecordRow>> {
        self.lookup(move |c| get(c, id.0)).await
    }

    async fn decide_record(
        &self,
        id: RecordId,
        status: RecordStatus,
        by: Option<AccountId>,
        at: OffsetDateTime,
        cap: DayCap,
        audit: &AuditEntry,
    ) -> Result<RecordRow> {
        let audit = audit.clone();
        self.write(move |tx| {
            let changed = tx
                .execute(
                    "UPDATE service_records SET status = ?2, decided_at = ?3, decided_by = ?4
                     WHERE id = ?1 AND status = 'pending' AND is_current = 1",
                    params![id.0, status.as_str(), micros(at), by.map(|a| a.0)],
                )
                .map_err(store_err)?;
            if changed != 1 {
                return Err(StoreError::Conflict { field: "status" });
            }
            let row = get(tx, id.0)
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)?;
            if status == RecordStatus::Effective {
                count(
                    tx,
                    row.record.volunteer,
                    row.record.service_date,
                    row.record.minutes,
                    1,
                )?;
                within_cap(tx, row.record.volunteer, row.record.service_date, cap)?;
                let content = record_content(row.id, row.origin, row.revision, &row.record);
                ledger::append_if(tx, LedgerKind::Record, row.id.0, content)?;
            }
            write_audit(tx, &audit, None)?;
            Ok(row)
        })
        .await
    }

    async fn list_records(&self, q: &RecordQuery, page: &PageRequest) -> Result<Page<RecordRow>> {
        let volunteer = q.volunteer.map(|v| v.0);
        let org = q.org.map(|o| o.0);
        let status = q.status.map(RecordStatus::as_str);
        let current = q.current_only;
        let before = page.after.as_ref().map_or(i64::MAX, |c| c.key(0));
        let limit = page.limit;
        let sql = list_sql(volunteer.is_some(), org.is_some());
        self.read(move |c| {
            let rows = c
                .prepare_cached(&sql)?
                .query_map(
                    params![before, volunteer, org, status, current, limit + 1],
                    from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |r| vec![r.id.0]))
        })
        .await
    }

    async fn totals(&self, volunteer: VolunteerId, year: i32) -> Result<Totals> {
        self.lookup(move |c| {
            let (minutes, records) = c
                .prepare_cached(
                    "SELECT minutes, records FROM volunteer_totals WHERE volunteer_id = ?1",
                )?
                .query_row([volunteer.0], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
                .unwrap_or((0, 0));
            let (year_minutes, year_records) = c
                .prepare_cached(
                    "SELECT minutes, records FROM volunteer_year_totals
                     WHERE volunteer_id = ?1 AND year = ?2",
                )?
                .query_row(params![volunteer.0, year], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
                .unwrap_or((0, 0));
            Ok(Totals {
                minutes,
                records,
                year,
                year_minutes,
                year_records,
            })
        })
        .await
    }

    async fn unrecorded_shifts(
        &self,
        org: Option<OrgId>,
        within: Option<RegionCode>,
        ended_before: OffsetDateTime,
        unflagged: bool,
        limit: u32,
    ) -> Result<Vec<UnrecordedShift>> {
        let (lo, hi) = within.map_or((0, i64::MAX), RegionCode::subtree);
        let org = org.map(|o| o.0);
        self.read(move |c| {
            c.prepare_cached(&unrecorded_sql(org.is_some(), unflagged))?
                .query_map(params![micros(ended_before), org, lo, hi, limit], |row| {
                    Ok(UnrecordedShift {
                        shift: shift_at(row, 0)?,
                        project_name: row.get(9)?,
                        org: OrgId(row.get(10)?),
                        region: region(row, 11)?,
                        missing: row.get(12)?,
                    })
                })?
                .collect()
        })
        .await
    }

    async fn day_minutes(&self, volunteer: VolunteerId, day: Date) -> Result<i64> {
        self.lookup(move |c| day_minutes_on(c, volunteer, day))
            .await
    }

    async fn flag_overdue(&self, shift: ShiftId, audit: &AuditEntry) -> Result<bool> {
        let audit = audit.clone();
        self.write(move |tx| {
            let flagged = tx
                .prepare_cached(
                    "UPDATE shifts SET overdue_flagged = 1 WHERE id = ?1 AND overdue_flagged = 0",
                )
                .and_then(|mut q| q.execute([shift.0]))
                .map_err(store_err)?
                == 1;
            if flagged {
                write_audit(tx, &audit, None)?;
            }
            Ok(flagged)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use crate::SqliteStore;

    /// Uploads and the seed insert records one statement each, by the hundred thousand in
    /// one transaction. A trigger on inserts into `service_records` would give each of
    /// them a statement journal whose release walks the whole transaction's journal: an
    /// upload of 100,000 rows took 43–270 s with one instead of 1.6 s (PERFORMANCE.md,
    /// issue 3's seventeenth round). What such a trigger would do belongs in
    /// [`super::execute_insert`].
    #[tokio::test]
    async fn nothing_fires_on_an_insert_into_service_records() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("records.db").display());
        let store = SqliteStore::open(&url).await.expect("open");
        let triggers = store
            .read(|c| {
                c.prepare(
                    "SELECT name, sql LIKE '%INSERT ON%' FROM sqlite_schema
                     WHERE type = 'trigger' AND tbl_name = 'service_records'",
                )?
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .await
            .expect("read the schema");
        // The trigger on updates stays: those are writes of one statement.
        assert_eq!(triggers, [("records_remark_signup".to_owned(), false)]);
    }
}
