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
