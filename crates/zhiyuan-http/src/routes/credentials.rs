//! Verifiable credentials: the issuer's `did:web` document, record certificates and star
//! badges as signed credentials, and the Bitstring Status Lists that revoke them.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Caller, Json};

/// The media type of a secured credential.
pub const VC_MEDIA_TYPE: &str = "application/vc+ld+json";

pub fn credential_response(credential: Value) -> Response {
    (
        [(header::CONTENT_TYPE, VC_MEDIA_TYPE)],
        serde_json::to_vec(&credential).unwrap_or_default(),
    )
        .into_response()
}

/// The issuer's DID document (`did:web` of the public URL): its Ed25519 key as a
/// Multikey, and its ledger.
#[utoipa::path(get, path = "/.well-known/did.json", tag = "credentials",
    responses((status = 200, body = Object)))]
pub async fn did_document(State(state): State<AppState>) -> Json<Value> {
    Json(state.app.did_document())
}

/// A record certificate as a W3C Verifiable Credential (`eddsa-jcs-2022`), with its
/// status entry and ledger evidence: for anyone holding the number, as its verification.
#[utoipa::path(get, path = "/api/v1/certificates/{number}/credential", tag = "credentials",
    params(("number" = String, Path)),
    responses((status = 200, content_type = "application/vc+ld+json", body = Object),
        (status = 404, body = ErrorBody)))]
pub async fn certificate(
    State(state): State<AppState>,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    Ok(credential_response(
        state.app.certificate_credential(&number).await?,
    ))
}

/// A certified star level as an Open Badges 3.0 `OpenBadgeCredential`: for the volunteer
/// and those who may read them.
#[utoipa::path(get, path = "/api/v1/star-applications/{id}/credential", tag = "credentials",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/vc+ld+json", body = Object),
        (status = 403, body = ErrorBody), (status = 409, description = "not certified", body = ErrorBody)))]
pub async fn star(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    Ok(credential_response(
        state.app.star_credential(&caller.ctx, id).await?,
    ))
}

/// A Bitstring Status List credential (`certificates-N` or `stars-N`): bit i set when
/// subject N·131072 + i is revoked.
#[utoipa::path(get, path = "/credentials/status/{list}", tag = "credentials",
    params(("list" = String, Path, description = "e.g. certificates-0")),
    responses((status = 200, content_type = "application/vc+ld+json", body = Object),
        (status = 404, body = ErrorBody)))]
pub async fn status_list(
    State(state): State<AppState>,
    Path(list): Path<String>,
) -> ApiResult<Response> {
    Ok(credential_response(
        state.app.status_list_credential(&list).await?,
    ))
}
