//! Regions: a public tree; administrators add and rename below their jurisdiction.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use zhiyuan_domain::region::{Region, RegionCode, RegionLevel, parse_region_name};
use zhiyuan_store::RegionQuery;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Caller, Json, Query, page};
use crate::views::{PageView, RegionView};

pub(crate) fn parse_region(field: &str, s: &str) -> ApiResult<RegionCode> {
    RegionCode::parse(s).map_err(|e| ApiError::from(e.at(field)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListRegions {
    /// Only this region's subtree.
    pub within: Option<String>,
    /// Only direct children of this region.
    pub parent: Option<String>,
    pub level: Option<RegionLevel>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Regions, ordered by code. Public.
#[utoipa::path(get, path = "/api/v1/regions", tag = "regions", params(ListRegions),
    responses((status = 200, body = PageView<RegionView>), (status = 422, body = ErrorBody)))]
pub async fn list_regions(
    State(state): State<AppState>,
    Query(q): Query<ListRegions>,
) -> ApiResult<Json<PageView<RegionView>>> {
    let query = RegionQuery {
        within: q
            .within
            .as_deref()
            .map(|s| parse_region("within", s))
            .transpose()?,
        parent: q
            .parent
            .as_deref()
            .map(|s| parse_region("parent", s))
            .transpose()?,
        level: q.level,
    };
    let page = page(q.cursor.as_deref(), q.limit, 1)?;
    let result = state.app.list_regions(&query, &page).await?;
    Ok(Json(PageView::from_page(result, RegionView::from)))
}

/// One region. Public.
#[utoipa::path(get, path = "/api/v1/regions/{code}", tag = "regions",
    params(("code" = String, Path)),
    responses((status = 200, body = RegionView), (status = 404, body = ErrorBody)))]
pub async fn get_region(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> ApiResult<Json<RegionView>> {
    let code = parse_region("code", &code)?;
    Ok(Json(state.app.get_region(code).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRegion {
    /// 6, 9 or 12 digits; its parent is implied by the code and must exist.
    pub code: String,
    pub name: String,
}

/// Adds a region beneath one in the caller's jurisdiction.
#[utoipa::path(post, path = "/api/v1/regions", tag = "regions", security(("bearer" = [])),
    request_body = CreateRegion,
    responses((status = 201, body = RegionView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_region(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<CreateRegion>,
) -> ApiResult<(StatusCode, Json<RegionView>)> {
    let code = parse_region("code", &b.code)?;
    let name = parse_region_name(&b.name).map_err(|e| ApiError::from(e.at("name")))?;
    let region = state
        .app
        .create_region(&caller.ctx, Region { code, name })
        .await?;
    Ok((StatusCode::CREATED, Json(region.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameRegion {
    pub name: String,
}

/// Renames a region (from a jurisdiction above it).
#[utoipa::path(patch, path = "/api/v1/regions/{code}", tag = "regions",
    security(("bearer" = [])), params(("code" = String, Path)), request_body = RenameRegion,
    responses((status = 200, body = RegionView), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update_region(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Json(b): Json<RenameRegion>,
) -> ApiResult<Json<RegionView>> {
    let code = parse_region("code", &code)?;
    let name = parse_region_name(&b.name).map_err(|e| ApiError::from(e.at("name")))?;
    Ok(Json(
        state
            .app
            .rename_region(&caller.ctx, code, name)
            .await?
            .into(),
    ))
}
