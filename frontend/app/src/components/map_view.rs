use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Reflect};
use leaflet::{
    CircleMarker, Icon, LatLng, LatLngBounds, Layer, Map, MapOptions, Marker, MarkerOptions, Polyline, PolylineOptions,
    TileLayer, TileLayerOptions, Tooltip, TooltipOptions,
};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast as _, JsValue};
use web_sys::HtmlElement;
use yew::prelude::*;

#[derive(Clone, Debug, PartialEq)]
pub struct MapMarker {
    pub lat: f64,
    pub lon: f64,
    pub label: String,
}

/// A small circle, e.g. an order not (yet) on a route.
#[derive(Clone, Debug, PartialEq)]
pub struct MapDot {
    pub lat: f64,
    pub lon: f64,
    pub label: String,
    pub color: String,
}

/// One stop of a drawn route; `number` is its 1-based position.
#[derive(Clone, Debug, PartialEq)]
pub struct MapStop {
    pub lat: f64,
    pub lon: f64,
    pub number: usize,
    pub label: String,
}

/// A route drawn as a coloured line through its numbered stops.
#[derive(Clone, Debug, PartialEq)]
pub struct MapRoute {
    pub color: String,
    /// The whole path, start and end included.
    pub path: Vec<(f64, f64)>,
    pub stops: Vec<MapStop>,
}

#[derive(Properties, Clone, Debug, PartialEq)]
pub struct MapViewProps {
    pub center: (f64, f64),
    pub zoom: f64,
    pub tile_url: AttrValue,
    pub tile_attribution: AttrValue,
    #[prop_or_default]
    pub markers: Vec<MapMarker>,
    #[prop_or_default]
    pub dots: Vec<MapDot>,
    #[prop_or_default]
    pub routes: Vec<MapRoute>,
    /// Accessible name of the map region.
    pub label: AttrValue,
    /// Called with `(lat, lon)` when the map is clicked (e.g. to pin an address).
    #[prop_or_default]
    pub on_click: Option<Callback<(f64, f64)>>,
    /// False while `center` and `zoom` are placeholders (settings still
    /// loading): the map waits rather than drawing its tiles twice.
    #[prop_or(true)]
    pub view_known: bool,
}

struct MapState {
    map: Map,
    tiles: TileLayer,
    markers: Vec<Marker>,
    overlays: Vec<Layer>,
}

// Leaflet is fetched when the first map mounts, not with the page: the
// sign-in form and the tables never pay for its download and start-up.
#[wasm_bindgen(inline_js = r#"
let loading;
export function load_leaflet() {
  if (globalThis.L) return Promise.resolve();
  loading ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/vendor/leaflet/leaflet.js";
    script.onload = resolve;
    script.onerror = () => {
      loading = undefined;
      script.remove();
      reject(new Error("Leaflet could not be loaded"));
    };
    document.head.append(script);
  });
  return loading;
}
"#)]
extern "C" {
    fn load_leaflet() -> js_sys::Promise;
}

/// Where the map's script stands.
#[derive(Clone, Copy, PartialEq)]
enum Leaflet {
    Loading,
    Ready,
    Failed,
}

fn tooltip(layer: &Layer, text: &str) {
    // The crate's `bind_tooltip_with_content` calls a method Leaflet lacks.
    let tooltip = Tooltip::new(&TooltipOptions::default(), None);
    tooltip.set_content(&text.into());
    layer.bind_tooltip(&tooltip);
}

/// `L.divIcon(...)`: the crate binds `DivIcon` to `L.Icon`, which needs an image.
fn number_icon(number: usize, color: &str) -> Option<Icon> {
    let l = Reflect::get(&js_sys::global(), &JsValue::from_str("L")).ok()?;
    let factory: Function = Reflect::get(&l, &JsValue::from_str("divIcon")).ok()?.dyn_into().ok()?;
    let options = Object::new();
    let html = format!("<span style=\"background:{color}\">{number}</span>");
    Reflect::set(&options, &"html".into(), &html.into()).ok()?;
    Reflect::set(&options, &"className".into(), &"stop-number".into()).ok()?;
    Reflect::set(&options, &"iconSize".into(), &Array::of2(&22.into(), &22.into())).ok()?;
    factory.call1(&l, &options).ok()?.dyn_into().ok()
}

fn draw_overlays(map: &Map, dots: &[MapDot], routes: &[MapRoute]) -> Vec<Layer> {
    // The container may have been resized by the layout (e.g. the orders table
    // appearing); Leaflet only learns of it here, before fitting bounds.
    map.invalidate_size(false);
    let mut layers: Vec<Layer> = Vec::new();
    for dot in dots {
        let options = Object::new();
        for (k, v) in [("radius", JsValue::from(5.0)), ("color", JsValue::from_str(&dot.color)), ("weight", JsValue::from(2.0)), ("fillOpacity", JsValue::from(0.6))] {
            let _ = Reflect::set(&options, &k.into(), &v);
        }
        let c = CircleMarker::new_with_options(&LatLng::new(dot.lat, dot.lon), &options);
        let layer: Layer = c.unchecked_into();
        tooltip(&layer, &dot.label);
        layer.add_to(map);
        layers.push(layer);
    }
    let mut bounds: Vec<(f64, f64)> = Vec::new();
    for route in routes {
        let points: Array = route.path.iter().map(|(lat, lon)| JsValue::from(LatLng::new(*lat, *lon))).collect();
        let options = PolylineOptions::default();
        options.set_color(route.color.clone());
        options.set_weight(4.0);
        options.set_opacity(0.85);
        let line: Layer = Polyline::new_with_options(&points, &options).unchecked_into();
        line.add_to(map);
        layers.push(line);
        bounds.extend(route.path.iter().copied());
        for stop in &route.stops {
            let options = MarkerOptions::default();
            options.set_title(stop.label.clone());
            options.set_alt(stop.label.clone());
            if let Some(icon) = number_icon(stop.number, &route.color) {
                options.set_icon(icon);
            }
            let marker: Layer = Marker::new_with_options(&LatLng::new(stop.lat, stop.lon), &options).unchecked_into();
            tooltip(&marker, &stop.label);
            marker.add_to(map);
            layers.push(marker);
        }
    }
    if !bounds.is_empty() {
        let corners: Array = bounds.iter().map(|(lat, lon)| JsValue::from(LatLng::new(*lat, *lon))).collect();
        map.fit_bounds(&LatLngBounds::new_from_list(&corners));
    }
    layers
}

/// A Leaflet map that owns its DOM node; Leaflet is created once and updated
/// in place when props change.
#[function_component(MapView)]
pub fn map_view(props: &MapViewProps) -> Html {
    let node = use_node_ref();
    let state: Rc<RefCell<Option<MapState>>> = use_mut_ref(|| None);
    // The latest `on_click`, read by the one listener Leaflet holds.
    let on_click: Rc<RefCell<Option<Callback<(f64, f64)>>>> = use_mut_ref(|| None);
    *on_click.borrow_mut() = props.on_click.clone();
    let leaflet = use_state(|| Leaflet::Loading);
    {
        let leaflet = leaflet.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let loaded = wasm_bindgen_futures::JsFuture::from(load_leaflet()).await;
                leaflet.set(if loaded.is_ok() { Leaflet::Ready } else { Leaflet::Failed });
            });
        });
    }
    // Every effect below waits for the script; `ready` re-runs them once it is in.
    let ready = *leaflet == Leaflet::Ready && props.view_known;

    {
        let node = node.clone();
        let state = state.clone();
        let tile_url = props.tile_url.clone();
        let attribution = props.tile_attribution.clone();
        use_effect_with((tile_url, ready), move |(tile_url, ready)| {
            if !*ready {
                return;
            }
            let mut slot = state.borrow_mut();
            match slot.as_mut() {
                Some(existing) => {
                    existing.tiles.set_url(tile_url, None);
                }
                None => {
                    if let Some(element) = node.cast::<HtmlElement>()
                        && let Ok(map) = Map::new_with_element(&element, &MapOptions::default())
                    {
                        let options = TileLayerOptions::default();
                        options.set_attribution(attribution.to_string());
                        options.set_max_zoom(19.0);
                        let tiles = TileLayer::new_options(tile_url, &options);
                        tiles.add_to(&map);
                        *slot = Some(MapState { map, tiles, markers: Vec::new(), overlays: Vec::new() });
                    }
                }
            }
        });
    }
    {
        let state = state.clone();
        use_effect_with((props.center, props.zoom, ready), move |(center, zoom, _)| {
            if let Some(existing) = state.borrow().as_ref() {
                existing.map.set_view(&LatLng::new(center.0, center.1), *zoom);
            }
            || ()
        });
    }
    {
        let state = state.clone();
        use_effect_with((props.markers.clone(), ready), move |(markers, _)| {
            if let Some(existing) = state.borrow_mut().as_mut() {
                for old in existing.markers.drain(..) {
                    old.remove();
                }
                for marker in markers {
                    let options = MarkerOptions::default();
                    // Title and alt make the marker readable by screen readers.
                    options.set_title(marker.label.clone());
                    options.set_alt(marker.label.clone());
                    let m = Marker::new_with_options(&LatLng::new(marker.lat, marker.lon), &options);
                    tooltip(&m, &marker.label);
                    m.add_to(&existing.map);
                    existing.markers.push(m);
                }
            }
            || ()
        });
    }
    {
        let state = state.clone();
        use_effect_with((props.dots.clone(), props.routes.clone(), ready), move |(dots, routes, _)| {
            if let Some(existing) = state.borrow_mut().as_mut() {
                for old in existing.overlays.drain(..) {
                    old.remove();
                }
                existing.overlays = draw_overlays(&existing.map, dots, routes);
            }
            || ()
        });
    }
    {
        // Registered once, after the map exists; without `on_click` it does nothing.
        let (state, on_click) = (state.clone(), on_click.clone());
        use_effect_with(ready, move |_| {
            let listener = Closure::<dyn Fn(JsValue)>::new(move |event: JsValue| {
                let Some(callback) = on_click.borrow().clone() else { return };
                let at = Reflect::get(&event, &"latlng".into()).ok();
                let coord = |k: &str| at.as_ref().and_then(|p| Reflect::get(p, &k.into()).ok()).and_then(|v| v.as_f64());
                if let (Some(lat), Some(lon)) = (coord("lat"), coord("lng")) {
                    callback.emit((lat, lon));
                }
            });
            if let Some(existing) = state.borrow().as_ref()
                && let Ok(on) = Reflect::get(existing.map.as_ref(), &"on".into()).and_then(|f| f.dyn_into::<Function>())
            {
                let _ = on.call2(existing.map.as_ref(), &"click".into(), listener.as_ref());
            }
            // Dropped on unmount, when the map itself is removed.
            move || drop(listener)
        });
    }
    {
        let state = state.clone();
        use_effect_with((), move |_| {
            move || {
                if let Some(existing) = state.borrow_mut().take() {
                    existing.map.remove();
                }
            }
        });
    }

    html! {
        <div ref={node} class="map" role="region" aria-label={props.label.clone()} data-testid="map">
            if *leaflet == Leaflet::Failed {
                <p class="error map-error" role="alert">{"The map could not be loaded. Check the connection and reload the page."}</p>
            }
        </div>
    }
}
