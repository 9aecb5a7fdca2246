//! zhiyuan's domain: the types and rules every other crate speaks, with no I/O.
//!
//! Values are parsed once at the edge into types that cannot hold invalid data
//! (`RegionCode::parse`, `IdDocument::parse`, `VolunteerNumber::parse`); rules that decide
//! who may do what ([`access`]) are pure functions over facts the caller has loaded.

pub mod access;
pub mod category;
pub mod clock;
pub mod document;
pub mod error;
pub mod hours;
pub mod ids;
pub mod lang;
pub mod matching;
pub mod order;
pub mod org;
pub mod person;
pub mod project;
pub mod region;
pub mod registration;
pub mod site;
pub mod stars;
pub mod talent;
pub mod volunteer_number;
pub mod workdays;

pub use error::{FieldError, Invalid, JsonType, Reason};
