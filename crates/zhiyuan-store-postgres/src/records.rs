//! Service records and the running totals they keep exact. Every path that makes a record
//! count goes through [`insert_row`] / [`count`], in the same transaction.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use futures::{StreamExt, TryStreamExt};
use time::{Date, OffsetDateTime};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use zhiyuan_domain::ids::{AccountId, OrgId, VolunteerId};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_store::{
    AuditEntry, BatchOutcome, DayCap, NewRecord, Page, PageRequest, ProjectId, RecordId,
    RecordQuery, RecordRow, RecordSource, RecordStatus, RecordStore, Result, ShiftId, StoreError,
    Totals, UnrecordedShift,
};

use zhiyuan_store::ledger::{LedgerKind, record_content};

use crate::PgStore;
use crate::conv::{
    conv, draw_ids, eq_filter, get, json, pg_err, to_json, within_filter, write_audit,
    write_audited,
};
use crate::ledger;
use crate::projects::shift_at;

const COLUMNS: &str = "id, origin_id, revision, is_current, volunteer_id, org_id, project_id,
    shift_id, activity_name, service_date, place, content, minutes, responsible_person, source,
    status, flags, dedupe_key, created_at, created_by, decided_at, decided_by";

/// Records newest first, by volunteer and/or team (see [`eq_filter`]).
pub(crate) fn list_sql(by_volunteer: bool, by_org: bool) -> String {
    format!(
        "SELECT {COLUMNS} FROM service_records
         WHERE id < $1 AND {} AND {} AND ($4::TEXT IS NULL OR status = $4)
           AND (NOT $5 OR is_current)
         ORDER BY id DESC LIMIT $6",
        eq_filter("volunteer_id", 2, "BIGINT", by_volunteer),
        eq_filter("org_id", 3, "BIGINT", by_org),
    )
}

/// Records in id order after `$1`, `$2` of them, for the ledger audit.
pub(crate) fn page_after_sql() -> String {
    format!("SELECT {COLUMNS} FROM service_records WHERE id > $1 ORDER BY id LIMIT $2")
}

pub(crate) fn from_row(row: &Row) -> Result<RecordRow> {
    Ok(RecordRow {
        id: RecordId(get(row, 0)?),
        origin: get::<Option<i64>>(row, 1)?.map(RecordId),
        revision: get(row, 2)?,
        is_current: get(row, 3)?,
        record: NewRecord {
            volunteer: VolunteerId(get(row, 4)?),
            org: OrgId(get(row, 5)?),
            project: get::<Option<i64>>(row, 6)?.map(ProjectId),
            shift: get::<Option<i64>>(row, 7)?.map(ShiftId),
            activity_name: get(row, 8)?,
            service_date: get(row, 9)?,
            place: get(row, 10)?,
            content: get(row, 11)?,
            minutes: get(row, 12)?,
            responsible_person: get(row, 13)?,
            source: conv(row, 14, |s: &str| RecordSource::parse(s))?,
            status: conv(row, 15, |s: &str| RecordStatus::parse(s))?,
            flags: json(row, 16)?,
            dedupe_key: get(row, 17)?,
            created_at: get(row, 18)?,
            created_by: get::<Option<i64>>(row, 19)?.map(AccountId),
        },
        decided_at: get(row, 20)?,
        decided_by: get::<Option<i64>>(row, 21)?.map(AccountId),
    })
}

pub(crate) async fn fetch(c: &impl GenericClient, id: i64) -> Result<Option<RecordRow>> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM service_records WHERE id = $1"
        ))
        .await
        .map_err(pg_err)?;
    let row = c.query_opt(&stmt, &[&id]).await.map_err(pg_err)?;
    row.as_ref().map(from_row).transpose()
}

/// Adds (or, with negative values, removes) minutes and records to a volunteer's totals.
pub(crate) async fn count(
    c: &impl GenericClient,
    volunteer: VolunteerId,
    day: Date,
    minutes: i64,
    records: i64,
) -> Result<()> {
    count_many(
        c,
        &HashMap::from([((volunteer, day.year()), (minutes, records))]),
    )
    .await
}

/// Inserts a record; an entry whose dedupe key exists is skipped (no row returned).
const INSERT: &str = "INSERT INTO service_records (origin_id, revision, volunteer_id, org_id,
        project_id, shift_id, activity_name, service_date, place, content, minutes,
        responsible_person, source, status, flags, dedupe_key, created_at, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
     ON CONFLICT (dedupe_key) DO NOTHING
     RETURNING id";

/// Rows per bulk statement.
const BULK_CHUNK: usize = 10_000;

/// Inserts new records (no earlier versions) under the ids given, skipping duplicate
/// entries, and the ledger entries of those inserted, in one statement; returns the ids
/// inserted.
async fn bulk_insert(c: &impl GenericClient, ids: &[i64], rows: &[&NewRecord]) -> Result<Vec<i64>> {
    let stmt = c
        .prepare_cached(
            "WITH inserted AS (
                INSERT INTO service_records (id, volunteer_id, org_id, project_id, shift_id,
                    activity_name, service_date, place, content, minutes, responsible_person,
                    source, status, flags, dedupe_key, created_at, created_by)
                SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[],
                    $5::BIGINT[], $6::TEXT[], $7::DATE[], $8::TEXT[], $9::TEXT[], $10::BIGINT[],
                    $11::TEXT[], $12::TEXT[], $13::TEXT[], $14::JSONB[], $15::TEXT[],
                    $16::TIMESTAMPTZ[], $17::BIGINT[])
                ON CONFLICT (dedupe_key) DO NOTHING
                RETURNING id
             ), logged AS (
                INSERT INTO ledger_entries (kind, subject_id, salt, commitment, created_at)
                SELECT $18, s, salt, c, $22
                FROM UNNEST($19::BIGINT[], $20::BYTEA[], $21::BYTEA[]) AS u(s, salt, c)
                WHERE s IN (SELECT id FROM inserted)
                ON CONFLICT (kind, subject_id) DO NOTHING
             )
             SELECT id FROM inserted",
        )
        .await
        .map_err(pg_err)?;
    // Sealed for every row; a duplicate's entry is left out by the statement.
    let logged: Vec<(i64, Vec<u8>)> = rows
        .iter()
        .zip(ids)
        .filter_map(|(r, id)| record_content(RecordId(*id), None, 1, r).map(|c| (*id, c)))
        .collect();
    let sealed = ledger::Sealed::new(LedgerKind::Record, &logged);
    let (kind, subjects, salts, commitments) = sealed.params();
    let col = |f: fn(&NewRecord) -> Option<i64>| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
    let text = |f: fn(&NewRecord) -> &str| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
    let flags: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| serde_json::to_value(&r.flags).unwrap_or_default())
        .collect();
    let dates: Vec<Date> = rows.iter().map(|r| r.service_date).collect();
    let created: Vec<OffsetDateTime> = rows.iter().map(|r| r.created_at).collect();
    let keys: Vec<Option<&str>> = rows.iter().map(|r| r.dedupe_key.as_deref()).collect();
    let inserted = c
        .query(
            &stmt,
            &[
                &ids,
                &col(|r| Some(r.volunteer.0)),
                &col(|r| Some(r.org.0)),
                &col(|r| r.project.map(|p| p.0)),
                &col(|r| r.shift.map(|s| s.0)),
                &text(|r| &r.activity_name),
                &dates,
                &text(|r| &r.place),
                &text(|r| &r.content),
                &col(|r| Some(r.minutes)),
                &text(|r| &r.responsible_person),
                &text(|r| r.source.as_str()),
                &text(|r| r.status.as_str()),
                &flags,
                &keys,
                &created,
                &col(|r| r.created_by.map(|a| a.0)),
                &kind,
                &subjects,
                &salts,
                &commitments,
                &OffsetDateTime::now_utc(),
            ],
        )
        .await
        .map_err(pg_err)?;
    inserted.iter().map(|r| get(r, 0)).collect()
}

/// Writes new records (no earlier versions, no dedupe keys) under the ids given, with
/// their totals and ledger entries, pipelined on the caller's transaction.
pub(crate) async fn insert_new(
    c: &impl GenericClient,
    ids: &[i64],
    rows: &[&NewRecord],
) -> Result<()> {
    let totals = totals_of(rows.iter().copied());
    let (inserted, ()) = futures::try_join!(bulk_insert(c, ids, rows), count_many(c, &totals))?;
    match inserted.len() == rows.len() {
        true => Ok(()),
        false => Err(StoreError::Conflict {
            field: "dedupe_key",
        }),
    }
}

/// What `rows` add to their volunteers' totals, per (volunteer, year): minutes and
/// records (effective ones only).
fn totals_of<'a>(
    rows: impl Iterator<Item = &'a NewRecord>,
) -> HashMap<(VolunteerId, i32), (i64, i64)> {
    let mut totals: HashMap<(VolunteerId, i32), (i64, i64)> = HashMap::new();
    for r in rows.filter(|r| r.status == RecordStatus::Effective) {
        let t = totals
            .entry((r.volunteer, r.service_date.year()))
            .or_default();
        t.0 += r.minutes;
        t.1 += 1;
    }
    totals
}

/// Adds to many volunteers' totals at once: minutes and records per (volunteer, year).
async fn count_many(
    c: &impl GenericClient,
    totals: &HashMap<(VolunteerId, i32), (i64, i64)>,
) -> Result<()> {
    if totals.is_empty() {
        return Ok(());
    }
    // Rows in key order, so that two transactions adding to the same volunteers lock
    // their totals in the same order and cannot deadlock.
    let mut sorted: Vec<_> = totals.iter().collect();
    sorted.sort_by_key(|((volunteer, year), _)| (volunteer.0, *year));
    let mut all: std::collections::BTreeMap<i64, (i64, i64)> = Default::default();
    let (mut v, mut y, mut m, mut n) = (vec![], vec![], vec![], vec![]);
    for (&(volunteer, year), &(minutes, records)) in sorted {
        let t = all.entry(volunteer.0).or_default();
        t.0 += minutes;
        t.1 += records;
        v.push(volunteer.0);
        y.push(i64::from(year));
        m.push(minutes);
        n.push(records);
    }
    let (mut av, mut am, mut an) = (vec![], vec![], vec![]);
    for (volunteer, (minutes, records)) in all {
        av.push(volunteer);
        am.push(minutes);
        an.push(records);
    }
    let stmt = c
        .prepare_cached(
            "INSERT INTO volunteer_totals (volunteer_id, minutes, records)
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[])
             ON CONFLICT (volunteer_id) DO UPDATE SET
                minutes = volunteer_totals.minutes + excluded.minutes,
                records = volunteer_totals.records + excluded.records",
        )
        .await
        .map_err(pg_err)?;
    let year_stmt = c
        .prepare_cached(
            "INSERT INTO volunteer_year_totals (volunteer_id, year, minutes, records)
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[])
             ON CONFLICT (volunteer_id, year) DO UPDATE SET
                minutes = volunteer_year_totals.minutes + excluded.minutes,
                records = volunteer_year_totals.records + excluded.records",
        )
        .await
        .map_err(pg_err)?;
    // Pipelined on the one connection.
    let (all_years, by_year): ([&(dyn ToSql + Sync); 3], [&(dyn ToSql + Sync); 4]) =
        ([&av, &am, &an], [&v, &y, &m, &n]);
    futures::try_join!(
        c.execute(&stmt, &all_years),
        c.execute(&year_stmt, &by_year),
    )
    .map_err(pg_err)?;
    Ok(())
}

/// Runs [`INSERT`] for record `r`, a version of `origin`: the new id, or `None` for a
/// duplicate entry.
async fn execute_insert(
    c: &impl GenericClient,
    stmt: &tokio_postgres::Statement,
    r: &NewRecord,
    origin: Option<(RecordId, i64)>,
) -> Result<Option<i64>> {
    let row = c
        .query_opt(
            stmt,
            &[
                &origin.map(|o| o.0.0),
                &origin.map_or(1, |o| o.1),
                &r.volunteer.0,
                &r.org.0,
                &r.project.map(|p| p.0),
                &r.shift.map(|s| s.0),
                &r.activity_name,
                &r.service_date,
                &r.place,
                &r.content,
                &r.minutes,
                &r.responsible_person,
                &r.source.as_str(),
                &r.status.as_str(),
                &to_json(&r.flags),
                &r.dedupe_key,
                &r.created_at,
                &r.created_by.map(|a| a.0),
            ],
        )
        .await
        .map_err(pg_err)?;
    row.map(|row| get(&row, 0)).transpose()
}

/// Writes a record (a first version, or a new version of `origin`) and counts it when it
/// is effective. Conflict on `dedupe_key` when the entry was recorded before; refused when
/// it takes its day over `cap`.
pub(crate) async fn insert_row(
    c: &impl GenericClient,
    r: &NewRecord,
    origin: Option<(RecordId, i64)>,
    cap: DayCap,
) -> Result<i64> {
    let stmt = c.prepare_cached(INSERT).await.map_err(pg_err)?;
    // Pipelined on the one connection: a duplicate fails the caller's transaction, so
    // the totals counted with it are never committed.
    let (id, ()) = futures::try_join!(
        async {
            execute_insert(c, &stmt, r, origin)
                .await?
                .ok_or(StoreError::Conflict {
                    field: "dedupe_key",
                })
        },
        async {
            match r.status {
                RecordStatus::Effective => {
                    count(c, r.volunteer, r.service_date, r.minutes, 1).await
                }
                _ => Ok(()),
            }
        },
    )?;
    if r.status == RecordStatus::Effective {
        within_cap(c, &[(r.volunteer, r.service_date)], cap).await?;
    }
    let content = record_content(
        RecordId(id),
        origin.map(|o| o.0),
        origin.map_or(1, |o| o.1),
        r,
    );
    ledger::append_if(c, LedgerKind::Record, id, content).await?;
    Ok(id)
}

/// Shifts that ended before `$1` with accepted volunteers but no effective record, of a
/// team or a region, read from the sign-ups still unrecorded (migration 0020): a team's
/// report from its projects' shifts, a jurisdiction's oldest first. A sign-up carries its
/// shift's end; the team's report reads the shift's, so that its plan cannot walk every
/// sign-up still unrecorded in the province (in the generic plan it did). With
/// `unflagged`, from the sign-ups whose shift was not flagged while they were owed
/// (migration 0026), so that housekeeping never walks the ones flagged before.
pub(crate) fn unrecorded_sql(by_org: bool, within: bool, unflagged: bool) -> String {
    let ends = if by_org { "sh.ends_at" } else { "s.ends_at" };
    let unflagged = if unflagged {
        " AND NOT s.overdue_flagged"
    } else {
        ""
    };
    format!(
        "SELECT sh.id, sh.project_id, sh.position, sh.starts_at, sh.ends_at, sh.capacity,
            sh.accepted, sh.cancelled, sh.version, p.name, p.org_id, p.region_code, count(*)
         FROM signups s
         JOIN shifts sh ON sh.id = s.shift_id
         JOIN projects p ON p.id = sh.project_id
         WHERE s.status = 'accepted' AND NOT s.recorded AND {ends} < $1
           AND NOT sh.cancelled AND {}{unflagged}
           AND {}
         GROUP BY {ends}, sh.id, p.id
         ORDER BY {ends}, sh.id LIMIT $5",
        eq_filter("p.org_id", 2, "BIGINT", by_org),
        within_filter("p.region_code", 3, 4, within),
    )
}

#[async_trait]
impl RecordStore for PgStore {
    async fn insert_record(
        &self,
        r: &NewRecord,
        cap: DayCap,
        audit: &AuditEntry,
    ) -> Result<RecordRow> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let id = insert_row(&tx, r, None, cap).await?;
        write_audit(&tx, audit, Some(id.to_string())).await?;
        let row = fetch(&tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(row)
    }

    async fn insert_records(
        &self,
        rows: Vec<NewRecord>,
        cap: Option<DayCap>,
        audit: &AuditEntry,
    ) -> Result<Vec<BatchOutcome>> {
        // Every statement here takes arrays whose plan does not depend on their values.
        let mut client = self.batch_client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let decided = match cap {
            Some(cap) => {
                let keys: Vec<&str> = rows
                    .iter()
                    .filter_map(|r| r.dedupe_key.as_deref())
                    .collect();
                let recorded_of = |found: HashSet<String>| -> Vec<bool> {
                    rows.iter()
                        .map(|r| r.dedupe_key.as_ref().is_some_and(|k| found.contains(k)))
                        .collect()
                };
                let recorded = recorded_of(recorded_keys(&tx, &keys).await?);
                // The volunteers' totals of the rows that take room are locked before what
                // their days hold is read, so that no other write can add to those days
                // until this one commits; a file uploaded again locks and reads nothing.
                let counting: Vec<&NewRecord> = DayCap::taking_room(&rows, &recorded).collect();
                let mut volunteers: Vec<i64> = counting.iter().map(|r| r.volunteer.0).collect();
                volunteers.sort_unstable();
                volunteers.dedup();
                let used = match volunteers.is_empty() {
                    true => HashMap::new(),
                    false => {
                        lock_totals(&tx, &volunteers).await?;
                        let pairs: Vec<(VolunteerId, Date)> = counting
                            .iter()
                            .map(|r| (r.volunteer, r.service_date))
                            .collect();
                        day_minutes_of(&tx, &pairs).await?
                    }
                };
                let decided = cap.admit(&rows, &recorded, &used);
                // A write that committed while this one waited for the locks (the same
                // file sent twice at once) may have recorded some of these rows: their
                // minutes are in `used` now, and they are duplicates, not over the cap.
                // Asked again, after the locks, before any row is refused.
                match decided.contains(&Some(BatchOutcome::OverCap)) {
                    true => {
                        let recorded = recorded_of(recorded_keys(&tx, &keys).await?);
                        cap.admit(&rows, &recorded, &used)
                    }
                    false => decided,
                }
            }
            None => vec![None; rows.len()],
        };
        let admitted: Vec<&NewRecord> = rows
            .iter()
            .zip(&decided)
            .filter_map(|(r, decided)| decided.is_none().then_some(r))
            .collect();
        // Ids are drawn first, so that the ids the inserts return say which rows went in
        // (the others were duplicates) whatever order the server returns them in, and so
        // that each row's ledger entry goes in the same statement as the row.
        let ids = draw_ids(&tx, "service_records", admitted.len()).await?;
        // A statement per chunk, sent back to back: the next chunk is sealed and sent
        // while the server writes the one before.
        let mut writes = Vec::new();
        for (rows, ids) in admitted.chunks(BULK_CHUNK).zip(ids.chunks(BULK_CHUNK)) {
            writes.push(bulk_insert(&tx, ids, rows));
        }
        let chunks: Vec<Vec<i64>> = futures::stream::iter(writes)
            .buffered(2)
            .try_collect()
            .await?;
        let inserted: HashSet<i64> = chunks.into_iter().flatten().collect();
        let went_in = |id: &i64| inserted.contains(id);
        let totals = totals_of(
            admitted
                .iter()
                .zip(&ids)
                .filter(|(_, id)| went_in(id))
                .map(|(r, _)| *r),
        );
        futures::try_join!(count_many(&tx, &totals), write_audit(&tx, audit, None))?;
        tx.commit().await.map_err(pg_err)?;
        let mut ids = ids.iter();
        let out = decided
            .into_iter()
            .map(|decided| match decided {
                Some(outcome) => outcome,
                None => match ids.next() {
                    Some(id) if went_in(id) => BatchOutcome::Inserted(RecordId(*id)),
                    _ => BatchOutcome::Duplicate,
                },
            })
            .collect();
        Ok(out)
    }

    async fn get_record(&self, id: RecordId) -> Result<Option<RecordRow>> {
        fetch(&self.client().await?, id.0).await
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
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let changed = tx
            .execute(
                &tx.prepare_cached(
                    "UPDATE service_records SET status = $2, decided_at = $3, decided_by = $4
                 WHERE id = $1 AND status = 'pending' AND is_current",
                )
                .await
                .map_err(pg_err)?,
                &[&id.0, &status.as_str(), &at, &by.map(|a| a.0)],
            )
            .await
            .map_err(pg_err)?;
        if changed != 1 {
            return Err(StoreError::Conflict { field: "status" });
        }
        let row = fetch(&tx, id.0).await?.ok_or(StoreError::NotFound)?;
        if status == RecordStatus::Effective {
            count(
                &tx,
                row.record.volunteer,
                row.record.service_date,
                row.record.minutes,
                1,
            )
            .await?;
            within_cap(&tx, &[(row.record.volunteer, row.record.service_date)], cap).await?;
            let content = record_content(row.id, row.origin, row.revision, &row.record);
            ledger::append_if(&tx, LedgerKind::Record, row.id.0, content).await?;
        }
        write_audit(&tx, audit, None).await?;
        tx.commit().await.map_err(pg_err)?;
        Ok(row)
    }

    async fn list_records(&self, q: &RecordQuery, page: &PageRequest) -> Result<Page<RecordRow>> {
        let before = page.after.as_ref().map_or(i64::MAX, |c| c.key(0));
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&list_sql(q.volunteer.is_some(), q.org.is_some()))
            .await
            .map_err(pg_err)?;
        let rows = client
            .query(
                &stmt,
                &[
                    &before,
                    &q.volunteer.map(|v| v.0),
                    &q.org.map(|o| o.0),
                    &q.status.map(RecordStatus::as_str),
                    &q.current_only,
                    &(i64::from(page.limit) + 1),
                ],
            )
            .await
            .map_err(pg_err)?;
        let items = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |r| vec![r.id.0]))
    }

    async fn totals(&self, volunteer: VolunteerId, year: i32) -> Result<Totals> {
        totals_on(&self.client().await?, volunteer, year).await
    }

    async fn unrecorded_shifts(
        &self,
        org: Option<OrgId>,
        within: Option<RegionCode>,
        ended_before: OffsetDateTime,
        unflagged: bool,
        limit: u32,
    ) -> Result<Vec<UnrecordedShift>> {
        let (lo, hi) = within.map(RegionCode::subtree).unzip();
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&unrecorded_sql(org.is_some(), within.is_some(), unflagged))
            .await
            .map_err(pg_err)?;
        let rows = client
            .query(
                &stmt,
                &[
                    &ended_before,
                    &org.map(|o| o.0),
                    &lo,
                    &hi,
                    &i64::from(limit),
                ],
            )
            .await
            .map_err(pg_err)?;
        rows.iter()
            .map(|row| {
                Ok(UnrecordedShift {
                    shift: shift_at(row, 0)?,
                    project_name: get(row, 9)?,
                    org: OrgId(get(row, 10)?),
                    region: crate::conv::region(row, 11)?,
                    missing: get(row, 12)?,
                })
            })
            .collect()
    }

    async fn flag_overdue(&self, shift: ShiftId, audit: &AuditEntry) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let written = write_audited(
            &tx,
            "UPDATE shifts SET overdue_flagged = TRUE WHERE id = $1 AND NOT overdue_flagged
             RETURNING id",
            &[&shift.0],
            audit,
        )
        .await?;
        // Also when another server flagged the shift, or a sign-up became owed again
        // after it was (an absence withdrawn): each is read once more, not forever.
        let mark = tx
            .prepare_cached(
                "UPDATE signups SET overdue_flagged = TRUE
                 WHERE shift_id = $1 AND status = 'accepted' AND NOT recorded
                   AND NOT overdue_flagged",
            )
            .await
            .map_err(pg_err)?;
        tx.execute(&mark, &[&shift.0]).await.map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(written.is_some())
    }

    async fn day_minutes(&self, volunteer: VolunteerId, day: Date) -> Result<i64> {
        let store = self.clone();
        let minutes = self
            .day_minutes
            .get((volunteer, day), move |pairs| async move {
                day_minutes_of(&store.batch_client().await?, &pairs).await
            })
            .await?;
        // No effective record that day: nothing given yet.
        Ok(minutes.unwrap_or(0))
    }
}

/// Which of the entry keys `keys` are recorded.
async fn recorded_keys(c: &impl GenericClient, keys: &[&str]) -> Result<HashSet<String>> {
    if keys.is_empty() {
        return Ok(HashSet::new());
    }
    let stmt = c
        .prepare_cached("SELECT dedupe_key FROM service_records WHERE dedupe_key = ANY($1)")
        .await
        .map_err(pg_err)?;
    let rows = c.query(&stmt, &[&keys]).await.map_err(pg_err)?;
    rows.iter().map(|r| get(r, 0)).collect()
}

/// Locks the totals rows of `volunteers` (in that order: sorted, so that two writers cannot
/// deadlock), creating those missing. Every write that adds effective minutes locks them
/// (here, or by counting them in [`count_many`]) before it reads what a day holds, and a
/// statement that follows the lock sees every write that held it committed.
async fn lock_totals(c: &impl GenericClient, volunteers: &[i64]) -> Result<()> {
    let ensure = c
        .prepare_cached(
            "INSERT INTO volunteer_totals (volunteer_id, minutes, records)
             SELECT v, 0, 0 FROM unnest($1::BIGINT[]) v ORDER BY v
             ON CONFLICT (volunteer_id) DO NOTHING",
        )
        .await
        .map_err(pg_err)?;
    let lock = c
        .prepare_cached(
            "SELECT volunteer_id FROM volunteer_totals WHERE volunteer_id = ANY($1)
             ORDER BY volunteer_id FOR UPDATE",
        )
        .await
        .map_err(pg_err)?;
    // Two statements, so that the lock's snapshot sees rows another writer created while
    // this one waited for them.
    c.execute(&ensure, &[&volunteers]).await.map_err(pg_err)?;
    c.execute(&lock, &[&volunteers]).await.map_err(pg_err)?;
    Ok(())
}

/// Refuses the transaction's writes when any (volunteer, day) of `pairs`, with what they
/// wrote, holds more than `cap`. Run after the volunteers' totals are locked (which
/// counting the writes did), it sees every other write to those days committed.
pub(crate) async fn within_cap(
    c: &impl GenericClient,
    pairs: &[(VolunteerId, Date)],
    cap: DayCap,
) -> Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    let used = day_minutes_of(c, pairs).await?;
    match used.into_iter().find(|(_, minutes)| *minutes > cap.0) {
        Some(((_, day), _)) => Err(cap.refusal(day)),
        None => Ok(()),
    }
}

/// The effective minutes each (volunteer, day) of `pairs` already has; pairs without any
/// are left out.
async fn day_minutes_of(
    c: &impl GenericClient,
    pairs: &[(VolunteerId, Date)],
) -> Result<HashMap<(VolunteerId, Date), i64>> {
    let (volunteers, days): (Vec<i64>, Vec<Date>) = pairs.iter().map(|(v, d)| (v.0, *d)).unzip();
    let stmt = c
        .prepare_cached(
            "SELECT r.volunteer_id, r.service_date, sum(r.minutes)::BIGINT
             FROM (SELECT DISTINCT * FROM UNNEST($1::BIGINT[], $2::DATE[]))
                AS k(volunteer_id, service_date)
             JOIN service_records r ON r.volunteer_id = k.volunteer_id
                AND r.service_date = k.service_date
             WHERE r.is_current AND r.status = 'effective'
             GROUP BY r.volunteer_id, r.service_date",
        )
        .await
        .map_err(pg_err)?;
    let rows = c
        .query(&stmt, &[&volunteers, &days])
        .await
        .map_err(pg_err)?;
    rows.iter()
        .map(|r| Ok(((VolunteerId(get(r, 0)?), get(r, 1)?), get(r, 2)?)))
        .collect()
}

/// A volunteer's totals, with `year`'s.
pub(crate) async fn totals_on(
    client: &impl GenericClient,
    volunteer: VolunteerId,
    year: i32,
) -> Result<Totals> {
    let stmt = client
        .prepare_cached(
            "SELECT t.minutes, t.records, y.minutes, y.records
             FROM (SELECT $1::BIGINT AS volunteer_id) k
             LEFT JOIN volunteer_totals t ON t.volunteer_id = k.volunteer_id
             LEFT JOIN volunteer_year_totals y
                ON y.volunteer_id = k.volunteer_id AND y.year = $2",
        )
        .await
        .map_err(pg_err)?;
    let row = client
        .query_one(&stmt, &[&volunteer.0, &i64::from(year)])
        .await
        .map_err(pg_err)?;
    Ok(Totals {
        minutes: get::<Option<i64>>(&row, 0)?.unwrap_or(0),
        records: get::<Option<i64>>(&row, 1)?.unwrap_or(0),
        year,
        year_minutes: get::<Option<i64>>(&row, 2)?.unwrap_or(0),
        year_records: get::<Option<i64>>(&row, 3)?.unwrap_or(0),
    })
}
