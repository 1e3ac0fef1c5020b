use yew::prelude::*;

use crate::components::MapView;
use crate::services::config::use_client_config;

#[derive(Properties, Clone, Debug, PartialEq)]
pub struct TrackingPageProps {
    pub token: String,
}

#[function_component(TrackingPage)]
pub fn tracking_page(props: &TrackingPageProps) -> Html {
    let config = use_client_config();
    html! {
        <div class="layout layout-tracking">
            <header class="topbar">
                <h1>{"Your delivery"}</h1>
            </header>
            <main class="workspace" data-page="tracking" data-token={props.token.clone()}>
                <MapView
                    center={(config.map_center.lat, config.map_center.lon)}
                    zoom={config.map_zoom}
                    tile_url={config.tile_url.clone()}
                    tile_attribution={config.tile_attribution.clone()}
                    label="Delivery map"
                />
            </main>
        </div>
    }
}
