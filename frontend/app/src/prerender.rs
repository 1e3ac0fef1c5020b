//! Each page's first frame as HTML, rendered at build time by the app's own
//! components (Yew's server renderer). `index.html` shows the frame that
//! matches the URL while the wasm downloads, so a phone on a slow network
//! sees the real page at once instead of a spinner; the app then renders the
//! same markup over it and fills in the data.

use yew::prelude::*;
use yew_router::history::{AnyHistory, MemoryHistory};
use yew_router::prelude::*;

use crate::routes::{self, Route};
use crate::services::api::PRERENDER_SIGNED_IN;

/// A page whose first frame is prerendered.
pub struct Shell {
    /// The `<template id="shell-{name}">` it becomes.
    pub name: &'static str,
    pub route: Route,
    /// Rendered as for a signed-in dispatcher (the page `index.html` picks
    /// when the tab holds a token).
    pub signed_in: bool,
}

/// The sign-in form and the dispatcher's pages. The driver's face starts
/// from what it keeps on the phone, and reports from the browser's date, so
/// neither has a frame to prerender.
pub fn shells() -> Vec<Shell> {
    let signed_in = |name, route| Shell { name, route, signed_in: true };
    vec![
        Shell { name: "login", route: Route::Login, signed_in: false },
        signed_in("dispatcher", Route::Dispatcher),
        signed_in("live", Route::Live),
        signed_in("setup", Route::Setup),
    ]
}

#[derive(Properties, PartialEq)]
struct FrameProps {
    path: AttrValue,
}

/// The app as `App` renders it, on an in-memory history at `path`.
#[function_component(Frame)]
fn frame(props: &FrameProps) -> Html {
    let history = AnyHistory::from(MemoryHistory::with_entries(vec![props.path.to_string()]));
    html! {
        <Router {history}>
            <Switch<Route> render={routes::switch} />
        </Router>
    }
}

/// The first frame of `shell`'s page. Renders on the current thread (run it
/// inside a tokio `LocalSet`).
pub async fn render(shell: &Shell) -> String {
    PRERENDER_SIGNED_IN.store(shell.signed_in, std::sync::atomic::Ordering::Relaxed);
    let path = AttrValue::from(shell.route.to_path());
    yew::LocalServerRenderer::<Frame>::with_props(FrameProps { path }).hydratable(false).render().await
}
