//! Working days, for the 10-working-day rule of Art. 11: weekends are skipped, public
//! holidays are skipped, and make-up working days (调休, a weekend day worked) count.

use std::collections::BTreeSet;

use time::{Date, Duration, Weekday};

/// A working-day calendar: weekends off, plus configured holidays and make-up days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    pub holidays: BTreeSet<Date>,
    pub makeup_workdays: BTreeSet<Date>,
}

impl Calendar {
    pub fn is_workday(&self, day: Date) -> bool {
        if self.makeup_workdays.contains(&day) {
            return true;
        }
        !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday)
            && !self.holidays.contains(&day)
    }

    /// The date `n` working days after `day` (the day itself does not count).
    pub fn add_workdays(&self, day: Date, n: u32) -> Date {
        let mut d = day;
        let mut left = n;
        while left > 0 {
            d += Duration::days(1);
            if self.is_workday(d) {
                left -= 1;
            }
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn ten_working_days_skip_weekends() {
        // Friday 2026-11-06 + 10 working days = Friday 2026-11-20.
        assert_eq!(
            Calendar::default().add_workdays(date!(2026 - 11 - 06), 10),
            date!(2026 - 11 - 20)
        );
    }

    #[test]
    fn holidays_are_skipped_and_makeup_days_count() {
        let cal = Calendar {
            holidays: [
                date!(2026 - 10 - 01),
                date!(2026 - 10 - 02),
                date!(2026 - 10 - 05),
            ]
            .into_iter()
            .collect(),
            makeup_workdays: [date!(2026 - 10 - 10)].into_iter().collect(),
        };
        // Wednesday 30 Sept: Oct 1, 2 and 5 are holidays, weekend 3-4 off, so the first
        // working day is Tuesday 6 Oct; Saturday 10 Oct is a make-up working day.
        assert_eq!(
            cal.add_workdays(date!(2026 - 09 - 30), 1),
            date!(2026 - 10 - 06)
        );
        assert_eq!(
            cal.add_workdays(date!(2026 - 09 - 30), 5),
            date!(2026 - 10 - 10)
        );
    }
}
