//! The tamper-evident ledger: the C2SP tlog-tiles static layout under `/ledger/`
//! (checkpoint, tiles, entry bundles, verifier keys), the proof API, and a record's
//! opening for its holder.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use zhiyuan_service::LedgerOpening;
use zhiyuan_store::RecordId;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Caller, Json, Query};

fn text(body: String, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// The latest signed checkpoint (C2SP tlog-checkpoint), as `text/plain`.
#[utoipa::path(get, path = "/ledger/checkpoint", tag = "ledger",
    responses((status = 200, content_type = "text/plain", body = String),
        (status = 404, description = "nothing logged yet")))]
pub async fn checkpoint(State(state): State<AppState>) -> ApiResult<Response> {
    Ok(match state.app.ledger_checkpoint().await? {
        Some(cp) => text(cp.note, "no-cache"),
        None => not_found(),
    })
}

/// The log's verifier keys (`name+id+key`, one per line), current first.
#[utoipa::path(get, path = "/ledger/keys", tag = "ledger",
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn keys(State(state): State<AppState>) -> Response {
    let mut body = state.app.ledger_keys().join("\n");
    body.push('\n');
    text(body, "max-age=300")
}

/// A hash tile (`/ledger/tile/<L>/<N>[.p/<W>]`) or an entry bundle
/// (`/ledger/tile/entries/<N>[.p/<W>]`). Full tiles never change and are cached for good.
#[utoipa::path(get, path = "/ledger/tile/{path}", tag = "ledger",
    params(("path" = String, Path, description = "e.g. 0/x001/234 or entries/000.p/8")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, description = "no such tile (yet)")))]
pub async fn tile(State(state): State<AppState>, Path(path): Path<String>) -> ApiResult<Response> {
    Ok(match state.app.ledger_tile(&path).await? {
        Some(bytes) => {
            let cache = if path.contains(".p/") {
                "max-age=5"
            } else {
                "max-age=31536000, immutable"
            };
            (
                [
                    (header::CONTENT_TYPE, "application/octet-stream"),
                    (header::CACHE_CONTROL, cache),
                ],
                bytes,
            )
                .into_response()
        }
        None => not_found(),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerView {
    pub origin: String,
    /// Leaves integrated.
    pub size: u64,
    /// Base64 root of the integrated tree.
    pub root: String,
    /// The latest signed checkpoint, when there is one.
    pub checkpoint: Option<String>,
    /// Verifier keys, current first.
    pub keys: Vec<String>,
}

/// The log's state.
#[utoipa::path(get, path = "/api/v1/ledger", tag = "ledger",
    responses((status = 200, body = LedgerView)))]
pub async fn state(State(state): State<AppState>) -> ApiResult<Json<LedgerView>> {
    let tree = state
        .app
        .store()
        .ledger_tree()
        .await
        .map_err(zhiyuan_service::ServiceError::from)?;
    let checkpoint = state.app.ledger_checkpoint().await?.map(|c| c.note);
    Ok(Json(LedgerView {
        origin: state.app.ledger_origin().to_owned(),
        size: tree.size,
        root: STANDARD.encode(tree.root),
        checkpoint,
        keys: state.app.ledger_keys(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// The leaf index.
    pub index: u64,
    /// The tree size (a signed checkpoint's).
    pub size: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProofView {
    /// Base64 hashes (RFC 9162 §2.1.3 / §2.1.4 order).
    pub proof: Vec<String>,
}

fn proof_view(hashes: Vec<zhiyuan_ledger::Hash>) -> ProofView {
    ProofView {
        proof: hashes.iter().map(|h| STANDARD.encode(h)).collect(),
    }
}

/// RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves.
#[utoipa::path(get, path = "/api/v1/ledger/inclusion", tag = "ledger", params(InclusionQuery),
    responses((status = 200, body = ProofView), (status = 422, body = ErrorBody)))]
pub async fn inclusion(
    State(state): State<AppState>,
    Query(q): Query<InclusionQuery>,
) -> ApiResult<Json<ProofView>> {
    Ok(Json(proof_view(
        state.app.inclusion_proof(q.index, q.size).await?,
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The older tree size.
    pub first: u64,
    /// The newer tree size.
    pub second: u64,
}

/// RFC 9162 consistency proof from the tree of `first` leaves to the tree of `second`.
#[utoipa::path(get, path = "/api/v1/ledger/consistency", tag = "ledger",
    params(ConsistencyQuery),
    responses((status = 200, body = ProofView), (status = 422, body = ErrorBody)))]
pub async fn consistency(
    State(state): State<AppState>,
    Query(q): Query<ConsistencyQuery>,
) -> ApiResult<Json<ProofView>> {
    Ok(Json(proof_view(
        state.app.consistency_proof(q.first, q.second).await?,
    )))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OpeningView {
    pub kind: String,
    pub subject: i64,
    /// The canonical JSON (RFC 8785) the entry commits to.
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
    /// Base64 salt: give it only to whoever should be able to prove this entry.
    pub salt: String,
    /// Base64 SHA-256(salt ‖ content): the public log entry.
    pub commitment: String,
    /// The leaf index, once integrated (within a second or so).
    pub index: Option<u64>,
    /// The signed checkpoint the proof leads to.
    pub checkpoint: Option<String>,
    pub inclusion_proof: Vec<String>,
}

impl From<LedgerOpening> for OpeningView {
    fn from(o: LedgerOpening) -> Self {
        Self {
            kind: o.kind.to_owned(),
            subject: o.subject,
            content: o.content,
            salt: o.salt,
            commitment: o.commitment,
            index: o.index,
            checkpoint: o.checkpoint,
            inclusion_proof: o.inclusion_proof,
        }
    }
}

/// A record's ledger entry, with what proves it: for the volunteer, the recording unit
/// and those over the volunteer.
#[utoipa::path(get, path = "/api/v1/records/{id}/ledger", tag = "ledger",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = OpeningView), (status = 403, body = ErrorBody),
        (status = 404, description = "no such record, or it does not count", body = ErrorBody)))]
pub async fn record(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<OpeningView>> {
    Ok(Json(
        state
            .app
            .record_ledger(&caller.ctx, RecordId(id))
            .await?
            .into(),
    ))
}
