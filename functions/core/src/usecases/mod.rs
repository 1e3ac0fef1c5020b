//! Use cases: one module per capability, each a function over ports.

pub mod auth;
pub mod csv_import;
pub mod demo;
pub mod health;
pub mod notify;
pub mod orders;
pub mod plans;
pub mod reports;
pub mod pod;
pub mod tracking;
