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
    // Then where a newcomer looks first: the API's description and the verification form.
    let next_url = |lines: &mut std::io::Lines<BufReader<std::process::ChildStdout>>| {
        let line = lines.next().expect("server output").unwrap();
        line.split_whitespace().last().unwrap().to_owned()
    };
    let (described, verify) = (next_url(&mut lines), next_url(&mut lines));
    assert_eq!(
        (described, verify.clone()),
        (
            format!("{addr}/api/v1/openapi.json"),
            format!("{addr}/verify")
        )
    );
    // Served on another port than `public_url` names, it says where the links it gives
    // out lead, and what to set.
    let public = lines.next().expect("server output").unwrap();
    assert!(
        public.contains("lead to http://127.0.0.1:8080:") && public.contains("server.public_url"),
        "{public}"
    );
    // The server runs without transparent huge pages (see main.rs).
    #[cfg(target_os = "linux")]
    {
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
        assert!(
            status.lines().any(|l| l == "THP_enabled:\t0"),
            "THP still enabled:\n{status}"
        );
    }
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
    // The logins stand in one column, whatever the longest role.
    let columns: std::collections::BTreeSet<Option<usize>> = printed
        .iter()
        .filter(|l| l.starts_with("  "))
        .map(|l| l.rfind(' '))
        .collect();
    assert_eq!(columns.len(), 1, "logins not in one column:\n{text}");
    let login_of = |role: &str| {
        let line = printed
            .iter()
            .find(|l| l.trim_start().starts_with(role))
            .unwrap_or_else(|| panic!("no {role} line in:\n{text}"));
        line.split_whitespace().last().unwrap().to_owned()
    };
    let client = reqwest::Client::new();
    let form = client.get(&verify).send().await.unwrap();
    assert_eq!(form.status(), reqwest::StatusCode::OK);
    assert!(form.text().await.unwrap().contains("name=\"number\""));
    let get = |path: String, login: Option<String>| {
        let client = client.clone();
        let addr = addr.clone();
        async move {
            let mut request = client.get(format!("{addr}/api/v1/{path}"));
            if let Some(login) = login {
                let signed_in = client
                    .post(format!("{addr}/api/v1/auth/login"))
                    .json(&serde_json::json!({"login": login, "password": "zhiyuan-demo"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(signed_in.status(), reqwest::StatusCode::OK, "{login}");
                let token: serde_json::Value = signed_in.json().await.unwrap();
                request = request.bearer_auth(token["token"].as_str().unwrap());
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), reqwest::StatusCode::OK, "{path}");
            response.json::<serde_json::Value>().await.unwrap()
        }
    };
    // The demo province has a menu and a resident's need waiting for the network.
    let orders = get(
        "orders?region=440100".into(),
        Some(login_of("Guangzhou admin")),
    )
    .await;
    assert_eq!(
        orders["items"][0]["service_code"], "elderly-visit",
        "{orders}"
    );
    assert_eq!(orders["items"][0]["status"], "received");
    // It waits at the village station whose staff has the demo site login.
    let staff = get("me".into(), Some(login_of("site staff"))).await;
    let station = &staff["grants"][0]["site"];
    assert_eq!(orders["items"][0]["site"], *station, "{staff} {orders}");
    let at_station = get(
        format!("orders?site={station}"),
        Some(login_of("site staff")),
    )
    .await;
    assert_eq!(
        at_station["items"][0]["id"], orders["items"][0]["id"],
        "{at_station}"
    );
    // Anyone finds the team's published project by its Chinese name, with two upcoming
    // shifts; the demo volunteer holds a place on the first.
    let projects = get("projects?q=清洁".into(), None).await;
    assert_eq!(
        projects["items"][0]["name"], "社区环境清洁行动",
        "{projects}"
    );
    let project = projects["items"][0]["id"].as_i64().unwrap();
    let shifts = get(format!("projects/{project}/shifts"), None).await;
    let accepted: Vec<i64> = shifts
        .as_array()
        .unwrap_or_else(|| panic!("{shifts}"))
        .iter()
        .map(|s| s["accepted"].as_i64().unwrap())
        .collect();
    assert_eq!(accepted, [1, 0], "{shifts}");
    let volunteer = login_of("volunteer ");
    let schedule = get("me/schedule".into(), Some(volunteer.clone())).await;
    assert_eq!(schedule.as_array().map(Vec::len), Some(1), "{schedule}");
    // Past service: three three-hour records for the volunteer; 104 hours for the team
    // admin, who may apply for a first star.
    let totals = get(
        format!("volunteers/{volunteer}/totals"),
        Some(volunteer.clone()),
    )
    .await;
    assert_eq!(
        (totals["minutes"].as_i64(), totals["records"].as_i64()),
        (Some(540), Some(3))
    );
    let leader = login_of("team admin");
    let star = get(format!("volunteers/{leader}/star"), Some(leader.clone())).await;
    assert_eq!(star["eligible"], 1, "{star}");
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
