//! Signing in and out, and who am I.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use zhiyuan_domain::access::Grant;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Caller, Json};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// A volunteer number, or a staff login.
    pub login: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: i64,
    pub login: String,
    pub display_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub token_type: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub account: AccountView,
}

/// Signs in with a password. Five failures in 15 minutes lock the login for 15 minutes.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse),
        (status = 401, description = "login or password is wrong", body = ErrorBody),
        (status = 429, description = "too many failures; see Retry-After", body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let out = state
        .app
        .login(&caller.ctx, body.login.trim(), &body.password)
        .await?;
    Ok(Json(LoginResponse {
        token: out.token,
        token_type: "Bearer",
        expires_at: out.expires_at,
        account: AccountView {
            id: out.account.id.0,
            login: out.account.login,
            display_name: out.account.display_name,
        },
    }))
}

/// Ends the current session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> ApiResult<StatusCode> {
    caller.ctx.user()?;
    if let Some(token) = &caller.token {
        state.app.logout(token).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    /// 8 to 128 characters, not the current one.
    pub new_password: String,
}

impl std::fmt::Debug for ChangePassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangePassword").finish_non_exhaustive()
    }
}

/// Changes the signed-in account's password. Every other session of the account ends, on
/// every app server; this one stays. A wrong current password counts toward the login's
/// lock (429 after five, as at login).
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", security(("bearer" = [])),
    request_body = ChangePassword,
    responses((status = 204), (status = 401, body = ErrorBody),
        (status = 422, description = "wrong current password, or a new one refused",
            body = ErrorBody),
        (status = 429, description = "too many failures; see Retry-After", body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<ChangePassword>,
) -> ApiResult<StatusCode> {
    caller.ctx.user()?;
    let token = caller.token.as_deref().unwrap_or_default();
    state
        .app
        .change_password(&caller.ctx, token, &b.current_password, b.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    pub account_id: i64,
    /// The account as signing in answers it: what an app shows when it starts again from a
    /// token it kept.
    pub account: AccountView,
    /// Present when the account is a volunteer's.
    pub volunteer_number: Option<String>,
    /// Every scope the account holds, including team roles from memberships.
    pub grants: Vec<Grant>,
}

/// The signed-in account and its roles.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = MeView), (status = 401, body = ErrorBody)))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<MeView>> {
    let p = caller.ctx.user()?;
    use zhiyuan_service::ServiceError;
    let store = state.app.store();
    // Accounts are never deleted, so a session's account is there; were it not, the
    // session would be no one's (401).
    let account = store
        .get_account(p.account)
        .await
        .map_err(ServiceError::from)?
        .ok_or(ServiceError::Unauthenticated)?;
    let volunteer = match p.volunteer {
        Some(id) => store.get_volunteer(id).await.map_err(ServiceError::from)?,
        None => None,
    };
    Ok(Json(MeView {
        account_id: p.account.0,
        account: AccountView {
            id: account.id.0,
            login: account.login,
            display_name: account.display_name,
        },
        volunteer_number: volunteer.map(|v| v.number.to_string()),
        grants: p.grants.clone(),
    }))
}
