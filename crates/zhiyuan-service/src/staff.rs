//! Staff accounts: administrators, auditors and site staff, created inside the creator's
//! own jurisdiction (or by the operator at the command line, to bootstrap).

use zhiyuan_domain::access::{Access, GrantedRole};
use zhiyuan_domain::ids::SiteId;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::registration::check_password;
use zhiyuan_store::{
    AccountRecord, GrantRow, NewAccount, Page, PageRequest, StaffGrant, StoreError,
};

use crate::announce::Stale;
use crate::error::{Result, ServiceError};
use crate::{Ctx, Zhiyuan};
use zhiyuan_domain::Reason;

/// A staff account to create, with one role.
#[derive(Debug, Clone)]
pub struct NewStaff {
    pub login: String,
    pub display_name: String,
    pub password: String,
    pub role: GrantedRole,
    /// The jurisdiction of an admin or auditor.
    pub region: Option<RegionCode>,
    /// The site of site staff.
    pub site: Option<SiteId>,
}

/// A role to give a staff account: an admin's or auditor's jurisdiction, or site staff's
/// site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub role: GrantedRole,
    /// The jurisdiction of an admin or auditor.
    pub region: Option<RegionCode>,
    /// The site of site staff.
    pub site: Option<SiteId>,
}

/// An account can hold a few roles, not a directory's worth.
const MAX_ROLES: usize = 20;

/// Logins of staff: 3 to 40 lowercase letters, digits, `.`, `-` or `_`, starting with a
/// letter, so they can never be mistaken for a volunteer number.
fn check_login(login: &str) -> Result<()> {
    let ok = (3..=40).contains(&login.len())
        && login.starts_with(|c: char| c.is_ascii_lowercase())
        && login
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(ServiceError::because("login", Reason::LoginShape))
    }
}

impl Zhiyuan {
    pub async fn create_staff(&self, ctx: &Ctx, s: NewStaff) -> Result<AccountRecord> {
        check_login(&s.login)?;
        check_password(&s.password)?;
        let display_name = zhiyuan_domain::person::parse_person_name(&s.display_name)
            .map_err(|e| e.under("display_name"))?;
        let grant = self
            .resolve_role(
                &Role {
                    role: s.role,
                    region: s.region,
                    site: s.site,
                },
                "",
            )
            .await?;
        ctx.require(|p| p.can_grant(grant.region))?;
        let password_hash = self.0.config.password_cost.hash(s.password).await?;
        let mut audit = ctx.audit("account.create", "account", "", Some(grant.region));
        audit.details = serde_json::json!({
            "login": s.login, "role": grant.role, "region": grant.region, "site": grant.site,
        });
        let account = self
            .0
            .store
            .insert_account(
                &NewAccount {
                    login: s.login,
                    display_name,
                    password_hash,
                    volunteer: None,
                    grants: vec![grant],
                },
                &audit,
            )
            .await?;
        Ok(account)
    }

    /// Takes a staff account's access away (`disabled`), or gives it back: an administrator
    /// whose jurisdiction covers every role the account holds, with a reason when taking
    /// it away. Disabling ends the account's sessions on every app server at once; giving
    /// access back lifts the lock that sign-ins tried meanwhile may have set. Nobody
    /// disables their own account. Setting what is already set changes nothing.
    pub async fn set_staff_disabled(
        &self,
        ctx: &Ctx,
        login: &str,
        disabled: bool,
        reason: Option<String>,
    ) -> Result<AccountRecord> {
        let (account, grants) = self.staff_in_reach(ctx, login, Access::Write).await?;
        if account.id == ctx.user()?.account && disabled {
            return Err(ServiceError::conflict_because(
                "disabled",
                Reason::OwnAccount,
            ));
        }
        if account.disabled == disabled {
            return Ok(account);
        }
        let reason = crate::stated(reason);
        if disabled && reason.is_none() {
            // Access taken away says why.
            return Err(ServiceError::because("reason", Reason::Required));
        }
        let action = if disabled {
            "account.disable"
        } else {
            "account.enable"
        };
        let mut audit = ctx.audit(action, "account", account.id.0, Some(grants[0].region));
        audit.reason = reason;
        audit.details = serde_json::json!({ "login": account.login });
        let updated = self
            .0
            .store
            .set_account_disabled(account.id, disabled, &audit)
            .await?;
        if disabled {
            self.forget(Stale::Account(account.id)).await;
        } else {
            self.0.store.clear_login_attempts(&account.login).await?;
        }
        Ok(updated)
    }

    /// Replaces the roles of a staff account, to move an administrator to another
    /// jurisdiction or a station's staff to another station, or to add or take away a
    /// role: an administrator whose jurisdiction covers every role the account holds and
    /// every role it is given, with a reason. Roles kept keep their rows. The account's
    /// sessions go on, with the new roles on every app server at once. Nobody changes
    /// their own roles; an account without any role is disabled instead.
    pub async fn set_staff_roles(
        &self,
        ctx: &Ctx,
        login: &str,
        roles: Vec<Role>,
        reason: Option<String>,
    ) -> Result<(AccountRecord, Vec<GrantRow>)> {
        let (account, before) = self.staff_in_reach(ctx, login, Access::Write).await?;
        if roles.is_empty() {
            // To take every role away, the account is disabled.
            return Err(ServiceError::because("roles", Reason::Required));
        }
        if roles.len() > MAX_ROLES {
            return Err(ServiceError::because(
                "roles",
                Reason::TooMany { max: MAX_ROLES },
            ));
        }
        let mut after: Vec<GrantRow> = Vec::with_capacity(roles.len());
        for (i, role) in roles.iter().enumerate() {
            let grant = self.resolve_role(role, &format!("roles[{i}].")).await?;
            if !after.contains(&grant) {
                after.push(grant);
            }
        }
        ctx.require(|p| after.iter().all(|g| p.can_grant(g.region)))?;
        if account.id == ctx.user()?.account {
            return Err(ServiceError::conflict_because("roles", Reason::OwnAccount));
        }
        let reason = crate::stated(reason);
        if reason.is_none() {
            return Err(ServiceError::because("reason", Reason::Required));
        }
        let mut audit = ctx.audit("account.roles", "account", account.id.0, None);
        audit.reason = reason;
        audit.details = serde_json::json!({
            "login": account.login,
            "before": before.iter().map(role_json).collect::<Vec<_>>(),
            "after": after.iter().map(role_json).collect::<Vec<_>>(),
        });
        // In the trail of every jurisdiction a role taken away or given lies in (a move
        // between two cities, in each city's).
        let audit = audit.in_each(before.iter().chain(&after).map(|g| g.region));
        let held = self
            .0
            .store
            .replace_grants(account.id, &before, &after, &audit)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { field: "roles" } => {
                    ServiceError::conflict_because("roles", Reason::ChangedMeanwhile)
                }
                other => other.into(),
            })?;
        self.forget(Stale::Account(account.id)).await;
        Ok((account, held))
    }

    /// A staff account and every role it holds, for an administrator or auditor whose
    /// jurisdiction covers each of those roles: what to read before changing them.
    pub async fn get_staff(
        &self,
        ctx: &Ctx,
        login: &str,
    ) -> Result<(AccountRecord, Vec<GrantRow>)> {
        self.staff_in_reach(ctx, login, Access::Read).await
    }

    /// A staff account by login, with its roles, for a caller whose jurisdiction covers
    /// every one of them with `access` (to write: an administrator; to read, an auditor
    /// too). Only such callers learn whether a login exists.
    async fn staff_in_reach(
        &self,
        ctx: &Ctx,
        login: &str,
        access: Access,
    ) -> Result<(AccountRecord, Vec<GrantRow>)> {
        ctx.require(|p| !p.regions(access).is_empty())?;
        let account = self
            .0
            .store
            .find_account(login)
            .await?
            .filter(|a| a.volunteer.is_none())
            .ok_or(ServiceError::NotFound("staff account"))?;
        let grants = self.0.store.account_grants(account.id).await?;
        ctx.require(|p| !grants.is_empty() && grants.iter().all(|g| p.covers(g.region, access)))?;
        Ok((account, grants))
    }

    /// The grant a role stands for: site staff take their site's region. Fields are named
    /// under `prefix` (`roles[2].` for the third of a list).
    async fn resolve_role(&self, r: &Role, prefix: &str) -> Result<GrantRow> {
        match r.role {
            GrantedRole::SiteStaff => {
                let field = format!("{prefix}site");
                let id = r
                    .site
                    .ok_or_else(|| ServiceError::because(&field, Reason::Required))?;
                let site = self
                    .0
                    .store
                    .get_site(id)
                    .await?
                    .ok_or_else(|| ServiceError::because(&field, Reason::NotFound))?;
                Ok(GrantRow {
                    role: r.role,
                    region: site.site.region,
                    site: Some(id),
                })
            }
            _ => {
                let field = format!("{prefix}region");
                // Administrators and auditors hold a jurisdiction.
                let region = r
                    .region
                    .ok_or_else(|| ServiceError::because(&field, Reason::Required))?;
                self.require_region(region, &field).await?;
                Ok(GrantRow {
                    role: r.role,
                    region,
                    site: None,
                })
            }
        }
    }

    /// The staff of a jurisdiction: every role given within it, with its account, in region
    /// order (administrators and auditors covering it).
    pub async fn list_staff(
        &self,
        ctx: &Ctx,
        within: Option<RegionCode>,
        page: &PageRequest,
    ) -> Result<Page<StaffGrant>> {
        let within = self.scope_of_listing(ctx, within)?;
        ctx.require(|p| p.covers(within, Access::Read))?;
        Ok(self.0.store.list_staff(within, page).await?)
    }
}

/// A role as an audit entry's details show it.
fn role_json(g: &GrantRow) -> serde_json::Value {
    serde_json::json!({ "role": g.role, "region": g.region, "site": g.site })
}
