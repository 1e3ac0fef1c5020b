//! Use cases: one module per capability, each a function over ports.

pub mod auth;
pub mod auto_dispatch;
pub mod csv_import;
pub mod demo;
pub mod fleet;
pub mod health;
pub mod notify;
pub mod orders;
pub mod plans;
pub mod reassign;
pub mod reports;
pub(crate) mod route_rebuild;
pub mod slots;
pub mod pod;
pub mod tracking;
