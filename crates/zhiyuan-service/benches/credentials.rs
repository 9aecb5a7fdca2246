//! `check_credential`, what `zhiyuan credential verify` and an importer run per
//! credential: the eddsa-jcs-2022 proof of a record certificate credential shaped as the
//! server issues it, its ledger evidence (commitment, a signed checkpoint of a
//! 10,000,000-leaf log, the inclusion proof), and its status list (a second signature and
//! a 16 KiB bitstring).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use std::hint::black_box;
use zhiyuan_ledger::{Checkpoint, MemoryTree, inclusion_proof, leaf_hash};
use zhiyuan_service::{
    CredentialVerifier, IssuerSettings, LedgerSettings, check_credential, encode_status_list,
};

const LEAVES: u64 = 10_000_000;

fn bench(c: &mut Criterion) {
    let issuer = IssuerSettings::ephemeral("https://zhiyuan.gd.example");
    let log = LedgerSettings::ephemeral("zhiyuan.gd.example/ledger");
    let content = json!({"kind": "certificate", "id": 4242, "number": "ZY-0000-1111-2222-3333",
        "volunteer": 77, "issued_at_us": 1_764_000_000_000_000i64,
        "facts": {"name": "陈小明", "minutes": 9000, "records": 42, "units": [], "listed": []}});
    let salt = [5u8; 32];
    let canonical = serde_json_canonicalizer::to_vec(&content).expect("canonical");
    let commitment = zhiyuan_store::ledger::commit(&salt, &canonical);
    let index = 7_654_321;
    let mut tree = MemoryTree::new();
    for i in 0..LEAVES {
        tree.push(if i == index {
            leaf_hash(&commitment)
        } else {
            leaf_hash(&i.to_be_bytes())
        });
    }
    let root = tree.root_at(LEAVES).expect("root");
    let proof = inclusion_proof(&tree, index, LEAVES).expect("proof");
    let checkpoint = Checkpoint {
        origin: log.origin.clone(),
        size: LEAVES,
        root,
    }
    .sign(&log.signer)
    .expect("checkpoint");
    let list_url = "https://zhiyuan.gd.example/credentials/status/certificates-0";
    let credential = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "https://zhiyuan.gd.example/verify/ZY-0000-1111-2222-3333",
        "type": ["VerifiableCredential", "VolunteerServiceRecordCredential"],
        "issuer": {"id": issuer.did, "name": "志愿服务信息平台"},
        "validFrom": "2026-11-25T10:00:00Z",
        "credentialSubject": {"type": "Volunteer", "name": "陈小明", "volunteerNumber": "44010619900000001",
            "certificateNumber": "ZY-0000-1111-2222-3333", "serviceHours": 150.0, "serviceMinutes": 9000,
            "records": 42, "recordingUnits": [{"name": "荔湾区志愿服务队", "minutes": 9000, "records": 42}]},
        "credentialStatus": {"id": format!("{list_url}#4242"), "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation", "statusListIndex": "4242", "statusListCredential": list_url},
        "evidence": [{"type": ["LedgerInclusionEvidence"], "logOrigin": log.origin,
            "logKeys": [log.signer.verifier().to_vkey()], "entryKind": "certificate",
            "content": content, "salt": STANDARD.encode(salt), "commitment": STANDARD.encode(commitment),
            "leafIndex": index, "checkpoint": checkpoint,
            "inclusionProof": proof.iter().map(|h| STANDARD.encode(h)).collect::<Vec<_>>()}],
    });
    let options = zhiyuan_credentials::ProofOptions::assertion(
        "2026-11-25T10:00:00Z".into(),
        issuer.key_id(),
    );
    let credential = zhiyuan_credentials::sign(&credential, &options, &issuer.key).expect("sign");
    let list = zhiyuan_credentials::sign(
        &json!({"@context": ["https://www.w3.org/ns/credentials/v2"], "id": list_url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"], "issuer": issuer.did,
            "credentialSubject": {"id": format!("{list_url}#list"), "type": "BitstringStatusList",
                "statusPurpose": "revocation", "encodedList": encode_status_list(&[1, 99, 5000])}}),
        &options,
        &issuer.key,
    )
    .expect("sign list");
    let key = issuer.key.verifying_key();
    let check = check_credential(&credential, &key, Some(&list)).expect("valid");
    assert_eq!(
        (check.revoked, check.ledger),
        (Some(false), vec![(index, LEAVES)])
    );
    c.bench_function("credential_proof_only", |b| {
        b.iter(|| zhiyuan_credentials::verify(black_box(&credential), &key).expect("valid"))
    });
    let trusted = [log.signer.verifier().clone()];
    c.bench_function("checkpoint_open_only", |b| {
        b.iter(|| Checkpoint::open(black_box(&checkpoint), &log.origin, &trusted).expect("valid"))
    });
    c.bench_function("check_credential_offline", |b| {
        b.iter(|| check_credential(black_box(&credential), &key, None).expect("valid"))
    });
    c.bench_function("check_credential_with_status_list", |b| {
        b.iter(|| check_credential(black_box(&credential), &key, Some(&list)).expect("valid"))
    });
    // An importer's case: many credentials of one issuer, sharing checkpoints and lists.
    let verifier = CredentialVerifier::default();
    c.bench_function("verifier_with_status_list_warm", |b| {
        b.iter(|| {
            verifier
                .check(black_box(&credential), &key, Some(&list))
                .expect("valid")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
