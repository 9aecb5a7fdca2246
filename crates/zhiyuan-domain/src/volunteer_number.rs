//! The public volunteer number (志愿者编号): the identifier a volunteer shows, a school
//! checks and a partner platform exchanges, in place of the identity document number.
//!
//! 13 digits: 12 random digits (the first not zero) and a Luhn check digit, so a mistyped
//! digit is caught before any lookup. The number carries nothing of the document.

use std::fmt;

use crate::{FieldError, Reason};

const BODY_MIN: u64 = 100_000_000_000;
const BODY_SPAN: u64 = 900_000_000_000;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VolunteerNumber(u64);

fn luhn_check_digit(body: u64) -> u64 {
    // Digits of the body from the right; the check digit will sit to their right, so the
    // rightmost body digit is doubled.
    let mut sum = 0;
    let mut n = body;
    let mut double = true;
    while n > 0 {
        let mut d = n % 10;
        if double {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
        double = !double;
        n /= 10;
    }
    (10 - sum % 10) % 10
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A keyed permutation of `[0, 2^40)`: four Feistel rounds over 20-bit halves.
fn feistel40(x: u64, key: u64) -> u64 {
    const MASK: u64 = (1 << 20) - 1;
    let (mut l, mut r) = (x >> 20, x & MASK);
    for round in 0..4u64 {
        let f = splitmix(r ^ key.rotate_left(round as u32 * 16) ^ round) & MASK;
        (l, r) = (r, l ^ f);
    }
    (l << 20) | r
}

impl VolunteerNumber {
    /// A number from 64 random bits (callers retry on the rare collision).
    pub fn from_random(bits: u64) -> Self {
        Self::from_body(BODY_MIN + bits % BODY_SPAN)
    }

    /// The `index`-th number of a keyed permutation: distinct indexes give distinct
    /// numbers, so synthetic provinces need no collision retries and no memory.
    pub fn from_index(index: u64, key: u64) -> Self {
        assert!(index < BODY_SPAN, "index beyond the number space");
        // Cycle-walk: the permutation of [0, 2^40) restricted to [0, BODY_SPAN) is a
        // permutation of [0, BODY_SPAN).
        let mut x = feistel40(index, key);
        while x >= BODY_SPAN {
            x = feistel40(x, key);
        }
        Self::from_body(BODY_MIN + x)
    }

    fn from_body(body: u64) -> Self {
        Self(body * 10 + luhn_check_digit(body))
    }

    /// The number as stored (13 digits fit an i64).
    pub fn as_i64(self) -> i64 {
        self.0 as i64
    }

    /// Rebuilds a stored number, checking it.
    pub fn from_i64(value: i64) -> Option<Self> {
        Self::parse(&value.to_string()).ok()
    }

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        if s.len() != 13 || !s.bytes().all(|b| b.is_ascii_digit()) || s.starts_with('0') {
            return Err(FieldError::because("", Reason::VolunteerNumberDigits));
        }
        let n: u64 = s
            .parse()
            .map_err(|_| FieldError::because("", Reason::VolunteerNumberDigits))?;
        if luhn_check_digit(n / 10) != n % 10 {
            return Err(FieldError::because("", Reason::CheckDigit));
        }
        Ok(Self(n))
    }
}

impl fmt::Display for VolunteerNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for VolunteerNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VolunteerNumber({})", self.0)
    }
}

impl serde::Serialize for VolunteerNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_generated_number_parses_and_a_typo_does_not() {
        let n = VolunteerNumber::from_random(42);
        let s = n.to_string();
        assert_eq!(s.len(), 13);
        assert_eq!(VolunteerNumber::parse(&s).unwrap(), n);
        let mut typo = s.into_bytes();
        typo[5] = if typo[5] == b'9' { b'0' } else { typo[5] + 1 };
        assert!(VolunteerNumber::parse(std::str::from_utf8(&typo).unwrap()).is_err());
    }

    #[test]
    fn indexed_numbers_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..100_000 {
            assert!(seen.insert(VolunteerNumber::from_index(i, 7)));
        }
    }

    proptest! {
        #[test]
        fn every_number_has_13_digits_and_a_valid_check(bits in any::<u64>()) {
            let n = VolunteerNumber::from_random(bits);
            prop_assert_eq!(VolunteerNumber::parse(&n.to_string()).ok(), Some(n));
        }
    }
}
