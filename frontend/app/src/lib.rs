//! Doorstep's web app: one Yew app with two faces (dispatcher with reports,
//! driver), chosen by the URL. The customer tracking page is `frontend/track`.

mod components;
pub mod driver;
mod pages;
#[cfg(feature = "prerender")]
pub mod prerender;
mod routes;
mod services;
mod scenario_model;

pub use routes::Route;

// Unit tests of the driver engine run in Chromium too (`cargo xtask test`).
#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use yew::prelude::*;
use yew_router::prelude::*;

#[function_component(App)]
pub fn app() -> Html {
    html! {
        <BrowserRouter>
            <Switch<Route> render={routes::switch} />
        </BrowserRouter>
    }
}

/// Entry point: `index.html` calls it in the task after the module is instantiated.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn run() {
    yew::Renderer::<App>::new().render();
}
