//! The professional talent pool: qualifications declared by volunteers, verified by the
//! jurisdiction of their residence, listed for the jurisdiction by kind and area.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::registration::parse_date;
use zhiyuan_domain::site::GeoPoint;
use zhiyuan_domain::talent::{MemberStatus, QualificationKind, QualificationStatus};
use zhiyuan_service::{CallInput, QualificationInput, ServiceError};
use zhiyuan_store::{CallMember, CallRecord, QualificationRecord};

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
    let kind = QualificationKind::parse(&q.kind).ok_or_else(|| {
        ApiError::one_of(
            "kind",
            &QualificationKind::ALL.map(QualificationKind::as_str),
        )
    })?;
    let region = RegionCode::parse(&q.region).map_err(|e| ApiError::from(e.at("region")))?;
    let page = page(q.cursor.as_deref(), q.limit, 1)?;
    let result = state
        .app
        .talent_pool(&caller.ctx, kind, region, &page)
        .await?;
    Ok(Json(PageView::from_page(result, view)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallView {
    pub id: i64,
    pub region: String,
    pub kinds: Vec<QualificationKind>,
    pub needed: i64,
    pub assembly_point: String,
    pub location: Option<GeoPoint>,
    #[serde(with = "time::serde::rfc3339")]
    pub assemble_at: OffsetDateTime,
    pub note: String,
    /// How many volunteers were selected and notified.
    pub selected: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

fn call_view(c: CallRecord) -> CallView {
    CallView {
        id: c.id,
        region: c.call.region.to_string(),
        kinds: c.call.kinds,
        needed: c.call.needed,
        assembly_point: c.call.assembly_point,
        location: c.call.location,
        assemble_at: c.call.assemble_at,
        note: c.call.note,
        selected: c.selected,
        created_at: c.call.created_at,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueCall {
    /// Residents of this region are called.
    pub region: String,
    /// Any of these qualifications (verified, unexpired).
    pub kinds: Vec<String>,
    pub needed: i64,
    /// How many to notify (default: three times `needed`).
    pub notify: Option<i64>,
    pub assembly_point: String,
    pub location: Option<GeoPoint>,
    #[serde(default, deserialize_with = "crate::extract::rfc3339_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub assemble_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub note: String,
}

/// A jurisdiction administrator issues a mobilisation call (急难险重): the adults of the
/// area holding a verified qualification of the kinds asked for are selected and
/// notified at once.
#[utoipa::path(post, path = "/api/v1/calls", tag = "talent", security(("bearer" = [])),
    request_body = IssueCall,
    responses((status = 201, body = CallView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn issue_call(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<IssueCall>,
) -> ApiResult<(StatusCode, Json<CallView>)> {
    let input = CallInput {
        region: b.region,
        kinds: b.kinds,
        needed: b.needed,
        notify: b.notify,
        assembly_point: b.assembly_point,
        location: b.location.map(|p| (p.lat, p.lng)),
        assemble_at: b.assemble_at,
        note: b.note,
    };
    let c = state.app.issue_call(&caller.ctx, input).await?;
    Ok((StatusCode::CREATED, Json(call_view(c))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RollCallView {
    pub notified: i64,
    pub acknowledged: i64,
    pub declined: i64,
    pub checked_in: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallStateView {
    pub call: CallView,
    /// The live roll-call.
    pub roll_call: RollCallView,
}

/// A call and its live roll-call, for the jurisdiction of its area.
#[utoipa::path(get, path = "/api/v1/calls/{id}", tag = "talent", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = CallStateView), (status = 403, body = ErrorBody)))]
pub async fn get_call(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<CallStateView>> {
    let (c, r) = state.app.call_roll(&caller.ctx, id).await?;
    Ok(Json(CallStateView {
        call: call_view(c),
        roll_call: RollCallView {
            notified: r.notified,
            acknowledged: r.acknowledged,
            declined: r.declined,
            checked_in: r.checked_in,
        },
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallMemberView {
    pub volunteer: String,
    pub name: String,
    pub kind: QualificationKind,
    pub status: MemberStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

fn member_view(m: CallMember) -> CallMemberView {
    CallMemberView {
        volunteer: m.volunteer_number.to_string(),
        name: m.volunteer_name,
        kind: m.kind,
        status: m.status,
        updated_at: m.updated_at,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MembersQuery {
    /// `notified`, `acknowledged`, `declined` or `checked_in`.
    pub status: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Who was called and where each stands, for the jurisdiction of the call's area.
#[utoipa::path(get, path = "/api/v1/calls/{id}/members", tag = "talent", security(("bearer" = [])),
    params(("id" = i64, Path), MembersQuery),
    responses((status = 200, body = PageView<CallMemberView>), (status = 403, body = ErrorBody)))]
pub async fn call_members(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<MembersQuery>,
) -> ApiResult<Json<PageView<CallMemberView>>> {
    let status = q
        .status
        .as_deref()
        .map(|s| {
            MemberStatus::parse(s).ok_or_else(|| {
                ApiError::one_of("status", &MemberStatus::ALL.map(MemberStatus::as_str))
            })
        })
        .transpose()?;
    let page = page(q.cursor.as_deref(), q.limit, 1)?;
    let result = state
        .app
        .call_members(&caller.ctx, id, status, &page)
        .await?;
    Ok(Json(PageView::from_page(result, member_view)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyCallView {
    pub call: CallView,
    pub status: MemberStatus,
}

/// The signed-in volunteer's calls: the notifications of the emergencies they were
/// called to, newest first.
#[utoipa::path(get, path = "/api/v1/me/calls", tag = "talent", security(("bearer" = [])),
    responses((status = 200, body = Vec<MyCallView>)))]
pub async fn my_calls(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<MyCallView>>> {
    let calls = state.app.my_calls(&caller.ctx).await?;
    Ok(Json(
        calls
            .into_iter()
            .map(|(c, m)| MyCallView {
                call: call_view(c),
                status: m.status,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// `acknowledge`, `decline` or `check_in`.
    pub response: String,
    /// Where the volunteer is, to check in.
    pub location: Option<GeoPoint>,
}

/// The signed-in volunteer answers a call, or checks in at its assembly point.
#[utoipa::path(post, path = "/api/v1/calls/{id}/response", tag = "talent", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = Answer,
    responses((status = 200, body = CallMemberView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn answer(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Answer>,
) -> ApiResult<Json<CallMemberView>> {
    let to = match b.response.as_str() {
        "acknowledge" => MemberStatus::Acknowledged,
        "decline" => MemberStatus::Declined,
        "check_in" => MemberStatus::CheckedIn,
        _ => {
            return Err(ApiError::one_of(
                "response",
                &["acknowledge", "decline", "check_in"],
            ));
        }
    };
    let m = state
        .app
        .answer_call(&caller.ctx, id, to, b.location.map(|p| (p.lat, p.lng)))
        .await?;
    Ok(Json(member_view(m)))
}
