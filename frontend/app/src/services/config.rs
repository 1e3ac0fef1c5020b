use doorstep_domain::api::ClientConfig;
use gloo_net::http::Request;
use yew::prelude::*;

/// Fetches `/api/config` once. Until it arrives (or if it fails) the app uses the
/// defaults, so the map always renders.
#[hook]
pub fn use_client_config() -> ClientConfig {
    let config = use_state(ClientConfig::default);
    {
        let config = config.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(response) = Request::get("/api/config").send().await
                    && response.ok()
                    && let Ok(loaded) = response.json::<ClientConfig>().await
                {
                    config.set(loaded);
                }
            });
        });
    }
    (*config).clone()
}

/// Like [`use_client_config`], but `None` until `/api/config` has answered
/// (or failed: then the defaults), for choices the defaults must not make,
/// such as how to sign in.
#[hook]
pub fn use_loaded_client_config() -> Option<ClientConfig> {
    let config = use_state(|| None::<ClientConfig>);
    {
        let config = config.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let loaded = match Request::get("/api/config").send().await {
                    Ok(response) if response.ok() => response.json::<ClientConfig>().await.unwrap_or_default(),
                    _ => ClientConfig::default(),
                };
                config.set(Some(loaded));
            });
        });
    }
    (*config).clone()
}
