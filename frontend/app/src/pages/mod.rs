mod dispatcher;
mod driver;
mod not_found;
mod tracking;

pub use dispatcher::DispatcherPage;
pub use driver::DriverPage;
pub use not_found::NotFoundPage;
pub use tracking::TrackingPage;
