//! Administrative regions by GB/T 2260 code (province, city, county) extended by the
//! statistical division codes for towns (9 digits) and villages (12 digits).
//!
//! Every code is held as its 12-digit form, so a region's whole subtree is one contiguous
//! numeric range: "is this inside Guangzhou?" is two comparisons, needs no lookup, and is
//! what the database indexes and what a distributed engine can shard by.

use std::fmt;
use std::str::FromStr;

use crate::{FieldError, Reason};

/// The five levels of the tree. Cities without a county level (东莞 441900, 中山 442000)
/// have towns directly beneath them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    Province = 1,
    City = 2,
    County = 3,
    Town = 4,
    Village = 5,
}

impl RegionLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Province => "province",
            Self::City => "city",
            Self::County => "county",
            Self::Town => "town",
            Self::Village => "village",
        }
    }

    pub fn from_i64(value: i64) -> Option<Self> {
        Some(match value {
            1 => Self::Province,
            2 => Self::City,
            3 => Self::County,
            4 => Self::Town,
            5 => Self::Village,
            _ => return None,
        })
    }
}

/// Segment boundaries inside the 12 digits: province 0..2, city 2..4, county 4..6,
/// town 6..9, village 9..12; `SPAN[i]` is 10^(digits after segment i).
const SPAN: [u64; 5] = [10_000_000_000, 100_000_000, 1_000_000, 1_000, 1];
const WIDTH: [u64; 5] = [100, 100, 100, 1_000, 1_000];
const LEVELS: [RegionLevel; 5] = [
    RegionLevel::Province,
    RegionLevel::City,
    RegionLevel::County,
    RegionLevel::Town,
    RegionLevel::Village,
];

/// A valid region code in its 12-digit form.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionCode(u64);

impl RegionCode {
    /// Parses a 6-, 9- or 12-digit code.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        if !matches!(s.len(), 6 | 9 | 12) || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::because("", Reason::NotARegionCode));
        }
        let not_a_code = || FieldError::because("", Reason::NotARegionCode);
        let mut value: u64 = s.parse().map_err(|_| not_a_code())?;
        value *= 10u64.pow(12 - s.len() as u32);
        Self::from_i64(value as i64).ok_or_else(not_a_code)
    }

    /// Rebuilds a code from its stored 12-digit integer, checking its shape.
    pub fn from_i64(value: i64) -> Option<Self> {
        if !(100_000_000_000..1_000_000_000_000).contains(&value) {
            return None;
        }
        let code = Self(value as u64);
        let segs = code.segments();
        // Province must be set; a village needs a town; a county needs a city; a town
        // needs a city (its county may be absent, as in 东莞 and 中山).
        let ok = segs[0] != 0
            && !(segs[2] != 0 && segs[1] == 0)
            && !(segs[3] != 0 && segs[1] == 0)
            && !(segs[4] != 0 && segs[3] == 0);
        ok.then_some(code)
    }

    fn segments(self) -> [u64; 5] {
        let mut out = [0; 5];
        for i in 0..5 {
            out[i] = (self.0 / SPAN[i]) % WIDTH[i];
        }
        out
    }

    fn depth(self) -> usize {
        let segs = self.segments();
        (0..5).rev().find(|&i| segs[i] != 0).unwrap_or(0)
    }

    pub fn level(self) -> RegionLevel {
        LEVELS[self.depth()]
    }

    /// The 12-digit integer stored in the database.
    pub fn as_i64(self) -> i64 {
        self.0 as i64
    }

    /// The region directly above, derived from the code (`None` for a province).
    pub fn parent(self) -> Option<Self> {
        let depth = self.depth();
        if depth == 0 {
            return None;
        }
        let truncated = self.0 - (self.0 / SPAN[depth] % WIDTH[depth]) * SPAN[depth];
        Some(Self(truncated))
    }

    /// This region, then every region above it up to the province.
    pub fn and_ancestors(self) -> impl Iterator<Item = Self> {
        std::iter::successors(Some(self), |c| c.parent())
    }

    /// The half-open range of 12-digit codes inside this region's subtree, itself included.
    pub fn subtree(self) -> (i64, i64) {
        let span = SPAN[self.depth()];
        (self.0 as i64, (self.0 + span) as i64)
    }

    /// Whether `other` is this region or lies beneath it.
    pub fn contains(self, other: RegionCode) -> bool {
        let (lo, hi) = self.subtree();
        (lo..hi).contains(&other.as_i64())
    }

    /// Those of `regions` that no other of them contains, each once, in the order given:
    /// the fewest of them whose subtrees hold them all.
    pub fn outermost(regions: impl IntoIterator<Item = RegionCode>) -> Vec<RegionCode> {
        let all: Vec<RegionCode> = regions.into_iter().collect();
        let mut out: Vec<RegionCode> = Vec::new();
        for &r in &all {
            if !out.contains(&r) && !all.iter().any(|&o| o != r && o.contains(r)) {
                out.push(r);
            }
        }
        out
    }

    /// The code of the province, as a region.
    pub fn province(self) -> Self {
        Self(self.0 / SPAN[0] * SPAN[0])
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.level() {
            RegionLevel::Province | RegionLevel::City | RegionLevel::County => {
                write!(f, "{:06}", self.0 / 1_000_000)
            }
            RegionLevel::Town => write!(f, "{:09}", self.0 / 1_000),
            RegionLevel::Village => write!(f, "{:012}", self.0),
        }
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegionCode({self})")
    }
}

impl FromStr for RegionCode {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for RegionCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for RegionCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(|e| serde::de::Error::custom(e.reason))
    }
}

/// A region as stored: code, derived level and parent, and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub code: RegionCode,
    pub name: String,
}

impl Region {
    pub fn level(&self) -> RegionLevel {
        self.code.level()
    }
    pub fn parent(&self) -> Option<RegionCode> {
        self.code.parent()
    }
}

/// Checks a region's display name: 1 to 60 characters after trimming.
pub fn parse_region_name(input: &str) -> Result<String, FieldError> {
    crate::site::parse_text(input, 60).map_err(|e| e.at("name"))
}

/// Guangdong and its 21 prefecture-level cities, shipped as reference data.
pub const GUANGDONG: (&str, &str) = ("440000", "广东省");

/// The 21 cities of Guangdong: code, name, and whether the city has a county level.
pub const GUANGDONG_CITIES: [(&str, &str, bool); 21] = [
    ("440100", "广州市", true),
    ("440200", "韶关市", true),
    ("440300", "深圳市", true),
    ("440400", "珠海市", true),
    ("440500", "汕头市", true),
    ("440600", "佛山市", true),
    ("440700", "江门市", true),
    ("440800", "湛江市", true),
    ("440900", "茂名市", true),
    ("441200", "肇庆市", true),
    ("441300", "惠州市", true),
    ("441400", "梅州市", true),
    ("441500", "汕尾市", true),
    ("441600", "河源市", true),
    ("441700", "阳江市", true),
    ("441800", "清远市", true),
    ("441900", "东莞市", false),
    ("442000", "中山市", false),
    ("445100", "潮州市", true),
    ("445200", "揭阳市", true),
    ("445300", "云浮市", true),
];

/// The reference regions as values, province first.
pub fn reference_regions() -> Vec<Region> {
    std::iter::once((GUANGDONG.0, GUANGDONG.1))
        .chain(GUANGDONG_CITIES.iter().map(|(c, n, _)| (*c, *n)))
        .map(|(code, name)| Region {
            code: RegionCode::parse(code).unwrap_or_else(|_| unreachable!("reference code {code}")),
            name: name.to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).expect(s)
    }

    #[test]
    fn levels_are_read_from_the_code() {
        assert_eq!(code("440000").level(), RegionLevel::Province);
        assert_eq!(code("440100").level(), RegionLevel::City);
        assert_eq!(code("440106").level(), RegionLevel::County);
        assert_eq!(code("440106001").level(), RegionLevel::Town);
        assert_eq!(code("440106001002").level(), RegionLevel::Village);
    }

    #[test]
    fn towns_of_dongguan_sit_directly_under_the_city() {
        let town = code("441900003");
        assert_eq!(town.level(), RegionLevel::Town);
        assert_eq!(town.parent(), Some(code("441900")));
        assert!(code("441900").contains(town));
        assert_eq!(code("442000").level(), RegionLevel::City);
    }

    #[test]
    fn parents_walk_up_to_the_province() {
        let village = code("440106001002");
        let chain: Vec<String> = village.and_ancestors().map(|c| c.to_string()).collect();
        assert_eq!(
            chain,
            ["440106001002", "440106001", "440106", "440100", "440000"]
        );
    }

    #[test]
    fn guangzhou_does_not_contain_shenzhen() {
        let gz = code("440100");
        assert!(gz.contains(code("440106001002")));
        assert!(!gz.contains(code("440300")));
        assert!(!gz.contains(code("440304")));
        assert!(!gz.contains(code("440000")));
        assert!(code("440000").contains(code("440304")));
    }

    #[test]
    fn the_outermost_regions_hold_the_others_and_none_holds_another() {
        let codes = |cs: &[&str]| cs.iter().map(|c| code(c)).collect::<Vec<_>>();
        let outermost = |cs: &[&str]| RegionCode::outermost(codes(cs));
        assert_eq!(
            outermost(&["440106001002", "440100", "440300", "440106"]),
            codes(&["440100", "440300"])
        );
        assert_eq!(outermost(&["440304", "440304"]), codes(&["440304"]));
        assert_eq!(
            outermost(&["440106001", "440106002"]),
            codes(&["440106001", "440106002"])
        );
        assert_eq!(
            outermost(&["810000", "440000"]),
            codes(&["810000", "440000"])
        );
        assert_eq!(outermost(&[]), codes(&[]));
    }

    #[test]
    fn malformed_codes_are_refused() {
        for bad in [
            "",
            "4401",
            "44010",
            "4401000",
            "000000",
            "440006",
            "44a100",
            "440100000001",
        ] {
            assert!(RegionCode::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn reference_data_has_guangdong_and_21_cities() {
        let regions = reference_regions();
        assert_eq!(regions.len(), 22);
        assert!(
            regions[1..]
                .iter()
                .all(|r| r.level() == RegionLevel::City && r.parent() == Some(regions[0].code))
        );
    }

    proptest! {
        #[test]
        fn display_round_trips(value in 110_000_000_000i64..830_000_000_000i64) {
            if let Some(code) = RegionCode::from_i64(value) {
                prop_assert_eq!(RegionCode::parse(&code.to_string()).ok(), Some(code));
                if let Some(parent) = code.parent() {
                    prop_assert!(parent.contains(code));
                    prop_assert!(parent.level() < code.level());
                }
            }
        }
    }
}
