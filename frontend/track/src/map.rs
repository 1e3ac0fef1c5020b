//! The live map of the driver. Leaflet (our vendored copy, never a CDN) is
//! loaded only when this component first mounts, i.e. only while the driver
//! is on the way to this customer, so the first load of the page carries none of it.

use std::cell::RefCell;
use std::rc::Rc;

use doorstep_domain::LatLon;
use js_sys::{Array, Function, Object, Promise, Reflect};
use leaflet::{CircleMarker, Icon, LatLng, LatLngBounds, Layer, Map, MapOptions, Marker, MarkerOptions, TileLayer, TileLayerOptions};
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlElement;
use yew::prelude::*;

const LEAFLET_JS: &str = "/vendor/leaflet/leaflet.js";
const LEAFLET_CSS: &str = "/vendor/leaflet/leaflet.css";
/// A small van; no emoji (phones without an emoji font would show a box).
const DRIVER_SVG: &str = "<svg viewBox=\"0 0 24 24\" width=\"22\" height=\"22\" aria-hidden=\"true\"><path fill=\"#0f766e\" \
    d=\"M2 6h12v10H2zM14 9h4.5l3.5 3.5V16h-8zM8 18a2 2 0 1 1-4 0 2 2 0 0 1 4 0zM20 18a2 2 0 1 1-4 0 2 2 0 0 1 4 0z\"/></svg>";

thread_local! {
    /// One load of Leaflet per page, however often the map mounts.
    static LEAFLET: RefCell<Option<Promise>> = const { RefCell::new(None) };
}

/// Appends `<tag attr=url>` to the head and resolves once it has loaded.
fn load(tag: &str, attrs: &[(&str, &str)]) -> Result<Promise, JsValue> {
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let element: HtmlElement = document.create_element(tag)?.dyn_into()?;
    for (k, v) in attrs {
        element.set_attribute(k, v)?;
    }
    let el = element.clone();
    let promise = Promise::new(&mut move |resolve, reject| {
        el.set_onload(Some(&resolve));
        el.set_onerror(Some(&reject));
    });
    document.head().ok_or("no head")?.append_child(&element)?;
    Ok(promise)
}

/// Starts loading Leaflet (once per page) and resolves when it is ready.
/// JS promises start at once, so the caller can fetch other things meanwhile.
fn leaflet() -> Result<Promise, JsValue> {
    if Reflect::has(&js_sys::global(), &"L".into())? {
        return Ok(Promise::resolve(&JsValue::UNDEFINED));
    }
    LEAFLET.with(|slot| {
        let mut slot = slot.borrow_mut();
        if let Some(p) = slot.as_ref() {
            return Ok(p.clone());
        }
        let css = load("link", &[("rel", "stylesheet"), ("href", LEAFLET_CSS)])?;
        let js = load("script", &[("src", LEAFLET_JS)])?;
        let both = Promise::all(&Array::of2(&css, &js));
        *slot = Some(both.clone());
        Ok(both)
    })
}

/// `L.divIcon(...)`: the crate binds `DivIcon` to `L.Icon`, which needs an image.
fn driver_icon() -> Option<Icon> {
    let l = Reflect::get(&js_sys::global(), &JsValue::from_str("L")).ok()?;
    let factory: Function = Reflect::get(&l, &JsValue::from_str("divIcon")).ok()?.dyn_into().ok()?;
    let options = Object::new();
    Reflect::set(&options, &"html".into(), &DRIVER_SVG.into()).ok()?;
    Reflect::set(&options, &"className".into(), &"driver-marker".into()).ok()?;
    Reflect::set(&options, &"iconSize".into(), &Array::of2(&36.into(), &36.into())).ok()?;
    factory.call1(&l, &options).ok()?.dyn_into().ok()
}

struct Parts {
    map: Map,
    driver: Marker,
    destination: Option<CircleMarker>,
}

#[derive(Properties, Clone, Debug, PartialEq)]
pub struct DriverMapProps {
    pub driver: LatLon,
    pub destination: Option<LatLon>,
    pub label: AttrValue,
}

fn fit(parts: &Parts, driver: LatLon, destination: Option<LatLon>) {
    let here = LatLng::new(driver.lat, driver.lon);
    parts.driver.set_lat_lng(&here);
    match destination {
        Some(d) => {
            let corners = Array::of2(&here.into(), &LatLng::new(d.lat, d.lon).into());
            let padding = Object::new();
            let _ = Reflect::set(&padding, &"padding".into(), &Array::of2(&40.into(), &40.into()));
            let _ = Reflect::set(&padding, &"maxZoom".into(), &16.into());
            parts.map.fit_bounds_with_options(&LatLngBounds::new_from_list(&corners), &padding);
        }
        None => {
            parts.map.set_view(&LatLng::new(driver.lat, driver.lon), 15.0);
        }
    }
}

#[function_component(DriverMap)]
pub fn driver_map(props: &DriverMapProps) -> Html {
    let node = use_node_ref();
    let parts: Rc<RefCell<Option<Parts>>> = use_mut_ref(|| None);
    let failed = use_state(|| false);
    let ready = use_state(|| false);

    {
        let (node, parts, failed, ready) = (node.clone(), parts.clone(), failed.clone(), ready.clone());
        let (driver, destination, label) = (props.driver, props.destination, props.label.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let loading = leaflet();
                let config = crate::api::client_config().await;
                let loaded = match loading {
                    Ok(p) => JsFuture::from(p).await.map(|_| ()),
                    Err(e) => Err(e),
                };
                let Some(element) = node.cast::<HtmlElement>() else { return };
                if loaded.is_err() {
                    failed.set(true);
                    return;
                }
                let Ok(map) = Map::new_with_element(&element, &MapOptions::default()) else {
                    failed.set(true);
                    return;
                };
                let tile_options = TileLayerOptions::default();
                tile_options.set_attribution(config.tile_attribution.clone());
                tile_options.set_max_zoom(19.0);
                TileLayer::new_options(&config.tile_url, &tile_options).add_to(&map);
                let options = MarkerOptions::default();
                options.set_title(label.to_string());
                options.set_alt(label.to_string());
                if let Some(icon) = driver_icon() {
                    options.set_icon(icon);
                }
                let driver_marker = Marker::new_with_options(&LatLng::new(driver.lat, driver.lon), &options);
                driver_marker.add_to(&map);
                let destination_marker = destination.map(|d| {
                    let style = Object::new();
                    for (k, v) in [("radius", JsValue::from(9.0)), ("color", "#0f766e".into()), ("weight", 3.0.into()), ("fillOpacity", 0.35.into())] {
                        let _ = Reflect::set(&style, &k.into(), &v);
                    }
                    let m = CircleMarker::new_with_options(&LatLng::new(d.lat, d.lon), &style);
                    let layer: &Layer = m.unchecked_ref();
                    layer.add_to(&map);
                    m
                });
                let built = Parts { map, driver: driver_marker, destination: destination_marker };
                fit(&built, driver, destination);
                *parts.borrow_mut() = Some(built);
                ready.set(true);
            });
        });
    }
    {
        let parts = parts.clone();
        use_effect_with((props.driver, props.destination, *ready), move |(driver, destination, _)| {
            if let Some(p) = parts.borrow().as_ref() {
                if let (Some(m), Some(d)) = (p.destination.as_ref(), destination) {
                    m.set_lat_lng(&LatLng::new(d.lat, d.lon));
                }
                fit(p, *driver, *destination);
            }
        });
    }
    {
        let parts = parts.clone();
        use_effect_with((), move |_| {
            move || {
                if let Some(p) = parts.borrow_mut().take() {
                    p.map.remove();
                }
            }
        });
    }

    html! {
        <section class="card map-card" aria-labelledby="map-title">
            <h2 id="map-title">{"Live map"}</h2>
            <div ref={node} class="map" role="region" aria-label={props.label.clone()} data-testid="map"
                data-ready={ready.to_string()}></div>
            if *failed {
                <p class="muted">{"The map could not be loaded."}</p>
            }
        </section>
    }
}
