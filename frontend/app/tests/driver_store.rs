//! The driver app's durable queue on real IndexedDB in Chromium: order,
//! photo blobs kept until deletion, and ping sequence numbers that never repeat.
#![cfg(target_arch = "wasm32")]

use doorstep_app::driver::kit::{self, wait};
use doorstep_app::driver::queue::{Action, Next, next_step};
use doorstep_app::driver::store;
use doorstep_domain::pod::ArriveAtStop;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn arrive(stop: &str) -> Action {
    let body = ArriveAtStop { plan_id: "pln_1".parse().unwrap(), device_time: store::to_time(store::now_ms()), geotag: None };
    Action::Arrive { stop_id: stop.into(), body }
}

#[wasm_bindgen_test]
async fn queued_items_keep_their_order_and_blobs_until_deleted() {
    let existing = store::queue_items().await.unwrap().len();
    let blob = web_sys::Blob::new_with_u8_array_sequence(&js_sys::Array::of1(&js_sys::Uint8Array::from(&b"jpeg bytes"[..]))).unwrap();
    let first = store::enqueue(arrive("stp_a"), vec![("photo-a".into(), JsValue::from(blob))]).await.unwrap();
    let second = store::enqueue(arrive("stp_b"), Vec::new()).await.unwrap();
    assert!(second > first, "ids grow with time: {first} then {second}");

    let items = store::queue_items().await.unwrap();
    assert_eq!(items.len(), existing + 2);
    let mine: Vec<_> = items.iter().filter(|(id, _)| *id == first || *id == second).collect();
    assert!(matches!(&mine[0].1.action, Action::Arrive { stop_id, .. } if stop_id == "stp_a"));
    assert_ne!(mine[0].1.idempotency_key, mine[1].1.idempotency_key);
    assert_eq!(next_step(&items[existing..], store::now_ms()), Next::Send(vec![first]));
    assert!(!wait(kit::blob_get("photo-a")).await.unwrap().is_null(), "the photo is kept with its item");

    store::delete_items(&[first, second], &["photo-a".into()]).await.unwrap();
    assert_eq!(store::queue_items().await.unwrap().len(), existing);
    assert!(wait(kit::blob_get("photo-a")).await.unwrap().is_null(), "the photo goes with its acknowledged item");
}

#[wasm_bindgen_test]
async fn ping_sequence_numbers_are_reserved_durably_and_never_repeat() {
    let a = store::reserve_ping_seqs(1).await.unwrap();
    let b = store::reserve_ping_seqs(3).await.unwrap();
    let c = store::reserve_ping_seqs(1).await.unwrap();
    assert_eq!((b, c), (a + 1, a + 4));
}
