//! Bindings to `kit.js` (IndexedDB, photos, hashing, upload, geolocation,
//! Background Sync). See that file for why these are JS.

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/driver/kit.js")]
extern "C" {
    #[wasm_bindgen(js_name = kvGet)]
    pub fn kv_get(key: &str) -> Promise;
    #[wasm_bindgen(js_name = kvPut)]
    pub fn kv_put(key: &str, value: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = kvReserve)]
    pub fn kv_reserve(key: &str, count: f64) -> Promise;
    #[wasm_bindgen(js_name = queueAdd)]
    pub fn queue_add(json: &str, blob_keys: &Array, blobs: &Array) -> Promise;
    #[wasm_bindgen(js_name = queuePut)]
    pub fn queue_put(id: f64, json: &str) -> Promise;
    #[wasm_bindgen(js_name = queueDelete)]
    pub fn queue_delete(ids: &Array, blob_keys: &Array) -> Promise;
    #[wasm_bindgen(js_name = queueAll)]
    pub fn queue_all() -> Promise;
    #[wasm_bindgen(js_name = blobGet)]
    pub fn blob_get(key: &str) -> Promise;
    #[wasm_bindgen(js_name = resizePhoto)]
    pub fn resize_photo(file: &JsValue, max_px: f64, quality: f64) -> Promise;
    #[wasm_bindgen(js_name = sha256Hex)]
    pub fn sha256_hex(blob: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = uploadMultipart)]
    pub fn upload_multipart(url: &str, fields: &JsValue, blob: &JsValue, file_name: &str, token: &str) -> Promise;
    #[wasm_bindgen(js_name = watchPosition)]
    pub fn watch_position(on_position: &Closure<dyn FnMut(f64, f64, f64, JsValue, JsValue, f64)>, on_error: &Closure<dyn FnMut(String)>) -> i32;
    #[wasm_bindgen(js_name = clearWatch)]
    pub fn clear_watch(id: i32);
    #[wasm_bindgen(js_name = batteryPercent)]
    pub fn battery_percent() -> Promise;
    #[wasm_bindgen(js_name = registerServiceWorker)]
    pub fn register_service_worker();
    #[wasm_bindgen(js_name = requestBackgroundSync)]
    pub fn request_background_sync() -> Promise;
    #[wasm_bindgen(js_name = onDrainRequest)]
    pub fn on_drain_request(drain: &Closure<dyn FnMut() -> Promise>);
    #[wasm_bindgen(js_name = hasBarcodeDetector)]
    pub fn has_barcode_detector() -> bool;
    #[wasm_bindgen(js_name = detectBarcode)]
    pub fn detect_barcode(file: &JsValue) -> Promise;
}

/// Awaits a kit promise, turning a JS rejection into its message.
pub async fn wait(promise: Promise) -> Result<JsValue, String> {
    wasm_bindgen_futures::JsFuture::from(promise).await.map_err(|e| {
        e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).or_else(|| e.as_string()).unwrap_or_else(|| format!("{e:?}"))
    })
}
