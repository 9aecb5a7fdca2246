//! Verifiable credentials: W3C Data Integrity proofs with the `eddsa-jcs-2022`
//! cryptosuite, and Ed25519 keys as Multikey (multibase base58btc with a multicodec
//! prefix).
//!
//! Signing hashes two canonical forms (RFC 8785 JCS): the proof's options, which carry
//! the document's `@context`, and the document without its proof. The Ed25519 signature
//! of SHA-256(options) || SHA-256(document) is the proof's `proofValue`, base58btc with
//! the multibase prefix `z`. This crate holds the formats only; issuing, status lists and
//! key publication live in the service.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The multicodec prefixes of Ed25519 keys.
const ED25519_PUB: [u8; 2] = [0xed, 0x01];
const ED25519_PRIV: [u8; 2] = [0x80, 0x26];

/// Why a key, document or proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("malformed key: {0}")]
    Key(&'static str),
    #[error("malformed document: {0}")]
    Document(&'static str),
    #[error("the proof is not an eddsa-jcs-2022 DataIntegrityProof")]
    WrongSuite,
    #[error("the proof's @context is not the document's")]
    ContextMismatch,
    #[error("the signature does not verify")]
    BadSignature,
}

type Result<T> = std::result::Result<T, CredentialError>;

mod jcs;

const NOT_CANONICAL: CredentialError = CredentialError::Document("cannot be canonicalised");

/// RFC 8785 canonical JSON.
pub fn canonical(value: &Value) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(1024);
    jcs::write_value(value, &mut out).map_err(|_| NOT_CANONICAL)?;
    Ok(out)
}

fn multibase_decode(s: &str, prefix: [u8; 2]) -> Result<[u8; 32]> {
    let b58 = s
        .strip_prefix('z')
        .ok_or(CredentialError::Key("multibase base58btc starts with 'z'"))?;
    let bytes = bs58::decode(b58)
        .into_vec()
        .map_err(|_| CredentialError::Key("not base58btc"))?;
    let key = bytes
        .strip_prefix(&prefix)
        .ok_or(CredentialError::Key("not an Ed25519 key of this kind"))?;
    key.try_into()
        .map_err(|_| CredentialError::Key("an Ed25519 key has 32 bytes"))
}

fn multibase_encode(prefix: [u8; 2], key: &[u8; 32]) -> String {
    let mut bytes = prefix.to_vec();
    bytes.extend_from_slice(key);
    format!("z{}", bs58::encode(bytes).into_string())
}

/// An Ed25519 public key from its Multikey form (`z6Mk…`).
pub fn public_key_from_multibase(s: &str) -> Result<VerifyingKey> {
    VerifyingKey::from_bytes(&multibase_decode(s, ED25519_PUB)?)
        .map_err(|_| CredentialError::Key("not a point on the curve"))
}

/// The Multikey form of an Ed25519 public key.
pub fn public_key_to_multibase(key: &VerifyingKey) -> String {
    multibase_encode(ED25519_PUB, key.as_bytes())
}

/// An Ed25519 private key from its Multikey form.
pub fn signing_key_from_multibase(s: &str) -> Result<SigningKey> {
    Ok(SigningKey::from_bytes(&multibase_decode(s, ED25519_PRIV)?))
}

/// The Multikey form of an Ed25519 private key.
pub fn signing_key_to_multibase(key: &SigningKey) -> String {
    multibase_encode(ED25519_PRIV, key.as_bytes())
}

/// What a proof says besides its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofOptions {
    /// When the proof was made, as an XML Schema dateTime (`2026-11-25T08:00:00Z`).
    pub created: String,
    /// The key, as a URL that resolves to it (`did:web:…#key-1`).
    pub verification_method: String,
    /// `assertionMethod` for credentials, `authentication` for presentations.
    pub proof_purpose: String,
    /// A verifier's one-time value the proof answers (presentations), against replay.
    pub challenge: Option<String>,
    /// Whom the proof is meant for (presentations): a proof for one verifier is refused
    /// by another.
    pub domain: Option<String>,
}

impl ProofOptions {
    /// Options for a credential: `assertionMethod`, no challenge or domain.
    pub fn assertion(created: String, verification_method: String) -> Self {
        Self {
            created,
            verification_method,
            proof_purpose: "assertionMethod".into(),
            challenge: None,
            domain: None,
        }
    }
}

/// SHA-256(canonical proof configuration) || SHA-256(canonical document): the proof
/// without its `proofValue`, the document without its `proof`.
fn hash_data(config: &Map<String, Value>, document: &Map<String, Value>) -> Result<[u8; 64]> {
    let mut buf = Vec::with_capacity(4096);
    let mut digest = |m: &Map<String, Value>, skip: &str| -> Result<[u8; 32]> {
        buf.clear();
        jcs::write_object(m, Some(skip), &mut buf).map_err(|_| NOT_CANONICAL)?;
        Ok(Sha256::digest(&buf).into())
    };
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&digest(config, "proofValue")?);
    out[32..].copy_from_slice(&digest(document, "proof")?);
    Ok(out)
}

fn object(value: &Value) -> Result<&Map<String, Value>> {
    value
        .as_object()
        .ok_or(CredentialError::Document("a credential is a JSON object"))
}

/// Adds an `eddsa-jcs-2022` proof to `document` (which must not carry one).
pub fn sign(document: &Value, options: &ProofOptions, key: &SigningKey) -> Result<Value> {
    let doc = object(document)?;
    if doc.contains_key("proof") {
        return Err(CredentialError::Document(
            "the document already has a proof",
        ));
    }
    let mut config = Map::new();
    config.insert("type".into(), "DataIntegrityProof".into());
    config.insert("cryptosuite".into(), "eddsa-jcs-2022".into());
    config.insert("created".into(), options.created.clone().into());
    config.insert(
        "verificationMethod".into(),
        options.verification_method.clone().into(),
    );
    config.insert("proofPurpose".into(), options.proof_purpose.clone().into());
    if let Some(challenge) = &options.challenge {
        config.insert("challenge".into(), challenge.clone().into());
    }
    if let Some(domain) = &options.domain {
        config.insert("domain".into(), domain.clone().into());
    }
    if let Some(context) = doc.get("@context") {
        config.insert("@context".into(), context.clone());
    }
    let signature = key.sign(&hash_data(&config, doc)?);
    config.insert(
        "proofValue".into(),
        format!("z{}", bs58::encode(signature.to_bytes()).into_string()).into(),
    );
    let mut secured = doc.clone();
    secured.insert("proof".into(), Value::Object(config));
    Ok(Value::Object(secured))
}

/// Checks the `eddsa-jcs-2022` proof of `secured` against `key`, and returns the
/// verification method the proof names (for the caller to check it is `key`'s).
pub fn verify(secured: &Value, key: &VerifyingKey) -> Result<String> {
    let doc = object(secured)?;
    let config = doc
        .get("proof")
        .ok_or(CredentialError::Document("the document has no proof"))?
        .as_object()
        .ok_or(CredentialError::Document("the proof is an object"))?;
    if config.get("type").and_then(Value::as_str) != Some("DataIntegrityProof")
        || config.get("cryptosuite").and_then(Value::as_str) != Some("eddsa-jcs-2022")
    {
        return Err(CredentialError::WrongSuite);
    }
    let value = config
        .get("proofValue")
        .and_then(Value::as_str)
        .ok_or(CredentialError::Document("the proof has no proofValue"))?;
    // The proof binds the document's context: a proof made for other contexts fails.
    if let Some(context) = config.get("@context")
        && doc.get("@context") != Some(context)
    {
        return Err(CredentialError::ContextMismatch);
    }
    let method = config
        .get("verificationMethod")
        .and_then(Value::as_str)
        .ok_or(CredentialError::Document(
            "the proof has no verificationMethod",
        ))?
        .to_owned();
    let sig: [u8; 64] = value
        .strip_prefix('z')
        .and_then(|b| bs58::decode(b).into_vec().ok())
        .and_then(|b| b.try_into().ok())
        .ok_or(CredentialError::BadSignature)?;
    let data = hash_data(config, doc)?;
    key.verify_strict(&data, &Signature::from_bytes(&sig))
        .map_err(|_| CredentialError::BadSignature)?;
    Ok(method)
}
