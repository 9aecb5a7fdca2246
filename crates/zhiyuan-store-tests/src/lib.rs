//! Builders of store records for the storage suite in `tests/`.

use time::OffsetDateTime;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_store::AuditEntry;

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
