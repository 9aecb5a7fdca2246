//! Star levels (星级志愿者): a rule set decides which star a volunteer's hours and tenure
//! make them eligible for, and which level of jurisdiction certifies it. Certification
//! itself (application, public notice, objections) is a process the service runs.

use time::{Date, Duration};

use crate::region::RegionLevel;
use crate::{FieldError, Reason};

/// One star tier.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StarTier {
    /// Total effective service hours required.
    pub hours: i64,
    /// Days since registration required (Shenzhen-style tenure); 0 for none.
    #[serde(default)]
    pub min_tenure_days: i64,
    /// The level of jurisdiction that certifies this tier.
    pub certified_by: RegionLevel,
    /// How the tier is called, e.g. 五星（银）.
    pub label: String,
}

/// A jurisdiction's star rules; tiers are ordered, star N being tier N.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StarRules {
    pub tiers: Vec<StarTier>,
    /// Working days of public notice (公示) before certification.
    pub notice_workdays: u32,
    /// Years a volunteer whose star was revoked for false hours may not apply.
    pub bar_years: i32,
}

impl StarRules {
    /// Guangdong's 2014 rules: 1 to 5 stars at 100/300/600/1000/1500 hours, counties
    /// certifying 1-3 stars and cities 4-5, five working days of notice.
    pub fn guangdong() -> Self {
        let tier = |hours, certified_by, label: &str| StarTier {
            hours,
            min_tenure_days: 0,
            certified_by,
            label: label.to_owned(),
        };
        Self {
            tiers: vec![
                tier(100, RegionLevel::County, "一星"),
                tier(300, RegionLevel::County, "二星"),
                tier(600, RegionLevel::County, "三星"),
                tier(1000, RegionLevel::City, "四星"),
                tier(1500, RegionLevel::City, "五星"),
            ],
            notice_workdays: 5,
            bar_years: 1,
        }
    }

    /// Checks the rule set: tiers in rising hours, tenure not falling, notice of at least
    /// 5 working days.
    pub fn check(&self) -> Result<(), FieldError> {
        if self.tiers.is_empty() || self.tiers.len() > 10 {
            return Err(FieldError::because(
                "tiers",
                Reason::OutOfRange { min: 1, max: 10 },
            ));
        }
        for (i, w) in self.tiers.windows(2).enumerate() {
            if w[1].hours <= w[0].hours {
                return Err(FieldError::because(
                    format!("tiers[{}].hours", i + 1),
                    Reason::MustRise,
                ));
            }
            if w[1].min_tenure_days < w[0].min_tenure_days {
                return Err(FieldError::because(
                    format!("tiers[{}].min_tenure_days", i + 1),
                    Reason::MustNotFall,
                ));
            }
        }
        if self.tiers[0].hours <= 0 {
            return Err(FieldError::because("tiers[0].hours", Reason::NotPositive));
        }
        if self.notice_workdays < 5 {
            return Err(FieldError::because(
                "notice_workdays",
                Reason::AtLeast { min: 5 },
            ));
        }
        if !(0..=5).contains(&self.bar_years) {
            return Err(FieldError::because(
                "bar_years",
                Reason::OutOfRange { min: 0, max: 5 },
            ));
        }
        Ok(())
    }

    /// The highest star whose hours and tenure are met (0 for none).
    pub fn eligible(&self, minutes: i64, registered_on: Date, today: Date) -> u8 {
        let tenure = (today - registered_on).whole_days();
        self.tiers
            .iter()
            .take_while(|t| minutes >= t.hours * 60 && tenure >= t.min_tenure_days)
            .count() as u8
    }

    pub fn tier(&self, star: u8) -> Option<&StarTier> {
        star.checked_sub(1)
            .and_then(|i| self.tiers.get(usize::from(i)))
    }

    /// Until when someone whose star was revoked on `day` may not apply.
    pub fn barred_until(&self, day: Date) -> Date {
        day + Duration::days(365 * i64::from(self.bar_years))
    }
}

/// Where a star application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StarStatus {
    Applied,
    /// Publicly noticed (公示), open to objections.
    InNotice,
    Certified,
    Rejected,
    /// Certified, then withdrawn (e.g. hours proved false).
    Revoked,
}

impl StarStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::InNotice => "in_notice",
            Self::Certified => "certified",
            Self::Rejected => "rejected",
            Self::Revoked => "revoked",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "applied" => Self::Applied,
            "in_notice" => Self::InNotice,
            "certified" => Self::Certified,
            "rejected" => Self::Rejected,
            "revoked" => Self::Revoked,
            _ => return None,
        })
    }

    pub fn is_open(self) -> bool {
        matches!(self, Self::Applied | Self::InNotice)
    }

    pub fn may_move_to(self, to: StarStatus) -> bool {
        use StarStatus::*;
        matches!(
            (self, to),
            (Applied, InNotice | Rejected)
                | (InNotice, Certified | Rejected)
                | (Certified, Revoked)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn guangdong_stars_follow_the_hour_thresholds() {
        let r = StarRules::guangdong();
        let reg = date!(2020 - 01 - 01);
        let today = date!(2026 - 11 - 25);
        assert_eq!(r.eligible(99 * 60 + 59, reg, today), 0);
        assert_eq!(r.eligible(100 * 60, reg, today), 1);
        assert_eq!(r.eligible(1499 * 60, reg, today), 4);
        assert_eq!(r.eligible(5000 * 60, reg, today), 5);
        assert_eq!(r.tier(4).map(|t| t.certified_by), Some(RegionLevel::City));
        r.check().unwrap();
    }

    #[test]
    fn shenzhen_tenure_holds_back_a_fast_volunteer() {
        let mut r = StarRules::guangdong();
        for (i, days) in [182, 182, 365, 365, 730].into_iter().enumerate() {
            r.tiers[i].min_tenure_days = days;
        }
        let today = date!(2026 - 11 - 25);
        assert_eq!(r.eligible(2000 * 60, date!(2026 - 01 - 01), today), 2);
        assert_eq!(r.eligible(2000 * 60, date!(2024 - 01 - 01), today), 5);
    }

    #[test]
    fn huizhou_tiers_above_five_stars_are_expressed_as_extra_tiers() {
        let mut r = StarRules::guangdong();
        for (hours, label) in [
            (2000, "五星（铜）"),
            (3000, "五星（银）"),
            (4000, "五星（金）"),
        ] {
            r.tiers.push(StarTier {
                hours,
                min_tenure_days: 0,
                certified_by: RegionLevel::City,
                label: label.into(),
            });
        }
        r.check().unwrap();
        assert_eq!(
            r.eligible(3500 * 60, date!(2020 - 01 - 01), date!(2026 - 01 - 01)),
            7
        );
        assert_eq!(r.tier(7).unwrap().label, "五星（银）");
    }

    #[test]
    fn malformed_rules_name_their_field() {
        let mut r = StarRules::guangdong();
        r.tiers[2].hours = 200;
        let e = r.check().unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.code()),
            ("tiers[2].hours", "must_rise")
        );
        let mut r = StarRules::guangdong();
        r.tiers[0].min_tenure_days = 365;
        let e = r.check().unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.code()),
            ("tiers[1].min_tenure_days", "must_not_fall")
        );
        let mut r = StarRules::guangdong();
        r.notice_workdays = 3;
        assert_eq!(r.check().unwrap_err().field, "notice_workdays");
    }

    #[test]
    fn only_certified_stars_can_be_revoked() {
        use StarStatus::*;
        assert!(Applied.may_move_to(InNotice));
        assert!(!Applied.may_move_to(Certified));
        assert!(InNotice.may_move_to(Certified));
        assert!(Certified.may_move_to(Revoked));
        assert!(!Rejected.may_move_to(Revoked));
    }
}
