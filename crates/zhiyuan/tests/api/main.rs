//! Black-box tests of the real server on port 0, on the backend `ZHIYUAN_TEST_BACKEND`
//! names, each on a database of its own.

#![expect(
    clippy::unwrap_used,
    reason = "helpers panic on the unexpected, and a panic is the test failing"
)]

mod auth;
mod batch;
mod certificates;
mod cli;
mod corrections;
mod credentials;
mod directory;
mod ledger;
mod openapi;
mod orders;
mod participation;
mod recognition;
mod registration;
mod scope;
mod servers;
mod stars;
mod talent;

/// Calendar days from `day` to the last of `weeks` weeks of working days after it (five a
/// week, the day itself not counted, no holidays configured): whole weeks from a weekday;
/// from a Saturday the count starts on Monday and ends on a Friday, a day sooner; from a
/// Sunday, two days sooner. Tests that start "now" meet every weekday, in China's time.
fn working_weeks_span(day: time::Date, weeks: i64) -> i64 {
    7 * weeks
        - match day.weekday() {
            time::Weekday::Saturday => 1,
            time::Weekday::Sunday => 2,
            _ => 0,
        }
}
