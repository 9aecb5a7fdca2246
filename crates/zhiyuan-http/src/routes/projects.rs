//! Projects and shifts.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use zhiyuan_domain::category::ServiceCategory;
use zhiyuan_domain::ids::{OrgId, SiteId};
use zhiyuan_domain::project::{Conditions, Insurance, ProjectStatus, SignupMode};
use zhiyuan_domain::registration::{parse_date, parse_timestamp};
use zhiyuan_domain::site::{GeoPoint, parse_text};
use zhiyuan_domain::{FieldError, Invalid, Reason};
use zhiyuan_service::{ProjectPatch, ServiceError, ShiftPatch};
use zhiyuan_store::{NewProject, NewShift, ProjectId, ProjectQuery, ShiftId};

use crate::AppState;
use crate::activity_views::{ProjectView, ShiftView};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Caller, Json, Query, double_option, page};
use crate::routes::regions::parse_region;
use crate::views::PageView;

fn under<T>(field: &'static str, r: Result<T, FieldError>) -> Result<T, FieldError> {
    r.map_err(|e| e.under(field))
}

fn geofence(m: i64) -> Result<i64, FieldError> {
    if (10..=50_000).contains(&m) {
        Ok(m)
    } else {
        Err(FieldError::because(
            "geofence_m",
            Reason::OutOfRange {
                min: 10,
                max: 50_000,
            },
        ))
    }
}

fn point(p: GeoPoint) -> Result<GeoPoint, FieldError> {
    GeoPoint::parse(p.lat, p.lng).map_err(|e| e.under("location"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    /// The team running it (the recording unit of its records).
    pub organisation: i64,
    pub name: String,
    pub category: ServiceCategory,
    #[serde(default)]
    pub description: String,
    /// Where it takes place.
    pub region: String,
    pub site: Option<i64>,
    pub address: String,
    pub location: Option<GeoPoint>,
    /// Check-in radius around `location`, in metres.
    pub geofence_m: Option<i64>,
    /// `YYYY-MM-DD`.
    pub starts_on: String,
    pub ends_on: String,
    #[serde(default)]
    pub conditions: Conditions,
    #[serde(default)]
    pub risky: bool,
    #[serde(default)]
    pub risk_disclosure: String,
    pub insurance: Option<Insurance>,
    pub signup_mode: SignupMode,
    #[serde(default)]
    pub review_required: bool,
    /// The person responsible (recorded on every service record).
    pub responsible_person: String,
}

/// A team drafts a project (team admins and coordinators, its site, its jurisdiction).
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", security(("bearer" = [])),
    request_body = CreateProject,
    responses((status = 201, body = ProjectView), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create_project(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<CreateProject>,
) -> ApiResult<(StatusCode, Json<ProjectView>)> {
    let mut e = Invalid::default();
    let region = e.check(under(
        "region",
        zhiyuan_domain::region::RegionCode::parse(&b.region),
    ));
    let name = e.check(under("name", parse_text(&b.name, 100)));
    let address = e.check(under("address", parse_text(&b.address, 200)));
    let description = if b.description.trim().is_empty() {
        Some(String::new())
    } else {
        e.check(under("description", parse_text(&b.description, 4000)))
    };
    let responsible = e.check(under(
        "responsible_person",
        parse_text(&b.responsible_person, 50),
    ));
    let starts_on = e.check(under("starts_on", parse_date(&b.starts_on)));
    let ends_on = e.check(under("ends_on", parse_date(&b.ends_on)));
    let location = b.location.map(|p| e.check(point(p))).unwrap_or_default();
    let geofence_m = b
        .geofence_m
        .map(|m| e.check(geofence(m)))
        .unwrap_or_default();
    // A field missing here was refused above, so `e` names it.
    let (Some(region), Some(starts_on), Some(ends_on), true) =
        (region, starts_on, ends_on, e.is_empty())
    else {
        return Err(ServiceError::from(e).into());
    };
    let project = NewProject {
        org: OrgId(b.organisation),
        name: name.unwrap_or_default(),
        category: b.category,
        description: description.unwrap_or_default(),
        region,
        site: b.site.map(SiteId),
        address: address.unwrap_or_default(),
        location,
        geofence_m,
        starts_on,
        ends_on,
        conditions: b.conditions,
        risky: b.risky,
        risk_disclosure: b.risk_disclosure,
        insurance: b.insurance,
        signup_mode: b.signup_mode,
        review_required: b.review_required,
        responsible_person: responsible.unwrap_or_default(),
        status: ProjectStatus::Draft,
    };
    let r = state.app.create_project(&caller.ctx, project).await?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListProjects {
    pub within: Option<String>,
    /// A team's projects; its own drafts too when the caller runs the team.
    pub organisation: Option<i64>,
    pub status: Option<ProjectStatus>,
    pub category: Option<ServiceCategory>,
    /// Projects running on some day from `from` to `until` (`YYYY-MM-DD`).
    pub from: Option<String>,
    pub until: Option<String>,
    /// Words in the name, description or address (Chinese works).
    pub q: Option<String>,
    /// `lat,lng`: the projects near this point, nearest first (no further pages).
    pub near: Option<String>,
    /// Radius around `near`, in km (default 10, at most 200).
    pub radius_km: Option<f64>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

fn parse_near(near: &str, radius: Option<f64>) -> ApiResult<(GeoPoint, f64)> {
    let bad = || FieldError::because("near", Reason::NotAPoint);
    let (lat, lng) = near.split_once(',').ok_or_else(bad)?;
    let lat: f64 = lat.trim().parse().map_err(|_| bad())?;
    let lng: f64 = lng.trim().parse().map_err(|_| bad())?;
    let point = GeoPoint::parse(lat, lng).map_err(|e| e.at("near"))?;
    let km = radius.unwrap_or(10.0);
    if !(km > 0.0 && km <= 200.0) {
        let why = Reason::AboveZeroAtMost { max: 200 };
        return Err(FieldError::because("radius_km", why).into());
    }
    Ok((point, km))
}

/// Published projects (and a team's own drafts for the team).
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", params(ListProjects),
    responses((status = 200, body = PageView<ProjectView>), (status = 422, body = ErrorBody)))]
pub async fn list_projects(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListProjects>,
) -> ApiResult<Json<PageView<ProjectView>>> {
    let date = |field: &'static str, s: &Option<String>| {
        s.as_deref()
            .map(|d| parse_date(d).map_err(|e| e.under(field)))
            .transpose()
            .map_err(ServiceError::from)
    };
    let query = ProjectQuery {
        within: q
            .within
            .as_deref()
            .map(|s| parse_region("within", s))
            .transpose()?,
        org: q.organisation.map(OrgId),
        status: q.status,
        category: q.category,
        from: date("from", &q.from)?,
        until: date("until", &q.until)?,
        text: q.q.clone(),
        bbox: None,
    };
    let near = q
        .near
        .as_deref()
        .map(|n| parse_near(n, q.radius_km))
        .transpose()?;
    let page = page(q.cursor.as_deref(), q.limit, 2)?;
    let result = state
        .app
        .list_projects(&caller.ctx, query, near, &page)
        .await?;
    Ok(Json(PageView::from_page(result, |p| {
        let distance = near.and_then(|(c, _)| p.project.location.map(|l| l.distance_m(c).round()));
        let mut view = ProjectView::from(p);
        view.distance_m = distance;
        view
    })))
}

/// One project (drafts only for the team, its site and jurisdiction).
#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "projects",
    params(("id" = i64, Path)),
    responses((status = 200, body = ProjectView), (status = 404, body = ErrorBody)))]
pub async fn get_project(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<ProjectView>> {
    Ok(Json(
        state
            .app
            .get_project(&caller.ctx, ProjectId(id))
            .await?
            .into(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProject {
    pub name: Option<String>,
    pub description: Option<String>,
    pub address: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<GeoPoint>)]
    pub location: Option<Option<GeoPoint>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub geofence_m: Option<Option<i64>>,
    pub conditions: Option<Conditions>,
    pub risky: Option<bool>,
    pub risk_disclosure: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Insurance>)]
    pub insurance: Option<Option<Insurance>>,
    pub signup_mode: Option<SignupMode>,
    pub review_required: Option<bool>,
    pub responsible_person: Option<String>,
    pub version: Option<i64>,
}

/// Changes a project (not once closed or cancelled).
#[utoipa::path(patch, path = "/api/v1/projects/{id}", tag = "projects",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = UpdateProject,
    responses((status = 200, body = ProjectView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_project(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<UpdateProject>,
) -> ApiResult<Json<ProjectView>> {
    let mut e = Invalid::default();
    let text = |e: &mut Invalid, field: &'static str, v: Option<String>, max| {
        v.map(|s| e.check(under(field, parse_text(&s, max))))
            .unwrap_or_default()
    };
    let patch = ProjectPatch {
        name: text(&mut e, "name", b.name, 100),
        description: text(&mut e, "description", b.description, 4000),
        address: text(&mut e, "address", b.address, 200),
        location: match b.location {
            Some(Some(p)) => e.check(point(p)).map(Some),
            other => other,
        },
        geofence_m: match b.geofence_m {
            Some(Some(m)) => e.check(geofence(m)).map(Some),
            other => other,
        },
        conditions: b.conditions,
        risky: b.risky,
        risk_disclosure: b.risk_disclosure,
        insurance: b.insurance,
        signup_mode: b.signup_mode,
        review_required: b.review_required,
        responsible_person: text(&mut e, "responsible_person", b.responsible_person, 50),
        version: b.version,
    };
    if !e.is_empty() {
        return Err(ServiceError::from(e).into());
    }
    Ok(Json(
        state
            .app
            .update_project(&caller.ctx, ProjectId(id), patch)
            .await?
            .into(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeStatus {
    /// `pending_review` (submit), `published`, `draft` (review sends back), `closed`,
    /// `cancelled`.
    pub status: ProjectStatus,
    pub reason: Option<String>,
}

/// Submits for review, publishes, sends back, closes or cancels a project.
#[utoipa::path(post, path = "/api/v1/projects/{id}/status", tag = "projects",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = ChangeStatus,
    responses((status = 200, body = ProjectView), (status = 403, body = ErrorBody),
        (status = 409, description = "not allowed from the current status", body = ErrorBody),
        (status = 422, description = "a risky project without insurance", body = ErrorBody)))]
pub async fn change_project_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<ChangeStatus>,
) -> ApiResult<Json<ProjectView>> {
    Ok(Json(
        state
            .app
            .change_project_status(&caller.ctx, ProjectId(id), b.status, b.reason)
            .await?
            .into(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateShift {
    /// The position, e.g. 引导员.
    pub position: String,
    /// RFC 3339.
    pub starts_at: String,
    pub ends_at: String,
    pub capacity: i64,
}

/// Adds a shift (position × time window, with a capacity) to a project.
#[utoipa::path(post, path = "/api/v1/projects/{id}/shifts", tag = "projects",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = CreateShift,
    responses((status = 201, body = ShiftView), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create_shift(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<CreateShift>,
) -> ApiResult<(StatusCode, Json<ShiftView>)> {
    let mut e = Invalid::default();
    let position = e.check(under("position", parse_text(&b.position, 50)));
    let starts_at = e.check(under("starts_at", parse_timestamp(&b.starts_at)));
    let ends_at = e.check(under("ends_at", parse_timestamp(&b.ends_at)));
    let (Some(position), Some(starts_at), Some(ends_at)) = (position, starts_at, ends_at) else {
        return Err(ServiceError::from(e).into());
    };
    let shift = state
        .app
        .create_shift(
            &caller.ctx,
            NewShift {
                project: ProjectId(id),
                position,
                starts_at,
                ends_at,
                capacity: b.capacity,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(shift.into())))
}

/// A project's shifts with places taken.
#[utoipa::path(get, path = "/api/v1/projects/{id}/shifts", tag = "projects",
    params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ShiftView>), (status = 404, body = ErrorBody)))]
pub async fn list_shifts(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<ShiftView>>> {
    let shifts = state.app.list_shifts(&caller.ctx, ProjectId(id)).await?;
    Ok(Json(shifts.into_iter().map(ShiftView::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateShift {
    pub capacity: Option<i64>,
    pub cancelled: Option<bool>,
    pub version: Option<i64>,
}

/// Changes a shift's capacity (never below the places taken) or cancels it.
#[utoipa::path(patch, path = "/api/v1/shifts/{id}", tag = "projects",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = UpdateShift,
    responses((status = 200, body = ShiftView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn update_shift(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<UpdateShift>,
) -> ApiResult<Json<ShiftView>> {
    let s = state
        .app
        .update_shift(
            &caller.ctx,
            ShiftId(id),
            ShiftPatch {
                capacity: b.capacity,
                cancelled: b.cancelled,
                version: b.version,
            },
        )
        .await?;
    Ok(Json(s.into()))
}
