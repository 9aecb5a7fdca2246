//! Response bodies. They are built from store records and show only what the caller may
//! see: identity numbers masked, contact details only for those in scope.

use serde::Serialize;
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;
use zhiyuan_domain::category::ServiceCategory;
use zhiyuan_domain::document::DocumentKind;
use zhiyuan_domain::matching::ServiceArea;
use zhiyuan_domain::org::{MembershipRole, MembershipStatus, OrgKind};
use zhiyuan_domain::person::Gender;
use zhiyuan_domain::region::{Region, RegionLevel};
use zhiyuan_domain::site::{GeoPoint, SiteKind};
use zhiyuan_store::{AuditRecord, MembershipRecord, OrgRecord, Page, SiteRecord, VolunteerRecord};

/// One page of a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageView<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `cursor` to read the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> PageView<T> {
    pub fn from_page<R>(page: Page<R>, f: impl FnMut(R) -> T) -> Self {
        let next_cursor = page.next.as_ref().map(|c| c.encode());
        Self {
            items: page.items.into_iter().map(f).collect(),
            next_cursor,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegionView {
    /// GB/T 2260 code: 6 digits down to counties, 9 for towns, 12 for villages.
    pub code: String,
    pub name: String,
    pub level: RegionLevel,
    pub parent: Option<String>,
}

impl From<Region> for RegionView {
    fn from(r: Region) -> Self {
        Self {
            code: r.code.to_string(),
            level: r.level(),
            parent: r.parent().map(|p| p.to_string()),
            name: r.name,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SiteView {
    pub id: i64,
    pub region: String,
    pub kind: SiteKind,
    pub name: String,
    pub address: String,
    pub location: Option<GeoPoint>,
    pub phone: Option<String>,
    /// Send back unchanged; a stale version is refused with 409.
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<SiteRecord> for SiteView {
    fn from(r: SiteRecord) -> Self {
        Self {
            id: r.id.0,
            region: r.site.region.to_string(),
            kind: r.site.kind,
            name: r.site.name,
            address: r.site.address,
            location: r.site.location,
            phone: r.site.phone,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactView {
    pub name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgView {
    pub id: i64,
    pub kind: OrgKind,
    pub name: String,
    pub credit_code: Option<String>,
    pub parent: Option<i64>,
    pub region: String,
    pub site: Option<i64>,
    pub description: String,
    pub service_categories: Vec<ServiceCategory>,
    /// Shown to the organisation's admins, its site and its jurisdiction only.
    pub contact: Option<ContactView>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl OrgView {
    pub fn new(r: OrgRecord, show_contact: bool) -> Self {
        let o = r.org;
        Self {
            id: r.id.0,
            kind: o.kind,
            name: o.name,
            credit_code: o.credit_code,
            parent: o.parent.map(|p| p.0),
            region: o.region.to_string(),
            site: o.site.map(|s| s.0),
            description: o.description,
            service_categories: o.service_categories,
            contact: show_contact.then_some(ContactView {
                name: o.contact_name,
                phone: o.contact_phone,
            }),
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    #[serde(rename = "type")]
    pub kind: DocumentKind,
    /// Issuing country of a passport.
    pub country: Option<String>,
    /// The number with its middle hidden; the full number is never shown.
    pub number_masked: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GuardianView {
    pub name: String,
    pub phone: String,
    #[serde(with = "time::serde::rfc3339")]
    pub consented_at: OffsetDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentView {
    pub version: String,
    #[serde(with = "time::serde::rfc3339")]
    pub consented_at: OffsetDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VolunteerView {
    /// The public volunteer number.
    pub number: String,
    pub name: String,
    pub gender: Gender,
    #[schema(value_type = String, format = Date)]
    pub birth_date: Date,
    pub id_document: DocumentView,
    pub residence_region: String,
    pub phone: String,
    pub skills: Vec<String>,
    pub service_categories: Vec<ServiceCategory>,
    pub guardian: Option<GuardianView>,
    pub privacy_consent: ConsentView,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub registered_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Where and when the volunteer may be proposed for orders; absent: not proposed.
    pub service_area: Option<ServiceAreaView>,
    /// Hours recognised from partner platforms (on the profile read, not in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recognised_hours: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceAreaView {
    pub location: GeoPoint,
    /// Slots such as `sat-morning`, in week order.
    pub availability: Vec<String>,
}

impl From<ServiceArea> for ServiceAreaView {
    fn from(a: ServiceArea) -> Self {
        Self {
            location: a.location,
            availability: a.availability.slots(),
        }
    }
}

impl From<VolunteerRecord> for VolunteerView {
    fn from(v: VolunteerRecord) -> Self {
        Self {
            number: v.number.to_string(),
            name: v.profile.name,
            gender: v.gender,
            birth_date: v.birth_date,
            id_document: DocumentView {
                kind: v.document_kind,
                country: v.document_country,
                number_masked: v.document_masked,
            },
            residence_region: v.profile.residence_region.to_string(),
            phone: v.profile.phone,
            skills: v.profile.skills,
            service_categories: v.profile.service_categories,
            service_area: v.profile.service.map(ServiceAreaView::from),
            guardian: v.guardian.map(|g| GuardianView {
                name: g.name,
                phone: g.phone,
                consented_at: g.consented_at,
            }),
            privacy_consent: ConsentView {
                version: v.privacy_consent_version,
                consented_at: v.privacy_consented_at,
            },
            version: v.version,
            registered_at: v.created_at,
            updated_at: v.updated_at,
            recognised_hours: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipView {
    pub id: i64,
    pub organisation: i64,
    pub volunteer_number: String,
    pub volunteer_name: String,
    pub role: MembershipRole,
    pub status: MembershipStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub applied_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    pub version: i64,
}

impl From<MembershipRecord> for MembershipView {
    fn from(m: MembershipRecord) -> Self {
        Self {
            id: m.id.0,
            organisation: m.org.0,
            volunteer_number: m.volunteer_number.to_string(),
            volunteer_name: m.volunteer_name,
            role: m.role,
            status: m.status,
            applied_at: m.applied_at,
            decided_at: m.decided_at,
            version: m.version,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The account that made the change; absent for the system.
    pub actor_account: Option<i64>,
    pub request_id: String,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    pub region: Option<String>,
    pub reason: Option<String>,
    /// Changed fields with old and new values (sensitive values masked).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl From<AuditRecord> for AuditView {
    fn from(a: AuditRecord) -> Self {
        Self {
            id: a.id,
            at: a.at,
            actor_account: a.actor.map(|x| x.0),
            request_id: a.request_id,
            action: a.action,
            subject_type: a.subject_type,
            subject_id: a.subject_id,
            region: a.region.map(|r| r.to_string()),
            reason: a.reason,
            details: a.details,
        }
    }
}
