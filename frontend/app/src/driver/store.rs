//! The driver app's durable state in IndexedDB (through `kit.js`): the
//! session, the last fetched route with local progress, the queue, the next
//! ping sequence number.

use std::collections::BTreeMap;

use doorstep_domain::auth::TokenResponse;
use doorstep_domain::dispatch::DriverRoute;
use js_sys::Array;
use serde::{Deserialize, Serialize};
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use wasm_bindgen::JsValue;

use super::kit::{self, wait};
use super::queue::{Action, Item};

const SESSION: &str = "session";
const ROUTE: &str = "route";
const PING_SEQ: &str = "ping-seq";
const SETTINGS: &str = "settings";

/// What the driver did at a stop, as this device knows it (before or after
/// the server heard of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopProgress {
    Arrived,
    Delivered,
    Failed,
}

/// The route as last fetched, with what was done on this device since.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedRoute {
    pub route: DriverRoute,
    #[serde(default)]
    pub progress: BTreeMap<String, StopProgress>,
    #[serde(default)]
    pub started: bool,
    pub fetched_at_ms: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Arrival is recorded automatically within this distance of the stop.
    pub geofence_radius_m: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self { geofence_radius_m: 75.0 }
    }
}

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

pub fn to_time(ms: f64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos((ms as i128) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A fresh idempotency key (random UUID from the browser's CSPRNG).
pub fn new_key() -> String {
    web_sys::window().and_then(|w| w.crypto().ok()).map(|c| c.random_uuid()).unwrap_or_else(|| format!("k{}-{}", now_ms(), js_sys::Math::random()))
}

async fn get_json<T: DeserializeOwned>(key: &str) -> Option<T> {
    let value = wait(kit::kv_get(key)).await.ok()?;
    serde_json::from_str(&value.as_string()?).ok()
}

async fn put_json<T: Serialize>(key: &str, value: &T) -> Result<(), String> {
    let json = serde_json::to_string(value).map_err(|e| e.to_string())?;
    wait(kit::kv_put(key, &JsValue::from_str(&json))).await.map(|_| ())
}

pub async fn load_session() -> Option<TokenResponse> {
    get_json(SESSION).await
}

pub async fn save_session(session: &TokenResponse) -> Result<(), String> {
    put_json(SESSION, session).await
}

pub async fn load_route() -> Option<SavedRoute> {
    get_json(ROUTE).await
}

pub async fn save_route(route: &SavedRoute) -> Result<(), String> {
    put_json(ROUTE, route).await
}

pub async fn load_settings() -> Settings {
    get_json(SETTINGS).await.unwrap_or_default()
}

pub async fn save_settings(settings: &Settings) -> Result<(), String> {
    put_json(SETTINGS, settings).await
}

/// Reserves `count` ping sequence numbers; returns the first. Persisted
/// before use, so a number is never used twice, even across reloads.
pub async fn reserve_ping_seqs(count: u64) -> Result<u64, String> {
    let first = wait(kit::kv_reserve(PING_SEQ, count as f64)).await?;
    first.as_f64().map(|f| f as u64).ok_or_else(|| "bad ping sequence counter".to_owned())
}

/// Writes the action (and its photo blobs) to the queue; only once this
/// returns may the UI say it is done.
pub async fn enqueue(action: Action, blobs: Vec<(String, JsValue)>) -> Result<u64, String> {
    enqueue_keyed(new_key(), action, blobs).await
}

/// [`enqueue`] under a key already used online (a request whose answer was
/// lost), so the server replays it rather than acting twice.
pub async fn enqueue_keyed(key: String, action: Action, blobs: Vec<(String, JsValue)>) -> Result<u64, String> {
    let item = Item::new(key, now_ms(), action);
    let json = serde_json::to_string(&item).map_err(|e| e.to_string())?;
    let keys: Array = blobs.iter().map(|(k, _)| JsValue::from_str(k)).collect();
    let values: Array = blobs.into_iter().map(|(_, b)| b).collect();
    let id = wait(kit::queue_add(&json, &keys, &values)).await?;
    super::sync::kick();
    id.as_f64().map(|f| f as u64).ok_or_else(|| "bad queue id".to_owned())
}

/// Every queued item, oldest first. Unreadable entries (none are expected)
/// are skipped rather than blocking the queue.
pub async fn queue_items() -> Result<Vec<(u64, Item)>, String> {
    let all: Array = wait(kit::queue_all()).await?.into();
    Ok(all
        .iter()
        .filter_map(|pair| {
            let pair: Array = pair.into();
            let id = pair.get(0).as_f64()? as u64;
            let item = serde_json::from_str(&pair.get(1).as_string()?).ok()?;
            Some((id, item))
        })
        .collect())
}

pub async fn update_item(id: u64, item: &Item) -> Result<(), String> {
    let json = serde_json::to_string(item).map_err(|e| e.to_string())?;
    wait(kit::queue_put(id as f64, &json)).await.map(|_| ())
}

pub async fn delete_items(ids: &[u64], blob_keys: &[String]) -> Result<(), String> {
    let ids: Array = ids.iter().map(|id| JsValue::from_f64(*id as f64)).collect();
    let keys: Array = blob_keys.iter().map(|k| JsValue::from_str(k)).collect();
    wait(kit::queue_delete(&ids, &keys)).await.map(|_| ())
}
