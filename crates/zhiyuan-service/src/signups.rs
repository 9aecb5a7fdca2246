//! Signing up for shifts: conditions enforced, places never over-allocated, a waitlist
//! promoted automatically, overlapping shifts warned about.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use zhiyuan_domain::Reason;
use zhiyuan_domain::access::Access;
use zhiyuan_domain::clock::china_date;
use zhiyuan_domain::ids::VolunteerId;
use zhiyuan_domain::project::{ProjectStatus, SignupStatus};
use zhiyuan_store::{
    AuditEntry, Page, PageRequest, Refusal, ShiftId, ShiftRecord, SignupDetail, SignupFacts,
    SignupId, SignupQuery, SignupRecord, StoreError,
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

/// Whether a volunteer may sign up for a shift at `now`.
fn admits(facts: &SignupFacts, now: time::OffsetDateTime) -> std::result::Result<(), Refusal> {
    let refuse = |field, why| Err(Refusal::because(field, why));
    let (shift, p) = (&facts.shift, &facts.project.project);
    if p.status != ProjectStatus::Published {
        return refuse("shift", Reason::ProjectNotOpen);
    }
    if shift.cancelled {
        return refuse("shift", Reason::ShiftCancelled);
    }
    if shift.shift.starts_at <= now {
        return refuse("shift", Reason::ShiftStarted);
    }
    p.conditions
        .admits(
            facts.volunteer.birth_date,
            &facts.volunteer.profile.skills,
            china_date(shift.shift.starts_at),
        )
        .or_else(|why| refuse("conditions", why))
}

impl Zhiyuan {
    /// The signed-in volunteer signs up for a shift. The rules are checked on the shift,
    /// project and volunteer as the sign-up's own transaction reads them, so a project
    /// closed or a shift cancelled a moment earlier is never signed up for.
    pub async fn sign_up(&self, ctx: &Ctx, shift_id: ShiftId) -> Result<SignupOutcome> {
        let volunteer_id = ctx.volunteer()?;
        let now = ctx.now;
        let mut audit = ctx.audit("signup.create", "signup", "", None);
        audit.subject_type = "signup";
        let made = self
            .0
            .store
            .sign_up(
                shift_id,
                volunteer_id,
                now,
                Box::new(move |facts| admits(facts, now)),
                &audit,
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict { field: "volunteer" } => {
                    ServiceError::conflict_because("shift", Reason::AlreadySignedUp)
                }
                StoreError::NotFound => ServiceError::NotFound("shift"),
                other => other.into(),
            })?;
        let warnings = made
            .overlaps
            .iter()
            .map(|d| {
                format!(
                    "overlaps your shift \"{}\" of {}",
                    d.shift.shift.position, d.project_name
                )
            })
            .collect();
        Ok(SignupOutcome {
            signup: made.signup,
            warnings,
        })
    }

    async fn load_signup(&self, id: SignupId) -> Result<SignupRecord> {
        self.0
            .store
            .get_signup(id)
            .await?
            .ok_or(ServiceError::NotFound("sign-up"))
    }

    /// The volunteer withdraws before the shift starts, or the team removes them before it
    /// ends; the shift's free places go to the waitlist in order. Those promoted are
    /// returned to the team only (`None` to a volunteer withdrawing: who took their place
    /// is not theirs to see).
    pub async fn cancel_signup(
        &self,
        ctx: &Ctx,
        id: SignupId,
        reason: Option<String>,
    ) -> Result<(SignupRecord, Option<Vec<SignupRecord>>)> {
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
            return Err(ServiceError::conflict_because(
                "shift",
                Reason::TooLateToCancel,
            ));
        }
        let mut audit = ctx.audit("signup.cancel", "signup", id, Some(project.project.region));
        audit.reason = reason;
        let (cancelled, promoted) = self
            .0
            .store
            .cancel_signup(id, ctx.now, &audit)
            .await
            .map_err(|e| match e {
                // Cancelled twice (a second tap), or rejected or marked absent meanwhile.
                StoreError::Conflict { field: "status" } => ServiceError::conflict_because(
                    "status",
                    match s.status {
                        SignupStatus::Cancelled => Reason::AlreadyCancelled,
                        _ => Reason::AlreadyDecided,
                    },
                ),
                other => other.into(),
            })?;
        Ok((cancelled, by_team.then_some(promoted)))
    }

    /// The team marks a volunteer who held a place and did not come absent, once the
    /// shift has started. No record is then owed for them (Art. 11), and the volunteer
    /// sees the sign-up as absent. Refused while the shift is still to come (cancel
    /// instead) and when the volunteer checked in or has a record of the shift.
    pub async fn mark_absent(
        &self,
        ctx: &Ctx,
        id: SignupId,
        reason: Option<String>,
    ) -> Result<SignupRecord> {
        let (s, shift, audit) = self.team_change(ctx, id, "signup.absent", reason).await?;
        if ctx.now < shift.shift.starts_at {
            return Err(ServiceError::conflict_because(
                "shift",
                Reason::ShiftNotStarted,
            ));
        }
        let r = self.0.store.set_absent(id, true, ctx.now, &audit).await;
        self.judged(r, &s, &shift, SignupStatus::Accepted).await
    }

    /// The team withdraws an absence marked in error: the sign-up is accepted again, its
    /// place taken back, so the volunteer can check in and is owed a record as before.
    /// Refused unless the sign-up is absent, and when the shift is full or cancelled.
    pub async fn withdraw_absence(
        &self,
        ctx: &Ctx,
        id: SignupId,
        reason: Option<String>,
    ) -> Result<SignupRecord> {
        let (s, shift, audit) = self
            .team_change(ctx, id, "signup.reinstate", reason)
            .await?;
        let r = self.0.store.set_absent(id, false, ctx.now, &audit).await;
        self.judged(r, &s, &shift, SignupStatus::Absent).await
    }

    /// A coordinator accepts (a place, or the waitlist when full) or rejects a pending
    /// sign-up; nobody is accepted into a cancelled shift.
    pub async fn decide_signup(
        &self,
        ctx: &Ctx,
        id: SignupId,
        accept: bool,
        reason: Option<String>,
    ) -> Result<SignupRecord> {
        let (s, shift, audit) = self.team_change(ctx, id, "signup.decide", reason).await?;
        if accept && shift.cancelled {
            return Err(ServiceError::conflict_because(
                "shift",
                Reason::ShiftCancelled,
            ));
        }
        let r = self
            .0
            .store
            .decide_signup(id, accept, ctx.now, &audit)
            .await;
        self.judged(r, &s, &shift, SignupStatus::Pending).await
    }

    /// A sign-up, its shift and the audit entry of a change to it that only the team
    /// running the project may make.
    async fn team_change(
        &self,
        ctx: &Ctx,
        id: SignupId,
        action: &'static str,
        reason: Option<String>,
    ) -> Result<(SignupRecord, ShiftRecord, AuditEntry)> {
        let s = self.load_signup(id).await?;
        let (shift, project) = self.load_shift(s.shift).await?;
        let org = self.project_org(&project).await?;
        ctx.require(|p| p.can_run_projects(&org))?;
        let mut audit = ctx.audit(action, "signup", id, Some(project.project.region));
        audit.reason = reason;
        Ok((s, shift, audit))
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
            .await?
            .map(|d| d.signup))
    }

    /// Every sign-up of the signed-in volunteer, in the order made, each with its shift and
    /// project: whether they held a place, waited, withdrew or were marked absent (Art. 12).
    pub async fn my_signups(
        &self,
        ctx: &Ctx,
        status: Option<SignupStatus>,
        page: &PageRequest,
    ) -> Result<Page<SignupDetail>> {
        let v = ctx.volunteer()?;
        Ok(self
            .0
            .store
            .list_signups(
                &SignupQuery {
                    shift: None,
                    volunteer: Some(v),
                    status,
                },
                page,
            )
            .await?)
    }

    /// The store's answer `r` to a team's change to `s` of `shift`, a refusal said as
    /// [`refusal`] says it. A shift that refused the change is read again, for it may
    /// have been cancelled since it was read (a shift cancelled in the same instant is
    /// not full).
    async fn judged<T>(
        &self,
        r: zhiyuan_store::Result<T>,
        s: &SignupRecord,
        shift: &ShiftRecord,
        wanted: SignupStatus,
    ) -> Result<T> {
        let e = match r {
            Ok(changed) => return Ok(changed),
            Err(e) => e,
        };
        let cancelled = match e {
            StoreError::Conflict { field: "shift" } => self
                .0
                .store
                .get_shift(shift.id)
                .await?
                .is_none_or(|now| now.cancelled),
            _ => shift.cancelled,
        };
        Err(refusal(s, cancelled, wanted, e))
    }

    /// The signed-in volunteer's live sign-ups for shifts not yet over, soonest first.
    pub async fn my_schedule(&self, ctx: &Ctx, limit: u32) -> Result<Vec<SignupDetail>> {
        let v = ctx.volunteer()?;
        Ok(self.0.store.volunteer_schedule(v, ctx.now, limit).await?)
    }

    /// A new calendar link for the signed-in volunteer: the secret a calendar app
    /// subscribes with (it sends no bearer token), kept only as a digest. The volunteer's
    /// earlier link stops answering.
    pub async fn new_calendar_link(&self, ctx: &Ctx) -> Result<String> {
        let secret = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>());
        let digest = Sha256::digest(secret.as_bytes());
        self.set_calendar_link(ctx, Some(&digest), "calendar.link")
            .await?;
        Ok(secret)
    }

    /// Ends the signed-in volunteer's calendar link, if they have one: a calendar
    /// subscribed with it gets nothing more (a phone lost, a link shared by mistake).
    pub async fn end_calendar_link(&self, ctx: &Ctx) -> Result<()> {
        self.set_calendar_link(ctx, None, "calendar.unlink").await
    }

    /// Gives the signed-in volunteer the link of `digest`, or with `None` none, audited as
    /// `action`.
    async fn set_calendar_link(
        &self,
        ctx: &Ctx,
        digest: Option<&[u8]>,
        action: &'static str,
    ) -> Result<()> {
        let id = ctx.volunteer()?;
        let v = self
            .0
            .store
            .get_volunteer(id)
            .await?
            .ok_or(ServiceError::NotFound("volunteer"))?;
        let audit = ctx.audit(
            action,
            "volunteer",
            v.number.to_string(),
            Some(v.profile.residence_region),
        );
        Ok(self
            .0
            .store
            .set_calendar_link(id, digest, ctx.now, &audit)
            .await?)
    }

    /// What the calendar link `secret` shows at `now`: its volunteer's schedule, as
    /// [`Zhiyuan::my_schedule`] gives it; not found for any other secret.
    pub async fn linked_schedule(
        &self,
        secret: &str,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<SignupDetail>> {
        let digest = Sha256::digest(secret.as_bytes());
        let v = self
            .0
            .store
            .calendar_link_volunteer(&digest)
            .await?
            .ok_or(ServiceError::NotFound("calendar"))?;
        Ok(self.0.store.volunteer_schedule(v, now, limit).await?)
    }
}

/// The store's refusal of a team's change to sign-up `s`, which had to be `wanted`, as
/// it was read before the change; `cancelled` whether the shift is.
fn refusal(s: &SignupRecord, cancelled: bool, wanted: SignupStatus, e: StoreError) -> ServiceError {
    use SignupStatus::{Absent, Accepted, Cancelled, Pending};
    let (field, why) = match e {
        StoreError::Conflict { field: "status" } => (
            "status",
            match (wanted, s.status) {
                (wanted, read) if wanted == read => Reason::ChangedMeanwhile,
                (_, Cancelled) => Reason::AlreadyCancelled,
                (Pending, _) | (Accepted, Absent) => Reason::AlreadyDecided,
                (Absent, _) => Reason::NotAbsent,
                _ => Reason::HoldsNoPlace,
            },
        ),
        StoreError::Conflict {
            field: "attendance",
        } => ("attendance", Reason::AttendanceTaken),
        StoreError::Conflict { field: "shift" } if cancelled => ("shift", Reason::ShiftCancelled),
        StoreError::Conflict { field: "shift" } => ("shift", Reason::ShiftFull),
        other => return other.into(),
    };
    ServiceError::conflict_because(field, why)
}
