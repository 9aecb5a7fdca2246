//! Dates in China Standard Time (UTC+8, no daylight saving): ages, "today" and working days
//! are reckoned in Beijing time whatever the server's own zone.

use time::{Date, OffsetDateTime, UtcOffset};

/// UTC+8.
pub const CHINA: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(offset) => offset,
    Err(_) => panic!("UTC+8 is a valid offset"),
};

/// The calendar date in China at instant `now`.
pub fn china_date(now: OffsetDateTime) -> Date {
    now.to_offset(CHINA).date()
}

/// Whole years between `birth` and `on` (the usual "age on a day").
pub fn age_on(birth: Date, on: Date) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month() as u8, on.day()) < (birth.month() as u8, birth.day()) {
        age -= 1;
    }
    age
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn age_turns_on_the_birthday_not_before() {
        assert_eq!(age_on(date!(2010 - 06 - 15), date!(2024 - 06 - 14)), 13);
        assert_eq!(age_on(date!(2010 - 06 - 15), date!(2024 - 06 - 15)), 14);
    }

    #[test]
    fn china_date_rolls_over_at_midnight_beijing_time() {
        assert_eq!(
            china_date(datetime!(2026-01-01 15:59 UTC)),
            date!(2026 - 01 - 01)
        );
        assert_eq!(
            china_date(datetime!(2026-01-01 16:00 UTC)),
            date!(2026 - 01 - 02)
        );
    }
}
