//! Provenance Ledger: find licensed works in uploaded images, evaluate their licences against an
//! intended use, and record attributions in a verifiable transparency log.
//!
//! The map of the modules and the rules that keep them apart are in `docs/ARCHITECTURE.md`.

pub mod accounts;
pub mod api;
pub mod attributions;
pub mod cli;
pub mod config;
pub mod fingerprint;
pub mod ledger;
pub mod licenses;
pub mod metrics;
pub mod service;
pub mod store;
pub mod works;
