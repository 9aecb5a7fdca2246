//! The document vault: identity numbers are encrypted at rest with AES-256-GCM and
//! fingerprinted with HMAC-SHA256 for duplicate detection. Both keys are derived (HKDF)
//! from one 32-byte master key, read from configuration or from a key file created on
//! first run. The clear number exists only in memory, between parsing and sealing.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;
use zhiyuan_domain::document::IdDocument;
use zhiyuan_store::SealedDocument;

/// Ciphertext format version (first byte), so keys and algorithms can rotate later.
const FORMAT_V1: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the document key must be 32 bytes of base64")]
    BadKey,
    #[error("cannot read or create the key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("ciphertext is corrupt or was sealed under another key")]
    Corrupt,
}

/// Encrypts and fingerprints identity documents.
#[derive(Clone)]
pub struct Vault {
    cipher: Aes256Gcm,
    mac_key: Zeroizing<[u8; 32]>,
    code_key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

impl Vault {
    /// A vault from a 32-byte master key.
    pub fn new(master: &[u8; 32]) -> Self {
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b"zhiyuan-vault"), master);
        let mut enc = Zeroizing::new([0u8; 32]);
        let mut mac = Zeroizing::new([0u8; 32]);
        let mut code = Zeroizing::new([0u8; 32]);
        // Output lengths of 32 are always valid for HKDF-SHA256.
        let _ = hk.expand(b"document-encryption-v1", enc.as_mut());
        let _ = hk.expand(b"document-fingerprint-v1", mac.as_mut());
        let _ = hk.expand(b"attendance-codes-v1", code.as_mut());
        Self {
            cipher: Aes256Gcm::new(enc.as_ref().into()),
            mac_key: mac,
            code_key: code,
        }
    }

    /// A vault from a base64 master key (configuration).
    pub fn from_base64(key: &str) -> Result<Self, VaultError> {
        let bytes = Zeroizing::new(
            STANDARD
                .decode(key.trim())
                .map_err(|_| VaultError::BadKey)?,
        );
        let master: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::BadKey)?;
        Ok(Self::new(&master))
    }

    /// Reads the key file, or creates it (mode 0600) with a fresh random key.
    pub fn load_or_create(path: &Path) -> Result<Self, VaultError> {
        let err = |source| VaultError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(err)?;
                }
                let mut master = Zeroizing::new([0u8; 32]);
                rand::rngs::OsRng.fill_bytes(master.as_mut());
                write_private(path, &STANDARD.encode(master.as_ref())).map_err(err)?;
                Ok(Self::new(&master))
            }
            Err(e) => Err(err(e)),
        }
    }

    /// The keyed fingerprint of a document's identity key: HMAC-SHA256 truncated to
    /// 128 bits, collision-free in practice far beyond a province (birthday bound 2^64)
    /// and a smaller unique index to keep in memory.
    pub fn fingerprint(&self, doc: &IdDocument) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.mac_key.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(doc.identity_key().as_bytes());
        mac.finalize().into_bytes()[..16].to_vec()
    }

    /// A MAC over `message` with the key for short-lived codes (attendance QR codes):
    /// shared by every app server that shares the master key.
    pub fn sign_code(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.code_key.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// Encrypts the number (the document kind is bound as associated data), fingerprints
    /// the holder, and masks the number for display.
    pub fn seal(&self, doc: &IdDocument, rng: &mut impl RngCore) -> SealedDocument {
        let mut nonce = [0u8; 12];
        rng.fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: doc.expose_number().as_bytes(),
                    aad: doc.kind().as_str().as_bytes(),
                },
            )
            .unwrap_or_else(|_| unreachable!("AES-GCM encryption of a short text cannot fail"));
        let mut out = Vec::with_capacity(1 + 12 + ciphertext.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        SealedDocument {
            kind: doc.kind(),
            country: doc.country().map(str::to_owned),
            ciphertext: out,
            identity_hmac: self.fingerprint(doc),
            masked: doc.masked(),
        }
    }

    /// Decrypts a sealed number (for exports to authorised systems; never for display).
    pub fn open(&self, sealed: &[u8], kind: &str) -> Result<Zeroizing<String>, VaultError> {
        if sealed.len() < 13 || sealed[0] != FORMAT_V1 {
            return Err(VaultError::Corrupt);
        }
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(&sealed[1..13]),
                Payload {
                    msg: &sealed[13..],
                    aad: kind.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Corrupt)?;
        String::from_utf8(plain)
            .map(Zeroizing::new)
            .map_err(|_| VaultError::Corrupt)
    }
}

#[cfg(unix)]
pub(crate) fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
pub(crate) fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zhiyuan_domain::document::DocumentKind;

    fn doc(n: &str) -> IdDocument {
        IdDocument::parse(DocumentKind::MainlandId, n, None).unwrap()
    }

    #[test]
    fn sealed_numbers_open_only_under_the_same_key_and_kind() {
        let vault = Vault::new(&[7; 32]);
        let sealed = vault.seal(&doc("11010519491231002X"), &mut rand::thread_rng());
        assert!(!sealed.ciphertext.windows(8).any(|w| w == b"19491231"));
        assert_eq!(sealed.masked, "1101**********002X");
        let opened = vault.open(&sealed.ciphertext, "mainland_id").unwrap();
        assert_eq!(opened.as_str(), "11010519491231002X");
        assert!(vault.open(&sealed.ciphertext, "hk_id").is_err());
        assert!(
            Vault::new(&[8; 32])
                .open(&sealed.ciphertext, "mainland_id")
                .is_err()
        );
    }

    #[test]
    fn fingerprints_are_stable_per_holder_and_differ_per_key() {
        let a = Vault::new(&[1; 32]);
        let b = Vault::new(&[2; 32]);
        let d = doc("11010519491231002X");
        assert_eq!(a.fingerprint(&d), a.fingerprint(&d));
        assert_ne!(a.fingerprint(&d), b.fingerprint(&d));
        // The same travel permit after renewal is the same holder.
        let p1 = IdDocument::parse(DocumentKind::TravelPermit, "H1234567800", None).unwrap();
        let p2 = IdDocument::parse(DocumentKind::TravelPermit, "H1234567803", None).unwrap();
        assert_eq!(a.fingerprint(&p1), a.fingerprint(&p2));
    }

    #[test]
    fn a_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/document.key");
        let first = Vault::load_or_create(&path).unwrap();
        let again = Vault::load_or_create(&path).unwrap();
        let d = doc("11010519491231002X");
        assert_eq!(first.fingerprint(&d), again.fingerprint(&d));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_malformed_configured_key_is_refused() {
        assert!(matches!(
            Vault::from_base64("c2hvcnQ="),
            Err(VaultError::BadKey)
        ));
    }
}
