//! The professional talent pool: qualifications declared by volunteers, verified by the
//! jurisdiction of their residence, listed for the jurisdiction by kind and area.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::registration::parse_date;
use zhiyuan_domain::talent::{QualificationKind, QualificationStatus};
use zhiyuan_service::{QualificationInput, ServiceError};
use zhiyuan_store::QualificationRecord;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Caller, Json, Query, page};
use crate::routes::volunteers::parse_number;
use crate::views::PageView;

#[derive(Debug, Serialize, ToSchema)]
pub struct QualificationView {
    pub id: i64,
    pub volunteer: String,
    pub volunteer_name: String,
    pub kind: QualificationKind,
    pub title: String,
    pub certificate_number: String,
    pub issuer: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub valid_until: Option<Date>,
    pub status: QualificationStatus,
    /// Why it was rejected.
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    pub version: i64,
}

fn view(q: QualificationRecord) -> QualificationView {
    QualificationView {
        id: q.id,
        volunteer: q.volunteer_number.to_string(),
        volunteer_name: q.volunteer_name,
        kind: q.qualification.kind,
        title: q.qualification.title,
        certificate_number: q.qualification.certificate_number,
        issuer: q.qualification.issuer,
        valid_until: q.qualification.valid_until,
        status: q.status,
        reason: q.reason,
        decided_at: q.decided_at,
        version: q.version,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddQualification {
    /// `doctor`, `nurse`, `teacher`, `rescue`, `counselling`, `legal`, `engineering`,
    /// `other`.
    pub kind: String,
    pub title: String,
    pub certificate_number: String,
    pub issuer: String,
    /// `YYYY-MM-DD`, when the certificate has an end.
    pub valid_until: Option<String>,
}

/// The signed-in volunteer declares a professional qualification (pending until the
/// jurisdiction verifies it).
#[utoipa::path(post, path = "/api/v1/me/qualifications", tag = "talent",
    security(("bearer" = [])), request_body = AddQualification,
    responses((status = 201, body = QualificationView), (status = 422, body = ErrorBody)))]
pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<AddQualification>,
) -> ApiResult<(StatusCode, Json<QualificationView>)> {
    let valid_until = b
        .valid_until
        .as_deref()
        .map(|d| parse_date(d).map_err(|e| e.under("valid_until")))
        .transpose()
        .map_err(ServiceError::from)?;
    let input = QualificationInput {
        kind: b.kind,
        title: b.title,
        certificate_number: b.certificate_number,
        issuer: b.issuer,
        valid_until,
    };
    let q = state.app.add_qualification(&caller.ctx, input).await?;
    Ok((StatusCode::CREATED, Json(view(q))))
}

/// A volunteer's qualifications, for those who may read the volunteer.
#[utoipa::path(get, path = "/api/v1/volunteers/{number}/qualifications", tag = "talent",
    security(("bearer" = [])), params(("number" = String, Path)),
    responses((status = 200, body = Vec<QualificationView>), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> ApiResult<Json<Vec<QualificationView>>> {
    let number = parse_number(&number)?;
    let items = state.app.qualifications(&caller.ctx, number).await?;
    Ok(Json(items.into_iter().map(view).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decide {
    pub verified: bool,
    /// Required to reject.
    pub reason: Option<String>,
    pub version: Option<i64>,
}

/// The jurisdiction of the volunteer's residence verifies or rejects a qualification.
#[utoipa::path(post, path = "/api/v1/qualifications/{id}/decision", tag = "talent",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = Decide,
    responses((status = 200, body = QualificationView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Decide>,
) -> ApiResult<Json<QualificationView>> {
    let q = state
        .app
        .decide_qualification(&caller.ctx, id, b.verified, b.reason, b.version)
        .await?;
    Ok(Json(view(q)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PoolQueryParams {
    pub kind: String,
    /// The region whose residents are listed.
    pub region: String,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// The verified, unexpired holders of a qualification among a region's residents, for
/// its jurisdiction.
#[utoipa::path(get, path = "/api/v1/talent-pool", tag = "talent", security(("bearer" = [])),
    params(PoolQueryParams),
    responses((status = 200, body = PageView<QualificationView>), (status = 403, body = ErrorBody)))]
pub async fn pool(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<PoolQueryParams>,
) -> ApiResult<Json<PageView<QualificationView>>> {
    let kind = QualificationKind::parse(&q.kind)
        .ok_or_else(|| ApiError::invalid("kind", "not a qualification kind"))?;
    let region = RegionCode::parse(&q.region).map_err(|e| ApiError::invalid("region", e.reason))?;
    let page = page(q.cursor.as_deref(), q.limit, 1)?;
    let result = state
        .app
        .talent_pool(&caller.ctx, kind, region, &page)
        .await?;
    Ok(Json(PageView::from_page(result, view)))
}
