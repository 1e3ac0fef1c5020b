use yew::prelude::*;
use yew_router::prelude::*;

use crate::pages::{DispatcherPage, DriverPage, LivePage, LoginPage, NotFoundPage, ReportsPage, SetupPage};

/// Every URL the app answers. The server falls back to `index.html` for these;
/// the customer tracking page (`/t/{token}`) is a separate bundle, `frontend/track`.
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
    /// Today's routes as they are driven.
    #[at("/live")]
    Live,
    /// Depots, vehicles, drivers and the organisation's settings.
    #[at("/setup")]
    Setup,
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
        Route::Live => html! { <LivePage /> },
        Route::Setup => html! { <SetupPage /> },
        Route::NotFound => html! { <NotFoundPage /> },
    }
}
