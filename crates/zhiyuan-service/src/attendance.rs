//! Attendance, four ways that all end in the same kind of record: the volunteer scans the
//! site's rotating code (optionally inside a geofence), a coordinator scans the
//! volunteer's code, a coordinator enters it, or the volunteer reports it and a
//! coordinator approves. Check-in and check-out are idempotent; a forgotten check-out is
//! closed by the system and left pending for review.

use time::OffsetDateTime;
use zhiyuan_domain::Reason;
use zhiyuan_domain::clock::china_date;
use zhiyuan_domain::ids::VolunteerId;
use zhiyuan_domain::project::SignupStatus;
use zhiyuan_domain::site::GeoPoint;
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{
    AttendanceMethod, AttendanceRecord, NewAttendance, NewRecord, ProjectRecord, RecordSource,
    RecordStatus, ShiftId, ShiftRecord, StoreError,
};

use crate::codes::{self, CodeKind};
use crate::error::{Result, ServiceError};
use crate::{Ctx, Zhiyuan};

/// Proof of presence offered with a check-in or check-out.
#[derive(Debug, Clone)]
pub enum Presence {
    /// The volunteer scanned the site's code, possibly sharing their location.
    SiteCode {
        code: String,
        location: Option<GeoPoint>,
    },
    /// A coordinator scanned the volunteer's code.
    VolunteerCode { code: String },
    /// A coordinator records a volunteer by number.
    Coordinator { volunteer: VolunteerNumber },
}

/// The result of a check-in or check-out.
#[derive(Debug, Clone)]
pub struct AttendanceOutcome {
    pub attendance: AttendanceRecord,
    /// False when the call repeated one already made (idempotent).
    pub changed: bool,
}

fn code_error(field: &str, e: codes::CodeError) -> ServiceError {
    let why = match e {
        codes::CodeError::Malformed => Reason::CodeMalformed,
        codes::CodeError::Expired => Reason::CodeExpired,
        codes::CodeError::Forged => Reason::CodeForged,
    };
    ServiceError::because(field, why)
}

impl Zhiyuan {
    /// The site's current code for a shift, for display as a QR code by its coordinators
    /// and site staff.
    pub async fn shift_code(&self, ctx: &Ctx, shift: ShiftId) -> Result<(String, OffsetDateTime)> {
        let (_, project) = self.load_shift(shift).await?;
        let org = self.project_org(&project).await?;
        ctx.require(|p| p.can_run_projects(&org))?;
        Ok(codes::issue(
            &self.0.vault,
            CodeKind::Shift,
            shift.0,
            ctx.now,
        ))
    }

    /// The signed-in volunteer's current personal code.
    pub fn my_code(&self, ctx: &Ctx) -> Result<(String, OffsetDateTime)> {
        let v = ctx.volunteer()?;
        Ok(codes::issue(
            &self.0.vault,
            CodeKind::Volunteer,
            v.0,
            ctx.now,
        ))
    }

    /// Works out who is present and checks the proof.
    async fn present(
        &self,
        ctx: &Ctx,
        shift: &ShiftRecord,
        project: &ProjectRecord,
        presence: &Presence,
    ) -> Result<(VolunteerId, AttendanceMethod, Option<i64>)> {
        match presence {
            Presence::SiteCode { code, location } => {
                let v = ctx.volunteer()?;
                let subject = codes::verify(&self.0.vault, code, CodeKind::Shift, ctx.now)
                    .map_err(|e| code_error("code", e))?;
                if subject != shift.id.0 {
                    return Err(ServiceError::because("code", Reason::CodeOfAnotherShift));
                }
                let distance = match (project.project.location, project.project.geofence_m) {
                    (Some(site), Some(radius)) => {
                        let here = location.ok_or_else(|| {
                            ServiceError::because("location", Reason::LocationNeeded)
                        })?;
                        let d = here.distance_m(site).round() as i64;
                        if d > radius {
                            return Err(ServiceError::because(
                                "location",
                                Reason::OutsideGeofence {
                                    distance_m: d,
                                    radius_m: radius,
                                },
                            ));
                        }
                        Some(d)
                    }
                    _ => None,
                };
                Ok((v, AttendanceMethod::SiteCode, distance))
            }
            Presence::VolunteerCode { code } => {
                let org = self.project_org(project).await?;
                ctx.require(|p| p.can_run_projects(&org))?;
                let subject = codes::verify(&self.0.vault, code, CodeKind::Volunteer, ctx.now)
                    .map_err(|e| code_error("code", e))?;
                Ok((VolunteerId(subject), AttendanceMethod::VolunteerCode, None))
            }
            Presence::Coordinator { volunteer } => {
                let (org, v) = tokio::try_join!(self.project_org(project), async {
                    Ok(self.0.store.get_volunteer_by_number(*volunteer).await?)
                })?;
                ctx.require(|p| p.can_run_projects(&org))?;
                let v =
                    v.ok_or_else(|| ServiceError::because("volunteer", Reason::NoSuchVolunteer))?;
                Ok((v.id, AttendanceMethod::Coordinator, None))
            }
        }
    }

    /// Checks a volunteer in. Opens an hour before the shift and closes at its end; needs
    /// an accepted sign-up. Repeating it returns the first check-in.
    pub async fn check_in(
        &self,
        ctx: &Ctx,
        shift_id: ShiftId,
        presence: Presence,
    ) -> Result<AttendanceOutcome> {
        let (shift, project) = self.load_shift(shift_id).await?;
        let (volunteer, method, distance_m) =
            self.present(ctx, &shift, &project, &presence).await?;
        let (existing, signup) = tokio::try_join!(
            self.0.store.get_attendance(shift_id, volunteer),
            self.0.store.find_signup(shift_id, volunteer),
        )?;
        if let Some(existing) = existing {
            return Ok(AttendanceOutcome {
                attendance: existing,
                changed: false,
            });
        }
        if !signup.is_some_and(|s| s.status == SignupStatus::Accepted) {
            return Err(NewAttendance::without_signup().into());
        }
        let opens = shift.shift.starts_at - self.0.config.checkin_opens_before;
        if ctx.now < opens || ctx.now >= shift.shift.ends_at || shift.cancelled {
            return Err(ServiceError::conflict_because(
                "shift",
                Reason::CheckInClosed {
                    opens_before_minutes: self.0.config.checkin_opens_before.whole_minutes(),
                },
            ));
        }
        let mut audit = ctx.audit(
            "attendance.check_in",
            "attendance",
            "",
            Some(project.project.region),
        );
        audit.details = serde_json::json!({
            "shift": shift_id.0, "volunteer": volunteer.0, "method": method.as_str(),
            "distance_m": distance_m,
        });
        let (attendance, changed) = self
            .0
            .store
            .check_in(
                &NewAttendance {
                    shift: shift_id,
                    volunteer,
                    at: ctx.now,
                    method,
                    distance_m,
                },
                &audit,
            )
            .await?;
        Ok(AttendanceOutcome {
            attendance,
            changed,
        })
    }

    /// Checks a volunteer out and records the time given. Repeating it returns the first
    /// check-out.
    pub async fn check_out(
        &self,
        ctx: &Ctx,
        shift_id: ShiftId,
        presence: Presence,
    ) -> Result<AttendanceOutcome> {
        let (shift, project) = self.load_shift(shift_id).await?;
        let (volunteer, method, _) = self.present(ctx, &shift, &project, &presence).await?;
        let attendance = self
            .0
            .store
            .get_attendance(shift_id, volunteer)
            .await?
            .ok_or_else(|| ServiceError::conflict_because("shift", Reason::NotCheckedIn))?;
        if attendance.checked_out_at.is_some() {
            return Ok(AttendanceOutcome {
                attendance,
                changed: false,
            });
        }
        let attendance = self
            .close_attendance(ctx, &shift, &project, attendance, ctx.now, method, false)
            .await?;
        Ok(AttendanceOutcome {
            attendance,
            changed: true,
        })
    }

    /// Closes attendance and writes its record: minutes by the hours policy, capped by
    /// what the day still allows. Automatic closes are left pending for review.
    #[allow(clippy::too_many_arguments)]
    async fn close_attendance(
        &self,
        ctx: &Ctx,
        shift: &ShiftRecord,
        project: &ProjectRecord,
        attendance: AttendanceRecord,
        at: OffsetDateTime,
        method: AttendanceMethod,
        automatic: bool,
    ) -> Result<AttendanceRecord> {
        let given = self
            .0
            .config
            .hours
            .minutes_between(attendance.checked_in_at, at);
        let write = || {
            self.write_check_out(
                ctx,
                shift,
                project,
                &attendance,
                at,
                method,
                automatic,
                given,
            )
        };
        let mut outcome = write().await;
        // The store refuses a record that another write for the same day took over the cap
        // after the day was read; read again, it is capped right.
        if matches!(&outcome, Err(StoreError::Refused(r)) if r.field == "minutes") {
            outcome = write().await;
        }
        outcome.map_err(|e| match e {
            // Someone closed it first: the check-out already happened.
            StoreError::Conflict { field: "version" } => {
                ServiceError::conflict_because("shift", Reason::ChangedMeanwhile)
            }
            other => other.into(),
        })
    }

    /// Writes the check-out of `attendance` with a record of the `given` minutes, capped by
    /// what the day still allows.
    #[allow(clippy::too_many_arguments)]
    async fn write_check_out(
        &self,
        ctx: &Ctx,
        shift: &ShiftRecord,
        project: &ProjectRecord,
        attendance: &AttendanceRecord,
        at: OffsetDateTime,
        method: AttendanceMethod,
        automatic: bool,
        given: i64,
    ) -> std::result::Result<AttendanceRecord, StoreError> {
        let policy = self.0.config.hours;
        let day = china_date(attendance.checked_in_at);
        let mut minutes = given;
        let mut flags = Vec::new();
        let already = self.0.store.day_minutes(attendance.volunteer, day).await?;
        let room = (policy.daily_cap_minutes - already).max(0);
        if minutes > room {
            minutes = room;
            flags.push("capped".to_owned());
        }
        if automatic {
            flags.push("auto_closed".to_owned());
        }
        let p = &project.project;
        let record = NewRecord {
            volunteer: attendance.volunteer,
            org: p.org,
            project: Some(project.id),
            shift: Some(shift.id),
            activity_name: format!("{}（{}）", p.name, shift.shift.position),
            service_date: day,
            place: p.address.clone(),
            content: p.category.label_zh().to_owned(),
            minutes,
            responsible_person: p.responsible_person.clone(),
            source: RecordSource::Attendance,
            status: if automatic {
                RecordStatus::Pending
            } else {
                RecordStatus::Effective
            },
            flags,
            dedupe_key: None,
            created_at: ctx.now,
            created_by: ctx.account(),
        };
        let mut audit = ctx.audit(
            "attendance.check_out",
            "attendance",
            attendance.id,
            Some(p.region),
        );
        audit.details = serde_json::json!({
            "shift": shift.id.0, "volunteer": attendance.volunteer.0, "minutes": minutes,
            "method": method.as_str(), "automatic": automatic,
        });
        self.0
            .store
            .check_out(
                attendance,
                at,
                method,
                automatic,
                &record,
                self.day_cap(),
                &audit,
            )
            .await
    }

    /// Closes attendance left open `grace` after its shift ended, at the shift's end, and
    /// flags the records for review. Returns how many were closed.
    pub async fn close_forgotten_checkouts(&self, now: OffsetDateTime) -> Result<usize> {
        let ctx = Ctx::system("auto-close");
        let mut closed = 0;
        loop {
            let open = self
                .0
                .store
                .open_attendance_before(now - self.0.config.checkout_grace, 200)
                .await?;
            if open.is_empty() {
                return Ok(closed);
            }
            for a in open {
                let (shift, project) = self.load_shift(a.shift).await?;
                let end = shift.shift.ends_at.max(a.checked_in_at);
                match self
                    .close_attendance(
                        &ctx,
                        &shift,
                        &project,
                        a,
                        end,
                        AttendanceMethod::Automatic,
                        true,
                    )
                    .await
                {
                    Ok(_) => closed += 1,
                    // Closed by a person meanwhile.
                    Err(ServiceError::Conflict { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
}
