//! Extractors that turn bad input into the API's error shape, naming the field:
//! [`Json`] (content type, size, syntax, unknown and missing fields, types), [`Caller`]
//! (the bearer token behind a request) and [`Paging`] (cursor and limit); and
//! [`Language`], the language a page or document for people is asked in.

use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use zhiyuan_domain::lang::Lang;
use zhiyuan_domain::{FieldError, JsonType, Reason};
use zhiyuan_service::{Actor, Ctx};
use zhiyuan_store::{Cursor, PageRequest};

use crate::AppState;
use crate::error::ApiError;

/// A JSON body, parsed strictly.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// Field path and reason of a serde error, in request terms: each with the code of a
/// [`Reason`] where serde's message says which (a missing or unknown field, a value not
/// among an enumeration's, a value of the wrong JSON type, a number out of its type's
/// range), else `invalid` with serde's sentence. `body` is what was read.
fn describe(err: serde_path_to_error::Error<serde_json::Error>, body: &[u8]) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    let message = inner.to_string();
    // serde_json says `expected value`, a syntax error, of a number or a list where an
    // enumeration's word is wanted: the body is JSON, the value's type is wrong.
    let json = || serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok();
    if inner.is_syntax() && path != "." && json() {
        return FieldError::because(path, Reason::WrongType(JsonType::Text)).into();
    }
    if inner.is_syntax() || inner.is_eof() {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed",
            "the body is not valid JSON",
        )
        .with_field("body", message);
    }
    let message = message.split(" at line ").next().unwrap_or_default();
    let field = if path == "." { "body".to_owned() } else { path };
    if let Some(rest) = message.strip_prefix("missing field ") {
        let name = quoted(rest).next().unwrap_or_default();
        let field = match field.as_str() {
            "body" => name.to_owned(),
            parent => format!("{parent}.{name}"),
        };
        return FieldError::because(field, Reason::Required).into();
    }
    match reason_of(message) {
        Some(why) => FieldError::because(field, why).into(),
        None => ApiError::invalid(field, message),
    }
}

/// The names serde quotes in backticks in `message`, in order.
fn quoted(message: &str) -> impl Iterator<Item = &str> {
    message.split('`').skip(1).step_by(2)
}

/// The [`Reason`] of a serde error's message, when it says which (the path is elsewhere;
/// an unknown field's path already ends with its name).
fn reason_of(message: &str) -> Option<Reason> {
    if message.starts_with("unknown field ") {
        return Some(Reason::UnknownField);
    }
    if message.starts_with("invalid type: null") {
        return Some(Reason::Required);
    }
    let (said, expected) = message.split_once(", expected ")?;
    if said.starts_with("unknown variant ") {
        return Some(Reason::NotOneOf(
            quoted(expected).map(str::to_owned).collect(),
        ));
    }
    if expected == TIME {
        return Some(Reason::NotATime);
    }
    if said.starts_with("invalid value: integer ") {
        return integer_bounds(expected).map(|(min, max)| match max {
            Some(max) => Reason::OutOfRange { min, max },
            None => Reason::AtLeast { min },
        });
    }
    if !said.starts_with("invalid type: ") {
        return None;
    }
    let kind = match expected {
        _ if integer_bounds(expected).is_some() => JsonType::WholeNumber,
        "f32" | "f64" => JsonType::Number,
        "a string" | "a borrowed string" | "a character" => JsonType::Text,
        _ if expected.starts_with("enum ") => JsonType::Text,
        "a boolean" => JsonType::TrueOrFalse,
        "a sequence" => JsonType::List,
        _ if expected.starts_with("a tuple") => JsonType::List,
        "a map" => JsonType::Object,
        _ if expected.starts_with("struct ") => JsonType::Object,
        _ => return None,
    };
    Some(Reason::WrongType(kind))
}

/// The least and greatest value of the integer type serde names (`u32`); the greatest of
/// `u64`, beyond an `i64`, is left out (a number above it is read as a float: the wrong
/// type).
fn integer_bounds(ty: &str) -> Option<(i64, Option<i64>)> {
    Some(match ty {
        "i8" => (i8::MIN.into(), Some(i8::MAX.into())),
        "i16" => (i16::MIN.into(), Some(i16::MAX.into())),
        "i32" => (i32::MIN.into(), Some(i32::MAX.into())),
        "i64" | "isize" => (i64::MIN, Some(i64::MAX)),
        "u8" => (0, Some(u8::MAX.into())),
        "u16" => (0, Some(u16::MAX.into())),
        "u32" => (0, Some(u32::MAX.into())),
        "u64" | "usize" => (0, None),
        _ => return None,
    })
}

/// What a time of a request body is expected to be, as serde says it.
const TIME: &str = "an RFC 3339 time";

/// Reads an optional time of a request body, written as RFC 3339 says
/// (`2026-11-05T09:30:00+08:00`); one written otherwise is refused as
/// [`Reason::NotATime`]. For `#[serde(default, deserialize_with = "rfc3339_option")]`.
pub fn rfc3339_option<'de, D>(d: D) -> Result<Option<time::OffsetDateTime>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Time;
    impl<'de> serde::de::Visitor<'de> for Time {
        type Value = Option<time::OffsetDateTime>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(TIME)
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            zhiyuan_domain::registration::parse_timestamp(v)
                .map(Some)
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(v), &self))
        }
    }
    d.deserialize_option(Time)
}

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim() == "application/json")
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| match e {
                BytesRejection::FailedToBufferBody(inner)
                    if inner.status() == StatusCode::PAYLOAD_TOO_LARGE =>
                {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "body_too_large",
                        "the body is larger than this endpoint accepts",
                    )
                }
                other => ApiError::new(other.status(), "malformed", other.body_text()),
            })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(de).map_err(|e| describe(e, &bytes))?;
        Ok(Self(value))
    }
}

/// The caller of a request: a signed-in principal when a bearer token is sent, else
/// anonymous. A token that is sent but not valid is refused with 401.
#[derive(Debug, Clone)]
pub struct Caller {
    pub ctx: Ctx,
    pub token: Option<String>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let token = match parts.headers.get(header::AUTHORIZATION) {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .ok()
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .map(|t| t.trim().to_owned())
                    .ok_or_else(|| {
                        ApiError::new(
                            StatusCode::UNAUTHORIZED,
                            "unauthenticated",
                            "use `Authorization: Bearer <token>`",
                        )
                    })?,
            ),
        };
        let actor = match &token {
            None => Actor::Anonymous,
            Some(t) => Actor::User(state.app.authenticate(t).await?),
        };
        Ok(Self {
            ctx: Ctx::new(actor, request_id),
            token,
        })
    }
}

/// The page of a listing from its `cursor` and `limit` parameters; the cursor must have
/// the shape of this listing (`keys` sort keys).
pub fn page(
    cursor: Option<&str>,
    limit: Option<u32>,
    keys: usize,
) -> Result<PageRequest, ApiError> {
    let limit = limit.unwrap_or(PageRequest::DEFAULT_LIMIT);
    if !(1..=PageRequest::MAX_LIMIT).contains(&limit) {
        return Err(FieldError::because(
            "limit",
            Reason::OutOfRange {
                min: 1,
                max: PageRequest::MAX_LIMIT.into(),
            },
        )
        .into());
    }
    let after = match cursor {
        None => None,
        Some(c) => Some(
            Cursor::decode(c, keys)
                .ok_or_else(|| FieldError::because("cursor", Reason::NotACursor))?,
        ),
    };
    Ok(PageRequest { limit, after })
}

/// Query strings parsed into the error shape (unknown values name the parameter).
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| {
                let field = e.path().to_string();
                let message = e.into_inner().to_string();
                let field = if field == "." {
                    message
                        .split('`')
                        .nth(1)
                        .map_or_else(|| "query".to_owned(), str::to_owned)
                } else {
                    field
                };
                ApiError::invalid(field, message)
            })
    }
}

/// For PATCH bodies: tells an absent field (`None`) from an explicit `null`
/// (`Some(None)`, which clears the value).
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// The language a page or a document for people is asked in: `?lang=` (`zh-CN`, `zh-HK`,
/// `en`), else the request's `Accept-Language`, else Simplified Chinese (see
/// [`Lang::negotiate`]). Never refuses: an unknown language falls back as the browser's
/// would. A handler taking it names `Vary: Accept-Language` in its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Language(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for Language {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let asked = parts.uri.query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(key, _)| key == "lang")
                .map(|(_, value)| value.into_owned())
        });
        let accept_language = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        Ok(Self(Lang::negotiate(asked.as_deref(), accept_language)))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::{Value, json};
    use zhiyuan_domain::lang::Lang;
    use zhiyuan_domain::{JsonType, Reason};

    use super::{describe, rfc3339_option};

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Form {
        capacity: u32,
        #[serde(default)]
        count: i64,
        ratio: f64,
        name: String,
        open: bool,
        tags: Vec<String>,
        at: Point,
        size: Size,
        #[serde(default, deserialize_with = "rfc3339_option")]
        when: Option<time::OffsetDateTime>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Point {
        lat: f64,
        lng: f64,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Size {
        Small,
        Large,
    }

    fn form() -> Value {
        json!({"capacity": 10, "ratio": 0.5, "name": "义诊", "open": true, "tags": [],
            "at": {"lat": 23.1, "lng": 113.3}, "size": "small"})
    }

    /// The one field named and why, for `body` as the `Json` extractor reads it.
    fn refused(body: Value) -> (String, Option<Reason>) {
        let text = body.to_string();
        let de = &mut serde_json::Deserializer::from_str(&text);
        let err = serde_path_to_error::deserialize::<_, Form>(de).expect_err(&text);
        let api = describe(err, text.as_bytes());
        let [field] = api.fields() else {
            panic!("{text}: {:?}", api.fields())
        };
        (field.field.clone(), field.why.clone())
    }

    fn with(key: &str, value: Value) -> Value {
        let mut body = form();
        body[key] = value;
        body
    }

    #[test]
    fn a_value_of_the_wrong_json_type_is_named_with_the_type_wanted() {
        let cases = [
            (
                with("capacity", json!("ten")),
                "capacity",
                JsonType::WholeNumber,
            ),
            (
                with("capacity", json!(1.5)),
                "capacity",
                JsonType::WholeNumber,
            ),
            (with("ratio", json!("half")), "ratio", JsonType::Number),
            (with("name", json!(5)), "name", JsonType::Text),
            (with("open", json!("yes")), "open", JsonType::TrueOrFalse),
            (with("tags", json!("first aid")), "tags", JsonType::List),
            (with("at", json!("23.1,113.3")), "at", JsonType::Object),
            (
                with("at", json!({"lat": "north", "lng": 113.3})),
                "at.lat",
                JsonType::Number,
            ),
            (with("size", json!(2)), "size", JsonType::Text),
        ];
        for (body, field, kind) in cases {
            assert_eq!(
                refused(body),
                (field.to_owned(), Some(Reason::WrongType(kind))),
                "{field}"
            );
        }
        let why = Reason::WrongType(JsonType::WholeNumber);
        assert_eq!(why.say(Lang::ZhHans), "应为整数");
        assert_eq!(why.say(Lang::En), "must be a whole number");
    }

    #[test]
    fn a_body_that_is_not_json_is_malformed_whatever_field_it_breaks_off_at() {
        let text = br#"{"capacity": 10, "size": }"#;
        let de = &mut serde_json::Deserializer::from_slice(text);
        let err = serde_path_to_error::deserialize::<_, Form>(de).expect_err("not JSON");
        let api = describe(err, text);
        let fields: Vec<_> = api
            .fields()
            .iter()
            .map(|f| (f.field.as_str(), f.code()))
            .collect();
        assert_eq!(fields, [("body", "invalid")]);
    }

    #[test]
    fn a_word_not_among_an_enumerations_lists_the_words_it_takes() {
        let (field, why) = refused(with("size", json!("medium")));
        assert_eq!(field, "size");
        assert_eq!(why, Some(Reason::one_of(&["small", "large"])));
        assert_eq!(why.unwrap().say(Lang::ZhHk), "應為以下之一：small、large");
    }

    #[test]
    fn a_number_beyond_its_types_range_says_the_range() {
        let (field, why) = refused(with("count", json!(u64::MAX)));
        assert_eq!(
            (field.as_str(), why),
            (
                "count",
                Some(Reason::OutOfRange {
                    min: i64::MIN,
                    max: i64::MAX
                })
            )
        );
        assert_eq!(
            refused(with("capacity", json!(-1))),
            (
                "capacity".to_owned(),
                Some(Reason::OutOfRange {
                    min: 0,
                    max: u32::MAX.into()
                })
            )
        );
    }

    #[test]
    fn a_missing_or_null_value_is_required_and_an_unknown_one_is_named() {
        let mut missing = form();
        missing.as_object_mut().unwrap().remove("name");
        assert_eq!(
            refused(missing),
            ("name".to_owned(), Some(Reason::Required))
        );
        let nested = with("at", json!({"lat": 23.1}));
        assert_eq!(
            refused(nested),
            ("at.lng".to_owned(), Some(Reason::Required))
        );
        assert_eq!(
            refused(with("name", Value::Null)),
            ("name".to_owned(), Some(Reason::Required))
        );
        assert_eq!(
            refused(with("colour", json!("red"))),
            ("colour".to_owned(), Some(Reason::UnknownField))
        );
    }

    #[test]
    fn a_time_not_written_as_rfc_3339_says_how_to_write_it() {
        for bad in [
            json!("tomorrow"),
            json!("2026-11-05 09:30"),
            json!(1_700_000_000),
        ] {
            assert_eq!(
                refused(with("when", bad.clone())),
                ("when".to_owned(), Some(Reason::NotATime)),
                "{bad}"
            );
        }
        for good in [json!("2026-11-05T09:30:00+08:00"), Value::Null] {
            let form: Form = serde_json::from_value(with("when", good.clone())).expect("a time");
            assert_eq!(form.when.is_some(), !good.is_null());
        }
    }
}
