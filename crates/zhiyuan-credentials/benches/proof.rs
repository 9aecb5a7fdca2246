//! Verifying and signing the W3C example credential with `eddsa-jcs-2022`: canonical
//! forms, two SHA-256 and one Ed25519 operation each.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use zhiyuan_credentials::{ProofOptions, sign, verify};

fn bench(c: &mut Criterion) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/eddsa-jcs-2022");
    let read = |name: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(format!("{dir}/{name}")).expect("vector");
        serde_json::from_str(&text).expect("JSON")
    };
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let options = ProofOptions::assertion(
        "2026-11-25T08:00:00Z".into(),
        "did:web:zhiyuan.example#key-1".into(),
    );
    let unsigned = read("unsigned.json");
    let signed = sign(&unsigned, &options, &key).expect("signed");
    let public = key.verifying_key();
    c.bench_function("credential_verify_eddsa_jcs_2022", |b| {
        b.iter(|| verify(black_box(&signed), &public).expect("verifies"))
    });
    c.bench_function("credential_sign_eddsa_jcs_2022", |b| {
        b.iter(|| sign(black_box(&unsigned), &options, &key).expect("signed"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
