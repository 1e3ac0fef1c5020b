use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::routing::get;
use axum::{Json, Router};
use doorstep_domain::api::{ClientConfig, DepotPin, MapPoint};

use crate::extract::Caller;
use crate::{AppState, HttpError};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/config", get(get_config))
}

/// What the browser needs before anything else: tiles and where to centre the map.
///
/// A signed-in caller gets their organisation. An anonymous one gets the
/// organisation only when the store holds exactly one (a self-hosted
/// business, whose depot pins are its public addresses); with several
/// tenants it gets the world map and no names.
#[utoipa::path(get, path = "/api/config", tag = "meta",
    responses((status = 200, description = "What the browser needs first: tiles, map centre, sign-in mode", body = ClientConfig), crate::openapi::Errors))]
pub async fn get_config(State(state): State<AppState>, request: Request) -> Result<Json<ClientConfig>, HttpError> {
    let (mut parts, _) = request.into_parts();
    let signed_in = parts.headers.contains_key(header::AUTHORIZATION) || parts.headers.contains_key("x-api-key");
    let org = if signed_in {
        Some(Caller::from_request_parts(&mut parts, &state).await?.0.org)
    } else {
        let orgs = state.store.list_organisations().await?;
        match orgs.as_slice() {
            [only] => Some(only.id.clone()),
            _ => None,
        }
    };
    let mut config = ClientConfig {
        tile_url: state.client.tile_url.clone(),
        tile_attribution: state.client.tile_attribution.clone(),
        auth: state.client.auth.clone(),
        ..ClientConfig::default()
    };
    if let Some(org) = org {
        let organisation = state.store.organisation(&org).await?;
        config.org_name = Some(organisation.name.clone());
        // The org's own tiles (set on /setup) win over the server's default.
        if organisation.settings.tile_url != doorstep_domain::org::DEFAULT_TILE_URL {
            config.tile_url = organisation.settings.tile_url.clone();
            config.tile_attribution = organisation.settings.tile_attribution.clone();
        }
        config.depots = state
            .store
            .list_depots(&org)
            .await?
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
