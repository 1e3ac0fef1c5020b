use doorstep_domain::api::{ApiError, ClientAuth};
use web_sys::HtmlInputElement;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::routes::Route;
use crate::services::api;
use crate::services::cognito::{self, Challenge, SignIn};
use crate::services::config::use_loaded_client_config;

/// Where the sign-in stands.
#[derive(Clone, PartialEq)]
enum Step {
    Credentials,
    /// A Cognito user's first sign-in: a new password replaces the temporary one.
    NewPassword(Challenge),
}

fn message_for(e: ApiError) -> String {
    match e.code.as_str() {
        "unauthorized" if e.message.starts_with("Wrong") => e.message,
        "unauthorized" => "Wrong email address or password.".to_owned(),
        "rate_limited" if e.message.starts_with("Too many") => e.message,
        "rate_limited" => format!("Too many attempts. {}", e.message),
        _ => e.message,
    }
}

fn bind(field: &UseStateHandle<String>) -> Callback<InputEvent> {
    let field = field.clone();
    Callback::from(move |e: InputEvent| field.set(e.target_unchecked_into::<HtmlInputElement>().value()))
}

/// The dispatcher's sign-in form: Doorstep's own password check, or the
/// Cognito user pool `/api/config` names. On success the token is kept for
/// this tab and the dispatcher page opens.
#[function_component(LoginPage)]
pub fn login_page() -> Html {
    let config = use_loaded_client_config();
    // Controlled fields: a re-render (an error shown) must not empty them.
    let email = use_state(String::new);
    let password = use_state(String::new);
    let new_password = use_state(String::new);
    let repeat_password = use_state(String::new);
    let error = use_state(|| None::<String>);
    let busy = use_state(|| false);
    let step = use_state(|| Step::Credentials);
    let navigator = use_navigator();
    let auth = config.as_ref().map(|c| c.auth.clone());

    let finish = {
        let (error, busy, step, navigator) = (error.clone(), busy.clone(), step.clone(), navigator.clone());
        Callback::from(move |result: Result<SignIn, ApiError>| match result {
            Ok(SignIn::Done(_)) => {
                if let Some(n) = &navigator {
                    n.push(&Route::Dispatcher);
                }
            }
            Ok(SignIn::NewPasswordRequired(challenge)) => {
                error.set(None);
                busy.set(false);
                step.set(Step::NewPassword(challenge));
            }
            Err(e) => {
                error.set(Some(message_for(e)));
                busy.set(false);
            }
        })
    };

    let onsubmit = {
        let (email, password, error, busy, auth, finish) = (email.clone(), password.clone(), error.clone(), busy.clone(), auth.clone(), finish.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(auth) = auth.clone() else { return };
            let (address, secret) = (email.trim().to_owned(), (*password).clone());
            if address.is_empty() || secret.is_empty() {
                error.set(Some("Enter your email address and password.".into()));
                return;
            }
            busy.set(true);
            let finish = finish.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let result = match auth {
                    ClientAuth::Local => api::login(&address, &secret).await.map(|token| {
                        api::store_token(&token.access_token);
                        SignIn::Done(token.access_token)
                    }),
                    cognito_pool @ ClientAuth::Cognito { .. } => cognito::sign_in(&cognito_pool, &address, &secret).await,
                };
                finish.emit(result);
            });
        })
    };

    let on_new_password = {
        let (new_password, repeat_password, error, busy, auth, step, finish) =
            (new_password.clone(), repeat_password.clone(), error.clone(), busy.clone(), auth.clone(), step.clone(), finish.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (Some(auth), Step::NewPassword(challenge)) = (auth.clone(), (*step).clone()) else { return };
            let (first, second) = ((*new_password).clone(), (*repeat_password).clone());
            if first.is_empty() {
                error.set(Some("Choose a new password.".into()));
                return;
            }
            if first != second {
                error.set(Some("The two new passwords differ.".into()));
                return;
            }
            busy.set(true);
            let finish = finish.clone();
            wasm_bindgen_futures::spawn_local(async move {
                finish.emit(cognito::set_new_password(&auth, &challenge, &first).await);
            });
        })
    };

    let mode = match &auth {
        None => "loading",
        Some(ClientAuth::Local) => "local",
        Some(ClientAuth::Cognito { .. }) => "cognito",
    };
    let error_line = (*error).clone().map(|message| html! { <p class="error" role="alert" data-testid="login-error">{ message }</p> });
    let form = match &*step {
        Step::Credentials => html! {
            <form class="card" {onsubmit} novalidate=true>
                <h2>{"Dispatcher sign-in"}</h2>
                <label for="login-email">{"Email"}</label>
                <input id="login-email" type="email" autocomplete="username" required=true value={(*email).clone()} oninput={bind(&email)} />
                <label for="login-password">{"Password"}</label>
                <input id="login-password" type="password" autocomplete="current-password" required=true value={(*password).clone()} oninput={bind(&password)} />
                { error_line }
                <button type="submit" class="primary" disabled={*busy || auth.is_none()}>{ if *busy { "Signing in…" } else { "Sign in" } }</button>
            </form>
        },
        Step::NewPassword(_) => html! {
            <form class="card" onsubmit={on_new_password} novalidate=true data-step="new-password">
                <h2>{"Choose a new password"}</h2>
                <p>{"This is your first sign-in: replace the temporary password you were given."}</p>
                <label for="login-new-password">{"New password"}</label>
                <input id="login-new-password" type="password" autocomplete="new-password" required=true value={(*new_password).clone()} oninput={bind(&new_password)} />
                <label for="login-repeat-password">{"Repeat the new password"}</label>
                <input id="login-repeat-password" type="password" autocomplete="new-password" required=true value={(*repeat_password).clone()} oninput={bind(&repeat_password)} />
                { error_line }
                <button type="submit" class="primary" disabled={*busy}>{ if *busy { "Signing in…" } else { "Set password and sign in" } }</button>
            </form>
        },
    };

    html! {
        <div class="layout layout-login">
            <header class="topbar"><h1>{"Doorstep"}</h1><span class="topbar-subtitle">{"Sign in"}</span></header>
            <main class="login" data-page="login" data-auth={mode}>
                { form }
            </main>
        </div>
    }
}
