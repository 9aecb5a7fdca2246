//! Who is acting, for which request, at what time: everything a use case needs to
//! authorise and to audit.

use std::sync::Arc;

use time::OffsetDateTime;
use zhiyuan_domain::access::Principal;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_store::AuditEntry;

use crate::error::{Result, ServiceError};

/// The actor behind a call.
#[derive(Debug, Clone)]
pub enum Actor {
    /// No credentials: only public reads and self-registration.
    Anonymous,
    /// A signed-in account, with its grants.
    User(Arc<Principal>),
    /// The operator at the command line (migrations, seeding, bootstrap): not limited by
    /// scope, and audited as the system.
    System,
}

/// The context of one call.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub actor: Actor,
    pub request_id: String,
    pub now: OffsetDateTime,
}

impl Ctx {
    pub fn new(actor: Actor, request_id: impl Into<String>) -> Self {
        Self {
            actor,
            request_id: request_id.into(),
            now: OffsetDateTime::now_utc(),
        }
    }

    pub fn system(what: &str) -> Self {
        Self::new(Actor::System, format!("system:{what}"))
    }

    /// The signed-in principal, or 401.
    pub fn user(&self) -> Result<&Principal> {
        match &self.actor {
            Actor::User(p) => Ok(p),
            _ => Err(ServiceError::Unauthenticated),
        }
    }

    /// Passes when the actor is the system or `rule` holds for the principal; 401 for
    /// anonymous callers, 403 otherwise.
    pub fn require(&self, rule: impl FnOnce(&Principal) -> bool) -> Result<()> {
        match &self.actor {
            Actor::System => Ok(()),
            Actor::Anonymous => Err(ServiceError::Unauthenticated),
            Actor::User(p) if rule(p) => Ok(()),
            Actor::User(_) => Err(ServiceError::Forbidden(
                "this is outside the scope of your role",
            )),
        }
    }

    /// Like [`Ctx::require`], answering with a boolean instead of an error.
    pub fn allows(&self, rule: impl FnOnce(&Principal) -> bool) -> bool {
        match &self.actor {
            Actor::System => true,
            Actor::Anonymous => false,
            Actor::User(p) => rule(p),
        }
    }

    /// The signed-in account, if any (for `created_by` fields).
    pub fn account(&self) -> Option<zhiyuan_domain::ids::AccountId> {
        match &self.actor {
            Actor::User(p) => Some(p.account),
            _ => None,
        }
    }

    /// An audit entry for a change made in this context.
    pub fn audit(
        &self,
        action: &'static str,
        subject_type: &'static str,
        subject_id: impl ToString,
        region: Option<RegionCode>,
    ) -> AuditEntry {
        debug_assert!(
            !zhiyuan_store::is_event(action) || zhiyuan_store::is_subscribable(action),
            "{action} is an event that no subscription could name: list it in PREFIXED_EVENTS"
        );
        AuditEntry {
            at: self.now,
            actor: match &self.actor {
                Actor::User(p) => Some(p.account),
                _ => None,
            },
            request_id: self.request_id.clone(),
            action,
            subject_type,
            subject_id: subject_id.to_string(),
            region,
            reason: None,
            details: serde_json::Value::Null,
        }
    }
}

/// Records field changes as `{"field": {"from": .., "to": ..}}` for audit details.
#[derive(Debug, Default)]
pub struct Changes(serde_json::Map<String, serde_json::Value>);

impl Changes {
    /// Notes `field` if `from` and `to` differ.
    pub fn note<T: serde::Serialize + PartialEq>(&mut self, field: &str, from: &T, to: &T) {
        if from != to {
            self.0.insert(
                field.to_owned(),
                serde_json::json!({ "from": from, "to": to }),
            );
        }
    }

    /// Notes a sensitive `field` if it changed, recording only masked values.
    pub fn note_masked(&mut self, field: &str, from: &str, to: &str) {
        if from != to {
            self.0.insert(
                field.to_owned(),
                serde_json::json!({
                    "from": zhiyuan_domain::document::mask(from),
                    "to": zhiyuan_domain::document::mask(to),
                }),
            );
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_json(self) -> serde_json::Value {
        serde_json::Value::Object(self.0)
    }
}
