//! Doorstep's domain model and API contract, shared by the browser, the
//! driver app and the server functions. Pure: no I/O, no clock, no RNG.
//!
//! JSON (serde) is the wire format: snake_case fields, RFC 3339 instants,
//! `YYYY-MM-DD` dates, `HH:MM` local times, durations in whole seconds
//! (`*_s`), distances in metres (`*_m`). Input DTOs (`New*`, `*Patch`,
//! request bodies, pings, proofs of delivery) reject unknown fields; stored
//! entities tolerate them so an older reader survives a newer writer.
//! Everything a client sends implements [`Validate`], which reports every
//! problem with its field path.

pub mod api;
pub mod auth;
pub mod csv_columns;
pub mod demo;
pub mod dispatch;
pub mod geo;
pub mod ids;
pub mod lifecycle;
pub mod load;
pub mod notification;
pub mod order;
pub mod org;
pub mod plan;
pub mod planning;
pub mod pod;
pub mod reports;
pub mod slots;
pub mod time;
pub mod tracking;
pub mod validation;
pub mod vehicle;

pub use api::{ApiError, ErrorCode};
pub use geo::{Address, LatLon};
pub use ids::{
    DepotId, DriverId, IdError, NotificationId, OrderId, OrgId, PlanId, RouteId, StopId,
    TrackingToken, VehicleId,
};
pub use lifecycle::{
    FailureReason, IllegalTransition, OrderEvent, OrderState, OrderStatus, transition,
};
pub use load::Load;
pub use notification::Notification;
pub use order::{NewOrder, Order, OrderKind, OrderPatch};
pub use org::{Depot, Driver, Organisation};
pub use plan::{Plan, Route, Stop};
pub use pod::ProofOfDelivery;
pub use tracking::TrackingPing;
pub use validation::{FieldError, Validate, ValidationErrors};
pub use vehicle::Vehicle;
