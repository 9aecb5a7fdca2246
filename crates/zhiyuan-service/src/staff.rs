//! Staff accounts: administrators, auditors and site staff, created inside the creator's
//! own jurisdiction (or by the operator at the command line, to bootstrap).

use zhiyuan_domain::access::{Access, GrantedRole};
use zhiyuan_domain::ids::SiteId;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_domain::registration::check_password;
use zhiyuan_store::{AccountRecord, GrantRow, NewAccount, Page, PageRequest, StaffGrant};

use crate::announce::Stale;
use crate::error::{Result, ServiceError};
use crate::{Ctx, Zhiyuan};

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
        Err(ServiceError::invalid(
            "login",
            "3 to 40 lowercase letters, digits, '.', '-' or '_', starting with a letter",
        ))
    }
}

impl Zhiyuan {
    pub async fn create_staff(&self, ctx: &Ctx, s: NewStaff) -> Result<AccountRecord> {
        check_login(&s.login)?;
        check_password(&s.password)?;
        let display_name = zhiyuan_domain::person::parse_person_name(&s.display_name)
            .map_err(|e| e.under("display_name"))?;
        let grant = match s.role {
            GrantedRole::SiteStaff => {
                let id = s
                    .site
                    .ok_or_else(|| ServiceError::invalid("site", "site staff need a site"))?;
                let site = self
                    .0
                    .store
                    .get_site(id)
                    .await?
                    .ok_or_else(|| ServiceError::invalid("site", "no such site"))?;
                GrantRow {
                    role: s.role,
                    region: site.site.region,
                    site: Some(id),
                }
            }
            _ => {
                let region = s.region.ok_or_else(|| {
                    ServiceError::invalid("region", "admins and auditors need a jurisdiction")
                })?;
                self.require_region(region, "region").await?;
                GrantRow {
                    role: s.role,
                    region,
                    site: None,
                }
            }
        };
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
    /// it away. Disabling ends the account's sessions on every app server at once; nobody
    /// disables their own account. Setting what is already set changes nothing.
    pub async fn set_staff_disabled(
        &self,
        ctx: &Ctx,
        login: &str,
        disabled: bool,
        reason: Option<String>,
    ) -> Result<AccountRecord> {
        let me = ctx.user()?.account;
        // Only administrators learn whether a login exists.
        ctx.require(|p| !p.regions(Access::Write).is_empty())?;
        let account = self
            .0
            .store
            .find_account(login)
            .await?
            .filter(|a| a.volunteer.is_none())
            .ok_or(ServiceError::NotFound("staff account"))?;
        let grants = self.0.store.account_grants(account.id).await?;
        ctx.require(|p| !grants.is_empty() && grants.iter().all(|g| p.can_grant(g.region)))?;
        if account.id == me && disabled {
            return Err(ServiceError::Conflict {
                field: "disabled",
                message: "you cannot disable your own account".to_owned(),
            });
        }
        if account.disabled == disabled {
            return Ok(account);
        }
        let reason = reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        if disabled && reason.is_none() {
            return Err(ServiceError::invalid(
                "reason",
                "say why the account's access is taken away",
            ));
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
        }
        Ok(updated)
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

    /// The signed-in account's grants as stored (roles given by administrators).
    pub async fn my_grants(&self, ctx: &Ctx) -> Result<Vec<GrantRow>> {
        let p = ctx.user()?;
        Ok(self.0.store.account_grants(p.account).await?)
    }
}
