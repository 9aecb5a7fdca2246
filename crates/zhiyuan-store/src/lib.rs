//! Storage for zhiyuan: small traits split by capability, implemented by one crate per
//! backend (SQLite embedded, PostgreSQL in production) and proven by one shared suite.
//!
//! Two rules hold for every write:
//! - it carries an [`AuditEntry`] that the backend writes in the same transaction, so no
//!   change exists without its who/when/why;
//! - an update carries the `version` it was read at and fails with
//!   [`StoreError::Conflict`] on `version` if someone else changed the row meanwhile, so
//!   several app servers never overwrite each other silently.

mod activity;
mod audit;
mod certificates;
mod corrections;
mod error;
mod idempotency;
pub mod ledger;
mod notify;
mod orders;
mod page;
mod recognition;
mod records;
mod stars;
mod talent;
mod traits;

pub use activity::*;
pub use audit::{AuditEntry, AuditQuery, AuditRecord, audited_at};
pub use certificates::*;
pub use corrections::*;
pub use error::{Check, Refusal, StoreError, conflict_field};
pub use idempotency::*;
pub use notify::*;
pub use orders::*;
pub use page::{Cursor, Page, PageRequest};
pub use recognition::*;
pub use records::*;
pub use stars::*;
pub use talent::*;
pub use traits::*;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
