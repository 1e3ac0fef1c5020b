use yew::prelude::*;

use crate::components::{MapMarker, MapView};
use crate::services::config::use_client_config;

#[function_component(DispatcherPage)]
pub fn dispatcher_page() -> Html {
    let config = use_client_config();
    let markers: Vec<MapMarker> = config
        .depots
        .iter()
        .map(|d| MapMarker { lat: d.lat, lon: d.lon, label: d.name.clone() })
        .collect();
    html! {
        <div class="layout layout-dispatcher">
            <header class="topbar">
                <h1>{"Doorstep"}</h1>
                <span class="topbar-subtitle">{ config.org_name.clone().unwrap_or_else(|| "Dispatch".into()) }</span>
            </header>
            <main class="workspace" data-page="dispatcher">
                <aside class="sidebar" aria-label="Plan">
                    <h2>{"Today"}</h2>
                    <p>{ format!("{} depot(s) set up", config.depots.len()) }</p>
                </aside>
                <MapView
                    center={(config.map_center.lat, config.map_center.lon)}
                    zoom={config.map_zoom}
                    tile_url={config.tile_url.clone()}
                    tile_attribution={config.tile_attribution.clone()}
                    {markers}
                    label="Dispatch map"
                />
            </main>
        </div>
    }
}
