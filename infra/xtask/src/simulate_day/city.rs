//! The simulated city: the Lyon demo business (`doorstep_domain::demo`)
//! with N drivers and vans cycled from its fleet, and M orders generated
//! around Lyon from the simulation's seeded RNG. Pure: no I/O, no clock.

use std::collections::BTreeSet;

use doorstep_domain::demo::{DemoBusiness, demo_business};
use doorstep_domain::ids::{DriverId, OrgId, VehicleId};
use doorstep_domain::order::{Money, Priority, Recipient};
use doorstep_domain::time::{TimeOfDay, TimeWindow};
use doorstep_domain::{Address, Load, NewOrder, OrderKind};
use time::{Date, Month, OffsetDateTime, UtcOffset, Weekday};

/// The dispatcher the seed creates.
pub const DISPATCHER_EMAIL: &str = "dispatcher@simulated-city.example";
pub const ORG_ID: &str = "org-simulated-lyon";

/// One seeded stream of randomness for the whole simulation (SplitMix64),
/// so a seed replays the same city and the same day.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5EED_D00D_5EED_D00D)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n.max(1)
    }

    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Log-normal with mean 1 and the given shape: multiplies a planned
    /// duration without biasing it.
    pub fn lognormal_factor(&mut self, sigma: f64) -> f64 {
        (sigma * self.normal() - sigma * sigma / 2.0).exp()
    }
}

/// Europe/Paris' offset on a local `date` (CET, or CEST between the last
/// Sundays of March and October; the EU rule), taken at local noon.
pub fn paris_offset(date: Date) -> UtcOffset {
    let last_sunday = |month: Month| {
        let mut d = Date::from_calendar_date(date.year(), month, month.length(date.year())).unwrap_or(date);
        while d.weekday() != Weekday::Sunday {
            d = d.previous_day().unwrap_or(d);
        }
        d
    };
    // At noon on the switch days the change (01:00 UTC) has happened.
    let summer = date >= last_sunday(Month::March) && date < last_sunday(Month::October);
    UtcOffset::from_hms(if summer { 2 } else { 1 }, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// The most recent working day that is over in Lyon: yesterday, local
/// time. Pings more than 5 minutes ahead of the server's clock are refused,
/// so a simulated day must lie in the past.
pub fn simulated_date(now: OffsetDateTime) -> (Date, UtcOffset) {
    let today = now.to_offset(paris_offset(now.date())).date();
    let date = today.previous_day().unwrap_or(today);
    (date, paris_offset(date))
}

/// The business without orders: the demo organisation (with failed orders
/// staying failed: a reattempt is another day's plan), its depot, and
/// `drivers` drivers, each with a van cycled from the demo fleet.
pub fn city(drivers: usize, date: Date) -> DemoBusiness {
    let mut b = demo_business(date, paris_offset(date));
    let org = OrgId::new(ORG_ID).expect("a valid org id");
    b.organisation.id = org.clone();
    b.organisation.name = "Simulated Lyon Couriers".into();
    b.organisation.settings.pod.auto_reattempt = false;
    b.depots.iter_mut().for_each(|d| d.org_id = org.clone());
    let (fleet, crew) = (std::mem::take(&mut b.vehicles), std::mem::take(&mut b.drivers));
    for i in 0..drivers {
        let mut v = fleet[i % fleet.len()].clone();
        v.id = VehicleId::new(format!("veh-sim-{i:03}")).expect("a valid vehicle id");
        v.org_id = org.clone();
        v.name = format!("{} #{}", v.name, i + 1);
        v.plate = v.plate.map(|p| format!("{}{:02}", &p[..p.len() - 2], i % 100));
        let mut d = crew[i % crew.len()].clone();
        d.id = DriverId::new(format!("drv-sim-{i:03}")).expect("a valid driver id");
        d.org_id = org.clone();
        d.name = if i < crew.len() { d.name } else { format!("{} {}", d.name, i / crew.len() + 1) };
        d.email = Some(format!("driver{i}@simulated-city.example"));
        d.vehicle_id = Some(v.id.clone());
        b.vehicles.push(v);
        b.drivers.push(d);
    }
    b.orders.clear();
    b
}

const FIRST: &[&str] = &["Léa", "Hugo", "Chloé", "Lucas", "Manon", "Nathan", "Camille", "Enzo", "Inès", "Louis", "Sarah", "Jules", "Emma", "Adam", "Zoé"];
const LAST: &[&str] = &["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel"];
const STREETS: &[&str] = &[
    "Rue de la République", "Rue Victor Hugo", "Avenue Jean Jaurès", "Rue Garibaldi", "Cours Lafayette", "Rue Paul Bert",
    "Rue de Marseille", "Boulevard des Belges", "Rue Duguesclin", "Cours Gambetta", "Rue Saint-Jean", "Quai Saint-Vincent",
];

/// `m` delivery orders for `date` within ~4 km of Place Bellecour: 40%
/// without a window, the rest in morning/afternoon windows or two-hour
/// slots; parcels of 0.5-15 kg; one in fifteen cash on delivery.
pub fn orders(rng: &mut Rng, m: usize, date: Date) -> Vec<NewOrder> {
    let offset = paris_offset(date);
    let window = |s: u16, e: u16| TimeWindow::new(TimeOfDay::hm(s, 0).on(date, offset), TimeOfDay::hm(e, 0).on(date, offset));
    let code = format!("{:04}{:02}{:02}", date.year(), u8::from(date.month()), date.day());
    (0..m)
        .map(|i| {
            let n = i + 1;
            // Uniform over a disc: radius grows with the square root.
            let (r, angle) = (4_000.0 * rng.unit().sqrt(), rng.range(0.0, std::f64::consts::TAU));
            let lat = 45.7578 + r * angle.cos() / 111_320.0;
            let lon = 4.8320 + r * angle.sin() / (111_320.0 * 45.7578_f64.to_radians().cos());
            let time_windows = match rng.below(10) {
                0..=3 => Vec::new(),
                4 | 5 => vec![window(9, 12)],
                6 | 7 => vec![window(13, 17)],
                _ => {
                    let s = [9, 11, 13, 15][rng.below(4)];
                    vec![window(s, s + 2)]
                }
            };
            let (first, last) = (FIRST[rng.below(FIRST.len())], LAST[rng.below(LAST.len())]);
            let phone = format!("+33 6 {:02} {:02} {:02} {:02}", rng.below(100), rng.below(100), rng.below(100), rng.below(100));
            let email = (rng.below(5) != 0).then(|| format!("{}.{}{n}@example.com", ascii(first), ascii(last)));
            NewOrder {
                external_ref: Some(format!("SIM-{code}-{n:04}")),
                depot_id: None,
                kind: OrderKind::Delivery,
                address: Address {
                    line1: format!("{} {}", 1 + rng.below(120), STREETS[rng.below(STREETS.len())]),
                    line2: None,
                    postcode: format!("6900{}", 1 + rng.below(9)),
                    city: "Lyon".into(),
                    country: "FR".into(),
                    lat: Some((lat * 1e6).round() / 1e6),
                    lon: Some((lon * 1e6).round() / 1e6),
                },
                service_time_s: Some(120 + 60 * rng.below(6) as u32),
                time_windows,
                pickup: None,
                demand: Load::new((rng.range(0.5, 15.0) * 10.0).round() / 10.0, (rng.range(2.0, 60.0)).round(), 1.0 + rng.below(3) as f64),
                priority: if n % 13 == 0 { Priority::High } else { Priority::Normal },
                required_skills: BTreeSet::new(),
                recipient: Recipient { name: format!("{first} {last}"), phone: Some(phone), email },
                instructions: None,
                barcode: Some(format!("SIM{code}{n:04}")),
                cash_on_delivery: (rng.below(15) == 0).then(|| Money { amount_minor: 1_000 + 100 * rng.below(60) as u64, currency: "EUR".into() }),
            }
        })
        .collect()
}

fn ascii(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'é' | 'è' => 'e',
            'ï' | 'î' => 'i',
            'ç' => 'c',
            c => c,
        })
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase()
}

/// The orders as a spreadsheet for `POST /api/orders/import?date=&utc_offset=`
/// (windows as local `HH:MM`). Orders with cash on delivery have no column
/// here: send those as JSON.
pub fn csv(orders: &[NewOrder], offset: UtcOffset) -> String {
    let mut out = String::from("Reference,Address,Postcode,City,Country,Lat,Lon,Name,Phone,Email,Window start,Window end,Service time s,Weight,Volume,Items,Barcode\n");
    let hm = |t: OffsetDateTime| {
        let t = t.to_offset(offset);
        format!("{:02}:{:02}", t.hour(), t.minute())
    };
    for o in orders {
        let (start, end) = o.time_windows.first().map_or((String::new(), String::new()), |w| (hm(w.start), hm(w.end)));
        let cells = [
            o.external_ref.clone().unwrap_or_default(),
            o.address.line1.clone(),
            o.address.postcode.clone(),
            o.address.city.clone(),
            o.address.country.clone(),
            o.address.lat.map(|v| format!("{v:.6}")).unwrap_or_default(),
            o.address.lon.map(|v| format!("{v:.6}")).unwrap_or_default(),
            o.recipient.name.clone(),
            o.recipient.phone.clone().unwrap_or_default(),
            o.recipient.email.clone().unwrap_or_default(),
            start,
            end,
            o.service_time_s.map(|s| s.to_string()).unwrap_or_default(),
            format!("{}", o.demand.0[0]),
            format!("{}", o.demand.0[1]),
            format!("{}", o.demand.0[2]),
            o.barcode.clone().unwrap_or_default(),
        ];
        let quoted: Vec<String> = cells.iter().map(|c| if c.contains([',', '"']) { format!("\"{}\"", c.replace('"', "\"\"")) } else { c.clone() }).collect();
        out.push_str(&quoted.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn paris_is_one_hour_ahead_in_winter_and_two_in_summer() {
        assert_eq!(paris_offset(date!(2026 - 11 - 21)).whole_hours(), 1);
        assert_eq!(paris_offset(date!(2026 - 07 - 01)).whole_hours(), 2);
        assert_eq!(paris_offset(date!(2026 - 03 - 29)).whole_hours(), 2);
        assert_eq!(paris_offset(date!(2026 - 10 - 25)).whole_hours(), 1);
    }

    #[test]
    fn the_simulated_day_is_yesterday_in_lyon() {
        // 23:30 UTC is already the next day in Lyon.
        assert_eq!(simulated_date(datetime!(2026-11-21 23:30 UTC)).0, date!(2026 - 11 - 21));
        assert_eq!(simulated_date(datetime!(2026-11-22 03:00 UTC)).0, date!(2026 - 11 - 21));
    }

    #[test]
    fn the_same_seed_makes_the_same_orders_and_the_city_has_the_asked_fleet() {
        let day = date!(2026 - 11 - 21);
        let a = orders(&mut Rng::new(7), 30, day);
        assert_eq!(a, orders(&mut Rng::new(7), 30, day));
        assert_ne!(a, orders(&mut Rng::new(8), 30, day));
        let c = city(10, day);
        assert_eq!((c.drivers.len(), c.vehicles.len(), c.orders.len()), (10, 10, 0));
        let ids: BTreeSet<_> = c.drivers.iter().map(|d| d.id.clone()).collect();
        assert_eq!(ids.len(), 10);
        assert!(c.drivers.iter().all(|d| d.org_id.as_str() == ORG_ID && d.vehicle_id.is_some()));
    }

    #[test]
    fn the_csv_has_one_row_per_order_with_local_window_times() {
        let day = date!(2026 - 11 - 21);
        let o = orders(&mut Rng::new(1), 40, day);
        let text = csv(&o, paris_offset(day));
        assert_eq!(text.lines().count(), 41);
        let i = o.iter().position(|x| !x.time_windows.is_empty()).expect("some window");
        let local = o[i].time_windows[0].start.to_offset(paris_offset(day));
        let row = text.lines().nth(i + 1).expect("row");
        assert!(row.contains(&format!(",{:02}:00,", local.hour())), "{row}");
    }
}
