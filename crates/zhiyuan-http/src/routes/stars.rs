//! Star levels: standing, applications, public notice, objections, decisions, rules.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};
use zhiyuan_domain::hours::hours;
use zhiyuan_domain::site::parse_text;
use zhiyuan_domain::stars::{StarRules, StarStatus};
use zhiyuan_service::{ServiceError, StarStanding};
use zhiyuan_store::{StarApplication, StarApplicationId, StarObjection};

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Caller, Json, Query, page};
use crate::routes::regions::parse_region;
use crate::routes::volunteers::parse_number;
use crate::views::PageView;

#[derive(Debug, Serialize, ToSchema)]
pub struct StarApplicationView {
    pub id: i64,
    pub volunteer_number: String,
    pub volunteer_name: String,
    pub star: u8,
    pub label: String,
    /// The certifying jurisdiction.
    pub certifier: String,
    /// Hours when applying.
    pub hours: f64,
    pub status: StarStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub applied_at: OffsetDateTime,
    #[schema(value_type = Option<String>, format = Date)]
    pub notice_from: Option<Date>,
    #[schema(value_type = Option<String>, format = Date)]
    pub notice_until: Option<Date>,
    pub reason: Option<String>,
}

impl From<StarApplication> for StarApplicationView {
    fn from(a: StarApplication) -> Self {
        Self {
            id: a.id.0,
            volunteer_number: a.volunteer_number.to_string(),
            volunteer_name: a.volunteer_name,
            star: a.application.star,
            label: a.application.label,
            certifier: a.application.certifier.to_string(),
            hours: hours(a.application.minutes),
            status: a.status,
            applied_at: a.application.applied_at,
            notice_from: a.notice_from,
            notice_until: a.notice_until,
            reason: a.reason,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StarStandingView {
    /// The certified star (0 for none) and its label.
    pub star: u8,
    pub label: Option<String>,
    /// The highest star the hours and tenure allow.
    pub eligible: u8,
    /// The hours that count toward stars: recorded here, plus those recognised from
    /// partner platforms whose policy counts them.
    pub hours: f64,
    /// Hours recognised from partner platforms, and the share counted toward stars.
    pub recognised_hours: f64,
    pub recognised_hours_toward_stars: f64,
    /// The next tier and the hours it needs.
    pub next_star: Option<u8>,
    pub next_label: Option<String>,
    pub next_hours: Option<i64>,
    #[schema(value_type = Option<String>, format = Date)]
    pub barred_until: Option<Date>,
    pub open_application: Option<StarApplicationView>,
    /// The region whose rules apply.
    pub rules_from: String,
}

impl From<StarStanding> for StarStandingView {
    fn from(s: StarStanding) -> Self {
        Self {
            star: s.certified.as_ref().map_or(0, |c| c.star),
            label: s.certified.as_ref().and_then(|c| c.label.clone()),
            eligible: s.eligible,
            hours: hours(s.minutes),
            recognised_hours: hours(s.recognised.minutes),
            recognised_hours_toward_stars: hours(s.recognised.toward_stars),
            next_star: s.next.as_ref().map(|n| n.0),
            next_label: s.next.as_ref().map(|n| n.1.clone()),
            next_hours: s.next.as_ref().map(|n| n.2),
            barred_until: s.certified.and_then(|c| c.barred_until),
            open_application: s.open.map(StarApplicationView::from),
            rules_from: s.rules_from.to_string(),
        }
    }
}

/// A volunteer's star: certified, eligible, next tier, open application.
#[utoipa::path(get, path = "/api/v1/volunteers/{number}/star", tag = "stars",
    security(("bearer" = [])), params(("number" = String, Path)),
    responses((status = 200, body = StarStandingView), (status = 403, body = ErrorBody)))]
pub async fn star_standing(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> ApiResult<Json<StarStandingView>> {
    let number = parse_number(&number)?;
    Ok(Json(
        state.app.star_standing(&caller.ctx, number).await?.into(),
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyForStar {
    /// Defaults to the highest star the volunteer is eligible for.
    pub star: Option<u8>,
}

/// The signed-in volunteer applies for a star.
#[utoipa::path(post, path = "/api/v1/me/star-applications", tag = "stars",
    security(("bearer" = [])), request_body = ApplyForStar,
    responses((status = 201, body = StarApplicationView), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn apply_for_star(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<ApplyForStar>,
) -> ApiResult<(StatusCode, Json<StarApplicationView>)> {
    let a = state.app.apply_for_star(&caller.ctx, b.star).await?;
    Ok((StatusCode::CREATED, Json(a.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListStarApplications {
    pub within: Option<String>,
    pub status: Option<StarStatus>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Applications a jurisdiction certifies (its admins and auditors).
#[utoipa::path(get, path = "/api/v1/star-applications", tag = "stars",
    security(("bearer" = [])), params(ListStarApplications),
    responses((status = 200, body = PageView<StarApplicationView>), (status = 403, body = ErrorBody)))]
pub async fn list_star_applications(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListStarApplications>,
) -> ApiResult<Json<PageView<StarApplicationView>>> {
    let within = q
        .within
        .as_deref()
        .map(|w| parse_region("within", w))
        .transpose()?;
    let page = page(q.cursor.as_deref(), q.limit, 1)?;
    let result = state
        .app
        .star_applications(&caller.ctx, within, q.status, &page)
        .await?;
    Ok(Json(PageView::from_page(result, StarApplicationView::from)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListNotices {
    pub within: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Applications in public notice (公示): public.
#[utoipa::path(get, path = "/api/v1/star-notices", tag = "stars", params(ListNotices),
    responses((status = 200, body = PageView<StarApplicationView>)))]
pub async fn star_notices(
    State(state): State<AppState>,
    Query(q): Query<ListNotices>,
) -> ApiResult<Json<PageView<StarApplicationView>>> {
    let within = q
        .within
        .as_deref()
        .map(|w| parse_region("within", w))
        .transpose()?;
    let page = page(q.cursor.as_deref(), q.limit, 1)?;
    let result = state.app.star_notices(within, &page).await?;
    Ok(Json(PageView::from_page(result, StarApplicationView::from)))
}

/// The certifier publishes an application for public notice.
#[utoipa::path(post, path = "/api/v1/star-applications/{id}/notice", tag = "stars",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = StarApplicationView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn start_notice(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<StarApplicationView>> {
    Ok(Json(
        state
            .app
            .start_star_notice(&caller.ctx, StarApplicationId(id))
            .await?
            .into(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Objection {
    pub text: String,
    /// How to reach the objector, shown to the certifier only.
    pub contact: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectionView {
    pub id: i64,
    pub text: String,
    pub contact: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<StarObjection> for ObjectionView {
    fn from(o: StarObjection) -> Self {
        Self {
            id: o.id,
            text: o.text,
            contact: o.contact,
            created_at: o.created_at,
        }
    }
}

/// Anyone objects to an application during its public notice.
#[utoipa::path(post, path = "/api/v1/star-applications/{id}/objections", tag = "stars",
    params(("id" = i64, Path)), request_body = Objection,
    responses((status = 201, description = "recorded"), (status = 409, body = ErrorBody)))]
pub async fn object(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Objection>,
) -> ApiResult<StatusCode> {
    let text = parse_text(&b.text, 1000)
        .map_err(|e| e.under("text"))
        .map_err(ServiceError::from)?;
    state
        .app
        .object_to_star(
            &caller.ctx,
            StarApplicationId(id),
            &text,
            b.contact.as_deref(),
        )
        .await?;
    Ok(StatusCode::CREATED)
}

/// The objections to an application, for its certifier.
#[utoipa::path(get, path = "/api/v1/star-applications/{id}/objections", tag = "stars",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ObjectionView>), (status = 403, body = ErrorBody)))]
pub async fn list_objections(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<ObjectionView>>> {
    let items = state
        .app
        .star_objections(&caller.ctx, StarApplicationId(id))
        .await?;
    Ok(Json(items.into_iter().map(ObjectionView::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StarDecision {
    pub certify: bool,
    /// Required to reject.
    pub reason: Option<String>,
}

/// The certifier certifies (after the notice) or rejects.
#[utoipa::path(post, path = "/api/v1/star-applications/{id}/decision", tag = "stars",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = StarDecision,
    responses((status = 200, body = StarApplicationView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<StarDecision>,
) -> ApiResult<Json<StarApplicationView>> {
    Ok(Json(
        state
            .app
            .decide_star(&caller.ctx, StarApplicationId(id), b.certify, b.reason)
            .await?
            .into(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    pub reason: String,
}

/// The certifier revokes a certified star; the volunteer is barred from re-applying.
#[utoipa::path(post, path = "/api/v1/star-applications/{id}/revoke", tag = "stars",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = Revocation,
    responses((status = 200, body = StarApplicationView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<Revocation>,
) -> ApiResult<Json<StarApplicationView>> {
    Ok(Json(
        state
            .app
            .revoke_star(&caller.ctx, StarApplicationId(id), b.reason)
            .await?
            .into(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StarRulesView {
    /// The region the rules were set on (the province for the default rules).
    pub from: String,
    pub rules: StarRules,
}

/// The star rules that apply in a region. Public.
#[utoipa::path(get, path = "/api/v1/regions/{code}/star-rules", tag = "stars",
    params(("code" = String, Path)),
    responses((status = 200, body = StarRulesView)))]
pub async fn get_rules(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> ApiResult<Json<StarRulesView>> {
    let code = parse_region("code", &code)?;
    let (from, rules) = state.app.star_rules_at(code).await?;
    Ok(Json(StarRulesView {
        from: from.to_string(),
        rules,
    }))
}

/// A jurisdiction sets its star rules (thresholds, tenure, certifying levels, notice).
#[utoipa::path(put, path = "/api/v1/regions/{code}/star-rules", tag = "stars",
    security(("bearer" = [])), params(("code" = String, Path)), request_body = StarRules,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_rules(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Json(rules): Json<StarRules>,
) -> ApiResult<StatusCode> {
    let code = parse_region("code", &code)?;
    state.app.set_star_rules(&caller.ctx, code, rules).await?;
    Ok(StatusCode::NO_CONTENT)
}
