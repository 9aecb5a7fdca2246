//! Black-box tests of the real server on port 0, on the backend `ZHIYUAN_TEST_BACKEND`
//! names, each on a database of its own.

mod auth;
mod cli;
mod corrections;
mod directory;
mod openapi;
mod participation;
mod registration;
mod scope;
