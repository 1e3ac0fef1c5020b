//! Drains the queue: in order, one request at a time, while online; waits out
//! the backoff with one timer (no polling); starts again on `online`, on a
//! Background Sync wake-up from the service worker, and after every enqueue.

use std::cell::RefCell;

use doorstep_domain::api::ApiError;
use doorstep_domain::pod::{PhotoRef, UploadRequest, UploadTicket};
use gloo_net::http::Request;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use yew::Callback;

use super::kit::{self, wait};
use super::queue::{Action, Item, Next, Outcome, Summary, apply_outcome, classify, merge_pings, next_step};
use super::store;

#[derive(Default)]
struct Engine {
    running: bool,
    again: bool,
    timer: Option<i32>,
    token: Option<String>,
    listener: Option<Callback<Summary>>,
    last: Summary,
    installed: bool,
}

thread_local! {
    static ENGINE: RefCell<Engine> = RefCell::new(Engine::default());
}

fn online() -> bool {
    web_sys::window().map(|w| w.navigator().on_line()).unwrap_or(true)
}

fn publish(summary: Summary) {
    let listener = ENGINE.with(|e| {
        let mut e = e.borrow_mut();
        e.last = summary.clone();
        e.listener.clone()
    });
    if let Some(l) = listener {
        l.emit(summary);
    }
}

/// Starts the engine for a signed-in driver: listens to `online`/`offline`
/// and to the service worker's Background Sync wake-ups, then drains.
pub fn start(token: String, listener: Callback<Summary>) {
    let first = ENGINE.with(|e| {
        let mut e = e.borrow_mut();
        e.token = Some(token);
        e.listener = Some(listener);
        !std::mem::replace(&mut e.installed, true)
    });
    if first && let Some(window) = web_sys::window() {
        let on_online = Closure::<dyn FnMut()>::new(kick);
        let on_offline = Closure::<dyn FnMut()>::new(|| {
            let last = ENGINE.with(|e| e.borrow().last.clone());
            publish(Summary { online: false, syncing: false, ..last });
        });
        let _ = window.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
        let _ = window.add_event_listener_with_callback("offline", on_offline.as_ref().unchecked_ref());
        on_online.forget();
        on_offline.forget();
        let drain = Closure::<dyn FnMut() -> js_sys::Promise>::new(|| wasm_bindgen_futures::future_to_promise(async { Ok(JsValue::from_f64(drain_now().await as f64)) }));
        kit::on_drain_request(&drain);
        drain.forget();
    }
    kick();
}

/// Drains soon (no-op if a drain is running: it goes round once more).
pub fn kick() {
    let start = ENGINE.with(|e| {
        let mut e = e.borrow_mut();
        if let Some(t) = e.timer.take()
            && let Some(w) = web_sys::window()
        {
            w.clear_timeout_with_handle(t);
        }
        if e.running {
            e.again = true;
            false
        } else {
            e.running = true;
            true
        }
    });
    if start {
        wasm_bindgen_futures::spawn_local(run());
    }
}

/// For Background Sync: drains and answers how many items still wait.
pub async fn drain_now() -> usize {
    kick();
    while ENGINE.with(|e| e.borrow().running) {
        gloo_sleep(100).await;
    }
    store::queue_items().await.map(|items| items.iter().filter(|(_, i)| !i.rejected).count()).unwrap_or(usize::MAX)
}

async fn gloo_sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

async fn run() {
    loop {
        ENGINE.with(|e| e.borrow_mut().again = false);
        drain_once().await;
        let again = ENGINE.with(|e| {
            let mut e = e.borrow_mut();
            if !e.again {
                e.running = false;
            }
            e.again
        });
        if !again {
            return;
        }
    }
}

fn schedule(delay_ms: f64) {
    let Some(window) = web_sys::window() else { return };
    let callback = Closure::once_into_js(kick);
    if let Ok(handle) = window.set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), delay_ms.clamp(0.0, 600_000.0) as i32) {
        ENGINE.with(|e| e.borrow_mut().timer = Some(handle));
    }
}

async fn drain_once() {
    loop {
        let Ok(mut items) = store::queue_items().await else { return };
        let token = ENGINE.with(|e| e.borrow().token.clone()).unwrap_or_default();
        if !online() || token.is_empty() {
            publish(Summary::of(&items, online(), false));
            return;
        }
        let now = store::now_ms();
        let ids = match next_step(&items, now) {
            Next::Idle => {
                publish(Summary::of(&items, true, false));
                return;
            }
            Next::WaitUntil(t) => {
                schedule(t - now);
                publish(Summary::of(&items, true, false));
                return;
            }
            Next::Send(ids) => ids,
        };
        publish(Summary::of(&items, true, true));
        let outcome = send(&mut items, &ids, &token).await;
        if outcome != Outcome::Done {
            tracing_warn(&format!("queue item {} not sent: {outcome:?}", ids[0]));
        }
        let delete = apply_outcome(&mut items, &ids, &outcome, store::now_ms());
        if delete.is_empty() {
            for (id, item) in items.iter().filter(|(id, _)| ids.contains(id)) {
                let _ = store::update_item(*id, item).await;
            }
        } else {
            let blobs: Vec<String> = items.iter().filter(|(id, _)| delete.contains(id)).flat_map(|(_, i)| i.action.blob_keys()).collect();
            if store::delete_items(&delete, &blobs).await.is_err() {
                return;
            }
        }
    }
}

fn tracing_warn(message: &str) {
    web_sys::console::warn_1(&JsValue::from_str(message));
}

/// One request: its outcome, and the answer's body when it succeeded.
async fn post<B: Serialize>(path: &str, key: Option<&str>, body: &B, token: &str) -> (Outcome, String) {
    let mut builder = Request::post(path).header("Authorization", &format!("Bearer {token}"));
    if let Some(key) = key {
        builder = builder.header("Idempotency-Key", key);
    }
    let request = match builder.json(body) {
        Ok(r) => r,
        Err(e) => return (Outcome::Rejected(format!("cannot encode: {e}")), String::new()),
    };
    match request.send().await {
        Err(e) => (classify(None, &e.to_string()), String::new()),
        Ok(response) => {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            let message = serde_json::from_str::<ApiError>(&text).map(|e| e.message).unwrap_or_else(|_| text.chars().take(200).collect());
            (classify(Some(status), &message), text)
        }
    }
}

async fn send(items: &mut [(u64, Item)], ids: &[u64], token: &str) -> Outcome {
    let Some(index) = items.iter().position(|(id, _)| *id == ids[0]) else { return Outcome::Retry("item vanished".into()) };
    let key = items[index].1.idempotency_key.clone();
    match items[index].1.action.clone() {
        Action::Pings { .. } => {
            let Some(batch) = merge_pings(items.iter().filter(|(id, _)| ids.contains(id)).map(|(_, i)| i)) else {
                return Outcome::Rejected("bad ping batch".into());
            };
            // No idempotency key: the batch grows while waiting, and the
            // server drops pings whose seq it already has.
            post("/api/pings", None, &batch, token).await.0
        }
        Action::StartRoute { route_id, body } => post(&format!("/api/routes/{route_id}/start"), Some(&key), &body, token).await.0,
        Action::Arrive { stop_id, body } => post(&format!("/api/stops/{stop_id}/arrive"), Some(&key), &body, token).await.0,
        Action::Fail { stop_id, body } => post(&format!("/api/stops/{stop_id}/fail"), Some(&key), &body, token).await.0,
        Action::VerifyOtp { stop_id, body } => post(&format!("/api/stops/{stop_id}/otp"), Some(&key), &body, token).await.0,
        Action::Complete { stop_id, mut body, mut photos } => {
            for i in 0..photos.len() {
                if photos[i].uploaded_key.is_some() {
                    continue;
                }
                let photo = photos[i].clone();
                let request = UploadRequest { order_id: body.pod.order_id.clone(), content_type: photo.content_type.clone(), size_bytes: photo.size_bytes, sha256: photo.sha256.clone() };
                let (outcome, text) = post("/api/pod/uploads", Some(&format!("{key}.photo{i}")), &request, token).await;
                if outcome != Outcome::Done {
                    return outcome;
                }
                let Ok(ticket) = serde_json::from_str::<UploadTicket>(&text) else { return Outcome::Retry("unexpected upload ticket".into()) };
                let blob = match wait(kit::blob_get(&photo.local_key)).await {
                    Ok(b) if !b.is_null() => b,
                    _ => return Outcome::Rejected("the photo is no longer on this device".into()),
                };
                let fields = serde_wasm_fields(&ticket.fields);
                let status = match wait(kit::upload_multipart(&ticket.url, &fields, &blob, &format!("photo-{i}.jpg"), token)).await {
                    Ok(s) => s.as_f64().map(|s| s as u16),
                    Err(_) => None,
                };
                let outcome = classify(status, "photo upload");
                if outcome != Outcome::Done {
                    return outcome;
                }
                // Remember the acknowledged upload so a retry does not repeat it.
                photos[i].uploaded_key = Some(ticket.blob_key);
                items[index].1.action = Action::Complete { stop_id: stop_id.clone(), body: body.clone(), photos: photos.clone() };
                let _ = store::update_item(items[index].0, &items[index].1).await;
            }
            body.pod.photos = photos
                .iter()
                .map(|p| PhotoRef { blob_key: p.uploaded_key.clone().unwrap_or_default(), sha256: p.sha256.clone(), content_type: p.content_type.clone(), size_bytes: p.size_bytes })
                .collect();
            post(&format!("/api/stops/{stop_id}/complete"), Some(&key), &body, token).await.0
        }
    }
}

fn serde_wasm_fields(fields: &std::collections::BTreeMap<String, String>) -> JsValue {
    let object = js_sys::Object::new();
    for (k, v) in fields {
        let _ = js_sys::Reflect::set(&object, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    object.into()
}

/// The last summary published (for a page that mounts later).
pub fn last_summary() -> Summary {
    ENGINE.with(|e| e.borrow().last.clone())
}
