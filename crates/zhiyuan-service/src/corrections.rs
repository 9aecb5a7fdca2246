//! Corrections (Art. 13): the volunteer reports an error or omission with a reason; the
//! recording unit verifies and approves or rejects. An approval never overwrites: it adds
//! a version, and the history stays visible to the volunteer and to auditors. Also the
//! training, award and evaluation entries of Art. 8 to 10.

use zhiyuan_domain::access::{Access, VolunteerFacts};
use zhiyuan_domain::clock::china_date;
use zhiyuan_domain::ids::OrgId;
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_domain::{FieldError, Invalid, Reason};
use zhiyuan_store::{
    CorrectionId, CorrectionQuery, CorrectionRecord, CorrectionStatus, DayCap, EntryKind,
    EntryRecord, NewCorrection, NewEntry, NewRecord, Page, PageRequest, RecordChanges, RecordId,
    RecordRow, RecordSource, RecordStatus, StoreError,
};

use crate::error::{Result, ServiceError};
use crate::{Actor, Ctx, Zhiyuan};

impl Zhiyuan {
    /// Checks proposed fields, named under `under` as the request names them.
    fn check_changes(
        &self,
        c: &RecordChanges,
        under: &str,
        now: time::OffsetDateTime,
    ) -> Result<()> {
        if let Some(m) = c.minutes {
            self.0
                .config
                .hours
                .check_entered(m)
                .map_err(|e| e.under(under))?;
        }
        if c.service_date.is_some_and(|d| d > china_date(now)) {
            return Err(ServiceError::because(
                format!("{under}.service_date"),
                Reason::InTheFuture,
            ));
        }
        Ok(())
    }

    /// The signed-in volunteer disputes one of their records.
    pub async fn request_correction(
        &self,
        ctx: &Ctx,
        record: RecordId,
        reason: String,
        changes: RecordChanges,
    ) -> Result<CorrectionRecord> {
        let volunteer = ctx.volunteer()?;
        let r = self
            .0
            .store
            .get_record(record)
            .await?
            .ok_or(ServiceError::NotFound("record"))?;
        if r.record.volunteer != volunteer {
            return Err(ServiceError::Forbidden("this is not your record"));
        }
        if !r.is_current {
            return Err(ServiceError::conflict_because(
                "record",
                Reason::NewerVersionExists,
            ));
        }
        if changes.is_empty() {
            return Err(ServiceError::because("changes", Reason::Required));
        }
        self.check_changes(&changes, "changes", ctx.now)?;
        let pending = self
            .0
            .store
            .list_corrections(
                &CorrectionQuery {
                    org: None,
                    volunteer: Some(volunteer),
                    status: Some(CorrectionStatus::Pending),
                },
                &PageRequest::first(200),
            )
            .await?;
        if pending
            .items
            .iter()
            .any(|c| c.correction.record == Some(record))
        {
            return Err(ServiceError::conflict_because(
                "record",
                Reason::CorrectionWaiting,
            ));
        }
        let org = self.load_org_record(r.record.org).await?;
        let mut audit = ctx.audit("correction.request", "correction", "", Some(org.org.region));
        audit.details = serde_json::json!({ "record": record.0, "changes": changes });
        Ok(self
            .0
            .store
            .insert_correction(
                &NewCorrection {
                    record: Some(record),
                    volunteer,
                    org: r.record.org,
                    reason,
                    proposed: changes,
                    created_at: ctx.now,
                },
                &audit,
            )
            .await?)
    }

    /// The signed-in volunteer reports a record the team never made.
    pub async fn report_omission(
        &self,
        ctx: &Ctx,
        org: OrgId,
        reason: String,
        record: RecordChanges,
    ) -> Result<CorrectionRecord> {
        let volunteer = ctx.volunteer()?;
        let o = self.load_org_record(org).await?;
        // A missing record is reported whole: each field it lacks is named.
        let mut missing = Invalid::default();
        for (field, given) in [
            ("activity_name", record.activity_name.is_some()),
            ("service_date", record.service_date.is_some()),
            ("place", record.place.is_some()),
            ("content", record.content.is_some()),
            ("minutes", record.minutes.is_some()),
            ("responsible_person", record.responsible_person.is_some()),
        ] {
            if !given {
                missing.push(FieldError::because(
                    format!("record.{field}"),
                    Reason::Required,
                ));
            }
        }
        missing.finish(|| ())?;
        self.check_changes(&record, "record", ctx.now)?;
        let mut audit = ctx.audit("correction.omission", "correction", "", Some(o.org.region));
        audit.details = serde_json::json!({ "record": record });
        Ok(self
            .0
            .store
            .insert_correction(
                &NewCorrection {
                    record: None,
                    volunteer,
                    org,
                    reason,
                    proposed: record,
                    created_at: ctx.now,
                },
                &audit,
            )
            .await?)
    }

    async fn load_correction(&self, id: CorrectionId) -> Result<CorrectionRecord> {
        self.0
            .store
            .get_correction(id)
            .await?
            .ok_or(ServiceError::NotFound("correction"))
    }

    /// The recording unit approves (a new version, or the missing record) or rejects.
    pub async fn decide_correction(
        &self,
        ctx: &Ctx,
        id: CorrectionId,
        approve: bool,
        note: Option<String>,
    ) -> Result<CorrectionOutcome> {
        let c = self.load_correction(id).await?;
        let org = self.load_org_record(c.correction.org).await?;
        ctx.require(|p| p.can_run_projects(&org.facts()))?;
        if c.status != CorrectionStatus::Pending {
            return Err(ServiceError::conflict_because(
                "status",
                Reason::AlreadyDecided,
            ));
        }
        let mut audit = ctx.audit(
            "correction.decide",
            "correction",
            id.0,
            Some(org.org.region),
        );
        audit.reason = note.clone();
        if !approve {
            let rejected = self
                .0
                .store
                .reject_correction(id, ctx.account(), ctx.now, note, &audit)
                .await?;
            return Ok(CorrectionOutcome {
                correction: rejected,
                record: None,
            });
        }
        let p = &c.correction.proposed;
        let (version, lowers_its_day) = match c.correction.record {
            Some(record) => {
                let old = self
                    .0
                    .store
                    .get_record(record)
                    .await?
                    .ok_or(ServiceError::NotFound("record"))?;
                let o = &old.record;
                let version = NewRecord {
                    activity_name: p
                        .activity_name
                        .clone()
                        .unwrap_or_else(|| o.activity_name.clone()),
                    service_date: p.service_date.unwrap_or(o.service_date),
                    place: p.place.clone().unwrap_or_else(|| o.place.clone()),
                    content: p.content.clone().unwrap_or_else(|| o.content.clone()),
                    minutes: p.minutes.unwrap_or(o.minutes),
                    responsible_person: p
                        .responsible_person
                        .clone()
                        .unwrap_or_else(|| o.responsible_person.clone()),
                    source: RecordSource::Correction,
                    flags: vec![],
                    dedupe_key: None,
                    created_at: ctx.now,
                    created_by: ctx.account(),
                    ..o.clone()
                };
                // A version that gives its day no more minutes than the old one is never
                // refused for the cap, even on a day over it (the cap may have been lowered
                // since): correcting hours down must always be possible.
                let lowers = o.status == RecordStatus::Effective
                    && o.service_date == version.service_date
                    && version.minutes <= o.minutes;
                (version, lowers)
            }
            None => (
                NewRecord {
                    volunteer: c.correction.volunteer,
                    org: c.correction.org,
                    project: None,
                    shift: None,
                    activity_name: p.activity_name.clone().unwrap_or_default(),
                    service_date: p.service_date.unwrap_or_else(|| china_date(ctx.now)),
                    place: p.place.clone().unwrap_or_default(),
                    content: p.content.clone().unwrap_or_default(),
                    minutes: p.minutes.unwrap_or_default(),
                    responsible_person: p.responsible_person.clone().unwrap_or_default(),
                    source: RecordSource::Correction,
                    status: RecordStatus::Effective,
                    flags: vec![],
                    dedupe_key: None,
                    created_at: ctx.now,
                    created_by: ctx.account(),
                },
                false,
            ),
        };
        let corrected = self
            .0
            .store
            .approve_correction(
                id,
                &version,
                ctx.account(),
                ctx.now,
                note,
                match lowers_its_day {
                    true => DayCap::NONE,
                    false => self.day_cap(),
                },
                &audit,
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict { field: "record" } => {
                    ServiceError::conflict_because("record", Reason::ChangedMeanwhile)
                }
                StoreError::Conflict { field: "status" } => {
                    ServiceError::conflict_because("status", Reason::AlreadyDecided)
                }
                other => other.into(),
            })?;
        Ok(CorrectionOutcome {
            correction: corrected.correction,
            record: Some(corrected.record),
        })
    }

    /// A team's corrections (e.g. the pending ones to decide).
    pub async fn org_corrections(
        &self,
        ctx: &Ctx,
        org: OrgId,
        status: Option<CorrectionStatus>,
        page: &PageRequest,
    ) -> Result<Page<CorrectionRecord>> {
        let o = self.load_org_record(org).await?;
        ctx.require(|p| {
            p.can_run_projects(&o.facts()) || p.can_access_org(&o.facts(), Access::Read)
        })?;
        Ok(self
            .0
            .store
            .list_corrections(
                &CorrectionQuery {
                    org: Some(org),
                    volunteer: None,
                    status,
                },
                page,
            )
            .await?)
    }

    /// A volunteer's corrections, for whoever may read the volunteer.
    pub async fn volunteer_corrections(
        &self,
        ctx: &Ctx,
        number: VolunteerNumber,
        page: &PageRequest,
    ) -> Result<Page<CorrectionRecord>> {
        let v = self.get_volunteer(ctx, number).await?;
        Ok(self
            .0
            .store
            .list_corrections(
                &CorrectionQuery {
                    org: None,
                    volunteer: Some(v.id),
                    status: None,
                },
                page,
            )
            .await?)
    }

    /// Every version of a record, oldest first: for the volunteer, the recording unit,
    /// and those who may read the volunteer (auditors included).
    pub async fn record_history(&self, ctx: &Ctx, record: RecordId) -> Result<Vec<RecordRow>> {
        let r = self
            .0
            .store
            .get_record(record)
            .await?
            .ok_or(ServiceError::NotFound("record"))?;
        let org = self.load_org_record(r.record.org).await?;
        let allowed_cheaply = ctx.allows(|p| {
            p.volunteer == Some(r.record.volunteer)
                || p.can_run_projects(&org.facts())
                || p.can_access_org(&org.facts(), Access::Read)
        });
        if !allowed_cheaply {
            let v = self
                .0
                .store
                .get_volunteer(r.record.volunteer)
                .await?
                .ok_or(ServiceError::NotFound("volunteer"))?;
            let facts = VolunteerFacts {
                id: v.id,
                region: v.profile.residence_region,
                orgs: self.0.store.volunteer_orgs(v.id).await?,
            };
            ctx.require(|p| p.can_read_volunteer(&facts))?;
        }
        Ok(self.0.store.record_history(r.lineage()).await?)
    }

    /// The team records a training, an award or an evaluation for a volunteer.
    pub async fn add_entry(
        &self,
        ctx: &Ctx,
        org: OrgId,
        volunteer: VolunteerNumber,
        mut entry: NewEntry,
    ) -> Result<EntryRecord> {
        let o = self.load_org_record(org).await?;
        ctx.require(|p| p.can_run_projects(&o.facts()))?;
        let v = self
            .0
            .store
            .get_volunteer_by_number(volunteer)
            .await?
            .ok_or_else(|| ServiceError::because("volunteer", Reason::NoSuchVolunteer))?;
        match entry.kind {
            EntryKind::Training if entry.duration_minutes.is_none_or(|m| m <= 0) => {
                return Err(ServiceError::because("duration_minutes", Reason::Required));
            }
            EntryKind::Evaluation if entry.rating.is_none() => {
                return Err(ServiceError::because("rating", Reason::Required));
            }
            _ => {}
        }
        entry.volunteer = v.id;
        entry.org = org;
        entry.created_at = ctx.now;
        entry.created_by = match &ctx.actor {
            Actor::User(p) => Some(p.account),
            _ => None,
        };
        let mut audit = ctx.audit("entry.create", "entry", "", Some(o.org.region));
        audit.details =
            serde_json::json!({ "kind": entry.kind, "volunteer": v.number.to_string() });
        Ok(self.0.store.insert_entry(&entry, &audit).await?)
    }

    pub async fn volunteer_entries(
        &self,
        ctx: &Ctx,
        number: VolunteerNumber,
        kind: Option<EntryKind>,
        page: &PageRequest,
    ) -> Result<Page<EntryRecord>> {
        let v = self.get_volunteer(ctx, number).await?;
        Ok(self.0.store.list_entries(v.id, kind, page).await?)
    }
}

/// How a correction was decided: the correction, and the new record version when it
/// was approved.
#[derive(Debug, Clone)]
pub struct CorrectionOutcome {
    pub correction: CorrectionRecord,
    pub record: Option<RecordRow>,
}
