//! Use cases: one module per capability, each a function over ports.

pub mod auth;
pub mod csv_import;
pub mod demo;
pub mod health;
pub mod orders;
pub mod plans;
