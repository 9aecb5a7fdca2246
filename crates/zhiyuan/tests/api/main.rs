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
mod stars;
mod talent;
