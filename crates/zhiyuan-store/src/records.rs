//! What the store keeps, as rows: one struct to insert (`New*`) and one as read back
//! (`*Record`, with id, version and timestamps). Validation happened before these exist.

use time::{Date, OffsetDateTime};
use zhiyuan_domain::access::{GrantedRole, OrgFacts, SiteFacts};
use zhiyuan_domain::category::ServiceCategory;
use zhiyuan_domain::document::DocumentKind;
use zhiyuan_domain::ids::{AccountId, MembershipId, OrgId, SiteId, VolunteerId};
use zhiyuan_domain::matching::{Availability, ServiceArea};
use zhiyuan_domain::org::{MembershipRole, MembershipStatus, OrgKind};
use zhiyuan_domain::person::Gender;
use zhiyuan_domain::region::{RegionCode, RegionLevel};
use zhiyuan_domain::registration::Guardian;
use zhiyuan_domain::site::{GeoPoint, SiteKind};
use zhiyuan_domain::volunteer_number::VolunteerNumber;

/// Filters for regions, ordered by code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegionQuery {
    pub within: Option<RegionCode>,
    pub parent: Option<RegionCode>,
    pub level: Option<RegionLevel>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewSite {
    pub region: RegionCode,
    pub kind: SiteKind,
    pub name: String,
    pub address: String,
    pub location: Option<GeoPoint>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SiteRecord {
    pub id: SiteId,
    pub site: NewSite,
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl SiteRecord {
    pub fn facts(&self) -> SiteFacts {
        SiteFacts {
            id: self.id,
            region: self.site.region,
        }
    }
}

/// Filters for sites, ordered by (region, id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteQuery {
    pub within: Option<RegionCode>,
    pub kind: Option<SiteKind>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewOrg {
    pub kind: OrgKind,
    pub name: String,
    pub credit_code: Option<String>,
    pub parent: Option<OrgId>,
    pub region: RegionCode,
    pub site: Option<SiteId>,
    pub description: String,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub service_categories: Vec<ServiceCategory>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrgRecord {
    pub id: OrgId,
    pub org: NewOrg,
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl OrgRecord {
    pub fn facts(&self) -> OrgFacts {
        OrgFacts {
            id: self.id,
            region: self.org.region,
            site: self.org.site,
        }
    }
}

/// Filters for organisations, ordered by (region, id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgQuery {
    pub within: Option<RegionCode>,
    pub parent: Option<OrgId>,
    pub site: Option<SiteId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMembership {
    pub org: OrgId,
    pub volunteer: VolunteerId,
    pub role: MembershipRole,
    pub status: MembershipStatus,
    pub at: OffsetDateTime,
    /// Who decided, when the membership is created already decided.
    pub decided_by: Option<AccountId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRecord {
    pub id: MembershipId,
    pub org: OrgId,
    pub volunteer: VolunteerId,
    pub volunteer_number: VolunteerNumber,
    pub volunteer_name: String,
    pub role: MembershipRole,
    pub status: MembershipStatus,
    pub applied_at: OffsetDateTime,
    pub decided_at: Option<OffsetDateTime>,
    pub decided_by: Option<AccountId>,
    pub version: i64,
}

/// Filters for memberships, ordered by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MembershipQuery {
    pub org: Option<OrgId>,
    pub volunteer: Option<VolunteerId>,
    pub status: Option<MembershipStatus>,
}

/// An identity document as stored: encrypted, with a keyed hash of its identity key for
/// duplicate detection and the masked form for display. The clear number is never here.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedDocument {
    pub kind: DocumentKind,
    pub country: Option<String>,
    pub ciphertext: Vec<u8>,
    pub identity_hmac: Vec<u8>,
    pub masked: String,
}

impl std::fmt::Debug for SealedDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedDocument")
            .field("kind", &self.kind)
            .field("masked", &self.masked)
            .finish_non_exhaustive()
    }
}

/// The editable part of a volunteer's profile.
#[derive(Debug, Clone, PartialEq)]
pub struct VolunteerProfile {
    pub name: String,
    pub residence_region: RegionCode,
    pub phone: String,
    pub skills: Vec<String>,
    pub service_categories: Vec<ServiceCategory>,
    /// Where and when the volunteer may be proposed for orders; `None` opts out.
    pub service: Option<ServiceArea>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewVolunteer {
    pub number: VolunteerNumber,
    pub gender: Gender,
    pub birth_date: Date,
    pub document: SealedDocument,
    pub profile: VolunteerProfile,
    pub guardian: Option<Guardian>,
    pub privacy_consent_version: String,
    pub registered_at: OffsetDateTime,
    /// Argon2id hash; `None` creates no login account (synthetic data).
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VolunteerRecord {
    pub id: VolunteerId,
    pub number: VolunteerNumber,
    pub gender: Gender,
    pub birth_date: Date,
    pub document_kind: DocumentKind,
    pub document_country: Option<String>,
    pub document_masked: String,
    pub profile: VolunteerProfile,
    pub guardian: Option<Guardian>,
    pub privacy_consent_version: String,
    pub privacy_consented_at: OffsetDateTime,
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Volunteers who may be proposed for a need: service area in one of `cells`, every one
/// of `skills`, and (unless minors may serve) born on or before the given day.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MatchQuery {
    pub cells: Vec<i64>,
    /// Latitude and longitude ranges the points must fall in (the circle's bounding box:
    /// the cells' corners are not read out).
    pub within: ((f64, f64), (f64, f64)),
    pub skills: Vec<String>,
    pub born_on_or_before: Option<Date>,
}

/// A volunteer found by a [`MatchQuery`], with what ranking needs.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchRow {
    pub volunteer: VolunteerId,
    pub number: VolunteerNumber,
    pub name: String,
    pub birth_date: Date,
    pub location: GeoPoint,
    /// `zhiyuan_domain::matching::category_bits` of the volunteer's categories.
    pub categories: i64,
    pub availability: Availability,
}

/// Filters for volunteers, ordered by (residence region, id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolunteerQuery {
    pub within: Option<RegionCode>,
}

/// A role given to an account by an administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRow {
    pub role: GrantedRole,
    /// The jurisdiction (admins, auditors) or the site's region (site staff).
    pub region: RegionCode,
    pub site: Option<SiteId>,
}

/// What replacing an account's roles writes: the stored grants (by id) that the new roles
/// no longer hold, and the new roles not yet stored. Roles held before and after keep
/// their rows (their ids and creation times).
#[derive(Debug, PartialEq, Eq)]
pub struct GrantChanges<'a> {
    pub remove: Vec<i64>,
    pub add: Vec<&'a GrantRow>,
}

impl<'a> GrantChanges<'a> {
    /// Plans the replacement of `current` (the stored grants with their ids) by `roles`,
    /// refused on `roles` unless `current` holds the same roles as `expected`, which the
    /// caller's right to change them was decided on (another administrator changed them
    /// meanwhile). Both are compared as sets.
    pub fn plan(
        current: &[(i64, GrantRow)],
        expected: &[GrantRow],
        roles: &'a [GrantRow],
    ) -> Result<Self, crate::StoreError> {
        let held = |g: &GrantRow| current.iter().any(|(_, c)| c == g);
        if !expected.iter().all(held) || !current.iter().all(|(_, c)| expected.contains(c)) {
            return Err(crate::StoreError::Conflict { field: "roles" });
        }
        Ok(Self {
            remove: current
                .iter()
                .filter(|(_, g)| !roles.contains(g))
                .map(|(id, _)| *id)
                .collect(),
            add: roles.iter().filter(|g| !held(g)).collect(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.add.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub login: String,
    pub display_name: String,
    pub password_hash: String,
    pub volunteer: Option<VolunteerId>,
    pub grants: Vec<GrantRow>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub id: AccountId,
    pub login: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub volunteer: Option<VolunteerId>,
    pub disabled: bool,
}

impl std::fmt::Debug for AccountRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRecord")
            .field("id", &self.id)
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

/// A login session: only the SHA-256 of the bearer token is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub token_hash: [u8; 32],
    pub account: AccountId,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A role given to a staff account, with the account: a row of a jurisdiction's list of
/// staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffGrant {
    pub grant_id: i64,
    pub account: AccountId,
    pub login: String,
    pub display_name: String,
    pub disabled: bool,
    pub grant: GrantRow,
}

/// What an app server told the others sharing the database (see
/// [`crate::AnnouncementStore`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub id: i64,
    /// By the database's clock, so that servers whose clocks differ read the same times.
    pub at: OffsetDateTime,
    pub message: String,
}

/// Attempts to sign in as one login name, for throttling: how many since the first of the
/// current window, and the lock that the last allowed one set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginFailures {
    pub count: u32,
    pub first_at: OffsetDateTime,
    pub locked_until: Option<OffsetDateTime>,
}

/// How attempts lock a login: the `max`-th attempt within `window` of the first locks it
/// for `lockout`; attempts beyond `max` are refused without their password being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    pub max: u32,
    pub window: time::Duration,
    pub lockout: time::Duration,
}
