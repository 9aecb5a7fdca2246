//! Mutual recognition of records end to end, on two zhiyuan servers on loopback: one
//! plays the Hong Kong partner (where the volunteer holds a Hong Kong identity card and
//! their hours were served), the other is this platform (where the same person is
//! registered with a Mainland Travel Permit). The partner issues, this platform imports
//! and verifies; nothing but the volunteer's consent links the two accounts, and no
//! document number crosses.

use reqwest::StatusCode;
use serde_json::{Value, json};
use zhiyuan_testkit::{TestApp, VolunteerBuilder, why};

use crate::participation::{World, world};

const VILLAGE: &str = "440106001001";

/// The two platforms and a person registered on both.
struct Pair {
    hk: World,
    here: TestApp,
    /// Their account at the partner (number, token) and here.
    hk_volunteer: (String, String),
    here_volunteer: (String, String),
    /// A province administrator here.
    admin: String,
}

async fn pair() -> Pair {
    let (hk, here) = tokio::join!(world(), TestApp::spawn());
    let hk_volunteer = hk
        .app
        .volunteer(VolunteerBuilder::new(VILLAGE, 81).with(
            "id_document",
            json!({"type": "hk_id", "number": "A123456(3)"}),
        ))
        .await;
    let here_volunteer = here
        .volunteer(VolunteerBuilder::new(VILLAGE, 82).with(
            "id_document",
            json!({"type": "travel_permit", "number": "H1234567800"}),
        ))
        .await;
    // 150 minutes served at the partner.
    let r = hk
        .app
        .post(
            &format!("/api/v1/organisations/{}/records", hk.team),
            Some(&hk.coordinator),
            json!({"volunteer": hk_volunteer.0, "activity_name": "長者探訪", "service_date": "2026-11-02",
                   "place": "深水埗", "content": "探訪獨居長者", "minutes": 150,
                   "responsible_person": "陳志願"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let admin = here.admin("gd-admin", "440000").await;
    Pair {
        hk,
        here,
        hk_volunteer,
        here_volunteer,
        admin,
    }
}

impl Pair {
    /// What the administrator here enters for the partner, read from what the partner
    /// publishes (its DID document, checkpoint and log keys), as confirmed out of band.
    async fn partner_entry(&self, counts_toward_stars: bool) -> Value {
        let hk = &self.hk.app;
        let doc = hk.get("/.well-known/did.json", None).await.body;
        let text = |path: &'static str| async move {
            hk.client
                .get(format!("{}{path}", hk.base))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        };
        hk.zhiyuan.integrate_ledger().await.unwrap();
        let checkpoint = text("/ledger/checkpoint").await;
        let keys = text("/ledger/keys").await;
        json!({
            "name": "香港義工平台", "jurisdiction": "HK", "url": hk.base,
            "did": doc["id"],
            "issuer_key": doc["verificationMethod"][0]["publicKeyMultibase"],
            "log_origin": checkpoint.lines().next().unwrap(),
            "log_keys": keys.lines().collect::<Vec<_>>(),
            "counts_toward_stars": counts_toward_stars,
        })
    }

    async fn trust_partner(&self, counts_toward_stars: bool) -> i64 {
        let entry = self.partner_entry(counts_toward_stars).await;
        let r = self
            .here
            .post("/api/v1/partners", Some(&self.admin), entry)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body["id"].as_i64().unwrap()
    }

    /// Step 1 here: a challenge for `token`'s volunteer; returns (challenge, domain).
    async fn challenge(&self, token: &str) -> (String, String) {
        let r = self
            .here
            .post("/api/v1/me/recognition-challenges", Some(token), json!({}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        (
            r.body["challenge"].as_str().unwrap().to_owned(),
            r.body["domain"].as_str().unwrap().to_owned(),
        )
    }

    /// Step 2 at the partner: the bundle for `domain` and `challenge`.
    async fn bundle(&self, domain: &str, challenge: &str) -> Value {
        let r = self
            .hk
            .app
            .post(
                "/api/v1/me/recognition-bundles",
                Some(&self.hk_volunteer.1),
                json!({"domain": domain, "challenge": challenge}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        assert_eq!(r.headers["content-type"], "application/vp+ld+json");
        r.body
    }

    /// Step 3 here.
    async fn import(&self, token: &str, bundle: &Value) -> zhiyuan_testkit::Response {
        self.here
            .post("/api/v1/me/recognitions", Some(token), bundle.clone())
            .await
    }

    async fn recognised(&self) -> Value {
        let r = self
            .here
            .get(
                &format!("/api/v1/volunteers/{}/recognitions", self.here_volunteer.0),
                Some(&self.here_volunteer.1),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body
    }
}

// Several threads: each server's requests to the other run while the test awaits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hours_served_at_a_hong_kong_partner_are_recognised_here_with_consent_and_counted_by_policy()
 {
    let p = pair().await;
    let me = &p.here_volunteer.1;
    // The registry is kept by the province; anyone may read it.
    let entry = p.partner_entry(false).await;
    let refused = p
        .here
        .post("/api/v1/partners", Some(me), entry.clone())
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let mut careless = entry.clone();
    for (key, value) in [
        ("name", json!(" ")),
        ("url", json!("volunteer.example.hk")),
        ("jurisdiction", json!("Hong Kong")),
        ("did", json!("volunteer.example.hk")),
        ("issuer_key", json!("z6Mk-not-a-key")),
        ("log_origin", json!("volunteer.example.hk\nsecond line")),
        ("log_keys", json!(["volunteer.example.hk"])),
    ] {
        careless[key] = value;
    }
    let r = p
        .here
        .post("/api/v1/partners", Some(&p.admin), careless)
        .await;
    assert_eq!(
        r.field_codes(),
        [
            why("name", "required"),
            why("jurisdiction", "not_a_jurisdiction"),
            why("url", "not_a_url"),
            why("did", "not_a_did"),
            why("issuer_key", "not_a_key"),
            why("log_origin", "control_characters"),
            why("log_keys[0]", "not_a_key"),
        ]
        .concat(),
        "each mistake named, in the form's order"
    );
    let partner = p.trust_partner(false).await;
    let registry = p.here.get("/api/v1/partners", None).await.body;
    assert_eq!(registry[0]["jurisdiction"], "HK");
    let twice = p.here.post("/api/v1/partners", Some(&p.admin), entry).await;
    assert_eq!(
        (twice.status, twice.field_codes()),
        (StatusCode::CONFLICT, why("did", "exists"))
    );
    // A bundle asked for with what is not a platform's DID, or a challenge cut short.
    let (challenge, domain) = p.challenge(me).await;
    for (domain, challenge, refused) in [
        (
            "zhiyuan.gd.example",
            challenge.as_str(),
            why("domain", "not_a_did"),
        ),
        (domain.as_str(), &challenge[..8], why("challenge", "length")),
    ] {
        let r =
            p.hk.app
                .post(
                    "/api/v1/me/recognition-bundles",
                    Some(&p.hk_volunteer.1),
                    json!({"domain": domain, "challenge": challenge}),
                )
                .await;
        assert_eq!(r.field_codes(), refused);
    }

    let (challenge, domain) = p.challenge(me).await;
    assert_eq!(domain, p.here.zhiyuan.config().issuer.did);
    let bundle = p.bundle(&domain, &challenge).await;
    assert_eq!(
        bundle["type"],
        json!(["VerifiablePresentation", "VolunteerRecordBundle"])
    );
    assert_eq!(bundle["proof"]["challenge"], challenge.as_str());
    assert_eq!(bundle["proof"]["domain"], domain.as_str());
    let text = bundle.to_string();
    for number in ["A123456", "H12345678"] {
        assert!(
            !text.contains(number),
            "no document number crosses: {number}"
        );
    }

    let imported = p.import(me, &bundle).await;
    assert_eq!(imported.status, StatusCode::CREATED, "{:?}", imported.body);
    assert_eq!(imported.body["partner"]["id"], partner);
    assert_eq!(imported.body["partner"]["jurisdiction"], "HK");
    assert_eq!(imported.body["partner_account"], p.hk_volunteer.0.as_str());
    assert_eq!(imported.body["hours"], 2.5);
    assert_eq!(imported.body["records"], 1);
    let recognised = p.recognised().await;
    assert_eq!(recognised["hours"], 2.5);
    assert_eq!(recognised["hours_toward_stars"], 0.0);
    let profile = p
        .here
        .get(
            &format!("/api/v1/volunteers/{}", p.here_volunteer.0),
            Some(me),
        )
        .await;
    assert_eq!(profile.body["recognised_hours"], 2.5);

    // The same bundle again: its challenge is spent.
    let replay = p.import(me, &bundle).await;
    assert_eq!(replay.status, StatusCode::CONFLICT, "{:?}", replay.body);
    assert_eq!(
        replay.field_codes(),
        why("bundle.proof.challenge", "challenge_stale")
    );
    assert_eq!(p.recognised().await["items"].as_array().unwrap().len(), 1);

    // The policy decides what counts toward stars.
    let star = format!("/api/v1/volunteers/{}/star", p.here_volunteer.0);
    let standing = p.here.get(&star, Some(me)).await.body;
    assert_eq!(
        (&standing["hours"], &standing["recognised_hours"]),
        (&json!(0.0), &json!(2.5))
    );
    let changed = p
        .here
        .patch(
            &format!("/api/v1/partners/{partner}"),
            Some(&p.admin),
            json!({"counts_toward_stars": true, "reason": "粤港互认协议第二期", "version": 1}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.body);
    let standing = p.here.get(&star, Some(me)).await.body;
    assert_eq!(standing["hours"], 2.5);
    assert_eq!(p.recognised().await["hours_toward_stars"], 2.5);

    // The partner account is linked to this volunteer: someone else here cannot claim it.
    let (_, other) = p.here.volunteer(VolunteerBuilder::new(VILLAGE, 83)).await;
    let (challenge, domain) = p.challenge(&other).await;
    let bundle = p.bundle(&domain, &challenge).await;
    let claimed = p.import(&other, &bundle).await;
    assert_eq!(claimed.status, StatusCode::CONFLICT, "{:?}", claimed.body);
    assert_eq!(
        claimed.field_codes(),
        why("bundle.holder", "account_linked_elsewhere")
    );

    // Withdrawing consent removes the recognition and the hours it brought.
    let id = imported.body["id"].as_i64().unwrap();
    let gone = p
        .here
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/me/recognitions/{id}?reason=no%20longer"),
            Some(me),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{:?}", gone.body);
    let recognised = p.recognised().await;
    assert_eq!(recognised["hours"], 0.0);
    assert_eq!(recognised["items"], json!([]));
    let audit = p.here.get("/api/v1/audit?limit=100", Some(&p.admin)).await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "partner.add",
        "partner.update",
        "recognition.import",
        "recognition.withdraw",
    ] {
        assert!(actions.contains(&action), "{action} audited: {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_altered_misaddressed_unchallenged_revoked_or_suspended_bundles_record_nothing() {
    let p = pair().await;
    let me = &p.here_volunteer.1;
    let (challenge, domain) = p.challenge(me).await;
    let bundle = p.bundle(&domain, &challenge).await;
    let refused = |r: &zhiyuan_testkit::Response, status: StatusCode, field: &str, code: &str| {
        assert_eq!(
            (r.status, r.field_codes()),
            (status, why(field, code)),
            "{:?}",
            r.body
        );
    };
    const UNPROCESSABLE: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

    // Not in the trust registry.
    let r = p.import(me, &bundle).await;
    refused(
        &r,
        UNPROCESSABLE,
        "bundle.proof.verificationMethod",
        "untrusted_partner",
    );
    let partner = p.trust_partner(true).await;

    // Altered: the hours inside a credential, or the holder of the presentation.
    let mut more_hours = bundle.clone();
    more_hours["verifiableCredential"][0]["credentialSubject"]["serviceMinutes"] = json!(15_000);
    let r = p.import(me, &more_hours).await;
    refused(&r, UNPROCESSABLE, "bundle.proof", "signature_invalid");
    let mut other_holder = bundle.clone();
    other_holder["holder"]["name"] = json!("李冒名");
    let r = p.import(me, &other_holder).await;
    refused(&r, UNPROCESSABLE, "bundle.proof", "signature_invalid");
    let mut letter = bundle.clone();
    letter["type"] = json!(["VerifiablePresentation"]);
    let r = p.import(me, &letter).await;
    refused(&r, UNPROCESSABLE, "bundle.type", "not_a_bundle");

    // Made for another platform, or answering a challenge this platform never gave.
    let elsewhere = p.bundle("did:web:elsewhere.example", &challenge).await;
    let r = p.import(me, &elsewhere).await;
    refused(&r, UNPROCESSABLE, "bundle.proof.domain", "made_for_another");
    let unasked = p.bundle(&domain, "never-issued-by-this-platform").await;
    let r = p.import(me, &unasked).await;
    refused(
        &r,
        StatusCode::CONFLICT,
        "bundle.proof.challenge",
        "challenge_stale",
    );
    // Another volunteer's challenge does not serve either.
    let (_, other) = p.here.volunteer(VolunteerBuilder::new(VILLAGE, 84)).await;
    let r = p.import(&other, &bundle).await;
    refused(
        &r,
        StatusCode::CONFLICT,
        "bundle.proof.challenge",
        "challenge_stale",
    );

    // Revoked at the partner after it was issued.
    let number = bundle["verifiableCredential"][0]["credentialSubject"]["certificateNumber"]
        .as_str()
        .unwrap()
        .to_owned();
    let r =
        p.hk.app
            .post(
                &format!("/api/v1/certificates/{number}/revoke"),
                Some(&p.hk_volunteer.1),
                json!({"reason": "重新出具"}),
            )
            .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = p.import(me, &bundle).await;
    refused(
        &r,
        UNPROCESSABLE,
        "bundle.verifiableCredential[0]",
        "revoked_by_partner",
    );

    // Suspended partner.
    let path = format!("/api/v1/partners/{partner}");
    let suspend = |active: bool, version: i64| {
        p.here.patch(
            &path,
            Some(&p.admin),
            json!({"active": active, "reason": "协议续签中", "version": version}),
        )
    };
    assert_eq!(suspend(false, 1).await.status, StatusCode::OK);
    let fresh = p.bundle(&domain, &challenge).await;
    let r = p.import(me, &fresh).await;
    refused(
        &r,
        UNPROCESSABLE,
        "bundle.proof.verificationMethod",
        "partner_suspended",
    );

    // Nothing was recorded, and the challenge refused imports never spent still serves.
    assert_eq!(p.recognised().await["items"], json!([]));
    assert_eq!(suspend(true, 2).await.status, StatusCode::OK);
    let r = p.import(me, &fresh).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(p.recognised().await["hours_toward_stars"], 2.5);
}
