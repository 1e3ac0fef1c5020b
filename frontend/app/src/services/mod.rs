//! Typed access to Doorstep's HTTP API, the optimizer worker and time zones.

pub mod api;
pub mod cognito;
pub mod config;
pub mod download;
pub mod solver;
pub mod travel;
pub mod tz;
pub mod order_feed;
