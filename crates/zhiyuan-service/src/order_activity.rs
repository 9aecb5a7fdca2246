//! A team carries out an order it took as an activity (接单 → 活动): a project with one
//! shift, reusing sign-ups and attendance, so the hours served become ordinary service
//! records through the same checks as any project's.

use time::{Duration, OffsetDateTime};
use zhiyuan_domain::clock::china_date;
use zhiyuan_domain::order::{Holder, OrderStatus};
use zhiyuan_domain::project::{Conditions, ProjectStatus, SignupMode};
use zhiyuan_store::{NewProject, NewShift, ProjectRecord, ShiftRecord};

use crate::{Ctx, Result, ServiceError, Zhiyuan};
use zhiyuan_domain::Reason;

/// How the team will carry it out.
#[derive(Debug, Clone)]
pub struct ActivityInput {
    /// Defaults to the time the requester wanted.
    pub starts_at: Option<OffsetDateTime>,
    pub capacity: i64,
    pub position: String,
    pub responsible_person: String,
}

impl Zhiyuan {
    /// Creates and publishes the activity of an order the caller's team accepted. The
    /// project tells the public only what the menu says (the service, its description
    /// and conditions, the receiving site's address), never the requester's description,
    /// address or contact; sign-ups are approved by the team, who tell those they accept
    /// where to go.
    pub async fn carry_out_order(
        &self,
        ctx: &Ctx,
        id: i64,
        input: ActivityInput,
    ) -> Result<(ProjectRecord, ShiftRecord)> {
        let o = self.get_order(ctx, id).await?;
        let (OrderStatus::Accepted, Holder::Org(org)) = (o.state.status, o.state.holder) else {
            return Err(ServiceError::conflict_because(
                "status",
                Reason::OnlyAcceptingTeam,
            ));
        };
        if self.0.store.order_activity(id).await?.is_some() {
            return Err(ServiceError::conflict_because(
                "activity",
                Reason::HasActivity,
            ));
        }
        let need = &o.order.need;
        let starts_at = input.starts_at.or(need.wanted_at).ok_or_else(|| {
            // The need names no time.
            ServiceError::because("starts_at", Reason::Required)
        })?;
        let (site, menu) = self.site_menu(o.order.site).await?;
        let item = menu.iter().find(|m| m.item.code == need.service_code);
        let day = china_date(starts_at);
        let project = self
            .create_project(
                ctx,
                NewProject {
                    org,
                    name: format!("{}（{}）", need.service_name, o.order.tracking),
                    category: need.category,
                    description: item
                        .map_or_else(|| need.service_name.clone(), |m| m.item.description.clone()),
                    region: need.region,
                    site: Some(site.id),
                    address: site.site.address.clone(),
                    location: site.site.location,
                    geofence_m: None,
                    starts_on: day,
                    ends_on: day,
                    conditions: Conditions {
                        skills: item.map(|m| m.item.skills.clone()).unwrap_or_default(),
                        min_age: None,
                        max_age: None,
                        minors_allowed: item.is_some_and(|m| m.item.minors_allowed),
                    },
                    risky: false,
                    risk_disclosure: String::new(),
                    insurance: None,
                    signup_mode: SignupMode::Approval,
                    review_required: false,
                    responsible_person: input.responsible_person,
                    status: ProjectStatus::Draft,
                },
            )
            .await?;
        let minutes = item.map_or(120, |m| m.item.typical_minutes);
        let shift = self
            .create_shift(
                ctx,
                NewShift {
                    project: project.id,
                    position: input.position,
                    starts_at,
                    ends_at: starts_at + Duration::minutes(minutes),
                    capacity: input.capacity,
                },
            )
            .await?;
        let mut audit = ctx.audit("order.activity", "order", id, Some(need.region));
        audit.details = serde_json::json!({
            "project": project.id.0,
            "shift": shift.id.0,
            "holder": {"kind": o.state.holder.kind(), "id": o.state.holder.id()},
        });
        // Linked before it is published: a second request at once leaves only a draft.
        self.0.store.link_activity(id, project.id, &audit).await?;
        let project = self
            .change_project_status(ctx, project.id, ProjectStatus::Published, None)
            .await?;
        Ok((project, shift))
    }

    /// The project carrying out an order, if any (for its handlers).
    pub async fn order_activity(
        &self,
        ctx: &Ctx,
        id: i64,
    ) -> Result<Option<zhiyuan_store::ProjectId>> {
        self.get_order(ctx, id).await?;
        Ok(self.0.store.order_activity(id).await?)
    }
}
