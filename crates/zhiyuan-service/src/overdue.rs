//! Art. 11: service records are completed within 10 working days after the activity
//! ends. Shifts whose accepted volunteers still lack an effective record past that day
//! are listed for the team and for its jurisdiction.

use time::{Date, Duration};
use zhiyuan_domain::access::Access;
use zhiyuan_domain::clock::china_date;
use zhiyuan_domain::ids::OrgId;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_store::UnrecordedShift;

use crate::error::Result;
use crate::{Ctx, Zhiyuan};

/// Working days allowed to complete records after an activity (Art. 11).
pub const RECORD_WORKDAYS: u32 = 10;

/// A shift with missing records, and the day they were due.
#[derive(Debug, Clone)]
pub struct Overdue {
    pub shift: UnrecordedShift,
    pub due: Date,
}

impl Zhiyuan {
    async fn overdue(
        &self,
        ctx: &Ctx,
        org: Option<OrgId>,
        within: Option<RegionCode>,
    ) -> Result<Vec<Overdue>> {
        let today = china_date(ctx.now);
        // Ten working days are at least ten calendar days: a cheap bound for the query,
        // refined by the calendar below.
        let candidates = self
            .0
            .store
            .unrecorded_shifts(
                org,
                within,
                ctx.now - Duration::days(RECORD_WORKDAYS.into()),
                500,
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
        self.overdue(ctx, Some(org), None).await
    }

    /// A jurisdiction's shifts with records overdue.
    pub async fn region_overdue(
        &self,
        ctx: &Ctx,
        within: Option<RegionCode>,
    ) -> Result<Vec<Overdue>> {
        let within = self.scope_of_listing(ctx, within)?;
        ctx.require(|p| p.covers(within, Access::Read))?;
        self.overdue(ctx, None, Some(within)).await
    }
}
