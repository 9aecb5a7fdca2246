//! Sign-ups. The writer connection serialises every write, so a place is taken or freed
//! by exactly one transaction at a time; the `CHECK (accepted <= capacity)` on shifts is
//! the last line of defence.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use time::OffsetDateTime;
use zhiyuan_domain::ids::VolunteerId;
use zhiyuan_domain::project::{SignupMode, SignupStatus};
use zhiyuan_domain::site::GeoPoint;
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{
    AuditEntry, Check, Page, PageRequest, Result, ShiftId, SignupDetail, SignupFacts, SignupId,
    SignupMade, SignupQuery, SignupRecord, SignupStore, StoreError,
};

use crate::SqliteStore;
use crate::conv::{col, eq_filter, micros, opt_time, store_err, time, write_audit};
use crate::projects::{get_project, get_shift, shift_at};
use crate::volunteers;

const SELECT: &str = "SELECT s.id, s.shift_id, s.volunteer_id, v.number, s.status, s.created_at,
    s.decided_at FROM signups s JOIN volunteers v ON v.id = s.volunteer_id";

fn from_row(row: &Row<'_>) -> rusqlite::Result<SignupRecord> {
    Ok(SignupRecord {
        id: SignupId(row.get(0)?),
        shift: ShiftId(row.get(1)?),
        volunteer: VolunteerId(row.get(2)?),
        volunteer_number: col(row, 3, VolunteerNumber::from_i64)?,
        status: col(row, 4, |s: String| SignupStatus::parse(&s))?,
        created_at: time(row, 5)?,
        decided_at: opt_time(row, 6)?,
    })
}

/// A sign-up with its shift and project.
const DETAIL: &str = "SELECT s.id, s.shift_id, s.volunteer_id, v.number, s.status, s.created_at,
        s.decided_at,
        sh.id, sh.project_id, sh.position, sh.starts_at, sh.ends_at, sh.capacity,
        sh.accepted, sh.cancelled, sh.version, p.name, p.address, p.lat, p.lng
     FROM signups s
     JOIN volunteers v ON v.id = s.volunteer_id
     JOIN shifts sh ON sh.id = s.shift_id
     JOIN projects p ON p.id = sh.project_id";

/// A volunteer's (`?1`) other (`?4`) live sign-ups overlapping `?2..?3`. Its columns are
/// all in `signups_volunteer_time` (migration 0027), so the sign-ups that do not overlap
/// are passed over in the index, each overlapping one alone read from the table.
pub(crate) const OVERLAPS: &str = "s.volunteer_id = ?1
    AND s.status IN ('pending', 'accepted', 'waitlisted')
    AND s.ends_at > ?2 AND s.starts_at < ?3 AND s.id <> ?4";

/// The first 20 of [`OVERLAPS`], in time order.
pub(crate) fn overlaps_sql() -> String {
    format!("{DETAIL} WHERE {OVERLAPS} ORDER BY s.starts_at, s.id LIMIT 20")
}

fn detail_from_row(row: &Row<'_>) -> rusqlite::Result<SignupDetail> {
    Ok(SignupDetail {
        signup: from_row(row)?,
        shift: shift_at(row, 7)?,
        project_name: row.get(16)?,
        address: row.get(17)?,
        location: GeoPoint::from_columns(row.get(18)?, row.get(19)?),
    })
}

fn get(c: &Connection, id: i64) -> rusqlite::Result<Option<SignupRecord>> {
    c.prepare_cached(&format!("{SELECT} WHERE s.id = ?1"))?
        .query_row([id], from_row)
        .optional()
}

/// Takes a place on `shift` if one is free (a cancelled shift has none: nobody is promoted
/// or accepted into it).
fn take_place(tx: &Transaction<'_>, shift: i64) -> Result<bool> {
    let taken = tx
        .prepare_cached(
            "UPDATE shifts SET accepted = accepted + 1
             WHERE id = ?1 AND accepted < capacity AND cancelled = 0",
        )
        .and_then(|mut s| s.execute([shift]))
        .map_err(store_err)?;
    Ok(taken == 1)
}

/// A sign-up that must exist.
fn existing(tx: &Transaction<'_>, id: i64) -> Result<SignupRecord> {
    get(tx, id).map_err(store_err)?.ok_or(StoreError::NotFound)
}

fn give_up_place(tx: &Transaction<'_>, shift: i64) -> Result<()> {
    tx.prepare_cached("UPDATE shifts SET accepted = accepted - 1 WHERE id = ?1")
        .and_then(|mut q| q.execute([shift]))
        .map_err(store_err)?;
    Ok(())
}

/// Whether a volunteer (`?2`) came to a shift (`?1`): checked in, or has a current record
/// of it that is effective or waiting for a decision.
const ATTENDED: &str =
    "SELECT EXISTS (SELECT 1 FROM attendance WHERE shift_id = ?1 AND volunteer_id = ?2)
    OR EXISTS (SELECT 1 FROM service_records WHERE shift_id = ?1 AND volunteer_id = ?2
               AND is_current = 1 AND status IN ('effective', 'pending'))";

/// The first on shift `?1`'s waitlist, if the shift has not ended at `?2` (through the
/// waitlist's own index, migration 0032).
pub(crate) const NEXT_WAITLISTED: &str =
    "SELECT id FROM signups WHERE shift_id = ?1 AND status = 'waitlisted' AND ends_at > ?2
     ORDER BY created_at, id LIMIT 1";

/// Gives the free places of `shift` to the first on its waitlist, in the order they
/// signed up, each promotion audited as a consequence of `cause`; nobody once the shift
/// has ended at `at` (they could not have come, and would be owed a record). Returns
/// those promoted.
pub(crate) fn promote_waitlist(
    tx: &Transaction<'_>,
    shift: i64,
    at: i64,
    cause: &AuditEntry,
) -> Result<Vec<SignupRecord>> {
    let mut promoted = Vec::new();
    loop {
        let next: Option<i64> = tx
            .prepare_cached(NEXT_WAITLISTED)
            .and_then(|mut q| q.query_row([shift, at], |r| r.get(0)).optional())
            .map_err(store_err)?;
        let Some(next) = next else { break };
        if !take_place(tx, shift)? {
            break;
        }
        set_status(tx, next, SignupStatus::Accepted, at)?;
        let s = existing(tx, next)?;
        write_audit(tx, &s.promotion_audit(cause), None)?;
        promoted.push(s);
    }
    Ok(promoted)
}

fn set_status(tx: &Transaction<'_>, id: i64, status: SignupStatus, at: i64) -> Result<()> {
    tx.prepare_cached("UPDATE signups SET status = ?2, decided_at = ?3 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![id, status.as_str(), at]))
        .map_err(store_err)?;
    Ok(())
}

#[async_trait]
impl SignupStore for SqliteStore {
    async fn sign_up(
        &self,
        shift: ShiftId,
        volunteer: VolunteerId,
        at: OffsetDateTime,
        check: Check<SignupFacts>,
        audit: &AuditEntry,
    ) -> Result<SignupMade> {
        let audit = audit.clone();
        self.write(move |tx| {
            let shift_record = get_shift(tx, shift.0)
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)?;
            let facts = SignupFacts {
                project: get_project(tx, shift_record.shift.project.0)
                    .map_err(store_err)?
                    .ok_or(StoreError::NotFound)?,
                shift: shift_record,
                volunteer: volunteers::get_by(tx, "id", volunteer.0)
                    .map_err(store_err)?
                    .ok_or(StoreError::NotFound)?,
            };
            check(&facts).map_err(StoreError::Refused)?;
            let existing: Option<(i64, String)> = tx
                .prepare_cached("SELECT id, status FROM signups WHERE shift_id = ?1 AND volunteer_id = ?2")
                .and_then(|mut s| {
                    s.query_row([shift.0, volunteer.0], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                })
                .map_err(store_err)?;
            if let Some((_, status)) = &existing
                && SignupStatus::parse(status).is_some_and(SignupStatus::is_live) {
                    return Err(StoreError::Conflict { field: "volunteer" });
                }
            let status = match facts.project.project.signup_mode {
                SignupMode::Approval => SignupStatus::Pending,
                SignupMode::Automatic if take_place(tx, shift.0)? => SignupStatus::Accepted,
                SignupMode::Automatic => SignupStatus::Waitlisted,
            };
            let decided = (status == SignupStatus::Accepted).then(|| micros(at));
            let id = match existing {
                // A volunteer who cancelled signs up again: the row is reused, and the
                // new created_at puts them at the back of the waitlist.
                Some((id, _)) => {
                    tx.execute(
                        "UPDATE signups SET status = ?2, created_at = ?3, decided_at = ?4 WHERE id = ?1",
                        params![id, status.as_str(), micros(at), decided],
                    )
                    .map_err(store_err)?;
                    id
                }
                None => {
                    let sh = &facts.shift.shift;
                    tx.prepare_cached(
                        "INSERT INTO signups (shift_id, volunteer_id, status, created_at, decided_at,
                             starts_at, ends_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )
                    .and_then(|mut s| {
                        s.execute(params![
                            shift.0,
                            volunteer.0,
                            status.as_str(),
                            micros(at),
                            decided,
                            micros(sh.starts_at),
                            micros(sh.ends_at)
                        ])
                    })
                    .map_err(store_err)?;
                    tx.last_insert_rowid()
                }
            };
            let mut audit = audit;
            audit.region = Some(facts.project.project.region);
            audit.details = serde_json::json!({ "shift": shift.0, "status": status });
            write_audit(tx, &audit, Some(id.to_string()))?;
            let signup = get(tx, id).map_err(store_err)?.ok_or(StoreError::NotFound)?;
            // Overlaps are found here rather than by a reader afterwards: the writer's
            // page cache is warm, a reader's is emptied by every commit.
            let sh = &facts.shift.shift;
            let overlaps = tx
                .prepare_cached(&overlaps_sql())
                .and_then(|mut q| {
                    q.query_map(
                        params![volunteer.0, micros(sh.starts_at), micros(sh.ends_at), id],
                        detail_from_row,
                    )?
                    .collect()
                })
                .map_err(store_err)?;
            Ok(SignupMade { signup, overlaps })
        })
        .await
    }

    async fn get_signup(&self, id: SignupId) -> Result<Option<SignupRecord>> {
        self.lookup(move |c| get(c, id.0)).await
    }

    async fn find_signup(
        &self,
        shift: ShiftId,
        volunteer: VolunteerId,
    ) -> Result<Option<SignupRecord>> {
        self.lookup(move |c| {
            c.prepare_cached(&format!(
                "{SELECT} WHERE s.shift_id = ?1 AND s.volunteer_id = ?2"
            ))?
            .query_row([shift.0, volunteer.0], from_row)
            .optional()
        })
        .await
    }

    async fn cancel_signup(
        &self,
        id: SignupId,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<(SignupRecord, Vec<SignupRecord>)> {
        let audit = audit.clone();
        self.write(move |tx| {
            let s = existing(tx, id.0)?;
            if !s.status.is_live() {
                return Err(StoreError::Conflict { field: "status" });
            }
            set_status(tx, id.0, SignupStatus::Cancelled, micros(at))?;
            let mut promoted = Vec::new();
            if s.status == SignupStatus::Accepted {
                give_up_place(tx, s.shift.0)?;
                promoted = promote_waitlist(tx, s.shift.0, micros(at), &audit)?;
            }
            let mut audit = audit;
            audit.details = serde_json::json!({
                "shift": s.shift.0,
                "volunteer": s.volunteer.0,
                "from": s.status,
                "promoted": promoted.iter().map(|p| p.id.0).collect::<Vec<_>>(),
            });
            write_audit(tx, &audit, None)?;
            let cancelled = existing(tx, id.0)?;
            Ok((cancelled, promoted))
        })
        .await
    }

    async fn set_absent(
        &self,
        id: SignupId,
        absent: bool,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<SignupRecord> {
        let audit = audit.clone();
        self.write(move |tx| {
            let s = existing(tx, id.0)?;
            let (from, to) = match absent {
                true => (SignupStatus::Accepted, SignupStatus::Absent),
                false => (SignupStatus::Absent, SignupStatus::Accepted),
            };
            if s.status != from {
                return Err(StoreError::Conflict { field: "status" });
            }
            if absent {
                let came: bool = tx
                    .prepare_cached(ATTENDED)
                    .and_then(|mut q| q.query_row([s.shift.0, s.volunteer.0], |r| r.get(0)))
                    .map_err(store_err)?;
                if came {
                    return Err(StoreError::Conflict {
                        field: "attendance",
                    });
                }
                give_up_place(tx, s.shift.0)?;
            } else if !take_place(tx, s.shift.0)? {
                return Err(StoreError::Conflict { field: "shift" });
            }
            set_status(tx, id.0, to, micros(at))?;
            let mut audit = audit;
            audit.details = serde_json::json!({ "shift": s.shift.0, "volunteer": s.volunteer.0 });
            write_audit(tx, &audit, None)?;
            existing(tx, id.0)
        })
        .await
    }

    async fn decide_signup(
        &self,
        id: SignupId,
        accept: bool,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<SignupRecord> {
        let audit = audit.clone();
        self.write(move |tx| {
            let s = existing(tx, id.0)?;
            if s.status != SignupStatus::Pending {
                return Err(StoreError::Conflict { field: "status" });
            }
            let status = match accept {
                false => SignupStatus::Rejected,
                true if take_place(tx, s.shift.0)? => SignupStatus::Accepted,
                true => SignupStatus::Waitlisted,
            };
            set_status(tx, id.0, status, micros(at))?;
            let mut audit = audit;
            audit.details = serde_json::json!({
                "shift": s.shift.0, "volunteer": s.volunteer.0, "status": status,
            });
            write_audit(tx, &audit, None)?;
            existing(tx, id.0)
        })
        .await
    }

    async fn list_signups(
        &self,
        q: &SignupQuery,
        page: &PageRequest,
    ) -> Result<Page<SignupDetail>> {
        let shift = q.shift.map(|s| s.0);
        let volunteer = q.volunteer.map(|v| v.0);
        let status = q.status.map(SignupStatus::as_str);
        let after = page.after.as_ref().map_or(0, |c| c.key(0));
        let limit = page.limit;
        // Equality on the filters given, so that their indexes can be used.
        let sql = format!(
            "{DETAIL} WHERE s.id > ?1 AND {} AND {} AND (?4 IS NULL OR s.status = ?4)
             ORDER BY s.id LIMIT ?5",
            eq_filter("s.shift_id", 2, shift.is_some()),
            eq_filter("s.volunteer_id", 3, volunteer.is_some()),
        );
        self.read(move |c| {
            let rows = c
                .prepare_cached(&sql)?
                .query_map(
                    params![after, shift, volunteer, status, limit + 1],
                    detail_from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |d| vec![d.signup.id.0]))
        })
        .await
    }

    async fn set_calendar_link(
        &self,
        volunteer: VolunteerId,
        token_hash: Option<&[u8]>,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<()> {
        let (hash, audit) = (token_hash.map(<[u8]>::to_vec), audit.clone());
        self.write(move |tx| {
            match hash {
                Some(hash) => tx.execute(
                    "INSERT INTO calendar_links (volunteer_id, token_hash, created_at)
                     VALUES (?1, ?2, ?3)
                     ON CONFLICT (volunteer_id) DO UPDATE
                     SET token_hash = excluded.token_hash, created_at = excluded.created_at",
                    params![volunteer.0, hash, micros(at)],
                ),
                None => tx.execute(
                    "DELETE FROM calendar_links WHERE volunteer_id = ?1",
                    [volunteer.0],
                ),
            }
            .map_err(store_err)?;
            write_audit(tx, &audit, None)
        })
        .await
    }

    async fn calendar_link_volunteer(&self, token_hash: &[u8]) -> Result<Option<VolunteerId>> {
        let hash = token_hash.to_vec();
        self.read(move |c| {
            c.prepare_cached("SELECT volunteer_id FROM calendar_links WHERE token_hash = ?1")?
                .query_row([hash], |r| r.get(0).map(VolunteerId))
                .optional()
        })
        .await
    }

    async fn volunteer_schedule(
        &self,
        volunteer: VolunteerId,
        after: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<SignupDetail>> {
        self.lookup(move |c| {
            c.prepare_cached(&format!(
                "{DETAIL} WHERE s.volunteer_id = ?1 AND s.status IN ('pending', 'accepted', 'waitlisted')
                   AND s.ends_at > ?2
                 ORDER BY s.starts_at, s.id LIMIT ?3"
            ))?
            .query_map(params![volunteer.0, micros(after), limit], detail_from_row)?
            .collect()
        })
        .await
    }
}
