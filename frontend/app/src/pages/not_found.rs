use yew::prelude::*;
use yew_router::prelude::*;

use crate::routes::Route;

#[function_component(NotFoundPage)]
pub fn not_found_page() -> Html {
    html! {
        <main class="not-found">
            <h1>{"Page not found"}</h1>
            <p><Link<Route> to={Route::Dispatcher}>{"Go to the dispatcher"}</Link<Route>></p>
        </main>
    }
}
