//! iCalendar (RFC 5545) for a volunteer's upcoming shifts, so calendar apps remind them.

use time::OffsetDateTime;
use zhiyuan_domain::project::SignupStatus;
use zhiyuan_store::SignupDetail;

/// Escapes a TEXT value.
fn text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

fn stamp(t: OffsetDateTime) -> String {
    let u = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        u.year(),
        u.month() as u8,
        u.day(),
        u.hour(),
        u.minute(),
        u.second()
    )
}

/// Folds a content line at 75 octets without splitting a character.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

/// A calendar of the shifts, stamped `now`.
pub fn calendar(items: &[SignupDetail], now: OffsetDateTime) -> String {
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//zhiyuan//volunteer shifts//ZH",
        "CALSCALE:GREGORIAN",
        "X-WR-CALNAME:志愿服务班次",
    ] {
        fold(line, &mut out);
    }
    for d in items {
        // A cancelled shift stays in the calendar as cancelled (a subscribed calendar
        // then marks the event it holds), without a reminder.
        let (status, tag) = match (d.shift.cancelled, d.signup.status) {
            (true, _) => ("CANCELLED", "[已取消] "),
            (false, SignupStatus::Accepted) => ("CONFIRMED", ""),
            (false, SignupStatus::Waitlisted) => ("TENTATIVE", "[候补] "),
            (false, _) => ("TENTATIVE", "[待确认] "),
        };
        let summary = format!("{tag}{}（{}）", d.project_name, d.shift.shift.position);
        let mut lines = vec![
            "BEGIN:VEVENT".to_owned(),
            format!("UID:signup-{}@zhiyuan", d.signup.id.0),
            format!("DTSTAMP:{}", stamp(now)),
            format!("DTSTART:{}", stamp(d.shift.shift.starts_at)),
            format!("DTEND:{}", stamp(d.shift.shift.ends_at)),
            format!("SUMMARY:{}", text(&summary)),
            format!("LOCATION:{}", text(&d.address)),
            format!("STATUS:{status}"),
        ];
        if !d.shift.cancelled {
            lines.extend([
                "BEGIN:VALARM".to_owned(),
                "ACTION:DISPLAY".to_owned(),
                format!("DESCRIPTION:{}", text(&summary)),
                "TRIGGER:-PT2H".to_owned(),
                "END:VALARM".to_owned(),
            ]);
        }
        lines.push("END:VEVENT".to_owned());
        for line in &lines {
            fold(line, &mut out);
        }
    }
    fold("END:VCALENDAR", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fold_at_75_octets_between_characters() {
        let mut out = String::new();
        fold(&format!("SUMMARY:{}", "志".repeat(40)), &mut out);
        for line in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= 75, "{} octets", line.len());
        }
        assert_eq!(
            out.replace("\r\n ", ""),
            format!("SUMMARY:{}\r\n", "志".repeat(40))
        );
    }

    #[test]
    fn text_values_escape_separators() {
        assert_eq!(text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }
}
