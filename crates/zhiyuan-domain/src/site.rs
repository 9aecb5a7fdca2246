//! Service sites: the civilization-practice network (center 中心 at county level, institute
//! 所 at town level, station 站 at village level) and other volunteer stations.

use crate::region::{RegionCode, RegionLevel};
use crate::{FieldError, Reason};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SiteKind {
    /// 新时代文明实践中心: county level (or a city without counties).
    PracticeCenter,
    /// 新时代文明实践所: town or street level.
    PracticeInstitute,
    /// 新时代文明实践站: village or community level.
    PracticeStation,
    /// 党群服务中心, where volunteers report and register.
    PartyMassCenter,
    /// A volunteer station in a museum.
    Museum,
    /// A volunteer station in a community facility.
    CommunityFacility,
    /// A volunteer station in another public facility (library, station, hospital...).
    PublicFacility,
}

impl SiteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PracticeCenter => "practice_center",
            Self::PracticeInstitute => "practice_institute",
            Self::PracticeStation => "practice_station",
            Self::PartyMassCenter => "party_mass_center",
            Self::Museum => "museum",
            Self::CommunityFacility => "community_facility",
            Self::PublicFacility => "public_facility",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "practice_center" => Self::PracticeCenter,
            "practice_institute" => Self::PracticeInstitute,
            "practice_station" => Self::PracticeStation,
            "party_mass_center" => Self::PartyMassCenter,
            "museum" => Self::Museum,
            "community_facility" => Self::CommunityFacility,
            "public_facility" => Self::PublicFacility,
            _ => return None,
        })
    }

    /// Checks that a site of this kind may sit in `region`.
    pub fn check_region(self, region: RegionCode) -> Result<(), FieldError> {
        let level = region.level();
        let fits = match self {
            Self::PracticeCenter => matches!(level, RegionLevel::County | RegionLevel::City),
            Self::PracticeInstitute => level == RegionLevel::Town,
            Self::PracticeStation => level == RegionLevel::Village,
            _ => level != RegionLevel::Province,
        };
        if fits {
            Ok(())
        } else {
            Err(FieldError::because("region", Reason::SiteLevel(self)))
        }
    }
}

/// A point in WGS-84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GeoPoint {
    pub lat: f64,
    pub lng: f64,
}

impl GeoPoint {
    pub fn parse(lat: f64, lng: f64) -> Result<Self, FieldError> {
        if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
            return Err(FieldError::because(
                "lat",
                Reason::OutOfRange { min: -90, max: 90 },
            ));
        }
        if !(lng.is_finite() && (-180.0..=180.0).contains(&lng)) {
            return Err(FieldError::because(
                "lng",
                Reason::OutOfRange {
                    min: -180,
                    max: 180,
                },
            ));
        }
        Ok(Self { lat, lng })
    }

    /// A point stored as two nullable columns: both or none.
    pub fn from_columns(lat: Option<f64>, lng: Option<f64>) -> Option<Self> {
        lat.zip(lng).map(|(lat, lng)| Self { lat, lng })
    }

    /// Great-circle distance in metres (haversine).
    pub fn distance_m(self, other: GeoPoint) -> f64 {
        const R: f64 = 6_371_008.8;
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lng - self.lng).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * R * a.sqrt().asin()
    }

    /// The latitude and longitude ranges of a box around the circle of `radius_m`: an
    /// index narrows a search to it, the exact distance then filters.
    pub fn bounding_box(self, radius_m: f64) -> ((f64, f64), (f64, f64)) {
        let dlat = radius_m / 111_320.0;
        let dlng = radius_m / (111_320.0 * self.lat.to_radians().cos().max(0.01));
        (
            (self.lat - dlat, self.lat + dlat),
            (self.lng - dlng, self.lng + dlng),
        )
    }
}

/// A short free text (names, addresses): trimmed, 1..=`max` characters. Line breaks
/// are kept as `\n`, however they were written (`\r\n` from Windows tools, `\r`); any
/// other control character (a tab, say) is refused, and told apart from a wrong length.
pub fn parse_text(input: &str, max: usize) -> Result<String, FieldError> {
    let s = input.trim();
    let s = match s.contains('\r') {
        true => s.replace("\r\n", "\n").replace('\r', "\n"),
        false => s.to_owned(),
    };
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(FieldError::because("", Reason::ControlCharacters));
    }
    match s.chars().count() {
        0 => Err(FieldError::because("", Reason::Required)),
        n if n > max => Err(FieldError::because("", Reason::TooLong { max })),
        _ => Ok(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    #[test]
    fn the_practice_network_follows_the_region_levels() {
        assert!(
            SiteKind::PracticeCenter
                .check_region(code("440106"))
                .is_ok()
        );
        assert!(
            SiteKind::PracticeCenter
                .check_region(code("441900"))
                .is_ok()
        );
        assert!(
            SiteKind::PracticeInstitute
                .check_region(code("441900003"))
                .is_ok()
        );
        assert!(
            SiteKind::PracticeStation
                .check_region(code("440106001002"))
                .is_ok()
        );
        let e = SiteKind::PracticeStation
            .check_region(code("440106"))
            .unwrap_err();
        assert_eq!(e.field, "region");
        assert!(SiteKind::Museum.check_region(code("440000")).is_err());
    }

    #[test]
    fn distance_between_guangzhou_and_shenzhen_is_about_105_km() {
        let gz = GeoPoint::parse(23.1291, 113.2644).unwrap();
        let sz = GeoPoint::parse(22.5431, 114.0579).unwrap();
        let km = gz.distance_m(sz) / 1000.0;
        assert!((100.0..110.0).contains(&km), "{km}");
        assert!(GeoPoint::parse(91.0, 0.0).is_err());
        assert!(GeoPoint::parse(0.0, f64::NAN).is_err());
    }

    /// A line break is kept as `\n` whichever way it was written, and counts as one
    /// character; a tab is refused as a control character, not as a wrong length.
    #[test]
    fn text_keeps_line_breaks_however_written_and_names_control_characters() {
        assert_eq!(
            parse_text(" 植树\r\n护绿\r浇水\n ", 8).as_deref(),
            Ok("植树\n护绿\n浇水")
        );
        assert_eq!(parse_text("ab\r\ncd", 5).as_deref(), Ok("ab\ncd"));
        let why = |input: &str, max: usize| parse_text(input, max).unwrap_err().why;
        assert_eq!(why("植树\t护绿", 100), Some(Reason::ControlCharacters));
        assert_eq!(why("植树护绿", 3), Some(Reason::TooLong { max: 3 }));
        assert_eq!(why(" \r\n ", 3), Some(Reason::Required));
    }
}
