//! The official vectors (`tests/vectors/`): RFC 8785 canonicalisation by the RFC's author,
//! and the W3C vc-di-eddsa `eddsa-jcs-2022` example, reproduced byte for byte.

use serde_json::Value;
use zhiyuan_credentials::{
    CredentialError, ProofOptions, canonical, public_key_from_multibase, public_key_to_multibase,
    sign, signing_key_from_multibase, verify,
};

fn vector(path: &str) -> String {
    let full = format!("{}/tests/vectors/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn json(path: &str) -> Value {
    serde_json::from_str(&vector(path)).expect("vector JSON")
}

#[test]
fn canonical_json_matches_every_rfc8785_vector() {
    let names = [
        "arrays",
        "french",
        "structures",
        "unicode",
        "values",
        "weird",
    ];
    for name in names {
        let input = json(&format!("jcs/input/{name}.json"));
        let want = vector(&format!("jcs/output/{name}.json"));
        let got = String::from_utf8(canonical(&input).unwrap()).unwrap();
        assert_eq!(got, want.trim_end_matches('\n'), "{name}");
    }
}

fn key_pair() -> (ed25519_dalek::SigningKey, ed25519_dalek::VerifyingKey) {
    let pair = json("eddsa-jcs-2022/keyPair.json");
    let field = |name: &str| pair[name].as_str().expect("a key string").to_owned();
    let secret = signing_key_from_multibase(&field("privateKeyMultibase")).expect("private key");
    let public = public_key_from_multibase(&field("publicKeyMultibase")).expect("public key");
    (secret, public)
}

#[test]
fn signing_the_w3c_example_gives_the_w3c_proof() {
    let (secret, public) = key_pair();
    assert_eq!(secret.verifying_key(), public);
    assert_eq!(
        public_key_to_multibase(&public),
        json("eddsa-jcs-2022/keyPair.json")["publicKeyMultibase"]
    );
    let unsigned = json("eddsa-jcs-2022/unsigned.json");
    assert_eq!(
        String::from_utf8(canonical(&unsigned).unwrap()).unwrap(),
        vector("eddsa-jcs-2022/canonDocJCS.txt").trim_end()
    );
    let config = json("eddsa-jcs-2022/proofConfigJCS.json");
    let options = ProofOptions {
        created: config["created"].as_str().unwrap().into(),
        verification_method: config["verificationMethod"].as_str().unwrap().into(),
        proof_purpose: config["proofPurpose"].as_str().unwrap().into(),
        challenge: None,
        domain: None,
    };
    let signed = sign(&unsigned, &options, &secret).unwrap();
    assert_eq!(signed, json("eddsa-jcs-2022/signedJCS.json"));
    assert_eq!(
        signed["proof"]["proofValue"],
        vector("eddsa-jcs-2022/sigBTC58JCS.txt").trim_end()
    );
}

#[test]
fn the_w3c_credential_verifies_and_any_change_is_refused() {
    let (_, public) = key_pair();
    let signed = json("eddsa-jcs-2022/signedJCS.json");
    let method = verify(&signed, &public).unwrap();
    assert!(method.starts_with("did:key:z6Mkr"));

    let mut altered = signed.clone();
    altered["credentialSubject"]["alumniOf"] = "Another School".into();
    assert_eq!(
        verify(&altered, &public),
        Err(CredentialError::BadSignature)
    );

    let mut redated = signed.clone();
    redated["proof"]["created"] = "2024-01-01T00:00:00Z".into();
    assert_eq!(
        verify(&redated, &public),
        Err(CredentialError::BadSignature)
    );

    let mut recontexted = signed.clone();
    recontexted["@context"] = serde_json::json!(["https://www.w3.org/ns/credentials/v2"]);
    assert_eq!(
        verify(&recontexted, &public),
        Err(CredentialError::ContextMismatch)
    );

    let other = ed25519_dalek::SigningKey::from_bytes(&[5; 32]).verifying_key();
    assert_eq!(verify(&signed, &other), Err(CredentialError::BadSignature));

    // Key order and whitespace do not matter: the canonical form is what is signed.
    let reordered: Value =
        serde_json::from_str(&serde_json::to_string_pretty(&signed).unwrap()).unwrap();
    assert!(verify(&reordered, &public).is_ok());
}
