mod dispatcher;
mod driver;
mod live;
mod login;
mod not_found;
mod reports;
mod setup;

pub use dispatcher::DispatcherPage;
pub use driver::DriverPage;
pub use live::LivePage;
pub use login::LoginPage;
pub use not_found::NotFoundPage;
pub use reports::ReportsPage;
pub use setup::SetupPage;
