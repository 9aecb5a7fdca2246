//! Test support. Every test gets its own database on the backend named by
//! `ZHIYUAN_TEST_BACKEND` (`sqlite`, the default, or `postgres`, using the server at
//! `ZHIYUAN_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`),
//! created fresh and dropped afterwards. [`TestApp`] runs the real server on port 0.

mod app;
mod db;
mod fixtures;

pub use app::{PASSWORD, Response, TestApp, why};
pub use db::{Backend, TestDb};
pub use fixtures::{VolunteerBuilder, resident_id, volunteer_row};
