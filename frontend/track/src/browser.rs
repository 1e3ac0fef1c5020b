//! The few browser calls the page needs, with their clean-up tied to Drop.

use wasm_bindgen::JsCast as _;
use wasm_bindgen::closure::Closure;

pub fn pathname() -> Option<String> {
    web_sys::window()?.location().pathname().ok()
}

#[cfg(target_arch = "wasm32")]
pub fn element_by_id(id: &str) -> Option<web_sys::Element> {
    web_sys::window()?.document()?.get_element_by_id(id)
}

/// Whether the tab is in the background (no polling then).
pub fn hidden() -> bool {
    web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden())
}

/// A local time such as "10:35" in the phone's own time zone and language.
pub fn clock_time(at: time::OffsetDateTime) -> String {
    let ms = (at.unix_timestamp_nanos() / 1_000_000) as f64;
    let date = js_sys::Date::new(&ms.into());
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"hour".into(), &"2-digit".into());
    let _ = js_sys::Reflect::set(&options, &"minute".into(), &"2-digit".into());
    date.to_locale_time_string_with_options("default", &options).into()
}

/// A day and time such as "Mon 3 Mar, 10:35".
pub fn day_time(at: time::OffsetDateTime) -> String {
    let ms = (at.unix_timestamp_nanos() / 1_000_000) as f64;
    let date = js_sys::Date::new(&ms.into());
    let options = js_sys::Object::new();
    for (k, v) in [("weekday", "short"), ("day", "numeric"), ("month", "short"), ("hour", "2-digit"), ("minute", "2-digit")] {
        let _ = js_sys::Reflect::set(&options, &k.into(), &v.into());
    }
    date.to_locale_string("default", &options).into()
}

/// `setInterval`, cleared on drop.
pub struct Interval {
    id: i32,
    _callback: Closure<dyn FnMut()>,
}

impl Interval {
    pub fn new(ms: u32, f: impl FnMut() + 'static) -> Self {
        let callback = Closure::<dyn FnMut()>::new(f);
        let id = web_sys::window()
            .and_then(|w| {
                w.set_interval_with_callback_and_timeout_and_arguments_0(callback.as_ref().unchecked_ref(), ms as i32)
                    .ok()
            })
            .unwrap_or(-1);
        Self { id, _callback: callback }
    }
}

impl Drop for Interval {
    fn drop(&mut self) {
        if let Some(w) = web_sys::window() {
            w.clear_interval_with_handle(self.id);
        }
    }
}

/// An event listener on the document, removed on drop.
pub struct Listener {
    event: &'static str,
    callback: Closure<dyn FnMut()>,
}

impl Listener {
    pub fn on_document(event: &'static str, f: impl FnMut() + 'static) -> Self {
        let callback = Closure::<dyn FnMut()>::new(f);
        if let Some(d) = web_sys::window().and_then(|w| w.document()) {
            let _ = d.add_event_listener_with_callback(event, callback.as_ref().unchecked_ref());
        }
        Self { event, callback }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(d) = web_sys::window().and_then(|w| w.document()) {
            let _ = d.remove_event_listener_with_callback(self.event, self.callback.as_ref().unchecked_ref());
        }
    }
}
