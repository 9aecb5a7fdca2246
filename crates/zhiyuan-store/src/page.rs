//! Keyset (cursor) pagination: a page ends with an opaque cursor holding the sort key of
//! its last row; the next page starts strictly after it. Stable under concurrent inserts
//! and constant-time at any depth, unlike OFFSET.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The sort key of the last row seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(pub Vec<i64>);

impl Cursor {
    pub fn encode(&self) -> String {
        let text: Vec<String> = self.0.iter().map(i64::to_string).collect();
        URL_SAFE_NO_PAD.encode(text.join("."))
    }

    /// Decodes a cursor of exactly `len` keys.
    pub fn decode(s: &str, len: usize) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let keys: Option<Vec<i64>> = text.split('.').map(|p| p.parse().ok()).collect();
        keys.filter(|k| k.len() == len).map(Self)
    }

    /// The `i`-th key (0 when absent: cursors are validated on decode).
    pub fn key(&self, i: usize) -> i64 {
        self.0.get(i).copied().unwrap_or_default()
    }
}

/// Which page to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Cursor>,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 200;

    pub fn first(limit: u32) -> Self {
        Self {
            limit: limit.clamp(1, Self::MAX_LIMIT),
            after: None,
        }
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only says there is more.
    pub fn from_rows(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> Vec<i64>) -> Self {
        let next = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|last| Cursor(key(last)))
        } else {
            None
        };
        Self { items: rows, next }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_the_wrong_shape() {
        let c = Cursor(vec![440106000000, 42]);
        assert_eq!(Cursor::decode(&c.encode(), 2), Some(c.clone()));
        assert_eq!(Cursor::decode(&c.encode(), 1), None);
        assert_eq!(Cursor::decode("not base64!", 1), None);
    }

    #[test]
    fn a_page_has_a_cursor_only_when_rows_remain() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |x| vec![*x]);
        assert_eq!(page.items, [1, 2]);
        assert_eq!(page.next, Some(Cursor(vec![2])));
        assert_eq!(Page::from_rows(vec![1, 2], 2, |x| vec![*x]).next, None);
    }
}
