//! The audit trail: who changed what, when and why. Entries are written by the backend in
//! the transaction of the change they describe, and never updated or deleted.

use time::OffsetDateTime;
use zhiyuan_domain::ids::AccountId;
use zhiyuan_domain::region::RegionCode;

/// One change, as the service describes it. `details` holds the changed fields with their
/// old and new values; sensitive values appear only masked.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub at: OffsetDateTime,
    /// `None` for the system itself (migrations, seeding).
    pub actor: Option<AccountId>,
    pub request_id: String,
    /// Dotted verb, e.g. `volunteer.update`.
    pub action: &'static str,
    pub subject_type: &'static str,
    /// Filled in by the backend when the subject is created by the same write.
    pub subject_id: String,
    /// The region the subject belongs to: decides which jurisdictions see the entry.
    pub region: Option<RegionCode>,
    pub reason: Option<String>,
    pub details: serde_json::Value,
}

impl AuditEntry {
    /// This entry once for each of the outermost of `regions` (see
    /// [`RegionCode::outermost`]), for a change that concerns several jurisdictions or
    /// moves its subject from one to another: it is then in each one's trail. The entry
    /// as it is when `regions` is empty. Backends store the entries after the first as its
    /// copies, which a trail shows only when it does not hold the first: a trail that
    /// covers several of the regions (the province's, the subject's own) shows the change
    /// once. Not for a notifiable action ([`crate::EVENTS`]): each entry would be an event
    /// of its own.
    pub fn in_each(self, regions: impl IntoIterator<Item = RegionCode>) -> Vec<AuditEntry> {
        debug_assert!(!crate::is_event(self.action), "{} is an event", self.action);
        let regions = RegionCode::outermost(regions);
        if regions.is_empty() {
            return vec![self];
        }
        regions
            .into_iter()
            .map(|region| AuditEntry {
                region: Some(region),
                ..self.clone()
            })
            .collect()
    }

    /// Adds to `details` a fact the backend learns in the write, such as the rows a change
    /// carried with it.
    pub fn add_detail(&mut self, key: &str, value: serde_json::Value) {
        if self.details.is_null() {
            self.details = serde_json::json!({});
        }
        if let Some(d) = self.details.as_object_mut() {
            d.insert(key.to_owned(), value);
        }
    }
}

/// When the change that `entries` audit happened (the first's time), for a write that
/// files one change in several trails; refused when there is none, a caller's bug: every
/// change is audited.
pub fn audited_at(entries: &[AuditEntry]) -> Result<OffsetDateTime, crate::StoreError> {
    entries
        .first()
        .map(|e| e.at)
        .ok_or_else(|| crate::StoreError::corrupt("a change without an audit entry"))
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub id: i64,
    pub at: OffsetDateTime,
    pub actor: Option<AccountId>,
    pub request_id: String,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    pub region: Option<RegionCode>,
    pub reason: Option<String>,
    pub details: serde_json::Value,
}

/// Filters for reading the trail, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub within: Option<RegionCode>,
    pub subject: Option<(String, String)>,
}
