use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use doorstep_domain::api::{ClientConfig, DepotPin, MapPoint};

use crate::{AppState, HttpError};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/config", get(get_config))
}

/// What the browser needs before anything else: tiles and where to centre the map.
async fn get_config(State(state): State<AppState>) -> Result<Json<ClientConfig>, HttpError> {
    let mut config = ClientConfig {
        tile_url: state.client.tile_url.clone(),
        tile_attribution: state.client.tile_attribution.clone(),
        ..ClientConfig::default()
    };
    // Until sign-in exists the single local organisation is the one shown.
    if let Some(org) = state.store.list_organisations().await?.into_iter().next() {
        let business = state.store.business(&org.id).await?;
        config.org_name = Some(org.name.clone());
        config.depots = business
            .depots
            .iter()
            .map(|d| DepotPin { name: d.name.clone(), lat: d.location.lat, lon: d.location.lon })
            .collect();
        if let Some(first) = config.depots.first() {
            config.map_center = MapPoint { lat: first.lat, lon: first.lon };
            config.map_zoom = 13.0;
        }
    }
    Ok(Json(config))
}
