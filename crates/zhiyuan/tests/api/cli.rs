//! The binary itself, as a newcomer runs it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use zhiyuan_testkit::TestDb;

const BIN: &str = env!("CARGO_BIN_EXE_zhiyuan");

#[test]
fn default_config_prints_the_commented_defaults() {
    let out = Command::new(BIN).arg("default-config").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        zhiyuan::config::EXAMPLE
    );
}

#[tokio::test]
async fn seed_writes_a_province_and_refuses_a_second_run() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        Command::new(BIN)
            .current_dir(dir.path())
            .env("ZHIYUAN_DATABASE_URL", &db.url)
            .args(["seed", "--volunteers", "3000", "--records", "20000"])
            .output()
            .unwrap()
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let store = db.store().await;
    assert_eq!(store.count_volunteers().await.unwrap(), 3000);
    // Totals written in bulk equal the sum of each volunteer's records.
    let (first, _) = store.volunteer_id_bounds().await.unwrap().unwrap();
    for id in [first, first + 1234] {
        let v = zhiyuan_domain::ids::VolunteerId(id);
        let records = store
            .list_records(
                &zhiyuan_store::RecordQuery {
                    volunteer: Some(v),
                    current_only: true,
                    ..Default::default()
                },
                &zhiyuan_store::PageRequest::first(200),
            )
            .await
            .unwrap();
        let sum: i64 = records.items.iter().map(|r| r.record.minutes).sum();
        let totals = store.totals(v, 2026).await.unwrap();
        assert!(records.items.len() >= 6, "about 20000/3000 records each");
        assert_eq!(
            (totals.minutes, totals.records),
            (sum, records.items.len() as i64)
        );
    }
    // The key file was created beside the data, readable only by its owner.
    assert!(dir.path().join("zhiyuan-data/document.key").exists());
    let second = run();
    assert!(!second.status.success());
    assert_eq!(store.count_volunteers().await.unwrap(), 3000);
}

#[tokio::test]
async fn serve_demo_prints_a_login_per_role_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    let mut child = Command::new(BIN)
        .current_dir(dir.path())
        .env("ZHIYUAN_DATABASE_URL", &db.url)
        .env("ZHIYUAN__SECURITY__ARGON2_MEMORY_KIB", "256")
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = Vec::new();
    let addr = loop {
        let line = lines.next().expect("server output").unwrap();
        if let Some(addr) = line.strip_prefix("zhiyuan is serving on ") {
            break addr.to_owned();
        }
        printed.push(line);
    };
    let text = printed.join("\n");
    for role in [
        "province admin",
        "Guangzhou admin",
        "Shenzhen admin",
        "auditor",
        "site staff",
        "team admin",
        "volunteer",
    ] {
        assert!(text.contains(role), "no {role} login in:\n{text}");
    }
    let client = reqwest::Client::new();
    let login = client
        .post(format!("{addr}/api/v1/auth/login"))
        .json(&serde_json::json!({"login": "demo-guangzhou", "password": "zhiyuan-demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), reqwest::StatusCode::OK);
    // The demo province has a menu and a resident's need waiting for the network.
    let token: serde_json::Value = login.json().await.unwrap();
    let orders: serde_json::Value = client
        .get(format!("{addr}/api/v1/orders?region=440100"))
        .bearer_auth(token["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        orders["items"][0]["service_code"], "elderly-visit",
        "{orders}"
    );
    assert_eq!(orders["items"][0]["status"], "received");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn zhiyuan_toml_is_read_and_the_environment_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("zhiyuan.toml"),
        "[database]\nurl = \"sqlite://./from-toml/z.db\"\n[security]\ndocument_key_file = \"./from-toml/key\"\n",
    )
    .unwrap();
    let from_toml = Command::new(BIN)
        .current_dir(dir.path())
        .env_remove("ZHIYUAN_DATABASE_URL")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        from_toml.status.success(),
        "{}",
        String::from_utf8_lossy(&from_toml.stderr)
    );
    assert!(dir.path().join("from-toml/z.db").exists());
    assert!(dir.path().join("from-toml/key").exists());
    let from_env = Command::new(BIN)
        .current_dir(dir.path())
        .env("ZHIYUAN__DATABASE__URL", "sqlite://./from-env/z.db")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(from_env.status.success());
    assert!(dir.path().join("from-env/z.db").exists());
    let bad = Command::new(BIN)
        .current_dir(dir.path())
        .env("ZHIYUAN__DATABASE__URL", "mysql://nope")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("sqlite:// or postgres://"));
}
