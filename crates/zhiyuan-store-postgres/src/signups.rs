//! Sign-ups. Every change to a shift's places first locks the shift row
//! (`SELECT … FOR UPDATE`), so sign-ups, cancellations and promotions on one shift are
//! serialised while different shifts proceed in parallel. The `CHECK (accepted <=
//! capacity)` on shifts is the last line of defence.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use zhiyuan_domain::ids::VolunteerId;
use zhiyuan_domain::project::{SignupMode, SignupStatus};
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{
    AuditEntry, Check, Page, PageRequest, Result, ShiftId, SignupDetail, SignupFacts, SignupId,
    SignupMade, SignupQuery, SignupRecord, SignupStore, StoreError,
};

use crate::PgStore;
use crate::conv::{conv, get, pg_err, to_micros, write_audit};
use crate::projects::{SHIFT_COLUMNS, fetch_project_of_shift, fetch_shift, shift_at};
use crate::volunteers;

const SELECT: &str = "SELECT s.id, s.shift_id, s.volunteer_id, v.number, s.status, s.created_at,
    s.decided_at FROM signups s JOIN volunteers v ON v.id = s.volunteer_id";

fn from_row(row: &Row) -> Result<SignupRecord> {
    Ok(SignupRecord {
        id: SignupId(get(row, 0)?),
        shift: ShiftId(get(row, 1)?),
        volunteer: VolunteerId(get(row, 2)?),
        volunteer_number: conv(row, 3, VolunteerNumber::from_i64)?,
        status: conv(row, 4, |s: &str| SignupStatus::parse(s))?,
        created_at: get(row, 5)?,
        decided_at: get(row, 6)?,
    })
}

/// A sign-up with its shift and project.
fn detail_select() -> String {
    let shift_columns: String = SHIFT_COLUMNS
        .split(", ")
        .map(|c| format!("sh.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT s.id, s.shift_id, s.volunteer_id, v.number, s.status, s.created_at,
            s.decided_at, {shift_columns}, p.name, p.address
         FROM signups s
         JOIN volunteers v ON v.id = s.volunteer_id
         JOIN shifts sh ON sh.id = s.shift_id
         JOIN projects p ON p.id = sh.project_id"
    )
}

fn detail_from_row(row: &Row) -> Result<SignupDetail> {
    Ok(SignupDetail {
        signup: from_row(row)?,
        shift: shift_at(row, 7)?,
        project_name: get(row, 16)?,
        address: get(row, 17)?,
    })
}

async fn fetch(c: &impl GenericClient, id: i64, lock: bool) -> Result<Option<SignupRecord>> {
    let sql = format!(
        "{SELECT} WHERE s.id = $1{}",
        if lock { " FOR UPDATE OF s" } else { "" }
    );
    let stmt = c.prepare_cached(&sql).await.map_err(pg_err)?;
    let row = c.query_opt(&stmt, &[&id]).await.map_err(pg_err)?;
    row.as_ref().map(from_row).transpose()
}

/// Takes a place on the (locked) shift if one is free.
async fn take_place(c: &impl GenericClient, shift: i64) -> Result<bool> {
    let stmt = c
        .prepare_cached(
            "UPDATE shifts SET accepted = accepted + 1 WHERE id = $1 AND accepted < capacity",
        )
        .await
        .map_err(pg_err)?;
    Ok(c.execute(&stmt, &[&shift]).await.map_err(pg_err)? == 1)
}

async fn set_status(
    c: &impl GenericClient,
    id: i64,
    status: SignupStatus,
    at: OffsetDateTime,
) -> Result<()> {
    let stmt = c
        .prepare_cached("UPDATE signups SET status = $2, decided_at = $3 WHERE id = $1")
        .await
        .map_err(pg_err)?;
    c.execute(&stmt, &[&id, &status.as_str(), &at])
        .await
        .map_err(pg_err)?;
    Ok(())
}

#[async_trait]
impl SignupStore for PgStore {
    async fn sign_up(
        &self,
        shift: ShiftId,
        volunteer: VolunteerId,
        at: OffsetDateTime,
        check: Check<SignupFacts>,
        audit: &AuditEntry,
    ) -> Result<SignupMade> {
        // The record returned is built here, not read back: at the precision stored.
        let at = to_micros(at);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        // Four round trips in all: BEGIN, the facts, the writes, COMMIT. The facts are
        // pipelined on the one connection: the locked shift, its project, the volunteer,
        // and their earlier sign-up for it with the id a new one would take.
        let (shift_record, project, volunteer_record, earlier) = futures::try_join!(
            fetch_shift(&tx, shift.0, true),
            fetch_project_of_shift(&tx, shift.0),
            volunteers::fetch_by(&tx, "id", volunteer.0),
            async {
                let stmt = tx
                    .prepare_cached(
                        "SELECT nextval(pg_get_serial_sequence('signups', 'id')), s.id, s.status
                         FROM (SELECT 1) one
                         LEFT JOIN signups s ON s.shift_id = $1 AND s.volunteer_id = $2",
                    )
                    .await
                    .map_err(pg_err)?;
                tx.query_one(&stmt, &[&shift.0, &volunteer.0])
                    .await
                    .map_err(pg_err)
            },
        )?;
        let facts = SignupFacts {
            project: project.ok_or(StoreError::NotFound)?,
            shift: shift_record.ok_or(StoreError::NotFound)?,
            volunteer: volunteer_record.ok_or(StoreError::NotFound)?,
        };
        check(&facts).map_err(StoreError::Refused)?;
        let existing: Option<i64> = get(&earlier, 1)?;
        if get::<Option<&str>>(&earlier, 2)?
            .and_then(SignupStatus::parse)
            .is_some_and(SignupStatus::is_live)
        {
            return Err(StoreError::Conflict { field: "volunteer" });
        }
        // The shift is locked, so whether a place is free is known before taking it.
        let sh = &facts.shift;
        let status = match facts.project.project.signup_mode {
            SignupMode::Approval => SignupStatus::Pending,
            SignupMode::Automatic if sh.accepted < sh.shift.capacity => SignupStatus::Accepted,
            SignupMode::Automatic => SignupStatus::Waitlisted,
        };
        let decided = (status == SignupStatus::Accepted).then_some(at);
        let id = existing.unwrap_or(get(&earlier, 0)?);
        let mut audit = audit.clone();
        audit.region = Some(facts.project.project.region);
        audit.details = serde_json::json!({ "shift": shift.0, "status": status });
        let (starts_at, ends_at) = (sh.shift.starts_at, sh.shift.ends_at);
        let place = async {
            if status == SignupStatus::Accepted && !take_place(&tx, shift.0).await? {
                return Err(StoreError::corrupt("a locked shift's free place was taken"));
            }
            Ok(())
        };
        let write = async {
            let written = match existing {
                Some(_) => {
                    let stmt = tx
                        .prepare_cached(
                            "UPDATE signups SET status = $2, created_at = $3, decided_at = $4
                             WHERE id = $1",
                        )
                        .await
                        .map_err(pg_err)?;
                    tx.execute(&stmt, &[&id, &status.as_str(), &at, &decided])
                        .await
                }
                None => {
                    let stmt = tx
                        .prepare_cached(
                            "INSERT INTO signups (id, shift_id, volunteer_id, status, created_at,
                                 decided_at, starts_at, ends_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        )
                        .await
                        .map_err(pg_err)?;
                    let params: [&(dyn ToSql + Sync); 8] = [
                        &id,
                        &shift.0,
                        &volunteer.0,
                        &status.as_str(),
                        &at,
                        &decided,
                        &starts_at,
                        &ends_at,
                    ];
                    tx.execute(&stmt, &params).await
                }
            };
            written.map_err(pg_err)
        };
        let overlaps = async {
            let stmt = tx
                .prepare_cached(&format!(
                    "{} WHERE s.volunteer_id = $1
                       AND s.status IN ('pending', 'accepted', 'waitlisted')
                       AND s.ends_at > $2 AND s.starts_at < $3 AND s.id <> $4
                     ORDER BY s.starts_at, s.id LIMIT 20",
                    detail_select()
                ))
                .await
                .map_err(pg_err)?;
            let rows = tx
                .query(&stmt, &[&volunteer.0, &starts_at, &ends_at, &id])
                .await
                .map_err(pg_err)?;
            rows.iter().map(detail_from_row).collect::<Result<Vec<_>>>()
        };
        // Pipelined on the one connection. Their order does not matter: the overlaps leave
        // this sign-up out.
        let ((), _, (), overlaps) = futures::try_join!(
            place,
            write,
            write_audit(&tx, &audit, Some(id.to_string())),
            overlaps,
        )?;
        tx.commit().await.map_err(pg_err)?;
        let signup = SignupRecord {
            id: SignupId(id),
            shift,
            volunteer,
            volunteer_number: facts.volunteer.number,
            status,
            created_at: at,
            decided_at: decided,
        };
        Ok(SignupMade { signup, overlaps })
    }

    async fn get_signup(&self, id: SignupId) -> Result<Option<SignupRecord>> {
        fetch(&self.client().await?, id.0, false).await
    }

    async fn find_signup(
        &self,
        shift: ShiftId,
        volunteer: VolunteerId,
    ) -> Result<Option<SignupRecord>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "{SELECT} WHERE s.shift_id = $1 AND s.volunteer_id = $2"
            ))
            .await
            .map_err(pg_err)?;
        let row = client
            .query_opt(&stmt, &[&shift.0, &volunteer.0])
            .await
            .map_err(pg_err)?;
        row.as_ref().map(from_row).transpose()
    }

    async fn cancel_signup(
        &self,
        id: SignupId,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<(SignupRecord, Option<SignupRecord>)> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let shift = fetch(&tx, id.0, false)
            .await?
            .ok_or(StoreError::NotFound)?
            .shift;
        fetch_shift(&tx, shift.0, true).await?;
        let s = fetch(&tx, id.0, true).await?.ok_or(StoreError::NotFound)?;
        if !s.status.is_live() {
            return Err(StoreError::Conflict { field: "status" });
        }
        set_status(&tx, id.0, SignupStatus::Cancelled, at).await?;
        let mut promoted = None;
        if s.status == SignupStatus::Accepted {
            tx.execute(
                &tx.prepare_cached("UPDATE shifts SET accepted = accepted - 1 WHERE id = $1")
                    .await
                    .map_err(pg_err)?,
                &[&s.shift.0],
            )
            .await
            .map_err(pg_err)?;
            let next = tx
                .query_opt(
                    &tx.prepare_cached(
                        "SELECT id FROM signups WHERE shift_id = $1 AND status = 'waitlisted'
                     ORDER BY created_at, id LIMIT 1",
                    )
                    .await
                    .map_err(pg_err)?,
                    &[&s.shift.0],
                )
                .await
                .map_err(pg_err)?;
            if let Some(next) = next {
                let next: i64 = get(&next, 0)?;
                if take_place(&tx, s.shift.0).await? {
                    set_status(&tx, next, SignupStatus::Accepted, at).await?;
                    promoted = fetch(&tx, next, false).await?;
                }
            }
        }
        let mut audit = audit.clone();
        audit.details = serde_json::json!({
            "shift": s.shift.0,
            "from": s.status,
            "promoted": promoted.as_ref().map(|p| p.id.0),
        });
        write_audit(&tx, &audit, None).await?;
        let cancelled = fetch(&tx, id.0, false).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok((cancelled, promoted))
    }

    async fn decide_signup(
        &self,
        id: SignupId,
        accept: bool,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<SignupRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let shift = fetch(&tx, id.0, false)
            .await?
            .ok_or(StoreError::NotFound)?
            .shift;
        fetch_shift(&tx, shift.0, true).await?;
        let s = fetch(&tx, id.0, true).await?.ok_or(StoreError::NotFound)?;
        if s.status != SignupStatus::Pending {
            return Err(StoreError::Conflict { field: "status" });
        }
        let status = match accept {
            false => SignupStatus::Rejected,
            true if take_place(&tx, s.shift.0).await? => SignupStatus::Accepted,
            true => SignupStatus::Waitlisted,
        };
        set_status(&tx, id.0, status, at).await?;
        let mut audit = audit.clone();
        audit.details = serde_json::json!({ "shift": s.shift.0, "status": status });
        write_audit(&tx, &audit, None).await?;
        let record = fetch(&tx, id.0, false).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(record)
    }

    async fn list_signups(
        &self,
        q: &SignupQuery,
        page: &PageRequest,
    ) -> Result<Page<SignupRecord>> {
        let after = page.after.as_ref().map_or(0, |c| c.key(0));
        let client = self.client().await?;
        // Equality on the filters given, so that their indexes can be used.
        let stmt = client
            .prepare_cached(&format!(
                "{SELECT} WHERE s.id > $1 AND {} AND {} AND ($4::TEXT IS NULL OR s.status = $4)
                 ORDER BY s.id LIMIT $5",
                if q.shift.is_some() {
                    "s.shift_id = $2"
                } else {
                    "$2::BIGINT IS NULL"
                },
                if q.volunteer.is_some() {
                    "s.volunteer_id = $3"
                } else {
                    "$3::BIGINT IS NULL"
                },
            ))
            .await
            .map_err(pg_err)?;
        let rows = client
            .query(
                &stmt,
                &[
                    &after,
                    &q.shift.map(|s| s.0),
                    &q.volunteer.map(|v| v.0),
                    &q.status.map(SignupStatus::as_str),
                    &(i64::from(page.limit) + 1),
                ],
            )
            .await
            .map_err(pg_err)?;
        let items = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |s| vec![s.id.0]))
    }

    async fn volunteer_schedule(
        &self,
        volunteer: VolunteerId,
        after: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<SignupDetail>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "{} WHERE s.volunteer_id = $1 AND s.status IN ('pending', 'accepted', 'waitlisted')
                   AND s.ends_at > $2
                 ORDER BY s.starts_at, s.id LIMIT $3",
                detail_select()
            ))
            .await
            .map_err(pg_err)?;
        let rows = client
            .query(&stmt, &[&volunteer.0, &after, &i64::from(limit)])
            .await
            .map_err(pg_err)?;
        rows.iter().map(detail_from_row).collect()
    }
}
