//! Volunteers: registration, reading and correcting a profile, listing by jurisdiction.

use rand::RngCore;
use zhiyuan_domain::Reason;
use zhiyuan_domain::access::{Access, VolunteerFacts};
use zhiyuan_domain::category::ServiceCategory;
use zhiyuan_domain::matching::ServiceArea;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::registration::Registration;
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{
    NewVolunteer, Page, PageRequest, StoreError, VolunteerProfile, VolunteerQuery, VolunteerRecord,
};

use crate::error::{Result, ServiceError};
use crate::{Actor, Changes, Ctx, Zhiyuan};

/// How often registration draws a new number after a collision before giving up.
const NUMBER_ATTEMPTS: usize = 5;

/// A change to a volunteer's profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct VolunteerPatch {
    pub name: Option<String>,
    pub residence_region: Option<RegionCode>,
    pub phone: Option<String>,
    pub skills: Option<Vec<String>>,
    pub service_categories: Option<Vec<ServiceCategory>>,
    /// `Some(None)` withdraws the volunteer from being proposed for orders.
    pub service: Option<Option<ServiceArea>>,
    /// Required when someone other than the volunteer makes the change.
    pub reason: Option<String>,
    /// The version the change is based on; a stale one is refused.
    pub version: Option<i64>,
}

impl Zhiyuan {
    pub(crate) async fn require_region(&self, code: RegionCode, field: &str) -> Result<()> {
        match self.0.store.get_region(code).await? {
            Some(_) => Ok(()),
            None => Err(ServiceError::because(field, Reason::UnknownRegion(code))),
        }
    }

    /// Self-registration (Art. 5): validated input, plus the checks that need storage.
    pub async fn register_volunteer(&self, ctx: &Ctx, r: Registration) -> Result<VolunteerRecord> {
        if r.privacy_consent_version != self.0.config.privacy_policy_version {
            return Err(ServiceError::because(
                "privacy_consent_version",
                Reason::ConsentOutdated {
                    current: self.0.config.privacy_policy_version.clone(),
                },
            ));
        }
        self.require_region(r.residence_region, "residence_region")
            .await?;
        let password_hash = self.0.config.password_cost.hash(r.password.clone()).await?;
        let mut rng = rand::rngs::OsRng;
        let document = self.0.vault.seal(&r.document, &mut rng);
        for _ in 0..NUMBER_ATTEMPTS {
            let number = VolunteerNumber::from_random(rng.next_u64());
            let new = NewVolunteer {
                number,
                gender: r.gender,
                birth_date: r.birth_date,
                document: document.clone(),
                profile: VolunteerProfile {
                    name: r.name.clone(),
                    residence_region: r.residence_region,
                    phone: r.phone.clone(),
                    skills: r.skills.clone(),
                    service_categories: r.service_categories.clone(),
                    service: None,
                },
                guardian: r.guardian.clone(),
                privacy_consent_version: r.privacy_consent_version.clone(),
                registered_at: ctx.now,
                password_hash: Some(password_hash.clone()),
            };
            let mut audit = ctx.audit(
                "volunteer.register",
                "volunteer",
                number,
                Some(r.residence_region),
            );
            audit.details = serde_json::json!({
                "document_kind": r.document.kind(),
                "document": document.masked,
                "privacy_consent_version": r.privacy_consent_version,
                "guardian_consent": r.guardian.is_some(),
            });
            match self.0.store.insert_volunteer(&new, &audit).await {
                Err(StoreError::Conflict { field: "number" }) => continue,
                Err(StoreError::Conflict {
                    field: "id_document.number",
                }) => {
                    return Err(ServiceError::conflict_because(
                        "id_document.number",
                        Reason::AlreadyRegistered,
                    ));
                }
                other => {
                    let record = other?;
                    tracing::info!(volunteer.number = %record.number, "volunteer registered");
                    return Ok(record);
                }
            }
        }
        Err(ServiceError::Unavailable(
            "could not draw a free volunteer number".into(),
        ))
    }

    /// Facts for access decisions; memberships are loaded only when they could matter.
    async fn volunteer_facts(&self, ctx: &Ctx, v: &VolunteerRecord) -> Result<VolunteerFacts> {
        let needs_orgs = match &ctx.actor {
            Actor::User(p) => {
                p.volunteer != Some(v.id)
                    && !p.covers(v.profile.residence_region, Access::Read)
                    && (p.has_local_grants() || !p.regions(Access::Read).is_empty())
            }
            _ => false,
        };
        Ok(VolunteerFacts {
            id: v.id,
            region: v.profile.residence_region,
            orgs: if needs_orgs {
                self.0.store.volunteer_orgs(v.id).await?
            } else {
                Vec::new()
            },
        })
    }

    async fn load_volunteer(&self, number: VolunteerNumber) -> Result<VolunteerRecord> {
        self.0
            .store
            .get_volunteer_by_number(number)
            .await?
            .ok_or(ServiceError::NotFound("volunteer"))
    }

    /// A volunteer's profile, for themselves, their teams and their jurisdiction.
    /// The signed-in volunteer's own record (403 for accounts that are not volunteers).
    pub(crate) async fn signed_in_volunteer(&self, ctx: &Ctx) -> Result<VolunteerRecord> {
        let id = ctx.volunteer()?;
        self.0
            .store
            .get_volunteer(id)
            .await?
            .ok_or(ServiceError::NotFound("volunteer"))
    }

    pub async fn get_volunteer(
        &self,
        ctx: &Ctx,
        number: VolunteerNumber,
    ) -> Result<VolunteerRecord> {
        let v = self.load_volunteer(number).await?;
        let facts = self.volunteer_facts(ctx, &v).await?;
        ctx.require(|p| p.can_read_volunteer(&facts))?;
        Ok(v)
    }

    /// Changes a profile. The volunteer changes their own contact, residence, skills and
    /// categories; the jurisdiction also corrects the name, and must say why.
    pub async fn update_volunteer(
        &self,
        ctx: &Ctx,
        number: VolunteerNumber,
        patch: VolunteerPatch,
    ) -> Result<VolunteerRecord> {
        let mut v = self.load_volunteer(number).await?;
        let facts = self.volunteer_facts(ctx, &v).await?;
        ctx.require(|p| p.can_update_volunteer(&facts))?;
        crate::check_version(patch.version, v.version)?;
        let by_self = matches!(&ctx.actor, Actor::User(p) if p.volunteer == Some(v.id));
        if !by_self && patch.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            // A change made on a volunteer's behalf says why.
            return Err(ServiceError::because("reason", Reason::Required));
        }
        if by_self && patch.name.is_some() {
            return Err(ServiceError::because("name", Reason::NameByJurisdiction));
        }
        if let Some(region) = patch.residence_region {
            self.require_region(region, "residence_region").await?;
            if !by_self {
                ctx.require(|p| p.covers(region, Access::Write))?;
            }
        }
        let before = v.profile.clone();
        let p = &mut v.profile;
        if let Some(name) = patch.name {
            p.name = name;
        }
        if let Some(region) = patch.residence_region {
            p.residence_region = region;
        }
        if let Some(phone) = patch.phone {
            p.phone = phone;
        }
        if let Some(skills) = patch.skills {
            p.skills = skills;
        }
        if let Some(cats) = patch.service_categories {
            p.service_categories = cats;
        }
        if let Some(service) = patch.service {
            p.service = service;
        }
        let mut changes = Changes::default();
        changes.note("name", &before.name, &p.name);
        changes.note(
            "residence_region",
            &before.residence_region,
            &p.residence_region,
        );
        changes.note_masked("phone", &before.phone, &p.phone);
        changes.note("skills", &before.skills, &p.skills);
        changes.note(
            "service_categories",
            &before.service_categories,
            &p.service_categories,
        );
        let area = |a: &Option<ServiceArea>| a.map(|a| (a.location, a.availability.slots()));
        changes.note("service_area", &area(&before.service), &area(&p.service));
        if changes.is_empty() {
            return Ok(v);
        }
        let mut audit = ctx.audit("volunteer.update", "volunteer", v.number, None);
        audit.reason = patch.reason;
        audit.details = changes.into_json();
        // A move to another jurisdiction is in both one's trails: the new one learns who
        // moved the volunteer in, and why.
        let audit = audit.in_each([before.residence_region, p.residence_region]);
        Ok(self.0.store.update_volunteer(&v, &audit).await?)
    }

    /// Volunteers living in a region subtree, for the jurisdiction and its auditors.
    pub async fn list_volunteers(
        &self,
        ctx: &Ctx,
        within: Option<RegionCode>,
        page: &PageRequest,
    ) -> Result<Page<VolunteerRecord>> {
        let within = self.scope_of_listing(ctx, within)?;
        ctx.require(|p| p.covers(within, Access::Read))?;
        Ok(self
            .0
            .store
            .list_volunteers(
                &VolunteerQuery {
                    within: Some(within),
                },
                page,
            )
            .await?)
    }

    /// The region a scoped listing covers: the one asked for, or the caller's only one.
    pub(crate) fn scope_of_listing(
        &self,
        ctx: &Ctx,
        within: Option<RegionCode>,
    ) -> Result<RegionCode> {
        if let Some(w) = within {
            return Ok(w);
        }
        match &ctx.actor {
            Actor::User(p) => match p.regions(Access::Read).as_slice() {
                [only] => Ok(*only),
                [] => Err(ServiceError::Forbidden(
                    "listing needs a jurisdiction or auditor role",
                )),
                // Several jurisdictions: the region to list is named.
                _ => Err(ServiceError::because("within", Reason::Required)),
            },
            Actor::System => Ok(RegionCode::parse(zhiyuan_domain::region::GUANGDONG.0)?),
            Actor::Anonymous => Err(ServiceError::Unauthenticated),
        }
    }
}
