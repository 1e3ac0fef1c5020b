use yew::prelude::*;
use yew_router::prelude::*;

use crate::pages::{DispatcherPage, DriverPage, LoginPage, NotFoundPage, ReportsPage, TrackingPage};

/// Every URL the app answers. The server falls back to `index.html` for these.
#[derive(Clone, Debug, PartialEq, Eq, Routable)]
pub enum Route {
    #[at("/")]
    Dispatcher,
    /// The dispatcher's sign-in.
    #[at("/login")]
    Login,
    #[at("/driver")]
    Driver,
    /// The dispatcher's reports.
    #[at("/reports")]
    Reports,
    #[at("/t/:token")]
    Tracking { token: String },
    #[not_found]
    #[at("/404")]
    NotFound,
}

pub fn switch(route: Route) -> Html {
    match route {
        Route::Dispatcher => html! { <DispatcherPage /> },
        Route::Login => html! { <LoginPage /> },
        Route::Driver => html! { <DriverPage /> },
        Route::Reports => html! { <ReportsPage /> },
        Route::Tracking { token } => html! { <TrackingPage {token} /> },
        Route::NotFound => html! { <NotFoundPage /> },
    }
}
