use yew::prelude::*;

use crate::components::MapView;
use crate::services::config::use_client_config;

#[function_component(DriverPage)]
pub fn driver_page() -> Html {
    let config = use_client_config();
    html! {
        <div class="layout layout-driver">
            <header class="topbar">
                <h1>{"Doorstep Driver"}</h1>
            </header>
            <main class="workspace" data-page="driver">
                <MapView
                    center={(config.map_center.lat, config.map_center.lon)}
                    zoom={config.map_zoom}
                    tile_url={config.tile_url.clone()}
                    tile_attribution={config.tile_attribution.clone()}
                    label="Route map"
                />
            </main>
        </div>
    }
}
