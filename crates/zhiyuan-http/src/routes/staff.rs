//! Staff accounts and the audit trail: the administration of a jurisdiction.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use zhiyuan_domain::access::GrantedRole;
use zhiyuan_domain::ids::SiteId;
use zhiyuan_service::{NewStaff, Role};
use zhiyuan_store::{AccountRecord, GrantRow};

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Caller, Json, Query, page};
use crate::routes::auth::AccountView;
use crate::routes::regions::parse_region;
use crate::views::{AuditView, PageView};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStaff {
    /// Lowercase letters, digits, `.`, `-`, `_`; starts with a letter.
    pub login: String,
    pub display_name: String,
    pub password: String,
    pub role: GrantedRole,
    /// The jurisdiction of an admin or auditor.
    pub region: Option<String>,
    /// The site of site staff.
    pub site: Option<i64>,
}

/// Creates a staff account with one role inside the caller's jurisdiction.
#[utoipa::path(post, path = "/api/v1/staff", tag = "staff", security(("bearer" = [])),
    request_body = CreateStaff,
    responses((status = 201, body = AccountView), (status = 403, body = ErrorBody),
        (status = 409, description = "login taken", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create_staff(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<CreateStaff>,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    let region = b
        .region
        .as_deref()
        .map(|r| parse_region("region", r))
        .transpose()?;
    let account = state
        .app
        .create_staff(
            &caller.ctx,
            NewStaff {
                login: b.login,
                display_name: b.display_name,
                password: b.password,
                role: b.role,
                region,
                site: b.site.map(SiteId),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AccountView {
            id: account.id.0,
            login: account.login,
            display_name: account.display_name,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStaff {
    /// `true` takes the account's access away and ends its sessions on every app server;
    /// `false` gives it back.
    pub disabled: bool,
    /// Why; required when taking access away. Kept in the audit trail.
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffView {
    pub id: i64,
    pub login: String,
    pub display_name: String,
    pub disabled: bool,
}

impl From<AccountRecord> for StaffView {
    fn from(a: AccountRecord) -> Self {
        Self {
            id: a.id.0,
            login: a.login,
            display_name: a.display_name,
            disabled: a.disabled,
        }
    }
}

/// Takes a staff account's access away or gives it back (an administrator whose
/// jurisdiction covers all the account's roles; not one's own account).
#[utoipa::path(patch, path = "/api/v1/staff/{login}", tag = "staff", security(("bearer" = [])),
    params(("login" = String, Path)), request_body = UpdateStaff,
    responses((status = 200, body = StaffView), (status = 403, body = ErrorBody),
        (status = 404, description = "no such staff account", body = ErrorBody),
        (status = 409, description = "one's own account", body = ErrorBody),
        (status = 422, description = "no reason given", body = ErrorBody)))]
pub async fn update_staff(
    State(state): State<AppState>,
    caller: Caller,
    Path(login): Path<String>,
    Json(b): Json<UpdateStaff>,
) -> ApiResult<Json<StaffView>> {
    let account = state
        .app
        .set_staff_disabled(&caller.ctx, &login, b.disabled, b.reason)
        .await?;
    Ok(Json(StaffView::from(account)))
}

/// A role to give: an admin's or auditor's jurisdiction, or site staff's site.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    pub role: GrantedRole,
    /// The jurisdiction of an admin or auditor.
    pub region: Option<String>,
    /// The site of site staff.
    pub site: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRoles {
    /// Every role the account is to hold (at least one, at most 20); roles it holds and
    /// this list leaves out are taken away.
    pub roles: Vec<RoleRequest>,
    /// Why; kept in the audit trail.
    pub reason: Option<String>,
}

/// A role held.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    pub role: GrantedRole,
    /// The jurisdiction (of site staff: their site's region).
    pub region: String,
    /// The site of site staff.
    pub site: Option<i64>,
}

impl From<GrantRow> for RoleView {
    fn from(g: GrantRow) -> Self {
        Self {
            role: g.role,
            region: g.region.to_string(),
            site: g.site.map(|id| id.0),
        }
    }
}

/// A staff account and every role it holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffRolesView {
    pub account: StaffView,
    pub roles: Vec<RoleView>,
}

impl StaffRolesView {
    fn new(account: AccountRecord, roles: Vec<GrantRow>) -> Self {
        Self {
            account: account.into(),
            roles: roles.into_iter().map(RoleView::from).collect(),
        }
    }
}

/// A staff account and every role it holds, to read before changing them (an
/// administrator or auditor whose jurisdiction covers each of its roles).
#[utoipa::path(get, path = "/api/v1/staff/{login}", tag = "staff", security(("bearer" = [])),
    params(("login" = String, Path)),
    responses((status = 200, body = StaffRolesView), (status = 403, body = ErrorBody),
        (status = 404, description = "no such staff account", body = ErrorBody)))]
pub async fn get_staff(
    State(state): State<AppState>,
    caller: Caller,
    Path(login): Path<String>,
) -> ApiResult<Json<StaffRolesView>> {
    let (account, roles) = state.app.get_staff(&caller.ctx, &login).await?;
    Ok(Json(StaffRolesView::new(account, roles)))
}

/// Replaces a staff account's roles: moves an administrator to another jurisdiction or a
/// station's staff to another station, or adds or takes away a role (an administrator
/// whose jurisdiction covers every role held and every role given; not one's own
/// account). The account's sessions go on with the new roles, on every app server at once.
#[utoipa::path(put, path = "/api/v1/staff/{login}/roles", tag = "staff",
    security(("bearer" = [])), params(("login" = String, Path)), request_body = SetRoles,
    responses((status = 200, body = StaffRolesView), (status = 403, body = ErrorBody),
        (status = 404, description = "no such staff account", body = ErrorBody),
        (status = 409, description = "one's own account, or the roles changed meanwhile",
            body = ErrorBody),
        (status = 422, description = "no role, an unknown region or site, or no reason",
            body = ErrorBody)))]
pub async fn set_staff_roles(
    State(state): State<AppState>,
    caller: Caller,
    Path(login): Path<String>,
    Json(b): Json<SetRoles>,
) -> ApiResult<Json<StaffRolesView>> {
    let roles = b
        .roles
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let region = r
                .region
                .as_deref()
                .map(|code| parse_region(&format!("roles[{i}].region"), code))
                .transpose()?;
            Ok(Role {
                role: r.role,
                region,
                site: r.site.map(SiteId),
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let (account, held) = state
        .app
        .set_staff_roles(&caller.ctx, &login, roles, b.reason)
        .await?;
    Ok(Json(StaffRolesView::new(account, held)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListStaff {
    /// Region subtree; defaults to the caller's only jurisdiction.
    pub within: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// One role given to a staff account, with the account.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffRoleView {
    pub account: StaffView,
    pub role: GrantedRole,
    /// The jurisdiction (of site staff: their site's region).
    pub region: String,
    /// The site of site staff.
    pub site: Option<i64>,
}

/// The staff of a jurisdiction: every role given within it, with its account (disabled
/// ones too), in region order. For the administrators and auditors covering it.
#[utoipa::path(get, path = "/api/v1/staff", tag = "staff", security(("bearer" = [])),
    params(ListStaff),
    responses((status = 200, body = PageView<StaffRoleView>), (status = 403, body = ErrorBody)))]
pub async fn list_staff(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListStaff>,
) -> ApiResult<Json<PageView<StaffRoleView>>> {
    let within = q
        .within
        .as_deref()
        .map(|r| parse_region("within", r))
        .transpose()?;
    let page = page(q.cursor.as_deref(), q.limit, 2)?;
    let result = state.app.list_staff(&caller.ctx, within, &page).await?;
    Ok(Json(PageView::from_page(result, |s| {
        let RoleView { role, region, site } = s.grant.into();
        StaffRoleView {
            account: StaffView {
                id: s.account.0,
                login: s.login,
                display_name: s.display_name,
                disabled: s.disabled,
            },
            role,
            region,
            site,
        }
    })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListAudit {
    /// Region subtree; defaults to the caller's only jurisdiction.
    pub within: Option<String>,
    /// With `subject_id`: only entries about one object (e.g. `volunteer`).
    pub subject_type: Option<String>,
    pub subject_id: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// The audit trail of a jurisdiction, newest first (admins and auditors).
#[utoipa::path(get, path = "/api/v1/audit", tag = "staff", security(("bearer" = [])),
    params(ListAudit),
    responses((status = 200, body = PageView<AuditView>), (status = 403, body = ErrorBody)))]
pub async fn list_audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListAudit>,
) -> ApiResult<Json<PageView<AuditView>>> {
    let within = q
        .within
        .as_deref()
        .map(|r| parse_region("within", r))
        .transpose()?;
    let subject = q.subject_type.zip(q.subject_id);
    let page = page(q.cursor.as_deref(), q.limit, 1)?;
    let result = state
        .app
        .list_audit(&caller.ctx, within, subject, &page)
        .await?;
    Ok(Json(PageView::from_page(result, AuditView::from)))
}
