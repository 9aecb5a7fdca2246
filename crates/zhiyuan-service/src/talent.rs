//! The professional talent pool (专业人才库): volunteers declare their professional
//! qualifications (doctor, nurse, teacher, rescue, counselling, legal aid, engineering…)
//! with the certificate's details; the jurisdiction of their residence verifies them
//! (Art. 16) before they count; jurisdictions list the verified pool of their area, the
//! people an emergency call draws on.

use time::Date;
use time::OffsetDateTime;
use zhiyuan_domain::access::Access;
use zhiyuan_domain::clock::china_date;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::site::GeoPoint;
use zhiyuan_domain::talent::MemberStatus;
use zhiyuan_domain::talent::{QualificationKind, QualificationStatus};
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_domain::{FieldError, Invalid, Reason};
use zhiyuan_store::{
    CallMember, CallRecord, NewCall, NewQualification, Page, PageRequest, PoolQuery,
    QualificationRecord, RollCall, StoreError,
};

use crate::error::{Result, ServiceError};
use crate::text;
use crate::{Ctx, Zhiyuan};

/// A qualification as the volunteer declares it.
#[derive(Debug, Clone, Default)]
pub struct QualificationInput {
    pub kind: String,
    pub title: String,
    pub certificate_number: String,
    pub issuer: String,
    pub valid_until: Option<Date>,
}

/// A mobilisation call as a jurisdiction administrator issues it.
#[derive(Debug, Clone, Default)]
pub struct CallInput {
    pub region: String,
    pub kinds: Vec<String>,
    pub needed: i64,
    /// How many to notify (default three times those needed: some will not come).
    pub notify: Option<i64>,
    pub assembly_point: String,
    pub location: Option<(f64, f64)>,
    pub assemble_at: Option<OffsetDateTime>,
    pub note: String,
}

/// How close to the assembly point a check-in must be, when the call gives its place.
pub const CHECK_IN_RADIUS_M: f64 = 500.0;

/// The most volunteers one call notifies.
pub const MAX_NOTIFIED: i64 = 100_000;

/// The latest birth date of an adult on `today`.
fn adult_born_by(today: Date) -> Date {
    let year = today.year() - 18;
    Date::from_calendar_date(year, today.month(), today.day())
        .or_else(|_| Date::from_calendar_date(year, today.month(), 28))
        .unwrap_or(today)
}

impl Zhiyuan {
    /// The signed-in volunteer declares a qualification; it joins the pool once verified.
    pub async fn add_qualification(
        &self,
        ctx: &Ctx,
        input: QualificationInput,
    ) -> Result<QualificationRecord> {
        let v = self.signed_in_volunteer(ctx).await?;
        let volunteer = v.id;
        let mut errors = Invalid::default();
        let kind = QualificationKind::parse(&input.kind);
        if kind.is_none() {
            errors.push(FieldError::because(
                "kind",
                Reason::one_of(&QualificationKind::ALL.map(QualificationKind::as_str)),
            ));
        }
        let title = text("title", &input.title, 100, &mut errors);
        let certificate_number = text(
            "certificate_number",
            &input.certificate_number,
            60,
            &mut errors,
        );
        let issuer = text("issuer", &input.issuer, 100, &mut errors);
        if input.valid_until.is_some_and(|d| d < china_date(ctx.now)) {
            errors.push(FieldError::because("valid_until", Reason::Expired));
        }
        let q = errors.finish(|| NewQualification {
            volunteer,
            kind: kind.unwrap_or(QualificationKind::Other),
            title,
            certificate_number,
            issuer,
            valid_until: input.valid_until,
            created_at: ctx.now,
        })?;
        let mut audit = ctx.audit(
            "qualification.add",
            "qualification",
            "",
            Some(v.profile.residence_region),
        );
        audit.details = serde_json::json!({ "kind": q.kind.as_str(), "title": q.title });
        Ok(self.0.store.insert_qualification(&q, &audit).await?)
    }

    /// A volunteer's qualifications, for those who may read the volunteer.
    pub async fn qualifications(
        &self,
        ctx: &Ctx,
        number: VolunteerNumber,
    ) -> Result<Vec<QualificationRecord>> {
        let v = self.get_volunteer(ctx, number).await?;
        Ok(self.0.store.list_qualifications(v.id).await?)
    }

    /// The jurisdiction of the volunteer's residence verifies or rejects a qualification
    /// (a rejection says why; a verified one found false is rejected later the same way).
    pub async fn decide_qualification(
        &self,
        ctx: &Ctx,
        id: i64,
        verified: bool,
        reason: Option<String>,
        version: Option<i64>,
    ) -> Result<QualificationRecord> {
        let mut q = self
            .0
            .store
            .get_qualification(id)
            .await?
            .ok_or(ServiceError::NotFound("qualification"))?;
        let v = self
            .0
            .store
            .get_volunteer(q.qualification.volunteer)
            .await?
            .ok_or(ServiceError::NotFound("volunteer"))?;
        let region = v.profile.residence_region;
        ctx.require(|p| p.covers(region, Access::Write))?;
        crate::check_version(version, q.version)?;
        let reason = crate::stated(reason);
        let to = if verified {
            QualificationStatus::Verified
        } else {
            QualificationStatus::Rejected
        };
        if to == QualificationStatus::Rejected && reason.is_none() {
            return Err(ServiceError::because("reason", Reason::Required));
        }
        if q.status == to {
            return Err(ServiceError::conflict_because(
                "status",
                Reason::AlreadyDecided,
            ));
        }
        let from = q.status;
        q.status = to;
        q.decided_by = ctx.account();
        q.decided_at = Some(ctx.now);
        q.reason.clone_from(&reason);
        let mut audit = ctx.audit("qualification.decide", "qualification", id, Some(region));
        audit.reason = reason;
        audit.details = serde_json::json!({
            "from": from.as_str(),
            "to": to.as_str(),
            "volunteer": q.qualification.volunteer.0,
        });
        Ok(self.0.store.update_qualification(&q, &audit).await?)
    }

    /// The verified, unexpired holders of a qualification living in a region, for its
    /// jurisdiction.
    pub async fn talent_pool(
        &self,
        ctx: &Ctx,
        kind: QualificationKind,
        within: RegionCode,
        page: &PageRequest,
    ) -> Result<Page<QualificationRecord>> {
        ctx.require(|p| p.covers(within, Access::Read))?;
        let q = PoolQuery {
            kind,
            within,
            valid_on: china_date(ctx.now),
        };
        Ok(self.0.store.talent_pool(&q, page).await?)
    }

    /// A jurisdiction administrator issues a mobilisation call: zhiyuan selects, in the
    /// same transaction, the adults of the area holding a verified qualification of the
    /// kinds asked for, and notifies them (each appears in their calls).
    pub async fn issue_call(&self, ctx: &Ctx, input: CallInput) -> Result<CallRecord> {
        let mut errors = Invalid::default();
        let region = errors.check(RegionCode::parse(&input.region).map_err(|e| e.under("region")));
        let mut kinds = Vec::new();
        for (i, k) in input.kinds.iter().enumerate() {
            match QualificationKind::parse(k) {
                Some(k) if !kinds.contains(&k) => kinds.push(k),
                Some(_) => {
                    errors.push(FieldError::because(format!("kinds[{i}]"), Reason::Repeated))
                }
                None => errors.push(FieldError::because(
                    format!("kinds[{i}]"),
                    Reason::one_of(&QualificationKind::ALL.map(QualificationKind::as_str)),
                )),
            }
        }
        if kinds.is_empty() && input.kinds.is_empty() {
            errors.push(FieldError::because("kinds", Reason::Required));
        }
        if !(1..=MAX_NOTIFIED).contains(&input.needed) {
            errors.push(FieldError::because(
                "needed",
                Reason::OutOfRange {
                    min: 1,
                    max: MAX_NOTIFIED,
                },
            ));
        }
        let notify = input
            .notify
            .unwrap_or(input.needed.saturating_mul(3))
            .min(MAX_NOTIFIED);
        if notify < input.needed {
            errors.push(FieldError::because(
                "notify",
                Reason::AtLeast { min: input.needed },
            ));
        }
        let assembly_point = text("assembly_point", &input.assembly_point, 200, &mut errors);
        let location = input.location.and_then(|(lat, lng)| {
            errors.check(GeoPoint::parse(lat, lng).map_err(|e| e.under("location")))
        });
        let assemble_at = input.assemble_at.unwrap_or(ctx.now);
        let note = if input.note.trim().is_empty() {
            String::new()
        } else {
            text("note", &input.note, 2000, &mut errors)
        };
        errors.finish(|| ())?;
        let region = region.ok_or_else(|| ServiceError::because("region", Reason::Required))?;
        self.require_region(region, "region").await?;
        ctx.require(|p| p.covers(region, Access::Write))?;
        let call = NewCall {
            region,
            kinds,
            needed: input.needed,
            assembly_point,
            location,
            assemble_at,
            note,
            created_by: ctx.account(),
            created_at: ctx.now,
        };
        let today = china_date(ctx.now);
        let mut audit = ctx.audit("call.issue", "call", "", Some(region));
        audit.details = serde_json::json!({
            "kinds": call.kinds, "needed": call.needed, "notify": notify,
        });
        Ok(self
            .0
            .store
            .insert_call(&call, notify, today, adult_born_by(today), &audit)
            .await?)
    }

    async fn load_call(&self, id: i64) -> Result<CallRecord> {
        self.0
            .store
            .get_call(id)
            .await?
            .ok_or(ServiceError::NotFound("call"))
    }

    /// A call and its live roll-call, for the jurisdiction of its area.
    pub async fn call_roll(&self, ctx: &Ctx, id: i64) -> Result<(CallRecord, RollCall)> {
        let call = self.load_call(id).await?;
        ctx.require(|p| p.covers(call.call.region, Access::Read))?;
        let roll = self.0.store.roll_call(id).await?;
        Ok((call, roll))
    }

    /// Who was called, and where each stands, for the jurisdiction of its area.
    pub async fn call_members(
        &self,
        ctx: &Ctx,
        id: i64,
        status: Option<MemberStatus>,
        page: &PageRequest,
    ) -> Result<Page<CallMember>> {
        let call = self.load_call(id).await?;
        ctx.require(|p| p.covers(call.call.region, Access::Read))?;
        Ok(self.0.store.call_members(id, status, page).await?)
    }

    /// The signed-in volunteer's calls (their notifications), newest first.
    pub async fn my_calls(&self, ctx: &Ctx) -> Result<Vec<(CallRecord, CallMember)>> {
        let volunteer = ctx.volunteer()?;
        Ok(self.0.store.calls_of(volunteer).await?)
    }

    /// The signed-in volunteer answers a call (acknowledge or decline) or checks in at the
    /// assembly point (from within `CHECK_IN_RADIUS_M` of it, when the call gives it).
    pub async fn answer_call(
        &self,
        ctx: &Ctx,
        id: i64,
        to: MemberStatus,
        location: Option<(f64, f64)>,
    ) -> Result<CallMember> {
        let volunteer = ctx.volunteer()?;
        let call = self.load_call(id).await?;
        let mut m = self
            .0
            .store
            .call_member(id, volunteer)
            .await?
            .ok_or(ServiceError::Forbidden("you were not called"))?;
        let from = m.status;
        if !from.may_move_to(to) {
            return Err(ServiceError::conflict_because(
                "response",
                Reason::CannotBecome {
                    from: from.as_str(),
                    to: to.as_str(),
                },
            ));
        }
        if to == MemberStatus::CheckedIn
            && let Some(point) = call.call.location
        {
            let (lat, lng) = location
                .ok_or_else(|| ServiceError::because("location", Reason::LocationNeeded))?;
            let here = GeoPoint::parse(lat, lng).map_err(|e| e.under("location"))?;
            let away = here.distance_m(point);
            if away > CHECK_IN_RADIUS_M {
                return Err(ServiceError::because(
                    "location",
                    Reason::OutsideGeofence {
                        distance_m: away.round() as i64,
                        radius_m: CHECK_IN_RADIUS_M as i64,
                    },
                ));
            }
        }
        m.status = to;
        m.updated_at = ctx.now;
        let mut audit = ctx.audit("call.answer", "call", id, Some(call.call.region));
        audit.details = serde_json::json!({ "from": from.as_str(), "to": to.as_str() });
        self.0
            .store
            .update_call_member(&m, from, &audit)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { field: "status" } => {
                    ServiceError::conflict_because("response", Reason::ChangedMeanwhile)
                }
                other => other.into(),
            })
    }
}
