//! The ports: what the use cases need from the outside world.

mod clock;
mod store;

pub use clock::{Clock, FixedClock, SystemClock};
pub use store::{BusinessSnapshot, Store, StoreError};
