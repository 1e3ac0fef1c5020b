//! Adding or editing one order: recipient, address (with coordinates typed,
//! found through the organisation's Nominatim-compatible geocoder, or pinned
//! on a map), up to two time windows, service time, load, priority, skills
//! and notes. The server validates; its field errors (`time_windows[0].end`,
//! `recipient.email`...) are shown next to the input they name. Enter
//! submits, Escape closes.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use doorstep_domain::api::ApiError;
use doorstep_domain::order::{NewOrder, OrderKind, OrderPatch, Priority, Recipient};
use doorstep_domain::time::{TimeOfDay, TimeWindow};
use doorstep_domain::{Address, Load, Order};
use gloo_net::http::Request;
use time::{Date, UtcOffset};
use wasm_bindgen::JsCast as _;
use web_sys::{HtmlElement, HtmlInputElement};
use yew::prelude::*;

use crate::components::{MapMarker, MapView};
use crate::services::api;
use crate::services::config::use_client_config;

/// Windows the form offers (the API takes up to four).
const WINDOWS: usize = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Input {
    Text,
    Tel,
    Email,
    Number,
    Time,
    Notes,
    Priority,
}

/// Every input: its key (the API's field path where there is one), label and kind.
const FIELDS: &[(&str, &str, Input)] = &[
    ("recipient.name", "Recipient name", Input::Text),
    ("recipient.phone", "Phone", Input::Tel),
    ("recipient.email", "Email", Input::Email),
    ("address.line1", "Street and number", Input::Text),
    ("address.line2", "Building, floor", Input::Text),
    ("address.postcode", "Postcode", Input::Text),
    ("address.city", "City", Input::Text),
    ("address.country", "Country (ISO code)", Input::Text),
    ("address.lat", "Latitude", Input::Number),
    ("address.lon", "Longitude", Input::Number),
    ("time_windows[0].start", "Window from", Input::Time),
    ("time_windows[0].end", "Window to", Input::Time),
    ("time_windows[1].start", "Second window from", Input::Time),
    ("time_windows[1].end", "Second window to", Input::Time),
    ("service_time_min", "Service time (min)", Input::Number),
    ("demand[0]", "Weight (kg)", Input::Number),
    ("demand[1]", "Volume (l)", Input::Number),
    ("demand[2]", "Items", Input::Number),
    ("priority", "Priority", Input::Priority),
    ("required_skills", "Skills (comma-separated)", Input::Text),
    ("external_ref", "Reference", Input::Text),
    ("instructions", "Notes for the driver", Input::Notes),
];

const PRIORITIES: [(Priority, &str); 4] = [(Priority::Low, "low"), (Priority::Normal, "normal"), (Priority::High, "high"), (Priority::Urgent, "urgent")];

fn label_of(key: &str) -> &'static str {
    FIELDS.iter().find(|(k, _, _)| *k == key).map_or("", |(_, l, _)| l)
}

/// The input id for a field key (`order-time-windows-0--end`).
pub fn input_id(key: &str) -> String {
    format!("order-{}", key.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect::<String>())
}

/// The form input an API error path belongs to, if any.
pub fn field_for_path(path: &str) -> Option<&'static str> {
    let key = match path {
        p if p.starts_with("service_time_s") => "service_time_min",
        p if p.starts_with("required_skills") => "required_skills",
        "demand" => "demand[0]",
        "recipient" => "recipient.name",
        "address" => "address.line1",
        "time_windows" => "time_windows[0].start",
        p => {
            // `time_windows[1]` (an overlap) belongs to that window's start.
            if let Some(i) = p.strip_prefix("time_windows[").and_then(|r| r.strip_suffix(']')) {
                return FIELDS.iter().map(|(k, _, _)| *k).find(|k| *k == format!("time_windows[{i}].start"));
            }
            p
        }
    };
    FIELDS.iter().map(|(k, _, _)| *k).find(|k| *k == key)
}

/// Per-field messages from an API error; the rest as general messages.
pub fn split_errors(e: &ApiError) -> (BTreeMap<&'static str, String>, Vec<String>) {
    let mut fields = BTreeMap::new();
    let mut general = Vec::new();
    let details: Vec<(String, String)> = if e.details.is_empty() {
        e.field.iter().map(|f| (f.clone(), e.message.clone())).collect()
    } else {
        e.details.iter().map(|d| (d.path.clone(), d.message.clone())).collect()
    };
    for (path, message) in details {
        match field_for_path(&path) {
            Some(key) => {
                fields.entry(key).or_insert(message);
            }
            None => general.push(if path.is_empty() { message } else { format!("{path}: {message}") }),
        }
    }
    if fields.is_empty() && general.is_empty() {
        general.push(e.message.clone());
    }
    (fields, general)
}

fn hhmm(t: time::OffsetDateTime, offset: UtcOffset) -> String {
    let t = t.to_offset(offset);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

fn number_text(v: f64) -> String {
    if v == 0.0 { String::new() } else { format!("{v}") }
}

/// The form's text for an order (or an empty form).
fn values_of(order: Option<&Order>, offset: UtcOffset) -> BTreeMap<&'static str, String> {
    let mut v: BTreeMap<&'static str, String> = FIELDS.iter().map(|(k, _, _)| (*k, String::new())).collect();
    v.insert("priority", "normal".into());
    v.insert("address.country", "FR".into());
    let Some(o) = order else { return v };
    let mut set = |k: &'static str, s: String| {
        v.insert(k, s);
    };
    set("recipient.name", o.recipient.name.clone());
    set("recipient.phone", o.recipient.phone.clone().unwrap_or_default());
    set("recipient.email", o.recipient.email.clone().unwrap_or_default());
    set("address.line1", o.address.line1.clone());
    set("address.line2", o.address.line2.clone().unwrap_or_default());
    set("address.postcode", o.address.postcode.clone());
    set("address.city", o.address.city.clone());
    set("address.country", o.address.country.clone());
    set("address.lat", o.address.lat.map(|l| l.to_string()).unwrap_or_default());
    set("address.lon", o.address.lon.map(|l| l.to_string()).unwrap_or_default());
    for (i, w) in o.time_windows.iter().take(WINDOWS).enumerate() {
        let (start, end) = [("time_windows[0].start", "time_windows[0].end"), ("time_windows[1].start", "time_windows[1].end")][i];
        set(start, hhmm(w.start, offset));
        set(end, hhmm(w.end, offset));
    }
    set("service_time_min", o.service_time_s.map(|s| format!("{}", f64::from(s) / 60.0)).unwrap_or_default());
    set("demand[0]", number_text(o.demand.weight_kg()));
    set("demand[1]", number_text(o.demand.volume_l()));
    set("demand[2]", number_text(o.demand.items()));
    set("priority", PRIORITIES.iter().find(|(p, _)| *p == o.priority).map_or("normal", |(_, n)| n).to_owned());
    set("required_skills", o.required_skills.iter().cloned().collect::<Vec<_>>().join(", "));
    set("external_ref", o.external_ref.clone().unwrap_or_default());
    set("instructions", o.instructions.clone().unwrap_or_default());
    v
}

/// What the form's text means, or the inputs it cannot read.
#[derive(Debug, PartialEq)]
struct Draft {
    external_ref: Option<String>,
    address: Address,
    time_windows: Vec<TimeWindow>,
    service_time_s: Option<u32>,
    demand: Load,
    priority: Priority,
    required_skills: BTreeSet<String>,
    recipient: Recipient,
    instructions: Option<String>,
}

fn read_draft(v: &BTreeMap<&'static str, String>, date: Date, offset: UtcOffset) -> Result<Draft, BTreeMap<&'static str, String>> {
    let mut errors = BTreeMap::new();
    let text = |k: &str| v.get(k).map_or(String::new(), |s| s.trim().to_owned());
    let optional = |k: &str| Some(text(k)).filter(|s| !s.is_empty());
    let number = |k: &'static str, errors: &mut BTreeMap<&'static str, String>| -> Option<f64> {
        let raw = optional(k)?;
        match raw.replace(',', ".").parse::<f64>() {
            Ok(n) if n.is_finite() => Some(n),
            _ => {
                errors.insert(k, format!("{raw:?} is not a number"));
                None
            }
        }
    };
    let lat = number("address.lat", &mut errors);
    let lon = number("address.lon", &mut errors);
    if lat.is_some() != lon.is_some() {
        let missing = if lat.is_none() { "address.lat" } else { "address.lon" };
        errors.entry(missing).or_insert_with(|| "give both coordinates, or neither".into());
    }
    let service_min = number("service_time_min", &mut errors);
    let service_time_s = match service_min {
        Some(m) if m >= 0.0 => Some((m * 60.0).round() as u32),
        Some(_) => {
            errors.insert("service_time_min", "must not be negative".into());
            None
        }
        None => None,
    };
    let weight = number("demand[0]", &mut errors).unwrap_or(0.0);
    let volume = number("demand[1]", &mut errors).unwrap_or(0.0);
    let items = number("demand[2]", &mut errors).unwrap_or(0.0);
    let mut time_windows = Vec::new();
    for (start, end) in [("time_windows[0].start", "time_windows[0].end"), ("time_windows[1].start", "time_windows[1].end")] {
        let mut time = |k: &'static str| -> Option<TimeOfDay> {
            let raw = optional(k)?;
            match raw.parse::<TimeOfDay>() {
                Ok(t) => Some(t),
                Err(_) => {
                    errors.insert(k, format!("{raw:?} is not a time such as 09:30"));
                    None
                }
            }
        };
        match (time(start), time(end), optional(start), optional(end)) {
            (Some(s), Some(e), _, _) => time_windows.push(TimeWindow::new(s.on(date, offset), e.on(date, offset))),
            (_, _, Some(_), None) => {
                errors.insert(end, format!("{} needs an end too", label_of(start)));
            }
            (_, _, None, Some(_)) => {
                errors.insert(start, format!("{} needs a start too", label_of(end)));
            }
            _ => {}
        }
    }
    let priority = PRIORITIES.iter().find(|(_, n)| *n == text("priority")).map_or(Priority::Normal, |(p, _)| *p);
    let required_skills = text("required_skills").split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Draft {
        external_ref: optional("external_ref"),
        address: Address {
            line1: text("address.line1"),
            line2: optional("address.line2"),
            postcode: text("address.postcode"),
            city: text("address.city"),
            country: text("address.country").to_uppercase(),
            lat,
            lon,
        },
        time_windows,
        service_time_s,
        demand: Load::new(weight, volume, items),
        priority,
        required_skills,
        recipient: Recipient { name: text("recipient.name"), phone: optional("recipient.phone"), email: optional("recipient.email") },
        instructions: optional("instructions"),
    })
}

impl Draft {
    fn into_new(self) -> NewOrder {
        NewOrder {
            external_ref: self.external_ref,
            depot_id: None,
            kind: OrderKind::Delivery,
            address: self.address,
            service_time_s: self.service_time_s,
            time_windows: self.time_windows,
            pickup: None,
            demand: self.demand,
            priority: self.priority,
            required_skills: self.required_skills,
            recipient: self.recipient,
            instructions: self.instructions,
            barcode: None,
            cash_on_delivery: None,
        }
    }

    /// Every field the form shows, as a patch at `version` (cleared inputs clear).
    fn into_patch(self, version: u64) -> OrderPatch {
        OrderPatch {
            version,
            external_ref: Some(self.external_ref),
            address: Some(self.address),
            service_time_s: Some(self.service_time_s),
            time_windows: Some(self.time_windows),
            demand: Some(self.demand),
            priority: Some(self.priority),
            required_skills: Some(self.required_skills),
            recipient: Some(self.recipient),
            instructions: Some(self.instructions),
            ..OrderPatch::default()
        }
    }
}

/// One answer of the geocoder.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub lat: f64,
    pub lon: f64,
    pub label: String,
}

/// Reads a Nominatim `jsonv2` answer (coordinates are strings there; numbers are accepted too).
pub fn parse_candidates(body: &serde_json::Value) -> Vec<Candidate> {
    let coord = |v: &serde_json::Value| v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok()));
    body.as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some(Candidate {
                lat: coord(c.get("lat")?)?,
                lon: coord(c.get("lon")?)?,
                label: c.get("display_name").and_then(|d| d.as_str()).unwrap_or("(no name)").to_owned(),
            })
        })
        .collect()
}

/// `search?format=jsonv2&q=...` on the configured URL (which may carry its own query).
pub fn geocoder_request_url(base: &str, query: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}format=jsonv2&limit=5&q={}", String::from(js_sys::encode_uri_component(query)))
}

#[derive(Clone, Debug, PartialEq)]
enum Geocode {
    Idle,
    Searching,
    Found(Vec<Candidate>),
    Failed(String),
}

#[derive(Clone, Debug, PartialEq)]
struct FormState {
    values: BTreeMap<&'static str, String>,
    errors: BTreeMap<&'static str, String>,
    general: Vec<String>,
    saving: bool,
    geocode: Geocode,
    pinning: bool,
    /// Bumped on every refusal, so the first invalid input is focused again.
    refusals: u32,
}

enum FormAction {
    Set(&'static str, String),
    Saving,
    Refused(BTreeMap<&'static str, String>, Vec<String>),
    Geocode(Geocode),
    Place(f64, f64),
    TogglePin,
}

impl Reducible for FormState {
    type Action = FormAction;
    fn reduce(self: Rc<Self>, action: FormAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            FormAction::Set(k, v) => {
                next.values.insert(k, v);
                next.errors.remove(k);
            }
            FormAction::Saving => {
                next.saving = true;
                next.general.clear();
            }
            FormAction::Refused(errors, general) => {
                next.saving = false;
                next.errors = errors;
                next.general = general;
                next.refusals += 1;
            }
            FormAction::Geocode(g) => next.geocode = g,
            FormAction::Place(lat, lon) => {
                next.values.insert("address.lat", format!("{lat:.6}"));
                next.values.insert("address.lon", format!("{lon:.6}"));
                next.errors.remove("address.lat");
                next.errors.remove("address.lon");
                next.geocode = Geocode::Idle;
            }
            FormAction::TogglePin => next.pinning = !next.pinning,
        }
        Rc::new(next)
    }
}

#[derive(Properties, PartialEq)]
pub struct OrderFormProps {
    pub token: String,
    /// The day `HH:MM` windows of a new order belong to, and its offset.
    pub date: Date,
    pub offset: UtcOffset,
    /// The order to edit; `None` adds one.
    #[prop_or_default]
    pub order: Option<Order>,
    /// Nominatim-compatible search endpoint (`settings.geocoder_url`).
    #[prop_or_default]
    pub geocoder_url: Option<String>,
    /// A point picked elsewhere (e.g. a click on the page's own map).
    #[prop_or_default]
    pub pin: Option<(f64, f64)>,
    pub on_saved: Callback<Order>,
    pub on_close: Callback<()>,
}

#[function_component(OrderForm)]
pub fn order_form(props: &OrderFormProps) -> Html {
    let config = use_client_config();
    let offset = props.offset;
    let form = use_reducer(|| FormState {
        values: values_of(props.order.as_ref(), offset),
        errors: BTreeMap::new(),
        general: Vec::new(),
        saving: false,
        geocode: Geocode::Idle,
        pinning: false,
        refusals: 0,
    });
    let root = use_node_ref();
    // The edited order's windows keep their own day.
    let date = props.order.as_ref().and_then(|o| o.time_windows.first()).map_or(props.date, |w| w.start.to_offset(offset).date());

    {
        // Focus the first input on open, and the first invalid one after a refusal.
        let (root, first_bad) = (root.clone(), FIELDS.iter().map(|(k, _, _)| *k).find(|k| form.errors.contains_key(k)));
        use_effect_with(form.refusals, move |_| {
            let id = input_id(first_bad.unwrap_or("recipient.name"));
            let el = root
                .cast::<web_sys::Element>()
                .and_then(|r| r.query_selector(&format!("#{id}")).ok().flatten())
                .and_then(|e| e.dyn_into::<HtmlElement>().ok());
            if let Some(el) = el {
                let _ = el.focus();
            }
        });
    }
    {
        let form = form.clone();
        use_effect_with(props.pin, move |pin| {
            if let Some((lat, lon)) = *pin {
                form.dispatch(FormAction::Place(lat, lon));
            }
        });
    }

    let on_submit = {
        let (form, token, order, on_saved) = (form.clone(), props.token.clone(), props.order.clone(), props.on_saved.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if form.saving {
                return;
            }
            let draft = match read_draft(&form.values, date, offset) {
                Ok(d) => d,
                Err(errors) => {
                    form.dispatch(FormAction::Refused(errors, vec!["Nothing was saved: fix the marked fields.".into()]));
                    return;
                }
            };
            form.dispatch(FormAction::Saving);
            let (form, token, order, on_saved) = (form.clone(), token.clone(), order.clone(), on_saved.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let result = match &order {
                    None => api::create_order(&token, &draft.into_new()).await,
                    Some(o) => api::update_order(&token, &o.id, &draft.into_patch(o.version)).await,
                };
                match result {
                    Ok(saved) => on_saved.emit(saved),
                    Err(e) => {
                        let (fields, general) = split_errors(&e);
                        // Field problems are shown at their inputs; say so once here.
                        let general = if fields.is_empty() { general } else { std::iter::once("Nothing was saved: fix the marked fields.".to_owned()).chain(general).collect() };
                        form.dispatch(FormAction::Refused(fields, general));
                    }
                }
            });
        })
    };
    let on_keydown = {
        let on_close = props.on_close.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                e.stop_propagation();
                on_close.emit(());
            }
        })
    };
    let on_cancel = {
        let on_close = props.on_close.clone();
        Callback::from(move |_: MouseEvent| on_close.emit(()))
    };
    let on_find = {
        let (form, url) = (form.clone(), props.geocoder_url.clone());
        Callback::from(move |_: MouseEvent| {
            let Some(url) = url.clone() else { return };
            let v = &form.values;
            let t = |k: &str| v.get(k).map_or(String::new(), |s| s.trim().to_owned());
            let query = [t("address.line1"), t("address.line2"), format!("{} {}", t("address.postcode"), t("address.city")).trim().to_owned(), t("address.country")]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", ");
            if query.is_empty() {
                form.dispatch(FormAction::Geocode(Geocode::Failed("Type the address first.".into())));
                return;
            }
            form.dispatch(FormAction::Geocode(Geocode::Searching));
            let form = form.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let answer = async {
                    let response = Request::get(&geocoder_request_url(&url, &query)).send().await.map_err(|e| format!("the geocoder could not be reached ({e})"))?;
                    if !response.ok() {
                        return Err(format!("the geocoder answered {}", response.status()));
                    }
                    let body: serde_json::Value = response.json().await.map_err(|e| format!("the geocoder's answer is not JSON ({e})"))?;
                    Ok(parse_candidates(&body))
                };
                form.dispatch(FormAction::Geocode(match answer.await {
                    Ok(found) if found.is_empty() => Geocode::Failed(format!("No place found for “{query}”. Check the address or pin it on the map.")),
                    Ok(found) => Geocode::Found(found),
                    Err(e) => Geocode::Failed(format!("Search failed: {e}.")),
                }));
            });
        })
    };
    let on_toggle_pin = {
        let form = form.clone();
        Callback::from(move |_: MouseEvent| form.dispatch(FormAction::TogglePin))
    };
    let on_map_click = {
        let form = form.clone();
        Callback::from(move |(lat, lon): (f64, f64)| form.dispatch(FormAction::Place(lat, lon)))
    };

    let field = |key: &'static str| -> Html {
        let (_, label, kind) = FIELDS.iter().find(|(k, _, _)| *k == key).copied().unwrap_or((key, key, Input::Text));
        let id = input_id(key);
        let error = form.errors.get(key).cloned();
        let value = form.values.get(key).cloned().unwrap_or_default();
        let error_id = format!("{id}-error");
        let oninput = {
            let form = form.clone();
            Callback::from(move |e: InputEvent| form.dispatch(FormAction::Set(key, e.target_unchecked_into::<HtmlInputElement>().value())))
        };
        let onchange = {
            let form = form.clone();
            Callback::from(move |e: Event| form.dispatch(FormAction::Set(key, e.target_unchecked_into::<HtmlInputElement>().value())))
        };
        let invalid = error.as_ref().map(|_| "true");
        let described = error.as_ref().map(|_| error_id.clone());
        let control = match kind {
            Input::Notes => html! {
                <textarea id={id.clone()} data-field={key} rows="2" value={value} oninput={oninput} aria-invalid={invalid} aria-describedby={described} />
            },
            Input::Priority => html! {
                <select id={id.clone()} data-field={key} onchange={onchange} aria-invalid={invalid} aria-describedby={described}>
                    { for PRIORITIES.iter().map(|(_, n)| html! { <option value={*n} selected={value == *n}>{ *n }</option> }) }
                </select>
            },
            _ => {
                let (ty, mode) = match kind {
                    Input::Tel => ("tel", None),
                    Input::Email => ("email", None),
                    Input::Time => ("time", None),
                    Input::Number => ("text", Some("decimal")),
                    _ => ("text", None),
                };
                let required = matches!(key, "recipient.name" | "address.line1" | "address.postcode" | "address.city" | "address.country");
                html! {
                    <input id={id.clone()} type={ty} inputmode={mode} data-field={key} value={value} {oninput}
                        aria-required={required.then_some("true")} aria-invalid={invalid} aria-describedby={described} />
                }
            }
        };
        html! {
            <div class={classes!("form-field", error.is_some().then_some("has-error"))}>
                <label for={id}>{ label }</label>
                { control }
                if let Some(message) = error {
                    <p class="field-error" id={error_id} data-error-for={key}>{ message }</p>
                }
            </div>
        }
    };

    let title = match &props.order {
        Some(o) => format!("Edit order {}", o.external_ref.clone().unwrap_or_else(|| o.id.to_string())),
        None => "New order".to_owned(),
    };
    let locked = props.order.as_ref().filter(|o| !o.is_editable()).map(|o| o.state());
    let lat: Option<f64> = form.values.get("address.lat").and_then(|s| s.trim().parse().ok());
    let lon: Option<f64> = form.values.get("address.lon").and_then(|s| s.trim().parse().ok());
    let pinned: Vec<MapMarker> = match (lat, lon) {
        (Some(lat), Some(lon)) => vec![MapMarker { lat, lon, label: "The order's address".into() }],
        _ => Vec::new(),
    };
    let center = lat.zip(lon).unwrap_or((config.map_center.lat, config.map_center.lon));
    let zoom = if pinned.is_empty() { config.map_zoom } else { 15.0 };

    html! {
        <section class="order-form" role="dialog" aria-labelledby="order-form-title" data-testid="order-form" ref={root} onkeydown={on_keydown}>
            <form onsubmit={on_submit} novalidate=true>
                <div class="import-head">
                    <h3 id="order-form-title">{ title }</h3>
                    <button type="button" class="link-button" onclick={on_cancel.clone()} aria-label="Close the order form">{"Close"}</button>
                </div>
                if let Some(state) = locked {
                    <p class="warning" role="status">{ format!("This order is {state}: the server no longer accepts changes to it.") }</p>
                }
                if !form.general.is_empty() {
                    <div class="error" role="alert" data-testid="order-form-error">
                        { for form.general.iter().map(|m| html! { <p>{ m }</p> }) }
                    </div>
                }
                <fieldset>
                    <legend>{"Recipient"}</legend>
                    { field("recipient.name") }{ field("recipient.phone") }{ field("recipient.email") }
                </fieldset>
                <fieldset>
                    <legend>{"Address"}</legend>
                    { field("address.line1") }{ field("address.line2") }{ field("address.postcode") }{ field("address.city") }{ field("address.country") }
                    <div class="form-row">{ field("address.lat") }{ field("address.lon") }</div>
                    <div class="form-row">
                        <button type="button" data-testid="geocode" onclick={on_find} disabled={props.geocoder_url.is_none() || form.geocode == Geocode::Searching}
                            title={if props.geocoder_url.is_none() { "Set a geocoder URL on the Setup page to search addresses" } else { "Search the address with the organisation's geocoder" }}>
                            { if form.geocode == Geocode::Searching { "Finding…" } else { "Find" } }
                        </button>
                        <button type="button" data-testid="pin-toggle" aria-pressed={form.pinning.to_string()} onclick={on_toggle_pin}>
                            { if form.pinning { "Hide map" } else { "Pin on map" } }
                        </button>
                    </div>
                    { match &form.geocode {
                        Geocode::Found(found) => html! {
                            <ul class="candidates" aria-label="Places found" data-testid="geocode-candidates">
                                { for found.iter().map(|c| {
                                    let onclick = {
                                        let (form, lat, lon) = (form.clone(), c.lat, c.lon);
                                        Callback::from(move |_: MouseEvent| form.dispatch(FormAction::Place(lat, lon)))
                                    };
                                    html! {
                                        <li><button type="button" data-testid="geocode-candidate" {onclick}>
                                            { format!("{} ({:.5}, {:.5})", c.label, c.lat, c.lon) }
                                        </button></li>
                                    }
                                }) }
                            </ul>
                        },
                        Geocode::Failed(m) => html! { <p class="error" role="alert" data-testid="geocode-error">{ m }</p> },
                        _ => html! {},
                    } }
                    if form.pinning {
                        <p class="muted">{"Click the map where the address is."}</p>
                        <div class="pin-map">
                            <MapView center={center} zoom={zoom} tile_url={config.tile_url.clone()} tile_attribution={config.tile_attribution.clone()}
                                markers={pinned} label="Pin the address" on_click={on_map_click} />
                        </div>
                    }
                </fieldset>
                <fieldset>
                    <legend>{"When"}</legend>
                    <div class="form-row">{ field("time_windows[0].start") }{ field("time_windows[0].end") }</div>
                    <div class="form-row">{ field("time_windows[1].start") }{ field("time_windows[1].end") }</div>
                    { field("service_time_min") }
                </fieldset>
                <fieldset>
                    <legend>{"Load and handling"}</legend>
                    <div class="form-row">{ field("demand[0]") }{ field("demand[1]") }{ field("demand[2]") }</div>
                    { field("priority") }{ field("required_skills") }{ field("external_ref") }{ field("instructions") }
                </fieldset>
                <div class="form-actions">
                    <button type="submit" class="primary" data-testid="order-save" disabled={form.saving}>
                        { if form.saving { "Saving…" } else if props.order.is_some() { "Save changes" } else { "Create order" } }
                    </button>
                    <button type="button" onclick={on_cancel}>{"Cancel"}</button>
                </div>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, offset};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn api_paths_land_on_their_inputs() {
        assert_eq!(field_for_path("time_windows[0].end"), Some("time_windows[0].end"));
        assert_eq!(field_for_path("time_windows[1]"), Some("time_windows[1].start"));
        assert_eq!(field_for_path("service_time_s"), Some("service_time_min"));
        assert_eq!(field_for_path("demand[2]"), Some("demand[2]"));
        assert_eq!(field_for_path("required_skills[0]"), Some("required_skills"));
        assert_eq!(field_for_path("recipient.email"), Some("recipient.email"));
        assert_eq!(field_for_path("pickup"), None);
    }

    #[test]
    fn the_form_reads_windows_on_the_day_and_refuses_unreadable_numbers() {
        let mut v = values_of(None, offset!(+1));
        v.insert("recipient.name", "Ann".into());
        v.insert("time_windows[0].start", "09:00".into());
        v.insert("time_windows[0].end", "11:30".into());
        v.insert("demand[0]", "2,5".into());
        let d = read_draft(&v, date!(2026 - 03 - 02), offset!(+1)).unwrap();
        assert_eq!(d.time_windows[0].start.to_string(), "2026-03-02 9:00:00.0 +01:00:00");
        assert_eq!(d.demand.weight_kg(), 2.5);
        v.insert("address.lat", "north".into());
        v.insert("time_windows[1].start", "13:00".into());
        let e = read_draft(&v, date!(2026 - 03 - 02), offset!(+1)).unwrap_err();
        assert!(e.contains_key("address.lat") && e.contains_key("time_windows[1].end"), "{e:?}");
    }

    #[test]
    fn nominatim_answers_become_candidates() {
        let body = serde_json::json!([{"lat": "45.7640", "lon": "4.8357", "display_name": "Place Bellecour, Lyon"}, {"lat": 1.5, "lon": 2}]);
        let c = parse_candidates(&body);
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].lat, c[0].lon, c[0].label.as_str()), (45.764, 4.8357, "Place Bellecour, Lyon"));
    }
}
