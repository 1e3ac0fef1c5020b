//! The driver PWA at `/driver`: sign in with the link or a PIN, today's route
//! as a list and a map, the next stop with contact and navigation, and the
//! status flow (start, arrived, delivered with proof, failed). Every action is
//! written to the durable queue before the screen says it is done, so all of
//! it works offline; `driver::sync` sends the queue when it can.

use std::cell::RefCell;
use std::rc::Rc;

use doorstep_domain::auth::{DriverSignInRequest, TokenResponse};
use doorstep_domain::dispatch::DriverRoute;
use doorstep_domain::ids::{DriverId, OrgId};
use doorstep_domain::lifecycle::{FailureReason, OrderState};
use doorstep_domain::order::{Money, Order};
use doorstep_domain::plan::Stop;
use doorstep_domain::pod::{
    ArriveAtStop, CashCollected, CompleteStop, FailStop, GeoTag, OtpStatus, PaymentMethod, ProofOfDelivery, Signature, StartRoute, VerifyOtp,
};
use doorstep_domain::tracking::TrackingPing;
use gloo_net::http::Request;
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::components::{MapRoute, MapStop, MapView, SignaturePad};
use crate::driver::gps::{self, Fix};
use crate::driver::kit::{self, wait};
use crate::driver::queue::{Action, QueuedPhoto, Summary};
use crate::driver::store::{self, SavedRoute, Settings, StopProgress};
use crate::driver::sync;
use crate::services::api;
use crate::services::config::use_client_config;

/// Longer side of an uploaded photo, and its JPEG quality.
const PHOTO_MAX_PX: f64 = 1600.0;
const PHOTO_QUALITY: f64 = 0.8;

fn local_date() -> String {
    let d = js_sys::Date::new_0();
    format!("{:04}-{:02}-{:02}", d.get_full_year(), d.get_month() + 1, d.get_date())
}

/// `HH:MM` on the device's clock (the driver's own time zone).
fn hhmm(t: time::OffsetDateTime) -> String {
    let d = js_sys::Date::new(&JsValue::from_f64(t.unix_timestamp() as f64 * 1000.0));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

fn money(m: &Money) -> String {
    format!("{}.{:02} {}", m.amount_minor / 100, m.amount_minor % 100, m.currency)
}

/// "12.50" or "12,5" in major units to minor units.
pub fn parse_amount(text: &str) -> Option<u64> {
    let text = text.trim().replace(',', ".");
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty() && frac.is_empty() || frac.len() > 2 || !whole.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let frac: u64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
    whole.checked_mul(100)?.checked_add(frac)
}

/// Deep links that open turn-by-turn navigation to a point.
pub fn navigation_links(lat: f64, lon: f64, label: &str) -> [(&'static str, String); 3] {
    let q = String::from(js_sys::encode_uri_component(label));
    [
        ("Maps app", format!("geo:{lat},{lon}?q={lat},{lon}({q})")),
        ("Google Maps", format!("https://www.google.com/maps/dir/?api=1&destination={lat},{lon}&travelmode=driving")),
        ("Apple Maps", format!("https://maps.apple.com/?daddr={lat},{lon}&dirflg=d")),
    ]
}

/// What the page keeps between renders and shares with its callbacks.
#[derive(Default)]
struct Model {
    session: Option<TokenResponse>,
    saved: Option<SavedRoute>,
    settings: Settings,
    last_fix: Option<Fix>,
    last_recorded: Option<Fix>,
    /// Stops whose arrival is being written (the geofence fires on every fix).
    arriving: Vec<String>,
    watch: Option<(i32, Closure<dyn FnMut(f64, f64, f64, JsValue, JsValue, f64)>, Closure<dyn FnMut(String)>)>,
    route_error: Option<String>,
    loading: bool,
}

type Shared = Rc<RefCell<Model>>;

#[derive(Clone, Copy, PartialEq)]
enum Tab {
    List,
    Map,
}

#[derive(Clone, PartialEq)]
enum Sheet {
    None,
    Deliver(String),
    Fail(String),
}

fn progress_of(saved: &SavedRoute, stop: &Stop) -> Option<StopProgress> {
    if let Some(p) = saved.progress.get(stop.id.as_str()) {
        return Some(*p);
    }
    match saved.route.orders.iter().find(|o| o.id == stop.order_id).map(Order::state) {
        Some(OrderState::Delivered) => Some(StopProgress::Delivered),
        Some(OrderState::Failed | OrderState::Created) => Some(StopProgress::Failed),
        _ => None,
    }
}

fn is_done(p: Option<StopProgress>) -> bool {
    matches!(p, Some(StopProgress::Delivered | StopProgress::Failed))
}

fn sorted_stops(route: &DriverRoute) -> Vec<Stop> {
    let mut stops = route.route.stops.clone();
    stops.sort_by_key(|s| s.sequence);
    stops
}

/// The first stop not yet delivered or failed.
fn next_stop(saved: &SavedRoute) -> Option<Stop> {
    sorted_stops(&saved.route).into_iter().find(|s| !is_done(progress_of(saved, s)))
}

fn order_for<'a>(saved: &'a SavedRoute, stop: &Stop) -> Option<&'a Order> {
    saved.route.orders.iter().find(|o| o.id == stop.order_id)
}

fn geotag(model: &Model) -> Option<GeoTag> {
    model.last_fix.map(|f| GeoTag { lat: f.lat, lon: f.lon, accuracy_m: f.accuracy_m })
}

async fn sign_in(request: &DriverSignInRequest) -> Result<TokenResponse, String> {
    let response = Request::post("/api/auth/driver").json(request).map_err(|e| e.to_string())?.send().await.map_err(|e| format!("the server could not be reached: {e}"))?;
    if response.ok() {
        response.json::<TokenResponse>().await.map_err(|e| e.to_string())
    } else {
        let status = response.status();
        Err(response.json::<doorstep_domain::ApiError>().await.map(|e| e.message).unwrap_or_else(|_| format!("the server answered {status}")))
    }
}

/// Merges a freshly fetched route with what this device did since: local
/// progress wins (the server may not have heard of it yet).
fn merge(previous: Option<SavedRoute>, route: DriverRoute) -> SavedRoute {
    let started_on_server = route.orders.iter().any(|o| !matches!(o.state(), OrderState::Dispatched | OrderState::Planned));
    match previous {
        Some(p) if p.route.route.id == route.route.id => SavedRoute { started: p.started || started_on_server, progress: p.progress, route, fetched_at_ms: store::now_ms() },
        _ => SavedRoute { route, progress: Default::default(), started: started_on_server, fetched_at_ms: store::now_ms() },
    }
}

async fn persist(model: &Shared) {
    let saved = model.borrow().saved.clone();
    if let Some(saved) = saved {
        let _ = store::save_route(&saved).await;
    }
}

/// Queues an action, then records its effect on this device.
async fn act(model: &Shared, action: Action, blobs: Vec<(String, JsValue)>, effect: impl FnOnce(&mut SavedRoute)) -> Result<(), String> {
    store::enqueue(action, blobs).await?;
    wasm_bindgen_futures::spawn_local(async {
        let _ = wait(kit::request_background_sync()).await;
    });
    if let Some(saved) = model.borrow_mut().saved.as_mut() {
        effect(saved);
    }
    persist(model).await;
    Ok(())
}

async fn arrive(model: &Shared, stop: Stop) -> Result<(), String> {
    let (plan_id, tag) = {
        let m = model.borrow();
        let Some(saved) = &m.saved else { return Ok(()) };
        (saved.route.plan_id.clone(), geotag(&m))
    };
    let body = ArriveAtStop { plan_id, device_time: store::to_time(store::now_ms()), geotag: tag };
    let id = stop.id.as_str().to_owned();
    act(model, Action::Arrive { stop_id: id.clone(), body }, Vec::new(), |s| {
        s.progress.insert(id, StopProgress::Arrived);
    })
    .await
}

/// A position fix while the route is active: maybe a ping, maybe an arrival.
fn on_fix(model: &Shared, fix: Fix, rerender: &Callback<()>) {
    let (record, arrival, route_id) = {
        let mut m = model.borrow_mut();
        m.last_fix = Some(fix);
        let record = gps::should_record(m.last_recorded.as_ref(), &fix);
        if record {
            m.last_recorded = Some(fix);
        }
        let radius = m.settings.geofence_radius_m;
        let arrival = m
            .saved
            .as_ref()
            .and_then(|s| next_stop(s).filter(|stop| progress_of(s, stop).is_none()))
            .filter(|stop| !m.arriving.contains(&stop.id.as_str().to_owned()) && gps::inside_geofence(&fix, stop.location, radius));
        if let Some(stop) = &arrival {
            m.arriving.push(stop.id.as_str().to_owned());
        }
        (record, arrival, m.saved.as_ref().map(|s| s.route.route.id.as_str().to_owned()))
    };
    let Some(route_id) = route_id else { return };
    let model = model.clone();
    let rerender = rerender.clone();
    wasm_bindgen_futures::spawn_local(async move {
        if record {
            let battery = wait(kit::battery_percent()).await.ok().and_then(|b| b.as_f64());
            if let Ok(seq) = store::reserve_ping_seqs(1).await {
                let ping = TrackingPing {
                    seq,
                    device_time: store::to_time(fix.at_ms),
                    lat: fix.lat,
                    lon: fix.lon,
                    accuracy_m: fix.accuracy_m,
                    speed_mps: fix.speed_mps.filter(|s| (0.0..=100.0).contains(s)),
                    heading_deg: fix.heading_deg.filter(|h| (0.0..360.0).contains(h)),
                    battery_pct: battery,
                };
                let _ = store::enqueue(Action::Pings { route_id, pings: vec![ping] }, Vec::new()).await;
            }
        }
        if let Some(stop) = arrival {
            let _ = arrive(&model, stop).await;
            rerender.emit(());
        }
    });
}

fn start_watch(model: &Shared, rerender: Callback<()>) {
    if model.borrow().watch.is_some() {
        return;
    }
    let m = model.clone();
    let on_position = Closure::<dyn FnMut(f64, f64, f64, JsValue, JsValue, f64)>::new(move |lat, lon, accuracy, speed: JsValue, heading: JsValue, at| {
        let fix = Fix { lat, lon, accuracy_m: Some(accuracy), speed_mps: speed.as_f64(), heading_deg: heading.as_f64(), at_ms: at };
        on_fix(&m, fix, &rerender);
    });
    let on_error = Closure::<dyn FnMut(String)>::new(|message: String| {
        web_sys::console::warn_1(&format!("position unavailable: {message}").into());
    });
    let id = kit::watch_position(&on_position, &on_error);
    model.borrow_mut().watch = Some((id, on_position, on_error));
}

fn stop_watch(model: &Shared) {
    if let Some((id, _, _)) = model.borrow_mut().watch.take() {
        kit::clear_watch(id);
    }
}

#[function_component(DriverPage)]
pub fn driver_page() -> Html {
    let config = use_client_config();
    let model: Shared = use_mut_ref(|| Model { loading: true, ..Model::default() });
    let update = use_force_update();
    let rerender = {
        let update = update.clone();
        Callback::from(move |_: ()| update.force_update())
    };
    let summary = use_state(sync::last_summary);
    let tab = use_state(|| Tab::List);
    let sheet = use_state(|| Sheet::None);
    let selected = use_state(|| None::<String>);
    let notice = use_state(|| None::<String>);

    let start_session = {
        let (model, rerender, summary) = (model.clone(), rerender.clone(), summary.clone());
        Rc::new(move |session: TokenResponse| {
            let token = session.access_token.clone();
            model.borrow_mut().session = Some(session);
            let listener = {
                let summary = summary.clone();
                Callback::from(move |s: Summary| summary.set(s))
            };
            sync::start(token.clone(), listener);
            let (model, rerender) = (model.clone(), rerender.clone());
            wasm_bindgen_futures::spawn_local(async move {
                model.borrow_mut().settings = store::load_settings().await;
                let local = store::load_route().await;
                model.borrow_mut().saved = local.clone();
                rerender.emit(());
                match api::get::<DriverRoute>(&token, &format!("/api/drivers/me/route?date={}", local_date())).await {
                    Ok(route) => {
                        let merged = merge(local, route);
                        let _ = store::save_route(&merged).await;
                        let mut m = model.borrow_mut();
                        m.saved = Some(merged);
                        m.route_error = None;
                    }
                    Err(e) if e.code == "network" => {
                        if model.borrow().saved.is_none() {
                            model.borrow_mut().route_error = Some("Offline, and no route saved on this device yet.".into());
                        }
                    }
                    Err(e) => model.borrow_mut().route_error = Some(e.message),
                }
                model.borrow_mut().loading = false;
                rerender.emit(());
            });
        })
    };

    {
        // Once: register the service worker, then sign in from the link or resume the saved session.
        let (model, rerender, start_session, notice) = (model.clone(), rerender.clone(), start_session.clone(), notice.clone());
        use_effect_with((), move |_| {
            kit::register_service_worker();
            wasm_bindgen_futures::spawn_local(async move {
                let link_token = web_sys::window()
                    .and_then(|w| w.location().search().ok())
                    .and_then(|q| web_sys::UrlSearchParams::new_with_str(&q).ok())
                    .and_then(|p| p.get("token"));
                if let Some(token) = link_token {
                    // Drop the one-time token from the address bar and history.
                    if let Some(h) = web_sys::window().and_then(|w| w.history().ok()) {
                        let _ = h.replace_state_with_url(&JsValue::NULL, "", Some("/driver"));
                    }
                    let request = DriverSignInRequest { token: Some(token), org_id: None, driver_id: None, pin: None };
                    match sign_in(&request).await {
                        Ok(session) => {
                            let _ = store::save_session(&session).await;
                            start_session(session);
                            return;
                        }
                        Err(e) => notice.set(Some(format!("Sign-in link not accepted: {e}"))),
                    }
                }
                match store::load_session().await {
                    Some(session) => start_session(session),
                    None => {
                        model.borrow_mut().loading = false;
                        rerender.emit(());
                    }
                }
            });
        });
    }

    // GPS only while the route is active: started and not finished.
    let active = model.borrow().saved.as_ref().is_some_and(|s| s.started && next_stop(s).is_some());
    {
        let (model, rerender) = (model.clone(), rerender.clone());
        use_effect_with(active, move |active| {
            if *active {
                start_watch(&model, rerender);
            }
            let model = model.clone();
            move || stop_watch(&model)
        });
    }

    let m = model.borrow();
    let snapshot = m.saved.clone();
    let map = |key: &str| {
        let routes = snapshot
            .as_ref()
            .map(|saved| {
                let stops = sorted_stops(&saved.route);
                vec![MapRoute {
                    color: "#0f766e".into(),
                    path: stops.iter().map(|s| (s.location.lat, s.location.lon)).collect(),
                    stops: stops
                        .iter()
                        .map(|s| MapStop { lat: s.location.lat, lon: s.location.lon, number: s.sequence as usize, label: order_for(saved, s).map(|o| o.address.one_line()).unwrap_or_default() })
                        .collect(),
                }]
            })
            .unwrap_or_default();
        html! {
            <MapView key={key.to_owned()} center={(config.map_center.lat, config.map_center.lon)} zoom={config.map_zoom}
                tile_url={config.tile_url.clone()} tile_attribution={config.tile_attribution.clone()} {routes} label="Route map" />
        }
    };

    let header = html! {
        <header class="topbar driver-topbar">
            <h1>{"Doorstep Driver"}</h1>
            if m.session.is_some() {
                <span class={classes!("sync-badge", (summary.waiting > 0).then_some("pending"), (!summary.online).then_some("offline"))}
                      data-testid="sync-state" data-waiting={summary.waiting.to_string()} role="status" aria-live="polite">
                    { summary.text() }
                </span>
            }
            if m.session.is_some() && summary.last_error.as_deref().is_some_and(|e| e.starts_with("signed out")) {
                // The session expired: sign in again; the queue waits and then goes out under the new session.
                <button type="button" class="link-button" data-testid="sign-in-again"
                    onclick={{ let (model, rerender) = (model.clone(), rerender.clone()); Callback::from(move |_: MouseEvent| { model.borrow_mut().session = None; rerender.emit(()); }) }}>
                    {"Sign in again"}
                </button>
            }
        </header>
    };

    if m.session.is_none() {
        let body = if m.loading {
            html! { <p class="muted">{"Loading…"}</p> }
        } else {
            html! { <SignInForm notice={(*notice).clone()} on_signed_in={{ let s = start_session.clone(); Callback::from(move |t: TokenResponse| s(t)) }} /> }
        };
        return html! {
            <div class="layout layout-driver">
                { header }
                <main class="driver signed-out" data-page="driver">
                    { body }
                    { map("signed-out") }
                </main>
            </div>
        };
    }

    let Some(saved) = m.saved.clone() else {
        let text = m.route_error.clone().unwrap_or_else(|| "Loading today's route…".into());
        return html! {
            <div class="layout layout-driver">
                { header }
                <main class="driver" data-page="driver"><p class="driver-message" data-testid="route-message">{ text }</p>{ map("empty") }</main>
            </div>
        };
    };
    drop(m);

    let stops = sorted_stops(&saved.route);
    let done = stops.iter().filter(|s| is_done(progress_of(&saved, s))).count();
    let card_stop = selected
        .as_ref()
        .and_then(|id| stops.iter().find(|s| s.id.as_str() == id).cloned())
        .filter(|s| !is_done(progress_of(&saved, s)))
        .or_else(|| next_stop(&saved));

    let on_select = {
        let selected = selected.clone();
        Callback::from(move |id: String| selected.set(Some(id)))
    };

    let list = html! {
        <ol class="stop-list" data-testid="stop-list">
            { for stops.iter().map(|stop| {
                let order = order_for(&saved, stop);
                let progress = progress_of(&saved, stop);
                let (status, class) = match progress {
                    Some(StopProgress::Delivered) => ("Delivered", "delivered"),
                    Some(StopProgress::Failed) => ("Failed", "failed"),
                    Some(StopProgress::Arrived) => ("Arrived", "arrived"),
                    None => ("To do", "todo"),
                };
                let id = stop.id.as_str().to_owned();
                let onclick = { let on_select = on_select.clone(); let id = id.clone(); Callback::from(move |_: MouseEvent| on_select.emit(id.clone())) };
                let current = card_stop.as_ref().is_some_and(|c| c.id == stop.id);
                html! {
                    <li class={classes!("stop-row", class, current.then_some("current"))} data-testid="stop-row" data-stop-id={id} data-status={class}>
                        <button type="button" class="stop-row-button" {onclick}>
                            <span class="stop-seq">{ stop.sequence }</span>
                            <span class="stop-main">
                                <strong>{ order.map(|o| o.recipient.name.clone()).unwrap_or_default() }</strong>
                                <span class="muted">{ order.map(|o| o.address.one_line()).unwrap_or_default() }</span>
                            </span>
                            <span class="stop-side">
                                <span class="stop-time">{ hhmm(stop.planned_arrival) }</span>
                                <span class={classes!("chip", class)}>{ status }</span>
                            </span>
                        </button>
                    </li>
                }
            }) }
        </ol>
    };

    let start_card = (!saved.started).then(|| {
        let odometer = NodeRef::default();
        let onclick = {
            let (model, rerender, odometer, notice) = (model.clone(), rerender.clone(), odometer.clone(), notice.clone());
            let (route_id, plan_id) = (saved.route.route.id.as_str().to_owned(), saved.route.plan_id.clone());
            Callback::from(move |_: MouseEvent| {
                let km = odometer.cast::<HtmlInputElement>().and_then(|i| i.value().trim().replace(',', ".").parse::<f64>().ok());
                let body = StartRoute { plan_id: plan_id.clone(), device_time: store::to_time(store::now_ms()), odometer_km: km, vehicle_checked: false };
                let action = Action::StartRoute { route_id: route_id.clone(), body };
                let (model, rerender, notice) = (model.clone(), rerender.clone(), notice.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    match act(&model, action, Vec::new(), |s| s.started = true).await {
                        Ok(()) => notice.set(Some("Route started.".into())),
                        Err(e) => notice.set(Some(format!("Could not save: {e}"))),
                    }
                    rerender.emit(());
                });
            })
        };
        html! {
            <section class="action-card" data-testid="start-card">
                <h2>{ format!("{} stops today", stops.len()) }</h2>
                <label for="odometer">{"Odometer (km, optional)"}</label>
                <input id="odometer" ref={odometer} type="number" inputmode="decimal" min="0" step="0.1" />
                <button type="button" class="primary big" data-testid="start-route" {onclick}>{"Start route"}</button>
            </section>
        }
    });

    let stop_card = card_stop.clone().filter(|_| saved.started).map(|stop| {
        let order = order_for(&saved, &stop).cloned();
        let progress = progress_of(&saved, &stop);
        let address = order.as_ref().map(|o| o.address.one_line()).unwrap_or_default();
        let window = order.as_ref().and_then(|o| o.time_windows.first().copied());
        let phone = order.as_ref().and_then(|o| o.recipient.phone.clone());
        let on_arrived = {
            let (model, rerender, stop) = (model.clone(), rerender.clone(), stop.clone());
            Callback::from(move |_: MouseEvent| {
                let (model, rerender, stop) = (model.clone(), rerender.clone(), stop.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = arrive(&model, stop).await;
                    rerender.emit(());
                });
            })
        };
        let open = |make: fn(String) -> Sheet| {
            let (sheet, id) = (sheet.clone(), stop.id.as_str().to_owned());
            Callback::from(move |_: MouseEvent| sheet.set(make(id.clone())))
        };
        html! {
            <section class="stop-card" data-testid="stop-card" data-stop-id={stop.id.as_str().to_owned()}>
                <div class="stop-card-head">
                    <span class="stop-seq">{ stop.sequence }</span>
                    <div>
                        <h2 data-testid="stop-address">{ address.clone() }</h2>
                        <p class="muted">
                            { order.as_ref().map(|o| o.recipient.name.clone()).unwrap_or_default() }
                            {" · planned "}{ hhmm(stop.planned_arrival) }
                            if let Some(w) = window { {" · window "}{ hhmm(w.start) }{"–"}{ hhmm(w.end) } }
                        </p>
                    </div>
                </div>
                if let Some(text) = order.as_ref().and_then(|o| o.instructions.clone()) {
                    <p class="instructions" data-testid="stop-instructions">{ text }</p>
                }
                // Left by the customer on the tracking page.
                if let Some(text) = order.as_ref().and_then(|o| o.customer_note.as_ref()).and_then(|n| n.instructions.clone()) {
                    <p class="instructions customer-note" data-testid="stop-customer-note"><strong>{"Customer note: "}</strong>{ text }</p>
                }
                if let Some(text) = order.as_ref().and_then(|o| o.customer_note.as_ref()).and_then(|n| n.safe_place.clone()) {
                    <p class="instructions safe-place" data-testid="stop-safe-place"><strong>{"Safe place: "}</strong>{ text }</p>
                }
                if let Some(cod) = order.as_ref().and_then(|o| o.cash_on_delivery.clone()) {
                    <p class="cod">{"Cash on delivery: "}<strong>{ money(&cod) }</strong></p>
                }
                <div class="link-row">
                    if let Some(p) = phone.clone() {
                        <a class="pill" href={format!("tel:{p}")} data-testid="call">{"Call"}</a>
                        <a class="pill" href={format!("sms:{p}")} data-testid="sms">{"SMS"}</a>
                    }
                    { for navigation_links(stop.location.lat, stop.location.lon, &address).into_iter().map(|(label, href)| html! {
                        <a class="pill" href={href} target="_blank" rel="noopener" data-nav={label}>{ label }</a>
                    }) }
                </div>
                <div class="action-row">
                    if progress.is_none() {
                        <button type="button" class="big" data-testid="arrived" onclick={on_arrived}>{"Arrived"}</button>
                    }
                    <button type="button" class="danger big" data-testid="failed" onclick={open(Sheet::Fail)}>{"Failed"}</button>
                    <button type="button" class="primary big" data-testid="delivered" onclick={open(Sheet::Deliver)}>{"Delivered"}</button>
                </div>
            </section>
        }
    });

    let finished = saved.started && card_stop.is_none();

    let sheet_html = match &*sheet {
        Sheet::None => html! {},
        Sheet::Deliver(id) | Sheet::Fail(id) => {
            let Some(stop) = stops.iter().find(|s| s.id.as_str() == id).cloned() else { return html! {} };
            let order = order_for(&saved, &stop).cloned();
            let close = { let sheet = sheet.clone(); Callback::from(move |_: ()| sheet.set(Sheet::None)) };
            let token = model.borrow().session.as_ref().map(|s| s.access_token.clone()).unwrap_or_default();
            let tag = geotag(&model.borrow());
            if matches!(&*sheet, Sheet::Deliver(_)) {
                let on_submit = {
                    let (model, rerender, sheet, notice, selected) = (model.clone(), rerender.clone(), sheet.clone(), notice.clone(), selected.clone());
                    let (stop_id, plan_id) = (stop.id.as_str().to_owned(), saved.route.plan_id.clone());
                    Callback::from(move |(pod, photos, blobs): (ProofOfDelivery, Vec<QueuedPhoto>, Vec<(String, JsValue)>)| {
                        let action = Action::Complete { stop_id: stop_id.clone(), body: CompleteStop { plan_id: plan_id.clone(), pod }, photos };
                        let (model, rerender, sheet, notice, selected, id) = (model.clone(), rerender.clone(), sheet.clone(), notice.clone(), selected.clone(), stop_id.clone());
                        wasm_bindgen_futures::spawn_local(async move {
                            match act(&model, action, blobs, |s| { s.progress.insert(id, StopProgress::Delivered); }).await {
                                Ok(()) => {
                                    notice.set(Some("Delivery saved.".into()));
                                    selected.set(None);
                                    sheet.set(Sheet::None);
                                }
                                Err(e) => notice.set(Some(format!("Could not save the delivery: {e}"))),
                            }
                            rerender.emit(());
                        });
                    })
                };
                html! { <DeliverSheet stop={stop} order={order} {token} plan_id={saved.route.plan_id.as_str().to_owned()} geotag={tag} {on_submit} on_cancel={close} /> }
            } else {
                let on_submit = {
                    let (model, rerender, sheet, notice, selected) = (model.clone(), rerender.clone(), sheet.clone(), notice.clone(), selected.clone());
                    let (stop_id, plan_id) = (stop.id.as_str().to_owned(), saved.route.plan_id.clone());
                    Callback::from(move |(reason, note): (FailureReason, Option<String>)| {
                        let tag = geotag(&model.borrow());
                        let body = FailStop { plan_id: plan_id.clone(), reason, note, device_time: store::to_time(store::now_ms()), geotag: tag, photos: Vec::new() };
                        let action = Action::Fail { stop_id: stop_id.clone(), body };
                        let (model, rerender, sheet, notice, selected, id) = (model.clone(), rerender.clone(), sheet.clone(), notice.clone(), selected.clone(), stop_id.clone());
                        wasm_bindgen_futures::spawn_local(async move {
                            match act(&model, action, Vec::new(), |s| { s.progress.insert(id, StopProgress::Failed); }).await {
                                Ok(()) => {
                                    notice.set(Some("Failed attempt saved.".into()));
                                    selected.set(None);
                                    sheet.set(Sheet::None);
                                }
                                Err(e) => notice.set(Some(format!("Could not save: {e}"))),
                            }
                            rerender.emit(());
                        });
                    })
                };
                html! { <FailSheet {on_submit} on_cancel={close} /> }
            }
        }
    };

    let settings_row = {
        let radius = model.borrow().settings.geofence_radius_m;
        let (model, rerender) = (model.clone(), rerender.clone());
        let onchange = Callback::from(move |e: Event| {
            let Some(input) = e.target_dyn_into::<HtmlInputElement>() else { return };
            if let Ok(r) = input.value().parse::<f64>()
                && (10.0..=1000.0).contains(&r)
            {
                model.borrow_mut().settings.geofence_radius_m = r;
                let settings = model.borrow().settings.clone();
                let rerender = rerender.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = store::save_settings(&settings).await;
                    rerender.emit(());
                });
            }
        });
        html! {
            <p class="settings-row">
                <label for="geofence">{"Arrive automatically within (m)"}</label>
                <input id="geofence" type="number" min="10" max="1000" step="5" value={radius.to_string()} {onchange} />
            </p>
        }
    };

    let tab_button = |t: Tab, label: &str| {
        let tab_state = tab.clone();
        html! {
            <button type="button" role="tab" aria-selected={(*tab == t).to_string()} class={classes!("tab", (*tab == t).then_some("active"))}
                onclick={Callback::from(move |_: MouseEvent| tab_state.set(t))}>{ label }</button>
        }
    };

    html! {
        <div class="layout layout-driver">
            { header }
            <main class="driver" data-page="driver" data-route-id={saved.route.route.id.as_str().to_owned()}>
                <div class="driver-summary" data-testid="route-summary">
                    { format!("{done} of {} stops done", stops.len()) }
                    if let Some(text) = (*notice).clone() { <span class="notice" role="status">{ text }</span> }
                </div>
                <div class="driver-body">
                    if *tab == Tab::List {
                        <div class="driver-list">{ list }{ settings_row }</div>
                    } else {
                        { map("route") }
                    }
                </div>
                <div class="bottom-dock">
                    { start_card.unwrap_or_default() }
                    { stop_card.unwrap_or_default() }
                    if finished {
                        <section class="action-card" data-testid="route-finished"><h2>{"All stops done"}</h2><p class="muted">{ summary.text() }</p></section>
                    }
                    <nav class="tabs" role="tablist">{ tab_button(Tab::List, "List") }{ tab_button(Tab::Map, "Map") }</nav>
                </div>
            </main>
            { sheet_html }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct SignInFormProps {
    notice: Option<String>,
    on_signed_in: Callback<TokenResponse>,
}

/// PIN sign-in (the link signs in by itself): organisation, driver and PIN
/// as the dispatcher handed them over.
#[function_component(SignInForm)]
fn sign_in_form(props: &SignInFormProps) -> Html {
    let (org, driver, pin) = (use_node_ref(), use_node_ref(), use_node_ref());
    let error = use_state(|| None::<String>);
    let onsubmit = {
        let (org, driver, pin, error, on_signed_in) = (org.clone(), driver.clone(), pin.clone(), error.clone(), props.on_signed_in.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let value = |r: &NodeRef| r.cast::<HtmlInputElement>().map(|i| i.value().trim().to_owned()).unwrap_or_default();
            let (Ok(org_id), Ok(driver_id)) = (OrgId::new(value(&org)), DriverId::new(value(&driver))) else {
                error.set(Some("Enter the organisation and driver codes from your dispatcher.".into()));
                return;
            };
            let request = DriverSignInRequest { token: None, org_id: Some(org_id), driver_id: Some(driver_id), pin: Some(value(&pin)) };
            let (error, on_signed_in) = (error.clone(), on_signed_in.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match sign_in(&request).await {
                    Ok(session) => {
                        let _ = store::save_session(&session).await;
                        on_signed_in.emit(session);
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    html! {
        <form class="card driver-sign-in" {onsubmit} novalidate=true>
            <h2>{"Driver sign-in"}</h2>
            <p class="muted">{"Open the sign-in link your dispatcher sent, or enter the PIN."}</p>
            if let Some(n) = props.notice.clone() { <p class="error" role="alert">{ n }</p> }
            <label for="org-id">{"Organisation"}</label>
            <input id="org-id" ref={org} autocomplete="organization" />
            <label for="driver-id">{"Driver"}</label>
            <input id="driver-id" ref={driver} autocomplete="username" />
            <label for="pin">{"PIN"}</label>
            <input id="pin" ref={pin} inputmode="numeric" autocomplete="one-time-code" maxlength="8" />
            if let Some(message) = (*error).clone() { <p class="error" role="alert" data-testid="sign-in-error">{ message }</p> }
            <button type="submit" class="primary big">{"Sign in"}</button>
        </form>
    }
}

#[derive(Properties, PartialEq)]
struct FailSheetProps {
    on_submit: Callback<(FailureReason, Option<String>)>,
    on_cancel: Callback<()>,
}

#[function_component(FailSheet)]
fn fail_sheet(props: &FailSheetProps) -> Html {
    let reason = use_state(|| None::<FailureReason>);
    let note = use_node_ref();
    let error = use_state(|| None::<String>);
    let submit = {
        let (reason, note, error, on_submit) = (reason.clone(), note.clone(), error.clone(), props.on_submit.clone());
        Callback::from(move |_: MouseEvent| {
            let Some(r) = *reason else {
                error.set(Some("Choose why the delivery failed.".into()));
                return;
            };
            let text = note.cast::<HtmlTextAreaElement>().map(|t| t.value().trim().to_owned()).filter(|t| !t.is_empty());
            if r == FailureReason::Other && text.is_none() {
                error.set(Some("Add a note saying what happened.".into()));
                return;
            }
            on_submit.emit((r, text));
        })
    };
    let cancel = { let c = props.on_cancel.clone(); Callback::from(move |_: MouseEvent| c.emit(())) };
    html! {
        <div class="sheet" role="dialog" aria-label="Delivery failed" data-testid="fail-sheet">
            <h2>{"Why could it not be delivered?"}</h2>
            <div class="reasons">
                { for FailureReason::ALL.iter().map(|r| {
                    let r = *r;
                    let reason_state = reason.clone();
                    html! {
                        <label class={classes!("reason", (*reason == Some(r)).then_some("chosen"))}>
                            <input type="radio" name="reason" checked={*reason == Some(r)} onchange={Callback::from(move |_: Event| reason_state.set(Some(r)))} />
                            { r.label() }
                        </label>
                    }
                }) }
            </div>
            <label for="fail-note">{"Note"}</label>
            <textarea id="fail-note" ref={note} rows="2" />
            if let Some(e) = (*error).clone() { <p class="error" role="alert">{ e }</p> }
            <div class="action-row sheet-actions">
                <button type="button" class="big" onclick={cancel}>{"Back"}</button>
                <button type="button" class="danger big" data-testid="confirm-failed" onclick={submit}>{"Confirm failed"}</button>
            </div>
        </div>
    }
}

#[derive(Clone, PartialEq)]
struct PhotoDraft {
    photo: QueuedPhoto,
    blob: JsValue,
    preview: String,
}

#[derive(Properties, PartialEq)]
struct DeliverSheetProps {
    stop: Stop,
    order: Option<Order>,
    token: String,
    plan_id: String,
    geotag: Option<GeoTag>,
    on_submit: Callback<(ProofOfDelivery, Vec<QueuedPhoto>, Vec<(String, JsValue)>)>,
    on_cancel: Callback<()>,
}

/// Proof of delivery: photos (resized on the device), signature, name, OTP,
/// barcode, notes and cash collected.
#[function_component(DeliverSheet)]
fn deliver_sheet(props: &DeliverSheetProps) -> Html {
    let photos = use_state(Vec::<PhotoDraft>::new);
    let signature = use_mut_ref(|| None::<Signature>);
    let (name, barcode, notes, otp, cash, method) = (use_node_ref(), use_node_ref(), use_node_ref(), use_node_ref(), use_node_ref(), use_node_ref());
    let otp_verified = use_state(|| false);
    let message = use_state(|| None::<String>);
    let busy = use_state(|| false);
    let scanned = use_state(|| None::<String>);

    let on_photo = {
        let (photos, message, busy) = (photos.clone(), message.clone(), busy.clone());
        Callback::from(move |e: Event| {
            let Some(input) = e.target_dyn_into::<HtmlInputElement>() else { return };
            let Some(files) = input.files() else { return };
            let files: Vec<web_sys::File> = (0..files.length()).filter_map(|i| files.get(i)).collect();
            input.set_value("");
            let (photos, message, busy) = (photos.clone(), message.clone(), busy.clone());
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let mut list = (*photos).clone();
                for file in files {
                    if list.len() >= doorstep_domain::pod::MAX_PHOTOS {
                        message.set(Some(format!("At most {} photos.", doorstep_domain::pod::MAX_PHOTOS)));
                        break;
                    }
                    let resized = match wait(kit::resize_photo(&file.into(), PHOTO_MAX_PX, PHOTO_QUALITY)).await {
                        Ok(b) => b,
                        Err(e) => {
                            message.set(Some(format!("Could not read the photo: {e}")));
                            continue;
                        }
                    };
                    let Some(sha) = wait(kit::sha256_hex(&resized)).await.ok().and_then(|s| s.as_string()) else { continue };
                    let blob: web_sys::Blob = resized.clone().unchecked_into();
                    let preview = web_sys::Url::create_object_url_with_blob(&blob).unwrap_or_default();
                    let photo = QueuedPhoto { local_key: store::new_key(), sha256: sha, size_bytes: blob.size() as u64, content_type: "image/jpeg".into(), uploaded_key: None };
                    list.push(PhotoDraft { photo, blob: resized, preview });
                }
                photos.set(list);
                busy.set(false);
            });
        })
    };

    let on_scan = {
        let (scanned, message) = (scanned.clone(), message.clone());
        Callback::from(move |e: Event| {
            let Some(file) = e.target_dyn_into::<HtmlInputElement>().and_then(|i| i.files()).and_then(|f| f.get(0)) else { return };
            let (scanned, message) = (scanned.clone(), message.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match wait(kit::detect_barcode(&file.into())).await.ok().and_then(|v| v.as_string()) {
                    Some(code) => scanned.set(Some(code)),
                    None => message.set(Some("No barcode found: type it in.".into())),
                }
            });
        })
    };

    let on_otp = {
        let (otp, otp_verified, message, token, plan_id, stop_id) = (otp.clone(), otp_verified.clone(), message.clone(), props.token.clone(), props.plan_id.clone(), props.stop.id.as_str().to_owned());
        Callback::from(move |_: MouseEvent| {
            let code = otp.cast::<HtmlInputElement>().map(|i| i.value().trim().to_owned()).unwrap_or_default();
            let Ok(plan_id) = doorstep_domain::ids::PlanId::new(plan_id.clone()) else { return };
            let body = VerifyOtp { plan_id, code };
            let (otp_verified, message, token, path) = (otp_verified.clone(), message.clone(), token.clone(), format!("/api/stops/{stop_id}/otp"));
            let stop_id = stop_id.clone();
            wasm_bindgen_futures::spawn_local(async move {
                // One key per guess: if the answer is lost, the queued replay counts it once.
                let key = store::new_key();
                match api::post_idempotent::<_, OtpStatus>(&token, &path, &body, &key).await {
                    Ok(s) if s.verified => otp_verified.set(true),
                    Ok(s) if s.locked => message.set(Some("Code locked after too many tries.".into())),
                    Ok(s) => message.set(Some(format!("Wrong code, {} tries left.", s.attempts_left))),
                    Err(e) if e.code == "network" => match store::enqueue_keyed(key, Action::VerifyOtp { stop_id, body }, Vec::new()).await {
                        Ok(_) => {
                            otp_verified.set(true);
                            message.set(Some("Offline: the code is checked when back online, before this delivery is sent; a wrong code makes the delivery refused.".into()));
                        }
                        Err(e) => message.set(Some(format!("The code could not be saved on this device: {e}"))),
                    },
                    Err(e) => message.set(Some(e.message)),
                }
            });
        })
    };

    let on_sign = {
        let signature = signature.clone();
        Callback::from(move |s: Option<Signature>| *signature.borrow_mut() = s)
    };

    let submit = {
        let (photos, signature, name, barcode, notes, cash, method, otp_verified, message, scanned) =
            (photos.clone(), signature.clone(), name.clone(), barcode.clone(), notes.clone(), cash.clone(), method.clone(), otp_verified.clone(), message.clone(), scanned.clone());
        let (order, stop, geotag, on_submit) = (props.order.clone(), props.stop.clone(), props.geotag, props.on_submit.clone());
        Callback::from(move |_: MouseEvent| {
            let text = |r: &NodeRef| r.cast::<HtmlInputElement>().map(|i| i.value().trim().to_owned()).filter(|t| !t.is_empty());
            let barcode_value = (*scanned).clone().or_else(|| text(&barcode));
            let cash_collected = match order.as_ref().and_then(|o| o.cash_on_delivery.clone()) {
                None => None,
                Some(due) => {
                    let Some(amount) = text(&cash).and_then(|t| parse_amount(&t)) else {
                        message.set(Some("Enter the amount collected.".into()));
                        return;
                    };
                    if amount != due.amount_minor {
                        message.set(Some(format!("{} is due: collect it in full, or mark the delivery failed.", money(&due))));
                        return;
                    }
                    let m = method.cast::<HtmlSelectElement>().map(|s| s.value()).unwrap_or_default();
                    let method = match m.as_str() {
                        "card" => PaymentMethod::Card,
                        "cheque" => PaymentMethod::Cheque,
                        _ => PaymentMethod::Cash,
                    };
                    Some(CashCollected { amount: Money { amount_minor: amount, currency: due.currency }, method })
                }
            };
            if let (Some(scanned), Some(expected)) = (&barcode_value, order.as_ref().and_then(|o| o.barcode.as_ref()))
                && scanned != expected
            {
                message.set(Some(format!("Barcode {scanned} is not this parcel's ({expected}).")));
                return;
            }
            let Some(order_id) = order.as_ref().map(|o| o.id.clone()) else { return };
            let notes_value = notes.cast::<HtmlTextAreaElement>().map(|t| t.value().trim().to_owned()).filter(|t| !t.is_empty());
            let pod = ProofOfDelivery {
                order_id,
                stop_id: Some(stop.id.clone()),
                photos: Vec::new(),
                signature: signature.borrow().clone(),
                signature_image: None,
                recipient_name: text(&name),
                otp_verified: *otp_verified,
                barcode: barcode_value,
                geotag,
                device_time: store::to_time(store::now_ms()),
                notes: notes_value,
                cash_collected,
            };
            if !pod.has_evidence() && photos.is_empty() {
                message.set(Some("Add a photo, a signature, the recipient's name, the code or a scan.".into()));
                return;
            }
            let queued: Vec<QueuedPhoto> = photos.iter().map(|p| p.photo.clone()).collect();
            let blobs: Vec<(String, JsValue)> = photos.iter().map(|p| (p.photo.local_key.clone(), p.blob.clone())).collect();
            on_submit.emit((pod, queued, blobs));
        })
    };
    let cancel = { let c = props.on_cancel.clone(); Callback::from(move |_: MouseEvent| c.emit(())) };
    let cod = props.order.as_ref().and_then(|o| o.cash_on_delivery.clone());

    html! {
        <div class="sheet" role="dialog" aria-label="Proof of delivery" data-testid="pod-sheet">
            <h2>{"Proof of delivery"}</h2>
            <p class="muted">{ props.order.as_ref().map(|o| format!("{} · {}", o.recipient.name, o.address.one_line())).unwrap_or_default() }</p>
            <label class="big-file">
                {"Take a photo"}
                <input type="file" accept="image/*" capture="environment" multiple=true data-testid="photo-input" onchange={on_photo} />
            </label>
            <div class="photos" data-testid="photos" data-count={photos.len().to_string()}>
                { for photos.iter().map(|p| html! { <img src={p.preview.clone()} alt="Delivery photo" data-sha256={p.photo.sha256.clone()} /> }) }
                if *busy { <span class="muted">{"Processing photo…"}</span> }
            </div>
            <h3>{"Signature"}</h3>
            <SignaturePad on_change={on_sign} />
            <label for="recipient-name">{"Received by"}</label>
            <input id="recipient-name" ref={name} autocomplete="off" />
            <label for="otp">{"Customer code"}</label>
            <div class="inline">
                <input id="otp" ref={otp} inputmode="numeric" maxlength="6" />
                <button type="button" onclick={on_otp} disabled={*otp_verified}>{ if *otp_verified { "Verified" } else { "Check" } }</button>
            </div>
            <label for="barcode">{"Parcel barcode"}</label>
            <div class="inline">
                <input id="barcode" ref={barcode} value={(*scanned).clone().unwrap_or_default()} autocomplete="off" />
                if kit::has_barcode_detector() {
                    <label class="pill">{"Scan"}<input type="file" accept="image/*" capture="environment" class="visually-hidden" onchange={on_scan} /></label>
                }
            </div>
            if let Some(due) = cod {
                <fieldset class="cash">
                    <legend>{"Cash on delivery: "}<strong>{ money(&due) }</strong>{" due"}</legend>
                    <label for="cash-amount">{"Amount collected"}</label>
                    <input id="cash-amount" ref={cash} inputmode="decimal" value={format!("{}.{:02}", due.amount_minor / 100, due.amount_minor % 100)} />
                    <label for="cash-method">{"Paid by"}</label>
                    <select id="cash-method" ref={method}>
                        <option value="cash" selected=true>{"Cash"}</option>
                        <option value="card">{"Card"}</option>
                        <option value="cheque">{"Cheque"}</option>
                    </select>
                </fieldset>
            }
            <label for="pod-notes">{"Notes"}</label>
            <textarea id="pod-notes" ref={notes} rows="2" />
            if let Some(m) = (*message).clone() { <p class="error" role="alert" data-testid="pod-error">{ m }</p> }
            <div class="action-row sheet-actions">
                <button type="button" class="big" onclick={cancel}>{"Back"}</button>
                <button type="button" class="primary big" data-testid="confirm-delivered" disabled={*busy} onclick={submit}>{"Confirm delivery"}</button>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn amounts_parse_in_major_units_with_a_dot_or_comma() {
        assert_eq!(parse_amount("12.50"), Some(1250));
        assert_eq!(parse_amount("12,5"), Some(1250));
        assert_eq!(parse_amount("7"), Some(700));
        assert_eq!(parse_amount(".05"), Some(5));
        for bad in ["", "1.234", "abc", "-3", "1.2.3"] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
    }
}
