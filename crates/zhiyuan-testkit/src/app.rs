//! The real server on port 0, with an HTTP client and shortcuts for fixtures.

use base64::Engine;
use rand::RngCore;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use zhiyuan::Config;
use zhiyuan_domain::access::GrantedRole;
use zhiyuan_domain::ids::{OrgId, SiteId};
use zhiyuan_domain::region::{Region, RegionCode};
use zhiyuan_service::{Ctx, NewStaff, Zhiyuan};

use crate::{TestDb, VolunteerBuilder};

/// A response: status, headers and JSON body (`Value::Null` when not JSON).
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Response {
    /// The `field` names of an error response, in order.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["error"]["fields"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Each field an error names, with the code of why (compare with [`why`]).
    pub fn field_codes(&self) -> Vec<(String, String)> {
        self.body["error"]["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                let text = |key: &str| f[key].as_str().unwrap_or_default().to_owned();
                (text("field"), text("code"))
            })
            .collect()
    }

    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

/// A running zhiyuan on a fresh database.
#[derive(Debug)]
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub zhiyuan: Zhiyuan,
    pub config: Config,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// The task reading other app servers' announcements, stopped with the app.
    announcements: tokio::task::JoinHandle<()>,
    pub db: TestDb,
}

/// The password of every staff fixture account (volunteers register with their builder's).
pub const PASSWORD: &str = "test-password";

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns with a configuration adjusted by `tune`.
    pub async fn spawn_with(tune: impl FnOnce(&mut Config)) -> Self {
        let db = TestDb::new().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().expect("address");
        let mut config = Config::default();
        config.database = db.config();
        // Links the server makes (QR codes, credentials, did:web) point at this server.
        config.server.public_url = format!("http://{addr}");
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        let key: String = base64::engine::general_purpose::STANDARD.encode(key);
        config.security.document_key = Some(key.into());
        let ledger = zhiyuan_service::LedgerSettings::ephemeral("test.invalid/ledger");
        config.ledger.origin = ledger.origin;
        config.ledger.signing_key = Some(ledger.signer.to_skey().into());
        let issuer = zhiyuan_service::IssuerSettings::ephemeral("http://127.0.0.1");
        config.credentials.issuer_key =
            Some(zhiyuan_credentials::signing_key_to_multibase(&issuer.key).into());
        // Cheap hashing: the cost is a setting, the algorithm is the same.
        config.security.argon2_memory_kib = 256;
        config.security.argon2_iterations = 1;
        tune(&mut config);
        Self::start(listener, config, db).await
    }

    /// A second app server on this one's database, with the same keys: for what app
    /// servers sharing a database must agree on.
    pub async fn spawn_beside(&self) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let mut config = self.config.clone();
        config.server.public_url = format!("http://{}", listener.local_addr().expect("address"));
        Self::start(listener, config, self.db.beside()).await
    }

    /// Serves on `listener`, reading the other servers' announcements as `serve` does.
    async fn start(listener: tokio::net::TcpListener, config: Config, db: TestDb) -> Self {
        let addr = listener.local_addr().expect("address");
        let app = zhiyuan::build(&config).await.expect("build app");
        let every = std::time::Duration::from_millis(config.server.announcements_every_ms);
        let announcements = zhiyuan_service::spawn_listener(app.zhiyuan.clone(), every)
            .await
            .expect("start reading announcements");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(zhiyuan::serve(listener, app.router, async {
            let _ = rx.await;
        }));
        Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            zhiyuan: app.zhiyuan,
            config,
            shutdown: Some(tx),
            announcements,
            db,
        }
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        self.request_with(method, path, token, body, &[]).await
    }

    /// A POST sent with `Idempotency-Key: key`, as a client that may retry sends it.
    pub async fn post_keyed(
        &self,
        path: &str,
        token: Option<&str>,
        key: &str,
        body: Value,
    ) -> Response {
        let headers = [("idempotency-key", key)];
        self.request_with(Method::POST, path, token, Some(body), &headers)
            .await
    }

    async fn request_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Response {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(Method::PUT, path, token, Some(body)).await
    }

    /// Signs in and returns the token (panics on failure).
    pub async fn login(&self, login: &str, password: &str) -> String {
        let r = self
            .post(
                "/api/v1/auth/login",
                None,
                json!({"login": login, "password": password}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "login {login}: {:?}", r.body);
        r.body["token"].as_str().expect("token").to_owned()
    }

    /// Creates a region and any missing ancestors below the reference cities.
    pub async fn region(&self, code: &str) -> RegionCode {
        let code = RegionCode::parse(code).expect("region code");
        let mut chain: Vec<RegionCode> = code.and_ancestors().collect();
        chain.reverse();
        for c in chain {
            if self.zhiyuan.get_region(c).await.is_err() {
                self.zhiyuan
                    .create_region(
                        &Ctx::system("test"),
                        Region {
                            code: c,
                            name: format!("测试区域{c}"),
                        },
                    )
                    .await
                    .expect("create region");
            }
        }
        code
    }

    /// A staff account with one role; returns its token.
    pub async fn staff(
        &self,
        login: &str,
        role: GrantedRole,
        region: Option<&str>,
        site: Option<SiteId>,
    ) -> String {
        let region = match region {
            Some(r) => Some(self.region(r).await),
            None => None,
        };
        self.zhiyuan
            .create_staff(
                &Ctx::system("test"),
                NewStaff {
                    login: login.to_owned(),
                    display_name: "测试人员".to_owned(),
                    password: PASSWORD.to_owned(),
                    role,
                    region,
                    site,
                },
            )
            .await
            .expect("create staff");
        self.login(login, PASSWORD).await
    }

    /// A jurisdiction admin of `region`.
    pub async fn admin(&self, login: &str, region: &str) -> String {
        self.staff(login, GrantedRole::JurisdictionAdmin, Some(region), None)
            .await
    }

    /// Registers a volunteer through the API; returns (number, token).
    pub async fn volunteer(&self, builder: VolunteerBuilder) -> (String, String) {
        let residence = builder.body["residence_region"]
            .as_str()
            .expect("residence")
            .to_owned();
        self.region(&residence).await;
        let r = self
            .post("/api/v1/volunteers", None, builder.body.clone())
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "register: {:?}", r.body);
        let number = r.body["number"].as_str().expect("number").to_owned();
        let password = builder.body["password"]
            .as_str()
            .expect("password")
            .to_owned();
        let token = self.login(&number, &password).await;
        (number, token)
    }

    /// A site of `kind` in `region` (created as the system); returns its id.
    pub async fn site(&self, region: &str, kind: &str) -> SiteId {
        self.region(region).await;
        let r = self
            .zhiyuan
            .create_site(
                &Ctx::system("test"),
                zhiyuan_store::NewSite {
                    region: RegionCode::parse(region).expect("code"),
                    kind: zhiyuan_domain::site::SiteKind::parse(kind).expect("kind"),
                    name: format!("测试站点{region}"),
                    address: "测试路1号".to_owned(),
                    location: Some(zhiyuan_domain::site::GeoPoint {
                        lat: 23.1,
                        lng: 113.3,
                    }),
                    phone: None,
                },
            )
            .await
            .expect("create site");
        r.id
    }

    /// A grassroots team in `region`, optionally at `site` and with a first admin.
    pub async fn team(&self, region: &str, site: Option<SiteId>, admin: Option<&str>) -> OrgId {
        self.region(region).await;
        let record = self
            .zhiyuan
            .create_org(
                &Ctx::system("test"),
                zhiyuan_store::NewOrg {
                    kind: zhiyuan_domain::org::OrgKind::GrassrootsTeam,
                    name: format!("测试志愿服务队{region}"),
                    credit_code: None,
                    parent: None,
                    region: RegionCode::parse(region).expect("code"),
                    site,
                    description: String::new(),
                    contact_name: Some("联系人".to_owned()),
                    contact_phone: Some("13900139000".to_owned()),
                    service_categories: vec![],
                },
                admin.map(|n| {
                    zhiyuan_domain::volunteer_number::VolunteerNumber::parse(n).expect("number")
                }),
            )
            .await
            .expect("create team");
        record.id
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.announcements.abort();
    }
}

/// What [`Response::field_codes`] holds when one `field` is refused for `code`; several
/// are `[why(a, x), why(b, y)].concat()`.
pub fn why(field: &str, code: &str) -> Vec<(String, String)> {
    vec![(field.to_owned(), code.to_owned())]
}
