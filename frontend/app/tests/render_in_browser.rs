//! Runs in real Chromium through wasm-bindgen-test: the app's routes and its
//! rendering, without a server.
#![cfg(target_arch = "wasm32")]

use doorstep_app::{App, Route};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use yew_router::Routable;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn routes_recognise_the_three_faces_of_the_app() {
    assert_eq!(Route::recognize("/"), Some(Route::Dispatcher));
    assert_eq!(Route::recognize("/driver"), Some(Route::Driver));
    assert_eq!(Route::recognize("/login"), Some(Route::Login));
    // The customer tracking page is its own bundle (frontend/track), not a route of this app.
    assert_eq!(Route::recognize("/t/abc123"), Some(Route::NotFound));
    assert_eq!(Route::recognize("/no/such/page"), Some(Route::NotFound));
}

#[wasm_bindgen_test]
async fn app_renders_the_driver_face_with_a_map_container_at_slash_driver() {
    let window = web_sys::window().expect("window");
    // The router reads the real URL, so put the page on the driver route first.
    window
        .history()
        .expect("history")
        .push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("/driver"))
        .expect("pushState");
    let document = window.document().expect("document");
    let root = document.create_element("div").expect("div");
    document.body().expect("body").append_child(&root).expect("append");
    yew::Renderer::<App>::with_root(root.clone()).render();
    // Let Yew's scheduler run.
    yew::platform::time::sleep(std::time::Duration::from_millis(50)).await;
    let heading = root.query_selector("h1").expect("query").expect("an h1");
    assert_eq!(heading.text_content().as_deref(), Some("Doorstep Driver"));
    assert!(root.query_selector("[data-testid=map]").expect("query").is_some(), "map container rendered");
}
