use web_sys::HtmlInputElement;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::routes::Route;
use crate::services::api;

/// The dispatcher's sign-in form. On success the token is kept for this tab
/// and the dispatcher page opens.
#[function_component(LoginPage)]
pub fn login_page() -> Html {
    let email = use_node_ref();
    let password = use_node_ref();
    let error = use_state(|| None::<String>);
    let busy = use_state(|| false);
    let navigator = use_navigator();

    let onsubmit = {
        let (email, password, error, busy) = (email.clone(), password.clone(), error.clone(), busy.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let value = |r: &NodeRef| r.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            let (address, secret) = (value(&email).trim().to_owned(), value(&password));
            if address.is_empty() || secret.is_empty() {
                error.set(Some("Enter your email address and password.".into()));
                return;
            }
            let (error, busy, navigator) = (error.clone(), busy.clone(), navigator.clone());
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                match api::login(&address, &secret).await {
                    Ok(token) => {
                        api::store_token(&token.access_token);
                        if let Some(n) = navigator {
                            n.push(&Route::Dispatcher);
                        }
                    }
                    Err(e) => {
                        let message = match e.code.as_str() {
                            "unauthorized" => "Wrong email address or password.".to_owned(),
                            "rate_limited" => format!("Too many attempts. {}", e.message),
                            _ => e.message,
                        };
                        error.set(Some(message));
                        busy.set(false);
                    }
                }
            });
        })
    };

    html! {
        <div class="layout layout-login">
            <header class="topbar"><h1>{"Doorstep"}</h1><span class="topbar-subtitle">{"Sign in"}</span></header>
            <main class="login" data-page="login">
                <form class="card" {onsubmit} novalidate=true>
                    <h2>{"Dispatcher sign-in"}</h2>
                    <label for="login-email">{"Email"}</label>
                    <input id="login-email" ref={email} type="email" autocomplete="username" required=true />
                    <label for="login-password">{"Password"}</label>
                    <input id="login-password" ref={password} type="password" autocomplete="current-password" required=true />
                    if let Some(message) = (*error).clone() {
                        <p class="error" role="alert" data-testid="login-error">{ message }</p>
                    }
                    <button type="submit" class="primary" disabled={*busy}>{ if *busy { "Signing in…" } else { "Sign in" } }</button>
                </form>
            </main>
        </div>
    }
}
