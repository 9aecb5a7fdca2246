//! Star levels: rules per jurisdiction; eligibility from hours and tenure; the
//! certification flow: application, public notice (公示) of at least five working days
//! with objections, certification or rejection by the certifying jurisdiction, and
//! revocation when hours prove false (with a bar on re-applying).

use zhiyuan_domain::Reason;
use zhiyuan_domain::access::Access;
use zhiyuan_domain::clock::china_date;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::stars::{StarRules, StarStatus};
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{
    NewStarApplication, Page, PageRequest, RecognisedMinutes, StarApplication, StarApplicationId,
    StarFacts, StarObjection, StarQuery, StoreError, VolunteerRecord, VolunteerStar,
};

use crate::error::{Result, ServiceError};
use crate::{Ctx, Zhiyuan};

/// Where a volunteer stands.
#[derive(Debug, Clone)]
pub struct StarStanding {
    pub certified: Option<VolunteerStar>,
    pub eligible: u8,
    /// Recorded minutes here, plus those recognised from partners whose policy counts
    /// them toward star levels.
    pub minutes: i64,
    /// Minutes recognised from partner platforms (see `recognition`).
    pub recognised: RecognisedMinutes,
    /// The next tier and the hours it needs.
    pub next: Option<(u8, String, i64)>,
    pub open: Option<StarApplication>,
    /// The region whose rules apply (the province for the default rules).
    pub rules_from: RegionCode,
    pub rules: StarRules,
}

impl Zhiyuan {
    /// The rules that apply in `region`: the nearest ancestor's, else Guangdong's.
    pub async fn star_rules_at(&self, region: RegionCode) -> Result<(RegionCode, StarRules)> {
        let chain: Vec<RegionCode> = region.and_ancestors().collect();
        let set = self.0.store.star_rules_for(&chain).await?;
        Ok(rules_at(region, &chain, set))
    }

    /// A jurisdiction sets its star rules.
    pub async fn set_star_rules(
        &self,
        ctx: &Ctx,
        region: RegionCode,
        rules: StarRules,
    ) -> Result<()> {
        self.require_region(region, "region").await?;
        rules.check()?;
        ctx.require(|p| p.covers(region, Access::Write))?;
        let mut audit = ctx.audit("stars.rules", "region", region, Some(region));
        audit.details = serde_json::to_value(&rules).unwrap_or_default();
        Ok(self.0.store.set_star_rules(region, &rules, &audit).await?)
    }

    async fn standing(&self, ctx: &Ctx, v: &VolunteerRecord) -> Result<StarStanding> {
        let today = china_date(ctx.now);
        let region = v.profile.residence_region;
        let chain: Vec<RegionCode> = region.and_ancestors().collect();
        let StarFacts {
            rules,
            totals,
            recognised,
            certified,
            applications,
        } = self.0.store.star_facts(v.id, &chain, today.year()).await?;
        let (rules_from, rules) = rules_at(region, &chain, rules);
        let minutes = totals.minutes + recognised.toward_stars;
        let eligible = rules.eligible(minutes, china_date(v.created_at), today);
        let open = applications.into_iter().find(|a| a.status.is_open());
        let current = certified.as_ref().map_or(0, |c| c.star);
        let next = rules
            .tier(current.max(eligible) + 1)
            .map(|t| (current.max(eligible) + 1, t.label.clone(), t.hours));
        Ok(StarStanding {
            certified,
            eligible,
            minutes,
            recognised,
            next,
            open,
            rules_from,
            rules,
        })
    }

    /// A volunteer's certified star, eligibility and open application.
    pub async fn star_standing(&self, ctx: &Ctx, number: VolunteerNumber) -> Result<StarStanding> {
        let v = self.get_volunteer(ctx, number).await?;
        self.standing(ctx, &v).await
    }

    /// The signed-in volunteer applies for `star` (default: the highest they are eligible
    /// for). The application goes to the jurisdiction that certifies that tier.
    pub async fn apply_for_star(&self, ctx: &Ctx, star: Option<u8>) -> Result<StarApplication> {
        let v = self.signed_in_volunteer(ctx).await?;
        let s = self.standing(ctx, &v).await?;
        let today = china_date(ctx.now);
        if let Some(until) = s
            .certified
            .as_ref()
            .and_then(|c| c.barred_until)
            .filter(|u| *u >= today)
        {
            return Err(ServiceError::conflict_because(
                "star",
                Reason::StarBarred { until },
            ));
        }
        let current = s.certified.as_ref().map_or(0, |c| c.star);
        let star = star.unwrap_or(s.eligible);
        if star <= current && current > 0 {
            return Err(ServiceError::because("star", Reason::StarHeld { current }));
        }
        if star == 0 || star > s.eligible {
            return Err(ServiceError::because(
                "star",
                Reason::StarNotEligible {
                    eligible: s.eligible,
                },
            ));
        }
        let tier = s
            .rules
            .tier(star)
            .ok_or_else(|| ServiceError::because("star", Reason::NotFound))?;
        // The certifier: the first ancestor at the tier's level or above (a city certifies
        // county-level tiers where there are no counties, as in 东莞 and 中山).
        let certifier = v
            .profile
            .residence_region
            .and_ancestors()
            .find(|c| c.level() <= tier.certified_by)
            .unwrap_or_else(|| v.profile.residence_region.province());
        let mut audit = ctx.audit("stars.apply", "star_application", "", Some(certifier));
        audit.details = serde_json::json!({ "star": star, "minutes": s.minutes });
        self.0
            .store
            .insert_star_application(
                &NewStarApplication {
                    volunteer: v.id,
                    star,
                    label: tier.label.clone(),
                    certifier,
                    minutes: s.minutes,
                    applied_at: ctx.now,
                },
                &audit,
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict { field: "volunteer" } => {
                    ServiceError::conflict_because("star", Reason::ApplicationOpen)
                }
                other => other.into(),
            })
    }

    async fn load_star_application(&self, id: StarApplicationId) -> Result<StarApplication> {
        self.0
            .store
            .get_star_application(id)
            .await?
            .ok_or(ServiceError::NotFound("star application"))
    }

    async fn move_star(
        &self,
        ctx: &Ctx,
        mut a: StarApplication,
        to: StarStatus,
        reason: Option<String>,
        barred_until: Option<time::Date>,
    ) -> Result<StarApplication> {
        if !a.status.may_move_to(to) {
            return Err(ServiceError::conflict_because(
                "status",
                Reason::CannotBecome {
                    from: a.status.as_str(),
                    to: to.as_str(),
                },
            ));
        }
        let from = a.status;
        a.status = to;
        if to != StarStatus::InNotice {
            a.decided_at = Some(ctx.now);
            a.decided_by = ctx.account();
            a.reason = reason.clone();
        }
        let mut audit = ctx.audit(
            "stars.decide",
            "star_application",
            a.id.0,
            Some(a.application.certifier),
        );
        audit.reason = reason;
        audit.details = serde_json::json!({ "from": from, "to": to, "star": a.application.star });
        Ok(self
            .0
            .store
            .update_star_application(&a, barred_until, &audit)
            .await?)
    }

    /// The certifying jurisdiction publishes the application for public notice.
    pub async fn start_star_notice(
        &self,
        ctx: &Ctx,
        id: StarApplicationId,
    ) -> Result<StarApplication> {
        let mut a = self.load_star_application(id).await?;
        ctx.require(|p| p.covers(a.application.certifier, Access::Write))?;
        let (_, rules) = self.star_rules_at(a.application.certifier).await?;
        let today = china_date(ctx.now);
        a.notice_from = Some(today);
        a.notice_until = Some(
            self.0
                .config
                .calendar
                .add_workdays(today, rules.notice_workdays),
        );
        self.move_star(ctx, a, StarStatus::InNotice, None, None)
            .await
    }

    /// Anyone may object while an application is in public notice.
    pub async fn object_to_star(
        &self,
        ctx: &Ctx,
        id: StarApplicationId,
        text: &str,
        contact: Option<&str>,
    ) -> Result<StarObjection> {
        let a = self.load_star_application(id).await?;
        let today = china_date(ctx.now);
        if a.status != StarStatus::InNotice || a.notice_until.is_some_and(|u| today > u) {
            return Err(ServiceError::conflict_because(
                "status",
                Reason::NotInNotice,
            ));
        }
        let mut audit = ctx.audit(
            "stars.objection",
            "star_objection",
            "",
            Some(a.application.certifier),
        );
        audit.details = serde_json::json!({ "application": id.0 });
        Ok(self
            .0
            .store
            .insert_star_objection(id, text, contact, ctx.now, &audit)
            .await?)
    }

    /// The certifier certifies (after the notice has run its course) or rejects.
    pub async fn decide_star(
        &self,
        ctx: &Ctx,
        id: StarApplicationId,
        certify: bool,
        reason: Option<String>,
    ) -> Result<StarApplication> {
        let a = self.load_star_application(id).await?;
        ctx.require(|p| p.covers(a.application.certifier, Access::Write))?;
        if certify {
            let today = china_date(ctx.now);
            if a.notice_until.is_none_or(|u| today <= u) {
                return Err(ServiceError::conflict_because(
                    "status",
                    Reason::NoticeRunning,
                ));
            }
            self.move_star(ctx, a, StarStatus::Certified, reason, None)
                .await
        } else {
            if reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                return Err(ServiceError::because("reason", Reason::Required));
            }
            self.move_star(ctx, a, StarStatus::Rejected, reason, None)
                .await
        }
    }

    /// The certifier revokes a certified star (e.g. the hours proved false); the volunteer
    /// may not apply again for the rules' bar.
    pub async fn revoke_star(
        &self,
        ctx: &Ctx,
        id: StarApplicationId,
        reason: String,
    ) -> Result<StarApplication> {
        let a = self.load_star_application(id).await?;
        ctx.require(|p| p.covers(a.application.certifier, Access::Write))?;
        if reason.trim().is_empty() {
            return Err(ServiceError::because("reason", Reason::Required));
        }
        let (_, rules) = self.star_rules_at(a.application.certifier).await?;
        let bar = rules.barred_until(china_date(ctx.now));
        self.move_star(ctx, a, StarStatus::Revoked, Some(reason), Some(bar))
            .await
    }

    /// Applications a jurisdiction certifies.
    pub async fn star_applications(
        &self,
        ctx: &Ctx,
        within: Option<RegionCode>,
        status: Option<StarStatus>,
        page: &PageRequest,
    ) -> Result<Page<StarApplication>> {
        let within = self.scope_of_listing(ctx, within)?;
        ctx.require(|p| p.covers(within, Access::Read))?;
        Ok(self
            .0
            .store
            .list_star_applications(
                &StarQuery {
                    within: Some(within),
                    volunteer: None,
                    status,
                },
                page,
            )
            .await?)
    }

    /// Applications now in public notice: public.
    pub async fn star_notices(
        &self,
        within: Option<RegionCode>,
        page: &PageRequest,
    ) -> Result<Page<StarApplication>> {
        Ok(self
            .0
            .store
            .list_star_applications(
                &StarQuery {
                    within,
                    volunteer: None,
                    status: Some(StarStatus::InNotice),
                },
                page,
            )
            .await?)
    }

    /// Objections to an application, for the certifier.
    pub async fn star_objections(
        &self,
        ctx: &Ctx,
        id: StarApplicationId,
    ) -> Result<Vec<StarObjection>> {
        let a = self.load_star_application(id).await?;
        ctx.require(|p| p.covers(a.application.certifier, Access::Read))?;
        Ok(self.0.store.list_star_objections(id).await?)
    }
}

/// Of the rule sets `set` on regions of `chain` (`region` and its ancestors, nearest
/// first), the nearest's, else Guangdong's.
fn rules_at(
    region: RegionCode,
    chain: &[RegionCode],
    set: Vec<(RegionCode, StarRules)>,
) -> (RegionCode, StarRules) {
    chain
        .iter()
        .find_map(|c| set.iter().find(|(r, _)| r == c).cloned())
        .unwrap_or_else(|| (region.province(), StarRules::guangdong()))
}
