//! Doorstep's customer tracking page, `/t/{token}`: a bundle of its own so a
//! phone on a slow network loads only this page (no router, no optimizer, no
//! charts, no service worker), and Leaflet only while the driver is on the way.
//!
//! State lives in one reducer ([`model::Model`]); `GET /api/track/{token}`
//! is polled every 15 s while the delivery is under way and the tab is visible.

mod api;
mod browser;
mod map;
pub mod model;
mod views;

use std::cell::Cell;
use std::rc::Rc;

use model::{Action, Load, Model, POLL_INTERVAL_MS};
use yew::prelude::*;

/// The token from `/t/{token}` (anything after it, e.g. a trailing slash, is ignored).
pub fn token_from_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/t/")?;
    let token = rest.split('/').next().unwrap_or_default();
    (!token.is_empty()).then(|| token.to_owned())
}

/// Shared between the poller's timers and the renders: the timers read the
/// latest values without being re-created.
#[derive(Default)]
struct PollState {
    in_flight: Cell<bool>,
    keeps_polling: Cell<bool>,
    last_attempt_ms: Cell<f64>,
}

fn fetch(token: &str, dispatch: &UseReducerDispatcher<Model>, poll: &Rc<PollState>) {
    if poll.in_flight.replace(true) {
        return;
    }
    poll.last_attempt_ms.set(js_sys::Date::now());
    let (token, dispatch, poll) = (token.to_owned(), dispatch.clone(), poll.clone());
    wasm_bindgen_futures::spawn_local(async move {
        let action = match api::view(&token).await {
            Ok(view) => Action::Loaded { view: Box::new(view), at_ms: js_sys::Date::now() },
            Err(api::Failure::NotFound) => Action::NotFound,
            Err(_) => Action::Failed,
        };
        poll.in_flight.set(false);
        dispatch.dispatch(action);
    });
}

#[function_component(App)]
pub fn app() -> Html {
    let model = use_reducer(Model::default);
    let token = use_memo((), |_| browser::pathname().and_then(|p| token_from_path(&p)));
    let poll: Rc<PollState> = use_memo((), |_| PollState::default());
    poll.keeps_polling.set(model.keeps_polling());

    {
        let dispatch = model.dispatcher();
        let poll = poll.clone();
        use_effect_with(token.clone(), move |token| {
            let mut timers: Option<(browser::Interval, browser::Listener)> = None;
            match token.as_ref() {
                None => dispatch.dispatch(Action::NotFound),
                Some(token) => {
                    fetch(token, &dispatch, &poll);
                    let tick = {
                        let (token, dispatch, poll) = (token.clone(), dispatch.clone(), poll.clone());
                        move || {
                            if poll.keeps_polling.get() && !browser::hidden() {
                                fetch(&token, &dispatch, &poll);
                            }
                        }
                    };
                    // Back to a tab that was hidden for a while: refresh at once.
                    let on_visible = {
                        let (token, dispatch, poll) = (token.clone(), dispatch.clone(), poll.clone());
                        move || {
                            let stale = js_sys::Date::now() - poll.last_attempt_ms.get() >= f64::from(POLL_INTERVAL_MS);
                            if !browser::hidden() && stale && poll.keeps_polling.get() {
                                fetch(&token, &dispatch, &poll);
                            }
                        }
                    };
                    timers = Some((
                        browser::Interval::new(POLL_INTERVAL_MS, tick),
                        browser::Listener::on_document("visibilitychange", on_visible),
                    ));
                }
            }
            move || drop(timers)
        });
    }

    let on_view = {
        let dispatch = model.dispatcher();
        Callback::from(move |view| dispatch.dispatch(Action::Loaded { view: Box::new(view), at_ms: js_sys::Date::now() }))
    };
    let on_gone = {
        let dispatch = model.dispatcher();
        Callback::from(move |()| dispatch.dispatch(Action::NotFound))
    };
    let token = (*token).clone().unwrap_or_default();

    let body = match &model.load {
        Load::Loading => html! { <p class="card muted" role="status">{"Loading your delivery…"}</p> },
        Load::Unknown => views::unknown_link(),
        Load::Unreachable => html! {
            <p class="card" role="alert" data-testid="unreachable">
                {"We could not load your delivery just now. This page tries again by itself."}
            </p>
        },
        Load::Ready(view) => html! {
            <views::Tracking view={(**view).clone()} {token} updated_ms={model.updated_ms.unwrap_or_default()}
                refresh_failed={model.refresh_failed} {on_view} {on_gone} />
        },
    };
    html! {
        <main class="page" data-page="tracking" data-state={state_attr(&model.load)}>
            {body}
        </main>
    }
}

fn state_attr(load: &Load) -> &'static str {
    match load {
        Load::Loading => "loading",
        Load::Unknown => "unknown",
        Load::Unreachable => "unreachable",
        Load::Ready(view) => view.state.as_str(),
    }
}

/// Entry point called by the generated JS glue once the module is instantiated.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    let root = browser::element_by_id("track").unwrap_or_else(body);
    yew::Renderer::<App>::with_root(root).render();
}

#[cfg(target_arch = "wasm32")]
fn body() -> web_sys::Element {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
        .map(Into::into)
        .expect("a document with a body")
}

#[cfg(test)]
mod tests {
    use super::token_from_path;

    #[test]
    fn the_token_is_the_segment_after_t() {
        assert_eq!(token_from_path("/t/abc_DEF-123").as_deref(), Some("abc_DEF-123"));
        assert_eq!(token_from_path("/t/abc/").as_deref(), Some("abc"));
        assert_eq!(token_from_path("/t/"), None);
        assert_eq!(token_from_path("/driver"), None);
    }
}
