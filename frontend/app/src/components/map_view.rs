use std::cell::RefCell;
use std::rc::Rc;

use leaflet::{LatLng, Map, MapOptions, Marker, MarkerOptions, TileLayer, TileLayerOptions, Tooltip, TooltipOptions};
use web_sys::HtmlElement;
use yew::prelude::*;

#[derive(Clone, Debug, PartialEq)]
pub struct MapMarker {
    pub lat: f64,
    pub lon: f64,
    pub label: String,
}

#[derive(Properties, Clone, Debug, PartialEq)]
pub struct MapViewProps {
    pub center: (f64, f64),
    pub zoom: f64,
    pub tile_url: AttrValue,
    pub tile_attribution: AttrValue,
    #[prop_or_default]
    pub markers: Vec<MapMarker>,
    /// Accessible name of the map region.
    pub label: AttrValue,
}

struct MapState {
    map: Map,
    tiles: TileLayer,
    markers: Vec<Marker>,
}

/// A Leaflet map that owns its DOM node; Leaflet is created once and updated
/// in place when props change.
#[function_component(MapView)]
pub fn map_view(props: &MapViewProps) -> Html {
    let node = use_node_ref();
    let state: Rc<RefCell<Option<MapState>>> = use_mut_ref(|| None);

    {
        let node = node.clone();
        let state = state.clone();
        let tile_url = props.tile_url.clone();
        let attribution = props.tile_attribution.clone();
        use_effect_with(tile_url, move |tile_url| {
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
                        *slot = Some(MapState { map, tiles, markers: Vec::new() });
                    }
                }
            }
            || ()
        });
    }
    {
        let state = state.clone();
        use_effect_with((props.center, props.zoom), move |(center, zoom)| {
            if let Some(existing) = state.borrow().as_ref() {
                existing.map.set_view(&LatLng::new(center.0, center.1), *zoom);
            }
            || ()
        });
    }
    {
        let state = state.clone();
        use_effect_with(props.markers.clone(), move |markers| {
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
                    // The crate's `bind_tooltip_with_content` calls a method Leaflet lacks.
                    let tooltip = Tooltip::new(&TooltipOptions::default(), None);
                    tooltip.set_content(&marker.label.as_str().into());
                    m.bind_tooltip(&tooltip);
                    m.add_to(&existing.map);
                    existing.markers.push(m);
                }
            }
            || ()
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
        <div ref={node} class="map" role="region" aria-label={props.label.clone()} data-testid="map"></div>
    }
}
