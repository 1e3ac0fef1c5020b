//! How the deliveries went: on-time rate, deliveries per shift, failures,
//! planned against actual, cost, ratings and cash, for a date range and
//! optionally one driver. Every table downloads as CSV.

use std::rc::Rc;

use doorstep_domain::Driver;
use doorstep_domain::api::ApiError;
use doorstep_domain::reports::Report;
use time::{Date, Duration};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::components::{Chart, ChartKind, Series};
use crate::routes::Route;
use crate::services::api;

#[derive(Clone, Debug, PartialEq)]
struct Filter {
    from: Date,
    to: Date,
    driver: Option<String>,
}

impl Filter {
    fn query(&self) -> String {
        let mut q = format!("from={}&to={}", self.from, self.to);
        if let Some(d) = &self.driver {
            q.push_str(&format!("&drivers={d}"));
        }
        q
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Loaded {
    Pending,
    Ready(Rc<Report>),
    Failed(String),
}

/// What each figure means; the same text as ARCHITECTURE.md.
pub const DEFINITIONS: [(&str, &str); 10] = [
    ("On-time rate", "Deliveries made inside the order's time window (both ends included), or inside the ETA window told at dispatch when the order had none. Early and late deliveries are counted apart."),
    ("Average delivery time", "From the start of the route that carried the order to the delivered event, in the driver's device time."),
    ("Deliveries per shift", "Delivered orders per driver and day."),
    ("First-attempt success", "Orders delivered on their first attempt, over every first attempt (delivered or failed)."),
    ("Actual distance", "The sum of the driver's GPS moves on the route, ignoring moves within GPS noise. Routes without pings use the planned distance for cost and CO2."),
    ("Cost per delivery", "Each route's fixed cost + cost per km × distance + cost per hour × duration (route start to last stop), over deliveries."),
    ("Ratings", "1 to 5 stars left by customers on their tracking page; one per order."),
    ("Cash on delivery", "Amounts due on delivered orders against the amounts drivers recorded; mismatched orders are listed."),
    ("Idle time and speeding", "Idle: 3 minutes or more below 0.5 m/s away from any stop. Speeding: a run of pings above 50 km/h + 10%."),
    ("CO2", "Distance × the vehicle's grams of CO2 per km (for electric vehicles, the grid's)."),
];

/// Today on the browser's clock (std's clock panics on wasm32).
fn today() -> Date {
    let now = js_sys::Date::new_0();
    let month = time::Month::try_from(now.get_month() as u8 + 1).unwrap_or(time::Month::January);
    Date::from_calendar_date(now.get_full_year() as i32, month, now.get_date() as u8).unwrap_or(Date::MIN)
}

fn km(m: f64) -> f64 {
    m / 1000.0
}

fn pct(rate: doorstep_domain::reports::Rate) -> String {
    rate.percent().map_or("–".into(), |p| format!("{p:.0}%"))
}

/// Fetches one table as CSV with the bearer token and saves it as a file.
async fn download_csv(token: String, table: &'static str, filter: Filter) -> Result<(), String> {
    let path = format!("/api/reports/export/{table}?{}", filter.query());
    let text = api::get_text(&token, &path).await.map_err(|e| e.message)?;
    let filename = format!("doorstep-{table}-{}-{}.csv", filter.from, filter.to);
    crate::services::download::download(&filename, "text/csv", &text).map_err(|_| "cannot save the file")?;
    Ok(())
}

#[function_component(ReportsPage)]
pub fn reports_page() -> Html {
    let navigator = use_navigator();
    let token = api::stored_token();
    let filter = use_state(|| Filter { from: today() - Duration::days(6), to: today(), driver: None });
    let loaded = use_state(|| Loaded::Pending);
    let drivers = use_state(Vec::<Driver>::new);
    let notice = use_state(|| None::<String>);

    {
        let (token, drivers) = (token.clone(), drivers.clone());
        use_effect_with((), move |_| {
            if let Some(token) = token {
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok(list) = api::get::<Vec<Driver>>(&token, "/api/drivers").await {
                        drivers.set(list);
                    }
                });
            }
        });
    }
    {
        let (token, loaded, navigator) = (token.clone(), loaded.clone(), navigator.clone());
        use_effect_with((*filter).clone(), move |filter| {
            let filter = filter.clone();
            match token {
                None => {
                    if let Some(n) = navigator {
                        n.push(&Route::Login);
                    }
                }
                Some(token) => {
                    loaded.set(Loaded::Pending);
                    wasm_bindgen_futures::spawn_local(async move {
                        let result: Result<Report, ApiError> = api::get(&token, &format!("/api/reports?{}", filter.query())).await;
                        loaded.set(match result {
                            Ok(r) => Loaded::Ready(Rc::new(r)),
                            Err(e) => Loaded::Failed(e.message),
                        });
                    });
                }
            }
        });
    }

    let on_date = |which: &'static str| {
        let filter = filter.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let Ok(date) = Date::parse(&input.value(), &time::macros::format_description!("[year]-[month]-[day]")) else { return };
            let mut next = (*filter).clone();
            if which == "from" { next.from = date } else { next.to = date }
            filter.set(next);
        })
    };
    let on_driver = {
        let filter = filter.clone();
        Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            let mut next = (*filter).clone();
            next.driver = Some(select.value()).filter(|v| !v.is_empty());
            filter.set(next);
        })
    };
    let download = |table: &'static str| {
        let (token, filter, notice) = (token.clone(), (*filter).clone(), notice.clone());
        Callback::from(move |_: MouseEvent| {
            let (token, filter, notice) = (token.clone(), filter.clone(), notice.clone());
            let Some(token) = token else { return };
            wasm_bindgen_futures::spawn_local(async move {
                notice.set(download_csv(token, table, filter).await.err().map(|e| format!("Download failed: {e}")));
            });
        })
    };
    let driver_name = |id: &str| drivers.iter().find(|d| d.id.as_str() == id).map_or(id.to_owned(), |d| d.name.clone());

    let body = match &*loaded {
        Loaded::Pending => html! { <p class="muted" role="status">{ "Loading the report…" }</p> },
        Loaded::Failed(message) => html! { <p class="error" role="alert">{ format!("The report could not be loaded: {message}") }</p> },
        Loaded::Ready(report) => {
            let r = report.as_ref();
            let days: Vec<String> = r.on_time_by_day.iter().map(|d| d.date.to_string()[5..].to_owned()).collect();
            let shift_labels: Vec<String> =
                r.shifts.iter().map(|s| format!("{} {}", driver_name(s.driver_id.as_str()).split(' ').next().unwrap_or(""), &s.date.to_string()[5..])).collect();
            let route_labels: Vec<String> = r.routes.iter().map(|x| format!("{} {}", driver_name(x.driver_id.as_str()).split(' ').next().unwrap_or(""), &x.date.to_string()[5..])).collect();
            html! {
                <>
                <section class="kpis" aria-label="Key figures">
                    <div class="kpi" data-testid="kpi-on-time"><span class="kpi-value">{ pct(r.on_time) }</span><span class="kpi-label">{ "on time" }</span></div>
                    <div class="kpi" data-testid="kpi-delivered"><span class="kpi-value">{ r.delivered }</span><span class="kpi-label">{ format!("delivered, {} failed", r.failed) }</span></div>
                    <div class="kpi"><span class="kpi-value">{ r.average_delivery_time_s.map_or("–".into(), |s| format!("{:.0} min", s / 60.0)) }</span><span class="kpi-label">{ "average delivery time" }</span></div>
                    <div class="kpi"><span class="kpi-value">{ pct(r.first_attempt_success) }</span><span class="kpi-label">{ "first-attempt success" }</span></div>
                    <div class="kpi"><span class="kpi-value">{ r.cost_per_delivery.map_or("–".into(), |c| format!("{c:.2}")) }</span><span class="kpi-label">{ "cost per delivery" }</span></div>
                    <div class="kpi"><span class="kpi-value">{ r.rating_average.map_or("–".into(), |a| format!("{a:.1} ★")) }</span><span class="kpi-label">{ format!("{} ratings", r.rating_count) }</span></div>
                    <div class="kpi"><span class="kpi-value">{ format!("{:.1} kg", r.co2_kg) }</span><span class="kpi-label">{ "CO2" }</span></div>
                </section>
                <div class="chart-grid">
                    <Chart testid="chart-on-time" title="On-time rate by day" kind={ChartKind::Lines} y_label="%" y_max={Some(100.0)}
                        labels={days} series={vec![Series { name: "on time %".into(), color: "#16a34a", values: r.on_time_by_day.iter().map(|d| d.on_time.percent().unwrap_or(0.0)).collect() }]} />
                    <Chart testid="chart-shifts" title="Deliveries per driver per shift" kind={ChartKind::Bars} y_label="orders"
                        labels={shift_labels.clone()} series={vec![
                            Series { name: "delivered".into(), color: "#2563eb", values: r.shifts.iter().map(|s| f64::from(s.delivered)).collect() },
                            Series { name: "failed".into(), color: "#dc2626", values: r.shifts.iter().map(|s| f64::from(s.failed)).collect() },
                        ]} />
                    <Chart testid="chart-failures" title="Failure reasons" kind={ChartKind::Bars} y_label="attempts"
                        labels={r.failure_reasons.iter().map(|(reason, _)| reason.label().to_owned()).collect::<Vec<_>>()}
                        series={vec![Series { name: "failed".into(), color: "#dc2626", values: r.failure_reasons.iter().map(|(_, n)| f64::from(*n)).collect() }]} />
                    <Chart testid="chart-distance" title="Planned and actual distance per route" kind={ChartKind::Bars} y_label="km"
                        labels={route_labels.clone()} series={vec![
                            Series { name: "planned".into(), color: "#94a3b8", values: r.routes.iter().map(|x| km(x.planned_distance_m)).collect() },
                            Series { name: "actual".into(), color: "#2563eb", values: r.routes.iter().map(|x| x.actual_distance_m.map_or(0.0, km)).collect() },
                        ]} />
                    <Chart testid="chart-duration" title="Planned and actual duration per route" kind={ChartKind::Bars} y_label="min"
                        labels={route_labels.clone()} series={vec![
                            Series { name: "planned".into(), color: "#94a3b8", values: r.routes.iter().map(|x| f64::from(x.planned_duration_s) / 60.0).collect() },
                            Series { name: "actual".into(), color: "#9333ea", values: r.routes.iter().map(|x| x.actual_duration_s.map_or(0.0, |s| s as f64 / 60.0)).collect() },
                        ]} />
                    <Chart testid="chart-cost" title="Cost per delivery by route" kind={ChartKind::Bars} y_label="cost"
                        labels={route_labels} series={vec![Series { name: "cost per delivery".into(), color: "#ea580c",
                            values: r.routes.iter().map(|x| if x.delivered > 0 { x.cost / f64::from(x.delivered) } else { 0.0 }).collect() }]} />
                    <Chart testid="chart-ratings" title="Customer ratings" kind={ChartKind::Bars} y_label="ratings"
                        labels={(1..=5).map(|s| format!("{s} ★")).collect::<Vec<_>>()}
                        series={vec![Series { name: "ratings".into(), color: "#ca8a04", values: r.rating_histogram.iter().map(|n| f64::from(*n)).collect() }]} />
                </div>
                <section aria-labelledby="shifts-h">
                    <h2 id="shifts-h">{ "Shifts" } <button class="link" onclick={download("shifts")}>{ "Download CSV" }</button></h2>
                    <table class="report-table" data-testid="table-shifts">
                        <thead><tr><th>{"Driver"}</th><th>{"Day"}</th><th>{"Delivered"}</th><th>{"Failed"}</th><th>{"On time"}</th><th>{"Distance"}</th><th>{"Idle"}</th><th>{"Speeding"}</th></tr></thead>
                        <tbody>{ for r.shifts.iter().map(|s| html! {
                            <tr><td>{ driver_name(s.driver_id.as_str()) }</td><td>{ s.date.to_string() }</td><td>{ s.delivered }</td><td>{ s.failed }</td>
                                <td>{ pct(s.on_time) }</td><td>{ format!("{:.1} km", km(s.distance_m)) }</td><td>{ format!("{} min", s.idle_s / 60) }</td><td>{ s.speeding_events }</td></tr>
                        }) }</tbody>
                    </table>
                </section>
                <section aria-labelledby="routes-h">
                    <h2 id="routes-h">{ "Routes" } <button class="link" onclick={download("routes")}>{ "Download CSV" }</button></h2>
                    <table class="report-table" data-testid="table-routes">
                        <thead><tr><th>{"Driver"}</th><th>{"Day"}</th><th>{"Stops"}</th><th>{"Planned km"}</th><th>{"Actual km"}</th><th>{"Cost"}</th><th>{"CO2 kg"}</th></tr></thead>
                        <tbody>{ for r.routes.iter().map(|x| html! {
                            <tr><td>{ driver_name(x.driver_id.as_str()) }</td><td>{ x.date.to_string() }</td><td>{ x.delivered + x.failed }</td>
                                <td>{ format!("{:.1}", km(x.planned_distance_m)) }</td><td>{ x.actual_distance_m.map_or("–".into(), |m| format!("{:.1}", km(m))) }</td>
                                <td>{ format!("{:.2}", x.cost) }</td><td>{ x.co2_kg.map_or("–".into(), |c| format!("{c:.2}")) }</td></tr>
                        }) }</tbody>
                    </table>
                </section>
                <section aria-labelledby="cod-h">
                    <h2 id="cod-h">{ "Cash on delivery" } <button class="link" onclick={download("cash_on_delivery")}>{ "Download CSV" }</button></h2>
                    <table class="report-table" data-testid="table-cod">
                        <thead><tr><th>{"Driver"}</th><th>{"Due"}</th><th>{"Collected"}</th><th>{"Mismatched orders"}</th></tr></thead>
                        <tbody>{ for r.cod.iter().map(|c| html! {
                            <tr><td>{ driver_name(c.driver_id.as_str()) }</td><td>{ format!("{:.2} {}", c.due_minor as f64 / 100.0, c.currency) }</td>
                                <td>{ format!("{:.2} {}", c.collected_minor as f64 / 100.0, c.currency) }</td>
                                <td>{ c.mismatched_orders.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(", ") }</td></tr>
                        }) }</tbody>
                    </table>
                    <p class="downloads">
                        { "More CSV: " }
                        <button class="link" onclick={download("failure_reasons")}>{ "failure reasons" }</button>{ " · " }
                        <button class="link" onclick={download("on_time_by_day")}>{ "on time by day" }</button>{ " · " }
                        <button class="link" onclick={download("ratings")}>{ "ratings" }</button>
                    </p>
                </section>
                </>
            }
        }
    };

    html! {
        <main class="reports-page" data-testid="reports-page">
            <header class="reports-header">
                <h1>{ "Reports" }</h1>
                <Link<Route> to={Route::Dispatcher} classes="link">{ "← Back to planning" }</Link<Route>>
            </header>
            <form class="report-filter" aria-label="Report range" onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())}>
                <label>{ "From " }<input type="date" data-testid="report-from" value={filter.from.to_string()} onchange={on_date("from")} /></label>
                <label>{ "To " }<input type="date" data-testid="report-to" value={filter.to.to_string()} onchange={on_date("to")} /></label>
                <label>{ "Driver " }
                    <select data-testid="report-driver" onchange={on_driver}>
                        <option value="" selected={filter.driver.is_none()}>{ "All drivers" }</option>
                        { for drivers.iter().map(|d| html! { <option value={d.id.to_string()} selected={filter.driver.as_deref() == Some(d.id.as_str())}>{ d.name.clone() }</option> }) }
                    </select>
                </label>
            </form>
            if let Some(message) = &*notice { <p class="error" role="alert">{ message.clone() }</p> }
            { body }
            <details class="definitions">
                <summary>{ "What these figures mean" }</summary>
                <dl>{ for DEFINITIONS.iter().map(|(term, text)| html! { <><dt>{ *term }</dt><dd>{ *text }</dd></> }) }</dl>
            </details>
        </main>
    }
}
