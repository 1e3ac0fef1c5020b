//! Typed access to Doorstep's HTTP API.

pub mod config;
