//! Organisations and teams, and volunteers' memberships: apply, decide, change role, leave.

use zhiyuan_domain::Reason;
use zhiyuan_domain::access::Access;
use zhiyuan_domain::category::ServiceCategory;
use zhiyuan_domain::ids::{MembershipId, OrgId, SiteId};
use zhiyuan_domain::org::{MembershipRole, MembershipStatus, OrgKind};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{
    MembershipQuery, MembershipRecord, NewMembership, NewOrg, OrgQuery, OrgRecord, Page,
    PageRequest, SiteRecord,
};

use crate::announce::Stale;
use crate::error::{Result, ServiceError};
use crate::{Actor, Changes, Ctx, Zhiyuan};

/// An organisation as the caller may see it: contact details only for those who manage
/// or oversee it.
#[derive(Debug, Clone)]
pub struct OrgView {
    pub record: OrgRecord,
    pub show_contact: bool,
}

/// A change to an organisation; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct OrgPatch {
    pub name: Option<String>,
    pub credit_code: Option<String>,
    pub site: Option<Option<SiteId>>,
    pub description: Option<String>,
    pub contact_name: Option<Option<String>>,
    pub contact_phone: Option<Option<String>>,
    pub service_categories: Option<Vec<ServiceCategory>>,
    /// The version the change is based on; a stale one is refused.
    pub version: Option<i64>,
}

/// A decision on a membership.
#[derive(Debug, Clone, Default)]
pub struct MembershipDecision {
    pub status: Option<MembershipStatus>,
    pub role: Option<MembershipRole>,
    pub reason: Option<String>,
}

/// What an organisation names by id (its site, its parent team): found, and covering the
/// organisation's region, else refused on `field`.
fn covering<T>(
    field: &'static str,
    found: Option<T>,
    region: impl Fn(&T) -> RegionCode,
    org: &NewOrg,
) -> Result<T> {
    let found = found.ok_or_else(|| ServiceError::because(field, Reason::NotFound))?;
    if !region(&found).contains(org.region) {
        return Err(ServiceError::because(field, Reason::DoesNotCover));
    }
    Ok(found)
}

impl Zhiyuan {
    async fn load_org(&self, id: OrgId) -> Result<OrgRecord> {
        self.0
            .store
            .get_org(id)
            .await?
            .ok_or(ServiceError::NotFound("organisation"))
    }

    /// The site an organisation is attached to, checked to exist and to cover its region.
    async fn site_for(&self, site: Option<SiteId>, org: &NewOrg) -> Result<Option<SiteRecord>> {
        let Some(id) = site else { return Ok(None) };
        let found = self.0.store.get_site(id).await?;
        covering("site", found, |s| s.site.region, org).map(Some)
    }

    /// Registers an organisation or team; optionally makes a volunteer its first admin.
    pub async fn create_org(
        &self,
        ctx: &Ctx,
        org: NewOrg,
        admin: Option<VolunteerNumber>,
    ) -> Result<OrgRecord> {
        self.require_region(org.region, "region").await?;
        match (org.kind, &org.credit_code) {
            (OrgKind::RegisteredOrganisation, None) => {
                return Err(ServiceError::because("credit_code", Reason::Required));
            }
            (OrgKind::GrassrootsTeam, Some(_)) => {
                return Err(ServiceError::because(
                    "credit_code",
                    Reason::NotForGrassroots,
                ));
            }
            _ => {}
        }
        let site = self.site_for(org.site, &org).await?;
        let parent = match org.parent {
            Some(id) => {
                let found = self.0.store.get_org(id).await?;
                Some(covering("parent", found, |o| o.org.region, &org)?)
            }
            None => None,
        };
        let admin = match admin {
            Some(number) => Some(
                self.0
                    .store
                    .get_volunteer_by_number(number)
                    .await?
                    .ok_or_else(|| ServiceError::because("admin", Reason::NoSuchVolunteer))?
                    .id,
            ),
            None => None,
        };
        ctx.require(|p| {
            p.can_create_org(
                org.region,
                site.as_ref().map(|s| s.facts()).as_ref(),
                parent.as_ref().map(|o| o.facts()).as_ref(),
            )
        })?;
        let mut audit = ctx.audit("organisation.create", "organisation", "", Some(org.region));
        audit.details = serde_json::json!({
            "name": org.name, "kind": org.kind, "parent": org.parent, "site": org.site,
        });
        let record = self.0.store.insert_org(&org, admin, &audit).await?;
        // Matching's lists of a county's teams.
        self.forget(Stale::Teams).await;
        if let Some(admin) = admin {
            self.forget(Stale::Volunteer(admin)).await;
        }
        Ok(record)
    }

    /// An organisation's public profile, with contact details for those in scope.
    pub async fn get_org(&self, ctx: &Ctx, id: OrgId) -> Result<OrgView> {
        let record = self.load_org(id).await?;
        let show_contact = ctx.allows(|p| p.can_access_org(&record.facts(), Access::Read));
        Ok(OrgView {
            record,
            show_contact,
        })
    }

    pub async fn list_orgs(&self, q: &OrgQuery, page: &PageRequest) -> Result<Page<OrgRecord>> {
        Ok(self.0.store.list_orgs(q, page).await?)
    }

    pub async fn update_org(&self, ctx: &Ctx, id: OrgId, patch: OrgPatch) -> Result<OrgRecord> {
        let mut record = self.load_org(id).await?;
        ctx.require(|p| p.can_access_org(&record.facts(), Access::Write))?;
        crate::check_version(patch.version, record.version)?;
        let before = record.org.clone();
        if let Some(site) = patch.site {
            self.site_for(site, &before).await?;
        }
        let o = &mut record.org;
        if let Some(code) = patch.credit_code {
            if o.kind == OrgKind::GrassrootsTeam {
                return Err(ServiceError::because(
                    "credit_code",
                    Reason::NotForGrassroots,
                ));
            }
            o.credit_code = Some(code);
        }
        if let Some(v) = patch.name {
            o.name = v;
        }
        if let Some(v) = patch.site {
            o.site = v;
        }
        if let Some(v) = patch.description {
            o.description = v;
        }
        if let Some(v) = patch.contact_name {
            o.contact_name = v;
        }
        if let Some(v) = patch.contact_phone {
            o.contact_phone = v;
        }
        if let Some(v) = patch.service_categories {
            o.service_categories = v;
        }
        let mut changes = Changes::default();
        changes.note("name", &before.name, &o.name);
        changes.note("credit_code", &before.credit_code, &o.credit_code);
        changes.note("site", &before.site, &o.site);
        changes.note("description", &before.description, &o.description);
        changes.note("contact_name", &before.contact_name, &o.contact_name);
        changes.note("contact_phone", &before.contact_phone, &o.contact_phone);
        changes.note(
            "service_categories",
            &before.service_categories,
            &o.service_categories,
        );
        if changes.is_empty() {
            return Ok(record);
        }
        let mut audit = ctx.audit("organisation.update", "organisation", id, Some(o.region));
        audit.details = changes.into_json();
        let updated = self.0.store.update_org(&record, &audit).await?;
        self.forget(Stale::Teams).await;
        Ok(updated)
    }

    /// The signed-in volunteer applies to join a team (or re-applies after leaving).
    pub async fn apply_for_membership(&self, ctx: &Ctx, org: OrgId) -> Result<MembershipRecord> {
        let principal = ctx.user()?;
        let volunteer = principal.volunteer.ok_or(ServiceError::Forbidden(
            "only a registered volunteer can apply to join a team",
        ))?;
        let record = self.load_org(org).await?;
        let existing = self
            .0
            .store
            .list_memberships(
                &MembershipQuery {
                    org: Some(org),
                    volunteer: Some(volunteer),
                    status: None,
                },
                &PageRequest::first(1),
            )
            .await?
            .items
            .pop();
        let mut audit = ctx.audit(
            "membership.apply",
            "membership",
            "",
            Some(record.org.region),
        );
        audit.details = serde_json::json!({ "organisation": org });
        match existing {
            None => Ok(self
                .0
                .store
                .insert_membership(
                    &NewMembership {
                        org,
                        volunteer,
                        role: MembershipRole::Member,
                        status: MembershipStatus::Pending,
                        at: ctx.now,
                        decided_by: None,
                    },
                    &audit,
                )
                .await?),
            Some(mut m) if m.status.may_move_to(MembershipStatus::Pending, false) => {
                audit.subject_id = m.id.to_string();
                m.status = MembershipStatus::Pending;
                m.role = MembershipRole::Member;
                m.applied_at = ctx.now;
                m.decided_at = None;
                m.decided_by = None;
                Ok(self.0.store.update_membership(&m, &audit).await?)
            }
            Some(m) => Err(ServiceError::conflict_because(
                "organisation",
                match m.status {
                    MembershipStatus::Active => Reason::AlreadyMember,
                    _ => Reason::ApplicationOpen,
                },
            )),
        }
    }

    /// The team decides an application, changes a role or removes a member; the volunteer
    /// withdraws or leaves.
    pub async fn decide_membership(
        &self,
        ctx: &Ctx,
        id: MembershipId,
        decision: MembershipDecision,
    ) -> Result<MembershipRecord> {
        let mut m = self
            .0
            .store
            .get_membership(id)
            .await?
            .ok_or(ServiceError::NotFound("membership"))?;
        let org = self.load_org(m.org).await?;
        let by_team = ctx.allows(|p| p.can_access_org(&org.facts(), Access::Write));
        let by_self = matches!(&ctx.actor, Actor::User(p) if p.volunteer == Some(m.volunteer));
        if !by_team && !by_self {
            ctx.require(|_| false)?;
        }
        let before = (m.status, m.role);
        if let Some(status) = decision.status.filter(|s| *s != m.status) {
            if !m.status.may_move_to(status, by_team) {
                // Which moves are whose: the team decides, the volunteer withdraws.
                return Err(ServiceError::conflict_because(
                    "status",
                    Reason::CannotBecome {
                        from: m.status.as_str(),
                        to: status.as_str(),
                    },
                ));
            }
            m.status = status;
            if by_team {
                m.decided_at = Some(ctx.now);
                m.decided_by = match &ctx.actor {
                    Actor::User(p) => Some(p.account),
                    _ => None,
                };
            }
        }
        if let Some(role) = decision.role.filter(|r| *r != m.role) {
            if !by_team {
                return Err(ServiceError::Forbidden(
                    "only the team's admins change roles",
                ));
            }
            if m.status != MembershipStatus::Active {
                return Err(ServiceError::because("role", Reason::NotActiveMember));
            }
            m.role = role;
        }
        let mut changes = Changes::default();
        changes.note("status", &before.0, &m.status);
        changes.note("role", &before.1, &m.role);
        if changes.is_empty() {
            return Ok(m);
        }
        let mut audit = ctx.audit("membership.update", "membership", id, Some(org.org.region));
        audit.reason = decision.reason;
        audit.details = changes.into_json();
        let updated = self.0.store.update_membership(&m, &audit).await?;
        self.forget(Stale::Volunteer(m.volunteer)).await;
        Ok(updated)
    }

    /// A team's memberships, for its admins, coordinators, site and jurisdiction.
    pub async fn list_org_memberships(
        &self,
        ctx: &Ctx,
        org: OrgId,
        status: Option<MembershipStatus>,
        page: &PageRequest,
    ) -> Result<Page<MembershipRecord>> {
        let record = self.load_org(org).await?;
        ctx.require(|p| p.can_access_org(&record.facts(), Access::Read))?;
        Ok(self
            .0
            .store
            .list_memberships(
                &MembershipQuery {
                    org: Some(org),
                    volunteer: None,
                    status,
                },
                page,
            )
            .await?)
    }

    /// A volunteer's memberships, for whoever may read the volunteer.
    pub async fn list_volunteer_memberships(
        &self,
        ctx: &Ctx,
        number: VolunteerNumber,
        page: &PageRequest,
    ) -> Result<Page<MembershipRecord>> {
        let v = self.get_volunteer(ctx, number).await?;
        Ok(self
            .0
            .store
            .list_memberships(
                &MembershipQuery {
                    org: None,
                    volunteer: Some(v.id),
                    status: None,
                },
                page,
            )
            .await?)
    }
}
