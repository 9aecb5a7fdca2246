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

/// A mobilisation call (急难险重): who is needed, where and when to assemble.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCall {
    /// Volunteers living in this region subtree are called.
    pub region: RegionCode,
    /// Any of these qualifications, verified and unexpired.
    pub kinds: Vec<QualificationKind>,
    pub needed: i64,
    pub assembly_point: String,
    pub location: Option<zhiyuan_domain::site::GeoPoint>,
    pub assemble_at: OffsetDateTime,
    pub note: String,
    pub created_by: Option<AccountId>,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    pub id: i64,
    pub call: NewCall,
    /// How many volunteers were selected and notified.
    pub selected: i64,
}

/// A volunteer called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallMember {
    pub call: i64,
    pub volunteer: VolunteerId,
    pub volunteer_number: VolunteerNumber,
    pub volunteer_name: String,
    /// The qualification they were called for.
    pub kind: QualificationKind,
    pub status: zhiyuan_domain::talent::MemberStatus,
    pub updated_at: OffsetDateTime,
}

/// A call's live roll-call: how many stand where.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollCall {
    pub notified: i64,
    pub acknowledged: i64,
    pub declined: i64,
    pub checked_in: i64,
}
