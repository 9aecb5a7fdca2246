//! Attendance: check-in, and check-out together with the service record it produces.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;
use zhiyuan_domain::ids::VolunteerId;
use zhiyuan_store::{
    AttendanceId, AttendanceMethod, AttendanceRecord, AttendanceStore, AuditEntry, DayCap,
    NewAttendance, NewRecord, RecordId, Result, ShiftId, StoreError,
};

use crate::SqliteStore;
use crate::conv::{col, expect_one, micros, opt_time, store_err, time, write_audit};
use crate::records::insert_row;

const SELECT: &str = "SELECT id, shift_id, volunteer_id, checked_in_at, check_in_method,
    distance_m, checked_out_at, check_out_method, auto_closed, record_id, version FROM attendance";

fn from_row(row: &Row<'_>) -> rusqlite::Result<AttendanceRecord> {
    Ok(AttendanceRecord {
        id: AttendanceId(row.get(0)?),
        shift: ShiftId(row.get(1)?),
        volunteer: VolunteerId(row.get(2)?),
        checked_in_at: time(row, 3)?,
        check_in_method: col(row, 4, |s: String| AttendanceMethod::parse(&s))?,
        distance_m: row.get(5)?,
        checked_out_at: opt_time(row, 6)?,
        check_out_method: row
            .get::<_, Option<String>>(7)?
            .and_then(|s| AttendanceMethod::parse(&s)),
        auto_closed: row.get(8)?,
        record: row.get::<_, Option<i64>>(9)?.map(RecordId),
        version: row.get(10)?,
    })
}

fn find(c: &Connection, shift: i64, volunteer: i64) -> rusqlite::Result<Option<AttendanceRecord>> {
    c.prepare_cached(&format!(
        "{SELECT} WHERE shift_id = ?1 AND volunteer_id = ?2"
    ))?
    .query_row([shift, volunteer], from_row)
    .optional()
}

#[async_trait]
impl AttendanceStore for SqliteStore {
    async fn check_in(
        &self,
        a: &NewAttendance,
        audit: &AuditEntry,
    ) -> Result<(AttendanceRecord, bool)> {
        let (a, audit) = (a.clone(), audit.clone());
        self.write(move |tx| {
            if let Some(existing) = find(tx, a.shift.0, a.volunteer.0).map_err(store_err)? {
                return Ok((existing, false));
            }
            let accepted = tx
                .prepare_cached(
                    "SELECT 1 FROM signups WHERE shift_id = ?1 AND volunteer_id = ?2
                        AND status = 'accepted'",
                )
                .and_then(|mut s| s.exists([a.shift.0, a.volunteer.0]))
                .map_err(store_err)?;
            if !accepted {
                return Err(NewAttendance::without_signup());
            }
            tx.prepare_cached(
                "INSERT INTO attendance (shift_id, volunteer_id, checked_in_at, check_in_method,
                    distance_m) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    a.shift.0,
                    a.volunteer.0,
                    micros(a.at),
                    a.method.as_str(),
                    a.distance_m
                ])
            })
            .map_err(store_err)?;
            write_audit(tx, &audit, Some(tx.last_insert_rowid().to_string()))?;
            let created = find(tx, a.shift.0, a.volunteer.0)
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)?;
            Ok((created, true))
        })
        .await
    }

    async fn get_attendance(
        &self,
        shift: ShiftId,
        volunteer: VolunteerId,
    ) -> Result<Option<AttendanceRecord>> {
        self.lookup(move |c| find(c, shift.0, volunteer.0)).await
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
        let (a, record, audit) = (a.clone(), record.clone(), audit.clone());
        self.write(move |tx| {
            let record_id = insert_row(tx, &record, None, cap)?;
            let changed = tx
                .prepare_cached(
                    "UPDATE attendance SET checked_out_at = ?3, check_out_method = ?4,
                        auto_closed = ?5, record_id = ?6, version = version + 1
                     WHERE id = ?1 AND version = ?2 AND checked_out_at IS NULL",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        a.id.0,
                        a.version,
                        micros(at),
                        method.as_str(),
                        auto_closed,
                        record_id
                    ])
                })
                .map_err(store_err)?;
            expect_one(changed)?;
            write_audit(tx, &audit, None)?;
            find(tx, a.shift.0, a.volunteer.0)
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn open_attendance_before(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<AttendanceRecord>> {
        self.lookup(move |c| {
            c.prepare_cached(&format!(
                "{SELECT} WHERE checked_out_at IS NULL AND shift_id IN
                    (SELECT id FROM shifts WHERE ends_at < ?1)
                 ORDER BY id LIMIT ?2"
            ))?
            .query_map(params![micros(before), limit], from_row)?
            .collect()
        })
        .await
    }
}
