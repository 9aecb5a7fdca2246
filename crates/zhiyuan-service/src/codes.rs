//! Rotating attendance codes, shown as QR codes: a site's code (the volunteer scans it to
//! check in) and a volunteer's code (a coordinator scans it). A code names its subject
//! and a one-minute window and is signed; it is accepted in its own window and the next,
//! so it lives between one and two minutes, and it cannot be made without the key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;

use crate::Vault;

const WINDOW_SECS: i64 = 60;

/// What a code identifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// A shift, displayed at the site.
    Shift,
    /// A volunteer, displayed on their phone.
    Volunteer,
}

impl CodeKind {
    fn tag(self) -> &'static str {
        match self {
            Self::Shift => "s",
            Self::Volunteer => "v",
        }
    }
}

/// Why a code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeError {
    Malformed,
    Expired,
    Forged,
}

impl std::fmt::Display for CodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Malformed => "is not an attendance code",
            Self::Expired => "has expired; scan the current code",
            Self::Forged => "is not a valid code",
        })
    }
}

fn window(at: OffsetDateTime) -> i64 {
    at.unix_timestamp().div_euclid(WINDOW_SECS)
}

fn mac(vault: &Vault, kind: CodeKind, subject: i64, window: i64) -> [u8; 16] {
    let message = format!("zyc1|{}|{subject}|{window}", kind.tag());
    let full = vault.sign_code(message.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// Compares in time independent of where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A code for `subject`, and when it stops being accepted.
pub fn issue(
    vault: &Vault,
    kind: CodeKind,
    subject: i64,
    now: OffsetDateTime,
) -> (String, OffsetDateTime) {
    let w = window(now);
    let signature = URL_SAFE_NO_PAD.encode(mac(vault, kind, subject, w));
    let token = format!("zyc1.{}.{subject}.{w}.{signature}", kind.tag());
    let expires = OffsetDateTime::from_unix_timestamp((w + 2) * WINDOW_SECS).unwrap_or(now);
    (token, expires)
}

/// The subject of a valid, current code of `kind`.
pub fn verify(
    vault: &Vault,
    token: &str,
    kind: CodeKind,
    now: OffsetDateTime,
) -> Result<i64, CodeError> {
    let parts: Vec<&str> = token.trim().split('.').collect();
    let [version, tag, subject, w, signature] = parts.as_slice() else {
        return Err(CodeError::Malformed);
    };
    if *version != "zyc1" || *tag != kind.tag() {
        return Err(CodeError::Malformed);
    }
    let subject: i64 = subject.parse().map_err(|_| CodeError::Malformed)?;
    let w: i64 = w.parse().map_err(|_| CodeError::Malformed)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| CodeError::Malformed)?;
    if !same(&mac(vault, kind, subject, w), &signature) {
        return Err(CodeError::Forged);
    }
    let current = window(now);
    if w != current && w != current - 1 {
        return Err(CodeError::Expired);
    }
    Ok(subject)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    #[test]
    fn a_code_is_accepted_for_one_to_two_minutes_only() {
        let vault = Vault::new(&[5; 32]);
        let t = datetime!(2026-11-25 10:00:30 UTC);
        let (code, expires) = issue(&vault, CodeKind::Shift, 42, t);
        assert_eq!(expires, datetime!(2026-11-25 10:02:00 UTC));
        assert_eq!(verify(&vault, &code, CodeKind::Shift, t), Ok(42));
        assert_eq!(
            verify(&vault, &code, CodeKind::Shift, t + Duration::seconds(80)),
            Ok(42)
        );
        assert_eq!(
            verify(&vault, &code, CodeKind::Shift, t + Duration::seconds(95)),
            Err(CodeError::Expired)
        );
    }

    #[test]
    fn forged_and_misused_codes_are_refused() {
        let vault = Vault::new(&[5; 32]);
        let t = datetime!(2026-11-25 10:00:00 UTC);
        let (code, _) = issue(&vault, CodeKind::Shift, 42, t);
        let other_shift = code.replacen(".42.", ".43.", 1);
        assert_eq!(
            verify(&vault, &other_shift, CodeKind::Shift, t),
            Err(CodeError::Forged)
        );
        let other_key = Vault::new(&[6; 32]);
        assert_eq!(
            verify(&other_key, &code, CodeKind::Shift, t),
            Err(CodeError::Forged)
        );
        assert_eq!(
            verify(&vault, &code, CodeKind::Volunteer, t),
            Err(CodeError::Malformed)
        );
        assert_eq!(
            verify(&vault, "hello", CodeKind::Shift, t),
            Err(CodeError::Malformed)
        );
    }
}
