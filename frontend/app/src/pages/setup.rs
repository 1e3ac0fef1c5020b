//! Setup: the business the planner works with. Depots; vehicles (shift,
//! capacity, skills, costs, break); drivers (and their sign-in codes); the
//! organisation's defaults and settings (service time, delivery windows,
//! notification texts, map tiles, road travel times, geocoder, currency).
//! Every form shows the API's errors next to their fields and whether it has
//! unsaved changes; nothing is deleted, drivers and vehicles are deactivated.

use std::collections::BTreeSet;
use std::rc::Rc;

use doorstep_domain::api::ApiError;
use doorstep_domain::geo::{Address, LatLon};
use doorstep_domain::load::Load;
use doorstep_domain::notification::{TemplateOverride, Trigger};
use doorstep_domain::org::{NewDepot, NewDriver, Organisation, OrganisationFields};
use doorstep_domain::planning::{DEFAULT_CIRCUITY, DEFAULT_SPEED_KMH};
use doorstep_domain::time::LocalWindow;
use doorstep_domain::vehicle::{Break, NewVehicle};
use doorstep_domain::{Depot, DepotId, Driver, Vehicle, VehicleId};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::components::setup_form::{Control, Draft, Form, FormAction, Parse, field, form_message, optional, save_state};
use crate::routes::Route;
use crate::services::api;

// --- page state -------------------------------------------------------------

/// Which record an editor is open on.
#[derive(Clone, Debug, PartialEq)]
enum Open {
    None,
    New,
    Id(String),
}

#[derive(Clone, Debug, PartialEq)]
struct Setup {
    loading: bool,
    failed: Option<String>,
    organisation: Option<Organisation>,
    depots: Vec<Depot>,
    vehicles: Vec<Vehicle>,
    drivers: Vec<Driver>,
    depot: Open,
    vehicle: Open,
    driver: Open,
}

enum SetupAction {
    Loaded(Box<api::Business>),
    Failed(String),
    OpenDepot(Open),
    OpenVehicle(Open),
    OpenDriver(Open),
    DepotSaved(Depot),
    VehicleSaved(Vehicle),
    DriverSaved(Driver),
    OrganisationSaved(Organisation),
}

fn upsert<T: Clone>(list: &mut Vec<T>, item: T, same: impl Fn(&T) -> bool) {
    match list.iter().position(same) {
        Some(i) => list[i] = item,
        None => list.push(item),
    }
}

impl Reducible for Setup {
    type Action = SetupAction;

    fn reduce(self: Rc<Self>, action: SetupAction) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            SetupAction::Loaded(b) => {
                s.loading = false;
                s.failed = None;
                s.organisation = Some(b.organisation);
                s.depots = b.depots;
                s.vehicles = b.vehicles;
                s.drivers = b.drivers;
            }
            SetupAction::Failed(m) => {
                s.loading = false;
                s.failed = Some(m);
            }
            SetupAction::OpenDepot(o) => s.depot = o,
            SetupAction::OpenVehicle(o) => s.vehicle = o,
            SetupAction::OpenDriver(o) => s.driver = o,
            SetupAction::DepotSaved(d) => {
                s.depot = Open::Id(d.id.to_string());
                let id = d.id.clone();
                upsert(&mut s.depots, d, |x| x.id == id);
            }
            SetupAction::VehicleSaved(v) => {
                s.vehicle = Open::Id(v.id.to_string());
                let id = v.id.clone();
                upsert(&mut s.vehicles, v, |x| x.id == id);
            }
            SetupAction::DriverSaved(d) => {
                s.driver = Open::Id(d.id.to_string());
                let id = d.id.clone();
                upsert(&mut s.drivers, d, |x| x.id == id);
            }
            SetupAction::OrganisationSaved(o) => s.organisation = Some(o),
        }
        Rc::new(s)
    }
}

// --- helpers ----------------------------------------------------------------

fn draft(pairs: impl IntoIterator<Item = (String, String)>) -> Draft {
    pairs.into_iter().collect()
}

fn kv(k: &str, v: impl ToString) -> (String, String) {
    (k.to_owned(), v.to_string())
}

fn fmt_num(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Submits `body` through `call`, feeding the form and the page.
fn save<T: 'static, B: 'static>(
    form: &UseReducerHandle<Form>,
    body: Result<B, ApiError>,
    call: impl FnOnce(String, B) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, ApiError>>>> + 'static,
    done: impl FnOnce(T) + 'static,
) {
    let form = form.clone();
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            form.dispatch(FormAction::Failed(e));
            return;
        }
    };
    let Some(token) = api::stored_token() else {
        form.dispatch(FormAction::Failed(ApiError::new("unauthorized", "sign in again to save")));
        return;
    };
    form.dispatch(FormAction::Saving);
    wasm_bindgen_futures::spawn_local(async move {
        match call(token, body).await {
            Ok(saved) => done(saved),
            Err(e) => form.dispatch(FormAction::Failed(e)),
        }
    });
}

fn on_submit(run: impl Fn() + 'static) -> Callback<SubmitEvent> {
    Callback::from(move |e: SubmitEvent| {
        e.prevent_default();
        run();
    })
}

// --- depots -----------------------------------------------------------------

fn depot_draft(d: Option<&Depot>) -> Draft {
    match d {
        Some(d) => draft([
            kv("name", &d.name),
            kv("address.line1", &d.address.line1),
            kv("address.postcode", &d.address.postcode),
            kv("address.city", &d.address.city),
            kv("address.country", &d.address.country),
            kv("location.lat", fmt_num(d.location.lat)),
            kv("location.lon", fmt_num(d.location.lon)),
        ]),
        None => draft(["name", "address.line1", "address.postcode", "address.city", "location.lat", "location.lon"].map(|k| kv(k, "")).into_iter().chain([kv("address.country", "FR")])),
    }
}

fn depot_body(form: &Form, base: Option<&Depot>) -> Result<NewDepot, ApiError> {
    let mut p = Parse::default();
    let lat = p.number(form, "location.lat");
    let lon = p.number(form, "location.lon");
    p.finish()?;
    Ok(NewDepot {
        name: form.get("name"),
        address: Address {
            line1: form.get("address.line1"),
            line2: base.and_then(|d| d.address.line2.clone()),
            postcode: form.get("address.postcode"),
            city: form.get("address.city"),
            country: form.get("address.country").trim().to_owned(),
            lat: Some(lat),
            lon: Some(lon),
        },
        location: LatLon::new(lat, lon),
    })
}

#[derive(Properties, PartialEq)]
struct DepotEditorProps {
    depot: Option<Depot>,
    on_saved: Callback<Depot>,
    on_close: Callback<()>,
}

#[function_component(DepotEditor)]
fn depot_editor(props: &DepotEditorProps) -> Html {
    let form = use_reducer(Form::default);
    {
        let form = form.clone();
        use_effect_with(props.depot.clone(), move |d| form.dispatch(FormAction::Load(depot_draft(d.as_ref()))));
    }
    let submit = {
        let (form, depot, on_saved) = (form.clone(), props.depot.clone(), props.on_saved.clone());
        on_submit(move || {
            let body = depot_body(&form, depot.as_ref());
            let id = depot.as_ref().map(|d| d.id.clone());
            let (f, on_saved) = (form.clone(), on_saved.clone());
            save(&form, body, move |token, body| Box::pin(async move {
                match id {
                    Some(id) => api::update_depot(&token, &id, &body).await,
                    None => api::create_depot(&token, &body).await,
                }
            }), move |saved: Depot| {
                f.dispatch(FormAction::Saved(depot_draft(Some(&saved))));
                on_saved.emit(saved);
            });
        })
    };
    let f = |key: &str, label: &str, c: Control| field(&form, "depot", key, label, c, None);
    let title = if props.depot.is_some() { "Edit depot" } else { "New depot" };
    let close = props.on_close.reform(|_: MouseEvent| ());
    html! {
        <form class="setup-form" data-testid="depot-form" aria-label={title} onsubmit={submit} novalidate=true>
            <h3>{ title } { " " } { save_state(&form, "depot-save-state") }</h3>
            { form_message(&form) }
            { f("name", "Depot name", Control::Text) }
            { f("address.line1", "Street", Control::Text) }
            <div class="field-row">
                { f("address.postcode", "Postcode", Control::Text) }
                { f("address.city", "City", Control::Text) }
                { f("address.country", "Country (ISO code)", Control::Text) }
            </div>
            <div class="field-row">
                { f("location.lat", "Latitude", Control::Number) }
                { f("location.lon", "Longitude", Control::Number) }
            </div>
            <div class="form-actions">
                <button type="submit" class="primary" disabled={form.saving}>{ "Save depot" }</button>
                <button type="button" onclick={close}>{ "Close" }</button>
            </div>
        </form>
    }
}

// --- vehicles ---------------------------------------------------------------

fn vehicle_draft(v: Option<&Vehicle>, depots: &[Depot]) -> Draft {
    let new;
    let v = match v {
        Some(v) => v.to_new(),
        None => {
            let depot = depots.first();
            let start = depot.map(|d| d.location);
            new = NewVehicle {
                name: String::new(),
                plate: None,
                depot_id: depot.map(|d| d.id.clone()),
                capacity: Load(vec![500.0, 3000.0, 100.0]),
                shift: LocalWindow::new(doorstep_domain::time::TimeOfDay::hm(8, 0), doorstep_domain::time::TimeOfDay::hm(17, 0)),
                skills: BTreeSet::new(),
                start: start.unwrap_or(LatLon::new(0.0, 0.0)),
                end: start,
                cost_per_km: 0.0,
                cost_per_hour: 0.0,
                fixed_cost: 0.0,
                break_: None,
                co2_g_per_km: None,
                active: true,
            };
            new.clone()
        }
    };
    let cap = |i: usize| v.capacity.0.get(i).copied().map(fmt_num).unwrap_or_default();
    let (bs, be, bd) = match v.break_ {
        Some(b) => (b.window.start.to_string(), b.window.end.to_string(), (b.duration_s / 60).to_string()),
        None => ("12:00".into(), "14:00".into(), "30".into()),
    };
    draft([
        kv("name", &v.name),
        kv("plate", v.plate.clone().unwrap_or_default()),
        kv("depot_id", v.depot_id.as_ref().map(|d| d.to_string()).unwrap_or_default()),
        kv("capacity[0]", cap(0)),
        kv("capacity[1]", cap(1)),
        kv("capacity[2]", cap(2)),
        kv("shift.start", v.shift.start),
        kv("shift.end", v.shift.end),
        kv("skills", v.skills.iter().cloned().collect::<Vec<_>>().join(", ")),
        kv("start.lat", fmt_num(v.start.lat)),
        kv("start.lon", fmt_num(v.start.lon)),
        kv("round_trip", v.end.is_some()),
        kv("cost_per_km", fmt_num(v.cost_per_km)),
        kv("cost_per_hour", fmt_num(v.cost_per_hour)),
        kv("fixed_cost", fmt_num(v.fixed_cost)),
        kv("break", v.break_.is_some()),
        kv("break.window.start", bs),
        kv("break.window.end", be),
        kv("break.duration_s", bd),
        kv("active", v.active),
    ])
}

fn vehicle_body(form: &Form, base: Option<&Vehicle>) -> Result<NewVehicle, ApiError> {
    let mut p = Parse::default();
    let capacity = Load((0..3).map(|i| p.number(form, &format!("capacity[{i}]"))).collect());
    let shift = LocalWindow::new(p.time(form, "shift.start"), p.time(form, "shift.end"));
    let start = LatLon::new(p.number(form, "start.lat"), p.number(form, "start.lon"));
    let costs = ["cost_per_km", "cost_per_hour", "fixed_cost"].map(|k| p.number(form, k));
    let break_ = if form.flag("break") {
        let window = LocalWindow::new(p.time(form, "break.window.start"), p.time(form, "break.window.end"));
        let minutes = p.number(form, "break.duration_s");
        Some(Break { window, duration_s: (minutes.max(0.0) * 60.0).round() as u32 })
    } else {
        None
    };
    p.finish()?;
    let skills = form.get("skills").split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    Ok(NewVehicle {
        name: form.get("name"),
        plate: optional(form, "plate"),
        depot_id: optional(form, "depot_id").and_then(|d| DepotId::new(d).ok()),
        capacity,
        shift,
        skills,
        start,
        end: form.flag("round_trip").then_some(start),
        cost_per_km: costs[0],
        cost_per_hour: costs[1],
        fixed_cost: costs[2],
        break_,
        co2_g_per_km: base.and_then(|v| v.co2_g_per_km),
        active: form.flag("active"),
    })
}

#[derive(Properties, PartialEq)]
struct VehicleEditorProps {
    vehicle: Option<Vehicle>,
    depots: Vec<Depot>,
    on_saved: Callback<Vehicle>,
    on_close: Callback<()>,
}

#[function_component(VehicleEditor)]
fn vehicle_editor(props: &VehicleEditorProps) -> Html {
    let form = use_reducer(Form::default);
    {
        let (form, depots) = (form.clone(), props.depots.clone());
        use_effect_with(props.vehicle.clone(), move |v| form.dispatch(FormAction::Load(vehicle_draft(v.as_ref(), &depots))));
    }
    let submit = {
        let (form, vehicle, on_saved, depots) = (form.clone(), props.vehicle.clone(), props.on_saved.clone(), props.depots.clone());
        on_submit(move || {
            let body = vehicle_body(&form, vehicle.as_ref());
            let id = vehicle.as_ref().map(|v| v.id.clone());
            let (f, on_saved, depots) = (form.clone(), on_saved.clone(), depots.clone());
            save(&form, body, move |token, body| Box::pin(async move {
                match id {
                    Some(id) => api::update_vehicle(&token, &id, &body).await,
                    None => api::create_vehicle(&token, &body).await,
                }
            }), move |saved: Vehicle| {
                f.dispatch(FormAction::Saved(vehicle_draft(Some(&saved), &depots)));
                on_saved.emit(saved);
            });
        })
    };
    // Choosing a depot places the vehicle there.
    let use_depot = {
        let (form, depots) = (form.clone(), props.depots.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(d) = depots.iter().find(|d| d.id.as_str() == form.get("depot_id")) {
                form.dispatch(FormAction::Set("start.lat".into(), fmt_num(d.location.lat)));
                form.dispatch(FormAction::Set("start.lon".into(), fmt_num(d.location.lon)));
            }
        })
    };
    let f = |key: &str, label: &str, c: Control| field(&form, "vehicle", key, label, c, None);
    let depot_options: Vec<(String, String)> =
        std::iter::once((String::new(), "No home depot".to_owned())).chain(props.depots.iter().map(|d| (d.id.to_string(), d.name.clone()))).collect();
    let title = if props.vehicle.is_some() { "Edit vehicle" } else { "New vehicle" };
    let close = props.on_close.reform(|_: MouseEvent| ());
    html! {
        <form class="setup-form" data-testid="vehicle-form" aria-label={title} onsubmit={submit} novalidate=true>
            <h3>{ title } { " " } { save_state(&form, "vehicle-save-state") }</h3>
            { form_message(&form) }
            <div class="field-row">
                { f("name", "Vehicle name", Control::Text) }
                { f("plate", "Plate", Control::Text) }
            </div>
            <div class="field-row">
                { f("depot_id", "Home depot", Control::Select(depot_options)) }
                <button type="button" class="link" onclick={use_depot}>{ "Start at this depot" }</button>
            </div>
            <div class="field-row">
                { f("start.lat", "Start latitude", Control::Number) }
                { f("start.lon", "Start longitude", Control::Number) }
                { f("round_trip", "Returns to its start", Control::Checkbox) }
            </div>
            <fieldset>
                <legend>{ "Shift" }</legend>
                <div class="field-row">
                    { f("shift.start", "Shift start", Control::Time) }
                    { f("shift.end", "Shift end", Control::Time) }
                </div>
            </fieldset>
            <fieldset>
                <legend>{ "Capacity" }</legend>
                <div class="field-row">
                    { f("capacity[0]", "Weight (kg)", Control::Number) }
                    { f("capacity[1]", "Volume (l)", Control::Number) }
                    { f("capacity[2]", "Items", Control::Number) }
                </div>
            </fieldset>
            { field(&form, "vehicle", "skills", "Skills", Control::Text, Some("Comma-separated, e.g. tail_lift, refrigerated")) }
            <fieldset>
                <legend>{ "Costs" }</legend>
                <div class="field-row">
                    { f("cost_per_km", "Cost per km", Control::Number) }
                    { f("cost_per_hour", "Cost per hour", Control::Number) }
                    { f("fixed_cost", "Fixed cost per route", Control::Number) }
                </div>
            </fieldset>
            <fieldset>
                <legend>{ "Break" }</legend>
                { f("break", "Takes a break", Control::Checkbox) }
                if form.flag("break") {
                    <div class="field-row">
                        { f("break.window.start", "Break from", Control::Time) }
                        { f("break.window.end", "Break until", Control::Time) }
                        { f("break.duration_s", "Break length (min)", Control::Number) }
                    </div>
                }
            </fieldset>
            { field(&form, "vehicle", "active", "Active", Control::Checkbox, Some("Inactive vehicles are kept (past routes name them) but not planned.")) }
            <div class="form-actions">
                <button type="submit" class="primary" disabled={form.saving}>{ "Save vehicle" }</button>
                <button type="button" onclick={close}>{ "Close" }</button>
            </div>
        </form>
    }
}

// --- drivers ----------------------------------------------------------------

fn driver_draft(d: Option<&Driver>) -> Draft {
    let new = d.map(Driver::to_new).unwrap_or(NewDriver { name: String::new(), phone: String::new(), email: None, vehicle_id: None, active: true });
    draft([
        kv("name", &new.name),
        kv("phone", &new.phone),
        kv("email", new.email.clone().unwrap_or_default()),
        kv("vehicle_id", new.vehicle_id.as_ref().map(|v| v.to_string()).unwrap_or_default()),
        kv("active", new.active),
    ])
}

fn driver_body(form: &Form) -> NewDriver {
    NewDriver {
        name: form.get("name"),
        phone: form.get("phone"),
        email: optional(form, "email"),
        vehicle_id: optional(form, "vehicle_id").and_then(|v| VehicleId::new(v).ok()),
        active: form.flag("active"),
    }
}

#[derive(Properties, PartialEq)]
struct DriverEditorProps {
    driver: Option<Driver>,
    vehicles: Vec<Vehicle>,
    on_saved: Callback<Driver>,
    on_close: Callback<()>,
}

#[function_component(DriverEditor)]
fn driver_editor(props: &DriverEditorProps) -> Html {
    let form = use_reducer(Form::default);
    let codes = use_state(|| None::<Result<doorstep_domain::auth::SignInCodes, String>>);
    {
        let (form, codes) = (form.clone(), codes.clone());
        use_effect_with(props.driver.clone(), move |d| {
            form.dispatch(FormAction::Load(driver_draft(d.as_ref())));
            codes.set(None);
        });
    }
    let submit = {
        let (form, driver, on_saved) = (form.clone(), props.driver.clone(), props.on_saved.clone());
        on_submit(move || {
            let body = Ok(driver_body(&form));
            let id = driver.as_ref().map(|d| d.id.clone());
            let (f, on_saved) = (form.clone(), on_saved.clone());
            save(&form, body, move |token, body| Box::pin(async move {
                match id {
                    Some(id) => api::update_driver(&token, &id, &body).await,
                    None => api::create_driver(&token, &body).await,
                }
            }), move |saved: Driver| {
                f.dispatch(FormAction::Saved(driver_draft(Some(&saved))));
                on_saved.emit(saved);
            });
        })
    };
    let issue = {
        let (codes, driver) = (codes.clone(), props.driver.clone());
        Callback::from(move |_: MouseEvent| {
            let (Some(token), Some(driver)) = (api::stored_token(), driver.clone()) else { return };
            let codes = codes.clone();
            wasm_bindgen_futures::spawn_local(async move {
                codes.set(Some(api::issue_sign_in_codes(&token, &driver.id).await.map_err(|e| e.message)));
            });
        })
    };
    let f = |key: &str, label: &str, c: Control| field(&form, "driver", key, label, c, None);
    let vehicle_options: Vec<(String, String)> = std::iter::once((String::new(), "No usual vehicle".to_owned()))
        .chain(props.vehicles.iter().map(|v| (v.id.to_string(), if v.active { v.name.clone() } else { format!("{} (inactive)", v.name) })))
        .collect();
    let title = if props.driver.is_some() { "Edit driver" } else { "New driver" };
    let close = props.on_close.reform(|_: MouseEvent| ());
    html! {
        <form class="setup-form" data-testid="driver-form" aria-label={title} onsubmit={submit} novalidate=true>
            <h3>{ title } { " " } { save_state(&form, "driver-save-state") }</h3>
            { form_message(&form) }
            <div class="field-row">
                { f("name", "Driver name", Control::Text) }
                { f("phone", "Phone", Control::Tel) }
                { f("email", "Email", Control::Email) }
            </div>
            { f("vehicle_id", "Usual vehicle", Control::Select(vehicle_options)) }
            { field(&form, "driver", "active", "Active", Control::Checkbox, Some("Inactive drivers are kept (past routes name them) but not planned.")) }
            <div class="form-actions">
                <button type="submit" class="primary" disabled={form.saving}>{ "Save driver" }</button>
                if props.driver.is_some() {
                    <button type="button" onclick={issue}>{ "Issue sign-in code" }</button>
                }
                <button type="button" onclick={close}>{ "Close" }</button>
            </div>
            {
                match &*codes {
                    Some(Ok(c)) => html! {
                        <p class="sign-in-codes" data-testid="sign-in-codes" role="status">
                            { format!("PIN {} · link ", c.pin) }
                            <code>{ format!("/driver?token={}", c.token) }</code>
                            { format!(" · valid until {:02}:{:02} UTC", c.expires_at.hour(), c.expires_at.minute()) }
                        </p>
                    },
                    Some(Err(m)) => html! { <p class="error" role="alert">{ m.clone() }</p> },
                    None => html! {},
                }
            }
        </form>
    }
}

// --- organisation -----------------------------------------------------------

fn windows_text(windows: &[LocalWindow]) -> String {
    windows.iter().map(|w| format!("{}-{}", w.start, w.end)).collect::<Vec<_>>().join(", ")
}

fn org_draft(o: &Organisation) -> Draft {
    let s = &o.settings;
    let mut d = draft([
        kv("name", &o.name),
        kv("timezone", &o.timezone),
        kv("default_service_time_s", fmt_num(f64::from(o.default_service_time_s) / 60.0)),
        kv("default_time_windows", windows_text(&o.default_time_windows)),
        kv("settings.currency", &s.currency),
        kv("settings.tile_url", &s.tile_url),
        kv("settings.osrm_table_url", s.osrm_table_url.clone().unwrap_or_default()),
        kv("settings.geocoder_url", s.geocoder_url.clone().unwrap_or_default()),
        kv("templates", s.notifications.templates.len()),
    ]);
    for (i, t) in s.notifications.templates.iter().enumerate() {
        let p = format!("settings.notifications.templates[{i}]");
        d.insert(format!("{p}.trigger"), t.trigger.as_str().to_owned());
        d.insert(format!("{p}.language"), t.language.clone());
        d.insert(format!("{p}.subject"), t.subject.clone());
        d.insert(format!("{p}.body"), t.body.clone());
    }
    d
}

fn org_body(form: &Form, base: &Organisation) -> Result<OrganisationFields, ApiError> {
    let mut p = Parse::default();
    let minutes = p.number(form, "default_service_time_s");
    let mut windows = Vec::new();
    for (i, part) in form.get("default_time_windows").split(',').map(str::trim).filter(|s| !s.is_empty()).enumerate() {
        match part.split_once('-').map(|(a, b)| (a.trim().parse(), b.trim().parse())) {
            Some((Ok(start), Ok(end))) => windows.push(LocalWindow::new(start, end)),
            _ => p.errors.push(doorstep_domain::FieldError {
                path: format!("default_time_windows[{i}]"),
                code: "invalid_format".into(),
                message: format!("{part:?} is not a window such as 09:00-12:00"),
            }),
        }
    }
    let mut templates = Vec::new();
    let count: usize = form.get("templates").parse().unwrap_or(0);
    for i in 0..count {
        let k = |f: &str| form.get(&format!("settings.notifications.templates[{i}].{f}"));
        if k("subject").trim().is_empty() && k("body").trim().is_empty() {
            continue; // cleared: removed
        }
        let trigger = Trigger::ALL.into_iter().find(|t| t.as_str() == k("trigger")).unwrap_or(Trigger::Dispatched);
        templates.push(TemplateOverride { trigger, language: k("language"), subject: k("subject"), body: k("body") });
    }
    p.finish()?;
    let mut settings = base.settings.clone();
    settings.currency = form.get("settings.currency").trim().to_owned();
    settings.tile_url = form.get("settings.tile_url").trim().to_owned();
    settings.osrm_table_url = optional(form, "settings.osrm_table_url");
    settings.geocoder_url = optional(form, "settings.geocoder_url");
    settings.notifications.templates = templates;
    Ok(OrganisationFields {
        name: form.get("name"),
        timezone: form.get("timezone").trim().to_owned(),
        default_service_time_s: (minutes.max(0.0) * 60.0).round() as u32,
        default_time_windows: windows,
        settings,
    })
}

#[derive(Properties, PartialEq)]
struct OrgEditorProps {
    organisation: Organisation,
    on_saved: Callback<Organisation>,
}

#[function_component(OrgEditor)]
fn org_editor(props: &OrgEditorProps) -> Html {
    let form = use_reducer(Form::default);
    {
        let form = form.clone();
        use_effect_with(props.organisation.clone(), move |o| form.dispatch(FormAction::Load(org_draft(o))));
    }
    let submit = {
        let (form, org, on_saved) = (form.clone(), props.organisation.clone(), props.on_saved.clone());
        on_submit(move || {
            let body = org_body(&form, &org);
            let (f, on_saved) = (form.clone(), on_saved.clone());
            save(&form, body, move |token, body| Box::pin(async move { api::update_organisation(&token, &body).await }), move |saved: Organisation| {
                f.dispatch(FormAction::Saved(org_draft(&saved)));
                on_saved.emit(saved);
            });
        })
    };
    let add_template = {
        let form = form.clone();
        Callback::from(move |_: MouseEvent| {
            let n: usize = form.get("templates").parse().unwrap_or(0);
            let p = format!("settings.notifications.templates[{n}]");
            form.dispatch(FormAction::Set(format!("{p}.trigger"), "dispatched".into()));
            form.dispatch(FormAction::Set(format!("{p}.language"), "en".into()));
            form.dispatch(FormAction::Set("templates".into(), (n + 1).to_string()));
        })
    };
    let f = |key: &str, label: &str, c: Control, hint: Option<&str>| field(&form, "org", key, label, c, hint);
    let count: usize = form.get("templates").parse().unwrap_or(0);
    let triggers: Vec<(String, String)> = Trigger::ALL.iter().map(|t| (t.as_str().to_owned(), t.as_str().to_owned())).collect();
    let languages: Vec<(String, String)> = [("en", "English"), ("fr", "French")].iter().map(|(c, n)| ((*c).to_owned(), (*n).to_owned())).collect();
    let osrm = optional(&form, "settings.osrm_table_url");
    let assumption = match &osrm {
        Some(url) => format!("Road travel times from the OSRM table service at {url}; if it cannot be reached, planning falls back to straight-line distance × {DEFAULT_CIRCUITY} ÷ {DEFAULT_SPEED_KMH} km/h."),
        None => format!("Travel times are estimated: straight-line (haversine) distance × {DEFAULT_CIRCUITY} circuity ÷ {DEFAULT_SPEED_KMH} km/h average speed. Set an OSRM table URL for road travel times."),
    };
    html! {
        <form class="setup-form" data-testid="org-form" aria-label="Organisation settings" onsubmit={submit} novalidate=true>
            <h3>{ "Organisation" } { " " } { save_state(&form, "org-save-state") }</h3>
            { form_message(&form) }
            <div class="field-row">
                { f("name", "Organisation name", Control::Text, None) }
                { f("timezone", "Time zone", Control::Text, Some("IANA name, e.g. Europe/Paris")) }
                { f("settings.currency", "Currency", Control::Text, Some("ISO 4217, e.g. EUR")) }
            </div>
            <div class="field-row">
                { f("default_service_time_s", "Default service time (min)", Control::Number, Some("For orders that give none")) }
                { f("default_time_windows", "Default delivery windows", Control::Text, Some("e.g. 09:00-12:00, 13:00-17:00; offered when an order gives none")) }
            </div>
            <fieldset>
                <legend>{ "Map, travel times and addresses" }</legend>
                { f("settings.tile_url", "Map tile URL", Control::Url, Some("Must contain {z}, {x} and {y}")) }
                { f("settings.osrm_table_url", "OSRM table URL (optional)", Control::Url, Some("An OSRM-compatible table service, e.g. https://osrm.example.com/table/v1/driving/")) }
                <p class="muted travel-assumption" data-testid="travel-assumption">{ assumption }</p>
                { f("settings.geocoder_url", "Geocoder URL (optional)", Control::Url, Some("A Nominatim-compatible search endpoint, e.g. https://nominatim.example.com/search")) }
            </fieldset>
            <fieldset>
                <legend>{ "Notification templates" }</legend>
                <p class="muted">{ "Replace the default text for one trigger in one language. Placeholders as in the defaults. Clear subject and body to remove one." }</p>
                { for (0..count).map(|i| {
                    let p = format!("settings.notifications.templates[{i}]");
                    html! {
                        <div class="template-row" data-testid="template-row">
                            <div class="field-row">
                                { f(&format!("{p}.trigger"), &format!("Template {} trigger", i + 1), Control::Select(triggers.clone()), None) }
                                { f(&format!("{p}.language"), &format!("Template {} language", i + 1), Control::Select(languages.clone()), None) }
                            </div>
                            { f(&format!("{p}.subject"), &format!("Template {} subject", i + 1), Control::Text, None) }
                            { f(&format!("{p}.body"), &format!("Template {} text", i + 1), Control::TextArea, None) }
                        </div>
                    }
                }) }
                <button type="button" onclick={add_template}>{ "Add a template" }</button>
            </fieldset>
            <div class="form-actions">
                <button type="submit" class="primary" disabled={form.saving}>{ "Save settings" }</button>
            </div>
        </form>
    }
}

// --- the page ---------------------------------------------------------------

/// The page's own styles (kept here so the shared stylesheet stays untouched).
const SETUP_CSS: &str = "
.setup-page { padding: 1rem 1.5rem; max-width: 72rem; overflow: auto; }
.setup-section { margin-bottom: 2rem; }
.setup-form { border: 1px solid #cbd5e1; border-radius: 8px; padding: 0.75rem 1rem; margin: 0.75rem 0; background: #f8fafc; }
.setup-form h3 { display: flex; align-items: center; gap: 0.75rem; margin: 0 0 0.5rem; }
.setup-form fieldset { border: 1px solid #e2e8f0; border-radius: 6px; margin: 0.5rem 0; }
.setup-form .field { display: flex; flex-direction: column; gap: 0.2rem; margin: 0.35rem 0; min-width: 10rem; flex: 1; }
.setup-form .field-check { flex-direction: row; align-items: center; flex-wrap: wrap; }
.setup-form .field-row { display: flex; flex-wrap: wrap; gap: 0.75rem; align-items: flex-end; }
.setup-form .field-invalid input, .setup-form .field-invalid select, .setup-form .field-invalid textarea { border-color: #dc2626; outline-color: #dc2626; }
.setup-form .field-error { font-size: 0.85rem; }
.setup-form .form-actions { display: flex; gap: 0.5rem; margin-top: 0.5rem; }
.setup-form :focus-visible { outline: 2px solid #2563eb; outline-offset: 1px; }
.save-state { font-size: 0.8rem; font-weight: normal; padding: 0.1rem 0.5rem; border-radius: 999px; background: #e2e8f0; }
.save-state.dirty { background: #fef3c7; }
.save-state.saved { background: #dcfce7; }
.save-state.failed { background: #fee2e2; }
.setup-page tr.inactive { color: #6b7280; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
";

fn saved<T: 'static>(state: &UseReducerHandle<Setup>, make: fn(T) -> SetupAction) -> Callback<T> {
    let state = state.clone();
    Callback::from(move |x: T| state.dispatch(make(x)))
}

#[function_component(SetupPage)]
pub fn setup_page() -> Html {
    let navigator = use_navigator();
    let state = use_reducer(|| Setup {
        loading: true,
        failed: None,
        organisation: None,
        depots: Vec::new(),
        vehicles: Vec::new(),
        drivers: Vec::new(),
        depot: Open::None,
        vehicle: Open::None,
        driver: Open::None,
    });
    {
        let (state, navigator) = (state.clone(), navigator.clone());
        use_effect_with((), move |_| match api::stored_token() {
            None => {
                if let Some(n) = navigator {
                    n.push(&Route::Login);
                }
            }
            Some(token) => wasm_bindgen_futures::spawn_local(async move {
                match api::business(&token).await {
                    Ok(b) => state.dispatch(SetupAction::Loaded(Box::new(b))),
                    Err(e) => state.dispatch(SetupAction::Failed(e.message)),
                }
            }),
        });
    }
    let s = &*state;
    let open = |make: fn(Open) -> SetupAction, o: Open| {
        let state = state.clone();
        Callback::from(move |_: MouseEvent| state.dispatch(make(o.clone())))
    };
    let close = |make: fn(Open) -> SetupAction| {
        let state = state.clone();
        Callback::from(move |_: ()| state.dispatch(make(Open::None)))
    };

    let body = if s.loading {
        html! { <p class="muted" role="status">{ "Loading…" }</p> }
    } else if let Some(m) = &s.failed {
        html! { <p class="error" role="alert">{ format!("Setup could not be loaded: {m}") }</p> }
    } else {
        let depot_names = |id: Option<&DepotId>| id.and_then(|id| s.depots.iter().find(|d| &d.id == id)).map_or("–".to_owned(), |d| d.name.clone());
        let vehicle_name = |id: Option<&VehicleId>| id.and_then(|id| s.vehicles.iter().find(|v| &v.id == id)).map_or("–".to_owned(), |v| v.name.clone());
        let editing_depot = match &s.depot { Open::Id(id) => s.depots.iter().find(|d| d.id.as_str() == id).cloned(), _ => None };
        let editing_vehicle = match &s.vehicle { Open::Id(id) => s.vehicles.iter().find(|v| v.id.as_str() == id).cloned(), _ => None };
        let editing_driver = match &s.driver { Open::Id(id) => s.drivers.iter().find(|d| d.id.as_str() == id).cloned(), _ => None };
        html! {
            <>
            <section class="setup-section" aria-labelledby="depots-h" data-testid="setup-depots">
                <h2 id="depots-h">{ "Depots" }</h2>
                <table class="report-table">
                    <thead><tr><th>{ "Name" }</th><th>{ "Address" }</th><th>{ "Location" }</th><th><span class="sr-only">{ "Actions" }</span></th></tr></thead>
                    <tbody>{ for s.depots.iter().map(|d| html! {
                        <tr data-testid="depot-row">
                            <td>{ d.name.clone() }</td>
                            <td>{ format!("{}, {} {}", d.address.line1, d.address.postcode, d.address.city) }</td>
                            <td>{ format!("{:.4}, {:.4}", d.location.lat, d.location.lon) }</td>
                            <td><button type="button" class="link" onclick={open(SetupAction::OpenDepot, Open::Id(d.id.to_string()))} aria-label={format!("Edit depot {}", d.name)}>{ "Edit" }</button></td>
                        </tr>
                    }) }</tbody>
                </table>
                <button type="button" onclick={open(SetupAction::OpenDepot, Open::New)}>{ "Add a depot" }</button>
                if s.depot != Open::None {
                    <DepotEditor depot={editing_depot} on_saved={saved(&state, SetupAction::DepotSaved)} on_close={close(SetupAction::OpenDepot)} />
                }
            </section>
            <section class="setup-section" aria-labelledby="vehicles-h" data-testid="setup-vehicles">
                <h2 id="vehicles-h">{ "Vehicles" }</h2>
                <table class="report-table">
                    <thead><tr><th>{ "Name" }</th><th>{ "Depot" }</th><th>{ "Shift" }</th><th>{ "Capacity (kg / l / items)" }</th><th>{ "Skills" }</th><th>{ "Break" }</th><th>{ "Costs (km / h / fixed)" }</th><th>{ "Status" }</th><th><span class="sr-only">{ "Actions" }</span></th></tr></thead>
                    <tbody>{ for s.vehicles.iter().map(|v| html! {
                        <tr data-testid="vehicle-row" class={classes!((!v.active).then_some("inactive"))}>
                            <td>{ v.name.clone() }</td>
                            <td>{ depot_names(v.depot_id.as_ref()) }</td>
                            <td>{ format!("{}–{}", v.shift.start, v.shift.end) }</td>
                            <td>{ v.capacity.0.iter().map(|c| fmt_num(*c)).collect::<Vec<_>>().join(" / ") }</td>
                            <td>{ v.skills.iter().cloned().collect::<Vec<_>>().join(", ") }</td>
                            <td>{ v.break_.map_or("–".to_owned(), |b| format!("{} min in {}–{}", b.duration_s / 60, b.window.start, b.window.end)) }</td>
                            <td>{ format!("{} / {} / {}", fmt_num(v.cost_per_km), fmt_num(v.cost_per_hour), fmt_num(v.fixed_cost)) }</td>
                            <td>{ if v.active { "active" } else { "inactive" } }</td>
                            <td><button type="button" class="link" onclick={open(SetupAction::OpenVehicle, Open::Id(v.id.to_string()))} aria-label={format!("Edit vehicle {}", v.name)}>{ "Edit" }</button></td>
                        </tr>
                    }) }</tbody>
                </table>
                <button type="button" onclick={open(SetupAction::OpenVehicle, Open::New)}>{ "Add a vehicle" }</button>
                if s.vehicle != Open::None {
                    <VehicleEditor vehicle={editing_vehicle} depots={s.depots.clone()} on_saved={saved(&state, SetupAction::VehicleSaved)} on_close={close(SetupAction::OpenVehicle)} />
                }
            </section>
            <section class="setup-section" aria-labelledby="drivers-h" data-testid="setup-drivers">
                <h2 id="drivers-h">{ "Drivers" }</h2>
                <table class="report-table">
                    <thead><tr><th>{ "Name" }</th><th>{ "Phone" }</th><th>{ "Email" }</th><th>{ "Vehicle" }</th><th>{ "Status" }</th><th><span class="sr-only">{ "Actions" }</span></th></tr></thead>
                    <tbody>{ for s.drivers.iter().map(|d| html! {
                        <tr data-testid="driver-row" class={classes!((!d.active).then_some("inactive"))}>
                            <td>{ d.name.clone() }</td>
                            <td>{ d.phone.clone() }</td>
                            <td>{ d.email.clone().unwrap_or_default() }</td>
                            <td>{ vehicle_name(d.vehicle_id.as_ref()) }</td>
                            <td>{ if d.active { "active" } else { "inactive" } }</td>
                            <td><button type="button" class="link" onclick={open(SetupAction::OpenDriver, Open::Id(d.id.to_string()))} aria-label={format!("Edit driver {}", d.name)}>{ "Edit" }</button></td>
                        </tr>
                    }) }</tbody>
                </table>
                <button type="button" onclick={open(SetupAction::OpenDriver, Open::New)}>{ "Add a driver" }</button>
                if s.driver != Open::None {
                    <DriverEditor driver={editing_driver} vehicles={s.vehicles.clone()} on_saved={saved(&state, SetupAction::DriverSaved)} on_close={close(SetupAction::OpenDriver)} />
                }
            </section>
            <section class="setup-section" aria-labelledby="org-h" data-testid="setup-organisation">
                <h2 id="org-h">{ "Organisation settings" }</h2>
                if let Some(o) = &s.organisation {
                    <OrgEditor organisation={o.clone()} on_saved={saved(&state, SetupAction::OrganisationSaved)} />
                }
            </section>
            </>
        }
    };

    html! {
        <div class="layout layout-setup">
            <header class="topbar">
                <h1>{ "Doorstep" }</h1>
                <span class="topbar-subtitle">{ "Setup" }</span>
                <Link<Route> to={Route::Dispatcher} classes="link-button">{ "Plan" }</Link<Route>>
                <Link<Route> to={Route::Live} classes="link-button">{ "Live" }</Link<Route>>
                <Link<Route> to={Route::Reports} classes="link-button">{ "Reports" }</Link<Route>>
            </header>
            <style>{ SETUP_CSS }</style>
            <main class="setup-page" data-testid="setup-page" data-page="setup">
                { body }
            </main>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisation_form_round_trips_the_demo_settings() {
        let demo = doorstep_domain::demo::demo_business(time::macros::date!(2026 - 03 - 02), time::UtcOffset::UTC);
        let form = Form { baseline: org_draft(&demo.organisation), draft: org_draft(&demo.organisation), ..Form::default() };
        let fields = org_body(&form, &demo.organisation).expect("readable");
        assert_eq!(demo.organisation.with_fields(fields), demo.organisation);
    }

    #[test]
    fn vehicle_form_round_trips_a_demo_vehicle() {
        let demo = doorstep_domain::demo::demo_business(time::macros::date!(2026 - 03 - 02), time::UtcOffset::UTC);
        for v in &demo.vehicles {
            let d = vehicle_draft(Some(v), &demo.depots);
            let form = Form { baseline: d.clone(), draft: d, ..Form::default() };
            let new = vehicle_body(&form, Some(v)).expect("readable");
            assert_eq!(Vehicle::from_new(v.id.clone(), v.org_id.clone(), new), *v, "{}", v.name);
        }
    }

    #[test]
    fn unreadable_numbers_are_reported_at_their_field() {
        let mut d = depot_draft(None);
        d.insert("location.lat".into(), "north".into());
        let form = Form { draft: d, ..Form::default() };
        let e = depot_body(&form, None).unwrap_err();
        assert_eq!(e.details.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), ["location.lat", "location.lon"]);
    }
}
