//! Liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "alive", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "ready", body = String),
        (status = 503, description = "the database does not answer", body = crate::error::ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<&'static str> {
    state.app.store().ping().await.map_err(|e| {
        tracing::warn!(error = %e, "not ready");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the database does not answer",
        )
    })?;
    Ok("ready")
}
