//! Integration tests: one binary, run against SQLite, and against PostgreSQL when
//! `TEST_DATABASE_URL` is set.

mod attributions_api;
mod audit;
mod cli;
mod contract;
mod import;
mod journeys;
mod licenses_api;
mod log_api;
mod process;
mod support;
mod web_api;
mod works_api;
