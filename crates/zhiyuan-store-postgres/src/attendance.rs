//! Attendance: check-in, and check-out together with the service record it produces.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::Row;
use zhiyuan_domain::ids::VolunteerId;
use zhiyuan_store::{
    AttendanceId, AttendanceMethod, AttendanceRecord, AttendanceStore, AuditEntry, NewAttendance,
    NewRecord, RecordId, Result, ShiftId, StoreError,
};

use crate::PgStore;
use crate::conv::{conv, get, pg_err, write_audit, write_audited};
use crate::records::insert_row;

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

#[async_trait]
impl AttendanceStore for PgStore {
    async fn check_in(
        &self,
        a: &NewAttendance,
        audit: &AuditEntry,
    ) -> Result<(AttendanceRecord, bool)> {
        let client = self.client().await?;
        // The check-in and its audit entry in one statement; a repeated one writes neither
        // and returns the first.
        let inserted = write_audited(
            &client,
            &format!(
                "INSERT INTO attendance (shift_id, volunteer_id, checked_in_at, check_in_method,
                    distance_m) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (shift_id, volunteer_id) DO NOTHING RETURNING {COLUMNS}"
            ),
            &[
                &a.shift.0,
                &a.volunteer.0,
                &a.at,
                &a.method.as_str(),
                &a.distance_m,
            ],
            audit,
        )
        .await?;
        match inserted {
            Some(row) => Ok((from_row(&row)?, true)),
            None => {
                let first = find(&client, a.shift.0, a.volunteer.0).await?;
                Ok((first.ok_or(StoreError::NotFound)?, false))
            }
        }
    }

    async fn get_attendance(
        &self,
        shift: ShiftId,
        volunteer: VolunteerId,
    ) -> Result<Option<AttendanceRecord>> {
        find(&self.client().await?, shift.0, volunteer.0).await
    }

    async fn check_out(
        &self,
        a: &AttendanceRecord,
        at: OffsetDateTime,
        method: AttendanceMethod,
        auto_closed: bool,
        record: &NewRecord,
        audit: &AuditEntry,
    ) -> Result<AttendanceRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let record_id = insert_row(&tx, record, None).await?;
        let closed = async {
            let stmt = tx
                .prepare_cached(&format!(
                    "UPDATE attendance SET checked_out_at = $3, check_out_method = $4,
                        auto_closed = $5, record_id = $6, version = version + 1
                     WHERE id = $1 AND version = $2 AND checked_out_at IS NULL
                     RETURNING {COLUMNS}"
                ))
                .await
                .map_err(pg_err)?;
            tx.query_opt(
                &stmt,
                &[
                    &a.id.0,
                    &a.version,
                    &at,
                    &method.as_str(),
                    &auto_closed,
                    &record_id,
                ],
            )
            .await
            .map_err(pg_err)?
            .ok_or(StoreError::Conflict { field: "version" })
        };
        // Pipelined on the one connection.
        let (out, ()) = futures::try_join!(closed, write_audit(&tx, audit, None))?;
        let out = from_row(&out)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(out)
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
