mod dispatcher;
mod driver;
mod login;
mod not_found;
mod reports;
mod tracking;

pub use dispatcher::DispatcherPage;
pub use driver::DriverPage;
pub use login::LoginPage;
pub use not_found::NotFoundPage;
pub use reports::ReportsPage;
pub use tracking::TrackingPage;
