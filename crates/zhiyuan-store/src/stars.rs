//! Star levels as rows: rules per jurisdiction, applications, objections and the
//! certified star of each volunteer.

use time::{Date, OffsetDateTime};
use zhiyuan_domain::ids::{AccountId, VolunteerId};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::stars::StarStatus;
use zhiyuan_domain::volunteer_number::VolunteerNumber;

use crate::PageRequest;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct StarApplicationId(pub i64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStarApplication {
    pub volunteer: VolunteerId,
    pub star: u8,
    pub label: String,
    /// The jurisdiction that certifies (a county or a city, by the rules).
    pub certifier: RegionCode,
    /// Effective minutes when applying.
    pub minutes: i64,
    pub applied_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StarApplication {
    pub id: StarApplicationId,
    pub application: NewStarApplication,
    /// For public notices: the volunteer's name and number.
    pub volunteer_name: String,
    pub volunteer_number: VolunteerNumber,
    pub status: StarStatus,
    pub notice_from: Option<Date>,
    pub notice_until: Option<Date>,
    pub decided_at: Option<OffsetDateTime>,
    pub decided_by: Option<AccountId>,
    pub reason: Option<String>,
    pub version: i64,
}

/// Filters for applications, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StarQuery {
    /// Applications certified by jurisdictions in this subtree.
    pub within: Option<RegionCode>,
    pub volunteer: Option<VolunteerId>,
    pub status: Option<StarStatus>,
}

/// An objection raised during public notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StarObjection {
    pub id: i64,
    pub application: StarApplicationId,
    pub text: String,
    pub contact: Option<String>,
    pub created_at: OffsetDateTime,
}

/// A volunteer's certified star, and any bar on applying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolunteerStar {
    pub star: u8,
    pub label: Option<String>,
    pub certified_at: Option<OffsetDateTime>,
    pub barred_until: Option<Date>,
}

/// What a volunteer's star standing is worked out from, read together.
#[derive(Debug, Clone, PartialEq)]
pub struct StarFacts {
    /// The rule sets set on any of the regions asked for.
    pub rules: Vec<(RegionCode, zhiyuan_domain::stars::StarRules)>,
    pub totals: crate::Totals,
    pub recognised: crate::RecognisedMinutes,
    pub certified: Option<VolunteerStar>,
    /// The volunteer's latest applications, newest first.
    pub applications: Vec<StarApplication>,
}

impl StarFacts {
    /// The query and page of `volunteer`'s latest applications, as the facts hold them.
    pub fn latest_applications(volunteer: VolunteerId) -> (StarQuery, PageRequest) {
        let q = StarQuery {
            within: None,
            volunteer: Some(volunteer),
            status: None,
        };
        (q, PageRequest::first(20))
    }
}
