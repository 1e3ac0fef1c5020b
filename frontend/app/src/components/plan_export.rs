//! Exports of the plan on screen: CSV (one row per stop), GeoJSON (a line per
//! route, a point per stop) and printable route sheets (one printed page per
//! route). Built in the browser and handed over as Blob URLs; no server round trip.

use doorstep_domain::dispatch::NewRoute;
use doorstep_domain::org::Driver;
use doorstep_domain::vehicle::Vehicle;
use doorstep_domain::{Order, geo::LatLon};
use serde_json::{Value, json};
use time::{OffsetDateTime, UtcOffset};

/// One stop as every export shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportStop {
    /// 1-based route number in the plan.
    pub route: usize,
    pub driver: String,
    pub vehicle: String,
    /// 1-based position in the route.
    pub sequence: usize,
    pub order_id: String,
    pub order_ref: String,
    pub customer: String,
    pub address: String,
    pub lat: f64,
    pub lon: f64,
    /// The order's windows, local `HH:MM-HH:MM`, several joined by ` / `.
    pub window: String,
    /// Planned arrival, local `HH:MM`.
    pub arrival: String,
    pub kind: &'static str,
}

/// What the exports are made from: the plan's routes and the business around them.
#[derive(Clone, Copy, Debug)]
pub struct ExportInput<'a> {
    pub routes: &'a [NewRoute],
    pub orders: &'a [Order],
    pub vehicles: &'a [Vehicle],
    pub drivers: &'a [Driver],
    pub offset: UtcOffset,
    /// Start of routes whose vehicle has no own start.
    pub depot: Option<LatLon>,
    pub title: &'a str,
}

fn hhmm(t: OffsetDateTime, offset: UtcOffset) -> String {
    let t = t.to_offset(offset);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

impl ExportInput<'_> {
    fn vehicle(&self, r: &NewRoute) -> Option<&Vehicle> {
        self.vehicles.iter().find(|v| v.id == r.vehicle_id)
    }

    fn vehicle_name(&self, r: &NewRoute) -> String {
        self.vehicle(r).map_or_else(|| r.vehicle_id.to_string(), |v| v.name.clone())
    }

    fn driver_name(&self, r: &NewRoute) -> String {
        r.driver_id.as_ref().and_then(|d| self.drivers.iter().find(|x| &x.id == d)).map_or_else(String::new, |d| d.name.clone())
    }

    /// Every stop of every route, in plan order.
    pub fn stops(&self) -> Vec<ExportStop> {
        let mut out = Vec::new();
        for (ri, r) in self.routes.iter().enumerate() {
            let (vehicle, driver) = (self.vehicle_name(r), self.driver_name(r));
            for (si, s) in r.stops.iter().enumerate() {
                let order = self.orders.iter().find(|o| o.id == s.order_id);
                let at = s.location.or_else(|| order.and_then(|o| o.address.location()));
                out.push(ExportStop {
                    route: ri + 1,
                    driver: driver.clone(),
                    vehicle: vehicle.clone(),
                    sequence: si + 1,
                    order_id: s.order_id.to_string(),
                    order_ref: order.and_then(|o| o.external_ref.clone()).unwrap_or_else(|| s.order_id.to_string()),
                    customer: order.map_or_else(String::new, |o| o.recipient.name.clone()),
                    address: order.map_or_else(String::new, |o| {
                        format!("{}, {} {}", o.address.line1, o.address.postcode, o.address.city)
                    }),
                    lat: at.map_or(f64::NAN, |p| p.lat),
                    lon: at.map_or(f64::NAN, |p| p.lon),
                    window: order.map_or_else(String::new, |o| {
                        o.time_windows.iter().map(|w| format!("{}-{}", hhmm(w.start, self.offset), hhmm(w.end, self.offset))).collect::<Vec<_>>().join(" / ")
                    }),
                    arrival: hhmm(s.planned_arrival, self.offset),
                    kind: match s.kind {
                        doorstep_domain::plan::StopKind::Pickup => "pickup",
                        _ => "delivery",
                    },
                });
            }
        }
        out
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

/// Header plus one row per stop.
pub fn to_csv(input: &ExportInput<'_>) -> String {
    let mut out = String::from("route,driver,vehicle,sequence,order_ref,customer,address,lat,lon,window,planned_arrival\r\n");
    for s in input.stops() {
        let row = [
            s.route.to_string(),
            s.driver,
            s.vehicle,
            s.sequence.to_string(),
            s.order_ref,
            s.customer,
            s.address,
            format!("{:.6}", s.lat),
            format!("{:.6}", s.lon),
            s.window,
            s.arrival,
        ];
        out.push_str(&row.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// A FeatureCollection: per route a LineString (start, stops, end) and per stop a Point.
pub fn to_geojson(input: &ExportInput<'_>) -> Value {
    let stops = input.stops();
    let mut features = Vec::new();
    for (ri, r) in input.routes.iter().enumerate() {
        let vehicle = input.vehicle(r);
        let start = vehicle.map(|v| v.start).or(input.depot);
        let end = vehicle.and_then(|v| v.end);
        let line: Vec<Value> = start
            .into_iter()
            .map(|p| (p.lat, p.lon))
            .chain(stops.iter().filter(|s| s.route == ri + 1 && s.lat.is_finite()).map(|s| (s.lat, s.lon)))
            .chain(end.map(|p| (p.lat, p.lon)))
            .map(|(lat, lon)| json!([lon, lat]))
            .collect();
        features.push(json!({
            "type": "Feature",
            "geometry": { "type": "LineString", "coordinates": line },
            "properties": {
                "kind": "route",
                "route": ri + 1,
                "vehicle": input.vehicle_name(r),
                "driver": input.driver_name(r),
                "stops": r.stops.len(),
                "distance_m": r.totals.distance_m,
                "duration_s": r.totals.duration_s,
                "cost": r.totals.cost,
                "planned_start": hhmm(r.planned_start, input.offset),
                "planned_end": hhmm(r.planned_end, input.offset),
            }
        }));
    }
    for s in stops.iter().filter(|s| s.lat.is_finite()) {
        features.push(json!({
            "type": "Feature",
            "geometry": { "type": "Point", "coordinates": [s.lon, s.lat] },
            "properties": {
                "kind": "stop",
                "route": s.route,
                "sequence": s.sequence,
                "vehicle": s.vehicle,
                "driver": s.driver,
                "order_id": s.order_id,
                "order_ref": s.order_ref,
                "customer": s.customer,
                "address": s.address,
                "window": s.window,
                "planned_arrival": s.arrival,
                "stop_kind": s.kind,
            }
        }));
    }
    json!({ "type": "FeatureCollection", "features": features })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// One printed page per route: driver, vehicle, times and a stop table; prints on load.
pub fn route_sheets_html(input: &ExportInput<'_>) -> String {
    let stops = input.stops();
    let mut body = String::new();
    for (ri, r) in input.routes.iter().enumerate() {
        body.push_str(&format!(
            "<section class=\"sheet\"><h1>Route {} · {}</h1><p>{}{} · leaves {} · back {} · {} stops · {:.1} km</p>\
             <table><thead><tr><th scope=\"col\">#</th><th scope=\"col\">Arrival</th><th scope=\"col\">Window</th><th scope=\"col\">Order</th>\
             <th scope=\"col\">Customer</th><th scope=\"col\">Address</th><th scope=\"col\">Done</th></tr></thead><tbody>",
            ri + 1,
            escape(&input.vehicle_name(r)),
            escape(input.title),
            match input.driver_name(r) {
                d if d.is_empty() => String::new(),
                d => format!(" · driver {}", escape(&d)),
            },
            hhmm(r.planned_start, input.offset),
            hhmm(r.planned_end, input.offset),
            r.stops.len(),
            r.totals.distance_m / 1000.0,
        ));
        for s in stops.iter().filter(|s| s.route == ri + 1) {
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"tick\">☐</td></tr>",
                s.sequence,
                s.arrival,
                escape(&s.window),
                escape(&s.order_ref),
                escape(&s.customer),
                escape(&s.address)
            ));
        }
        body.push_str("</tbody></table></section>");
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Route sheets · {title}</title><style>\
         body{{font:12pt system-ui,sans-serif;margin:1.5rem;color:#111}}h1{{font-size:16pt;margin:0 0 .25rem}}\
         table{{border-collapse:collapse;width:100%;margin-top:.5rem}}th,td{{border:1px solid #999;padding:.25rem .4rem;text-align:left;vertical-align:top}}\
         .tick{{text-align:center}}.sheet{{margin-bottom:2rem}}\
         @media print{{body{{margin:0}}.sheet{{break-after:page;page-break-after:always;margin:0}}.sheet:last-child{{break-after:auto}}}}\
         @page{{size:A4;margin:12mm}}</style></head><body>{body}<script>addEventListener(\"load\",()=>print())</script></body></html>",
        title = escape(input.title)
    )
}
