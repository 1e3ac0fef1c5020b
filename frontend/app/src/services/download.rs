//! Files the app hands to the user: downloads and print views from Blob URLs.

use wasm_bindgen::{JsCast as _, JsValue};

fn blob_url(content: &str, mime: &str) -> Result<String, JsValue> {
    let parts = js_sys::Array::of1(&JsValue::from_str(content));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    web_sys::Url::create_object_url_with_blob(&blob)
}

fn revoke_later(url: String, ms: i32) {
    let Some(window) = web_sys::window() else { return };
    let revoke = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), ms);
}

/// Saves `content` as a file named `filename` through a Blob URL.
pub fn download(filename: &str, mime: &str, content: &str) -> Result<(), JsValue> {
    let url = blob_url(content, mime)?;
    let document = web_sys::window().and_then(|w| w.document()).ok_or_else(|| JsValue::from_str("no document"))?;
    let a: web_sys::HtmlAnchorElement = document.create_element("a")?.dyn_into()?;
    a.set_href(&url);
    a.set_download(filename);
    a.click();
    // Revoking at once makes Chromium cancel the download.
    revoke_later(url, 10_000);
    Ok(())
}

/// Opens an HTML page (e.g. route sheets that print themselves) in a new tab.
pub fn open_for_print(html: &str) -> Result<(), JsValue> {
    let url = blob_url(html, "text/html")?;
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    window.open_with_url_and_target(&url, "_blank")?;
    revoke_later(url, 60_000);
    Ok(())
}
