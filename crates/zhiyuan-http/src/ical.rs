//! iCalendar (RFC 5545) for a volunteer's upcoming shifts, so calendar apps remind them;
//! the calendar's own words in the volunteer's language, projects and positions as
//! recorded.

use time::OffsetDateTime;
use zhiyuan_domain::lang::Lang;
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

/// The calendar's own words in one language: its name, the marks of a shift not (or no
/// longer) certain, and the summary of an event.
struct Words {
    name: &'static str,
    cancelled: &'static str,
    waitlisted: &'static str,
    pending: &'static str,
    summary: fn(&str, &str, &str) -> String,
}

fn words(lang: Lang) -> Words {
    match lang {
        Lang::ZhHans => Words {
            name: "志愿服务班次",
            cancelled: "[已取消] ",
            waitlisted: "[候补] ",
            pending: "[待确认] ",
            summary: |tag, project, position| format!("{tag}{project}（{position}）"),
        },
        Lang::ZhHk => Words {
            name: "志願服務班次",
            cancelled: "[已取消] ",
            waitlisted: "[候補] ",
            pending: "[待確認] ",
            summary: |tag, project, position| format!("{tag}{project}（{position}）"),
        },
        Lang::En => Words {
            name: "Volunteer shifts",
            cancelled: "[Cancelled] ",
            waitlisted: "[Waitlisted] ",
            pending: "[Pending] ",
            summary: |tag, project, position| format!("{tag}{project} ({position})"),
        },
    }
}

/// A calendar of the shifts in `lang`, stamped `now`; `host` (the platform's public host)
/// makes each event's identifier unique beyond this platform (RFC 5545 §3.8.4.7), so
/// that calendars subscribed to two platforms keep both's events apart.
pub fn calendar(items: &[SignupDetail], now: OffsetDateTime, lang: Lang, host: &str) -> String {
    let w = words(lang);
    let mut out = String::new();
    // The product identifier's last part names the language of its own text (RFC 5545
    // §3.7.3), which is English whatever the calendar's language.
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//zhiyuan//volunteer shifts//EN",
        "CALSCALE:GREGORIAN",
        &format!("X-WR-CALNAME:{}", w.name),
    ] {
        fold(line, &mut out);
    }
    for d in items {
        // A cancelled shift stays in the calendar as cancelled (a subscribed calendar
        // then marks the event it holds), without a reminder.
        let (status, tag) = match (d.shift.cancelled, d.signup.status) {
            (true, _) => ("CANCELLED", w.cancelled),
            (false, SignupStatus::Accepted) => ("CONFIRMED", ""),
            (false, SignupStatus::Waitlisted) => ("TENTATIVE", w.waitlisted),
            (false, _) => ("TENTATIVE", w.pending),
        };
        let summary = (w.summary)(tag, &d.project_name, &d.shift.shift.position);
        let mut lines = vec![
            "BEGIN:VEVENT".to_owned(),
            format!("UID:signup-{}@{host}", d.signup.id.0),
            format!("DTSTAMP:{}", stamp(now)),
            format!("DTSTART:{}", stamp(d.shift.shift.starts_at)),
            format!("DTEND:{}", stamp(d.shift.shift.ends_at)),
            format!("SUMMARY:{}", text(&summary)),
            format!("LOCATION:{}", text(&d.address)),
            format!("STATUS:{status}"),
        ];
        // Where, for the calendar's map: latitude first (§3.8.1.6).
        if let Some(at) = d.location {
            lines.push(format!("GEO:{:.6};{:.6}", at.lat, at.lng));
        }
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
