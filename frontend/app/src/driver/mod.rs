//! The driver app's engine: durable queue, sync, GPS sampling, local storage.
//! The page (`pages::driver`) only renders and calls into these.

pub mod gps;
pub mod kit;
pub mod queue;
pub mod store;
pub mod sync;
