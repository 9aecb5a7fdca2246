//! Builders of store records for the storage suite in `tests/`.

use time::OffsetDateTime;
use zhiyuan_domain::document::DocumentKind;
use zhiyuan_domain::person::Gender;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::volunteer_number::VolunteerNumber;
use zhiyuan_store::{AuditEntry, NewVolunteer, SealedDocument, VolunteerProfile};

pub fn code(s: &str) -> RegionCode {
    RegionCode::parse(s).expect("region code")
}

/// An audit entry for a test change.
pub fn audit(action: &'static str, region: &str) -> AuditEntry {
    AuditEntry {
        at: OffsetDateTime::now_utc(),
        actor: None,
        request_id: "test".into(),
        action,
        subject_type: "test",
        subject_id: "x".into(),
        region: Some(code(region)),
        reason: None,
        details: serde_json::json!({"test": true}),
    }
}

/// A volunteer row; `n` makes the number and the document fingerprint unique.
pub fn volunteer(n: u64, region: &str) -> NewVolunteer {
    NewVolunteer {
        number: VolunteerNumber::from_index(n, 99),
        gender: Gender::Female,
        birth_date: time::macros::date!(1990 - 01 - 01),
        document: SealedDocument {
            kind: DocumentKind::MainlandId,
            country: None,
            ciphertext: vec![1, 2, 3, n as u8],
            identity_hmac: n.to_be_bytes().to_vec(),
            masked: "4401**********0000".into(),
        },
        profile: VolunteerProfile {
            name: format!("志愿者{n}"),
            residence_region: code(region),
            phone: "13800138000".into(),
            skills: vec!["急救".into()],
            service_categories: vec![zhiyuan_domain::category::ServiceCategory::Health],
        },
        guardian: None,
        privacy_consent_version: "2026-01".into(),
        registered_at: OffsetDateTime::now_utc(),
        password_hash: Some("$argon2id$fake".into()),
    }
}
