//! Accounts, grants, sessions and login throttling.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use zhiyuan_domain::access::{Grant, GrantedRole, Principal};
use zhiyuan_domain::ids::{AccountId, OrgId, SiteId, VolunteerId};
use zhiyuan_domain::org::MembershipRole;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_store::{
    AccountRecord, AccountStore, AuditEntry, GrantChanges, GrantRow, LoginFailures, LoginLimits,
    NewAccount, NewSession, Page, PageRequest, Result, StaffGrant, StoreError, audited_at,
};

use crate::PgStore;
use crate::conv::{conv, get, json, pg_err, region, write_audit, write_audit_in_each};

const ACCOUNT_SELECT: &str =
    "SELECT id, login, display_name, password_hash, volunteer_id, disabled FROM accounts";

fn account_from_row(row: &tokio_postgres::Row) -> Result<AccountRecord> {
    Ok(AccountRecord {
        id: AccountId(get(row, 0)?),
        login: get(row, 1)?,
        display_name: get(row, 2)?,
        password_hash: get(row, 3)?,
        volunteer: get::<Option<i64>>(row, 4)?.map(VolunteerId),
        disabled: get(row, 5)?,
    })
}

async fn grants_of(c: &impl GenericClient, account: i64) -> Result<Vec<GrantRow>> {
    let stmt = c
        .prepare_cached(
            "SELECT role, region_code, site_id FROM grants WHERE account_id = $1 ORDER BY id",
        )
        .await
        .map_err(pg_err)?;
    let rows = c.query(&stmt, &[&account]).await.map_err(pg_err)?;
    rows.iter().map(|row| grant_at(row, 0)).collect()
}

async fn insert_grant(
    c: &impl GenericClient,
    account: i64,
    g: &GrantRow,
    at: OffsetDateTime,
) -> Result<()> {
    let stmt = c
        .prepare_cached(
            "INSERT INTO grants (account_id, role, region_code, site_id, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .await
        .map_err(pg_err)?;
    c.execute(
        &stmt,
        &[
            &account,
            &g.role.as_str(),
            &g.region.as_i64(),
            &g.site.map(|s| s.0),
            &at,
        ],
    )
    .await
    .map_err(pg_err)?;
    Ok(())
}

/// A grant from its role, region code and site id, in that order from column `first`.
fn grant_at(row: &tokio_postgres::Row, first: usize) -> Result<GrantRow> {
    Ok(GrantRow {
        role: conv(row, first, |s: &str| GrantedRole::parse(s))?,
        region: region(row, first + 1)?,
        site: get::<Option<i64>>(row, first + 2)?.map(SiteId),
    })
}

/// Deletes the attempts counted in a window that has passed (`$1` its start), unless they
/// set a lock still running at `$2`.
pub(crate) const PURGE_LOGIN_ATTEMPTS: &str = "DELETE FROM login_failures
     WHERE first_at <= $1 AND (locked_until IS NULL OR locked_until <= $2)";

#[async_trait]
impl AccountStore for PgStore {
    async fn insert_account(&self, a: &NewAccount, audit: &AuditEntry) -> Result<AccountRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let row = tx
            .query_one(
                &tx.prepare_cached(
                    "INSERT INTO accounts (login, display_name, password_hash, volunteer_id,
                    created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .await
                .map_err(pg_err)?,
                &[
                    &a.login,
                    &a.display_name,
                    &a.password_hash,
                    &a.volunteer.map(|v| v.0),
                    &audit.at,
                ],
            )
            .await
            .map_err(pg_err)?;
        let id: i64 = get(&row, 0)?;
        for g in &a.grants {
            insert_grant(&tx, id, g, audit.at).await?;
        }
        write_audit(&tx, audit, Some(id.to_string())).await?;
        let row = tx
            .query_one(
                &tx.prepare_cached(&format!("{ACCOUNT_SELECT} WHERE id = $1"))
                    .await
                    .map_err(pg_err)?,
                &[&id],
            )
            .await
            .map_err(pg_err)?;
        let record = account_from_row(&row)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(record)
    }

    async fn find_account(&self, login: &str) -> Result<Option<AccountRecord>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!("{ACCOUNT_SELECT} WHERE login = $1"))
            .await
            .map_err(pg_err)?;
        let row = client.query_opt(&stmt, &[&login]).await.map_err(pg_err)?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn insert_session(&self, s: &NewSession) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                &client
                    .prepare_cached(
                        "INSERT INTO sessions (token_hash, account_id, created_at, expires_at)
                 VALUES ($1, $2, $3, $4)",
                    )
                    .await
                    .map_err(pg_err)?,
                &[
                    &&s.token_hash[..],
                    &s.account.0,
                    &s.created_at,
                    &s.expires_at,
                ],
            )
            .await
            .map_err(pg_err)?;
        Ok(())
    }

    async fn load_principal(
        &self,
        token_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<Principal>> {
        // One statement: a request that misses the principal cache waits for it.
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT a.id, a.volunteer_id,
                    (SELECT COALESCE(json_agg(json_build_array(g.role, g.region_code, g.site_id)
                        ORDER BY g.id), '[]') FROM grants g WHERE g.account_id = a.id),
                    (SELECT COALESCE(json_agg(json_build_array(m.org_id, m.role)
                        ORDER BY m.id), '[]') FROM memberships m
                     WHERE m.volunteer_id = a.volunteer_id AND m.status = 'active'
                       AND m.role <> 'member')
                 FROM sessions s JOIN accounts a ON a.id = s.account_id
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT a.disabled",
            )
            .await
            .map_err(pg_err)?;
        let Some(row) = client
            .query_opt(&stmt, &[&&token_hash[..], &now])
            .await
            .map_err(pg_err)?
        else {
            return Ok(None);
        };
        let account: i64 = get(&row, 0)?;
        let volunteer: Option<i64> = get(&row, 1)?;
        let corrupt = || StoreError::corrupt("unexpected grant or membership of a session");
        let mut grants = Vec::new();
        for (role, region, site) in json::<Vec<(String, i64, Option<i64>)>>(&row, 2)? {
            let role = GrantedRole::parse(&role).ok_or_else(corrupt)?;
            let region = RegionCode::from_i64(region).ok_or_else(corrupt)?;
            grants.extend(match (role, site) {
                (GrantedRole::JurisdictionAdmin, _) => Some(Grant::JurisdictionAdmin { region }),
                (GrantedRole::Auditor, _) => Some(Grant::Auditor { region }),
                (GrantedRole::SiteStaff, Some(site)) => {
                    Some(Grant::SiteStaff { site: SiteId(site) })
                }
                (GrantedRole::SiteStaff, None) => None,
            });
        }
        for (org, role) in json::<Vec<(i64, String)>>(&row, 3)? {
            grants.push(Grant::Team {
                org: OrgId(org),
                team_role: MembershipRole::parse(&role).ok_or_else(corrupt)?,
            });
        }
        Ok(Some(Principal {
            account: AccountId(account),
            volunteer: volunteer.map(VolunteerId),
            grants,
        }))
    }

    async fn delete_session(&self, token_hash: &[u8; 32]) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                &client
                    .prepare_cached("DELETE FROM sessions WHERE token_hash = $1")
                    .await
                    .map_err(pg_err)?,
                &[&&token_hash[..]],
            )
            .await
            .map_err(pg_err)?;
        Ok(())
    }

    async fn get_account(&self, id: AccountId) -> Result<Option<AccountRecord>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!("{ACCOUNT_SELECT} WHERE id = $1"))
            .await
            .map_err(pg_err)?;
        let row = client.query_opt(&stmt, &[&id.0]).await.map_err(pg_err)?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn set_password(
        &self,
        account: AccountId,
        password_hash: &str,
        keep: &[u8; 32],
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let changed = tx
            .execute(
                &tx.prepare_cached("UPDATE accounts SET password_hash = $2 WHERE id = $1")
                    .await
                    .map_err(pg_err)?,
                &[&account.0, &password_hash],
            )
            .await
            .map_err(pg_err)?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        tx.execute(
            &tx.prepare_cached("DELETE FROM sessions WHERE account_id = $1 AND token_hash <> $2")
                .await
                .map_err(pg_err)?,
            &[&account.0, &keep.as_slice()],
        )
        .await
        .map_err(pg_err)?;
        write_audit(&tx, audit, None).await?;
        tx.commit().await.map_err(pg_err)
    }

    async fn set_account_disabled(
        &self,
        account: AccountId,
        disabled: bool,
        audit: &AuditEntry,
    ) -> Result<AccountRecord> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        // The row is locked by the update, so a concurrent request waits and then finds
        // nothing to change.
        let changed = tx
            .execute(
                &tx.prepare_cached(
                    "UPDATE accounts SET disabled = $2 WHERE id = $1 AND disabled <> $2",
                )
                .await
                .map_err(pg_err)?,
                &[&account.0, &disabled],
            )
            .await
            .map_err(pg_err)?;
        if changed > 0 {
            if disabled {
                tx.execute(
                    &tx.prepare_cached("DELETE FROM sessions WHERE account_id = $1")
                        .await
                        .map_err(pg_err)?,
                    &[&account.0],
                )
                .await
                .map_err(pg_err)?;
            }
            write_audit(&tx, audit, None).await?;
        }
        // Unknown, or already so (a concurrent request was first): nothing written.
        let row = tx
            .query_opt(
                &tx.prepare_cached(&format!("{ACCOUNT_SELECT} WHERE id = $1"))
                    .await
                    .map_err(pg_err)?,
                &[&account.0],
            )
            .await
            .map_err(pg_err)?
            .ok_or(StoreError::NotFound)?;
        let record = account_from_row(&row)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(record)
    }

    async fn delete_expired_sessions(&self, now: OffsetDateTime, limit: u32) -> Result<u64> {
        let client = self.client().await?;
        // Probed by key in every plan, the oldest first along the expiry index: with the
        // limited subquery under `IN`, the generic plan scanned the whole table (96 ms
        // against 3 ms over 500,000 sessions, `plan_cache_mode = force_generic_plan`).
        let stmt = client
            .prepare_cached(
                "DELETE FROM sessions WHERE token_hash = ANY(ARRAY(
                    SELECT token_hash FROM sessions WHERE expires_at < $1
                    ORDER BY expires_at LIMIT $2))",
            )
            .await
            .map_err(pg_err)?;
        client
            .execute(&stmt, &[&now, &i64::from(limit)])
            .await
            .map_err(pg_err)
    }

    async fn count_login_attempt(
        &self,
        login: &str,
        now: OffsetDateTime,
        limits: LoginLimits,
    ) -> Result<LoginFailures> {
        let client = self.client().await?;
        // As on SQLite (see there): every right-hand side reads the row as it was.
        let stmt = client
            .prepare_cached(
                "INSERT INTO login_failures (login, count, first_at, locked_until)
                 VALUES ($1, 1, $2, CASE WHEN $3::INTEGER <= 1 THEN $5::TIMESTAMPTZ END)
                 ON CONFLICT (login) DO UPDATE SET
                    count = CASE WHEN login_failures.locked_until <= $2
                        OR (login_failures.locked_until IS NULL AND login_failures.first_at <= $4)
                                 THEN 1 ELSE login_failures.count + 1 END,
                    first_at = CASE WHEN login_failures.locked_until <= $2
                        OR (login_failures.locked_until IS NULL AND login_failures.first_at <= $4)
                                    THEN $2 ELSE login_failures.first_at END,
                    locked_until = CASE
                        WHEN login_failures.locked_until <= $2
                        OR (login_failures.locked_until IS NULL AND login_failures.first_at <= $4)
                            THEN CASE WHEN $3 <= 1 THEN $5 END
                        WHEN login_failures.count + 1 = $3 THEN $5
                        ELSE login_failures.locked_until END
                 RETURNING count, first_at, locked_until",
            )
            .await
            .map_err(pg_err)?;
        let max = i32::try_from(limits.max).unwrap_or(i32::MAX);
        let row = client
            .query_one(
                &stmt,
                &[
                    &login,
                    &now,
                    &max,
                    &(now - limits.window),
                    &(now + limits.lockout),
                ],
            )
            .await
            .map_err(pg_err)?;
        Ok(LoginFailures {
            count: u32::try_from(get::<i32>(&row, 0)?).unwrap_or(0),
            first_at: get(&row, 1)?,
            locked_until: get(&row, 2)?,
        })
    }

    async fn purge_login_attempts(
        &self,
        window_start: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(PURGE_LOGIN_ATTEMPTS)
            .await
            .map_err(pg_err)?;
        client
            .execute(&stmt, &[&window_start, &now])
            .await
            .map_err(pg_err)
    }

    async fn clear_login_attempts(&self, login: &str) -> Result<()> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("DELETE FROM login_failures WHERE login = $1")
            .await
            .map_err(pg_err)?;
        client.execute(&stmt, &[&login]).await.map_err(pg_err)?;
        Ok(())
    }

    async fn account_grants(&self, account: AccountId) -> Result<Vec<GrantRow>> {
        grants_of(&self.client().await?, account.0).await
    }

    async fn replace_grants(
        &self,
        account: AccountId,
        expected: &[GrantRow],
        roles: &[GrantRow],
        audit: &[AuditEntry],
    ) -> Result<Vec<GrantRow>> {
        let at = audited_at(audit)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        // The account's row is locked first, so a concurrent replacement waits for this one
        // and then plans against the roles it left.
        let lock = tx
            .prepare_cached("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE")
            .await
            .map_err(pg_err)?;
        tx.query_opt(&lock, &[&account.0])
            .await
            .map_err(pg_err)?
            .ok_or(StoreError::NotFound)?;
        let stmt = tx
            .prepare_cached(
                "SELECT id, role, region_code, site_id FROM grants WHERE account_id = $1",
            )
            .await
            .map_err(pg_err)?;
        let current = tx
            .query(&stmt, &[&account.0])
            .await
            .map_err(pg_err)?
            .iter()
            .map(|row| Ok((get(row, 0)?, grant_at(row, 1)?)))
            .collect::<Result<Vec<(i64, GrantRow)>>>()?;
        let changes = GrantChanges::plan(&current, expected, roles)?;
        if changes.is_empty() {
            return grants_of(&tx, account.0).await;
        }
        let delete = tx
            .prepare_cached("DELETE FROM grants WHERE id = ANY($1)")
            .await
            .map_err(pg_err)?;
        tx.execute(&delete, &[&changes.remove])
            .await
            .map_err(pg_err)?;
        for g in &changes.add {
            insert_grant(&tx, account.0, g, at).await?;
        }
        write_audit_in_each(&tx, audit).await?;
        let held = grants_of(&tx, account.0).await?;
        tx.commit().await.map_err(pg_err)?;
        Ok(held)
    }

    async fn list_staff(&self, within: RegionCode, page: &PageRequest) -> Result<Page<StaffGrant>> {
        let (lo, hi) = within.subtree();
        let after = page.after.clone().map_or((0, 0), |c| (c.key(0), c.key(1)));
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT g.id, a.id, a.login, a.display_name, a.disabled, g.role,
                    g.region_code, g.site_id
                 FROM grants g JOIN accounts a ON a.id = g.account_id
                 WHERE g.region_code >= $1 AND g.region_code < $2
                   AND (g.region_code, g.id) > ($3, $4)
                 ORDER BY g.region_code, g.id LIMIT $5",
            )
            .await
            .map_err(pg_err)?;
        let limit = i64::from(page.limit) + 1;
        let rows = client
            .query(&stmt, &[&lo, &hi, &after.0, &after.1, &limit])
            .await
            .map_err(pg_err)?;
        let items = rows
            .iter()
            .map(|row| {
                Ok(StaffGrant {
                    grant_id: get(row, 0)?,
                    account: AccountId(get(row, 1)?),
                    login: get(row, 2)?,
                    display_name: get(row, 3)?,
                    disabled: get(row, 4)?,
                    grant: grant_at(row, 5)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |s| {
            vec![s.grant.region.as_i64(), s.grant_id]
        }))
    }
}
