//! The tamper-evident ledger end to end: records logged with their write, integrated and
//! signed, proved from what the log publishes, and every change made behind zhiyuan's
//! back caught by the audit.

use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest, Sha256};
use zhiyuan_ledger::{
    Checkpoint, Hash, NoteSigner, NoteVerifier, leaf_hash, tile_hashes, verify_inclusion,
};
use zhiyuan_service::ProblemKind;
use zhiyuan_testkit::{TestApp, why};

use crate::participation::{World, world};

const BIN: &str = env!("CARGO_BIN_EXE_zhiyuan");

async fn entered(w: &World, number: &str, minutes: i64, day: &str) -> i64 {
    let r = w
        .app
        .post(
            &format!("/api/v1/organisations/{}/records", w.team),
            Some(&w.coordinator),
            json!({"volunteer": number, "activity_name": "义务植树", "service_date": day,
                   "place": "白云山", "content": "植树", "minutes": minutes, "responsible_person": "陈志愿"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_i64().expect("id")
}

async fn bytes(app: &TestApp, path: &str) -> (StatusCode, Vec<u8>) {
    let r = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    (r.status(), r.bytes().await.unwrap().to_vec())
}

fn hash(b64: &serde_json::Value) -> Hash {
    Hash::try_from(STANDARD.decode(b64.as_str().unwrap()).unwrap().as_slice()).unwrap()
}

/// The published verifier keys.
async fn keys(app: &TestApp) -> Vec<NoteVerifier> {
    let (status, body) = bytes(app, "/ledger/keys").await;
    assert_eq!(status, StatusCode::OK);
    String::from_utf8(body)
        .unwrap()
        .lines()
        .map(|k| NoteVerifier::parse(k).unwrap())
        .collect()
}

#[tokio::test]
async fn a_record_is_logged_signed_and_proved_from_what_the_log_publishes() {
    let w = world().await;
    let (number, token) = w.volunteer(31).await;
    let first = entered(&w, &number, 90, "2026-11-02").await;
    entered(&w, &number, 60, "2026-11-03").await;
    // Before integration there is no checkpoint and the entry has no place yet.
    assert_eq!(
        bytes(&w.app, "/ledger/checkpoint").await.0,
        StatusCode::NOT_FOUND
    );
    let pending = w
        .app
        .get(&format!("/api/v1/records/{first}/ledger"), Some(&token))
        .await;
    assert_eq!(pending.status, StatusCode::OK, "{:?}", pending.body);
    assert!(pending.body["index"].is_null());
    w.app.zhiyuan.integrate_ledger().await.unwrap();

    let (status, note) = bytes(&w.app, "/ledger/checkpoint").await;
    assert_eq!(status, StatusCode::OK);
    let note = String::from_utf8(note).unwrap();
    let origin = w.app.zhiyuan.ledger_origin().to_owned();
    let checkpoint = Checkpoint::open(&note, &origin, &keys(&w.app).await).unwrap();
    assert_eq!(checkpoint.size, 2);

    // The holder's opening: the content and salt make the commitment, the commitment
    // the leaf, and the proof leads to the signed root.
    let opening = w
        .app
        .get(&format!("/api/v1/records/{first}/ledger"), Some(&token))
        .await
        .body;
    assert_eq!(opening["kind"], "record");
    assert_eq!(opening["content"]["minutes"], 90);
    let content = serde_json_canonicalizer::to_vec(&opening["content"]).unwrap();
    let salt = STANDARD.decode(opening["salt"].as_str().unwrap()).unwrap();
    let commitment: Hash = Sha256::new()
        .chain_update(&salt)
        .chain_update(&content)
        .finalize()
        .into();
    assert_eq!(commitment, hash(&opening["commitment"]));
    let index = opening["index"].as_u64().unwrap();
    let proof: Vec<Hash> = opening["inclusion_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(hash)
        .collect();
    verify_inclusion(
        index,
        checkpoint.size,
        &leaf_hash(&commitment),
        &proof,
        &checkpoint.root,
    )
    .unwrap();
    // The public log carries the commitment, never the facts: no name, no place.
    let (status, tile) = bytes(&w.app, "/ledger/tile/0/000.p/2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        tile_hashes(&tile).unwrap()[index as usize],
        leaf_hash(&commitment)
    );
    let (status, bundle) = bytes(&w.app, "/ledger/tile/entries/000.p/2").await;
    assert_eq!(status, StatusCode::OK);
    let at = index as usize * 34;
    assert_eq!(&bundle[at..at + 2], &[0, 32]);
    assert_eq!(&bundle[at + 2..at + 34], &commitment);
    assert!(!String::from_utf8_lossy(&bundle).contains("白云山"));
    // A full tile that does not exist yet, a malformed path, a proof beyond the log.
    assert_eq!(
        bytes(&w.app, "/ledger/tile/0/000").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        bytes(&w.app, "/ledger/tile/0/0").await.0,
        StatusCode::NOT_FOUND
    );
    let beyond = w
        .app
        .get("/api/v1/ledger/inclusion?index=0&size=3", None)
        .await;
    assert_eq!(beyond.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(beyond.field_codes(), why("size", "out_of_range"));
    assert_eq!(
        beyond.body["error"]["fields"][0]["reason"], "must be 1 to 2",
        "the log's size"
    );
    // Sizes that make no proof, each refused on the parameter at fault.
    for (query, field, code) in [
        ("inclusion?index=2&size=2", "index", "out_of_range"),
        ("inclusion?index=0&size=0", "size", "at_least"),
        ("consistency?first=2&second=1", "first", "out_of_range"),
        ("consistency?first=0&second=2", "first", "at_least"),
        ("consistency?first=1&second=3", "second", "out_of_range"),
    ] {
        let r = w.app.get(&format!("/api/v1/ledger/{query}"), None).await;
        assert_eq!(r.field_codes(), why(field, code), "{query}");
    }
    let api = w
        .app
        .get("/api/v1/ledger/inclusion?index=1&size=2", None)
        .await;
    assert_eq!(api.status, StatusCode::OK);
    // Only those who may read the record get its opening.
    let (_, stranger) = w.volunteer(32).await;
    let refused = w
        .app
        .get(&format!("/api/v1/records/{first}/ledger"), Some(&stranger))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

// Several threads: the monitor is a child process that asks this test's server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_only_extend_and_the_monitor_command_proves_it() {
    let w = world().await;
    let (number, _) = w.volunteer(41).await;
    let dir = tempfile::tempdir().unwrap();
    let mut notes = Vec::new();
    for (i, day) in ["2026-11-02", "2026-11-03", "2026-11-04"]
        .iter()
        .enumerate()
    {
        for _ in 0..=i {
            entered(&w, &number, 30, day).await;
        }
        w.app.zhiyuan.integrate_ledger().await.unwrap();
        let note = w
            .app
            .zhiyuan
            .ledger_checkpoint()
            .await
            .unwrap()
            .unwrap()
            .note;
        let path = dir.path().join(format!("checkpoint-{i}"));
        std::fs::write(&path, &note).unwrap();
        notes.push(path);
    }
    let origin = w.app.zhiyuan.ledger_origin().to_owned();
    let key = w.app.zhiyuan.ledger_keys()[0].clone();
    let monitor = |old: &std::path::Path, new: &std::path::Path, key: &str| {
        Command::new(BIN)
            .current_dir(dir.path())
            .args(["ledger", "consistency"])
            .arg(old)
            .arg(new)
            .args(["--log", &w.app.base, "--origin", &origin, "--key", key])
            .output()
            .unwrap()
    };
    let ok = monitor(&notes[0], &notes[2], &key);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("consistent"));

    // A checkpoint of the same size with another root, signed by the log's own key (as
    // a compromised server would), is refused as inconsistent.
    let signer = NoteSigner::parse(secrecy::ExposeSecret::expose_secret(
        w.app.config.ledger.signing_key.as_ref().unwrap(),
    ))
    .unwrap();
    let latest = Checkpoint::open(
        &std::fs::read_to_string(&notes[2]).unwrap(),
        &origin,
        &[signer.verifier().clone()],
    )
    .unwrap();
    let forged = Checkpoint {
        root: [7; 32],
        ..latest
    }
    .sign(&signer)
    .unwrap();
    let forged_path = dir.path().join("forged");
    std::fs::write(&forged_path, forged).unwrap();
    let refused = monitor(&notes[0], &forged_path, &key);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("NOT consistent"));
    // A checkpoint signed by a key the monitor does not trust is refused.
    let other = zhiyuan_service::LedgerSettings::ephemeral(&origin);
    let untrusted = monitor(&notes[0], &notes[2], &other.signer.verifier().to_vkey());
    assert!(!untrusted.status.success());
    assert!(String::from_utf8_lossy(&untrusted.stderr).contains("checkpoint-0"));
}

#[tokio::test]
async fn the_audit_catches_rows_changed_inserted_and_deleted_behind_zhiyuans_back() {
    let w = world().await;
    let (number, token) = w.volunteer(51).await;
    let changed = entered(&w, &number, 90, "2026-11-02").await;
    let deleted = entered(&w, &number, 60, "2026-11-03").await;
    let untouched = entered(&w, &number, 45, "2026-11-04").await;
    // Certificates are logged when issued and when revoked.
    let cert = w
        .app
        .post("/api/v1/me/certificates", Some(&token), json!({}))
        .await;
    assert_eq!(cert.status, StatusCode::CREATED, "{:?}", cert.body);
    let revoked = w
        .app
        .post(
            &format!(
                "/api/v1/certificates/{}/revoke",
                cert.body["number"].as_str().unwrap()
            ),
            Some(&token),
            json!({"reason": "重新开具"}),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{:?}", revoked.body);
    w.app.zhiyuan.integrate_ledger().await.unwrap();
    let clean = w.app.zhiyuan.verify_ledger(&|_| {}).await.unwrap();
    assert_eq!(clean.problems, []);
    assert_eq!((clean.leaves, clean.checkpoint_size), (5, Some(5)));

    w.app
        .db
        .execute_raw(&format!(
            "UPDATE service_records SET minutes = 900 WHERE id = {changed};
             DELETE FROM service_records WHERE id = {deleted};
             INSERT INTO service_records (volunteer_id, org_id, activity_name, service_date,
                 place, content, minutes, responsible_person, source, status, flags,
                 created_at)
             SELECT volunteer_id, org_id, activity_name, service_date, place, content, 600,
                 responsible_person, source, status, flags, created_at
             FROM service_records WHERE id = {untouched};"
        ))
        .await;
    let report = w.app.zhiyuan.verify_ledger(&|_| {}).await.unwrap();
    let found: Vec<(&str, Option<i64>, ProblemKind)> = report
        .problems
        .iter()
        .map(|p| (p.kind, p.subject, p.problem))
        .collect();
    assert!(
        found.contains(&("record", Some(changed), ProblemKind::Changed)),
        "{found:?}"
    );
    assert!(
        found.contains(&("record", Some(deleted), ProblemKind::Deleted)),
        "{found:?}"
    );
    let inserted = found
        .iter()
        .filter(|p| p.2 == ProblemKind::Inserted)
        .collect::<Vec<_>>();
    assert_eq!(inserted.len(), 1, "{found:?}");
    assert!(inserted[0].1 > Some(untouched));
    assert_eq!(report.problems.len(), 3, "{found:?}");

    // Rewriting the published entry too (with the salt, as someone with the database
    // could) no longer matches the signed checkpoint and the published tiles.
    w.app
        .db
        .execute_raw(&format!(
            "UPDATE ledger_entries SET commitment = salt WHERE kind = 1 AND subject_id = {untouched}"
        ))
        .await;
    let report = w.app.zhiyuan.verify_ledger(&|_| {}).await.unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.problem == ProblemKind::LogAltered && p.subject == Some(untouched)),
        "{:?}",
        report.problems
    );

    // The command exits non-zero and names the records.
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .current_dir(dir.path())
        .env("ZHIYUAN_DATABASE_URL", &w.app.db.url)
        .env(
            "ZHIYUAN__SECURITY__DOCUMENT_KEY",
            secrecy::ExposeSecret::expose_secret(
                w.app.config.security.document_key.as_ref().unwrap(),
            ),
        )
        .env(
            "ZHIYUAN__LEDGER__SIGNING_KEY",
            secrecy::ExposeSecret::expose_secret(w.app.config.ledger.signing_key.as_ref().unwrap()),
        )
        .env("ZHIYUAN__LEDGER__ORIGIN", &w.app.config.ledger.origin)
        .args(["ledger", "verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("Changed: record {changed}")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("Deleted: record {deleted}")),
        "{stdout}"
    );
}

#[tokio::test]
async fn the_export_is_the_tlog_tiles_layout_the_server_serves() {
    let w = world().await;
    let (number, _) = w.volunteer(61).await;
    for day in 2..=4 {
        entered(&w, &number, 30, &format!("2026-11-0{day}")).await;
    }
    w.app.zhiyuan.integrate_ledger().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = w.app.zhiyuan.export_ledger(dir.path()).await.unwrap();
    assert_eq!(files, 3);
    for path in ["checkpoint", "tile/0/000.p/3", "tile/entries/000.p/3"] {
        let served = bytes(&w.app, &format!("/ledger/{path}")).await;
        assert_eq!(served.0, StatusCode::OK, "{path}");
        assert_eq!(
            std::fs::read(dir.path().join(path)).unwrap(),
            served.1,
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_rotated_key_signs_on_and_the_old_keys_checkpoints_still_verify() {
    let w = world().await;
    let (number, _) = w.volunteer(81).await;
    entered(&w, &number, 30, "2026-11-02").await;
    w.app.zhiyuan.integrate_ledger().await.unwrap();
    let first = w.app.zhiyuan.ledger_checkpoint().await.unwrap().unwrap();
    let old_key = w.app.zhiyuan.ledger_keys()[0].clone();

    // The operator rotates: a new signing key, the old verifier key retired.
    let mut config = w.app.config.clone();
    let new = zhiyuan_service::LedgerSettings::ephemeral(&config.ledger.origin);
    config.ledger.signing_key = Some(new.signer.to_skey().into());
    config.ledger.retired_keys = vec![old_key.clone()];
    let rotated = zhiyuan::build(&config).await.unwrap().zhiyuan;
    let new_key = new.signer.verifier().to_vkey();
    assert_eq!(rotated.ledger_keys(), [new_key.clone(), old_key.clone()]);

    entered(&w, &number, 45, "2026-11-03").await;
    rotated.integrate_ledger().await.unwrap();
    let second = rotated.ledger_checkpoint().await.unwrap().unwrap();
    assert_eq!((first.size, second.size), (1, 2));
    let origin = rotated.ledger_origin().to_owned();
    let parse = |k: &str| NoteVerifier::parse(k).unwrap();
    // The new checkpoint is signed by the new key only; the old one by the old key.
    assert!(Checkpoint::open(&second.note, &origin, &[parse(&new_key)]).is_ok());
    assert!(Checkpoint::open(&second.note, &origin, &[parse(&old_key)]).is_err());
    assert!(Checkpoint::open(&first.note, &origin, &[parse(&old_key)]).is_ok());
    // The log only grew across the rotation, and the audit trusts both keys.
    let proof = rotated.consistency_proof(1, 2).await.unwrap();
    zhiyuan_ledger::verify_consistency(1, 2, &proof, &first.root, &second.root).unwrap();
    assert_eq!(rotated.verify_ledger(&|_| {}).await.unwrap().problems, []);
}

/// The sequencer as `serve` runs it: a tick with nothing to do only asks the store, and a
/// record written after such ticks is still integrated and signed.
#[tokio::test]
async fn the_running_sequencer_signs_records_written_after_idle_ticks() {
    let w = world().await;
    let (number, _) = w.volunteer(32).await;
    let store = w.app.zhiyuan.store().clone();
    let sequencer = zhiyuan_service::spawn_sequencer(
        w.app.zhiyuan.clone(),
        std::time::Duration::from_millis(20),
    );
    // The size of the latest checkpoint once nothing is left to do, waiting for it.
    let settled = || async {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while store.ledger_has_work().await.unwrap() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the sequencer never caught up"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let tree = store.ledger_tree().await.unwrap();
        let latest = store
            .latest_checkpoint()
            .await
            .unwrap()
            .map_or(0, |c| c.size);
        assert_eq!(
            latest, tree.size,
            "no work left means the whole tree is signed"
        );
        latest
    };
    let mut signed = settled().await;
    for day in ["2026-11-04", "2026-11-05"] {
        // Idle ticks pass first.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        entered(&w, &number, 30, day).await;
        let now_signed = settled().await;
        assert!(now_signed > signed, "the record of {day} was signed");
        signed = now_signed;
    }
    sequencer.abort();
}
