//! Sign-ups. Every change to a shift's places first locks the shift row
//! (`SELECT … FOR NO KEY UPDATE`), so sign-ups, cancellations and promotions on one shift
//! are serialised while different shifts proceed in parallel. The `CHECK (accepted <=
//! capacity)` on shifts is the last line of defence. A change of a sign-up's status then
//! locks the sign-up `FOR UPDATE`, which a check-in waits for (it locks the sign-up `FOR
//! KEY SHARE` and writes only for an accepted one: see [`crate::attendance`]).
//!
//! Sign-ups are group-committed: those that arrive while earlier batches are being
//! written are gathered ([`crate::coalesce::Gather`]) and written in one transaction, with
//! one statement per kind of write for all of them. Under load this divides PostgreSQL's
//! work per statement and per commit by the batch size.

use std::collections::HashMap;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use zhiyuan_domain::ids::VolunteerId;
use zhiyuan_domain::project::{SignupMode, SignupStatus};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::site::GeoPoint;
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{
    AuditEntry, Check, Page, PageRequest, ProjectRecord, Result, ShiftId, ShiftRecord,
    SignupDetail, SignupFacts, SignupId, SignupMade, SignupQuery, SignupRecord, SignupStore,
    StoreError, VolunteerRecord,
};

use crate::PgStore;
use crate::conn::KEY_PAIRS;
use crate::conv::{conv, draw_ids, eq_filter, get, pg_err, to_micros, write_audit, write_audits};
use crate::projects::{
    SHIFT_COLUMNS, fetch_projects_of_shifts, fetch_shift, fetch_shifts, shift_at,
};
use crate::volunteers;

const SELECT: &str = "SELECT s.id, s.shift_id, s.volunteer_id, v.number, s.status, s.created_at,
    s.decided_at FROM signups s JOIN volunteers v ON v.id = s.volunteer_id";

fn from_row(row: &Row) -> Result<SignupRecord> {
    signup_at(row, 0)
}

/// Reads a sign-up whose `SELECT` columns start at column `at`.
fn signup_at(row: &Row, at: usize) -> Result<SignupRecord> {
    Ok(SignupRecord {
        id: SignupId(get(row, at)?),
        shift: ShiftId(get(row, at + 1)?),
        volunteer: VolunteerId(get(row, at + 2)?),
        volunteer_number: conv(row, at + 3, VolunteerNumber::from_i64)?,
        status: conv(row, at + 4, |s: &str| SignupStatus::parse(s))?,
        created_at: get(row, at + 5)?,
        decided_at: get(row, at + 6)?,
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
            s.decided_at, {shift_columns}, p.name, p.address, p.lat, p.lng
         FROM signups s
         JOIN volunteers v ON v.id = s.volunteer_id
         JOIN shifts sh ON sh.id = s.shift_id
         JOIN projects p ON p.id = sh.project_id"
    )
}

fn detail_from_row(row: &Row) -> Result<SignupDetail> {
    detail_at(row, 0)
}

/// Reads a sign-up detail whose `detail_select` columns start at column `at`.
fn detail_at(row: &Row, at: usize) -> Result<SignupDetail> {
    Ok(SignupDetail {
        signup: signup_at(row, at)?,
        shift: shift_at(row, at + 7)?,
        project_name: get(row, at + 16)?,
        address: get(row, at + 17)?,
        location: GeoPoint::from_columns(get(row, at + 18)?, get(row, at + 19)?),
    })
}

/// A volunteer's other live sign-ups whose shifts overlap `starts..ends`, leaving out
/// sign-up `own` (the first 20); each argument is an SQL expression.
fn overlaps_select(volunteer: &str, starts: &str, ends: &str, own: &str) -> String {
    format!(
        "{} WHERE s.volunteer_id = {volunteer}
           AND s.status IN ('pending', 'accepted', 'waitlisted')
           AND s.ends_at > {starts} AND s.starts_at < {ends} AND s.id <> {own}
         ORDER BY s.starts_at, s.id LIMIT 20",
        detail_select()
    )
}

/// The overlaps of each new sign-up of a round (volunteers, starts, ends and sign-ups in
/// `$1`..`$4`), numbered by its place in the arrays. The index the volunteer's sign-ups are
/// found by holds both times of the overlap test (migration 0027): the sign-ups that do
/// not overlap are passed over in the index, never read from the table.
pub(crate) fn overlaps_sql() -> String {
    format!(
        "SELECT d.i, x.*
         FROM unnest($1::BIGINT[], $2::TIMESTAMPTZ[], $3::TIMESTAMPTZ[], $4::BIGINT[])
             WITH ORDINALITY d(volunteer_id, starts_at, ends_at, id, i)
         CROSS JOIN LATERAL ({}) x",
        overlaps_select("d.volunteer_id", "d.starts_at", "d.ends_at", "d.id")
    )
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

/// Takes a place on the (locked) shift if one is free (a cancelled shift has none: nobody
/// is promoted or accepted into it).
async fn take_place(c: &impl GenericClient, shift: i64) -> Result<bool> {
    let stmt = c
        .prepare_cached(
            "UPDATE shifts SET accepted = accepted + 1
             WHERE id = $1 AND accepted < capacity AND NOT cancelled",
        )
        .await
        .map_err(pg_err)?;
    Ok(c.execute(&stmt, &[&shift]).await.map_err(pg_err)? == 1)
}

/// Whether a volunteer (`$2`) came to a shift (`$1`): checked in, or has a current record
/// of it that is effective or waiting for a decision.
const ATTENDED: &str =
    "SELECT EXISTS (SELECT 1 FROM attendance WHERE shift_id = $1 AND volunteer_id = $2)
    OR EXISTS (SELECT 1 FROM service_records WHERE shift_id = $1 AND volunteer_id = $2
               AND is_current AND status IN ('effective', 'pending'))";

async fn give_up_place(c: &impl GenericClient, shift: i64) -> Result<()> {
    let stmt = c
        .prepare_cached("UPDATE shifts SET accepted = accepted - 1 WHERE id = $1")
        .await
        .map_err(pg_err)?;
    c.execute(&stmt, &[&shift]).await.map_err(pg_err)?;
    Ok(())
}

/// The first on shift `$1`'s waitlist, if the shift has not ended at `$2` (through the
/// waitlist's own index, migration 0032).
pub(crate) const NEXT_WAITLISTED: &str =
    "SELECT id FROM signups WHERE shift_id = $1 AND status = 'waitlisted' AND ends_at > $2
     ORDER BY created_at, id LIMIT 1";

/// Gives the free places of `shift` (its row locked by the caller) to the first on its
/// waitlist, in the order they signed up, each promotion audited as a consequence of
/// `cause`; nobody once the shift has ended at `at` (they could not have come, and would
/// be owed a record). Returns those promoted.
pub(crate) async fn promote_waitlist(
    tx: &impl GenericClient,
    shift: i64,
    at: OffsetDateTime,
    cause: &AuditEntry,
) -> Result<Vec<SignupRecord>> {
    let next_stmt = tx.prepare_cached(NEXT_WAITLISTED).await.map_err(pg_err)?;
    let mut promoted = Vec::new();
    while let Some(next) = tx
        .query_opt(&next_stmt, &[&shift, &at])
        .await
        .map_err(pg_err)?
    {
        let next: i64 = get(&next, 0)?;
        if !take_place(tx, shift).await? {
            break;
        }
        set_status(tx, next, SignupStatus::Accepted, at).await?;
        let s = fetch(tx, next, false).await?.ok_or(StoreError::NotFound)?;
        write_audit(tx, &s.promotion_audit(cause), None).await?;
        promoted.push(s);
    }
    Ok(promoted)
}

/// A sign-up read for a change of status, its shift's row locked first: the order in
/// which every writer of a shift's places takes its locks.
async fn lock_signup(tx: &impl GenericClient, id: SignupId) -> Result<SignupRecord> {
    let shift = fetch(tx, id.0, false)
        .await?
        .ok_or(StoreError::NotFound)?
        .shift;
    fetch_shift(tx, shift.0, true).await?;
    fetch(tx, id.0, true).await?.ok_or(StoreError::NotFound)
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

/// A sign-up waiting for its group commit.
pub(crate) struct SignupRequest {
    shift: ShiftId,
    volunteer: VolunteerId,
    at: OffsetDateTime,
    check: Check<SignupFacts>,
    audit: AuditEntry,
}

/// A sign-up decided from its facts, to be written.
struct Decided {
    id: i64,
    existing: bool,
    status: SignupStatus,
    decided_at: Option<OffsetDateTime>,
    region: RegionCode,
    volunteer_number: VolunteerNumber,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
}

impl PgStore {
    /// Sign-ups by distinct volunteers in one transaction of four round trips: BEGIN; the
    /// facts (the shifts locked in id order, their projects, the volunteers, their earlier
    /// sign-ups and the ids new ones take), pipelined; the writes (places, sign-ups, audit
    /// entries, overlaps), each one statement for all, pipelined; COMMIT. Each sign-up is
    /// decided in order, as if alone, so places go first come first served. The outer
    /// error fails them all; the inner ones are each sign-up's own.
    async fn sign_up_together(
        &self,
        requests: &[&SignupRequest],
    ) -> Result<Vec<Result<SignupMade>>> {
        let mut client = self.batch_client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let shift_ids: Vec<i64> = requests.iter().map(|r| r.shift.0).collect();
        let volunteer_ids: Vec<i64> = requests.iter().map(|r| r.volunteer.0).collect();
        let earlier = async {
            let stmt = tx
                .prepare_cached(
                    "SELECT d.i, s.id, s.status
                     FROM unnest($1::BIGINT[], $2::BIGINT[]) WITH ORDINALITY
                         d(shift_id, volunteer_id, i)
                     JOIN signups s ON s.shift_id = d.shift_id AND s.volunteer_id = d.volunteer_id",
                )
                .await
                .map_err(pg_err)?;
            tx.query(&stmt, &[&shift_ids, &volunteer_ids])
                .await
                .map_err(pg_err)
        };
        let (shifts, projects, volunteers, earlier, new_ids) = futures::try_join!(
            fetch_shifts(&tx, &shift_ids, true),
            fetch_projects_of_shifts(&tx, &shift_ids),
            volunteers::fetch_ids(&tx, &volunteer_ids),
            earlier,
            draw_ids(&tx, "signups", requests.len()),
        )?;
        let mut shifts: HashMap<i64, ShiftRecord> =
            shifts.into_iter().map(|s| (s.id.0, s)).collect();
        let projects: HashMap<i64, ProjectRecord> =
            projects.into_iter().map(|p| (p.id.0, p)).collect();
        let mut volunteers: HashMap<i64, VolunteerRecord> =
            volunteers.into_iter().map(|v| (v.id.0, v)).collect();
        let mut before: HashMap<i64, (i64, Option<SignupStatus>)> = HashMap::new();
        for row in &earlier {
            let status: &str = get(row, 2)?;
            before.insert(get(row, 0)?, (get(row, 1)?, SignupStatus::parse(status)));
        }

        let mut taken: HashMap<i64, i64> = HashMap::new();
        let mut decide = |k: usize, r: &SignupRequest| -> Result<Decided> {
            let shift = shifts.get_mut(&r.shift.0).ok_or(StoreError::NotFound)?;
            let facts = SignupFacts {
                project: projects
                    .get(&shift.shift.project.0)
                    .cloned()
                    .ok_or(StoreError::NotFound)?,
                shift: shift.clone(),
                volunteer: volunteers
                    .remove(&r.volunteer.0)
                    .ok_or(StoreError::NotFound)?,
            };
            (r.check)(&facts).map_err(StoreError::Refused)?;
            let earlier = before.get(&(i64::try_from(k).unwrap_or(i64::MAX) + 1));
            if earlier.is_some_and(|(_, s)| s.is_some_and(SignupStatus::is_live)) {
                return Err(StoreError::Conflict { field: "volunteer" });
            }
            // The shift is locked, so whether a place is free is known before taking it.
            let status = match facts.project.project.signup_mode {
                SignupMode::Approval => SignupStatus::Pending,
                SignupMode::Automatic if shift.accepted < shift.shift.capacity => {
                    shift.accepted += 1;
                    *taken.entry(shift.id.0).or_default() += 1;
                    SignupStatus::Accepted
                }
                SignupMode::Automatic => SignupStatus::Waitlisted,
            };
            Ok(Decided {
                id: earlier.map_or(new_ids[k], |(id, _)| *id),
                existing: earlier.is_some(),
                status,
                decided_at: (status == SignupStatus::Accepted).then_some(r.at),
                region: facts.project.project.region,
                volunteer_number: facts.volunteer.number,
                starts_at: shift.shift.starts_at,
                ends_at: shift.shift.ends_at,
            })
        };
        let decided: Vec<Result<Decided>> = requests
            .iter()
            .enumerate()
            .map(|(k, r)| decide(k, r))
            .collect();
        let written: Vec<(&SignupRequest, &Decided)> = requests
            .iter()
            .zip(&decided)
            .filter_map(|(r, d)| Some((*r, d.as_ref().ok()?)))
            .collect();

        let places = async {
            if taken.is_empty() {
                return Ok(());
            }
            let (ids, counts): (Vec<i64>, Vec<i64>) = taken.iter().map(|(k, v)| (*k, *v)).unzip();
            let stmt = tx
                .prepare_cached(
                    "UPDATE shifts s SET accepted = s.accepted + d.n
                     FROM unnest($1::BIGINT[], $2::BIGINT[]) d(id, n) WHERE s.id = d.id",
                )
                .await
                .map_err(pg_err)?;
            match tx.execute(&stmt, &[&ids, &counts]).await.map_err(pg_err)? {
                n if n as usize == ids.len() => Ok(()),
                _ => Err(StoreError::corrupt("a locked shift's place was not taken")),
            }
        };
        let inserts = async {
            let new: Vec<_> = written.iter().filter(|(_, d)| !d.existing).collect();
            if new.is_empty() {
                return Ok(());
            }
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO signups (id, shift_id, volunteer_id, status, created_at,
                         decided_at, starts_at, ends_at)
                     SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::TEXT[],
                         $5::TIMESTAMPTZ[], $6::TIMESTAMPTZ[], $7::TIMESTAMPTZ[],
                         $8::TIMESTAMPTZ[])",
                )
                .await
                .map_err(pg_err)?;
            let column = |f: fn(&SignupRequest, &Decided) -> i64| -> Vec<i64> {
                new.iter().map(|(r, d)| f(r, d)).collect()
            };
            let times = |f: fn(&SignupRequest, &Decided) -> Option<OffsetDateTime>| {
                new.iter().map(|(r, d)| f(r, d)).collect::<Vec<_>>()
            };
            let status: Vec<&str> = new.iter().map(|(_, d)| d.status.as_str()).collect();
            let params: [&(dyn ToSql + Sync); 8] = [
                &column(|_, d| d.id),
                &column(|r, _| r.shift.0),
                &column(|r, _| r.volunteer.0),
                &status,
                &times(|r, _| Some(r.at)),
                &times(|_, d| d.decided_at),
                &times(|_, d| Some(d.starts_at)),
                &times(|_, d| Some(d.ends_at)),
            ];
            tx.execute(&stmt, &params).await.map_err(pg_err)?;
            Ok(())
        };
        let updates = async {
            let again: Vec<_> = written.iter().filter(|(_, d)| d.existing).collect();
            if again.is_empty() {
                return Ok(());
            }
            let stmt = tx
                .prepare_cached(
                    "UPDATE signups s SET status = d.status, created_at = d.created_at,
                         decided_at = d.decided_at
                     FROM unnest($1::BIGINT[], $2::TEXT[], $3::TIMESTAMPTZ[], $4::TIMESTAMPTZ[])
                         d(id, status, created_at, decided_at)
                     WHERE s.id = d.id",
                )
                .await
                .map_err(pg_err)?;
            let ids: Vec<i64> = again.iter().map(|(_, d)| d.id).collect();
            let status: Vec<&str> = again.iter().map(|(_, d)| d.status.as_str()).collect();
            let at: Vec<OffsetDateTime> = again.iter().map(|(r, _)| r.at).collect();
            let decided: Vec<Option<OffsetDateTime>> =
                again.iter().map(|(_, d)| d.decided_at).collect();
            tx.execute(&stmt, &[&ids, &status, &at, &decided])
                .await
                .map_err(pg_err)?;
            Ok(())
        };
        let audits: Vec<(AuditEntry, String)> = written
            .iter()
            .map(|(r, d)| {
                let mut audit = r.audit.clone();
                audit.region = Some(d.region);
                audit.details = serde_json::json!({ "shift": r.shift.0, "status": d.status });
                (audit, d.id.to_string())
            })
            .collect();
        let audited = async {
            match audits.is_empty() {
                true => Ok(()),
                false => write_audits(&tx, &audits).await,
            }
        };
        let overlaps = async {
            if written.is_empty() {
                return Ok(Vec::new());
            }
            let stmt = tx.prepare_cached(&overlaps_sql()).await.map_err(pg_err)?;
            let volunteers: Vec<i64> = written.iter().map(|(r, _)| r.volunteer.0).collect();
            let starts: Vec<OffsetDateTime> = written.iter().map(|(_, d)| d.starts_at).collect();
            let ends: Vec<OffsetDateTime> = written.iter().map(|(_, d)| d.ends_at).collect();
            let ids: Vec<i64> = written.iter().map(|(_, d)| d.id).collect();
            tx.query(&stmt, &[&volunteers, &starts, &ends, &ids])
                .await
                .map_err(pg_err)
        };
        // Pipelined on the one connection, in this order: the overlaps leave each sign-up
        // out, and the others in the round are other volunteers'.
        let ((), (), (), (), overlaps) =
            futures::try_join!(places, inserts, updates, audited, overlaps)?;
        tx.commit().await.map_err(pg_err)?;

        let mut overlapping: HashMap<i64, Vec<SignupDetail>> = HashMap::new();
        for row in &overlaps {
            overlapping
                .entry(get(row, 0)?)
                .or_default()
                .push(detail_at(row, 1)?);
        }
        // The overlaps are numbered by position among the sign-ups written, from 1.
        let mut k = 0;
        Ok(requests
            .iter()
            .zip(decided)
            .map(|(r, d)| {
                let d = d?;
                k += 1;
                Ok(SignupMade {
                    signup: SignupRecord {
                        id: SignupId(d.id),
                        shift: r.shift,
                        volunteer: r.volunteer,
                        volunteer_number: d.volunteer_number,
                        status: d.status,
                        created_at: r.at,
                        decided_at: d.decided_at,
                    },
                    overlaps: overlapping.remove(&k).unwrap_or_default(),
                })
            })
            .collect())
    }
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
        let request = SignupRequest {
            shift,
            volunteer,
            // The record returned is built, not read back: at the precision stored.
            at: to_micros(at),
            check,
            audit: audit.clone(),
        };
        let store = self.clone();
        // A volunteer appears once per round, so that their second sign-up sees their
        // first (its overlaps, a repeated shift).
        self.signups
            .commit(
                request,
                |r| r.volunteer.0,
                move |requests| {
                    let store = store.clone();
                    Box::pin(async move { store.sign_up_together(requests).await })
                },
            )
            .await
    }

    async fn get_signup(&self, id: SignupId) -> Result<Option<SignupRecord>> {
        fetch(&self.client().await?, id.0, false).await
    }

    async fn find_signup(
        &self,
        shift: ShiftId,
        volunteer: VolunteerId,
    ) -> Result<Option<SignupRecord>> {
        let store = self.clone();
        self.signups_of
            .get((shift.0, volunteer.0), move |keys| async move {
                let sql = format!("{SELECT} WHERE (s.shift_id, s.volunteer_id) IN {KEY_PAIRS}");
                let rows = store.query_pairs(&sql, keys).await?;
                rows.iter()
                    .map(|r| from_row(r).map(|s| ((s.shift.0, s.volunteer.0), s)))
                    .collect()
            })
            .await
    }

    async fn cancel_signup(
        &self,
        id: SignupId,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<(SignupRecord, Vec<SignupRecord>)> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let s = lock_signup(&tx, id).await?;
        if !s.status.is_live() {
            return Err(StoreError::Conflict { field: "status" });
        }
        set_status(&tx, id.0, SignupStatus::Cancelled, at).await?;
        let mut promoted = Vec::new();
        if s.status == SignupStatus::Accepted {
            give_up_place(&tx, s.shift.0).await?;
            promoted = promote_waitlist(&tx, s.shift.0, at, audit).await?;
        }
        let mut audit = audit.clone();
        audit.details = serde_json::json!({
            "shift": s.shift.0,
            "volunteer": s.volunteer.0,
            "from": s.status,
            "promoted": promoted.iter().map(|p| p.id.0).collect::<Vec<_>>(),
        });
        write_audit(&tx, &audit, None).await?;
        let cancelled = fetch(&tx, id.0, false).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok((cancelled, promoted))
    }

    async fn set_absent(
        &self,
        id: SignupId,
        absent: bool,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<SignupRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let s = lock_signup(&tx, id).await?;
        let (from, to) = match absent {
            true => (SignupStatus::Accepted, SignupStatus::Absent),
            false => (SignupStatus::Absent, SignupStatus::Accepted),
        };
        if s.status != from {
            return Err(StoreError::Conflict { field: "status" });
        }
        if absent {
            let came = tx
                .query_one(
                    &tx.prepare_cached(ATTENDED).await.map_err(pg_err)?,
                    &[&s.shift.0, &s.volunteer.0],
                )
                .await
                .map_err(pg_err)?;
            if get::<bool>(&came, 0)? {
                return Err(StoreError::Conflict {
                    field: "attendance",
                });
            }
            give_up_place(&tx, s.shift.0).await?;
        } else if !take_place(&tx, s.shift.0).await? {
            return Err(StoreError::Conflict { field: "shift" });
        }
        set_status(&tx, id.0, to, at).await?;
        let mut audit = audit.clone();
        audit.details = serde_json::json!({ "shift": s.shift.0, "volunteer": s.volunteer.0 });
        write_audit(&tx, &audit, None).await?;
        let record = fetch(&tx, id.0, false).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(record)
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
        let s = lock_signup(&tx, id).await?;
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
        audit.details =
            serde_json::json!({ "shift": s.shift.0, "volunteer": s.volunteer.0, "status": status });
        write_audit(&tx, &audit, None).await?;
        let record = fetch(&tx, id.0, false).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(record)
    }

    async fn list_signups(
        &self,
        q: &SignupQuery,
        page: &PageRequest,
    ) -> Result<Page<SignupDetail>> {
        let after = page.after.as_ref().map_or(0, |c| c.key(0));
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "{} WHERE s.id > $1 AND {} AND {} AND ($4::TEXT IS NULL OR s.status = $4)
                 ORDER BY s.id LIMIT $5",
                detail_select(),
                eq_filter("s.shift_id", 2, "BIGINT", q.shift.is_some()),
                eq_filter("s.volunteer_id", 3, "BIGINT", q.volunteer.is_some()),
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
        let items = rows
            .iter()
            .map(detail_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |d| vec![d.signup.id.0]))
    }

    async fn set_calendar_link(
        &self,
        volunteer: VolunteerId,
        token_hash: Option<&[u8]>,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        match token_hash {
            Some(hash) => {
                let stmt = tx
                    .prepare_cached(
                        "INSERT INTO calendar_links (volunteer_id, token_hash, created_at)
                         VALUES ($1, $2, $3)
                         ON CONFLICT (volunteer_id) DO UPDATE
                         SET token_hash = excluded.token_hash, created_at = excluded.created_at",
                    )
                    .await
                    .map_err(pg_err)?;
                tx.execute(&stmt, &[&volunteer.0, &hash, &at]).await
            }
            None => {
                let stmt = tx
                    .prepare_cached("DELETE FROM calendar_links WHERE volunteer_id = $1")
                    .await
                    .map_err(pg_err)?;
                tx.execute(&stmt, &[&volunteer.0]).await
            }
        }
        .map_err(pg_err)?;
        write_audit(&tx, audit, None).await?;
        tx.commit().await.map_err(pg_err)
    }

    async fn calendar_link_volunteer(&self, token_hash: &[u8]) -> Result<Option<VolunteerId>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT volunteer_id FROM calendar_links WHERE token_hash = $1")
            .await
            .map_err(pg_err)?;
        let row = client
            .query_opt(&stmt, &[&token_hash])
            .await
            .map_err(pg_err)?;
        row.map(|r| get(&r, 0).map(VolunteerId)).transpose()
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
