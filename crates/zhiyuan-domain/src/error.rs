//! Validation errors that name the offending field, so every layer above can report them
//! precisely (`{"field": "id_document.number", "code": "check_digit", "reason": "..."}`).
//! The commonest reasons are a [`Reason`]: a stable code a client can act on, said in any
//! of the platform's languages; the rest are a sentence in English under code `invalid`.

use std::fmt;

use time::Date;

use crate::hours::hours;
use crate::lang::Lang;

/// One field that failed validation, with a human-readable reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// Dotted path of the field in the request body, e.g. `id_document.number`.
    pub field: String,
    /// Why, as a stable code: one of [`Reason`]'s (`too_long`, `check_digit`, …), or
    /// `invalid` when no more precise one applies.
    #[serde(rename = "code", serialize_with = "serialize_code")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub why: Option<Reason>,
    /// Why the value was refused, in English.
    pub reason: String,
}

fn serialize_code<S: serde::Serializer>(why: &Option<Reason>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(code_of(why.as_ref()))
}

fn code_of(why: Option<&Reason>) -> &'static str {
    why.map_or("invalid", Reason::code)
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            why: None,
            reason: reason.into(),
        }
    }

    /// An error whose reason can be said in every language (see [`FieldError::say`]).
    pub fn because(field: impl Into<String>, why: Reason) -> Self {
        Self {
            field: field.into(),
            reason: why.say(Lang::En),
            why: Some(why),
        }
    }

    /// The stable code of why: its [`Reason`]'s, else `invalid`.
    pub fn code(&self) -> &'static str {
        code_of(self.why.as_ref())
    }

    /// The reason in `lang`: English where it has no [`Reason`].
    pub fn say(&self, lang: Lang) -> String {
        self.why
            .as_ref()
            .map_or_else(|| self.reason.clone(), |why| why.say(lang))
    }

    /// The same error, said of `field` instead (a value parsed alone, then named).
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }

    /// The same error, moved under a parent field (`number` -> `id_document.number`).
    pub fn under(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_owned()
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

/// Why a value was refused, for the refusals people meet most (a form, a row of an
/// upload): each has a stable [`code`](Reason::code) and is [said](Reason::say) in
/// Simplified Chinese, Hong Kong's Traditional Chinese and English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Empty where a value is needed.
    Required,
    /// Longer than this many characters.
    TooLong { max: usize },
    /// Holds a tab or another control character (line breaks are allowed).
    ControlCharacters,
    /// Not 13 digits (a volunteer number).
    VolunteerNumberDigits,
    /// The check digit does not match the rest.
    CheckDigit,
    /// Not a date in any way a table writes one.
    NotADate,
    /// A day after today.
    InTheFuture,
    /// Not a whole number of minutes.
    NotMinutes,
    /// Not a number of hours.
    NotHours,
    /// No time at all, or less than none.
    NotPositive,
    /// More time than one day may credit.
    OverDailyCap { cap_minutes: i64 },
    /// No volunteer has this number.
    NoSuchVolunteer,
    /// With what the volunteer's day already holds, more than it may credit.
    DayOverCap { day: Date, cap_minutes: i64 },
    /// Not an attendance code at all.
    CodeMalformed,
    /// An attendance code whose minute or two has passed.
    CodeExpired,
    /// An attendance code this platform did not sign.
    CodeForged,
    /// A site's attendance code for another shift.
    CodeOfAnotherShift,
    /// The project checks where a volunteer checks in, and no location was shared.
    LocationNeeded,
    /// Checked in this far from the project, beyond its geofence.
    OutsideGeofence { distance_m: i64, radius_m: i64 },
}

impl Reason {
    /// The stable code, for clients to act on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::TooLong { .. } => "too_long",
            Self::ControlCharacters => "control_characters",
            Self::VolunteerNumberDigits => "volunteer_number_digits",
            Self::CheckDigit => "check_digit",
            Self::NotADate => "not_a_date",
            Self::InTheFuture => "in_the_future",
            Self::NotMinutes => "not_minutes",
            Self::NotHours => "not_hours",
            Self::NotPositive => "not_positive",
            Self::OverDailyCap { .. } => "over_daily_cap",
            Self::NoSuchVolunteer => "no_such_volunteer",
            Self::DayOverCap { .. } => "day_over_cap",
            Self::CodeMalformed => "code_malformed",
            Self::CodeExpired => "code_expired",
            Self::CodeForged => "code_forged",
            Self::CodeOfAnotherShift => "code_of_another_shift",
            Self::LocationNeeded => "location_needed",
            Self::OutsideGeofence { .. } => "outside_geofence",
        }
    }

    /// The reason as a sentence in `lang`.
    pub fn say(&self, lang: Lang) -> String {
        let (zh_hans, zh_hk, en): (String, String, String) = match self {
            Self::Required => ("必填".into(), "必填".into(), "is required".into()),
            Self::TooLong { max } => (
                format!("不能超过{max}个字"),
                format!("不能超過{max}個字"),
                format!("must be at most {max} characters"),
            ),
            Self::ControlCharacters => (
                "不能含有制表符等控制字符".into(),
                "不能含有定位字元等控制字元".into(),
                "must not contain control characters such as tabs".into(),
            ),
            Self::VolunteerNumberDigits => (
                "志愿者编号为13位数字".into(),
                "志願者編號為13位數字".into(),
                "a volunteer number has 13 digits".into(),
            ),
            Self::CheckDigit => (
                "校验位不正确".into(),
                "校驗位不正確".into(),
                "check digit is wrong".into(),
            ),
            Self::NotADate => (
                "应为真实日期，写作 2026-11-05、2026/11/5 或 2026年11月5日".into(),
                "應為真實日期，寫作 2026-11-05、2026/11/5 或 2026年11月5日".into(),
                "must be a real date, written 2026-11-05, 2026/11/5 or 2026年11月5日".into(),
            ),
            Self::InTheFuture => (
                "不能晚于今天".into(),
                "不能遲於今天".into(),
                "is in the future".into(),
            ),
            Self::NotMinutes => (
                "应为整数分钟，如 90".into(),
                "應為整數分鐘，如 90".into(),
                "must be a whole number of minutes, e.g. 90".into(),
            ),
            Self::NotHours => (
                "应为小时数，如 2.5".into(),
                "應為小時數，如 2.5".into(),
                "must be a number of hours, e.g. 2.5".into(),
            ),
            Self::NotPositive => (
                "应大于零".into(),
                "應大於零".into(),
                "must be positive".into(),
            ),
            Self::OverDailyCap { cap_minutes } => {
                let cap = hours(*cap_minutes);
                (
                    format!("超过每日上限{cap}小时"),
                    format!("超過每日上限{cap}小時"),
                    format!("exceeds the cap of {cap} hours a day"),
                )
            }
            Self::NoSuchVolunteer => (
                "查无此志愿者".into(),
                "查無此志願者".into(),
                "no such volunteer".into(),
            ),
            Self::DayOverCap { day, cap_minutes } => {
                let cap = hours(*cap_minutes);
                (
                    format!("该志愿者{day}的时长将超过每日上限{cap}小时"),
                    format!("該志願者{day}的時數將超過每日上限{cap}小時"),
                    format!("the volunteer's {day} would exceed the cap of {cap} hours"),
                )
            }
            Self::CodeMalformed => (
                "不是签到码".into(),
                "不是簽到碼".into(),
                "is not an attendance code".into(),
            ),
            Self::CodeExpired => (
                "已过期，请扫描当前的签到码".into(),
                "已過期，請掃描當前的簽到碼".into(),
                "has expired; scan the current code".into(),
            ),
            Self::CodeForged => (
                "签到码无效".into(),
                "簽到碼無效".into(),
                "is not a valid code".into(),
            ),
            Self::CodeOfAnotherShift => (
                "是另一个班次的签到码".into(),
                "是另一個班次的簽到碼".into(),
                "is the code of another shift".into(),
            ),
            Self::LocationNeeded => (
                "本项目需核对签到位置，请允许获取位置后再签到".into(),
                "本項目需核對簽到位置，請允許取得位置後再簽到".into(),
                "this project checks your location; share it to check in".into(),
            ),
            Self::OutsideGeofence {
                distance_m,
                radius_m,
            } => (
                format!("您距项目地点{distance_m}米，请在{radius_m}米范围内签到"),
                format!("您距項目地點{distance_m}米，請在{radius_m}米範圍內簽到"),
                format!("you are {distance_m} m from the project; check in within {radius_m} m"),
            ),
        };
        match lang {
            Lang::ZhHans => zh_hans,
            Lang::ZhHk => zh_hk,
            Lang::En => en,
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for FieldError {}

/// A non-empty list of field errors: the input as a whole was refused.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn one(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self(vec![FieldError::new(field, reason)])
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// Collects the error of `result` (if any) and returns its value.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when no error was collected.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Invalid> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

impl From<FieldError> for Invalid {
    fn from(error: FieldError) -> Self {
        Self(vec![error])
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        write!(f, "invalid input: {}", parts.join("; "))
    }
}

impl std::error::Error for Invalid {}
