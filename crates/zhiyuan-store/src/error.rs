//! The one error type of every backend.

use zhiyuan_domain::Reason;
use zhiyuan_domain::lang::Lang;

/// What can go wrong in storage, in terms the layers above can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique value is taken (`field` names it in request terms, e.g.
    /// `id_document.number`), or `version` when the row changed since it was read.
    #[error("conflict on {field}")]
    Conflict { field: &'static str },
    /// A caller's [`Check`] refused the write, given what the transaction read.
    #[error("refused on {}: {}", .0.field, .0.message)]
    Refused(Refusal),
    /// The database cannot be reached or is overloaded; the request may be retried.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or a broken database. Logged once, never shown to clients.
    #[error("storage failure: {0}")]
    Internal(#[from] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(e))
    }

    pub fn corrupt(what: impl Into<String>) -> Self {
        Self::Internal(what.into().into())
    }
}

/// Why a [`Check`] refused: the request field at fault and a message for the person, with
/// its [`Reason`] when one says it in every language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub field: &'static str,
    pub message: String,
    pub why: Option<Reason>,
}

impl Refusal {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
            why: None,
        }
    }

    pub fn because(field: &'static str, why: Reason) -> Self {
        Self {
            field,
            message: why.say(Lang::En),
            why: Some(why),
        }
    }
}

/// A rule of the caller's, run inside a write's transaction on what it read, so that
/// nothing can change between the check and the write. Refusing rolls the write back.
/// A backend may run it more than once (a group commit that falls back to one write at a
/// time), so it must depend on what it is given alone.
pub type Check<T> = Box<dyn Fn(&T) -> Result<(), Refusal> + Send + Sync>;

/// The request field a unique constraint protects, from the table and the first column of
/// the constraint: both backends report violations this way.
pub fn conflict_field(table: &str, column: &str) -> &'static str {
    match (table, column) {
        ("volunteers", "document_hmac") => "id_document.number",
        ("volunteers", "number") => "number",
        ("accounts", "login") => "login",
        ("accounts", "volunteer_id") => "volunteer",
        ("organisations", "credit_code") => "credit_code",
        ("regions", _) => "code",
        ("memberships", _) => "volunteer",
        ("signups", _) | ("attendance", _) | ("star_applications", _) => "volunteer",
        ("service_records", "dedupe_key") => "dedupe_key",
        ("certificates", _) => "number",
        ("partners", _) => "did",
        ("recognitions", "partner_subject") => "partner_subject",
        ("recognitions", _) => "partner",
        ("recognition_challenges", _) => "challenge",
        _ => "unknown",
    }
}
