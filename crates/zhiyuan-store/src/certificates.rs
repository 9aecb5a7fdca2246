//! Record certificates as rows: the certified facts are kept as issued, so a certificate
//! always verifies to what it said, whatever happens to the records later.

use time::{Date, OffsetDateTime};
use zhiyuan_domain::document::DocumentKind;
use zhiyuan_domain::ids::{AccountId, VolunteerId};

/// A recording unit's share of a certificate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UnitTotal {
    pub org: i64,
    pub name: String,
    pub minutes: i64,
    pub records: i64,
}

/// A record listed on a certificate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CertifiedRecord {
    pub date: Date,
    pub activity: String,
    pub content: String,
    pub minutes: i64,
    pub unit: String,
}

/// What a certificate certifies (the four blocks of the 2015 form: identity, service,
/// issuer, number and date).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CertificateFacts {
    pub name: String,
    pub document_kind: DocumentKind,
    /// Only ever masked.
    pub document_masked: String,
    pub volunteer_number: String,
    pub minutes: i64,
    pub records: i64,
    pub from: Option<Date>,
    pub until: Option<Date>,
    pub units: Vec<UnitTotal>,
    /// Listed one by one when the volunteer asked for records, empty for a total.
    pub listed: Vec<CertifiedRecord>,
    pub issuer: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCertificate {
    pub number: String,
    pub volunteer: VolunteerId,
    pub facts: CertificateFacts,
    pub issued_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRecord {
    pub id: i64,
    pub certificate: NewCertificate,
    pub revoked_at: Option<OffsetDateTime>,
    pub revoked_by: Option<AccountId>,
    pub revoked_reason: Option<String>,
}
