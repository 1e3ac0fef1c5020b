//! Typed access to Doorstep's HTTP API, the optimizer worker and time zones.

pub mod api;
pub mod config;
pub mod solver;
pub mod tz;
