//! zhiyuan's use cases. Each public method of [`Zhiyuan`] is one thing a person can do:
//! it authorises the actor in its [`Ctx`] against the facts it loads, calls the store, and
//! audits every change in the same transaction. HTTP handlers and the command line call
//! these and nothing below them.

mod announce;
mod attendance;
mod auth;
mod batch;
mod certificates;
mod codes;
mod corrections;
mod credentials;
mod ctx;
mod demo;
mod error;
mod housekeeping;
pub mod idempotency;
mod import;
mod ledger;
mod matching;
mod notify;
mod order_activity;
mod orders;
mod orgs;
mod overdue;
mod password;
mod projects;
mod recognition;
mod records;
mod regions;
pub mod seed;
mod signups;
mod sites;
mod staff;
mod stars;
mod talent;
mod vault;
mod volunteers;

use std::sync::Arc;

use time::Duration;
use zhiyuan_store::Store;

pub use announce::{Listener, spawn_listener};
pub use attendance::{AttendanceOutcome, Presence};
pub use auth::{LoginOutcome, hash_token};
pub use batch::{BatchReport, RowOutcome, record_template_name, refused_rows_name};
pub use certificates::{
    CertificateRequest, CertificateWords, certificate_words, typed_number, verification_url,
};
pub use codes::{CodeError, CodeKind};
pub use corrections::CorrectionOutcome;
pub use credentials::{
    CredentialCheck, CredentialVerifier, IssuerSettings, STATUS_LIST_BITS, StatusList,
    check_credential, did_web, did_web_url, encode_status_list, identity_hash,
    load_or_create_issuer_key, status_bit,
};
pub use ctx::{Actor, Changes, Ctx};
pub use demo::{DEMO_PASSWORD, DemoLogins};
pub use error::{Result, ServiceError};
pub use housekeeping::{spawn_housekeeping, spawn_sequencer};
pub use import::TableFormat;
pub use ledger::{
    INTEGRATE_BATCH, LedgerOpening, LedgerProblem, LedgerReport, LedgerSettings, ProblemKind,
    load_or_create_signer,
};
pub use matching::{Candidate, CandidateKind, CandidateRequest, Candidates};
pub use notify::{Channel, NotifySettings, spawn_notifier, webhook_signature};
pub use order_activity::ActivityInput;
pub use orders::{Completion, MenuItemInput, NeedInput, OrderCommand, OrderSettings, Submitted};
pub use orgs::{MembershipDecision, OrgPatch, OrgView};
pub use overdue::{Overdue, RECORD_WORKDAYS};
pub use password::PasswordCost;
pub use projects::{ProjectPatch, ShiftPatch};
pub use recognition::{CHALLENGE_TTL, PartnerPatch, RecognitionChallenge, Recognitions};
pub use records::{Entry, SelfReport};
pub use signups::SignupOutcome;
pub use sites::SitePatch;
pub use staff::{NewStaff, Role};
pub use stars::StarStanding;
pub use talent::{CHECK_IN_RADIUS_M, CallInput, MAX_NOTIFIED, QualificationInput};
pub use vault::{Vault, VaultError};
pub use volunteers::VolunteerPatch;

/// Settings of the use cases.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// How long a login lasts.
    pub session_ttl: Duration,
    /// How long a verified token is trusted without asking the database again. Logout on
    /// this server takes effect at once; on other servers within this time.
    pub principal_cache_ttl: Duration,
    pub password_cost: PasswordCost,
    /// Attempts to sign in as one login name before it is locked, and for how long.
    pub login_limits: zhiyuan_store::LoginLimits,
    /// The privacy policy version registrations must accept.
    pub privacy_policy_version: String,
    /// How service minutes are measured, rounded and capped.
    pub hours: zhiyuan_domain::hours::HoursPolicy,
    /// How long before a shift check-in opens.
    pub checkin_opens_before: Duration,
    /// How long after a shift an open attendance is closed automatically.
    pub checkout_grace: Duration,
    /// Working days, for the 10-working-day rule of Art. 11.
    pub calendar: zhiyuan_domain::workdays::Calendar,
    /// The address the public reaches this platform at (in certificates' QR codes).
    pub public_url: String,
    /// The issuing body printed on certificates.
    pub certificate_issuer: String,
    /// The tamper-evident ledger's origin and keys.
    pub ledger: LedgerSettings,
    /// The platform's identity and key as a credential issuer.
    pub issuer: IssuerSettings,
    /// How orders escalate and which sites cover a place.
    pub orders: OrderSettings,
    pub notify: NotifySettings,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            session_ttl: Duration::hours(12),
            principal_cache_ttl: Duration::seconds(30),
            password_cost: PasswordCost::default(),
            login_limits: zhiyuan_store::LoginLimits {
                max: 5,
                window: Duration::minutes(15),
                lockout: Duration::minutes(15),
            },
            privacy_policy_version: "2026-01".to_owned(),
            hours: zhiyuan_domain::hours::HoursPolicy::default(),
            checkin_opens_before: Duration::hours(1),
            checkout_grace: Duration::hours(2),
            calendar: zhiyuan_domain::workdays::Calendar::default(),
            public_url: "http://127.0.0.1:8080".to_owned(),
            certificate_issuer: "志愿服务信息平台".to_owned(),
            ledger: LedgerSettings::ephemeral("zhiyuan.invalid/ledger"),
            issuer: IssuerSettings::ephemeral("http://127.0.0.1:8080"),
            orders: OrderSettings::default(),
            notify: NotifySettings::default(),
        }
    }
}

/// The application: the store, the vault and the settings. Cloning shares them (one
/// reference count), so handlers may take it by value on every request.
#[derive(Clone)]
pub struct Zhiyuan(Arc<Inner>);

struct Inner {
    store: Arc<dyn Store>,
    vault: Vault,
    config: ServiceConfig,
    principals: auth::PrincipalCache,
    /// This server among those sharing the database, in its announcements (see
    /// `announce`).
    instance: u64,
    /// Ledger tiles read recently (see `Zhiyuan::tiles`): proofs mostly read the same top tiles.
    tiles: moka::sync::Cache<zhiyuan_ledger::TileId, Arc<zhiyuan_ledger::ExpandedTile>>,
    /// For what partner platforms publish (their status lists).
    http: reqwest::Client,
    /// Sites as the order flow reads them to route and authorise moves, for a few
    /// seconds (see `Zhiyuan::site_for_orders`).
    sites: Brief<zhiyuan_domain::ids::SiteId, zhiyuan_store::SiteRecord>,
    /// Sites with their merged menus, and a county's teams, as matching reads them on
    /// every proposal, as briefly.
    menus: Brief<zhiyuan_domain::ids::SiteId, Arc<orders::SiteMenu>>,
    teams: Brief<zhiyuan_domain::region::RegionCode, Arc<Vec<zhiyuan_store::OrgRecord>>>,
    /// Where notifications go out (see `notify`).
    channels: notify::Channels,
}

/// Reference data read on every request of a busy flow, kept ten seconds: a change made
/// through this server empties the entry at once, and other app servers when they read its
/// announcement (about a second; see `announce`), at worst after the ten seconds. Only for
/// what may be that stale (routing, proposals), never for a decision a write depends on
/// beyond that.
struct Brief<K, V>(moka::sync::Cache<K, V>);

impl<K, V> Brief<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn new() -> Self {
        Self(
            moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(std::time::Duration::from_secs(10))
                .build(),
        )
    }

    /// The value kept for `key`, or what `load` reads (then kept).
    async fn read(&self, key: K, load: impl Future<Output = Result<V>>) -> Result<V> {
        if let Some(v) = self.0.get(&key) {
            return Ok(v);
        }
        let v = load.await?;
        self.0.insert(key, v.clone());
        Ok(v)
    }

    fn forget(&self, key: &K) {
        self.0.invalidate(key);
    }

    fn forget_all(&self) {
        self.0.invalidate_all();
    }
}

impl std::fmt::Debug for Zhiyuan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zhiyuan")
            .field("backend", &self.0.store.backend())
            .finish_non_exhaustive()
    }
}

impl Zhiyuan {
    pub fn new(store: Arc<dyn Store>, vault: Vault, config: ServiceConfig) -> Self {
        let principals = auth::PrincipalCache::new(config.principal_cache_ttl);
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        let channels = notify::Channels::new(&config.notify, http.clone());
        Self(Arc::new(Inner {
            store,
            vault,
            config,
            principals,
            instance: rand::random(),
            channels,
            // Up to 256 MiB of expanded tiles (16 KiB each when full): every tile above
            // level 0 of a billion-leaf log, and a share of its level-0 tiles.
            tiles: moka::sync::Cache::builder()
                .weigher(|_, t: &Arc<zhiyuan_ledger::ExpandedTile>| {
                    u32::try_from(t.weight()).unwrap_or(u32::MAX)
                })
                .max_capacity(256 << 20)
                .build(),
            http,
            sites: Brief::new(),
            menus: Brief::new(),
            teams: Brief::new(),
        }))
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.0.store
    }

    pub fn vault(&self) -> &Vault {
        &self.0.vault
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.0.config
    }

    /// Loads reference data (Guangdong and its cities) that is missing.
    pub async fn ensure_reference_data(&self) -> Result<usize> {
        Ok(self
            .0
            .store
            .ensure_regions(&zhiyuan_domain::region::reference_regions())
            .await?)
    }
}

/// A short free text field (trimmed, 1 to `max` characters), its error collected under
/// `field`.
fn text(field: &str, value: &str, max: usize, errors: &mut zhiyuan_domain::Invalid) -> String {
    match zhiyuan_domain::site::parse_text(value, max) {
        Ok(t) => t,
        Err(e) => {
            errors.push(e.under(field));
            String::new()
        }
    }
}

/// A reason as given, trimmed; `None` when blank.
fn stated(reason: Option<String>) -> Option<String> {
    reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
}

/// Refuses a change based on a version the record has moved past.
fn check_version(expected: Option<i64>, actual: i64) -> Result<()> {
    match expected {
        Some(v) if v != actual => Err(ServiceError::conflict_because(
            "version",
            zhiyuan_domain::Reason::ChangedMeanwhile,
        )),
        _ => Ok(()),
    }
}
