//! The one error shape of the API and the one mapping from service errors to statuses:
//! `{"error": {"code", "message", "fields": [{"field", "reason"}]}}`. Internal causes are
//! logged here, once, and never sent to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use zhiyuan_domain::lang::Lang;
use zhiyuan_domain::{FieldError, Reason};
use zhiyuan_service::ServiceError;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code: `invalid`, `malformed`, `body_too_large`,
    /// `unsupported_media_type`, `unauthenticated`, `forbidden`, `not_found`, `conflict`,
    /// `too_many_requests`, `unavailable`, `internal`.
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
    /// The fields at fault, when the input is to blame.
    pub fields: Vec<FieldError>,
}

/// An error on its way to becoming a response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    fields: Vec<FieldError>,
    retry_after: Option<u64>,
    /// The language the fields' reasons are said in, when the caller's was asked for.
    language: Option<Lang>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
            retry_after: None,
            language: None,
        }
    }

    /// The same error with its fields' reasons said in `lang` (those with a code; the
    /// rest stay English), and `Content-Language` saying so: for the artifacts people
    /// read as they are, such as an upload refused whole.
    pub fn said_in(mut self, lang: Lang) -> Self {
        for f in &mut self.fields {
            f.reason = f.say(lang);
        }
        self.language = Some(lang);
        self
    }

    pub fn with_field(mut self, field: impl Into<String>, reason: impl Into<String>) -> Self {
        self.fields.push(FieldError::new(field, reason));
        self
    }

    /// 422 naming one field.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "the request has invalid fields",
        )
        .with_field(field, reason)
    }

    /// The fields at fault.
    #[cfg(test)]
    pub(crate) fn fields(&self) -> &[FieldError] {
        &self.fields
    }

    /// 422: `field` is none of `allowed`.
    pub fn one_of(field: &str, allowed: &[&str]) -> Self {
        FieldError::because(field, Reason::one_of(allowed)).into()
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }
}

/// 422 naming the field, with its reason's code.
impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ServiceError::from(e).into()
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(invalid) => {
                let mut api = Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid",
                    "the request has invalid fields",
                );
                api.fields = invalid.0;
                api
            }
            ServiceError::NotFound(what) => Self::not_found(what),
            ServiceError::Conflict {
                field,
                message,
                why,
            } => {
                let mut api = Self::new(StatusCode::CONFLICT, "conflict", message.clone());
                api.fields.push(FieldError {
                    field: field.to_owned(),
                    why,
                    reason: message,
                });
                api
            }
            ServiceError::Unauthenticated => Self::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "sign in first, or the login or password is wrong",
            ),
            ServiceError::Forbidden(why) => Self::new(StatusCode::FORBIDDEN, "forbidden", why),
            ServiceError::TooManyRequests { retry_after } => {
                let mut api = Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_requests",
                    "too many failed attempts; try again later",
                );
                api.retry_after = Some(retry_after.whole_seconds().max(1) as u64);
                api
            }
            ServiceError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "service unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the service is busy; try again shortly",
                )
            }
            ServiceError::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "something went wrong on our side",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                fields: self.fields,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(lang) = self.language {
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_LANGUAGE,
                HeaderValue::from_static(lang.tag()),
            );
            headers.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
        }
        response
    }
}

/// Handler results.
pub type ApiResult<T> = Result<T, ApiError>;
