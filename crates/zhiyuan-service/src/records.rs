//! Service records (Art. 7): self-reports that count once approved, entries by the team,
//! listings, and a volunteer's totals (Art. 12).

use time::Date;
use zhiyuan_domain::Reason;
use zhiyuan_domain::access::Access;
use zhiyuan_domain::clock::china_date;
use zhiyuan_domain::ids::OrgId;
use zhiyuan_domain::project::SignupStatus;
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{
    DayCap, NewRecord, Page, PageRequest, RecordId, RecordQuery, RecordRow, RecordSource,
    RecordStatus, ShiftId, StoreError, Totals, VolunteerRecord,
};

use crate::error::{Result, ServiceError};
use crate::{Ctx, Zhiyuan};

/// A record the volunteer reports for a shift they served but did not check in to.
#[derive(Debug, Clone)]
pub struct SelfReport {
    pub shift: ShiftId,
    pub minutes: i64,
    pub content: String,
}

/// A record the team enters directly (one by one; batches go through the same checks).
#[derive(Debug, Clone)]
pub struct Entry {
    pub volunteer: VolunteerNumber,
    pub activity_name: String,
    pub service_date: Date,
    pub place: String,
    pub content: String,
    pub minutes: i64,
    pub responsible_person: String,
    /// Makes repeating the same entry a no-op.
    pub dedupe_key: Option<String>,
}

impl Zhiyuan {
    /// The signed-in volunteer reports time for a shift; it counts once the team approves.
    pub async fn report_time(&self, ctx: &Ctx, r: SelfReport) -> Result<RecordRow> {
        let volunteer = ctx.volunteer()?;
        let (shift, project) = self.load_shift(r.shift).await?;
        self.0.config.hours.check_entered(r.minutes)?;
        let accepted = self
            .0
            .store
            .find_signup(r.shift, volunteer)
            .await?
            .is_some_and(|s| s.status == SignupStatus::Accepted);
        if !accepted {
            return Err(ServiceError::conflict_because("shift", Reason::NoSignup));
        }
        if ctx.now < shift.shift.starts_at {
            return Err(ServiceError::because("shift", Reason::ShiftNotStarted));
        }
        if self
            .0
            .store
            .get_attendance(r.shift, volunteer)
            .await?
            .is_some()
        {
            return Err(ServiceError::conflict_because(
                "shift",
                Reason::AttendanceTaken,
            ));
        }
        let window = (shift.shift.ends_at - shift.shift.starts_at).whole_minutes();
        if r.minutes > window {
            return Err(ServiceError::because(
                "minutes",
                Reason::LongerThanShift { minutes: window },
            ));
        }
        let p = &project.project;
        let record = NewRecord {
            volunteer,
            org: p.org,
            project: Some(project.id),
            shift: Some(shift.id),
            activity_name: format!("{}（{}）", p.name, shift.shift.position),
            service_date: china_date(shift.shift.starts_at),
            place: p.address.clone(),
            content: r.content,
            minutes: r.minutes,
            responsible_person: p.responsible_person.clone(),
            source: RecordSource::SelfReport,
            status: RecordStatus::Pending,
            flags: vec![],
            // One report per volunteer and shift.
            dedupe_key: Some(format!("self:{}:{}", shift.id.0, volunteer.0)),
            created_at: ctx.now,
            created_by: ctx.account(),
        };
        let mut audit = ctx.audit("record.report", "record", "", Some(p.region));
        audit.details = serde_json::json!({ "shift": shift.id.0, "minutes": r.minutes });
        self.0
            .store
            .insert_record(&record, self.day_cap(), &audit)
            .await
            .map_err(|e| match e {
                StoreError::Conflict {
                    field: "dedupe_key",
                } => ServiceError::conflict_because("shift", Reason::AlreadyReported),
                other => other.into(),
            })
    }

    /// The daily cap, which the store checks again inside every write that adds minutes.
    pub(crate) fn day_cap(&self) -> DayCap {
        DayCap(self.0.config.hours.daily_cap_minutes)
    }

    async fn load_record(&self, id: RecordId) -> Result<RecordRow> {
        self.0
            .store
            .get_record(id)
            .await?
            .ok_or(ServiceError::NotFound("record"))
    }

    /// The team approves or rejects a pending record (a self-report, or an attendance the
    /// system closed).
    pub async fn decide_record(
        &self,
        ctx: &Ctx,
        id: RecordId,
        approve: bool,
        reason: Option<String>,
    ) -> Result<RecordRow> {
        let r = self.load_record(id).await?;
        let org = self.load_org_record(r.record.org).await?;
        ctx.require(|p| p.can_run_projects(&org.facts()))?;
        let status = if approve {
            RecordStatus::Effective
        } else {
            RecordStatus::Rejected
        };
        let mut audit = ctx.audit("record.decide", "record", id, Some(org.org.region));
        audit.reason = reason;
        audit.details = serde_json::json!({ "status": status, "minutes": r.record.minutes });
        self.0
            .store
            .decide_record(id, status, ctx.account(), ctx.now, self.day_cap(), &audit)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { field: "status" } => {
                    ServiceError::conflict_because("status", Reason::AlreadyDecided)
                }
                other => other.into(),
            })
    }

    /// Checks an entry against the rules and turns it into a record of `org`.
    pub(crate) async fn entry_record(
        &self,
        ctx: &Ctx,
        org: OrgId,
        e: Entry,
    ) -> Result<(NewRecord, VolunteerRecord)> {
        self.0.config.hours.check_entered(e.minutes)?;
        if e.service_date > china_date(ctx.now) {
            return Err(ServiceError::because("service_date", Reason::InTheFuture));
        }
        let v = self
            .0
            .store
            .get_volunteer_by_number(e.volunteer)
            .await?
            .ok_or_else(|| ServiceError::because("volunteer", Reason::NoSuchVolunteer))?;
        let record = NewRecord {
            volunteer: v.id,
            org,
            project: None,
            shift: None,
            activity_name: e.activity_name,
            service_date: e.service_date,
            place: e.place,
            content: e.content,
            minutes: e.minutes,
            responsible_person: e.responsible_person,
            source: RecordSource::Entry,
            status: RecordStatus::Effective,
            flags: vec![],
            dedupe_key: e.dedupe_key,
            created_at: ctx.now,
            created_by: ctx.account(),
        };
        Ok((record, v))
    }

    /// The team enters a record directly.
    pub async fn enter_record(&self, ctx: &Ctx, org: OrgId, e: Entry) -> Result<RecordRow> {
        let org_record = self.load_org_record(org).await?;
        ctx.require(|p| p.can_run_projects(&org_record.facts()))?;
        let (record, _) = self.entry_record(ctx, org, e).await?;
        // A repeated entry is refused by the store (on `dedupe_key`) before its minutes
        // are counted, so it is a duplicate even on a full day.
        let mut audit = ctx.audit("record.enter", "record", "", Some(org_record.org.region));
        audit.details = serde_json::json!({ "minutes": record.minutes });
        self.0
            .store
            .insert_record(&record, self.day_cap(), &audit)
            .await
            .map_err(|e| match e {
                StoreError::Conflict {
                    field: "dedupe_key",
                } => duplicate_entry(),
                other => other.into(),
            })
    }

    /// A volunteer's records, for whoever may read the volunteer.
    pub async fn volunteer_records(
        &self,
        ctx: &Ctx,
        number: VolunteerNumber,
        page: &PageRequest,
    ) -> Result<Page<RecordRow>> {
        let v = self.get_volunteer(ctx, number).await?;
        Ok(self
            .0
            .store
            .list_records(
                &RecordQuery {
                    volunteer: Some(v.id),
                    current_only: true,
                    ..RecordQuery::default()
                },
                page,
            )
            .await?)
    }

    /// A team's records (e.g. `status=pending` to approve), for the team and above.
    pub async fn org_records(
        &self,
        ctx: &Ctx,
        org: OrgId,
        status: Option<RecordStatus>,
        page: &PageRequest,
    ) -> Result<Page<RecordRow>> {
        let o = self.load_org_record(org).await?;
        ctx.require(|p| {
            p.can_run_projects(&o.facts()) || p.can_access_org(&o.facts(), Access::Read)
        })?;
        Ok(self
            .0
            .store
            .list_records(
                &RecordQuery {
                    org: Some(org),
                    status,
                    current_only: true,
                    ..RecordQuery::default()
                },
                page,
            )
            .await?)
    }

    /// A volunteer's totals: all time, this year and record counts, in constant time.
    pub async fn volunteer_totals(&self, ctx: &Ctx, number: VolunteerNumber) -> Result<Totals> {
        let v = self.get_volunteer(ctx, number).await?;
        Ok(self
            .0
            .store
            .totals(v.id, china_date(ctx.now).year())
            .await?)
    }
}

fn duplicate_entry() -> ServiceError {
    ServiceError::conflict_because("dedupe_key", Reason::AlreadyRecorded)
}
