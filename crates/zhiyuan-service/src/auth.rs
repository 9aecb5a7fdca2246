//! Sessions: password login with throttling, bearer tokens, and the principal behind a
//! token. Only the SHA-256 of a token is stored; a verified token is cached briefly so
//! that ordinary requests cost a hash and a map lookup, not a database round trip.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use moka::sync::Cache;
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use zhiyuan_domain::access::Principal;
use zhiyuan_domain::registration::check_password;
use zhiyuan_store::{AccountRecord, NewSession};

use crate::announce::Stale;
use crate::error::{Result, ServiceError};
use crate::{Ctx, Zhiyuan};
use zhiyuan_domain::Reason;

/// A hash that verifies nothing, checked when the login does not exist so that unknown
/// and known logins take the same time.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Cq3dXQ7Jk3PKk9sYgWj0UDKrjHQvY0SFBGTNuYcZBr8";

/// Verified tokens, briefly.
#[derive(Clone)]
pub(crate) struct PrincipalCache(Cache<[u8; 32], Arc<Principal>>);

impl PrincipalCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self(
            Cache::builder()
                .max_capacity(200_000)
                .time_to_live(ttl.unsigned_abs())
                .support_invalidation_closures()
                .build(),
        )
    }

    /// Forgets every cached principal (after a change of grants or memberships).
    pub(crate) fn clear(&self) {
        self.0.invalidate_all();
    }

    /// Forgets the principal of one session.
    pub(crate) fn forget(&self, token_hash: &[u8; 32]) {
        self.0.invalidate(token_hash);
    }

    /// Forgets the principals `which` picks (an account's, a volunteer's). Reads check the
    /// condition at once; the entries go in the cache's maintenance.
    pub(crate) fn forget_where(&self, which: impl Fn(&Principal) -> bool + Send + Sync + 'static) {
        if self.0.invalidate_entries_if(move |_, p| which(p)).is_err() {
            // Only when the cache was built without closures, which `new` does not do.
            self.clear();
        }
    }
}

/// The SHA-256 of a bearer token, as stored.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    pub token: String,
    pub expires_at: OffsetDateTime,
    pub account: AccountRecord,
}

impl Zhiyuan {
    /// Checks a login and password; on success opens a session. Repeated failures for one
    /// login lock it for a while (429 with the time to wait), however many arrive at once.
    pub async fn login(&self, ctx: &Ctx, login: &str, password: &str) -> Result<LoginOutcome> {
        let cfg = &self.0.config;
        self.count_attempt(ctx, login).await?;
        let account = self.0.store.find_account(login).await?;
        let hash = account
            .as_ref()
            .filter(|a| !a.disabled)
            .and_then(|a| a.password_hash.clone());
        let verified = self
            .0
            .config
            .password_cost
            .verify(
                password.to_owned(),
                hash.clone().unwrap_or_else(|| DUMMY_HASH.to_owned()),
            )
            .await?
            && hash.is_some();
        let Some(account) = account.filter(|_| verified) else {
            tracing::info!("login refused");
            return Err(ServiceError::Unauthenticated);
        };
        self.0.store.clear_login_attempts(login).await?;
        let mut raw = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let token = format!("zy1_{}", URL_SAFE_NO_PAD.encode(raw));
        let expires_at = ctx.now + cfg.session_ttl;
        self.0
            .store
            .insert_session(&NewSession {
                token_hash: hash_token(&token),
                account: account.id,
                created_at: ctx.now,
                expires_at,
            })
            .await?;
        tracing::info!(account.id = account.id.0, "login");
        Ok(LoginOutcome {
            token,
            expires_at,
            account,
        })
    }

    /// Counts an attempt to check a password of `login`, before checking it: 429 with the
    /// time to wait when the login is locked. Counted in one statement, so a burst of
    /// concurrent guesses has no more passwords checked than the same guesses one by one.
    async fn count_attempt(&self, ctx: &Ctx, login: &str) -> Result<()> {
        let limits = self.0.config.login_limits;
        let attempts = self
            .0
            .store
            .count_login_attempt(login, ctx.now, limits)
            .await?;
        match attempts.locked_until {
            Some(until) if attempts.count > limits.max => {
                tracing::info!(attempts = attempts.count, "login locked");
                Err(ServiceError::TooManyRequests {
                    retry_after: until - ctx.now,
                })
            }
            _ => Ok(()),
        }
    }

    /// Changes the signed-in account's password, given the current one, and ends every
    /// other session of the account on every app server; the session `token` stays. A
    /// wrong current password counts toward the login's lock, as at login.
    pub async fn change_password(
        &self,
        ctx: &Ctx,
        token: &str,
        current: &str,
        new: String,
    ) -> Result<()> {
        let me = ctx.user()?.account;
        let account = self
            .0
            .store
            .get_account(me)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        self.count_attempt(ctx, &account.login).await?;
        let cost = &self.0.config.password_cost;
        let verified = match account.password_hash.clone() {
            Some(hash) => cost.verify(current.to_owned(), hash).await?,
            None => false,
        };
        if !verified {
            return Err(ServiceError::because(
                "current_password",
                Reason::WrongPassword,
            ));
        }
        self.0.store.clear_login_attempts(&account.login).await?;
        check_password(&new).map_err(|e| ServiceError::from(e.at("new_password")))?;
        if new == current {
            return Err(ServiceError::because("new_password", Reason::SamePassword));
        }
        let hash = cost.hash(new).await?;
        let audit = ctx.audit("account.password", "account", me.0, None);
        let key = hash_token(token);
        self.0.store.set_password(me, &hash, &key, &audit).await?;
        self.forget(Stale::Account(me)).await;
        Ok(())
    }

    /// The principal behind a bearer token; 401 when unknown or expired.
    pub async fn authenticate(&self, token: &str) -> Result<Arc<Principal>> {
        let key = hash_token(token);
        if let Some(p) = self.0.principals.0.get(&key) {
            return Ok(p);
        }
        let principal = self
            .0
            .store
            .load_principal(&key, OffsetDateTime::now_utc())
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        let principal = Arc::new(principal);
        self.0.principals.0.insert(key, principal.clone());
        Ok(principal)
    }

    /// Ends the session of `token`, on every app server.
    pub async fn logout(&self, token: &str) -> Result<()> {
        let key = hash_token(token);
        self.0.store.delete_session(&key).await?;
        self.forget(Stale::Session(key)).await;
        Ok(())
    }
}
