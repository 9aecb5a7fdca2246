//! Projects (volunteer activities) and their shifts: publishing states, recruitment
//! conditions, risk and insurance (Art. 17), and who may sign up (Art. 15, Youth League
//! rules for minors).

use time::{Date, OffsetDateTime};

use crate::clock::age_on;
use crate::{FieldError, Reason};

/// Where a project stands. Drafts are private to the team; published projects are open
/// for sign-up; closed and cancelled ones are history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProjectStatus {
    Draft,
    /// Waiting for the site or jurisdiction to review it.
    PendingReview,
    Published,
    Closed,
    Cancelled,
}

impl ProjectStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::PendingReview => "pending_review",
            Self::Published => "published",
            Self::Closed => "closed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "draft" => Self::Draft,
            "pending_review" => Self::PendingReview,
            "published" => Self::Published,
            "closed" => Self::Closed,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }

    /// The transitions a team may make (`by_reviewer` for the site or jurisdiction
    /// deciding a review).
    pub fn may_move_to(self, to: ProjectStatus, by_reviewer: bool) -> bool {
        use ProjectStatus::*;
        match (self, to) {
            (Draft, PendingReview) => !by_reviewer,
            (Draft, Published) => !by_reviewer,
            (PendingReview, Published | Draft) => by_reviewer,
            (Published, Closed) => !by_reviewer,
            (Draft | PendingReview | Published, Cancelled) => true,
            _ => false,
        }
    }
}

/// How sign-ups are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignupMode {
    /// A free place is taken at once.
    Automatic,
    /// A coordinator approves each sign-up.
    Approval,
}

impl SignupMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Automatic => "automatic",
            Self::Approval => "approval",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "automatic" => Some(Self::Automatic),
            "approval" => Some(Self::Approval),
            _ => None,
        }
    }
}

/// Accident insurance taken out for a risky project (Art. 17).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Insurance {
    pub policy_number: String,
    pub insurer: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub valid_from: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub valid_until: Date,
}

impl Insurance {
    /// Whether the policy covers every day from `from` to `until`.
    pub fn covers(&self, from: Date, until: Date) -> bool {
        self.valid_from <= from && until <= self.valid_until
    }
}

/// Who may join (Art. 15): skills, age range, minors.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conditions {
    /// Every one of these skills is required.
    #[serde(default)]
    pub skills: Vec<String>,
    pub min_age: Option<i32>,
    pub max_age: Option<i32>,
    /// Whether volunteers under 18 may join (with their guardian's consent on record).
    #[serde(default)]
    pub minors_allowed: bool,
}

impl Conditions {
    pub fn check(&self) -> Result<(), FieldError> {
        if let (Some(min), Some(max)) = (self.min_age, self.max_age)
            && min > max
        {
            return Err(FieldError::because(
                "conditions.min_age",
                Reason::AboveMaximum,
            ));
        }
        if self.min_age.is_some_and(|a| !(14..=120).contains(&a)) {
            return Err(FieldError::because(
                "conditions.min_age",
                Reason::OutOfRange { min: 14, max: 120 },
            ));
        }
        // An age limit under 18 says minors may join (or, as a maximum, that only they
        // may); a project that takes none would turn away, as minors, the very volunteers
        // its coordinator meant to admit.
        let adult = crate::registration::ADULT_AGE;
        for (field, age) in [("min_age", self.min_age), ("max_age", self.max_age)] {
            if age.is_some_and(|a| a < adult) && !self.minors_allowed {
                return Err(FieldError::because(
                    format!("conditions.{field}"),
                    Reason::AgeNeedsMinors,
                ));
            }
        }
        Ok(())
    }

    /// Whether someone born on `birth` with `skills` may serve on `day`.
    /// Why not, when not: [`Reason::TooYoung`], [`Reason::TooOld`],
    /// [`Reason::MinorsNotAllowed`] or [`Reason::MissingSkills`].
    pub fn admits(&self, birth: Date, skills: &[String], day: Date) -> Result<(), Reason> {
        let age = age_on(birth, day);
        if let Some(min) = self.min_age.filter(|m| age < *m) {
            return Err(Reason::TooYoung { min });
        }
        if let Some(max) = self.max_age.filter(|m| age > *m) {
            return Err(Reason::TooOld { max });
        }
        if age < crate::registration::ADULT_AGE && !self.minors_allowed {
            return Err(Reason::MinorsNotAllowed);
        }
        let missing: Vec<String> = self
            .skills
            .iter()
            .filter(|s| !skills.contains(s))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(Reason::MissingSkills(missing));
        }
        Ok(())
    }
}

/// Checks a shift's window and capacity.
pub fn check_shift(
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    capacity: i64,
) -> Result<(), FieldError> {
    if ends_at <= starts_at {
        return Err(FieldError::because("ends_at", Reason::BeforeStart));
    }
    if ends_at - starts_at > time::Duration::hours(24) {
        return Err(FieldError::because(
            "ends_at",
            Reason::ShiftTooLong { max_hours: 24 },
        ));
    }
    if !(1..=100_000).contains(&capacity) {
        return Err(FieldError::because(
            "capacity",
            Reason::OutOfRange {
                min: 1,
                max: 100_000,
            },
        ));
    }
    Ok(())
}

/// Where a sign-up stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignupStatus {
    /// Waiting for a coordinator (approval mode).
    Pending,
    /// Holds a place.
    Accepted,
    /// Waiting for a place; promoted in order when one frees.
    Waitlisted,
    Rejected,
    Cancelled,
    /// Held a place and did not come: marked by the team once the shift has started, so
    /// that no record is owed for it (Art. 11).
    Absent,
}

impl SignupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Waitlisted => "waitlisted",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
            Self::Absent => "absent",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "accepted" => Self::Accepted,
            "waitlisted" => Self::Waitlisted,
            "rejected" => Self::Rejected,
            "cancelled" => Self::Cancelled,
            "absent" => Self::Absent,
            _ => return None,
        })
    }

    /// Whether the sign-up still counts (holds or waits for a place).
    pub fn is_live(self) -> bool {
        matches!(self, Self::Pending | Self::Accepted | Self::Waitlisted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn sign_up_statuses_read_back_as_written_and_only_waiting_or_holding_ones_are_live() {
        use SignupStatus::*;
        for (status, live) in [
            (Pending, true),
            (Accepted, true),
            (Waitlisted, true),
            (Rejected, false),
            (Cancelled, false),
            (Absent, false),
        ] {
            assert_eq!(SignupStatus::parse(status.as_str()), Some(status));
            assert_eq!(status.is_live(), live, "{status:?}");
        }
        assert_eq!(SignupStatus::parse("no_show"), None);
    }

    #[test]
    fn a_team_publishes_and_a_reviewer_decides_reviews() {
        use ProjectStatus::*;
        assert!(Draft.may_move_to(Published, false));
        assert!(Draft.may_move_to(PendingReview, false));
        assert!(!PendingReview.may_move_to(Published, false));
        assert!(PendingReview.may_move_to(Published, true));
        assert!(Published.may_move_to(Closed, false));
        assert!(!Closed.may_move_to(Published, false));
        assert!(!Cancelled.may_move_to(Draft, false));
    }

    #[test]
    fn an_age_limit_under_18_is_refused_unless_minors_may_join() {
        let with = |min_age, max_age, minors_allowed| Conditions {
            min_age,
            max_age,
            minors_allowed,
            ..Conditions::default()
        };
        let refused = |field: &str| {
            Err(FieldError::because(
                format!("conditions.{field}"),
                Reason::AgeNeedsMinors,
            ))
        };
        assert_eq!(with(Some(16), None, false).check(), refused("min_age"));
        assert_eq!(with(None, Some(17), false).check(), refused("max_age"));
        assert_eq!(with(Some(16), Some(17), true).check(), Ok(()));
        assert_eq!(with(Some(18), Some(60), false).check(), Ok(()));
    }

    #[test]
    fn conditions_check_age_on_the_day_minors_and_skills() {
        let c = Conditions {
            skills: vec!["急救".into()],
            min_age: Some(16),
            max_age: Some(60),
            minors_allowed: true,
        };
        let adults = Conditions {
            min_age: None,
            minors_allowed: false,
            ..c.clone()
        };
        let day = date!(2026 - 12 - 01);
        let first_aid = vec!["急救".to_owned()];
        assert_eq!(
            c.admits(date!(2011 - 01 - 01), &first_aid, day),
            Err(Reason::TooYoung { min: 16 })
        );
        assert_eq!(c.admits(date!(2009 - 01 - 01), &first_aid, day), Ok(()));
        assert_eq!(
            adults.admits(date!(2009 - 01 - 01), &first_aid, day),
            Err(Reason::MinorsNotAllowed)
        );
        assert!(matches!(
            c.admits(date!(1990 - 01 - 01), &[], day),
            Err(Reason::MissingSkills(_))
        ));
        assert_eq!(c.admits(date!(1990 - 01 - 01), &first_aid, day), Ok(()));
        assert_eq!(
            c.admits(date!(1960 - 01 - 01), &first_aid, day),
            Err(Reason::TooOld { max: 60 })
        );
    }

    #[test]
    fn insurance_must_cover_the_whole_period() {
        let i = Insurance {
            policy_number: "P1".into(),
            insurer: "人保".into(),
            valid_from: date!(2026 - 01 - 01),
            valid_until: date!(2026 - 12 - 31),
        };
        assert!(i.covers(date!(2026 - 03 - 01), date!(2026 - 03 - 02)));
        assert!(!i.covers(date!(2026 - 12 - 30), date!(2027 - 01 - 02)));
    }
}
