//! RFC 8785 JSON Canonicalization Scheme, written straight from a `serde_json::Value`,
//! or from an object with one member left out (a document without its proof, a proof
//! without its value), so that verifying copies nothing.
//!
//! Objects' members are sorted by the UTF-16 code units of their names; strings escape
//! only `"`, `\` and control characters (the short forms where JSON has them, otherwise
//! `\u00xx`); numbers are written as ECMAScript writes a double (`150.0` is `150`,
//! integers beyond 2^53 are rounded to the nearest double first).

use serde_json::{Map, Number, Value};

/// Why a value has no canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotCanonical;

pub fn write_value(v: &Value, out: &mut Vec<u8>) -> Result<(), NotCanonical> {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out)?,
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(m) => write_object(m, None, out)?,
    }
    Ok(())
}

/// Writes object `m`, leaving out the member named `skip`.
pub fn write_object(
    m: &Map<String, Value>,
    skip: Option<&str>,
    out: &mut Vec<u8>,
) -> Result<(), NotCanonical> {
    let mut members: Vec<(&String, &Value)> =
        m.iter().filter(|(k, _)| Some(k.as_str()) != skip).collect();
    members.sort_unstable_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    out.push(b'{');
    for (i, (k, v)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(k, out);
        out.push(b':');
        write_value(v, out)?;
    }
    out.push(b'}');
    Ok(())
}

/// The largest integer a double holds exactly.
const EXACT: u64 = 1 << 53;

fn write_number(n: &Number, out: &mut Vec<u8>) -> Result<(), NotCanonical> {
    use std::io::Write;
    match (n.as_i64(), n.as_u64()) {
        (Some(i), _) if i.unsigned_abs() <= EXACT => {
            let _ = write!(out, "{i}");
        }
        (_, Some(u)) if u <= EXACT => {
            let _ = write!(out, "{u}");
        }
        _ => {
            let f = n.as_f64().filter(|f| f.is_finite()).ok_or(NotCanonical)?;
            out.extend_from_slice(ryu_js::Buffer::new().format_finite(f).as_bytes());
        }
    }
    Ok(())
}

fn write_str(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => &[],
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if short.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(short);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn jcs(v: &Value) -> String {
        let mut out = Vec::new();
        super::write_value(v, &mut out).expect("canonical");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn the_rfc_8785_examples_canonicalise_as_published() {
        // RFC 8785 §3.2.2 and §3.2.3.
        let v: Value = serde_json::from_str(
            r#"{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
                "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
                "literals": [null, true, false]}"#,
        )
        .expect("json");
        assert_eq!(
            jcs(&v),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
        let sorted: Value = serde_json::from_str(
            r#"{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
                "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control",
                "\u00f6": "Latin Small Letter O With Diaeresis"}"#,
        )
        .expect("json");
        let keys: Vec<String> = jcs(&sorted)
            .split(',')
            .map(|m| m.split(':').next().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(
            keys,
            [
                "{\"\\r\"",
                "\"1\"",
                "\"\u{80}\"",
                "\"ö\"",
                "\"€\"",
                "\"😀\"",
                "\"\u{fb33}\""
            ]
        );
        assert_eq!(jcs(&json!(150.0)), "150");
        assert_eq!(jcs(&json!(-0.0)), "0");
        assert_eq!(jcs(&json!(9_007_199_254_740_993_u64)), "9007199254740992");
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            any::<u64>().prop_map(|u| json!(u)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            any::<String>().prop_map(Value::String),
            "[\\u{0}-\\u{1f}\"\\\\a-z€😀\u{fb33}]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(
                    "[\\u{0}-\\u{7f}€😀\u{fb33}\u{e000}]{0,6}",
                    inner,
                    0..8
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn agrees_with_the_reference_canonicaliser(v in json_value()) {
            let reference = serde_json_canonicalizer::to_string(&v).expect("reference");
            prop_assert_eq!(jcs(&v), reference);
        }
    }
}
