//! Attendance: check-in, and check-out together with the service record it produces.
//! Check-ins and check-outs are group-committed as sign-ups are (see [`crate::signups`]).

use std::collections::HashMap;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use zhiyuan_domain::ids::VolunteerId;
use zhiyuan_store::{
    AttendanceId, AttendanceMethod, AttendanceRecord, AttendanceStore, AuditEntry, DayCap,
    NewAttendance, NewRecord, RecordId, RecordStatus, Result, ShiftId, StoreError,
};

use crate::PgStore;
use crate::conn::KEY_PAIRS;
use crate::conv::{
    AUDIT_INSERT, AuditColumns, audit_arrays, conv, draw_ids, get, pg_err, write_audits,
};
use crate::records::{insert_new, within_cap};

const COLUMNS: &str = "id, shift_id, volunteer_id, checked_in_at, check_in_method, distance_m,
    checked_out_at, check_out_method, auto_closed, record_id, version";

fn from_row(row: &Row) -> Result<AttendanceRecord> {
    Ok(AttendanceRecord {
        id: AttendanceId(get(row, 0)?),
        shift: ShiftId(get(row, 1)?),
        volunteer: VolunteerId(get(row, 2)?),
        checked_in_at: get(row, 3)?,
        check_in_method: conv(row, 4, |s: &str| AttendanceMethod::parse(s))?,
        distance_m: get(row, 5)?,
        checked_out_at: get(row, 6)?,
        check_out_method: get::<Option<String>>(row, 7)?.and_then(|s| AttendanceMethod::parse(&s)),
        auto_closed: get(row, 8)?,
        record: get::<Option<i64>>(row, 9)?.map(RecordId),
        version: get(row, 10)?,
    })
}

async fn find(
    c: &impl GenericClient,
    shift: i64,
    volunteer: i64,
) -> Result<Option<AttendanceRecord>> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM attendance WHERE shift_id = $1 AND volunteer_id = $2"
        ))
        .await
        .map_err(pg_err)?;
    let row = c
        .query_opt(&stmt, &[&shift, &volunteer])
        .await
        .map_err(pg_err)?;
    row.as_ref().map(from_row).transpose()
}

/// A check-out waiting for its group commit.
pub(crate) struct CheckOutRequest {
    attendance: AttendanceRecord,
    at: OffsetDateTime,
    method: AttendanceMethod,
    auto_closed: bool,
    record: NewRecord,
    cap: DayCap,
    audit: AuditEntry,
}

/// A check-in waiting for its group commit.
pub(crate) struct CheckInRequest {
    attendance: NewAttendance,
    audit: AuditEntry,
}

impl PgStore {
    /// Check-ins of distinct volunteers in one statement (atomic without a transaction):
    /// the new ones inserted and audited; one repeated is left as it was and returned as it
    /// is, unchanged; one without an accepted sign-up refused. The sign-ups are locked
    /// `FOR KEY SHARE`, which waits for a status change in progress (a change of status
    /// locks the sign-up `FOR UPDATE` first) and then sees its outcome; a change that
    /// comes after waits for the check-in and then sees it.
    async fn check_in_together(
        &self,
        requests: &[&CheckInRequest],
    ) -> Result<Vec<Result<(AttendanceRecord, bool)>>> {
        let client = self.batch_client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "WITH d AS (
                    SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[], $3::TIMESTAMPTZ[],
                        $4::TEXT[], $5::BIGINT[], {audits})
                    AS d(d_shift, d_volunteer, d_at, d_method, d_distance, a_at, a_actor,
                        a_request, a_action, a_subject_type, a_subject, a_region, a_reason,
                        a_details)),
                 accepted AS (
                    SELECT s.shift_id, s.volunteer_id FROM signups s
                    JOIN d ON s.shift_id = d_shift AND s.volunteer_id = d_volunteer
                    WHERE s.status = 'accepted' FOR KEY SHARE OF s),
                 written AS (
                    INSERT INTO attendance (shift_id, volunteer_id, checked_in_at,
                        check_in_method, distance_m)
                    SELECT d_shift, d_volunteer, d_at, d_method, d_distance
                    FROM d JOIN accepted ON shift_id = d_shift AND volunteer_id = d_volunteer
                    ON CONFLICT (shift_id, volunteer_id) DO NOTHING RETURNING {COLUMNS}),
                 audited AS ({AUDIT_INSERT}
                    SELECT a_at, a_actor, a_request, a_action, a_subject_type, written.id::TEXT,
                        a_region, a_reason, a_details
                    FROM written JOIN d ON d_shift = written.shift_id
                        AND d_volunteer = written.volunteer_id)
                 SELECT * FROM written",
                audits = audit_arrays(6),
            ))
            .await
            .map_err(pg_err)?;
        let shifts: Vec<i64> = requests.iter().map(|r| r.attendance.shift.0).collect();
        let volunteers: Vec<i64> = requests.iter().map(|r| r.attendance.volunteer.0).collect();
        let at: Vec<OffsetDateTime> = requests.iter().map(|r| r.attendance.at).collect();
        let methods: Vec<&str> = requests
            .iter()
            .map(|r| r.attendance.method.as_str())
            .collect();
        let distances: Vec<Option<i64>> =
            requests.iter().map(|r| r.attendance.distance_m).collect();
        // The subject (the attendance's id) is filled in by the statement.
        let audits = AuditColumns::new(requests.iter().map(|r| (&r.audit, "")));
        let mut params: Vec<&(dyn ToSql + Sync)> =
            vec![&shifts, &volunteers, &at, &methods, &distances];
        params.extend(audits.params());
        let rows = client.query(&stmt, &params).await.map_err(pg_err)?;
        let mut written: HashMap<(i64, i64), AttendanceRecord> = rows
            .iter()
            .map(|row| from_row(row).map(|a| ((a.shift.0, a.volunteer.0), a)))
            .collect::<Result<_>>()?;
        let mut outcomes = Vec::with_capacity(requests.len());
        for r in requests {
            let key = (r.attendance.shift.0, r.attendance.volunteer.0);
            outcomes.push(match written.remove(&key) {
                Some(new) => Ok((new, true)),
                None => find(&client, key.0, key.1)
                    .await
                    .and_then(|first| first.ok_or_else(NewAttendance::without_signup))
                    .map(|first| (first, false)),
            });
        }
        Ok(outcomes)
    }

    /// Check-outs of distinct attendances in one transaction of five round trips: BEGIN;
    /// the record ids drawn; the writes pipelined, one statement each for all (records,
    /// totals, ledger entries, attendances closed, audit entries); the days checked
    /// against the cap; COMMIT. An attendance closed meanwhile fails the round (its record
    /// must not stay), and alone it fails with a version conflict; so does a day taken
    /// over the cap, alone refused.
    async fn check_out_together(
        &self,
        requests: &[&CheckOutRequest],
    ) -> Result<Vec<Result<AttendanceRecord>>> {
        let mut client = self.batch_client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let ids = draw_ids(&tx, "service_records", requests.len()).await?;
        let records: Vec<&NewRecord> = requests.iter().map(|r| &r.record).collect();
        let closes = async {
            let stmt = tx
                .prepare_cached(&format!(
                    "UPDATE attendance SET checked_out_at = d_at, check_out_method = d_method,
                        auto_closed = d_auto, record_id = d_record, version = version + 1
                     FROM unnest($1::BIGINT[], $2::BIGINT[], $3::TIMESTAMPTZ[], $4::TEXT[],
                         $5::BOOLEAN[], $6::BIGINT[])
                         d(d_id, d_version, d_at, d_method, d_auto, d_record)
                     WHERE id = d_id AND version = d_version
                     RETURNING {COLUMNS}"
                ))
                .await
                .map_err(pg_err)?;
            let attendance: Vec<i64> = requests.iter().map(|r| r.attendance.id.0).collect();
            let versions: Vec<i64> = requests.iter().map(|r| r.attendance.version).collect();
            let at: Vec<OffsetDateTime> = requests.iter().map(|r| r.at).collect();
            let methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
            let auto: Vec<bool> = requests.iter().map(|r| r.auto_closed).collect();
            tx.query(&stmt, &[&attendance, &versions, &at, &methods, &auto, &ids])
                .await
                .map_err(pg_err)
        };
        let audits: Vec<(AuditEntry, String)> = requests
            .iter()
            .map(|r| (r.audit.clone(), r.audit.subject_id.clone()))
            .collect();
        // Pipelined on the one connection, in this order: the records exist before the
        // attendances name them.
        let ((), closed, ()) = futures::try_join!(
            insert_new(&tx, &ids, &records),
            closes,
            write_audits(&tx, &audits),
        )?;
        let mut closed: HashMap<i64, AttendanceRecord> = closed
            .iter()
            .map(|row| from_row(row).map(|a| (a.id.0, a)))
            .collect::<Result<_>>()?;
        if closed.len() != requests.len() {
            return Err(StoreError::Conflict { field: "version" });
        }
        // After the totals were counted, which locked them: see `within_cap`. The caps
        // are the configuration's, the same for all; the smallest is the one that holds.
        let counted: Vec<_> = records
            .iter()
            .filter(|r| r.status == RecordStatus::Effective)
            .map(|r| (r.volunteer, r.service_date))
            .collect();
        if let Some(cap) = requests.iter().map(|r| r.cap).min() {
            within_cap(&tx, &counted, cap).await?;
        }
        tx.commit().await.map_err(pg_err)?;
        Ok(requests
            .iter()
            .map(|r| {
                closed
                    .remove(&r.attendance.id.0)
                    .ok_or_else(|| StoreError::corrupt("a closed attendance was not returned"))
            })
            .collect())
    }
}

#[async_trait]
impl AttendanceStore for PgStore {
    async fn check_in(
        &self,
        a: &NewAttendance,
        audit: &AuditEntry,
    ) -> Result<(AttendanceRecord, bool)> {
        let request = CheckInRequest {
            attendance: a.clone(),
            audit: audit.clone(),
        };
        let store = self.clone();
        self.check_ins
            .commit(
                request,
                |r| r.attendance.volunteer.0,
                move |requests| {
                    let store = store.clone();
                    Box::pin(async move { store.check_in_together(requests).await })
                },
            )
            .await
    }

    async fn get_attendance(
        &self,
        shift: ShiftId,
        volunteer: VolunteerId,
    ) -> Result<Option<AttendanceRecord>> {
        let store = self.clone();
        self.attendances
            .get((shift.0, volunteer.0), move |keys| async move {
                let sql = format!(
                    "SELECT {COLUMNS} FROM attendance WHERE (shift_id, volunteer_id) IN {KEY_PAIRS}"
                );
                let rows = store.query_pairs(&sql, keys).await?;
                rows.iter()
                    .map(|r| from_row(r).map(|a| ((a.shift.0, a.volunteer.0), a)))
                    .collect()
            })
            .await
    }

    async fn check_out(
        &self,
        a: &AttendanceRecord,
        at: OffsetDateTime,
        method: AttendanceMethod,
        auto_closed: bool,
        record: &NewRecord,
        cap: DayCap,
        audit: &AuditEntry,
    ) -> Result<AttendanceRecord> {
        // Every change to an attendance raises its version, so one still at the version of
        // an open attendance is still open. Asking it here, not in the statement, keeps
        // `checked_out_at IS NULL` out of the UPDATE: with it, the generic plan walks the
        // partial index of open attendances (`attendance_open`), dead entries included,
        // instead of reading the rows by primary key.
        if a.checked_out_at.is_some() {
            return Err(StoreError::Conflict { field: "version" });
        }
        let request = CheckOutRequest {
            attendance: a.clone(),
            at,
            method,
            auto_closed,
            record: record.clone(),
            cap,
            audit: audit.clone(),
        };
        let store = self.clone();
        self.check_outs
            .commit(
                request,
                |r| r.attendance.id.0,
                move |requests| {
                    let store = store.clone();
                    Box::pin(async move { store.check_out_together(requests).await })
                },
            )
            .await
    }

    async fn open_attendance_before(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<AttendanceRecord>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM attendance WHERE checked_out_at IS NULL AND shift_id IN
                    (SELECT id FROM shifts WHERE ends_at < $1)
                 ORDER BY id LIMIT $2"
            ))
            .await
            .map_err(pg_err)?;
        let rows = client
            .query(&stmt, &[&before, &i64::from(limit)])
            .await
            .map_err(pg_err)?;
        rows.iter().map(from_row).collect()
    }
}
