//! Service sites: a public directory; the jurisdiction and the site's staff maintain it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use zhiyuan_domain::ids::SiteId;
use zhiyuan_domain::person::parse_phone;
use zhiyuan_domain::site::{GeoPoint, SiteKind, parse_text};
use zhiyuan_domain::{FieldError, Invalid};
use zhiyuan_service::{ServiceError, SitePatch};
use zhiyuan_store::{NewSite, SiteQuery};

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Caller, Json, Query, double_option, page};
use crate::routes::regions::parse_region;
use crate::views::{PageView, SiteView};

fn location(p: GeoPoint) -> Result<GeoPoint, FieldError> {
    GeoPoint::parse(p.lat, p.lng).map_err(|e| e.under("location"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSite {
    pub region: String,
    pub kind: SiteKind,
    pub name: String,
    pub address: String,
    pub location: Option<GeoPoint>,
    pub phone: Option<String>,
}

/// Adds a site in the caller's jurisdiction; its kind must fit the region's level.
#[utoipa::path(post, path = "/api/v1/sites", tag = "sites", security(("bearer" = [])),
    request_body = CreateSite,
    responses((status = 201, body = SiteView), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create_site(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<CreateSite>,
) -> ApiResult<(StatusCode, Json<SiteView>)> {
    let region = parse_region("region", &b.region)?;
    let mut errors = Invalid::default();
    let name = errors.check(parse_text(&b.name, 100).map_err(|e| e.under("name")));
    let address = errors.check(parse_text(&b.address, 200).map_err(|e| e.under("address")));
    let loc = b
        .location
        .map(|p| errors.check(location(p)))
        .unwrap_or_default();
    let phone = b
        .phone
        .map(|p| errors.check(parse_phone(&p).map_err(|e| e.under("phone"))))
        .unwrap_or_default();
    if !errors.is_empty() {
        return Err(ServiceError::from(errors).into());
    }
    let site = NewSite {
        region,
        kind: b.kind,
        name: name.unwrap_or_default(),
        address: address.unwrap_or_default(),
        location: loc,
        phone,
    };
    let record = state.app.create_site(&caller.ctx, site).await?;
    Ok((StatusCode::CREATED, Json(record.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListSites {
    pub within: Option<String>,
    pub kind: Option<SiteKind>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Sites in a region subtree, ordered by region. Public.
#[utoipa::path(get, path = "/api/v1/sites", tag = "sites", params(ListSites),
    responses((status = 200, body = PageView<SiteView>), (status = 422, body = ErrorBody)))]
pub async fn list_sites(
    State(state): State<AppState>,
    Query(q): Query<ListSites>,
) -> ApiResult<Json<PageView<SiteView>>> {
    let query = SiteQuery {
        within: q
            .within
            .as_deref()
            .map(|s| parse_region("within", s))
            .transpose()?,
        kind: q.kind,
    };
    let page = page(q.cursor.as_deref(), q.limit, 2)?;
    let result = state.app.list_sites(&query, &page).await?;
    Ok(Json(PageView::from_page(result, SiteView::from)))
}

/// One site. Public.
#[utoipa::path(get, path = "/api/v1/sites/{id}", tag = "sites", params(("id" = i64, Path)),
    responses((status = 200, body = SiteView), (status = 404, body = ErrorBody)))]
pub async fn get_site(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<SiteView>> {
    Ok(Json(state.app.get_site(SiteId(id)).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSite {
    pub kind: Option<SiteKind>,
    pub name: Option<String>,
    pub address: Option<String>,
    /// `null` removes the location.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<GeoPoint>)]
    pub location: Option<Option<GeoPoint>>,
    /// `null` removes the phone.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    pub version: Option<i64>,
}

/// Changes a site (its region never changes).
#[utoipa::path(patch, path = "/api/v1/sites/{id}", tag = "sites", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = UpdateSite,
    responses((status = 200, body = SiteView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_site(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<UpdateSite>,
) -> ApiResult<Json<SiteView>> {
    let mut errors = Invalid::default();
    let patch = SitePatch {
        kind: b.kind,
        name: b
            .name
            .map(|n| errors.check(parse_text(&n, 100).map_err(|e| e.under("name"))))
            .unwrap_or_default(),
        address: b
            .address
            .map(|a| errors.check(parse_text(&a, 200).map_err(|e| e.under("address"))))
            .unwrap_or_default(),
        location: match b.location {
            Some(Some(p)) => errors.check(location(p)).map(Some),
            Some(None) => Some(None),
            None => None,
        },
        phone: match b.phone {
            Some(Some(p)) => errors
                .check(parse_phone(&p).map_err(|e| e.under("phone")))
                .map(Some),
            Some(None) => Some(None),
            None => None,
        },
        version: b.version,
    };
    if !errors.is_empty() {
        return Err(ServiceError::from(errors).into());
    }
    Ok(Json(
        state
            .app
            .update_site(&caller.ctx, SiteId(id), patch)
            .await?
            .into(),
    ))
}
