//! Professional qualifications: the talent pool.

use time::{Date, OffsetDateTime};
use zhiyuan_domain::ids::{AccountId, VolunteerId};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::talent::{QualificationKind, QualificationStatus};
use zhiyuan_domain::volunteer_number::VolunteerNumber;

/// A qualification as the volunteer declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQualification {
    pub volunteer: VolunteerId,
    pub kind: QualificationKind,
    /// e.g. 执业医师, 心理咨询师二级.
    pub title: String,
    /// The certificate's number and issuing body, as printed on it.
    pub certificate_number: String,
    pub issuer: String,
    pub valid_until: Option<Date>,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualificationRecord {
    pub id: i64,
    pub qualification: NewQualification,
    /// Whose it is, as staff and the pool show it.
    pub volunteer_number: VolunteerNumber,
    pub volunteer_name: String,
    pub status: QualificationStatus,
    pub decided_by: Option<AccountId>,
    pub decided_at: Option<OffsetDateTime>,
    pub reason: Option<String>,
    pub version: i64,
}

/// Verified qualifications of a kind among volunteers living in a region subtree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolQuery {
    pub kind: QualificationKind,
    pub within: RegionCode,
    /// Leaves out qualifications that expired before this day.
    pub valid_on: Date,
}
