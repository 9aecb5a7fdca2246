//! Art. 11: service records are completed within 10 working days after the activity
//! ends. Shifts whose accepted volunteers still lack an effective record past that day
//! are listed for the team and for its jurisdiction, and flagged to them once by
//! housekeeping. A volunteer marked absent owes no record.

use time::{Date, Duration, OffsetDateTime};
use zhiyuan_domain::access::Access;
use zhiyuan_domain::clock::china_date;
use zhiyuan_domain::ids::OrgId;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_store::UnrecordedShift;

use crate::error::Result;
use crate::{Ctx, Zhiyuan};

/// Working days allowed to complete records after an activity (Art. 11).
pub const RECORD_WORKDAYS: u32 = 10;

/// Shifts read per report, and per round of flagging.
const BATCH: u32 = 500;

/// A shift with missing records, and the day they were due.
#[derive(Debug, Clone)]
pub struct Overdue {
    pub shift: UnrecordedShift,
    pub due: Date,
}

impl Zhiyuan {
    async fn overdue_at(
        &self,
        now: OffsetDateTime,
        org: Option<OrgId>,
        within: Option<RegionCode>,
        unflagged: bool,
    ) -> Result<Vec<Overdue>> {
        let today = china_date(now);
        // Ten working days are at least ten calendar days: a cheap bound for the query,
        // refined by the calendar below.
        let candidates = self
            .0
            .store
            .unrecorded_shifts(
                org,
                within,
                now - Duration::days(RECORD_WORKDAYS.into()),
                unflagged,
                BATCH,
            )
            .await?;
        Ok(candidates
            .into_iter()
            .map(|shift| {
                let due = self
                    .0
                    .config
                    .calendar
                    .add_workdays(china_date(shift.shift.shift.ends_at), RECORD_WORKDAYS);
                Overdue { shift, due }
            })
            .filter(|o| today > o.due)
            .collect())
    }

    /// A team's shifts with records overdue.
    pub async fn org_overdue(&self, ctx: &Ctx, org: OrgId) -> Result<Vec<Overdue>> {
        let o = self.load_org_record(org).await?;
        ctx.require(|p| {
            p.can_run_projects(&o.facts()) || p.can_access_org(&o.facts(), Access::Read)
        })?;
        self.overdue_at(ctx.now, Some(org), None, false).await
    }

    /// A jurisdiction's shifts with records overdue.
    pub async fn region_overdue(
        &self,
        ctx: &Ctx,
        within: Option<RegionCode>,
    ) -> Result<Vec<Overdue>> {
        let within = self.scope_of_listing(ctx, within)?;
        ctx.require(|p| p.covers(within, Access::Read))?;
        self.overdue_at(ctx.now, None, Some(within), false).await
    }

    /// Flags each shift whose records have become overdue to its team and jurisdiction,
    /// once: an audit entry `records.overdue` per shift, which the notifier turns into a
    /// message for the team's administrators and deliveries for the jurisdiction's
    /// subscriptions. Returns how many were flagged. Several servers may run it at once:
    /// a shift is flagged by one of them.
    pub async fn flag_overdue_records(&self, now: OffsetDateTime) -> Result<usize> {
        let ctx = Ctx {
            now,
            ..Ctx::system("overdue-records")
        };
        let mut flagged = 0;
        loop {
            let due = self.overdue_at(now, None, None, true).await?;
            let mut round = 0;
            for o in &due {
                let s = &o.shift;
                let mut audit = ctx.audit("records.overdue", "shift", s.shift.id, Some(s.region));
                audit.details = serde_json::json!({
                    "org": s.org.0,
                    "project": s.shift.shift.project.0,
                    "project_name": s.project_name,
                    "ends_at": crate::credentials::rfc3339(s.shift.shift.ends_at),
                    "due": o.due.to_string(),
                    "missing": s.missing,
                });
                if self.0.store.flag_overdue(s.shift.id, &audit).await? {
                    round += 1;
                }
            }
            flagged += round;
            // A round that flagged nothing has only shifts not yet due by the calendar
            // left (or another server's, or sign-ups owed again on a shift flagged
            // before, which the round flagged too), and a short one has no more.
            if round == 0 || due.len() < BATCH as usize {
                return Ok(flagged);
            }
        }
    }
}
