//! Verifiable credentials: record certificates as W3C Verifiable Credentials 2.0 and
//! certified star levels as Open Badges 3.0 `OpenBadgeCredential`s, both secured with
//! the `eddsa-jcs-2022` Data Integrity proof by the platform's issuer key (published as a
//! `did:web` document), revocable through Bitstring Status Lists, and each carrying the
//! ledger inclusion proof of what it certifies.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zhiyuan_domain::Reason;
use zhiyuan_domain::hours::hours;
use zhiyuan_store::StarApplicationId;
use zhiyuan_store::ledger::{LedgerKind, certificate_content, star_content};

use crate::error::{Result, ServiceError};
use crate::{Ctx, Zhiyuan};

/// Bits per status list: the W3C minimum (16 KiB), so a list reveals little about whom
/// it covers.
pub const STATUS_LIST_BITS: i64 = 131_072;

/// The platform as a credential issuer.
#[derive(Clone)]
pub struct IssuerSettings {
    /// `did:web:…` from the public URL.
    pub did: String,
    pub key: SigningKey,
}

impl std::fmt::Debug for IssuerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerSettings")
            .field("did", &self.did)
            .finish_non_exhaustive()
    }
}

/// `did:web` of a public URL: the host (a port's colon encoded) and path segments.
pub fn did_web(public_url: &str) -> String {
    let rest = public_url
        .split_once("://")
        .map_or(public_url, |(_, r)| r)
        .trim_end_matches('/');
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut did = format!("did:web:{}", host.replace(':', "%3A"));
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        did.push(':');
        did.push_str(segment);
    }
    did
}

/// Where the `did:web` document of `did` is: `https://host/.well-known/did.json`, or
/// `…/path/did.json`; plain `http` for loopback hosts (tests, local installations).
pub fn did_web_url(did: &str) -> Option<String> {
    let rest = did.strip_prefix("did:web:")?;
    let mut parts = rest.split(':');
    let host = parts.next()?.replace("%3A", ":");
    let path: Vec<&str> = parts.collect();
    let loopback = host.starts_with("127.") || host.starts_with("localhost");
    let scheme = if loopback { "http" } else { "https" };
    Some(if path.is_empty() {
        format!("{scheme}://{host}/.well-known/did.json")
    } else {
        format!("{scheme}://{host}/{}/did.json", path.join("/"))
    })
}

impl IssuerSettings {
    /// A fresh random key (tests and tools; a server loads its key).
    pub fn ephemeral(public_url: &str) -> Self {
        Self {
            did: did_web(public_url),
            key: SigningKey::from_bytes(&rand::random()),
        }
    }

    pub fn key_id(&self) -> String {
        format!("{}#key-1", self.did)
    }
}

/// Reads the issuer key file (multibase Ed25519 secret key), or creates it.
pub fn load_or_create_issuer_key(path: &Path) -> std::io::Result<SigningKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => zhiyuan_credentials::signing_key_from_multibase(text.trim())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let key = SigningKey::from_bytes(&rand::random());
            let text = zhiyuan_credentials::signing_key_to_multibase(&key);
            crate::vault::write_private(path, &format!("{text}\n"))?;
            Ok(key)
        }
        Err(e) => Err(e),
    }
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Open Badges 3.0 `IdentityObject.identityHash` of a hashed identifier: `sha256$` and
/// the hex SHA-256 of the identifier followed by the salt.
pub fn identity_hash(identifier: &str, salt: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{identifier}{salt}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256${hex}")
}

/// Status lists are named by what they cover and a number: `certificates-0`, `stars-3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusList {
    Certificates(i64),
    Stars(i64),
}

impl StatusList {
    pub fn parse(name: &str) -> Option<Self> {
        let (what, n) = name.rsplit_once('-')?;
        if n.is_empty() || (n.len() > 1 && n.starts_with('0')) {
            return None;
        }
        let n: i64 = n.parse().ok()?;
        match what {
            "certificates" => Some(Self::Certificates(n)),
            "stars" => Some(Self::Stars(n)),
            _ => None,
        }
    }

    fn of(kind: LedgerKind, subject: i64) -> (Self, i64) {
        let (n, index) = (subject / STATUS_LIST_BITS, subject % STATUS_LIST_BITS);
        match kind {
            LedgerKind::Star | LedgerKind::StarRevocation => (Self::Stars(n), index),
            _ => (Self::Certificates(n), index),
        }
    }

    pub fn name(self) -> String {
        match self {
            Self::Certificates(n) => format!("certificates-{n}"),
            Self::Stars(n) => format!("stars-{n}"),
        }
    }

    /// The revocation entries that set this list's bits.
    fn revocations(self) -> (LedgerKind, i64) {
        match self {
            Self::Certificates(n) => (LedgerKind::CertificateRevocation, n),
            Self::Stars(n) => (LedgerKind::StarRevocation, n),
        }
    }
}

/// GZIP-compressed bitstring, base64url without padding, multibase `u` prefix (W3C
/// Bitstring Status List §2.1). Bit 0 is the most significant bit of the first byte.
pub fn encode_status_list(revoked: &[i64]) -> String {
    let mut bits = vec![0u8; (STATUS_LIST_BITS / 8) as usize];
    for &i in revoked {
        if (0..STATUS_LIST_BITS).contains(&i) {
            bits[(i / 8) as usize] |= 0x80 >> (i % 8);
        }
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = gz.write_all(&bits);
    let bytes = gz.finish().unwrap_or_default();
    format!("u{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The bit at `index` of an encoded list; `None` when the list is malformed.
pub fn status_bit(encoded: &str, index: u64) -> Option<bool> {
    use std::io::Read;
    let bytes = URL_SAFE_NO_PAD.decode(encoded.strip_prefix('u')?).ok()?;
    let mut bits = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_end(&mut bits)
        .ok()?;
    let byte = bits.get(usize::try_from(index / 8).ok()?)?;
    Some(byte & (0x80 >> (index % 8)) != 0)
}

impl Zhiyuan {
    fn issuer(&self) -> &IssuerSettings {
        &self.0.config.issuer
    }

    fn public_base(&self) -> &str {
        self.0.config.public_url.trim_end_matches('/')
    }

    /// The issuer's `did:web` document: its key as a Multikey, for assertions, and the
    /// ledger it logs to.
    pub fn did_document(&self) -> Value {
        let issuer = self.issuer();
        json!({
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": issuer.did,
            "verificationMethod": [{
                "id": issuer.key_id(),
                "type": "Multikey",
                "controller": issuer.did,
                "publicKeyMultibase":
                    zhiyuan_credentials::public_key_to_multibase(&issuer.key.verifying_key()),
            }],
            "assertionMethod": [issuer.key_id()],
            "service": [{
                "id": format!("{}#ledger", issuer.did),
                "type": "TransparencyLog",
                "serviceEndpoint": format!("{}/ledger/", self.public_base()),
            }],
        })
    }

    fn sign_credential(&self, credential: &Value) -> Result<Value> {
        let issuer = self.issuer();
        zhiyuan_credentials::sign(
            credential,
            &zhiyuan_credentials::ProofOptions::assertion(
                rfc3339(OffsetDateTime::now_utc()),
                issuer.key_id(),
            ),
            &issuer.key,
        )
        .map_err(|e| ServiceError::Internal(format!("signing a credential: {e}").into()))
    }

    fn status_entry(&self, kind: LedgerKind, subject: i64) -> Value {
        let (list, index) = StatusList::of(kind, subject);
        let url = format!("{}/credentials/status/{}", self.public_base(), list.name());
        json!({
            "id": format!("{url}#{index}"),
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": index.to_string(),
            "statusListCredential": url,
        })
    }

    /// The ledger evidence of an entry: its opening, with the log's origin and key, so
    /// that a verifier offline can check the entry is in the signed log.
    async fn ledger_evidence(
        &self,
        kind: LedgerKind,
        subject: i64,
        content: &[u8],
    ) -> Result<Value> {
        let entry = self
            .0
            .store
            .ledger_entry(kind, subject)
            .await?
            .ok_or(ServiceError::NotFound("ledger entry"))?;
        let opening = self.opening(entry, content).await?;
        Ok(json!({
            "type": ["LedgerInclusionEvidence"],
            "logOrigin": self.ledger_origin(),
            "logKeys": self.ledger_keys(),
            "entryKind": opening.kind,
            "content": opening.content,
            "salt": opening.salt,
            "commitment": opening.commitment,
            "leafIndex": opening.index,
            "checkpoint": opening.checkpoint,
            "inclusionProof": opening.inclusion_proof,
        }))
    }

    /// A record certificate as a Verifiable Credential, for anyone holding its number
    /// (as its verification is): the certified facts, its revocation status entry and
    /// its ledger evidence.
    pub async fn certificate_credential(&self, number: &str) -> Result<Value> {
        let c = self
            .0
            .store
            .get_certificate(number.trim())
            .await?
            .ok_or(ServiceError::NotFound("certificate"))?;
        let f = &c.certificate.facts;
        let content = certificate_content(&c).ok_or(ServiceError::NotFound("certificate"))?;
        let evidence = self
            .ledger_evidence(LedgerKind::Certificate, c.id, &content)
            .await?;
        let credential = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": crate::verification_url(self.public_base(), &c.certificate.number),
            "type": ["VerifiableCredential", "VolunteerServiceRecordCredential"],
            "issuer": {"id": self.issuer().did, "name": f.issuer},
            "validFrom": rfc3339(c.certificate.issued_at),
            "name": "志愿服务记录证明",
            "credentialSubject": {
                "type": "Volunteer",
                "name": f.name,
                "volunteerNumber": f.volunteer_number,
                "identityDocument": {"type": f.document_kind.as_str(), "masked": f.document_masked},
                "certificateNumber": c.certificate.number,
                "serviceHours": hours(f.minutes),
                "serviceMinutes": f.minutes,
                "records": f.records,
                "from": f.from.map(|d| d.to_string()),
                "until": f.until.map(|d| d.to_string()),
                "recordingUnits": f.units.iter().map(|u| json!({
                    "name": u.name, "minutes": u.minutes, "records": u.records,
                })).collect::<Vec<_>>(),
                "listedRecords": f.listed.iter().map(|r| json!({
                    "date": r.date.to_string(), "activity": r.activity, "content": r.content,
                    "minutes": r.minutes, "unit": r.unit,
                })).collect::<Vec<_>>(),
            },
            "credentialStatus": self.status_entry(LedgerKind::Certificate, c.id),
            "evidence": [evidence],
        });
        self.sign_credential(&credential)
    }

    /// A volunteer's certified star as an Open Badges 3.0 `OpenBadgeCredential`, for the
    /// volunteer and those who may read them.
    pub async fn star_credential(&self, ctx: &Ctx, application: i64) -> Result<Value> {
        let a = self
            .0
            .store
            .get_star_application(StarApplicationId(application))
            .await?
            .ok_or(ServiceError::NotFound("star application"))?;
        // The same readers as the volunteer's record.
        self.get_volunteer(ctx, a.volunteer_number).await?;
        let content = star_content(&a)
            .ok_or_else(|| ServiceError::conflict_because("status", Reason::NotCertified))?;
        let evidence = self
            .ledger_evidence(LedgerKind::Star, a.id.0, &content)
            .await?;
        let star = a.application.star;
        let base = self.public_base();
        let salt = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
        let credential = json!({
            "@context": [
                "https://www.w3.org/ns/credentials/v2",
                "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
            ],
            "id": format!("{base}/credentials/stars/{}", a.id.0),
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "issuer": {
                "id": self.issuer().did,
                "type": ["Profile"],
                "name": self.0.config.certificate_issuer,
            },
            "validFrom": rfc3339(a.decided_at.unwrap_or(a.application.applied_at)),
            "name": a.application.label,
            "credentialSubject": {
                "type": ["AchievementSubject"],
                // Open Badges' salted hash: the holder (who knows the number) can show
                // it is theirs; anyone else learns nothing from the badge.
                "identifier": [{
                    "type": "IdentityObject",
                    "identityType": "identifier",
                    "hashed": true,
                    "identityHash": identity_hash(&a.volunteer_number.to_string(), &salt),
                    "salt": salt,
                }],
                "achievement": {
                    "id": format!("{base}/credentials/achievements/star-{star}"),
                    "type": ["Achievement"],
                    "achievementType": "Achievement",
                    "name": a.application.label,
                    "description": format!("{star}-star volunteer, certified by region {}", a.application.certifier),
                    "criteria": {
                        "narrative": format!("{} hours of recorded volunteer service, public notice without upheld objection", hours(a.application.minutes)),
                    },
                },
            },
            "credentialStatus": self.status_entry(LedgerKind::Star, a.id.0),
            "evidence": [evidence],
        });
        self.sign_credential(&credential)
    }

    /// A Bitstring Status List credential: bit `i` is set when subject `i` of the list is
    /// revoked (as the ledger's revocation entries record).
    pub async fn status_list_credential(&self, name: &str) -> Result<Value> {
        let list = StatusList::parse(name).ok_or(ServiceError::NotFound("status list"))?;
        let (kind, n) = list.revocations();
        let (lo, hi) = (n * STATUS_LIST_BITS, (n + 1) * STATUS_LIST_BITS);
        let revoked: Vec<i64> = self
            .0
            .store
            .ledger_subjects_between(kind, lo, hi)
            .await?
            .into_iter()
            .map(|s| s - lo)
            .collect();
        let url = format!("{}/credentials/status/{}", self.public_base(), list.name());
        let credential = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": self.issuer().did,
            "validFrom": rfc3339(OffsetDateTime::now_utc()),
            "credentialSubject": {
                "id": format!("{url}#list"),
                "type": "BitstringStatusList",
                "statusPurpose": "revocation",
                "encodedList": encode_status_list(&revoked),
            },
        });
        self.sign_credential(&credential)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_web_names_and_locates_the_document() {
        assert_eq!(
            did_web("https://zhiyuan.gd.example"),
            "did:web:zhiyuan.gd.example"
        );
        assert_eq!(
            did_web("http://127.0.0.1:8080/"),
            "did:web:127.0.0.1%3A8080"
        );
        assert_eq!(
            did_web("https://gov.example/zhiyuan"),
            "did:web:gov.example:zhiyuan"
        );
        assert_eq!(
            did_web_url("did:web:127.0.0.1%3A8080").as_deref(),
            Some("http://127.0.0.1:8080/.well-known/did.json")
        );
        assert_eq!(
            did_web_url("did:web:gov.example:zhiyuan").as_deref(),
            Some("https://gov.example/zhiyuan/did.json")
        );
    }

    #[test]
    fn status_lists_set_exactly_the_revoked_bits() {
        let encoded = encode_status_list(&[0, 9, 131_071]);
        for (i, want) in [
            (0, true),
            (1, false),
            (9, true),
            (10, false),
            (131_071, true),
        ] {
            assert_eq!(status_bit(&encoded, i), Some(want), "bit {i}");
        }
        assert_eq!(status_bit(&encoded, 131_072), None);
        assert_eq!(status_bit("not a list", 0), None);
        assert_eq!(
            StatusList::parse("certificates-2"),
            Some(StatusList::Certificates(2))
        );
        assert_eq!(StatusList::parse("stars-01"), None);
        assert_eq!(StatusList::parse("people-1"), None);
    }
}

/// What an offline check of a credential established.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CredentialCheck {
    /// The verification method that signed it.
    pub signed_by: String,
    /// `Some(true)` when its status list says revoked; `None` when not checked (offline).
    pub revoked: Option<bool>,
    /// The ledger leaves its evidence proves, with the size of the checkpoint.
    pub ledger: Vec<(u64, u64)>,
}

/// Checks a credential with the issuer's key: the `eddsa-jcs-2022` proof, the status
/// list credential when given (itself signed by the same key), and every ledger evidence
/// (the content and salt make the commitment, which is included in a checkpoint signed by
/// the log key the credential names, and the content is what the credential certifies).
/// The error says what failed.
pub fn check_credential(
    credential: &Value,
    issuer_key: &ed25519_dalek::VerifyingKey,
    status_list: Option<&Value>,
) -> std::result::Result<CredentialCheck, String> {
    CredentialVerifier::default().check(credential, issuer_key, status_list)
}

/// [`check_credential`] for many credentials: remembers the checkpoints and status lists
/// it has verified (a partner's thousands of credentials share a few of each), so each
/// further credential costs one signature. Only what verified is remembered, keyed by a
/// hash of everything the verification depended on.
#[derive(Debug, Default)]
pub struct CredentialVerifier {
    verified: std::sync::Mutex<HashMap<zhiyuan_ledger::Hash, Option<zhiyuan_ledger::Checkpoint>>>,
}

/// Entries remembered before the memory is cleared.
const VERIFIER_MEMORY: usize = 4096;

fn memo_key(parts: &[&[u8]]) -> zhiyuan_ledger::Hash {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

impl CredentialVerifier {
    fn recall(&self, key: &zhiyuan_ledger::Hash) -> Option<Option<zhiyuan_ledger::Checkpoint>> {
        self.verified.lock().ok()?.get(key).cloned()
    }

    fn remember(&self, key: zhiyuan_ledger::Hash, value: Option<zhiyuan_ledger::Checkpoint>) {
        if let Ok(mut m) = self.verified.lock() {
            if m.len() >= VERIFIER_MEMORY {
                m.clear();
            }
            m.insert(key, value);
        }
    }

    /// See [`check_credential`].
    pub fn check(
        &self,
        credential: &Value,
        issuer_key: &ed25519_dalek::VerifyingKey,
        status_list: Option<&Value>,
    ) -> std::result::Result<CredentialCheck, String> {
        self.check_against(credential, issuer_key, status_list, None)
    }

    /// [`CredentialVerifier::check`], with the ledger evidence checked against a log the
    /// verifier trusts (its origin and note verifier keys) rather than the log the
    /// evidence names: how a platform checks a partner's credentials.
    pub fn check_against(
        &self,
        credential: &Value,
        issuer_key: &ed25519_dalek::VerifyingKey,
        status_list: Option<&Value>,
        trusted_log: Option<(&str, &[String])>,
    ) -> std::result::Result<CredentialCheck, String> {
        use zhiyuan_ledger::{Checkpoint, NoteVerifier, leaf_hash, verify_inclusion};
        let signed_by = zhiyuan_credentials::verify(credential, issuer_key)
            .map_err(|e| format!("the credential's proof does not verify: {e}"))?;
        let revoked = match (status_list, credential.get("credentialStatus")) {
            (Some(list), Some(status)) => {
                // What this check relies on, with the signature that covers all of it.
                let field = |f: &Value| f.as_str().unwrap_or_default().as_bytes().to_vec();
                let memo = memo_key(&[
                    b"status-list",
                    issuer_key.as_bytes(),
                    &field(&list["proof"]["proofValue"]),
                    &field(&list["id"]),
                    &field(&list["credentialSubject"]["encodedList"]),
                    &field(&list["credentialSubject"]["statusPurpose"]),
                ]);
                if self.recall(&memo).is_none() {
                    zhiyuan_credentials::verify(list, issuer_key)
                        .map_err(|e| format!("the status list's proof does not verify: {e}"))?;
                    self.remember(memo, None);
                }
                if list["id"] != status["statusListCredential"] {
                    return Err("the status list is not the one the credential names".into());
                }
                let index: u64 = status["statusListIndex"]
                    .as_str()
                    .and_then(|i| i.parse().ok())
                    .ok_or("the credential's statusListIndex is not a number")?;
                let encoded = list["credentialSubject"]["encodedList"]
                    .as_str()
                    .ok_or("the status list has no encodedList")?;
                Some(status_bit(encoded, index).ok_or("the status list is malformed")?)
            }
            _ => None,
        };
        let b64 = |v: &Value, what: &str| -> std::result::Result<Vec<u8>, String> {
            v.as_str()
                .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
                .ok_or_else(|| format!("the evidence's {what} is not base64"))
        };
        let hash = |v: &Value, what: &str| -> std::result::Result<zhiyuan_ledger::Hash, String> {
            zhiyuan_ledger::Hash::try_from(b64(v, what)?.as_slice())
                .map_err(|_| format!("the evidence's {what} is not 32 bytes"))
        };
        let mut ledger = Vec::new();
        let evidence = credential["evidence"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        for e in evidence
            .iter()
            .filter(|e| e["type"][0] == "LedgerInclusionEvidence")
        {
            let content = zhiyuan_credentials::canonical(&e["content"])
                .map_err(|e| format!("the evidence's content: {e}"))?;
            let commitment = zhiyuan_store::ledger::commit(&b64(&e["salt"], "salt")?, &content);
            if commitment != hash(&e["commitment"], "commitment")? {
                return Err("the evidence's content and salt do not make its commitment".into());
            }
            let subject = &credential["credentialSubject"];
            let binds = match e["content"]["kind"].as_str() {
                Some("certificate") => e["content"]["number"] == subject["certificateNumber"],
                Some("star") => credential["id"]
                    .as_str()
                    .is_some_and(|id| id.ends_with(&format!("/{}", e["content"]["application"]))),
                _ => false,
            };
            if !binds {
                return Err(
                    "the ledger evidence is about something else than the credential".into(),
                );
            }
            let note = e["checkpoint"]
                .as_str()
                .ok_or("the entry was not yet in a signed checkpoint when issued")?;
            let origin = e["logOrigin"].as_str().unwrap_or_default();
            let vkeys: Vec<&str> = match trusted_log {
                Some((trusted, _)) if trusted != origin => {
                    return Err(format!(
                        "the evidence is from log {origin:?}, not the trusted log {trusted:?}"
                    ));
                }
                Some((_, keys)) => keys.iter().map(String::as_str).collect(),
                None => e["logKeys"]
                    .as_array()
                    .ok_or("the evidence names no log keys")?
                    .iter()
                    .map(|k| k.as_str().unwrap_or_default())
                    .collect(),
            };
            let mut parts: Vec<&[u8]> = vec![b"checkpoint", origin.as_bytes(), note.as_bytes()];
            parts.extend(vkeys.iter().map(|k| k.as_bytes()));
            let memo = memo_key(&parts);
            let checkpoint = match self.recall(&memo).flatten() {
                Some(c) => c,
                None => {
                    let keys = vkeys
                        .iter()
                        .map(|k| NoteVerifier::parse(k))
                        .collect::<std::result::Result<Vec<_>, _>>()
                        .map_err(|e| format!("the evidence's log keys: {e}"))?;
                    let c = Checkpoint::open(note, origin, &keys)
                        .map_err(|e| format!("the evidence's checkpoint: {e}"))?;
                    self.remember(memo, Some(c.clone()));
                    c
                }
            };
            let index = e["leafIndex"]
                .as_u64()
                .ok_or("the evidence has no leafIndex")?;
            let proof = e["inclusionProof"]
                .as_array()
                .ok_or("the evidence has no inclusionProof")?
                .iter()
                .map(|h| hash(h, "inclusion proof"))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            verify_inclusion(
                index,
                checkpoint.size,
                &leaf_hash(&commitment),
                &proof,
                &checkpoint.root,
            )
            .map_err(|e| format!("the ledger inclusion proof does not verify: {e}"))?;
            ledger.push((index, checkpoint.size));
        }
        Ok(CredentialCheck {
            signed_by,
            revoked,
            ledger,
        })
    }
}
