//! Mutual recognition of records (粤港澳记录互认): the trust registry of partner platforms,
//! and the three steps by which a volunteer brings their records from a partner
//! (challenge here, bundle there, import here).

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use zhiyuan_domain::hours::hours;
use zhiyuan_service::PartnerPatch;
use zhiyuan_store::{NewPartner, Partner, Recognition};

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Caller, Json, Query};
use crate::routes::volunteers::parse_number;

/// The media type of a secured presentation.
pub const VP_MEDIA_TYPE: &str = "application/vp+ld+json";

#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerView {
    pub id: i64,
    pub name: String,
    /// `HK`, `MO`, `TW`, or a Mainland province's two-digit code.
    pub jurisdiction: String,
    pub url: String,
    pub did: String,
    /// The partner issuer's Ed25519 key (Multikey): the only key its bundles verify with.
    pub issuer_key: String,
    pub log_origin: String,
    pub log_keys: Vec<String>,
    pub counts_toward_stars: bool,
    pub counts_toward_incentives: bool,
    pub active: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub version: i64,
}

impl From<Partner> for PartnerView {
    fn from(p: Partner) -> Self {
        let n = p.partner;
        Self {
            id: p.id,
            name: n.name,
            jurisdiction: n.jurisdiction,
            url: n.url,
            did: n.did,
            issuer_key: n.issuer_key,
            log_origin: n.log_origin,
            log_keys: n.log_keys,
            counts_toward_stars: n.counts_toward_stars,
            counts_toward_incentives: n.counts_toward_incentives,
            active: n.active,
            updated_at: p.updated_at,
            version: p.version,
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePartner {
    pub name: String,
    pub jurisdiction: String,
    pub url: String,
    pub did: String,
    pub issuer_key: String,
    pub log_origin: String,
    pub log_keys: Vec<String>,
    /// Whether hours recognised from this partner count toward star levels (default no).
    #[serde(default)]
    pub counts_toward_stars: bool,
    /// Whether they count toward incentives (default no).
    #[serde(default)]
    pub counts_toward_incentives: bool,
    #[serde(default = "yes")]
    pub active: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePartner {
    pub name: Option<String>,
    pub url: Option<String>,
    /// A rotated issuer key.
    pub issuer_key: Option<String>,
    pub log_keys: Option<Vec<String>>,
    pub counts_toward_stars: Option<bool>,
    pub counts_toward_incentives: Option<bool>,
    /// `false` suspends recognition from the partner.
    pub active: Option<bool>,
    pub reason: String,
    pub version: Option<i64>,
}

/// The trust registry: the partner platforms whose records are recognised here. Public.
#[utoipa::path(get, path = "/api/v1/partners", tag = "recognition",
    responses((status = 200, body = Vec<PartnerView>)))]
pub async fn list_partners(State(state): State<AppState>) -> ApiResult<Json<Vec<PartnerView>>> {
    let partners = state.app.partners().await?;
    Ok(Json(partners.into_iter().map(PartnerView::from).collect()))
}

/// A province administrator registers a partner platform, with the keys they confirmed
/// with it out of band.
#[utoipa::path(post, path = "/api/v1/partners", tag = "recognition",
    security(("bearer" = [])), request_body = CreatePartner,
    responses((status = 201, body = PartnerView), (status = 403, body = ErrorBody),
        (status = 409, description = "DID registered", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create_partner(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<CreatePartner>,
) -> ApiResult<(StatusCode, Json<PartnerView>)> {
    let input = NewPartner {
        name: b.name,
        jurisdiction: b.jurisdiction,
        url: b.url,
        did: b.did,
        issuer_key: b.issuer_key,
        log_origin: b.log_origin,
        log_keys: b.log_keys,
        counts_toward_stars: b.counts_toward_stars,
        counts_toward_incentives: b.counts_toward_incentives,
        active: b.active,
    };
    let p = state.app.add_partner(&caller.ctx, input).await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

/// A province administrator changes a partner: keys, policy, suspension. Audited with
/// the reason.
#[utoipa::path(patch, path = "/api/v1/partners/{id}", tag = "recognition",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = UpdatePartner,
    responses((status = 200, body = PartnerView), (status = 403, body = ErrorBody),
        (status = 409, description = "stale version", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update_partner(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<UpdatePartner>,
) -> ApiResult<Json<PartnerView>> {
    let patch = PartnerPatch {
        name: b.name,
        url: b.url,
        issuer_key: b.issuer_key,
        log_keys: b.log_keys,
        counts_toward_stars: b.counts_toward_stars,
        counts_toward_incentives: b.counts_toward_incentives,
        active: b.active,
        reason: Some(b.reason),
        version: b.version,
    };
    Ok(Json(
        state
            .app
            .update_partner(&caller.ctx, id, patch)
            .await?
            .into(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChallengeView {
    /// Give this to the partner when asking for a bundle.
    pub challenge: String,
    /// This platform's DID: the bundle's `domain`.
    pub domain: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// Step 1 (here): a one-time challenge, valid for an hour, for the signed-in volunteer to
/// take to the partner platform.
#[utoipa::path(post, path = "/api/v1/me/recognition-challenges", tag = "recognition",
    security(("bearer" = [])),
    responses((status = 201, body = ChallengeView), (status = 403, body = ErrorBody)))]
pub async fn challenge(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<(StatusCode, Json<ChallengeView>)> {
    let c = state.app.recognition_challenge(&caller.ctx).await?;
    Ok((
        StatusCode::CREATED,
        Json(ChallengeView {
            challenge: c.challenge,
            domain: c.domain,
            expires_at: c.expires_at,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BundleRequest {
    /// The DID of the platform the bundle is for (its challenge's `domain`).
    pub domain: String,
    pub challenge: String,
}

/// Step 2 (at the exporting platform): the signed-in volunteer's records as a bundle for
/// another platform: a Verifiable Presentation signed by this platform, holding a fresh
/// record certificate credential and the certified star badge, with ledger proofs.
#[utoipa::path(post, path = "/api/v1/me/recognition-bundles", tag = "recognition",
    security(("bearer" = [])), request_body = BundleRequest,
    responses((status = 201, content_type = "application/vp+ld+json", body = Object),
        (status = 409, description = "no records to export", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn bundle(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<BundleRequest>,
) -> ApiResult<Response> {
    let bundle = state
        .app
        .recognition_bundle(&caller.ctx, &b.domain, &b.challenge)
        .await?;
    Ok((
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, VP_MEDIA_TYPE)],
        serde_json::to_vec(&bundle).unwrap_or_default(),
    )
        .into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerRef {
    pub id: i64,
    pub name: String,
    pub jurisdiction: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecognitionView {
    pub id: i64,
    pub partner: PartnerRef,
    /// The volunteer's number at the partner, and their name there.
    pub partner_account: String,
    pub name_at_partner: String,
    /// The partner's record certificate credential the hours come from.
    pub credential: String,
    pub hours: f64,
    pub records: i64,
    /// The star level the partner certified, if the bundle carried one.
    pub star: Option<i16>,
    /// What the partner's policy here counts these hours toward.
    pub counts_toward_stars: bool,
    pub counts_toward_incentives: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub imported_at: OffsetDateTime,
}

fn recognition_view(r: Recognition, p: &Partner) -> RecognitionView {
    let n = r.recognition;
    RecognitionView {
        id: r.id,
        partner: PartnerRef {
            id: p.id,
            name: p.partner.name.clone(),
            jurisdiction: p.partner.jurisdiction.clone(),
        },
        partner_account: n.partner_subject,
        name_at_partner: n.partner_name,
        credential: n.credential_id,
        hours: hours(n.minutes),
        records: n.records,
        star: n.star,
        counts_toward_stars: p.partner.counts_toward_stars,
        counts_toward_incentives: p.partner.counts_toward_incentives,
        imported_at: n.imported_at,
    }
}

/// Step 3 (here): the signed-in volunteer imports a partner's bundle. Verified against
/// the trust registry (signature, domain, one-time challenge, every credential's
/// signature, revocation status and ledger proof, the holder) before anything is
/// recorded; a newer bundle from the same partner replaces the older one.
#[utoipa::path(post, path = "/api/v1/me/recognitions", tag = "recognition",
    security(("bearer" = [])), request_body(content = Object, description = "the bundle"),
    responses((status = 201, body = RecognitionView),
        (status = 409, description = "challenge spent, expired or unknown; account linked elsewhere", body = ErrorBody),
        (status = 422, description = "untrusted, altered, revoked or misaddressed bundle", body = ErrorBody),
        (status = 503, description = "the partner's status list could not be read", body = ErrorBody)))]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    Json(bundle): Json<Value>,
) -> ApiResult<(StatusCode, Json<RecognitionView>)> {
    let (r, p) = state.app.import_recognition(&caller.ctx, bundle).await?;
    Ok((StatusCode::CREATED, Json(recognition_view(r, &p))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecognitionsView {
    /// All recognised hours, and the shares the partners' policies count.
    pub hours: f64,
    pub hours_toward_stars: f64,
    pub hours_toward_incentives: f64,
    pub items: Vec<RecognitionView>,
}

/// A volunteer's records recognised from partner platforms: for the volunteer and those
/// who may read their profile.
#[utoipa::path(get, path = "/api/v1/volunteers/{number}/recognitions", tag = "recognition",
    security(("bearer" = [])), params(("number" = String, Path)),
    responses((status = 200, body = RecognitionsView), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> ApiResult<Json<RecognitionsView>> {
    let number = parse_number(&number)?;
    let r = state.app.recognitions(&caller.ctx, number).await?;
    Ok(Json(RecognitionsView {
        hours: hours(r.totals.minutes),
        hours_toward_stars: hours(r.totals.toward_stars),
        hours_toward_incentives: hours(r.totals.toward_incentives),
        items: r
            .items
            .into_iter()
            .map(|(r, p)| recognition_view(r, &p))
            .collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WithdrawQuery {
    pub reason: Option<String>,
}

/// The signed-in volunteer withdraws a recognition and the account link it made.
#[utoipa::path(delete, path = "/api/v1/me/recognitions/{id}", tag = "recognition",
    security(("bearer" = [])), params(("id" = i64, Path), WithdrawQuery),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<WithdrawQuery>,
) -> ApiResult<StatusCode> {
    state
        .app
        .withdraw_recognition(&caller.ctx, id, q.reason)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
