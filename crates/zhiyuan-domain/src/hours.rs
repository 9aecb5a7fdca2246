//! Service time: the time actually given (Art. 7), in minutes, with a configurable
//! rounding rule and a cap per day.

use time::OffsetDateTime;

use crate::{FieldError, Reason};

/// How measured minutes are rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    Down,
    Nearest,
    Up,
}

/// The hours policy: rounding unit and mode, and the most minutes one volunteer may be
/// credited in one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HoursPolicy {
    pub rounding: Rounding,
    /// Minutes per unit (1 = exact minutes, 15 = quarter hours, 30, 60...).
    pub unit_minutes: i64,
    pub daily_cap_minutes: i64,
}

impl Default for HoursPolicy {
    fn default() -> Self {
        Self {
            rounding: Rounding::Down,
            unit_minutes: 1,
            daily_cap_minutes: 12 * 60,
        }
    }
}

impl HoursPolicy {
    /// Credited minutes for presence from `from` to `to` (0 when `to` is not after `from`).
    pub fn minutes_between(&self, from: OffsetDateTime, to: OffsetDateTime) -> i64 {
        let seconds = (to - from).whole_seconds().max(0);
        let unit = self.unit_minutes.max(1) * 60;
        let units = match self.rounding {
            Rounding::Down => seconds / unit,
            Rounding::Nearest => (seconds + unit / 2) / unit,
            Rounding::Up => (seconds + unit - 1) / unit,
        };
        units * self.unit_minutes.max(1)
    }

    /// Checks minutes entered by hand: positive and within the daily cap.
    pub fn check_entered(&self, minutes: i64) -> Result<(), FieldError> {
        if minutes <= 0 {
            return Err(FieldError::because("minutes", Reason::NotPositive));
        }
        if minutes > self.daily_cap_minutes {
            return Err(FieldError::because(
                "minutes",
                Reason::OverDailyCap {
                    cap_minutes: self.daily_cap_minutes,
                },
            ));
        }
        Ok(())
    }
}

/// Minutes as decimal hours for display (`90` -> `1.5`).
pub fn hours(minutes: i64) -> f64 {
    (minutes as f64 / 60.0 * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn rounding_follows_the_policy() {
        let from = datetime!(2026-11-01 09:00 +08:00);
        let to = datetime!(2026-11-01 11:08 +08:00);
        let exact = HoursPolicy::default();
        assert_eq!(exact.minutes_between(from, to), 128);
        let quarter = |rounding| HoursPolicy {
            rounding,
            unit_minutes: 15,
            ..HoursPolicy::default()
        };
        assert_eq!(quarter(Rounding::Down).minutes_between(from, to), 120);
        assert_eq!(quarter(Rounding::Nearest).minutes_between(from, to), 135);
        assert_eq!(quarter(Rounding::Up).minutes_between(from, to), 135);
        assert_eq!(exact.minutes_between(to, from), 0);
    }

    #[test]
    fn entered_minutes_must_fit_the_daily_cap() {
        let p = HoursPolicy::default();
        assert!(p.check_entered(720).is_ok());
        assert_eq!(p.check_entered(721).unwrap_err().field, "minutes");
        assert!(p.check_entered(0).is_err());
        assert_eq!(hours(90), 1.5);
    }
}
