//! One simulated delivery day against a running `doorstep serve`, through
//! its HTTP API only: orders in (CSV import and a JSON batch), a plan made
//! by the optimizer natively (as the dispatcher's browser does) then saved
//! and published, and every driver playing their route with noise: speeds
//! that drop in rush hours, service times that vary, ~5% failed attempts.
//! Every GPS ping (in batches, as the driver app sends them) and every stop
//! event goes through the API; the figures come from what the server
//! answered and from the notification log sink.
//!
//! Clocks: the server refuses pings dated more than 5 minutes after its own
//! clock, so the day simulated is yesterday (Lyon time). Driver actions
//! carry device times the server stores as given. Live ETAs, however, start
//! from the server's clock (`max(now, latest ping)`), so for a past day they
//! are re-anchored to the latest ping's time: see [`reanchored_etas`].

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};
use doorstep_domain::api::{Page, PlanVersion};
use doorstep_domain::dispatch::PublishedPlan;
use doorstep_domain::order::Money;
use doorstep_domain::planning::{PlanningInput, TravelSettings, build_problem};
use doorstep_domain::pod::{ArriveAtStop, CashCollected, CompleteStop, FailStop, GeoTag, PaymentMethod, StartRoute};
use doorstep_domain::time::TimeWindow;
use doorstep_domain::tracking::{PingBatch, PingBatchResult, PingOutcome, RouteProgress, TrackingPing, eta_window};
use doorstep_domain::{Depot, Driver, FailureReason, LatLon, NewOrder, Order, OrderState, Organisation, Plan, ProofOfDelivery, Route, Vehicle};
use doorstep_optimizer::{Control, FnClock, Objective, SolverConfig};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::{Date, Duration, OffsetDateTime, UtcOffset};

use super::city::{self, Rng};
use crate::serve_client::Connection;

/// The window customers are told at dispatch: planned arrival ± 15 min
/// (as `doorstep-core` tells them).
const DISPATCH_HALF_WIDTH_S: i64 = 15 * 60;
/// When the live ETA is read: this long before the actual arrival.
const LIVE_LEAD_S: i64 = 30 * 60;
/// Share of attempts that fail, and of those, the share "customer absent".
const FAIL_RATE: f64 = 0.05;
const ABSENT_SHARE: f64 = 0.6;
const OTHER_REASONS: [FailureReason; 5] = [
    FailureReason::RecipientRefused,
    FailureReason::AddressInaccessible,
    FailureReason::BusinessClosed,
    FailureReason::WrongAddress,
    FailureReason::NoSafePlace,
];
/// How long a notification may take to appear in the log sink.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Config {
    pub drivers: usize,
    pub orders: usize,
    pub seed: u64,
    /// Simulated seconds between two pings of a driver.
    pub ping_every_s: i64,
    /// Pings per upload (an action sends what is queued first).
    pub batch: usize,
    /// Optimizer iterations: a fixed budget keeps the plan the same for a seed.
    pub iterations: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self { drivers: 5, orders: 150, seed: 7, ping_every_s: 30, batch: 4, iterations: 2_000 }
    }
}

/// A `doorstep serve` seeded with [`city::city`] and its dispatcher.
pub struct Target<'a> {
    pub host: &'a str,
    /// Its `--data` directory, where `notifications.jsonl` is written.
    pub data: &'a Path,
    pub password: &'a str,
}

/// What the day gave.
#[derive(Debug, Default)]
pub struct Report {
    pub date: Option<Date>,
    pub orders: usize,
    pub routes: usize,
    pub planned: usize,
    pub unassigned: usize,
    /// Final order states, read back through the API.
    pub states: BTreeMap<String, usize>,
    pub failures_by_reason: BTreeMap<String, usize>,
    /// Deliveries inside their window (the order's, or the one told at dispatch).
    pub on_time: usize,
    pub early: usize,
    pub late: usize,
    /// |actual arrival - planned arrival| per visited stop, minutes.
    pub dispatch_eta_error_min: Vec<f64>,
    /// Mean of actual - planned arrival, minutes (positive: later than planned).
    pub dispatch_eta_bias_min: f64,
    /// |actual arrival - live ETA| read ~30 min before arrival, minutes.
    pub live_eta_error_min: Vec<f64>,
    /// Lines of the notification log sink, by trigger.
    pub notifications: BTreeMap<String, usize>,
    pub pings: usize,
    pub ping_batches: usize,
    pub rejected_pings: usize,
    pub requests: usize,
    /// Every non-2xx answer, as `METHOD path: status body`.
    pub api_errors: Vec<String>,
    pub solve_ms: u128,
    pub optimizer_iterations: u64,
}

impl Report {
    pub fn delivered(&self) -> usize {
        self.states.get("delivered").copied().unwrap_or(0)
    }

    pub fn failed(&self) -> usize {
        self.states.get("failed").copied().unwrap_or(0)
    }

    pub fn notified(&self, trigger: &str) -> usize {
        self.notifications.get(trigger).copied().unwrap_or(0)
    }

    pub fn on_time_pct(&self) -> f64 {
        let n = self.on_time + self.early + self.late;
        if n == 0 { 0.0 } else { 100.0 * self.on_time as f64 / n as f64 }
    }
}

/// The `p` quantile (0-1) of `values`, nearest rank; 0 when empty.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
}

/// The API with every answer counted: a non-2xx is an API error.
struct Api {
    conn: Connection,
    requests: usize,
    errors: Vec<String>,
}

impl Api {
    fn send(&mut self, method: &str, path: &str, token: Option<&str>, key: Option<&str>, content_type: &str, body: &str) -> anyhow::Result<(u16, String)> {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(a) = &auth {
            headers.push(("Authorization", a));
        }
        if let Some(k) = key {
            headers.push(("Idempotency-Key", k));
        }
        let (status, answer) = self.conn.send(method, path, content_type, &headers, body).with_context(|| format!("{method} {path}"))?;
        self.requests += 1;
        if !(200..300).contains(&status) {
            let short: String = answer.chars().take(300).collect();
            self.errors.push(format!("{method} {path}: {status} {short}"));
        }
        Ok((status, answer))
    }

    /// A request whose answer the run needs: a non-2xx stops the run.
    fn json<T: DeserializeOwned>(&mut self, method: &str, path: &str, token: Option<&str>, key: Option<&str>, body: &str) -> anyhow::Result<T> {
        let (status, answer) = self.send(method, path, token, key, "application/json", body)?;
        if !(200..300).contains(&status) {
            bail!("{method} {path} answered {status}: {answer}");
        }
        serde_json::from_str(&answer).with_context(|| format!("{method} {path}: unexpected answer {answer}"))
    }

    /// A driver action: counted, never fatal, so the day goes on.
    fn action<T: Serialize>(&mut self, path: &str, token: &str, key: &str, body: &T) -> anyhow::Result<bool> {
        let (status, _) = self.send("POST", path, Some(token), Some(key), "application/json", &serde_json::to_string(body)?)?;
        Ok((200..300).contains(&status))
    }
}

/// The notification log sink (`DATA/notifications.jsonl`), read as it grows.
struct NotificationLog {
    path: PathBuf,
    read: usize,
    by_trigger: BTreeMap<String, usize>,
    keys: HashSet<String>,
}

impl NotificationLog {
    fn new(data: &Path) -> Self {
        Self { path: data.join("notifications.jsonl"), read: 0, by_trigger: BTreeMap::new(), keys: HashSet::new() }
    }

    fn refresh(&mut self) -> anyhow::Result<()> {
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e).with_context(|| format!("read {}", self.path.display())),
        };
        // Only whole lines: the sink may be writing the next one.
        let Some(end) = text.iter().rposition(|b| *b == b'\n').map(|i| i + 1) else { return Ok(()) };
        if end <= self.read {
            return Ok(());
        }
        for line in String::from_utf8_lossy(&text[self.read..end]).lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line).with_context(|| format!("a line of {}: {line}", self.path.display()))?;
            let event = &v["event"];
            let trigger = event["trigger"].as_str().context("notification without event.trigger")?.to_owned();
            *self.by_trigger.entry(trigger).or_default() += 1;
            if let Some(key) = event["event_key"].as_str() {
                self.keys.insert(key.to_owned());
            }
        }
        self.read = end;
        Ok(())
    }

    fn count(&self, trigger: &str) -> usize {
        self.by_trigger.get(trigger).copied().unwrap_or(0)
    }

    /// Waits (up to [`DRAIN_TIMEOUT`]) until `done` holds.
    fn wait(&mut self, done: impl Fn(&Self) -> bool) -> anyhow::Result<bool> {
        let started = Instant::now();
        loop {
            self.refresh()?;
            if done(self) {
                return Ok(true);
            }
            if started.elapsed() > DRAIN_TIMEOUT {
                return Ok(false);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// A stretch of a driver's day: moving from `from` to `to`, or standing
/// at `to` when both are the same.
#[derive(Debug, Clone, Copy)]
struct Segment {
    t0: OffsetDateTime,
    t1: OffsetDateTime,
    from: LatLon,
    to: LatLon,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Start,
    Arrive(usize),
    Complete(usize),
    Fail(usize, FailureReason),
}

/// One driver's day as it really goes, drawn before it is played.
struct DriverDay {
    route: Route,
    token: String,
    start: OffsetDateTime,
    end: OffsetDateTime,
    segments: Vec<Segment>,
    actions: Vec<(OffsetDateTime, Act)>,
    /// Per stop: actual arrival, and when it was delivered (None: failed).
    arrivals: Vec<OffsetDateTime>,
    delivered_at: Vec<Option<OffsetDateTime>>,
}

/// Traffic: road speed relative to the plan's 25 km/h by local hour.
fn traffic(local_hour: f64) -> f64 {
    match local_hour {
        h if (7.5..9.5).contains(&h) => 0.65,
        h if (16.5..19.0).contains(&h) => 0.7,
        h if (11.75..14.0).contains(&h) => 0.9,
        _ => 1.05,
    }
}

fn local_hour(t: OffsetDateTime, offset: UtcOffset) -> f64 {
    let l = t.to_offset(offset);
    f64::from(l.hour()) + f64::from(l.minute()) / 60.0 + f64::from(l.second()) / 3600.0
}

/// The window a stop is held to, as `doorstep-core` does: the order's
/// window the plan aimed at, or the one told at dispatch.
fn stop_window(order: &Order, planned_arrival: OffsetDateTime) -> TimeWindow {
    order
        .time_windows
        .iter()
        .find(|w| w.end >= planned_arrival)
        .or(order.time_windows.last())
        .copied()
        .unwrap_or_else(|| eta_window(planned_arrival, DISPATCH_HALF_WIDTH_S))
}

fn draw_day(
    rng: &mut Rng,
    route: &Route,
    vehicle: &Vehicle,
    orders: &BTreeMap<String, Order>,
    org: &Organisation,
    date: Date,
    offset: UtcOffset,
) -> anyhow::Result<DriverDay> {
    let travel = TravelSettings::default();
    let planned_mps = travel.speed_kmh / 3.6;
    let delay_s = (180.0 + 240.0 * rng.normal()).clamp(-300.0, 1200.0);
    let mut t = route.planned_start + Duration::seconds_f64(delay_s);
    let start = t;
    let mut at = vehicle.start;
    let (mut segments, mut actions) = (Vec::new(), vec![(t, Act::Start)]);
    let (mut arrivals, mut delivered_at) = (Vec::new(), Vec::new());
    let mut pause = vehicle.break_.map(|b| (b.window.start.on(date, offset), Duration::seconds(i64::from(b.duration_s))));
    let drive = |rng: &mut Rng, t: &mut OffsetDateTime, from: LatLon, to: LatLon, segments: &mut Vec<Segment>| {
        let road_m = from.distance_m(to) * travel.circuity;
        let mps = planned_mps * traffic(local_hour(*t, offset)) * rng.lognormal_factor(0.2);
        let t0 = *t;
        *t += Duration::seconds_f64(road_m / mps);
        segments.push(Segment { t0, t1: *t, from, to });
    };
    for (k, stop) in route.stops.iter().enumerate() {
        let order = orders.get(stop.order_id.as_str()).with_context(|| format!("order {} of the plan was not listed", stop.order_id))?;
        drive(rng, &mut t, at, stop.location, &mut segments);
        at = stop.location;
        arrivals.push(t);
        actions.push((t, Act::Arrive(k)));
        let arrived = t;
        // Early: wait for the window the customer holds (the order's, or
        // the ETA told at dispatch), as the server's ETAs assume.
        t = t.max(stop_window(order, stop.planned_arrival).start);
        if rng.unit() < FAIL_RATE {
            let reason = if rng.unit() < ABSENT_SHARE { FailureReason::RecipientAbsent } else { OTHER_REASONS[rng.below(OTHER_REASONS.len())] };
            t += Duration::seconds_f64(150.0 * rng.lognormal_factor(0.4));
            actions.push((t, Act::Fail(k, reason)));
            delivered_at.push(None);
        } else {
            let planned = f64::from(order.service_time_or(org.default_service_time_s));
            t += Duration::seconds_f64(planned * rng.lognormal_factor(0.35));
            actions.push((t, Act::Complete(k)));
            delivered_at.push(Some(t));
        }
        if let Some((from, length)) = pause
            && t >= from
        {
            t += length;
            pause = None;
        }
        segments.push(Segment { t0: arrived, t1: t, from: at, to: at });
    }
    drive(rng, &mut t, at, vehicle.end.unwrap_or(vehicle.start), &mut segments);
    Ok(DriverDay { route: route.clone(), token: String::new(), start, end: t, segments, actions, arrivals, delivered_at })
}

/// Where the driver is at `t`, with a little GPS noise.
fn fix(rng: &mut Rng, day: &DriverDay, t: OffsetDateTime) -> (LatLon, f64, Option<f64>) {
    let s = day.segments.iter().find(|s| s.t0 <= t && t <= s.t1).or(day.segments.last()).copied();
    let Some(s) = s else { return (LatLon::new(0.0, 0.0), 0.0, None) };
    let span = (s.t1 - s.t0).as_seconds_f64();
    let f = if span > 0.0 { ((t - s.t0).as_seconds_f64() / span).clamp(0.0, 1.0) } else { 1.0 };
    let moving = s.from != s.to;
    let (lat, lon) = (s.from.lat + (s.to.lat - s.from.lat) * f, s.from.lon + (s.to.lon - s.from.lon) * f);
    let noise_m = 4.0;
    let lat = lat + rng.normal() * noise_m / 111_320.0;
    let lon = lon + rng.normal() * noise_m / (111_320.0 * lat.to_radians().cos());
    let speed = if moving && span > 0.0 { s.from.distance_m(s.to) * TravelSettings::default().circuity / span } else { 0.0 };
    let heading = moving.then(|| {
        let (dy, dx) = (s.to.lat - s.from.lat, (s.to.lon - s.from.lon) * s.from.lat.to_radians().cos());
        dx.atan2(dy).to_degrees().rem_euclid(360.0)
    });
    (LatLon::new(lat, lon), speed.min(40.0), heading)
}

/// The server's ETAs as they would have been had the batch arrived live.
///
/// `doorstep-core` starts a route's ETAs at `max(server now, latest ping)`
/// and then chains travel, waiting for each window's start, and service. On
/// a past day `now` wins, so every ETA is shifted by the upload's lateness
/// (`progress.updated_at - latest ping`) and no window wait applies. Here the
/// first ETA is moved back by that lag and the chain is replayed with the
/// same steps the server used (each ETA minus the previous stop's start of
/// service), waiting for window starts again. Nothing else is estimated.
pub fn reanchored_etas(progress: &RouteProgress, latest_ping: OffsetDateTime) -> Vec<(String, OffsetDateTime)> {
    let lag = progress.updated_at - latest_ping.min(progress.updated_at);
    let mut out = Vec::with_capacity(progress.etas.len());
    let mut previous: Option<(OffsetDateTime, OffsetDateTime)> = None; // (server's service start, ours)
    for e in &progress.etas {
        let eta = match previous {
            None => e.eta - lag,
            Some((server_start, ours)) => ours + (e.eta - server_start),
        };
        let window_start = e.window.map(|w| w.start);
        let starts = |t: OffsetDateTime| window_start.map_or(t, |w| t.max(w));
        previous = Some((starts(e.eta), starts(eta)));
        out.push((e.stop_id.to_string(), eta));
    }
    out
}

struct Played {
    pending: Vec<TrackingPing>,
    seq: u64,
    latest: Option<OffsetDateTime>,
    eta_read: Vec<bool>,
    done: Vec<bool>,
}

pub fn run(config: &Config, target: &Target<'_>, progress: &mut dyn FnMut(&str)) -> anyhow::Result<Report> {
    if config.drivers == 0 || config.orders == 0 || config.batch == 0 || config.ping_every_s <= 0 {
        bail!("need at least one driver, one order, a batch of one ping and a positive ping interval");
    }
    let wall = Instant::now();
    let mut rng = Rng::new(config.seed);
    let mut api = Api { conn: Connection::open(target.host)?, requests: 0, errors: Vec::new() };
    let mut log = NotificationLog::new(target.data);
    let mut report = Report::default();

    let login = serde_json::json!({"email": city::DISPATCHER_EMAIL, "password": target.password}).to_string();
    let session: serde_json::Value = api.json("POST", "/api/auth/login", None, None, &login)?;
    let dispatcher = session["access_token"].as_str().context("access_token")?.to_owned();
    let d = Some(dispatcher.as_str());
    let org: Organisation = api.json("GET", "/api/organisation", d, None, "")?;
    let depots: Vec<Depot> = api.json("GET", "/api/depots", d, None, "")?;
    let vehicles: Vec<Vehicle> = api.json("GET", "/api/vehicles", d, None, "")?;
    let drivers: Vec<Driver> = api.json("GET", "/api/drivers", d, None, "")?;
    let depot = depots.first().context("the city has no depot")?;
    let (date, offset) = city::simulated_date(OffsetDateTime::now_utc());
    report.date = Some(date);

    // Orders in: cash-on-delivery ones and every other one as JSON, the rest as a spreadsheet.
    let news = city::orders(&mut rng, config.orders, date);
    let (mut json_orders, mut csv_orders): (Vec<NewOrder>, Vec<NewOrder>) = (Vec::new(), Vec::new());
    for (i, o) in news.into_iter().enumerate() {
        if o.cash_on_delivery.is_some() || i % 2 == 1 { json_orders.push(o) } else { csv_orders.push(o) }
    }
    if !csv_orders.is_empty() {
        let path = format!("/api/orders/import?date={date}&utc_offset={}", offset_text(offset));
        let (status, answer) = api.send("POST", &path, d, Some("sim-import-csv"), "text/csv", &city::csv(&csv_orders, offset))?;
        if status != 201 {
            bail!("CSV import answered {status}: {answer}");
        }
    }
    for (i, chunk) in json_orders.chunks(500).enumerate() {
        let body = serde_json::json!({ "orders": chunk }).to_string();
        let _: serde_json::Value = api.json("POST", "/api/orders", d, Some(&format!("sim-import-json-{i}")), &body)?;
    }
    let mut orders = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = format!("/api/orders?state=created&limit=200{}", cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default());
        let page: Page<Order> = api.json("GET", &path, d, None, "")?;
        orders.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    // Ids are partly random; the order of the problem's jobs must not be, or
    // the same seed would plan (and so play) a different day.
    orders.sort_by(|a, b| a.external_ref.cmp(&b.external_ref));
    report.orders = orders.len();
    if orders.len() != config.orders {
        bail!("{} orders were sent but {} are listed as created", config.orders, orders.len());
    }
    progress(&format!("{} orders in ({} by CSV import, {} as JSON) for {date}", orders.len(), csv_orders.len(), json_orders.len()));

    // The plan, made as the dispatcher's browser makes it, then saved and published.
    let input = PlanningInput {
        depot,
        vehicles: &vehicles,
        drivers: &drivers,
        orders: &orders,
        date,
        utc_offset: offset,
        default_service_time_s: org.default_service_time_s,
        travel: TravelSettings::default(),
    };
    let problem = build_problem(&input).map_err(|e| anyhow::anyhow!("build the planning problem: {e}"))?;
    let solver = SolverConfig { seed: rng.next_u64(), max_iterations: Some(config.iterations), time_limit_ms: None, objective: Objective::Cost, threads: 1 };
    let started = Instant::now();
    let clock = FnClock(|| started.elapsed().as_millis() as u64);
    let solution = doorstep_optimizer::solve(&problem.problem, &solver, &clock, &mut |_| Control::Continue).map_err(|e| anyhow::anyhow!("solve: {e}"))?;
    report.solve_ms = started.elapsed().as_millis();
    report.optimizer_iterations = solution.iterations;
    if let Err(v) = doorstep_optimizer::check(&problem.problem, &solution.route_jobs()) {
        bail!("the optimizer's plan fails the independent check: {v:?}");
    }
    let draft = problem.to_plan(&solution).map_err(|e| anyhow::anyhow!("map the solution to a plan: {e}"))?;
    let saved: Plan = api.json("POST", "/api/plans", d, None, &serde_json::to_string(&draft.request)?)?;
    let published: PublishedPlan =
        api.json("POST", &format!("/api/plans/{}/publish", saved.id), d, None, &serde_json::to_string(&PlanVersion { version: saved.version })?)?;
    let plan = published.plan;
    report.routes = plan.routes.iter().filter(|r| !r.stops.is_empty()).count();
    report.planned = plan.routes.iter().map(|r| r.stops.len()).sum();
    report.unassigned = draft.unplanned.len();
    progress(&format!(
        "plan: {} routes, {} stops, {} unassigned ({} optimizer iterations in {:.1} s); published",
        report.routes,
        report.planned,
        report.unassigned,
        solution.iterations,
        report.solve_ms as f64 / 1000.0
    ));
    if !log.wait(|l| l.count("dispatched") >= report.planned)? {
        bail!("only {} of {} dispatched notifications reached the log sink", log.count("dispatched"), report.planned);
    }

    // Each driver signs in and draws the day they will have.
    let by_id: BTreeMap<String, Order> = orders.iter().map(|o| (o.id.to_string(), o.clone())).collect();
    let mut days = Vec::new();
    for route in plan.routes.iter().filter(|r| !r.stops.is_empty()) {
        let driver = route.driver_id.clone().context("a published route without a driver")?;
        let vehicle = vehicles.iter().find(|v| v.id == route.vehicle_id).context("the route's vehicle")?;
        let codes: serde_json::Value = api.json("POST", &format!("/api/drivers/{driver}/sign-in-codes"), d, None, "")?;
        let link = codes["token"].as_str().context("sign-in token")?;
        let signed: serde_json::Value = api.json("POST", "/api/auth/driver", None, None, &serde_json::json!({ "token": link }).to_string())?;
        let mut day = draw_day(&mut rng, route, vehicle, &by_id, &org, date, offset)?;
        day.token = signed["access_token"].as_str().context("driver access_token")?.to_owned();
        days.push(day);
    }

    // Everything that happens, in time order: actions before pings at the same instant.
    let mut events: Vec<(OffsetDateTime, u8, usize, usize)> = Vec::new();
    for (i, day) in days.iter().enumerate() {
        events.extend(day.actions.iter().enumerate().map(|(j, (t, _))| (*t, 0, i, j)));
        let mut t = day.start;
        let mut j = 0;
        while t <= day.end {
            events.push((t, 1, i, j));
            t += Duration::seconds(config.ping_every_s);
            j += 1;
        }
    }
    events.sort();
    let mut played: Vec<Played> = days
        .iter()
        .map(|d| Played { pending: Vec::new(), seq: 0, latest: None, eta_read: vec![false; d.route.stops.len()], done: vec![false; d.route.stops.len()] })
        .collect();
    let mut next_hour = events.first().map(|e| hour_after(e.0, offset));
    let (mut delivered, mut failed, mut started_routes) = (0usize, 0usize, 0usize);
    let batch_span_s = config.ping_every_s * config.batch as i64;
    let mut sim = Sim { api: &mut api, log: &mut log, report: &mut report, dispatcher: &dispatcher, batch_span_s };

    for (t, kind, i, j) in events {
        while let Some(h) = next_hour
            && t >= h
        {
            progress(&format!(
                "{:02}:00  routes started {started_routes}/{}, delivered {delivered}, failed {failed}, pings {}, notifications {}, API errors {}, {:.1} s",
                h.to_offset(offset).hour(),
                days.len(),
                sim.report.pings,
                sim.log.by_trigger.values().sum::<usize>(),
                sim.api.errors.len(),
                wall.elapsed().as_secs_f64()
            ));
            next_hour = Some(h + Duration::hours(1));
        }
        let day = &days[i];
        let state = &mut played[i];
        if kind == 1 {
            let (at, speed, heading) = fix(&mut rng, day, t);
            state.seq += 1;
            let battery = (96.0 - 4.0 * (t - day.start).as_seconds_f64() / 3600.0).max(5.0);
            state.pending.push(TrackingPing {
                seq: state.seq,
                device_time: t,
                lat: at.lat,
                lon: at.lon,
                accuracy_m: Some(5.0 + rng.range(0.0, 7.0)),
                speed_mps: Some(speed),
                heading_deg: heading,
                battery_pct: Some((battery * 10.0).round() / 10.0),
            });
            if state.pending.len() >= config.batch {
                sim.flush(day, state)?;
            }
            continue;
        }
        sim.flush(day, state)?;
        let (_, act) = day.actions[j];
        let route = &day.route;
        let geotag = |rng: &mut Rng, p: LatLon| GeoTag { lat: p.lat + rng.normal() * 5.0 / 111_320.0, lon: p.lon + rng.normal() * 5.0 / 78_000.0, accuracy_m: Some(8.0) };
        match act {
            Act::Start => {
                let body = StartRoute { plan_id: plan.id.clone(), device_time: t, odometer_km: Some(12_000.0 + 100.0 * i as f64), vehicle_checked: true };
                sim.api.action(&format!("/api/routes/{}/start", route.id), &day.token, &format!("sim-start-{}", route.id), &body)?;
                started_routes += 1;
            }
            Act::Arrive(k) => {
                let stop = &route.stops[k];
                let body = ArriveAtStop { plan_id: plan.id.clone(), device_time: t, geotag: Some(geotag(&mut rng, stop.location)) };
                sim.api.action(&format!("/api/stops/{}/arrive", stop.id), &day.token, &format!("sim-arrive-{}", stop.id), &body)?;
            }
            Act::Complete(k) | Act::Fail(k, _) => {
                let stop = &route.stops[k];
                // Real minutes pass between the driver's pings and the doorstep: let the
                // notifier send this order's nearby/delayed messages before it moves on.
                sim.wait_for_route_notifications(day, state, stop.order_id.as_str())?;
                let ok = if let Act::Fail(_, reason) = act {
                    let body = FailStop { plan_id: plan.id.clone(), reason, note: None, device_time: t, geotag: Some(geotag(&mut rng, stop.location)), photos: Vec::new() };
                    *sim.report.failures_by_reason.entry(reason_name(reason)).or_default() += 1;
                    failed += 1;
                    sim.api.action(&format!("/api/stops/{}/fail", stop.id), &day.token, &format!("sim-fail-{}", stop.id), &body)?
                } else {
                    let order = &by_id[stop.order_id.as_str()];
                    let pod = ProofOfDelivery {
                        order_id: order.id.clone(),
                        stop_id: Some(stop.id.clone()),
                        photos: Vec::new(),
                        signature: None,
                        signature_image: None,
                        recipient_name: Some(if rng.unit() < 0.85 { order.recipient.name.clone() } else { "Neighbour".into() }),
                        otp_verified: false,
                        barcode: order.barcode.clone(),
                        geotag: Some(geotag(&mut rng, stop.location)),
                        device_time: t,
                        notes: None,
                        cash_collected: order.cash_on_delivery.as_ref().map(|m: &Money| CashCollected { amount: m.clone(), method: PaymentMethod::Cash }),
                    };
                    delivered += 1;
                    sim.api.action(&format!("/api/stops/{}/complete", stop.id), &day.token, &format!("sim-complete-{}", stop.id), &CompleteStop { plan_id: plan.id.clone(), pod })?
                };
                state.done[k] = ok;
            }
        }
    }
    for (day, state) in days.iter().zip(played.iter_mut()) {
        sim.flush(day, state)?;
    }
    let finals = delivered + failed;
    if !log.wait(|l| l.count("delivered") + l.count("failed") >= finals)? {
        progress(&format!("warning: only {} of {finals} delivered/failed notifications reached the log sink", log.count("delivered") + log.count("failed")));
    }
    // Let any last nearby/delayed message land before counting.
    std::thread::sleep(std::time::Duration::from_millis(300));
    log.refresh()?;
    report.notifications = log.by_trigger.clone();

    // Final states, through the API.
    let mut cursor: Option<String> = None;
    loop {
        let path = format!("/api/orders?limit=200{}", cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default());
        let page: Page<Order> = api.json("GET", &path, d, None, "")?;
        for o in page.items {
            *report.states.entry(state_name(o.state())).or_default() += 1;
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }

    // On time and dispatch-time ETA error, from what happened.
    let mut bias = Vec::new();
    for day in &days {
        for (k, stop) in day.route.stops.iter().enumerate() {
            let error_min = (day.arrivals[k] - stop.planned_arrival).as_seconds_f64() / 60.0;
            report.dispatch_eta_error_min.push(error_min.abs());
            bias.push(error_min);
            if let Some(at) = day.delivered_at[k] {
                let w = stop_window(&by_id[stop.order_id.as_str()], stop.planned_arrival);
                match (at < w.start, at > w.end) {
                    (true, _) => report.early += 1,
                    (_, true) => report.late += 1,
                    _ => report.on_time += 1,
                }
            }
        }
    }
    report.dispatch_eta_bias_min = if bias.is_empty() { 0.0 } else { bias.iter().sum::<f64>() / bias.len() as f64 };
    report.requests = api.requests;
    report.api_errors = api.errors;
    Ok(report)
}

/// What the play loop needs while it runs.
struct Sim<'a> {
    api: &'a mut Api,
    log: &'a mut NotificationLog,
    report: &'a mut Report,
    dispatcher: &'a str,
    batch_span_s: i64,
}

impl Sim<'_> {
    /// Uploads the driver's queued pings; then, for stops now about 30
    /// minutes away, reads the route's live ETAs.
    fn flush(&mut self, day: &DriverDay, state: &mut Played) -> anyhow::Result<()> {
        if state.pending.is_empty() {
            return Ok(());
        }
        let pings = std::mem::take(&mut state.pending);
        let batch = PingBatch { route_id: day.route.id.clone(), pings };
        let (status, answer) = self.api.send("POST", "/api/pings", Some(&day.token), None, "application/json", &serde_json::to_string(&batch)?)?;
        self.report.ping_batches += 1;
        self.report.pings += batch.pings.len();
        if status != 200 {
            return Ok(());
        }
        let answer: PingBatchResult = serde_json::from_str(&answer).context("the ping upload's answer")?;
        self.report.rejected_pings += answer.results.iter().filter(|r| r.outcome == PingOutcome::Rejected).count();
        let Some(latest) = answer.latest.map(|p| p.device_time) else { return Ok(()) };
        state.latest = Some(latest);
        let due: Vec<usize> = (0..day.route.stops.len())
            .filter(|&k| {
                let lead = (day.arrivals[k] - latest).whole_seconds();
                !state.eta_read[k] && !state.done[k] && lead <= LIVE_LEAD_S && lead > LIVE_LEAD_S - self.batch_span_s
            })
            .collect();
        // Stops whose moment passed without a batch (right after the start) are not measured.
        for k in 0..day.route.stops.len() {
            if (day.arrivals[k] - latest).whole_seconds() <= LIVE_LEAD_S {
                state.eta_read[k] = true;
            }
        }
        if due.is_empty() {
            return Ok(());
        }
        let progress: RouteProgress = self.api.json("GET", &format!("/api/tracking/routes/{}", day.route.id), Some(self.dispatcher), None, "")?;
        let etas = reanchored_etas(&progress, latest);
        for k in due {
            let stop = &day.route.stops[k];
            if let Some((_, eta)) = etas.iter().find(|(id, _)| *id == stop.id.as_str()) {
                self.report.live_eta_error_min.push((day.arrivals[k] - *eta).as_seconds_f64().abs() / 60.0);
            }
        }
        Ok(())
    }

    /// Waits until every notification the route's progress says was
    /// written for `order` has reached the log sink.
    fn wait_for_route_notifications(&mut self, day: &DriverDay, state: &Played, order: &str) -> anyhow::Result<()> {
        if state.latest.is_none() {
            return Ok(());
        }
        let progress: RouteProgress = self.api.json("GET", &format!("/api/tracking/routes/{}", day.route.id), Some(self.dispatcher), None, "")?;
        let prefix = format!("{order}#");
        let keys: Vec<String> = progress.notified.into_iter().filter(|k| k.starts_with(&prefix)).collect();
        if !self.log.wait(|l| keys.iter().all(|k| l.keys.contains(k)))? {
            bail!("notifications {keys:?} were written but did not reach the log sink within {} s", DRAIN_TIMEOUT.as_secs());
        }
        Ok(())
    }
}

fn hour_after(t: OffsetDateTime, offset: UtcOffset) -> OffsetDateTime {
    let l = t.to_offset(offset);
    l.replace_minute(0).and_then(|x| x.replace_second(0)).and_then(|x| x.replace_nanosecond(0)).unwrap_or(l) + Duration::hours(1)
}

fn offset_text(offset: UtcOffset) -> String {
    let (h, m, _) = offset.as_hms();
    // For a query string: `+` must be escaped.
    format!("{}{:02}:{:02}", if offset.is_negative() { "-" } else { "%2B" }, h.abs(), m.abs())
}

fn reason_name(reason: FailureReason) -> String {
    serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_else(|| format!("{reason:?}"))
}

fn state_name(state: OrderState) -> String {
    serde_json::to_value(state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_else(|| format!("{state:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use doorstep_domain::tracking::StopEta;
    use time::macros::datetime;

    fn eta(stop: &str, at: OffsetDateTime, window: Option<(OffsetDateTime, OffsetDateTime)>) -> StopEta {
        StopEta {
            stop_id: stop.parse().unwrap(),
            order_id: "ord-1".parse().unwrap(),
            sequence: 1,
            eta: at,
            window: window.map(|(s, e)| TimeWindow::new(s, e)),
            late_by_s: 0,
        }
    }

    #[test]
    fn reanchoring_moves_etas_back_by_the_upload_lag_and_waits_for_windows_again() {
        // Computed at 09:00 the next day for a ping of 10:00 the day before:
        // stop A 10 min away, then B 20 min after A (service + travel);
        // B's window opens at 10:45 the day before.
        let now = datetime!(2026-11-22 09:00 UTC);
        let ping = datetime!(2026-11-21 10:00 UTC);
        let progress = RouteProgress {
            plan_id: "pln-1".parse().unwrap(),
            route_id: "rte-1".parse().unwrap(),
            driver_id: "drv-1".parse().unwrap(),
            version: 3,
            etas: vec![
                eta("stp-a", now + Duration::minutes(10), None),
                eta("stp-b", now + Duration::minutes(30), Some((datetime!(2026-11-21 10:45 UTC), datetime!(2026-11-21 11:45 UTC)))),
                eta("stp-c", now + Duration::minutes(50), None),
            ],
            notified: Vec::new(),
            started: Vec::new(),
            updated_at: now,
        };
        let etas = reanchored_etas(&progress, ping);
        assert_eq!(etas[0], ("stp-a".to_owned(), datetime!(2026-11-21 10:10 UTC)));
        assert_eq!(etas[1], ("stp-b".to_owned(), datetime!(2026-11-21 10:30 UTC)));
        // Service at B starts at 10:45 (the window), so C is 20 min after that.
        assert_eq!(etas[2], ("stp-c".to_owned(), datetime!(2026-11-21 11:05 UTC)));
    }

    #[test]
    fn rush_hours_are_slower_than_midday() {
        assert!(traffic(8.0) < traffic(10.5) && traffic(17.0) < traffic(15.0));
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let v = [5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!((percentile(&v, 0.5), percentile(&v, 0.9), percentile(&[], 0.5)), (3.0, 5.0, 0.0));
    }
}
