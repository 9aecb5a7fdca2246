//! Verifiable credentials end to end: a record certificate and a star badge issued as
//! signed credentials that carry their ledger proof, verified with the key the issuer
//! publishes, revoked through the status list, and refused when altered.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use zhiyuan_service::{CredentialVerifier, Ctx, check_credential};
use zhiyuan_store::StarApplicationId;
use zhiyuan_testkit::{TestApp, why};

use crate::participation::world;

const BIN: &str = env!("CARGO_BIN_EXE_zhiyuan");

async fn json_at(app: &TestApp, url: &str) -> Value {
    app.client
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The issuer key from the published DID document.
async fn issuer_key(app: &TestApp, credential: &Value) -> ed25519_dalek::VerifyingKey {
    let method = credential["proof"]["verificationMethod"].as_str().unwrap();
    let did = method.split('#').next().unwrap();
    let url = zhiyuan_service::did_web_url(did).unwrap();
    assert!(url.starts_with(&app.base), "{url} is this server's");
    let doc = json_at(app, &url).await;
    assert_eq!(doc["id"], did);
    let key = doc["verificationMethod"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == method)
        .unwrap()["publicKeyMultibase"]
        .as_str()
        .unwrap()
        .to_owned();
    zhiyuan_credentials::public_key_from_multibase(&key).unwrap()
}

// Several threads: `credential verify` is a child process that asks this test's server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_credential_verifies_with_its_ledger_proof_until_revoked() {
    let w = world().await;
    let (number, token) = w.volunteer(71).await;
    let r = w
        .app
        .post(
            &format!("/api/v1/organisations/{}/records", w.team),
            Some(&w.coordinator),
            json!({"volunteer": number, "activity_name": "敬老服务", "service_date": "2026-11-02",
                   "place": "荔湾", "content": "陪伴", "minutes": 150, "responsible_person": "陈志愿"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let cert = w
        .app
        .post("/api/v1/me/certificates", Some(&token), json!({}))
        .await;
    let cert_number = cert.body["number"].as_str().unwrap().to_owned();
    w.app.zhiyuan.integrate_ledger().await.unwrap();

    let path = format!("/api/v1/certificates/{cert_number}/credential");
    let got = w.app.get(&path, None).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.headers["content-type"], "application/vc+ld+json");
    let credential = got.body;
    assert_eq!(
        credential["type"],
        json!(["VerifiableCredential", "VolunteerServiceRecordCredential"])
    );
    assert_eq!(credential["credentialSubject"]["serviceMinutes"], 150);
    assert_eq!(credential["proof"]["cryptosuite"], "eddsa-jcs-2022");
    // The QR code's address gives the same credential to a client that asks for one.
    let scanned = w
        .app
        .client
        .get(format!("{}/verify/{cert_number}", w.app.base))
        .header("accept", "application/vc+ld+json")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(scanned["id"], credential["id"]);

    let key = issuer_key(&w.app, &credential).await;
    let status_url = credential["credentialStatus"]["statusListCredential"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = json_at(&w.app, &status_url).await;
    let check = check_credential(&credential, &key, Some(&list)).unwrap();
    assert_eq!(check.revoked, Some(false));
    assert_eq!(check.ledger.len(), 1, "the certificate's own ledger entry");
    // A verifier that remembers what it verified is not fooled by a list or a checkpoint
    // altered after it saw the genuine ones.
    let verifier = CredentialVerifier::default();
    assert_eq!(
        verifier.check(&credential, &key, Some(&list)).unwrap(),
        check
    );
    let mut all_revoked = list.clone();
    all_revoked["credentialSubject"]["encodedList"] = json!(zhiyuan_service::encode_status_list(
        &(0..131_072).collect::<Vec<_>>()
    ));
    assert!(
        verifier
            .check(&credential, &key, Some(&all_revoked))
            .unwrap_err()
            .contains("status list")
    );
    // The same credential re-signed by the issuer, but with an altered checkpoint (an
    // extra line breaks its signature): refused although the verifier saw the genuine one.
    let issuer_key = zhiyuan_credentials::signing_key_from_multibase(
        secrecy::ExposeSecret::expose_secret(w.app.config.credentials.issuer_key.as_ref().unwrap()),
    )
    .unwrap();
    let mut altered = credential.clone();
    let proof = altered.as_object_mut().unwrap().remove("proof").unwrap();
    let note = altered["evidence"][0]["checkpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    altered["evidence"][0]["checkpoint"] = json!(note.replacen('\n', "\n\n", 1));
    let options = zhiyuan_credentials::ProofOptions::assertion(
        proof["created"].as_str().unwrap().to_owned(),
        proof["verificationMethod"].as_str().unwrap().to_owned(),
    );
    let altered = zhiyuan_credentials::sign(&altered, &options, &issuer_key).unwrap();
    assert!(
        verifier
            .check(&altered, &key, None)
            .unwrap_err()
            .contains("checkpoint"),
    );

    // Altered facts, an altered ledger evidence, a foreign key: each refused.
    let mut more = credential.clone();
    more["credentialSubject"]["serviceMinutes"] = json!(1500);
    assert!(
        check_credential(&more, &key, None)
            .unwrap_err()
            .contains("proof")
    );
    let other = zhiyuan_service::IssuerSettings::ephemeral("http://127.0.0.1:1");
    assert!(
        check_credential(&credential, &other.key.verifying_key(), None)
            .unwrap_err()
            .contains("proof")
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credential.json");
    std::fs::write(&file, credential.to_string()).unwrap();
    let verify = |extra: &[&str]| {
        Command::new(BIN)
            .current_dir(dir.path())
            .args(["credential", "verify"])
            .arg(&file)
            .args(extra)
            .output()
            .unwrap()
    };
    let ok = verify(&[]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("not revoked"));
    let key_mb = zhiyuan_credentials::public_key_to_multibase(&key);
    let offline = verify(&["--offline", "--issuer-key", &key_mb]);
    assert!(offline.status.success());
    assert!(String::from_utf8_lossy(&offline.stdout).contains("not checked"));

    let revoked = w
        .app
        .post(
            &format!("/api/v1/certificates/{cert_number}/revoke"),
            Some(&token),
            json!({"reason": "信息有误"}),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    let list = json_at(&w.app, &status_url).await;
    assert_eq!(
        check_credential(&credential, &key, Some(&list))
            .unwrap()
            .revoked,
        Some(true)
    );
    let refused = verify(&[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("REVOKED"));
    std::fs::write(&file, more.to_string()).unwrap();
    let tampered = verify(&["--offline", "--issuer-key", &key_mb]);
    assert_eq!(tampered.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&tampered.stderr).contains("INVALID"));
    // Unknown certificates and lists are 404.
    assert_eq!(
        w.app
            .get("/api/v1/certificates/ZY-NOPE/credential", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        w.app.get("/credentials/status/people-0", None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_certified_star_is_an_open_badge_for_its_volunteer() {
    let w = world().await;
    let (number, token) = w.volunteer(72).await;
    crate::stars::hours(&w, &number, 9).await;
    let applied = w
        .app
        .post("/api/v1/me/star-applications", Some(&token), json!({}))
        .await;
    let id = applied.body["id"].as_i64().unwrap();
    let path = format!("/api/v1/star-applications/{id}/credential");
    // Not before it is certified.
    let early = w.app.get(&path, Some(&token)).await;
    assert_eq!(
        (early.status, early.field_codes()),
        (StatusCode::CONFLICT, why("status", "not_certified"))
    );
    let gz = w.app.admin("gz-admin", "440100").await;
    let noticed = w
        .app
        .post(
            &format!("/api/v1/star-applications/{id}/notice"),
            Some(&gz),
            json!({}),
        )
        .await;
    assert_eq!(noticed.status, StatusCode::OK, "{:?}", noticed.body);
    let later = Ctx {
        now: OffsetDateTime::now_utc() + Duration::days(10),
        ..w.ctx(&gz, OffsetDateTime::now_utc()).await
    };
    w.app
        .zhiyuan
        .decide_star(&later, StarApplicationId(id), true, None)
        .await
        .unwrap();
    w.app.zhiyuan.integrate_ledger().await.unwrap();

    let badge = w.app.get(&path, Some(&token)).await;
    assert_eq!(badge.status, StatusCode::OK, "{:?}", badge.body);
    let badge = badge.body;
    assert_eq!(
        badge["type"],
        json!(["VerifiableCredential", "OpenBadgeCredential"])
    );
    assert_eq!(
        badge["credentialSubject"]["achievement"]["name"],
        applied.body["label"]
    );
    // The volunteer is named only by a salted hash of their number, which they can open.
    let id = &badge["credentialSubject"]["identifier"][0];
    assert_eq!(id["hashed"], true);
    assert_eq!(
        id["identityHash"],
        zhiyuan_service::identity_hash(&number, id["salt"].as_str().unwrap())
    );
    assert!(!badge.to_string().contains(&number));
    let key = issuer_key(&w.app, &badge).await;
    let list = json_at(
        &w.app,
        badge["credentialStatus"]["statusListCredential"]
            .as_str()
            .unwrap(),
    )
    .await;
    let check = check_credential(&badge, &key, Some(&list)).unwrap();
    assert_eq!((check.revoked, check.ledger.len()), (Some(false), 1));
    let (_, stranger) = w.volunteer(73).await;
    assert_eq!(
        w.app.get(&path, Some(&stranger)).await.status,
        StatusCode::FORBIDDEN
    );
}
