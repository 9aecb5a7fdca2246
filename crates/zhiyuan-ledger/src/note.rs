//! C2SP signed notes with Ed25519 keys, and tlog checkpoints carried in them.
//!
//! A note is UTF-8 text ending in a newline, then a blank line, then one line per
//! signature: `— <key name> <base64(key id || signature)>`. The key id is the first four
//! bytes of SHA-256(name || "\n" || 0x01 || public key). Keys are written as Go's
//! `sumdb/note` writes them: `<name>+<hex key id>+<base64(0x01 || key)>`, with
//! `PRIVATE+KEY+` before the signer's.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::Hash;

/// The algorithm byte of Ed25519 note keys.
const ED25519: u8 = 0x01;

/// Why a key, note or checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("malformed key: {0}")]
    Key(&'static str),
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    #[error("the note is not signed by any trusted key")]
    Unverified,
    #[error("the signature of {0} does not verify")]
    BadSignature(String),
    #[error("malformed checkpoint: {0}")]
    Checkpoint(&'static str),
    #[error("the checkpoint is for log {got}, not {want}")]
    WrongOrigin { got: String, want: String },
}

/// A key name must be non-empty and contain no whitespace or `+`.
fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '+') {
        return Err(NoteError::Key(
            "a key name is non-empty, without spaces or '+'",
        ));
    }
    Ok(())
}

fn key_id(name: &str, public: &VerifyingKey) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ED25519]);
    h.update(public.as_bytes());
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A public key that verifies notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        check_name(name)?;
        Ok(Self {
            id: key_id(name, &key),
            name: name.to_owned(),
            key,
        })
    }

    /// Parses `<name>+<hex id>+<base64(0x01 || key)>`, checking that the id matches.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::Key("expected name+id+key"));
        };
        let bytes = STANDARD
            .decode(key)
            .map_err(|_| NoteError::Key("the key is not base64"))?;
        let Some((&ED25519, key)) = bytes.split_first() else {
            return Err(NoteError::Key("not an Ed25519 key"));
        };
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| NoteError::Key("an Ed25519 key has 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|_| NoteError::Key("not a point on the curve"))?;
        let v = Self::new(name, key)?;
        if id.len() != 8 || u32::from_str_radix(id, 16).ok() != Some(v.id) {
            return Err(NoteError::Key("the key id does not match the name and key"));
        }
        Ok(v)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key as [`Self::parse`] reads it.
    pub fn to_vkey(&self) -> String {
        let mut bytes = vec![ED25519];
        bytes.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, STANDARD.encode(bytes))
    }
}

/// A private key that signs notes.
#[derive(Clone)]
pub struct NoteSigner {
    verifier: NoteVerifier,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.verifier.name)
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        Ok(Self {
            verifier: NoteVerifier::new(name, key.verifying_key())?,
            key,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>`.
    pub fn parse(skey: &str) -> Result<Self, NoteError> {
        let rest = skey
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::Key("a signer key starts with PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::Key("expected name+id+key"));
        };
        let bytes = STANDARD
            .decode(key)
            .map_err(|_| NoteError::Key("the key is not base64"))?;
        let Some((&ED25519, seed)) = bytes.split_first() else {
            return Err(NoteError::Key("not an Ed25519 key"));
        };
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| NoteError::Key("an Ed25519 seed has 32 bytes"))?;
        let s = Self::new(name, SigningKey::from_bytes(&seed))?;
        if id.len() != 8 || u32::from_str_radix(id, 16).ok() != Some(s.verifier.id) {
            return Err(NoteError::Key("the key id does not match the name and key"));
        }
        Ok(s)
    }

    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// The key as [`Self::parse`] reads it. A secret: keep it out of logs.
    pub fn to_skey(&self) -> String {
        let mut bytes = vec![ED25519];
        bytes.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.verifier.name,
            self.verifier.id,
            STANDARD.encode(bytes)
        )
    }

    /// Signs `text` (which must end in a newline) into a note.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        if !text.ends_with('\n') {
            return Err(NoteError::Malformed("the text must end with a newline"));
        }
        let sig = self.key.sign(text.as_bytes());
        let mut blob = self.verifier.id.to_be_bytes().to_vec();
        blob.extend_from_slice(&sig.to_bytes());
        Ok(format!(
            "{text}\n\u{2014} {} {}\n",
            self.verifier.name,
            STANDARD.encode(blob)
        ))
    }
}

/// Checks a note's signatures: at least one by a key in `trusted`, and every signature
/// by a trusted key valid. Signatures by other keys are ignored (they may be a
/// witness's). Returns the text.
pub fn open<'n>(note: &'n str, trusted: &[NoteVerifier]) -> Result<&'n str, NoteError> {
    let split = note
        .rfind("\n\n")
        .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
    let (text, sigs) = (&note[..=split], &note[split + 2..]);
    if !sigs.ends_with('\n') || sigs.len() < 2 {
        return Err(NoteError::Malformed(
            "signature lines must end with a newline",
        ));
    }
    let mut verified = false;
    for line in sigs[..sigs.len() - 1].split('\n') {
        let rest = line
            .strip_prefix("\u{2014} ")
            .ok_or(NoteError::Malformed("a signature line starts with '— '"))?;
        let (name, blob) = rest.split_once(' ').ok_or(NoteError::Malformed(
            "a signature line is '— name signature'",
        ))?;
        let blob = STANDARD
            .decode(blob)
            .map_err(|_| NoteError::Malformed("a signature is not base64"))?;
        if blob.len() < 4 {
            return Err(NoteError::Malformed("a signature is too short"));
        }
        let id = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]);
        let Some(v) = trusted.iter().find(|v| v.name == name && v.id == id) else {
            continue;
        };
        let sig: [u8; 64] = blob[4..]
            .try_into()
            .map_err(|_| NoteError::BadSignature(name.to_owned()))?;
        v.key
            .verify_strict(text.as_bytes(), &Signature::from_bytes(&sig))
            .map_err(|_| NoteError::BadSignature(name.to_owned()))?;
        verified = true;
    }
    if verified {
        Ok(text)
    } else {
        Err(NoteError::Unverified)
    }
}

/// A C2SP tlog checkpoint: the log's origin, its size and its root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: three lines, origin, decimal size, base64 root.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        )
    }

    /// The signed checkpoint.
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, NoteError> {
        signer.sign(&self.body())
    }

    /// Reads a checkpoint of log `origin` from a note signed by one of `trusted`.
    /// Extension lines after the root are allowed and ignored.
    pub fn open(note: &str, origin: &str, trusted: &[NoteVerifier]) -> Result<Self, NoteError> {
        let text = open(note, trusted)?;
        let mut lines = text.split('\n');
        let (Some(o), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next()) else {
            return Err(NoteError::Checkpoint(
                "expected origin, size and root lines",
            ));
        };
        if o != origin {
            return Err(NoteError::WrongOrigin {
                got: o.to_owned(),
                want: origin.to_owned(),
            });
        }
        if size.is_empty() || (size.len() > 1 && size.starts_with('0')) {
            return Err(NoteError::Checkpoint(
                "the size is a decimal without leading zeros",
            ));
        }
        let size = size
            .parse()
            .map_err(|_| NoteError::Checkpoint("the size is a decimal without leading zeros"))?;
        let root = STANDARD
            .decode(root)
            .ok()
            .and_then(|r| Hash::try_from(r).ok())
            .ok_or(NoteError::Checkpoint("the root is the base64 of 32 bytes"))?;
        Ok(Self {
            origin: o.to_owned(),
            size,
            root,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of Go's golang.org/x/mod/sumdb/note, which the C2SP spec follows.
    const SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                        then you don't know what your problem is.\n";
    const SIG: &str = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=";

    #[test]
    fn signs_and_opens_the_reference_note_byte_for_byte() {
        let signer = NoteSigner::parse(SKEY).unwrap();
        assert_eq!(signer.verifier().to_vkey(), VKEY);
        assert_eq!(signer.to_skey(), SKEY);
        let note = signer.sign(TEXT).unwrap();
        assert_eq!(note, format!("{TEXT}\n\u{2014} PeterNeumann {SIG}\n"));
        let v = NoteVerifier::parse(VKEY).unwrap();
        assert_eq!(open(&note, &[v]).unwrap(), TEXT);
    }

    #[test]
    fn altered_text_unknown_keys_and_mangled_keys_are_refused() {
        let v = NoteVerifier::parse(VKEY).unwrap();
        let note = format!("{TEXT}\n\u{2014} PeterNeumann {SIG}\n");
        let altered = note.replacen("cryptography", "Cryptography", 1);
        assert_eq!(
            open(&altered, std::slice::from_ref(&v)),
            Err(NoteError::BadSignature("PeterNeumann".into()))
        );
        let other = NoteSigner::new("other", SigningKey::from_bytes(&[7; 32])).unwrap();
        assert_eq!(
            open(&note, &[other.verifier().clone()]),
            Err(NoteError::Unverified)
        );
        assert!(NoteVerifier::parse(&VKEY.replace("c74f20a3", "c74f20a4")).is_err());
        assert!(NoteVerifier::parse(&VKEY.replace("Peter", "Paul")).is_err());
    }

    #[test]
    fn a_checkpoint_round_trips_and_names_its_origin() {
        let signer =
            NoteSigner::new("zhiyuan.example/records", SigningKey::from_bytes(&[9; 32])).unwrap();
        let cp = Checkpoint {
            origin: "zhiyuan.example/records".into(),
            size: 10_000_000,
            root: [0xab; 32],
        };
        let note = cp.sign(&signer).unwrap();
        assert!(note.starts_with("zhiyuan.example/records\n10000000\nq6ur"));
        let trusted = [signer.verifier().clone()];
        assert_eq!(
            Checkpoint::open(&note, "zhiyuan.example/records", &trusted),
            Ok(cp)
        );
        assert!(matches!(
            Checkpoint::open(&note, "elsewhere/log", &trusted),
            Err(NoteError::WrongOrigin { .. })
        ));
    }
}
