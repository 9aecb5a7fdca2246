//! Requests sent with an `Idempotency-Key` (the IETF's `draft-ietf-httpapi-idempotency-
//! key-header`): the first is run and its answer kept for a day; a retry with the same key
//! gets that answer again instead of doing the thing twice.
//!
//! An answer may hold a secret (a need's secret, a session's token) that the database
//! otherwise keeps only as a digest, so it is kept encrypted under a key derived from the
//! client's key, which is itself kept only as a digest: the database alone cannot read a
//! kept answer; a retry, holding the key, can.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use zhiyuan_store::{KeptResponse, KeyedRequest};

use crate::Zhiyuan;
use crate::error::{Result, ServiceError};

/// How long a key and its answer are kept.
pub const KEYS_KEPT: Duration = Duration::days(1);

/// How long an attempt that never finished (its server stopped mid-request) holds its
/// key; after that a retry runs the request again.
pub const KEY_LEASE: Duration = Duration::minutes(2);

/// What the store knows a key by (naming its scope too), and the cipher of its answer.
struct Keyed {
    id: String,
    cipher: Aes256Gcm,
}

/// SHA-256 of `parts`, each preceded by its length, so that no two lists of parts
/// digest alike: a request's fingerprint, a caller's scope, a key's names.
pub fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

fn keyed(scope: &[u8], key: &str) -> Keyed {
    let derive = |purpose: &[u8]| digest(&[purpose, scope, key.as_bytes()]);
    Keyed {
        id: hex::encode(derive(b"zhiyuan idempotency key v1")),
        cipher: Aes256Gcm::new(&derive(b"zhiyuan idempotency answer v1").into()),
    }
}

impl Keyed {
    /// The answer's body as kept: a fresh nonce, then the body encrypted.
    fn seal(&self, body: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), body)
            .unwrap_or_else(|_| unreachable!("AES-GCM encryption of an answer cannot fail"));
        [nonce.as_slice(), &sealed].concat()
    }

    fn open(&self, kept: &[u8]) -> Result<Vec<u8>> {
        let unreadable = || ServiceError::Internal("a kept answer does not open".into());
        if kept.len() < 12 {
            return Err(unreadable());
        }
        let (nonce, sealed) = kept.split_at(12);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| unreadable())
    }
}

impl Zhiyuan {
    /// Records a keyed request as started, or says how the key stands (see
    /// [`KeyedRequest`]). `scope` says whose key it is, `fingerprint` what was asked.
    pub async fn begin_keyed(
        &self,
        scope: &[u8],
        key: &str,
        fingerprint: &[u8],
    ) -> Result<KeyedRequest> {
        let k = keyed(scope, key);
        let now = OffsetDateTime::now_utc();
        let stale_before = now - KEY_LEASE;
        match self
            .0
            .store
            .begin_keyed(&k.id, fingerprint, now, stale_before)
            .await?
        {
            KeyedRequest::Answered(mut kept) => {
                kept.body = k.open(&kept.body)?;
                Ok(KeyedRequest::Answered(kept))
            }
            other => Ok(other),
        }
    }

    /// Keeps a started request's answer, or forgets the request (`None`) so that a retry
    /// runs it again.
    pub async fn finish_keyed(
        &self,
        scope: &[u8],
        key: &str,
        answer: Option<KeptResponse>,
    ) -> Result<()> {
        let k = keyed(scope, key);
        let sealed = answer.map(|mut a| {
            a.body = k.seal(&a.body);
            a
        });
        Ok(self.0.store.finish_keyed(&k.id, sealed.as_ref()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_tells_where_one_part_ends_and_the_next_begins() {
        assert_ne!(digest(&[b"ab", b"c"]), digest(&[b"a", b"bc"]));
        assert_eq!(digest(&[b"ab", b"c"]), digest(&[b"ab", b"c"]));
    }

    #[test]
    fn a_key_is_known_by_a_digest_of_it_and_its_scope() {
        let a = keyed(b"alice", "k-1");
        assert_eq!(a.id.len(), 64);
        assert!(!a.id.contains("k-1"));
        assert_eq!(a.id, keyed(b"alice", "k-1").id);
        assert_ne!(a.id, keyed(b"bob", "k-1").id);
        assert_ne!(a.id, keyed(b"alice", "k-2").id);
        // Parts are delimited: ("ab", "c") is not ("a", "bc").
        assert_ne!(keyed(b"ab", "c").id, keyed(b"a", "bc").id);
    }

    #[test]
    fn a_kept_answer_is_unreadable_without_its_key() {
        let answer = br#"{"tracking": "GD-1", "secret": "s3cr3t"}"#;
        let kept = keyed(b"", "k-1").seal(answer);
        assert!(!kept.windows(6).any(|w| w == b"s3cr3t"));
        assert_eq!(keyed(b"", "k-1").open(&kept).expect("opens"), answer);
        assert!(keyed(b"", "k-2").open(&kept).is_err());
        assert!(keyed(b"someone", "k-1").open(&kept).is_err());
        assert!(keyed(b"", "k-1").open(&kept[..11]).is_err());
    }
}
