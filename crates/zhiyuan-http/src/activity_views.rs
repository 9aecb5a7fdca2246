//! Response bodies of projects, shifts, sign-ups, attendance and records.

use serde::Serialize;
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;
use zhiyuan_domain::category::ServiceCategory;
use zhiyuan_domain::hours::hours;
use zhiyuan_domain::project::{Conditions, Insurance, ProjectStatus, SignupMode, SignupStatus};
use zhiyuan_domain::site::GeoPoint;
use zhiyuan_store::{
    AttendanceRecord, ProjectRecord, RecordRow, ShiftRecord, SignupDetail, SignupRecord, Totals,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectView {
    pub id: i64,
    pub organisation: i64,
    pub name: String,
    pub category: ServiceCategory,
    pub description: String,
    pub region: String,
    pub site: Option<i64>,
    pub address: String,
    pub location: Option<GeoPoint>,
    /// Check-in radius in metres, when location is checked.
    pub geofence_m: Option<i64>,
    #[schema(value_type = String, format = Date)]
    pub starts_on: Date,
    #[schema(value_type = String, format = Date)]
    pub ends_on: Date,
    pub conditions: Conditions,
    pub risky: bool,
    pub risk_disclosure: String,
    pub insurance: Option<Insurance>,
    pub signup_mode: SignupMode,
    pub review_required: bool,
    pub responsible_person: String,
    pub status: ProjectStatus,
    pub version: i64,
    /// Metres from the point searched `near`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<ProjectRecord> for ProjectView {
    fn from(r: ProjectRecord) -> Self {
        let p = r.project;
        Self {
            id: r.id.0,
            organisation: p.org.0,
            name: p.name,
            category: p.category,
            description: p.description,
            region: p.region.to_string(),
            site: p.site.map(|s| s.0),
            address: p.address,
            location: p.location,
            geofence_m: p.geofence_m,
            starts_on: p.starts_on,
            ends_on: p.ends_on,
            conditions: p.conditions,
            risky: p.risky,
            risk_disclosure: p.risk_disclosure,
            insurance: p.insurance,
            signup_mode: p.signup_mode,
            review_required: p.review_required,
            responsible_person: p.responsible_person,
            status: p.status,
            version: r.version,
            distance_m: None,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShiftView {
    pub id: i64,
    pub project: i64,
    pub position: String,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub capacity: i64,
    /// Places taken.
    pub accepted: i64,
    pub cancelled: bool,
    pub version: i64,
}

impl From<ShiftRecord> for ShiftView {
    fn from(s: ShiftRecord) -> Self {
        Self {
            id: s.id.0,
            project: s.shift.project.0,
            position: s.shift.position,
            starts_at: s.shift.starts_at,
            ends_at: s.shift.ends_at,
            capacity: s.shift.capacity,
            accepted: s.accepted,
            cancelled: s.cancelled,
            version: s.version,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignupView {
    pub id: i64,
    pub shift: i64,
    pub volunteer_number: String,
    pub status: SignupStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
}

impl From<SignupRecord> for SignupView {
    fn from(s: SignupRecord) -> Self {
        Self {
            id: s.id.0,
            shift: s.shift.0,
            volunteer_number: s.volunteer_number.to_string(),
            status: s.status,
            created_at: s.created_at,
            decided_at: s.decided_at,
        }
    }
}

/// A sign-up with its shift and project, as the volunteer sees it (their sign-ups, their
/// schedule): what they signed up for, when and where.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignupItem {
    pub signup: SignupView,
    pub shift: ShiftView,
    pub project_name: String,
    pub address: String,
    /// The project's place on a map (WGS-84), when it gives one: for a phone to find the
    /// way there.
    pub location: Option<GeoPoint>,
}

impl From<SignupDetail> for SignupItem {
    fn from(d: SignupDetail) -> Self {
        Self {
            signup: d.signup.into(),
            shift: d.shift.into(),
            project_name: d.project_name,
            address: d.address,
            location: d.location,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttendanceView {
    pub id: i64,
    pub shift: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub checked_in_at: OffsetDateTime,
    pub check_in_method: String,
    /// Distance from the project when the location was checked (never the location).
    pub distance_m: Option<i64>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub checked_out_at: Option<OffsetDateTime>,
    pub check_out_method: Option<String>,
    pub auto_closed: bool,
    /// The service record written at check-out.
    pub record: Option<i64>,
}

impl From<AttendanceRecord> for AttendanceView {
    fn from(a: AttendanceRecord) -> Self {
        Self {
            id: a.id.0,
            shift: a.shift.0,
            checked_in_at: a.checked_in_at,
            check_in_method: a.check_in_method.as_str().to_owned(),
            distance_m: a.distance_m,
            checked_out_at: a.checked_out_at,
            check_out_method: a.check_out_method.map(|m| m.as_str().to_owned()),
            auto_closed: a.auto_closed,
            record: a.record.map(|r| r.0),
        }
    }
}

/// A service record (Art. 7).
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordView {
    pub id: i64,
    /// The first version's id, for a corrected record.
    pub origin: Option<i64>,
    pub revision: i64,
    /// False for versions superseded by a correction.
    pub current: bool,
    pub activity_name: String,
    #[schema(value_type = String, format = Date)]
    pub service_date: Date,
    pub place: String,
    pub content: String,
    pub minutes: i64,
    pub hours: f64,
    /// The recording unit.
    pub organisation: i64,
    pub responsible_person: String,
    pub project: Option<i64>,
    pub shift: Option<i64>,
    /// `attendance`, `entry`, `self_report` or `correction`.
    pub source: String,
    /// `pending`, `effective` or `rejected`.
    pub status: String,
    /// Review flags: `auto_closed`, `capped`.
    pub flags: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<RecordRow> for RecordView {
    fn from(r: RecordRow) -> Self {
        let x = r.record;
        Self {
            id: r.id.0,
            origin: r.origin.map(|o| o.0),
            revision: r.revision,
            current: r.is_current,
            activity_name: x.activity_name,
            service_date: x.service_date,
            place: x.place,
            content: x.content,
            minutes: x.minutes,
            hours: hours(x.minutes),
            organisation: x.org.0,
            responsible_person: x.responsible_person,
            project: x.project.map(|p| p.0),
            shift: x.shift.map(|s| s.0),
            source: x.source.as_str().to_owned(),
            status: x.status.as_str().to_owned(),
            flags: x.flags,
            created_at: x.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotalsView {
    pub hours: f64,
    pub minutes: i64,
    pub records: i64,
    pub year: i32,
    pub year_hours: f64,
    pub year_minutes: i64,
    pub year_records: i64,
}

impl From<Totals> for TotalsView {
    fn from(t: Totals) -> Self {
        Self {
            hours: hours(t.minutes),
            minutes: t.minutes,
            records: t.records,
            year: t.year,
            year_hours: hours(t.year_minutes),
            year_minutes: t.year_minutes,
            year_records: t.year_records,
        }
    }
}
