//! The service's error: what went wrong in terms of the request, mapped once to HTTP.

use time::Duration;
use zhiyuan_domain::lang::Lang;
use zhiyuan_domain::{FieldError, Invalid, Reason};
use zhiyuan_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Fields failed validation.
    #[error("{0}")]
    Invalid(Invalid),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A unique value is taken, the object changed meanwhile, or a rule refuses the change
    /// in the state things are in; `why`, when a [`Reason`] says it in every language.
    #[error("{message}")]
    Conflict {
        field: &'static str,
        message: String,
        why: Option<Reason>,
    },
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("too many failed attempts; try again later")]
    TooManyRequests { retry_after: Duration },
    #[error("service temporarily unavailable")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

impl ServiceError {
    /// A conflict on `field`, said in English.
    pub fn conflict(field: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            field,
            message: message.into(),
            why: None,
        }
    }

    /// A conflict on `field` for a reason said in every language.
    pub fn conflict_because(field: &'static str, why: Reason) -> Self {
        Self::Conflict {
            field,
            message: why.say(Lang::En),
            why: Some(why),
        }
    }

    /// One field refused for a reason said in every language.
    pub fn because(field: impl Into<String>, why: Reason) -> Self {
        Self::Invalid(FieldError::because(field, why).into())
    }
}

impl From<Invalid> for ServiceError {
    fn from(e: Invalid) -> Self {
        Self::Invalid(e)
    }
}

impl From<FieldError> for ServiceError {
    fn from(e: FieldError) -> Self {
        Self::Invalid(e.into())
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound("record"),
            StoreError::Conflict { field: "version" } => {
                Self::conflict_because("version", Reason::ChangedMeanwhile)
            }
            // A unique value taken (the store names the field).
            StoreError::Conflict { field } => Self::conflict_because(field, Reason::Exists),
            StoreError::Refused(r) => Self::Conflict {
                field: r.field,
                message: r.message,
                why: r.why,
            },
            StoreError::Unavailable(m) => Self::Unavailable(m),
            StoreError::Internal(e) => Self::Internal(e),
        }
    }
}

/// Runs CPU-heavy work (password hashing, a PDF, reading an uploaded table) on the blocking
/// pool, so that the async workers go on answering other requests meanwhile.
pub(crate) async fn on_blocking_pool<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ServiceError::Internal(e.into()))?
}
