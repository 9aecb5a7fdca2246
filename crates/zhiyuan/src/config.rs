//! Configuration, layered: defaults, then `zhiyuan.toml` (or `--config FILE`), then
//! `ZHIYUAN__SECTION__KEY` environment variables (and `ZHIYUAN_DATABASE_URL`), then flags.
//! Secrets are wrapped so they never appear in `Debug` output or logs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zhiyuan_ledger::{NoteSigner, NoteVerifier};
use zhiyuan_service::{
    IssuerSettings, LedgerSettings, PasswordCost, ServiceConfig, did_web,
    load_or_create_issuer_key, load_or_create_signer,
};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub security: SecurityConfig,
    pub privacy: PrivacyConfig,
    pub hours: HoursConfig,
    pub attendance: AttendanceConfig,
    pub calendar: CalendarConfig,
    pub certificates: CertificatesConfig,
    pub ledger: LedgerConfig,
    pub credentials: CredentialsConfig,
    pub orders: OrdersConfig,
    pub notify: NotifyConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrdersConfig {
    /// An assigned or offered order nobody took within this many minutes escalates.
    pub take_within_mins: i64,
    /// A need placed by coordinates alone goes to the nearest practice site within this
    /// many metres.
    pub site_radius_m: f64,
}

impl Default for OrdersConfig {
    fn default() -> Self {
        Self {
            take_within_mins: 240,
            site_radius_m: 5_000.0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// How often queued events are relayed to inboxes and the outbox, and due deliveries
    /// sent.
    pub every_ms: u64,
    /// The wait after a failed delivery, doubled after each further failure, up to
    /// `max_backoff_secs`; given up after `max_attempts`.
    pub retry_base_secs: i64,
    pub max_backoff_secs: i64,
    pub max_attempts: i32,
    /// A delivery being sent is not sent again by anyone for this long.
    pub lease_secs: i64,
    /// The SMTP server for e-mail subscriptions, as lettre reads it: `smtp://host:25`
    /// (plain, a local relay), `smtp://user:pass@host:587?tls=required`,
    /// `smtps://user:pass@host`. None: e-mail deliveries fail and are retried.
    #[serde(skip_serializing)]
    pub smtp_url: Option<SecretString>,
    pub mail_from: String,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        let d = zhiyuan_service::NotifySettings::default();
        Self {
            every_ms: 1000,
            retry_base_secs: d.retry_base.whole_seconds(),
            max_backoff_secs: d.max_backoff.whole_seconds(),
            max_attempts: d.max_attempts,
            lease_secs: d.lease.whole_seconds(),
            smtp_url: None,
            mail_from: d.mail_from,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CredentialsConfig {
    /// The issuer's Ed25519 key, multibase (`z3u2…`). When absent, `issuer_key_file` is
    /// read, or created.
    #[serde(skip_serializing)]
    pub issuer_key: Option<SecretString>,
    pub issuer_key_file: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LedgerConfig {
    /// The log's name in its checkpoints; empty: the public URL's host and path + `/ledger`.
    pub origin: String,
    /// The checkpoint signing key (`PRIVATE+KEY+…`). When absent, `signing_key_file` is
    /// read, or created.
    #[serde(skip_serializing)]
    pub signing_key: Option<SecretString>,
    pub signing_key_file: PathBuf,
    /// Verifier keys (`name+id+key`) of keys this log signed with before a rotation.
    pub retired_keys: Vec<String>,
    /// How often the sequencer integrates new entries and signs a checkpoint.
    pub integrate_every_ms: u64,
}

impl LedgerConfig {
    /// The origin as configured, or derived from the public URL.
    pub fn origin(&self, public_url: &str) -> String {
        if !self.origin.is_empty() {
            return self.origin.clone();
        }
        let host = public_url
            .split_once("://")
            .map_or(public_url, |(_, rest)| rest)
            .trim_end_matches('/');
        format!("{host}/ledger")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CertificatesConfig {
    /// The issuing body printed on certificates.
    pub issuer: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CalendarConfig {
    /// Public holidays (`YYYY-MM-DD`): not working days.
    pub holidays: Vec<time::Date>,
    /// Weekend days worked to make up for holidays (调休): working days.
    pub makeup_workdays: Vec<time::Date>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HoursConfig {
    /// `down`, `nearest` or `up`.
    pub rounding: zhiyuan_domain::hours::Rounding,
    /// Minutes per unit: 1 counts exact minutes, 15 quarter hours.
    pub unit_minutes: i64,
    /// The most minutes one volunteer is credited in one day.
    pub daily_cap_minutes: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttendanceConfig {
    /// Check-in opens this many minutes before a shift.
    pub checkin_opens_before_mins: i64,
    /// Attendance still open this long after its shift is closed automatically.
    pub checkout_grace_mins: i64,
    /// How often the server runs its housekeeping: closes forgotten check-outs, escalates
    /// orders past their deadline, flags records become overdue, purges expired sessions,
    /// old announcements and stale login-attempt counts.
    pub auto_close_every_secs: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub body_limit_kib: usize,
    /// The address the public reaches this platform at (in certificates' QR codes).
    pub public_url: String,
    /// How often this server reads what the other app servers sharing its database
    /// announce stale (a logout, a role, a site changed) and forgets its copies.
    pub announcements_every_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` (embedded) or `postgres://USER@HOST:PORT/DB`.
    pub url: String,
    /// PostgreSQL connections per app server in each of its two pools (statements; batched
    /// lookups and group commits).
    pub pool_size: usize,
    /// Serialise migrations across app servers with an advisory lock.
    pub migration_lock: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Base64 of 32 bytes. When absent, `document_key_file` is read, or created.
    #[serde(skip_serializing)]
    pub document_key: Option<SecretString>,
    pub document_key_file: PathBuf,
    pub session_ttl_hours: i64,
    pub principal_cache_secs: i64,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub login_max_failures: u32,
    pub login_window_mins: i64,
    pub login_lockout_mins: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// The privacy policy version volunteers must accept to register.
    pub policy_version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// A `tracing` filter, e.g. `info` or `zhiyuan=debug,info`; `RUST_LOG` overrides it.
    pub filter: String,
}

impl Default for Config {
    fn default() -> Self {
        let cost = PasswordCost::default();
        Self {
            server: ServerConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
                body_limit_kib: 64,
                public_url: "http://127.0.0.1:8080".into(),
                announcements_every_ms: 1000,
            },
            database: DatabaseConfig {
                url: "sqlite://./zhiyuan-data/zhiyuan.db".into(),
                pool_size: 16,
                migration_lock: true,
            },
            security: SecurityConfig {
                document_key: None,
                document_key_file: PathBuf::from("./zhiyuan-data/document.key"),
                session_ttl_hours: 12,
                principal_cache_secs: 30,
                argon2_memory_kib: cost.memory_kib,
                argon2_iterations: cost.iterations,
                login_max_failures: 5,
                login_window_mins: 15,
                login_lockout_mins: 15,
            },
            privacy: PrivacyConfig {
                policy_version: "2026-01".into(),
            },
            hours: HoursConfig {
                rounding: zhiyuan_domain::hours::Rounding::Down,
                unit_minutes: 1,
                daily_cap_minutes: 720,
            },
            calendar: CalendarConfig::default(),
            certificates: CertificatesConfig {
                issuer: "志愿服务信息平台".into(),
            },
            attendance: AttendanceConfig {
                checkin_opens_before_mins: 60,
                checkout_grace_mins: 120,
                auto_close_every_secs: 300,
            },
            ledger: LedgerConfig {
                origin: String::new(),
                signing_key: None,
                signing_key_file: PathBuf::from("./zhiyuan-data/ledger.key"),
                retired_keys: Vec::new(),
                integrate_every_ms: 200,
            },
            credentials: CredentialsConfig {
                issuer_key: None,
                issuer_key_file: PathBuf::from("./zhiyuan-data/issuer.key"),
            },
            orders: OrdersConfig::default(),
            notify: NotifyConfig::default(),
            log: LogConfig {
                format: "text".into(),
                filter: "info".into(),
            },
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Config::default().server
    }
}
impl Default for DatabaseConfig {
    fn default() -> Self {
        Config::default().database
    }
}
impl Default for SecurityConfig {
    fn default() -> Self {
        Config::default().security
    }
}
impl Default for PrivacyConfig {
    fn default() -> Self {
        Config::default().privacy
    }
}
impl Default for HoursConfig {
    fn default() -> Self {
        Config::default().hours
    }
}
impl Default for AttendanceConfig {
    fn default() -> Self {
        Config::default().attendance
    }
}
impl Default for CertificatesConfig {
    fn default() -> Self {
        Config::default().certificates
    }
}
impl Default for LedgerConfig {
    fn default() -> Self {
        Config::default().ledger
    }
}
impl Default for CredentialsConfig {
    fn default() -> Self {
        Config::default().credentials
    }
}
impl Default for LogConfig {
    fn default() -> Self {
        Config::default().log
    }
}

impl Config {
    /// Loads the layers below the flags. `file` defaults to `zhiyuan.toml` when it exists.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                anyhow::ensure!(path.exists(), "config file {} not found", path.display());
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file("zhiyuan.toml")),
        }
        figment = figment.merge(Env::prefixed("ZHIYUAN__").split("__"));
        if let Ok(url) = std::env::var("ZHIYUAN_DATABASE_URL") {
            figment = figment.merge(("database.url", url));
        }
        Ok(figment.extract()?)
    }

    /// The ledger's origin and keys: the configured key, or the key file (created with a
    /// fresh key on first run).
    pub fn ledger(&self) -> anyhow::Result<LedgerSettings> {
        use anyhow::Context;
        use secrecy::ExposeSecret;
        let origin = self.ledger.origin(&self.server.public_url);
        let signer = match &self.ledger.signing_key {
            Some(key) => NoteSigner::parse(key.expose_secret().trim())
                .map_err(|e| anyhow::anyhow!("ledger.signing_key: {e}"))?,
            None => load_or_create_signer(&self.ledger.signing_key_file, &origin).with_context(
                || {
                    format!(
                        "ledger.signing_key_file {}",
                        self.ledger.signing_key_file.display()
                    )
                },
            )?,
        };
        let retired = self
            .ledger
            .retired_keys
            .iter()
            .map(|k| {
                NoteVerifier::parse(k).map_err(|e| anyhow::anyhow!("ledger.retired_keys: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(LedgerSettings {
            origin,
            signer,
            retired,
        })
    }

    /// The platform as a credential issuer: `did:web` of the public URL and the configured
    /// key, or the key file (created on first run).
    pub fn issuer(&self) -> anyhow::Result<IssuerSettings> {
        use anyhow::Context;
        use secrecy::ExposeSecret;
        let key = match &self.credentials.issuer_key {
            Some(k) => zhiyuan_credentials::signing_key_from_multibase(k.expose_secret().trim())
                .map_err(|e| anyhow::anyhow!("credentials.issuer_key: {e}"))?,
            None => {
                load_or_create_issuer_key(&self.credentials.issuer_key_file).with_context(|| {
                    format!(
                        "credentials.issuer_key_file {}",
                        self.credentials.issuer_key_file.display()
                    )
                })?
            }
        };
        Ok(IssuerSettings {
            did: did_web(&self.server.public_url),
            key,
        })
    }

    /// The use cases' settings (with an ephemeral ledger key: [`Config::ledger`] loads the
    /// real one).
    pub fn service(&self) -> ServiceConfig {
        let s = &self.security;
        ServiceConfig {
            session_ttl: time::Duration::hours(s.session_ttl_hours),
            principal_cache_ttl: time::Duration::seconds(s.principal_cache_secs),
            password_cost: PasswordCost {
                memory_kib: s.argon2_memory_kib,
                iterations: s.argon2_iterations,
            },
            login_limits: zhiyuan_store::LoginLimits {
                max: s.login_max_failures,
                window: time::Duration::minutes(s.login_window_mins),
                lockout: time::Duration::minutes(s.login_lockout_mins),
            },
            privacy_policy_version: self.privacy.policy_version.clone(),
            hours: zhiyuan_domain::hours::HoursPolicy {
                rounding: self.hours.rounding,
                unit_minutes: self.hours.unit_minutes,
                daily_cap_minutes: self.hours.daily_cap_minutes,
            },
            checkin_opens_before: time::Duration::minutes(
                self.attendance.checkin_opens_before_mins,
            ),
            checkout_grace: time::Duration::minutes(self.attendance.checkout_grace_mins),
            calendar: zhiyuan_domain::workdays::Calendar {
                holidays: self.calendar.holidays.iter().copied().collect(),
                makeup_workdays: self.calendar.makeup_workdays.iter().copied().collect(),
            },
            public_url: self.server.public_url.clone(),
            certificate_issuer: self.certificates.issuer.clone(),
            ledger: LedgerSettings::ephemeral(&self.ledger.origin(&self.server.public_url)),
            issuer: IssuerSettings::ephemeral(&self.server.public_url),
            orders: zhiyuan_service::OrderSettings {
                take_within: time::Duration::minutes(self.orders.take_within_mins),
                site_radius_m: self.orders.site_radius_m,
            },
            notify: zhiyuan_service::NotifySettings {
                retry_base: time::Duration::seconds(self.notify.retry_base_secs),
                max_backoff: time::Duration::seconds(self.notify.max_backoff_secs),
                max_attempts: self.notify.max_attempts,
                lease: time::Duration::seconds(self.notify.lease_secs),
                smtp_url: self
                    .notify
                    .smtp_url
                    .as_ref()
                    .map(|s| s.expose_secret().to_owned()),
                mail_from: self.notify.mail_from.clone(),
            },
        }
    }
}

/// The commented example printed by `zhiyuan default-config`.
pub const EXAMPLE: &str = r#"# zhiyuan.toml: every setting with its default.
# Environment variables override this file: ZHIYUAN__SECTION__KEY, e.g.
# ZHIYUAN__SERVER__LISTEN=0.0.0.0:8080, and ZHIYUAN_DATABASE_URL for the database URL.
# Command-line flags override both.

[server]
# Address to listen on.
listen = "127.0.0.1:8080"
# Largest request body accepted, in KiB.
body_limit_kib = 64
# The address the public reaches this platform at: certificates' QR codes point here.
public_url = "http://127.0.0.1:8080"
# How often this server reads what the other app servers sharing its database announce
# stale (a logout, a role, a site changed), and forgets its own copies.
announcements_every_ms = 1000

[database]
# sqlite://PATH for the embedded database, or postgres://USER@HOST:PORT/DATABASE.
url = "sqlite://./zhiyuan-data/zhiyuan.db"
# PostgreSQL connections per app server in each of its two pools (statements; batched
# lookups and group commits), so up to twice this many in all.
pool_size = 16
# Serialise migrations across app servers with an advisory lock (turn off for engines
# without advisory locks).
migration_lock = true

[security]
# The master key for identity documents: base64 of 32 random bytes. Prefer setting it
# through ZHIYUAN__SECURITY__DOCUMENT_KEY; when absent the key file below is used, and
# created with a fresh key on first run. Losing the key loses every document number.
# document_key = "..."
document_key_file = "./zhiyuan-data/document.key"
# How long a login lasts.
session_ttl_hours = 12
# How long a verified token is trusted without asking the database. A logout or a role
# changed on another app server takes effect here when its announcement is read
# (server.announcements_every_ms); this is the longest it can take if that fails.
principal_cache_secs = 30
# Argon2id cost for passwords.
argon2_memory_kib = 19456
argon2_iterations = 2
# Failed logins for one login within the window before it is locked, and for how long.
login_max_failures = 5
login_window_mins = 15
login_lockout_mins = 15

[privacy]
# The privacy policy version volunteers must accept to register.
policy_version = "2026-01"

[hours]
# How service time is rounded: down, nearest or up, to units of unit_minutes
# (1 counts exact minutes; 15 counts quarter hours).
rounding = "down"
unit_minutes = 1
# The most minutes one volunteer is credited in one day.
daily_cap_minutes = 720

[attendance]
# Check-in opens this many minutes before a shift.
checkin_opens_before_mins = 60
# Attendance still open this long after its shift ends is closed at the shift's end and
# left pending for the team to review.
checkout_grace_mins = 120
# How often the server looks for forgotten check-outs (and for records become overdue,
# orders past their deadline, expired sessions, old announcements and stale login-attempt
# counts).
auto_close_every_secs = 300

[calendar]
# Working days for the rule that records are completed within 10 working days after an
# activity (Art. 11): weekends are off; list public holidays, and the weekend days worked
# in exchange (调休), as "YYYY-MM-DD".
holidays = []
makeup_workdays = []

[certificates]
# The issuing body printed on record certificates.
issuer = "志愿服务信息平台"

[ledger]
# The tamper-evident ledger's name in its signed checkpoints. Empty: the public URL's
# host and path followed by /ledger (e.g. 127.0.0.1:8080/ledger).
origin = ""
# The checkpoint signing key, PRIVATE+KEY+<origin>+<id>+<key> (see `zhiyuan ledger
# keygen`). Prefer ZHIYUAN__LEDGER__SIGNING_KEY; when absent the key file below is used,
# and created with a fresh key on first run.
# signing_key = "PRIVATE+KEY+..."
signing_key_file = "./zhiyuan-data/ledger.key"
# After rotating the signing key, list the old verifier keys here so that checkpoints it
# signed still verify.
retired_keys = []
# How often new entries are integrated into the tree and a checkpoint signed.
integrate_every_ms = 200

[credentials]
# The key that signs verifiable credentials (record certificates, star badges, status
# lists), Ed25519 as multibase. The issuer is did:web of server.public_url, and its DID
# document is served at /.well-known/did.json. Prefer ZHIYUAN__CREDENTIALS__ISSUER_KEY;
# when absent the key file below is used, and created on first run.
# issuer_key = "z3u2..."
issuer_key_file = "./zhiyuan-data/issuer.key"

[orders]
# An order assigned or offered that nobody took within this many minutes escalates to the
# practice site above the one that dispatched it.
take_within_mins = 240
# A need placed by coordinates alone goes to the nearest practice station, institute or
# center within this many metres; farther, it is refused.
site_radius_m = 5000.0

[notify]
# Events (orders, mobilisation calls, qualification decisions) reach inboxes and the
# outbox, and due deliveries are sent, this often.
every_ms = 1000
# A failed webhook or e-mail is retried after retry_base_secs, doubling each time up to
# max_backoff_secs; after max_attempts it is given up and shown as failed.
retry_base_secs = 30
max_backoff_secs = 21600
max_attempts = 12
# A delivery being sent is not sent again (by this or another server) for this long.
lease_secs = 60
# SMTP for e-mail subscriptions: smtp://host:25 (a local relay), or
# smtp://user:pass@host:587?tls=required, smtps://user:pass@host. Prefer
# ZHIYUAN__NOTIFY__SMTP_URL. Unset: e-mail deliveries fail and are retried.
# smtp_url = "smtp://127.0.0.1:25"
mail_from = "zhiyuan <noreply@localhost>"

[log]
# text or json.
format = "text"
# A tracing filter; RUST_LOG overrides it.
filter = "info"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_example_is_exactly_the_defaults() {
        let parsed: Config = Figment::from(Toml::string(EXAMPLE))
            .extract()
            .expect("example parses");
        assert_eq!(
            toml::to_string(&parsed).unwrap(),
            toml::to_string(&Config::default()).unwrap()
        );
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let mut c = Config::default();
        c.security.document_key = Some(SecretString::from("c2VjcmV0LWtleS1tYXRlcmlhbA=="));
        c.ledger.signing_key = Some(SecretString::from("PRIVATE+KEY+c2VjcmV0"));
        assert!(!format!("{c:?}").contains("c2VjcmV0"));
    }

    #[test]
    fn unknown_settings_are_refused() {
        let r: Result<Config, _> =
            Figment::from(Toml::string("[server]\nlisten_on = \"x\"\n")).extract();
        assert!(r.is_err());
    }
}
