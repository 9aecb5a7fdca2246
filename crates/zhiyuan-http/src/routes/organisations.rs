//! Organisations and teams, and memberships in them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use zhiyuan_domain::category::parse_categories;
use zhiyuan_domain::ids::{MembershipId, OrgId, SiteId};
use zhiyuan_domain::org::{MembershipRole, MembershipStatus, OrgKind, parse_credit_code};
use zhiyuan_domain::person::{parse_person_name, parse_phone};
use zhiyuan_domain::site::parse_text;
use zhiyuan_domain::{FieldError, Invalid, Reason};
use zhiyuan_service::{MembershipDecision, OrgPatch, ServiceError};
use zhiyuan_store::{NewOrg, OrgQuery};

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Caller, Json, Query, double_option, page};
use crate::routes::regions::parse_region;
use crate::views::{MembershipView, OrgView, PageView};

fn under<T>(field: &'static str, r: Result<T, FieldError>) -> Result<T, FieldError> {
    r.map_err(|e| e.under(field))
}

/// `credit_code` errors already name their field.
fn credit(code: &str) -> Result<String, FieldError> {
    parse_credit_code(code)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    pub kind: OrgKind,
    pub name: String,
    /// Unified social credit code, required for registered organisations.
    pub credit_code: Option<String>,
    /// The parent organisation of a branch or child team.
    pub parent: Option<i64>,
    pub region: String,
    /// The site the team is based at.
    pub site: Option<i64>,
    #[serde(default)]
    pub description: String,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    #[serde(default)]
    pub service_categories: Vec<String>,
    /// A volunteer number to make the first admin of the team.
    pub admin: Option<String>,
}

/// Registers an organisation or team (jurisdiction admins, site staff for their site, team
/// admins for child teams).
#[utoipa::path(post, path = "/api/v1/organisations", tag = "organisations",
    security(("bearer" = [])), request_body = CreateOrg,
    responses((status = 201, body = OrgView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_org(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<CreateOrg>,
) -> ApiResult<(StatusCode, Json<OrgView>)> {
    let mut e = Invalid::default();
    let region = e.check(under(
        "region",
        zhiyuan_domain::region::RegionCode::parse(&b.region),
    ));
    let name = e.check(under("name", parse_text(&b.name, 100)));
    let credit_code = b
        .credit_code
        .as_deref()
        .map(|c| e.check(credit(c)))
        .unwrap_or_default();
    let description = if b.description.trim().is_empty() {
        Some(String::new())
    } else {
        e.check(under("description", parse_text(&b.description, 2000)))
    };
    let contact_name = b
        .contact_name
        .map(|n| e.check(under("contact_name", parse_person_name(&n))))
        .unwrap_or_default();
    let contact_phone = b
        .contact_phone
        .map(|p| e.check(under("contact_phone", parse_phone(&p))))
        .unwrap_or_default();
    let categories = e.check(under(
        "service_categories",
        parse_categories(&b.service_categories),
    ));
    let admin = b
        .admin
        .as_deref()
        .map(|n| {
            e.check(under(
                "admin",
                zhiyuan_domain::volunteer_number::VolunteerNumber::parse(n),
            ))
        })
        .unwrap_or_default();
    if !e.is_empty() {
        return Err(ServiceError::from(e).into());
    }
    let org = NewOrg {
        kind: b.kind,
        name: name.unwrap_or_default(),
        credit_code,
        parent: b.parent.map(OrgId),
        region: region.ok_or_else(|| ServiceError::because("region", Reason::Required))?,
        site: b.site.map(SiteId),
        description: description.unwrap_or_default(),
        contact_name,
        contact_phone,
        service_categories: categories.unwrap_or_default(),
    };
    let record = state.app.create_org(&caller.ctx, org, admin).await?;
    Ok((StatusCode::CREATED, Json(OrgView::new(record, true))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListOrgs {
    pub within: Option<String>,
    pub parent: Option<i64>,
    pub site: Option<i64>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Organisations in a region subtree. Public (contact details are not listed).
#[utoipa::path(get, path = "/api/v1/organisations", tag = "organisations", params(ListOrgs),
    responses((status = 200, body = PageView<OrgView>), (status = 422, body = ErrorBody)))]
pub async fn list_orgs(
    State(state): State<AppState>,
    Query(q): Query<ListOrgs>,
) -> ApiResult<Json<PageView<OrgView>>> {
    let query = OrgQuery {
        within: q
            .within
            .as_deref()
            .map(|s| parse_region("within", s))
            .transpose()?,
        parent: q.parent.map(OrgId),
        site: q.site.map(SiteId),
    };
    let page = page(q.cursor.as_deref(), q.limit, 2)?;
    let result = state.app.list_orgs(&query, &page).await?;
    Ok(Json(PageView::from_page(result, |r| {
        OrgView::new(r, false)
    })))
}

/// One organisation; contact details for those who manage or oversee it.
#[utoipa::path(get, path = "/api/v1/organisations/{id}", tag = "organisations",
    params(("id" = i64, Path)),
    responses((status = 200, body = OrgView), (status = 404, body = ErrorBody)))]
pub async fn get_org(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<OrgView>> {
    let view = state.app.get_org(&caller.ctx, OrgId(id)).await?;
    Ok(Json(OrgView::new(view.record, view.show_contact)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrg {
    pub name: Option<String>,
    pub credit_code: Option<String>,
    /// `null` detaches the team from its site.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub site: Option<Option<i64>>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub contact_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub contact_phone: Option<Option<String>>,
    pub service_categories: Option<Vec<String>>,
    pub version: Option<i64>,
}

/// Changes an organisation (its admins, site or jurisdiction).
#[utoipa::path(patch, path = "/api/v1/organisations/{id}", tag = "organisations",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = UpdateOrg,
    responses((status = 200, body = OrgView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_org(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<UpdateOrg>,
) -> ApiResult<Json<OrgView>> {
    let mut e = Invalid::default();
    let optional = |e: &mut Invalid,
                    v: Option<Option<String>>,
                    f: &dyn Fn(&str) -> Result<String, FieldError>| match v {
        Some(Some(s)) => e.check(f(&s)).map(Some),
        Some(None) => Some(None),
        None => None,
    };
    let patch = OrgPatch {
        name: b
            .name
            .map(|n| e.check(under("name", parse_text(&n, 100))))
            .unwrap_or_default(),
        credit_code: b
            .credit_code
            .map(|c| e.check(credit(&c)))
            .unwrap_or_default(),
        site: b.site.map(|s| s.map(SiteId)),
        description: b
            .description
            .map(|d| e.check(under("description", parse_text(&d, 2000))))
            .unwrap_or_default(),
        contact_name: optional(&mut e, b.contact_name, &|s| {
            under("contact_name", parse_person_name(s))
        }),
        contact_phone: optional(&mut e, b.contact_phone, &|s| {
            under("contact_phone", parse_phone(s))
        }),
        service_categories: b
            .service_categories
            .map(|c| e.check(under("service_categories", parse_categories(&c))))
            .unwrap_or_default(),
        version: b.version,
    };
    if !e.is_empty() {
        return Err(ServiceError::from(e).into());
    }
    let record = state.app.update_org(&caller.ctx, OrgId(id), patch).await?;
    Ok(Json(OrgView::new(record, true)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListMemberships {
    pub status: Option<MembershipStatus>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// A team's members and applicants (its admins and coordinators, site, jurisdiction).
#[utoipa::path(get, path = "/api/v1/organisations/{id}/memberships", tag = "memberships",
    security(("bearer" = [])), params(("id" = i64, Path), ListMemberships),
    responses((status = 200, body = PageView<MembershipView>), (status = 403, body = ErrorBody)))]
pub async fn list_org_memberships(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<ListMemberships>,
) -> ApiResult<Json<PageView<MembershipView>>> {
    let page = page(q.cursor.as_deref(), q.limit, 1)?;
    let result = state
        .app
        .list_org_memberships(&caller.ctx, OrgId(id), q.status, &page)
        .await?;
    Ok(Json(PageView::from_page(result, MembershipView::from)))
}

/// The signed-in volunteer applies to join the team.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/memberships", tag = "memberships",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 201, body = MembershipView), (status = 403, body = ErrorBody),
        (status = 409, description = "already a member or applicant", body = ErrorBody)))]
pub async fn apply_for_membership(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<(StatusCode, Json<MembershipView>)> {
    let m = state
        .app
        .apply_for_membership(&caller.ctx, OrgId(id))
        .await?;
    Ok((StatusCode::CREATED, Json(m.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideMembership {
    /// `active` approves, `rejected` refuses, `left` removes or leaves.
    pub status: Option<MembershipStatus>,
    pub role: Option<MembershipRole>,
    pub reason: Option<String>,
}

/// The team approves, rejects, changes a role or removes; the volunteer withdraws or leaves.
#[utoipa::path(patch, path = "/api/v1/memberships/{id}", tag = "memberships",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = DecideMembership,
    responses((status = 200, body = MembershipView), (status = 403, body = ErrorBody),
        (status = 409, description = "not allowed from the current status", body = ErrorBody)))]
pub async fn decide_membership(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(b): Json<DecideMembership>,
) -> ApiResult<Json<MembershipView>> {
    let m = state
        .app
        .decide_membership(
            &caller.ctx,
            MembershipId(id),
            MembershipDecision {
                status: b.status,
                role: b.role,
                reason: b.reason,
            },
        )
        .await?;
    Ok(Json(m.into()))
}
