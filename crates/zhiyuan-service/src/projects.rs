//! Projects and shifts: a team publishes activities, optionally after review; risky ones
//! need accident insurance first (Art. 17).

use zhiyuan_domain::Reason;
use zhiyuan_domain::access::{Access, OrgFacts};
use zhiyuan_domain::clock::china_date;
use zhiyuan_domain::project::{Conditions, Insurance, ProjectStatus, SignupMode, check_shift};
use zhiyuan_domain::site::GeoPoint;
use zhiyuan_store::{
    NewProject, NewShift, OrgRecord, Page, PageRequest, ProjectId, ProjectQuery, ProjectRecord,
    ShiftId, ShiftRecord,
};

use crate::error::{Result, ServiceError};
use crate::{Changes, Ctx, Zhiyuan};

/// A change to a project; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProjectPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub address: Option<String>,
    pub location: Option<Option<GeoPoint>>,
    pub geofence_m: Option<Option<i64>>,
    pub conditions: Option<Conditions>,
    pub risky: Option<bool>,
    pub risk_disclosure: Option<String>,
    pub insurance: Option<Option<Insurance>>,
    pub signup_mode: Option<SignupMode>,
    pub review_required: Option<bool>,
    pub responsible_person: Option<String>,
    pub version: Option<i64>,
}

/// A change to a shift.
#[derive(Debug, Clone, Default)]
pub struct ShiftPatch {
    pub capacity: Option<i64>,
    pub cancelled: Option<bool>,
    pub version: Option<i64>,
}

impl Zhiyuan {
    pub(crate) async fn load_org_record(
        &self,
        id: zhiyuan_domain::ids::OrgId,
    ) -> Result<OrgRecord> {
        self.0
            .store
            .get_org(id)
            .await?
            .ok_or(ServiceError::NotFound("organisation"))
    }

    pub(crate) async fn load_project(&self, id: ProjectId) -> Result<ProjectRecord> {
        self.0
            .store
            .get_project(id)
            .await?
            .ok_or(ServiceError::NotFound("project"))
    }

    pub(crate) async fn load_shift(&self, id: ShiftId) -> Result<(ShiftRecord, ProjectRecord)> {
        self.0
            .store
            .get_shift_with_project(id)
            .await?
            .ok_or(ServiceError::NotFound("shift"))
    }

    /// The team behind a project, as access facts.
    pub(crate) async fn project_org(&self, p: &ProjectRecord) -> Result<OrgFacts> {
        Ok(self.load_org_record(p.project.org).await?.facts())
    }

    /// A team drafts a project.
    pub async fn create_project(&self, ctx: &Ctx, mut p: NewProject) -> Result<ProjectRecord> {
        let org = self.load_org_record(p.org).await?;
        self.require_region(p.region, "region").await?;
        if let Some(site) = p.site {
            self.0
                .store
                .get_site(site)
                .await?
                .ok_or_else(|| ServiceError::because("site", Reason::NotFound))?;
        }
        if p.ends_on < p.starts_on {
            return Err(ServiceError::because("ends_on", Reason::BeforeStart));
        }
        p.conditions.check()?;
        if p.geofence_m.is_some() && p.location.is_none() {
            return Err(ServiceError::because(
                "geofence_m",
                Reason::GeofenceNeedsLocation,
            ));
        }
        ctx.require(|pr| pr.can_run_projects(&org.facts()))?;
        p.status = ProjectStatus::Draft;
        let mut audit = ctx.audit("project.create", "project", "", Some(p.region));
        audit.details = serde_json::json!({ "name": p.name, "organisation": p.org });
        Ok(self.0.store.insert_project(&p, &audit).await?)
    }

    /// A project as the caller may see it: published ones publicly, the rest for the
    /// team, its site and jurisdiction.
    pub async fn get_project(&self, ctx: &Ctx, id: ProjectId) -> Result<ProjectRecord> {
        let p = self.load_project(id).await?;
        if p.project.status != ProjectStatus::Published && p.project.status != ProjectStatus::Closed
        {
            let org = self.project_org(&p).await?;
            ctx.require(|pr| {
                pr.can_run_projects(&org)
                    || pr.can_access_org(&org, Access::Read)
                    || pr.can_review_project(p.project.region, p.project.site)
            })?;
        }
        Ok(p)
    }

    /// Projects: published ones for everyone, a team's drafts too for the team. With
    /// `near` (a point and a radius in km), the projects within it, nearest first.
    pub async fn list_projects(
        &self,
        ctx: &Ctx,
        mut q: ProjectQuery,
        near: Option<(GeoPoint, f64)>,
        page: &PageRequest,
    ) -> Result<Page<ProjectRecord>> {
        if q.status != Some(ProjectStatus::Published) {
            match q.org {
                Some(org) => {
                    let org = self.load_org_record(org).await?;
                    if !ctx.allows(|pr| pr.can_run_projects(&org.facts())) {
                        q.status = Some(ProjectStatus::Published);
                    }
                }
                None => q.status = Some(ProjectStatus::Published),
            }
        }
        let Some((centre, km)) = near else {
            return Ok(self.0.store.list_projects(&q, page).await?);
        };
        // A box around the circle narrows the search on the index; the exact distance
        // then filters and orders what is inside.
        let ((lat0, lat1), (lng0, lng1)) = centre.bounding_box(km * 1000.0);
        q.bbox = Some((
            GeoPoint {
                lat: lat0,
                lng: lng0,
            },
            GeoPoint {
                lat: lat1,
                lng: lng1,
            },
        ));
        let candidates = self
            .0
            .store
            .list_projects(&q, &PageRequest::first(PageRequest::MAX_LIMIT))
            .await?;
        let mut hits: Vec<(f64, ProjectRecord)> = candidates
            .items
            .into_iter()
            .filter_map(|p| {
                let d = p.project.location?.distance_m(centre);
                (d <= km * 1000.0).then_some((d, p))
            })
            .collect();
        hits.sort_by(|a, b| a.0.total_cmp(&b.0));
        hits.truncate(page.limit as usize);
        Ok(Page {
            items: hits.into_iter().map(|(_, p)| p).collect(),
            next: None,
        })
    }

    pub async fn update_project(
        &self,
        ctx: &Ctx,
        id: ProjectId,
        patch: ProjectPatch,
    ) -> Result<ProjectRecord> {
        let mut r = self.load_project(id).await?;
        let org = self.project_org(&r).await?;
        ctx.require(|pr| pr.can_run_projects(&org))?;
        crate::check_version(patch.version, r.version)?;
        if matches!(
            r.project.status,
            ProjectStatus::Closed | ProjectStatus::Cancelled
        ) {
            return Err(ServiceError::conflict_because(
                "status",
                Reason::ProjectEnded,
            ));
        }
        let before = r.project.clone();
        // Conditions are checked when they change: a project kept from before a rule was
        // made (an age under 18 without minors, say) stays editable in its other fields.
        let conditions_changed = patch.conditions.is_some();
        let p = &mut r.project;
        macro_rules! apply {
            ($($f:ident),*) => {$( if let Some(v) = patch.$f { p.$f = v; } )*};
        }
        apply!(
            name,
            description,
            address,
            location,
            geofence_m,
            conditions,
            risky,
            risk_disclosure,
            insurance,
            signup_mode,
            review_required,
            responsible_person
        );
        if conditions_changed {
            p.conditions.check()?;
        }
        if p.geofence_m.is_some() && p.location.is_none() {
            return Err(ServiceError::because(
                "geofence_m",
                Reason::GeofenceNeedsLocation,
            ));
        }
        if p.status == ProjectStatus::Published && p.risky {
            check_insurance(p)?;
        }
        let mut changes = Changes::default();
        changes.note("name", &before.name, &p.name);
        changes.note("description", &before.description, &p.description);
        changes.note("address", &before.address, &p.address);
        changes.note("location", &before.location, &p.location);
        changes.note("geofence_m", &before.geofence_m, &p.geofence_m);
        changes.note("conditions", &before.conditions, &p.conditions);
        changes.note("risky", &before.risky, &p.risky);
        changes.note(
            "risk_disclosure",
            &before.risk_disclosure,
            &p.risk_disclosure,
        );
        changes.note("insurance", &before.insurance, &p.insurance);
        changes.note("signup_mode", &before.signup_mode, &p.signup_mode);
        changes.note(
            "review_required",
            &before.review_required,
            &p.review_required,
        );
        changes.note(
            "responsible_person",
            &before.responsible_person,
            &p.responsible_person,
        );
        if changes.is_empty() {
            return Ok(r);
        }
        let mut audit = ctx.audit("project.update", "project", id, Some(p.region));
        audit.details = changes.into_json();
        Ok(self.0.store.update_project(&r, &audit).await?)
    }

    /// Moves a project through its states. The team submits, publishes (directly unless
    /// review is required; risky projects need insurance covering the whole period),
    /// closes or cancels; the site or jurisdiction decides a review.
    pub async fn change_project_status(
        &self,
        ctx: &Ctx,
        id: ProjectId,
        to: ProjectStatus,
        reason: Option<String>,
    ) -> Result<ProjectRecord> {
        let mut r = self.load_project(id).await?;
        let org = self.project_org(&r).await?;
        let from = r.project.status;
        let reviewing = from == ProjectStatus::PendingReview
            && matches!(to, ProjectStatus::Published | ProjectStatus::Draft);
        if reviewing {
            ctx.require(|pr| pr.can_review_project(r.project.region, r.project.site))?;
        } else {
            ctx.require(|pr| pr.can_run_projects(&org))?;
        }
        if !from.may_move_to(to, reviewing) {
            return Err(ServiceError::conflict_because(
                "status",
                Reason::CannotBecome {
                    from: from.as_str(),
                    to: to.as_str(),
                },
            ));
        }
        if from == ProjectStatus::Draft
            && to == ProjectStatus::Published
            && r.project.review_required
        {
            return Err(ServiceError::conflict_because(
                "status",
                Reason::ReviewNeeded,
            ));
        }
        if to == ProjectStatus::Published && r.project.risky {
            check_insurance(&r.project)?;
        }
        r.project.status = to;
        let mut audit = ctx.audit("project.status", "project", id, Some(r.project.region));
        audit.reason = reason;
        audit.details = serde_json::json!({ "from": from, "to": to });
        Ok(self.0.store.update_project(&r, &audit).await?)
    }

    pub async fn create_shift(&self, ctx: &Ctx, s: NewShift) -> Result<ShiftRecord> {
        let p = self.load_project(s.project).await?;
        let org = self.project_org(&p).await?;
        ctx.require(|pr| pr.can_run_projects(&org))?;
        check_shift(s.starts_at, s.ends_at, s.capacity)?;
        if matches!(
            p.project.status,
            ProjectStatus::Closed | ProjectStatus::Cancelled
        ) {
            return Err(ServiceError::conflict_because(
                "project",
                Reason::ProjectEnded,
            ));
        }
        let day = china_date(s.starts_at);
        if day < p.project.starts_on || day > p.project.ends_on {
            return Err(ServiceError::because(
                "starts_at",
                Reason::OutsideProjectPeriod,
            ));
        }
        let mut audit = ctx.audit("shift.create", "shift", "", Some(p.project.region));
        audit.details = serde_json::json!({
            "project": s.project, "position": s.position, "capacity": s.capacity,
        });
        Ok(self.0.store.insert_shift(&s, &audit).await?)
    }

    pub async fn list_shifts(&self, ctx: &Ctx, project: ProjectId) -> Result<Vec<ShiftRecord>> {
        self.get_project(ctx, project).await?;
        Ok(self.0.store.list_shifts(project).await?)
    }

    /// Changes a shift's capacity (never below the places taken) or cancels it.
    pub async fn update_shift(
        &self,
        ctx: &Ctx,
        id: ShiftId,
        patch: ShiftPatch,
    ) -> Result<ShiftRecord> {
        let (mut s, p) = self.load_shift(id).await?;
        let org = self.project_org(&p).await?;
        ctx.require(|pr| pr.can_run_projects(&org))?;
        crate::check_version(patch.version, s.version)?;
        let before = (s.shift.capacity, s.cancelled);
        if let Some(c) = patch.capacity {
            check_shift(s.shift.starts_at, s.shift.ends_at, c)?;
            s.shift.capacity = c;
        }
        if let Some(c) = patch.cancelled {
            s.cancelled = c;
        }
        let mut changes = Changes::default();
        changes.note("capacity", &before.0, &s.shift.capacity);
        changes.note("cancelled", &before.1, &s.cancelled);
        if changes.is_empty() {
            return Ok(s);
        }
        // Cancelling is an event: those signed up are told.
        let action = match (before.1, s.cancelled) {
            (false, true) => "shift.cancel",
            _ => "shift.update",
        };
        let mut audit = ctx.audit(action, "shift", id, Some(p.project.region));
        audit.details = changes.into_json();
        self.0
            .store
            .update_shift(&s, &audit)
            .await
            .map_err(|e| match e {
                zhiyuan_store::StoreError::Conflict { field: "capacity" } => {
                    ServiceError::conflict_because(
                        "capacity",
                        Reason::PlacesTaken { taken: s.accepted },
                    )
                }
                other => other.into(),
            })
    }
}

fn check_insurance(p: &NewProject) -> Result<()> {
    match &p.insurance {
        Some(i) if i.covers(p.starts_on, p.ends_on) => Ok(()),
        Some(_) => Err(ServiceError::because("insurance", Reason::InsuranceShort)),
        None => Err(ServiceError::because("insurance", Reason::InsuranceNeeded)),
    }
}
