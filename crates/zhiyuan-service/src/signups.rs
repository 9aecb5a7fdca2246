//! Signing up for shifts: conditions enforced, places never over-allocated, a waitlist
//! promoted automatically, overlapping shifts warned about.

use zhiyuan_domain::access::Access;
use zhiyuan_domain::clock::china_date;
use zhiyuan_domain::ids::VolunteerId;
use zhiyuan_domain::project::{ProjectStatus, SignupStatus};
use zhiyuan_store::{
    Page, PageRequest, ShiftId, SignupDetail, SignupId, SignupQuery, SignupRecord, StoreError,
};

use crate::error::{Result, ServiceError};
use crate::{Actor, Ctx, Zhiyuan};

/// A sign-up and what the volunteer should know about it.
#[derive(Debug, Clone)]
pub struct SignupOutcome {
    pub signup: SignupRecord,
    /// E.g. another shift at overlapping times.
    pub warnings: Vec<String>,
}

impl Ctx {
    /// The signed-in volunteer, or 403 for other accounts.
    pub fn volunteer(&self) -> Result<VolunteerId> {
        self.user()?.volunteer.ok_or(ServiceError::Forbidden(
            "only a registered volunteer can do this",
        ))
    }
}

impl Zhiyuan {
    /// The signed-in volunteer signs up for a shift.
    pub async fn sign_up(&self, ctx: &Ctx, shift_id: ShiftId) -> Result<SignupOutcome> {
        let volunteer_id = ctx.volunteer()?;
        let (shift, project) = self.load_shift(shift_id).await?;
        let p = &project.project;
        let refuse = |message: &str| ServiceError::Conflict {
            field: "shift",
            message: message.to_owned(),
        };
        if p.status != ProjectStatus::Published {
            return Err(refuse("the project is not open for sign-up"));
        }
        if shift.cancelled {
            return Err(refuse("the shift is cancelled"));
        }
        if shift.shift.starts_at <= ctx.now {
            return Err(refuse("the shift has already started"));
        }
        let volunteer = self
            .0
            .store
            .get_volunteer(volunteer_id)
            .await?
            .ok_or(ServiceError::NotFound("volunteer"))?;
        p.conditions
            .admits(
                volunteer.birth_date,
                &volunteer.profile.skills,
                china_date(shift.shift.starts_at),
            )
            .map_err(|why| ServiceError::Conflict {
                field: "conditions",
                message: why.to_string(),
            })?;
        let mut audit = ctx.audit("signup.create", "signup", "", Some(p.region));
        audit.subject_type = "signup";
        let signup = self
            .0
            .store
            .sign_up(shift_id, volunteer_id, p.signup_mode, ctx.now, &audit)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { field: "volunteer" } => ServiceError::Conflict {
                    field: "shift",
                    message: "you are already signed up for this shift".into(),
                },
                other => other.into(),
            })?;
        let warnings = self
            .0
            .store
            .volunteer_schedule(
                volunteer_id,
                shift.shift.starts_at - time::Duration::days(1),
                200,
            )
            .await?
            .into_iter()
            .filter(|d| {
                d.signup.id != signup.id
                    && d.shift.shift.starts_at < shift.shift.ends_at
                    && shift.shift.starts_at < d.shift.shift.ends_at
            })
            .map(|d| {
                format!(
                    "overlaps your shift \"{}\" of {}",
                    d.shift.shift.position, d.project_name
                )
            })
            .collect();
        Ok(SignupOutcome { signup, warnings })
    }

    async fn load_signup(&self, id: SignupId) -> Result<SignupRecord> {
        self.0
            .store
            .get_signup(id)
            .await?
            .ok_or(ServiceError::NotFound("sign-up"))
    }

    /// The volunteer withdraws before the shift starts, or the team removes them before it
    /// ends; a freed place goes to the first on the waitlist.
    pub async fn cancel_signup(
        &self,
        ctx: &Ctx,
        id: SignupId,
        reason: Option<String>,
    ) -> Result<(SignupRecord, Option<SignupRecord>)> {
        let s = self.load_signup(id).await?;
        let (shift, project) = self.load_shift(s.shift).await?;
        let org = self.project_org(&project).await?;
        let by_self = matches!(&ctx.actor, Actor::User(p) if p.volunteer == Some(s.volunteer));
        let by_team = ctx.allows(|p| p.can_run_projects(&org));
        if !by_self && !by_team {
            ctx.require(|_| false)?;
        }
        let deadline = if by_team {
            shift.shift.ends_at
        } else {
            shift.shift.starts_at
        };
        if ctx.now >= deadline {
            return Err(ServiceError::Conflict {
                field: "shift",
                message: "it is too late to cancel this sign-up".into(),
            });
        }
        let mut audit = ctx.audit("signup.cancel", "signup", id, Some(project.project.region));
        audit.reason = reason;
        self.0
            .store
            .cancel_signup(id, ctx.now, &audit)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { field: "status" } => ServiceError::Conflict {
                    field: "status",
                    message: format!("a {} sign-up cannot be cancelled", s.status.as_str()),
                },
                other => other.into(),
            })
    }

    /// A coordinator accepts (a place, or the waitlist when full) or rejects a pending
    /// sign-up.
    pub async fn decide_signup(
        &self,
        ctx: &Ctx,
        id: SignupId,
        accept: bool,
        reason: Option<String>,
    ) -> Result<SignupRecord> {
        let s = self.load_signup(id).await?;
        let (_, project) = self.load_shift(s.shift).await?;
        let org = self.project_org(&project).await?;
        ctx.require(|p| p.can_run_projects(&org))?;
        let mut audit = ctx.audit("signup.decide", "signup", id, Some(project.project.region));
        audit.reason = reason;
        self.0
            .store
            .decide_signup(id, accept, ctx.now, &audit)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { field: "status" } => ServiceError::Conflict {
                    field: "status",
                    message: format!("the sign-up is {}, not pending", s.status.as_str()),
                },
                other => other.into(),
            })
    }

    /// A shift's sign-ups, for the team, its site and jurisdiction.
    pub async fn list_shift_signups(
        &self,
        ctx: &Ctx,
        shift: ShiftId,
        status: Option<SignupStatus>,
        page: &PageRequest,
    ) -> Result<Page<SignupRecord>> {
        let (_, project) = self.load_shift(shift).await?;
        let org = self.project_org(&project).await?;
        ctx.require(|p| p.can_run_projects(&org) || p.can_access_org(&org, Access::Read))?;
        Ok(self
            .0
            .store
            .list_signups(
                &SignupQuery {
                    shift: Some(shift),
                    volunteer: None,
                    status,
                },
                page,
            )
            .await?)
    }

    /// The signed-in volunteer's live sign-ups for shifts not yet over, soonest first.
    pub async fn my_schedule(&self, ctx: &Ctx, limit: u32) -> Result<Vec<SignupDetail>> {
        let v = ctx.volunteer()?;
        Ok(self.0.store.volunteer_schedule(v, ctx.now, limit).await?)
    }
}
