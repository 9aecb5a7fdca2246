//! Projects, shifts, sign-ups, attendance and service records, as rows.

use time::{Date, OffsetDateTime};
use zhiyuan_domain::Reason;
use zhiyuan_domain::category::ServiceCategory;
use zhiyuan_domain::ids::{AccountId, OrgId, SiteId, VolunteerId};
use zhiyuan_domain::project::{Conditions, Insurance, ProjectStatus, SignupMode, SignupStatus};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::site::GeoPoint;
use zhiyuan_domain::volunteer_number::VolunteerNumber;

/// Identifiers of the activity rows.
macro_rules! ids {
    ($($name:ident),*) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { self.0.fmt(f) }
        }
    )*};
}
ids!(ProjectId, ShiftId, SignupId, AttendanceId, RecordId);

#[derive(Debug, Clone, PartialEq)]
pub struct NewProject {
    pub org: OrgId,
    pub name: String,
    pub category: ServiceCategory,
    pub description: String,
    pub region: RegionCode,
    pub site: Option<SiteId>,
    pub address: String,
    pub location: Option<GeoPoint>,
    /// Check-in radius around `location`, in metres; `None` disables the geofence.
    pub geofence_m: Option<i64>,
    pub starts_on: Date,
    pub ends_on: Date,
    pub conditions: Conditions,
    pub risky: bool,
    pub risk_disclosure: String,
    pub insurance: Option<Insurance>,
    pub signup_mode: SignupMode,
    pub review_required: bool,
    /// The person responsible (Art. 7).
    pub responsible_person: String,
    pub status: ProjectStatus,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProjectRecord {
    pub id: ProjectId,
    pub project: NewProject,
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Filters for projects, ordered by (region, id).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectQuery {
    pub within: Option<RegionCode>,
    pub org: Option<OrgId>,
    pub status: Option<ProjectStatus>,
    pub category: Option<ServiceCategory>,
    /// Projects running on some day in this range.
    pub from: Option<Date>,
    pub until: Option<Date>,
    /// Words in the name, description or address (any script).
    pub text: Option<String>,
    /// Projects located inside this box (south-west and north-east corners).
    pub bbox: Option<(GeoPoint, GeoPoint)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewShift {
    pub project: ProjectId,
    pub position: String,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub capacity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftRecord {
    pub id: ShiftId,
    pub shift: NewShift,
    /// Places taken (accepted sign-ups).
    pub accepted: i64,
    pub cancelled: bool,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignupRecord {
    pub id: SignupId,
    pub shift: ShiftId,
    pub volunteer: VolunteerId,
    pub volunteer_number: VolunteerNumber,
    pub status: SignupStatus,
    pub created_at: OffsetDateTime,
    pub decided_at: Option<OffsetDateTime>,
}

impl SignupRecord {
    /// The audit entry of this sign-up's promotion from the waitlist, written with the
    /// change that freed the place (`cause`: a cancellation, a larger capacity), by the
    /// same actor in the same request.
    pub fn promotion_audit(&self, cause: &crate::AuditEntry) -> crate::AuditEntry {
        crate::AuditEntry {
            action: "signup.promote",
            subject_type: "signup",
            subject_id: self.id.to_string(),
            reason: None,
            details: serde_json::json!({
                "shift": self.shift.0,
                "volunteer": self.volunteer.0,
                "after": cause.action,
            }),
            ..cause.clone()
        }
    }
}

/// Filters for sign-ups, ordered by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignupQuery {
    pub shift: Option<ShiftId>,
    pub volunteer: Option<VolunteerId>,
    pub status: Option<SignupStatus>,
}

/// A sign-up with its shift and project, for a volunteer's own lists.
#[derive(Debug, Clone, PartialEq)]
pub struct SignupDetail {
    pub signup: SignupRecord,
    pub shift: ShiftRecord,
    pub project_name: String,
    pub address: String,
    /// Where the project takes place, when it says.
    pub location: Option<GeoPoint>,
}

/// What a sign-up is checked against, read in the transaction that makes it.
#[derive(Debug, Clone)]
pub struct SignupFacts {
    pub shift: ShiftRecord,
    pub project: ProjectRecord,
    pub volunteer: crate::VolunteerRecord,
}

/// A sign-up made, with the volunteer's other live sign-ups whose shifts overlap it
/// (the first 20).
#[derive(Debug, Clone)]
pub struct SignupMade {
    pub signup: SignupRecord,
    pub overlaps: Vec<SignupDetail>,
}

/// How attendance was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttendanceMethod {
    /// The volunteer scanned the site's rotating code.
    SiteCode,
    /// A coordinator scanned the volunteer's code.
    VolunteerCode,
    /// A coordinator entered it.
    Coordinator,
    /// Closed automatically after a forgotten check-out.
    Automatic,
}

impl AttendanceMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SiteCode => "site_code",
            Self::VolunteerCode => "volunteer_code",
            Self::Coordinator => "coordinator",
            Self::Automatic => "automatic",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "site_code" => Self::SiteCode,
            "volunteer_code" => Self::VolunteerCode,
            "coordinator" => Self::Coordinator,
            "automatic" => Self::Automatic,
            _ => return None,
        })
    }
}

/// Presence at a shift. Only the distance from the project's location is kept, never the
/// coordinates: whereabouts are sensitive personal information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttendanceRecord {
    pub id: AttendanceId,
    pub shift: ShiftId,
    pub volunteer: VolunteerId,
    pub checked_in_at: OffsetDateTime,
    pub check_in_method: AttendanceMethod,
    pub distance_m: Option<i64>,
    pub checked_out_at: Option<OffsetDateTime>,
    pub check_out_method: Option<AttendanceMethod>,
    /// Closed by the system after a forgotten check-out: to be reviewed.
    pub auto_closed: bool,
    pub record: Option<RecordId>,
    pub version: i64,
}

/// Where a service record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordSource {
    Attendance,
    /// Entered by the organisation, one by one or in a batch.
    Entry,
    /// Reported by the volunteer; effective once approved.
    SelfReport,
    /// A new version made by an approved correction.
    Correction,
}

impl RecordSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Attendance => "attendance",
            Self::Entry => "entry",
            Self::SelfReport => "self_report",
            Self::Correction => "correction",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "attendance" => Self::Attendance,
            "entry" => Self::Entry,
            "self_report" => Self::SelfReport,
            "correction" => Self::Correction,
            _ => return None,
        })
    }
}

/// Whether a record counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// Waiting for the organisation to confirm (self-reports).
    Pending,
    /// Counts towards totals, stars and certificates.
    Effective,
    Rejected,
}

impl RecordStatus {
    pub const ALL: [Self; 3] = [Self::Pending, Self::Effective, Self::Rejected];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Effective => "effective",
            Self::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A service record (Art. 7): what was done, when, where, for how long, recorded by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    pub volunteer: VolunteerId,
    /// The recording unit (谁组织谁记录).
    pub org: OrgId,
    pub project: Option<ProjectId>,
    pub shift: Option<ShiftId>,
    pub activity_name: String,
    pub service_date: Date,
    pub place: String,
    pub content: String,
    pub minutes: i64,
    pub responsible_person: String,
    pub source: RecordSource,
    pub status: RecordStatus,
    /// Review flags, e.g. `auto_closed`, `capped`.
    pub flags: Vec<String>,
    /// Makes re-submitting the same entry (e.g. re-uploading a file) a no-op.
    pub dedupe_key: Option<String>,
    pub created_at: OffsetDateTime,
    pub created_by: Option<AccountId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRow {
    pub id: RecordId,
    /// The first version's id for corrected versions; `None` for originals.
    pub origin: Option<RecordId>,
    pub revision: i64,
    pub is_current: bool,
    pub record: NewRecord,
    pub decided_at: Option<OffsetDateTime>,
    pub decided_by: Option<AccountId>,
}

impl RecordRow {
    /// The record's identity across corrections.
    pub fn lineage(&self) -> RecordId {
        self.origin.unwrap_or(self.id)
    }
}

/// Filters for records, newest service date first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordQuery {
    pub volunteer: Option<VolunteerId>,
    pub org: Option<OrgId>,
    pub status: Option<RecordStatus>,
    /// Only current versions (the default for every list but history).
    pub current_only: bool,
}

/// A volunteer's running totals, kept exact in the transactions that change records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub minutes: i64,
    pub records: i64,
    pub year: i32,
    pub year_minutes: i64,
    pub year_records: i64,
}

/// The outcome of one row of a batch entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOutcome {
    Inserted(RecordId),
    /// The same entry (dedupe key) was already recorded.
    Duplicate,
    /// With what the volunteer already had that day, the row would exceed the daily cap.
    OverCap,
}

/// The most effective minutes a volunteer may be credited with on one day.
///
/// Every write that adds effective minutes checks it inside its own transaction, after
/// the volunteer's totals row is locked (on PostgreSQL; SQLite has one writer), so that
/// two writes for the same volunteer and day cannot both pass on what each read alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DayCap(pub i64);

impl DayCap {
    /// No cap: for a write that gives its day no more minutes than it already had.
    pub const NONE: DayCap = DayCap(i64::MAX);

    /// The refusal of a write that would take `day` over the cap.
    pub fn refusal(self, day: Date) -> crate::StoreError {
        crate::StoreError::Refused(crate::Refusal::because(
            "minutes",
            Reason::DayOverCap {
                day,
                cap_minutes: self.0,
            },
        ))
    }

    /// The rows of an upload that take room under the cap: those not recorded before
    /// (`recorded`, by row; a file uploaded again), and effective (not pending approval).
    /// Only their days need reading for [`DayCap::admit`].
    pub fn taking_room<'a>(
        rows: &'a [NewRecord],
        recorded: &'a [bool],
    ) -> impl Iterator<Item = &'a NewRecord> {
        rows.iter()
            .zip(recorded)
            .filter(|(r, recorded)| !**recorded && r.status == RecordStatus::Effective)
            .map(|(r, _)| r)
    }

    /// What becomes of each of `rows`, taken in order: `None` to write it, or its outcome
    /// without writing. An entry recorded before (`recorded`, by row) is a duplicate, whose
    /// minutes its day already holds; a row that would take its day over the cap, given
    /// `used` (what each day holds) and the rows before it, is over the cap. Rows that do
    /// not count (not effective) always fit.
    pub fn admit(
        self,
        rows: &[NewRecord],
        recorded: &[bool],
        used: &std::collections::HashMap<(VolunteerId, Date), i64>,
    ) -> Vec<Option<BatchOutcome>> {
        // What the rows before have added to each day.
        let mut added: std::collections::HashMap<(VolunteerId, Date), i64> = Default::default();
        rows.iter()
            .zip(recorded)
            .map(|(r, recorded)| {
                if *recorded {
                    return Some(BatchOutcome::Duplicate);
                }
                if r.status != RecordStatus::Effective {
                    return None;
                }
                let key = (r.volunteer, r.service_date);
                let before = used.get(&key).copied().unwrap_or(0);
                let day = added.entry(key).or_default();
                match before + *day + r.minutes <= self.0 {
                    true => {
                        *day += r.minutes;
                        None
                    }
                    false => Some(BatchOutcome::OverCap),
                }
            })
            .collect()
    }
}

/// A check-in to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttendance {
    pub shift: ShiftId,
    pub volunteer: VolunteerId,
    pub at: OffsetDateTime,
    pub method: AttendanceMethod,
    pub distance_m: Option<i64>,
}

impl NewAttendance {
    /// The refusal of a check-in by a volunteer who holds no accepted sign-up for the shift.
    pub fn without_signup() -> crate::StoreError {
        crate::StoreError::Refused(crate::Refusal::because("shift", Reason::NoSignup))
    }
}

/// A finished shift whose accepted volunteers still lack an effective record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnrecordedShift {
    pub shift: ShiftRecord,
    pub project_name: String,
    pub org: OrgId,
    pub region: RegionCode,
    /// Accepted volunteers without an effective record for the shift.
    pub missing: i64,
}
