//! Use cases: one module per capability, each a function over ports.

pub mod demo;
pub mod health;
