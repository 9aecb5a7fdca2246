//! Accounts, grants, sessions and login throttling.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;
use zhiyuan_domain::access::{Grant, GrantedRole, Principal};
use zhiyuan_domain::ids::{AccountId, OrgId, SiteId, VolunteerId};
use zhiyuan_domain::org::MembershipRole;
use zhiyuan_domain::region::RegionCode;
use zhiyuan_store::{
    AccountRecord, AccountStore, AuditEntry, GrantChanges, GrantRow, LoginFailures, LoginLimits,
    NewAccount, NewSession, Page, PageRequest, Result, StaffGrant, StoreError, audited_at,
};

use crate::SqliteStore;
use crate::conv::{
    col, micros, opt_time, region, store_err, time, write_audit, write_audit_in_each,
};

const ACCOUNT_SELECT: &str =
    "SELECT id, login, display_name, password_hash, volunteer_id, disabled FROM accounts";

fn account_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AccountRecord> {
    Ok(AccountRecord {
        id: AccountId(row.get(0)?),
        login: row.get(1)?,
        display_name: row.get(2)?,
        password_hash: row.get(3)?,
        volunteer: row.get::<_, Option<i64>>(4)?.map(VolunteerId),
        disabled: row.get(5)?,
    })
}

fn grants_of(c: &rusqlite::Connection, account: i64) -> rusqlite::Result<Vec<GrantRow>> {
    c.prepare_cached(
        "SELECT role, region_code, site_id FROM grants WHERE account_id = ?1 ORDER BY id",
    )?
    .query_map([account], |row| grant_at(row, 0))?
    .collect()
}

fn insert_grant(tx: &rusqlite::Transaction<'_>, account: i64, g: &GrantRow, at: i64) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO grants (account_id, role, region_code, site_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            account,
            g.role.as_str(),
            g.region.as_i64(),
            g.site.map(|s| s.0),
            at
        ])
    })
    .map_err(store_err)?;
    Ok(())
}

/// A grant from its role, region code and site id, in that order from column `first`.
fn grant_at(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<GrantRow> {
    Ok(GrantRow {
        role: col(row, first, |s: String| GrantedRole::parse(&s))?,
        region: region(row, first + 1)?,
        site: row.get::<_, Option<i64>>(first + 2)?.map(SiteId),
    })
}

/// Counts an attempt (`?1` login, `?2` now, `?3` the maximum, `?4` the window's start,
/// `?5` the end of a lock set now). Every right-hand side reads the row as it was. The
/// count starts again when a lock has expired, or with no lock when the window has passed
/// (a lock outlasts the window if the lockout is longer); the attempt that reaches the
/// maximum sets the lock.
const COUNT_ATTEMPT: &str = "INSERT INTO login_failures (login, count, first_at, locked_until)
     VALUES (?1, 1, ?2, CASE WHEN ?3 <= 1 THEN ?5 END)
     ON CONFLICT (login) DO UPDATE SET
        count = CASE
            WHEN locked_until <= ?2 OR (locked_until IS NULL AND first_at <= ?4) THEN 1
            ELSE count + 1 END,
        first_at = CASE
            WHEN locked_until <= ?2 OR (locked_until IS NULL AND first_at <= ?4) THEN ?2
            ELSE first_at END,
        locked_until = CASE
            WHEN locked_until <= ?2 OR (locked_until IS NULL AND first_at <= ?4)
                THEN CASE WHEN ?3 <= 1 THEN ?5 END
            WHEN count + 1 = ?3 THEN ?5
            ELSE locked_until END
     RETURNING count, first_at, locked_until";

/// Deletes the attempts counted in a window that has passed (`?1` its start), unless they
/// set a lock still running at `?2`.
pub(crate) const PURGE_LOGIN_ATTEMPTS: &str = "DELETE FROM login_failures
     WHERE first_at <= ?1 AND (locked_until IS NULL OR locked_until <= ?2)";

/// The roles given in a region range, with their accounts, after a (region, id) key.
pub(crate) const STAFF_SQL: &str =
    "SELECT g.id, a.id, a.login, a.display_name, a.disabled, g.role, g.region_code, g.site_id
     FROM grants g JOIN accounts a ON a.id = g.account_id
     WHERE g.region_code >= ?1 AND g.region_code < ?2 AND (g.region_code, g.id) > (?3, ?4)
     ORDER BY g.region_code, g.id LIMIT ?5";

#[async_trait]
impl AccountStore for SqliteStore {
    async fn insert_account(&self, a: &NewAccount, audit: &AuditEntry) -> Result<AccountRecord> {
        let (a, audit) = (a.clone(), audit.clone());
        self.write(move |tx| {
            let now = micros(audit.at);
            tx.execute(
                "INSERT INTO accounts (login, display_name, password_hash, volunteer_id,
                    created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    a.login,
                    a.display_name,
                    a.password_hash,
                    a.volunteer.map(|v| v.0),
                    now
                ],
            )
            .map_err(store_err)?;
            let id = tx.last_insert_rowid();
            for g in &a.grants {
                insert_grant(tx, id, g, now)?;
            }
            write_audit(tx, &audit, Some(id.to_string()))?;
            tx.prepare_cached(&format!("{ACCOUNT_SELECT} WHERE id = ?1"))
                .and_then(|mut s| s.query_row([id], account_from_row))
                .map_err(store_err)
        })
        .await
    }

    async fn find_account(&self, login: &str) -> Result<Option<AccountRecord>> {
        let login = login.to_owned();
        self.lookup(move |c| {
            c.prepare_cached(&format!("{ACCOUNT_SELECT} WHERE login = ?1"))?
                .query_row([login], account_from_row)
                .optional()
        })
        .await
    }

    async fn insert_session(&self, s: &NewSession) -> Result<()> {
        let s = s.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO sessions (token_hash, account_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    &s.token_hash[..],
                    s.account.0,
                    micros(s.created_at),
                    micros(s.expires_at)
                ],
            )
            .map_err(store_err)?;
            Ok(())
        })
        .await
    }

    async fn load_principal(
        &self,
        token_hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Option<Principal>> {
        let token_hash = *token_hash;
        self.lookup(move |c| {
            let session = c
                .prepare_cached(
                    "SELECT a.id, a.volunteer_id FROM sessions s
                     JOIN accounts a ON a.id = s.account_id
                     WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND a.disabled = 0",
                )?
                .query_row(params![&token_hash[..], micros(now)], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?))
                })
                .optional()?;
            let Some((account, volunteer)) = session else {
                return Ok(None);
            };
            let mut grants: Vec<Grant> = grants_of(c, account)?
                .into_iter()
                .filter_map(|g| match (g.role, g.site) {
                    (GrantedRole::JurisdictionAdmin, _) => {
                        Some(Grant::JurisdictionAdmin { region: g.region })
                    }
                    (GrantedRole::Auditor, _) => Some(Grant::Auditor { region: g.region }),
                    (GrantedRole::SiteStaff, Some(site)) => Some(Grant::SiteStaff { site }),
                    (GrantedRole::SiteStaff, None) => None,
                })
                .collect();
            if let Some(v) = volunteer {
                let teams = c
                    .prepare_cached(
                        "SELECT org_id, role FROM memberships
                         WHERE volunteer_id = ?1 AND status = 'active' AND role <> 'member'",
                    )?
                    .query_map([v], |r| {
                        Ok(Grant::Team {
                            org: OrgId(r.get(0)?),
                            team_role: col(r, 1, |s: String| MembershipRole::parse(&s))?,
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                grants.extend(teams);
            }
            Ok(Some(Principal {
                account: AccountId(account),
                volunteer: volunteer.map(VolunteerId),
                grants,
            }))
        })
        .await
    }

    async fn delete_session(&self, token_hash: &[u8; 32]) -> Result<()> {
        let token_hash = *token_hash;
        self.write(move |tx| {
            tx.execute(
                "DELETE FROM sessions WHERE token_hash = ?1",
                [&token_hash[..]],
            )
            .map_err(store_err)?;
            Ok(())
        })
        .await
    }

    async fn get_account(&self, id: AccountId) -> Result<Option<AccountRecord>> {
        self.lookup(move |c| {
            c.prepare_cached(&format!("{ACCOUNT_SELECT} WHERE id = ?1"))?
                .query_row([id.0], account_from_row)
                .optional()
        })
        .await
    }

    async fn set_password(
        &self,
        account: AccountId,
        password_hash: &str,
        keep: &[u8; 32],
        audit: &AuditEntry,
    ) -> Result<()> {
        let (hash, keep, audit) = (password_hash.to_owned(), *keep, audit.clone());
        self.write(move |tx| {
            let changed = tx
                .prepare_cached("UPDATE accounts SET password_hash = ?2 WHERE id = ?1")
                .and_then(|mut s| s.execute(params![account.0, hash]))
                .map_err(store_err)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            tx.prepare_cached("DELETE FROM sessions WHERE account_id = ?1 AND token_hash <> ?2")
                .and_then(|mut s| s.execute(params![account.0, keep.as_slice()]))
                .map_err(store_err)?;
            write_audit(tx, &audit, None)
        })
        .await
    }

    async fn set_account_disabled(
        &self,
        account: AccountId,
        disabled: bool,
        audit: &AuditEntry,
    ) -> Result<AccountRecord> {
        let audit = audit.clone();
        self.write(move |tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE accounts SET disabled = ?2 WHERE id = ?1 AND disabled <> ?2",
                )
                .and_then(|mut s| s.execute(params![account.0, disabled]))
                .map_err(store_err)?;
            let read = |tx: &rusqlite::Transaction<'_>| {
                tx.prepare_cached(&format!("{ACCOUNT_SELECT} WHERE id = ?1"))
                    .and_then(|mut s| s.query_row([account.0], account_from_row).optional())
                    .map_err(store_err)?
                    .ok_or(StoreError::NotFound)
            };
            if changed == 0 {
                // Unknown, or already so (a concurrent request was first): nothing to write.
                return read(tx);
            }
            if disabled {
                tx.prepare_cached("DELETE FROM sessions WHERE account_id = ?1")
                    .and_then(|mut s| s.execute([account.0]))
                    .map_err(store_err)?;
            }
            write_audit(tx, &audit, None)?;
            read(tx)
        })
        .await
    }

    async fn delete_expired_sessions(&self, now: OffsetDateTime, limit: u32) -> Result<u64> {
        self.write(move |tx| {
            tx.prepare_cached(
                "DELETE FROM sessions WHERE token_hash IN
                    (SELECT token_hash FROM sessions WHERE expires_at < ?1 LIMIT ?2)",
            )
            .and_then(|mut s| s.execute(params![micros(now), limit]))
            .map(|n| n as u64)
            .map_err(store_err)
        })
        .await
    }

    async fn count_login_attempt(
        &self,
        login: &str,
        now: OffsetDateTime,
        limits: LoginLimits,
    ) -> Result<LoginFailures> {
        let login = login.to_owned();
        self.write(move |tx| {
            tx.prepare_cached(COUNT_ATTEMPT)
                .and_then(|mut s| {
                    s.query_row(
                        params![
                            login,
                            micros(now),
                            limits.max,
                            micros(now - limits.window),
                            micros(now + limits.lockout),
                        ],
                        |r| {
                            Ok(LoginFailures {
                                count: r.get(0)?,
                                first_at: time(r, 1)?,
                                locked_until: opt_time(r, 2)?,
                            })
                        },
                    )
                })
                .map_err(store_err)
        })
        .await
    }

    async fn purge_login_attempts(
        &self,
        window_start: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64> {
        self.write(move |tx| {
            tx.prepare_cached(PURGE_LOGIN_ATTEMPTS)
                .and_then(|mut s| s.execute(params![micros(window_start), micros(now)]))
                .map(|n| n as u64)
                .map_err(store_err)
        })
        .await
    }

    async fn clear_login_attempts(&self, login: &str) -> Result<()> {
        let login = login.to_owned();
        self.write(move |tx| {
            tx.prepare_cached("DELETE FROM login_failures WHERE login = ?1")
                .and_then(|mut s| s.execute([login]))
                .map_err(store_err)?;
            Ok(())
        })
        .await
    }

    async fn account_grants(&self, account: AccountId) -> Result<Vec<GrantRow>> {
        self.lookup(move |c| grants_of(c, account.0)).await
    }

    async fn replace_grants(
        &self,
        account: AccountId,
        expected: &[GrantRow],
        roles: &[GrantRow],
        audit: &[AuditEntry],
    ) -> Result<Vec<GrantRow>> {
        let at = audited_at(audit)?;
        let (expected, roles, audit) = (expected.to_vec(), roles.to_vec(), audit.to_vec());
        self.write(move |tx| {
            tx.prepare_cached("SELECT 1 FROM accounts WHERE id = ?1")
                .and_then(|mut s| s.query_row([account.0], |_| Ok(())).optional())
                .map_err(store_err)?
                .ok_or(StoreError::NotFound)?;
            let current = tx
                .prepare_cached(
                    "SELECT id, role, region_code, site_id FROM grants WHERE account_id = ?1",
                )
                .and_then(|mut s| {
                    s.query_map([account.0], |row| Ok((row.get(0)?, grant_at(row, 1)?)))?
                        .collect::<rusqlite::Result<Vec<(i64, GrantRow)>>>()
                })
                .map_err(store_err)?;
            let changes = GrantChanges::plan(&current, &expected, &roles)?;
            if !changes.is_empty() {
                for id in &changes.remove {
                    tx.prepare_cached("DELETE FROM grants WHERE id = ?1")
                        .and_then(|mut s| s.execute([id]))
                        .map_err(store_err)?;
                }
                for g in &changes.add {
                    insert_grant(tx, account.0, g, micros(at))?;
                }
                write_audit_in_each(tx, &audit)?;
            }
            grants_of(tx, account.0).map_err(store_err)
        })
        .await
    }

    async fn list_staff(&self, within: RegionCode, page: &PageRequest) -> Result<Page<StaffGrant>> {
        let (lo, hi) = within.subtree();
        let after = page.after.clone().map_or((0, 0), |c| (c.key(0), c.key(1)));
        let limit = page.limit;
        self.read(move |c| {
            let rows = c
                .prepare_cached(STAFF_SQL)?
                .query_map(params![lo, hi, after.0, after.1, limit + 1], |row| {
                    Ok(StaffGrant {
                        grant_id: row.get(0)?,
                        account: AccountId(row.get(1)?),
                        login: row.get(2)?,
                        display_name: row.get(3)?,
                        disabled: row.get(4)?,
                        grant: grant_at(row, 5)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |s| {
                vec![s.grant.region.as_i64(), s.grant_id]
            }))
        })
        .await
    }
}
