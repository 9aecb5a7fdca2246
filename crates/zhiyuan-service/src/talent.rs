//! The professional talent pool (专业人才库): volunteers declare their professional
//! qualifications (doctor, nurse, teacher, rescue, counselling, legal aid, engineering…)
//! with the certificate's details; the jurisdiction of their residence verifies them
//! (Art. 16) before they count; jurisdictions list the verified pool of their area, the
//! people an emergency call draws on.

use time::Date;
use zhiyuan_domain::access::Access;
use zhiyuan_domain::clock::china_date;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::talent::{QualificationKind, QualificationStatus};
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_domain::{FieldError, Invalid};
use zhiyuan_store::{NewQualification, Page, PageRequest, PoolQuery, QualificationRecord};

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

impl Zhiyuan {
    /// The signed-in volunteer declares a qualification; it joins the pool once verified.
    pub async fn add_qualification(
        &self,
        ctx: &Ctx,
        input: QualificationInput,
    ) -> Result<QualificationRecord> {
        let volunteer = ctx.volunteer()?;
        let v = self
            .0
            .store
            .get_volunteer(volunteer)
            .await?
            .ok_or(ServiceError::NotFound("volunteer"))?;
        let mut errors = Invalid::default();
        let kind = QualificationKind::parse(&input.kind);
        if kind.is_none() {
            errors.push(FieldError::new(
                "kind",
                "doctor, nurse, teacher, rescue, counselling, legal, engineering or other",
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
            errors.push(FieldError::new(
                "valid_until",
                "the certificate has expired",
            ));
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
        let reason = reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        let to = if verified {
            QualificationStatus::Verified
        } else {
            QualificationStatus::Rejected
        };
        if to == QualificationStatus::Rejected && reason.is_none() {
            return Err(ServiceError::invalid("reason", "say why it is rejected"));
        }
        if q.status == to {
            return Err(ServiceError::Conflict {
                field: "status",
                message: format!("the qualification is already {}", to.as_str()),
            });
        }
        let from = q.status;
        q.status = to;
        q.decided_by = ctx.account();
        q.decided_at = Some(ctx.now);
        q.reason.clone_from(&reason);
        let mut audit = ctx.audit("qualification.decide", "qualification", id, Some(region));
        audit.reason = reason;
        audit.details = serde_json::json!({ "from": from.as_str(), "to": to.as_str() });
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
}
