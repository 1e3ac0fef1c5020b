use std::sync::Arc;

use doorstep_core::{Clock, Store};

/// What the map needs before any organisation is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientSettings {
    pub tile_url: String,
    pub tile_attribution: String,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            tile_url: "https://tile.openstreetmap.org/{z}/{x}/{y}.png".into(),
            tile_attribution: "&copy; <a href=\"https://www.openstreetmap.org/copyright\">OpenStreetMap</a> contributors".into(),
        }
    }
}

/// Shared by every handler. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub client: ClientSettings,
}
