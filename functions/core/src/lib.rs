//! Doorstep's service core. Use cases take ports (traits), never SDK clients; the
//! adapters in sibling crates implement the ports, and the entry points (Lambda
//! `main`s, `doorstep serve`) only wire them together.

pub mod adapters;
pub mod crypto;
pub mod error;
pub mod ports;
pub mod tz;
pub mod usecases;

pub use error::Error;
pub use ports::{Clock, Principal, Store, StoreError, SystemClock};
