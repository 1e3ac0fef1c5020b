//! A realistic small delivery business in Lyon, France, for demos, local
//! development (`doorstep serve --demo`) and tests. Fully deterministic:
//! the same `date` and offset always give the same data.

use std::collections::BTreeSet;

use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::geo::{Address, BoundingBox, LatLon};
use crate::ids::{DepotId, DriverId, OrderId, OrgId, VehicleId};
use crate::lifecycle::OrderStatus;
use crate::load::Load;
use crate::order::{Money, Order, OrderKind, Priority, Recipient};
use crate::org::{Depot, Driver, OrgSettings, Organisation};
use crate::time::{LocalWindow, TimeOfDay, TimeWindow};
use crate::vehicle::{Break, Vehicle};

/// The commune of Lyon (all nine arrondissements), with a little margin.
pub const LYON_BOUNDS: BoundingBox = BoundingBox {
    min_lat: 45.70,
    min_lon: 4.77,
    max_lat: 45.81,
    max_lon: 4.90,
};

/// Everything a demo needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoBusiness {
    pub organisation: Organisation,
    /// One depot (Gerland); a list so multi-depot demos fit the same shape.
    pub depots: Vec<Depot>,
    pub drivers: Vec<Driver>,
    pub vehicles: Vec<Vehicle>,
    pub orders: Vec<Order>,
}

/// One delivery address: house number and street, postcode, and a point on
/// that street (WGS 84).
struct DemoAddress {
    line1: &'static str,
    postcode: &'static str,
    lat: f64,
    lon: f64,
}

const fn a(line1: &'static str, postcode: &'static str, lat: f64, lon: f64) -> DemoAddress {
    DemoAddress {
        line1,
        postcode,
        lat,
        lon,
    }
}

/// Real streets across all nine arrondissements.
const ADDRESSES: [DemoAddress; 84] = [
    // 1er: Terreaux, Pentes de la Croix-Rousse
    a("12 Rue d'Algérie", "69001", 45.7674, 4.8319),
    a("5 Rue Paul Chenavard", "69001", 45.7658, 4.8334),
    a("28 Rue des Capucins", "69001", 45.7695, 4.8340),
    a("16 Rue Burdeau", "69001", 45.7705, 4.8297),
    a("41 Montée de la Grande Côte", "69001", 45.7718, 4.8307),
    a("8 Rue Sainte-Catherine", "69001", 45.7671, 4.8327),
    a("22 Rue de la Martinière", "69001", 45.7678, 4.8278),
    a("3 Place Sathonay", "69001", 45.7689, 4.8286),
    a("19 Quai Saint-Vincent", "69001", 45.7697, 4.8232),
    // 2e: Presqu'île, Perrache, Confluence
    a("54 Rue Mercière", "69002", 45.7614, 4.8325),
    a("18 Rue Édouard Herriot", "69002", 45.7632, 4.8337),
    a("33 Rue Victor Hugo", "69002", 45.7548, 4.8297),
    a("9 Rue Franklin", "69002", 45.7532, 4.8302),
    a("27 Rue Sainte-Hélène", "69002", 45.7554, 4.8304),
    a("40 Rue de Brest", "69002", 45.7616, 4.8344),
    a("12 Rue Auguste Comte", "69002", 45.7550, 4.8283),
    a("85 Rue Smith", "69002", 45.7432, 4.8224),
    a("98 Cours Charlemagne", "69002", 45.7420, 4.8195),
    a("21 Quai Saint-Antoine", "69002", 45.7622, 4.8296),
    // 3e: Part-Dieu, Montchat
    a("156 Cours Lafayette", "69003", 45.7633, 4.8560),
    a("78 Rue Paul Bert", "69003", 45.7567, 4.8558),
    a("110 Avenue Félix Faure", "69003", 45.7548, 4.8640),
    a("230 Rue Garibaldi", "69003", 45.7560, 4.8527),
    a("45 Rue Servient", "69003", 45.7598, 4.8485),
    a("17 Rue Moncey", "69003", 45.7588, 4.8445),
    a("60 Avenue Lacassagne", "69003", 45.7547, 4.8740),
    a("14 Rue Antoine Charial", "69003", 45.7602, 4.8700),
    a("31 Rue Villeroy", "69003", 45.7571, 4.8437),
    a("205 Rue de Créqui", "69003", 45.7585, 4.8480),
    // 4e: Croix-Rousse plateau
    a("88 Boulevard de la Croix-Rousse", "69004", 45.7745, 4.8283),
    a(
        "131 Grande Rue de la Croix-Rousse",
        "69004",
        45.7800,
        4.8272,
    ),
    a("9 Rue d'Austerlitz", "69004", 45.7753, 4.8318),
    a("24 Rue Henri Gorjus", "69004", 45.7810, 4.8258),
    a("6 Rue Dumenge", "69004", 45.7773, 4.8303),
    a("52 Rue Hénon", "69004", 45.7790, 4.8245),
    a("37 Rue Jacquard", "69004", 45.7770, 4.8265),
    a("15 Rue du Mail", "69004", 45.7762, 4.8297),
    a("4 Place de la Croix-Rousse", "69004", 45.7745, 4.8315),
    // 5e: Vieux Lyon, Fourvière, Point du Jour
    a("42 Rue Saint-Jean", "69005", 45.7622, 4.8272),
    a("14 Rue du Bœuf", "69005", 45.7635, 4.8263),
    a("71 Avenue du Point du Jour", "69005", 45.7595, 4.7985),
    a("8 Rue Pierre Valdo", "69005", 45.7555, 4.8000),
    a("25 Rue de Trion", "69005", 45.7578, 4.8168),
    a("11 Quai Fulchiron", "69005", 45.7565, 4.8262),
    a("53 Avenue Barthélemy Buyer", "69005", 45.7608, 4.8050),
    a("19 Montée du Chemin Neuf", "69005", 45.7607, 4.8245),
    a("3 Place de Fourvière", "69005", 45.7621, 4.8225),
    // 6e: Brotteaux, Foch, Tête d'Or
    a("70 Boulevard des Belges", "69006", 45.7722, 4.8525),
    a("25 Rue Vendôme", "69006", 45.7665, 4.8452),
    a("48 Cours Vitton", "69006", 45.7692, 4.8555),
    a("102 Rue Duguesclin", "69006", 45.7680, 4.8475),
    a("36 Avenue Foch", "69006", 45.7700, 4.8455),
    a("67 Rue Tête d'Or", "69006", 45.7675, 4.8525),
    a("59 Rue de Créqui", "69006", 45.7665, 4.8482),
    a("12 Cours Franklin Roosevelt", "69006", 45.7688, 4.8465),
    a("84 Rue Bossuet", "69006", 45.7685, 4.8510),
    a("120 Rue Vauban", "69006", 45.7650, 4.8520),
    // 7e: Guillotière, Jean Macé, Gerland
    a("150 Avenue Jean Jaurès", "69007", 45.7440, 4.8405),
    a("72 Rue de Marseille", "69007", 45.7520, 4.8420),
    a("306 Rue de Gerland", "69007", 45.7285, 4.8320),
    a("27 Grande Rue de la Guillotière", "69007", 45.7530, 4.8455),
    a("94 Rue Chevreul", "69007", 45.7497, 4.8455),
    a("58 Avenue Berthelot", "69007", 45.7467, 4.8425),
    a("43 Rue Saint-Michel", "69007", 45.7473, 4.8437),
    a("19 Rue Pasteur", "69007", 45.7530, 4.8398),
    a("62 Avenue Tony Garnier", "69007", 45.7305, 4.8295),
    a("12 Rue de l'Université", "69007", 45.7513, 4.8382),
    a("31 Rue Sébastien Gryphe", "69007", 45.7502, 4.8432),
    // 8e: Monplaisir, États-Unis, Mermoz
    a("58 Avenue des Frères Lumière", "69008", 45.7455, 4.8700),
    a("12 Rue Marius Berliet", "69008", 45.7382, 4.8700),
    a("180 Boulevard des États-Unis", "69008", 45.7300, 4.8640),
    a("95 Avenue Paul Santy", "69008", 45.7302, 4.8760),
    a("147 Route de Vienne", "69008", 45.7345, 4.8525),
    a("40 Rue Bataille", "69008", 45.7405, 4.8675),
    a("21 Avenue Général Frère", "69008", 45.7355, 4.8785),
    a("7 Rue Villon", "69008", 45.7412, 4.8635),
    a("125 Cours Albert Thomas", "69008", 45.7443, 4.8705),
    // 9e: Vaise
    a("23 Rue de Bourgogne", "69009", 45.7745, 4.8052),
    a("61 Grande Rue de Vaise", "69009", 45.7778, 4.8047),
    a("14 Rue Marietton", "69009", 45.7743, 4.8025),
    a("8 Rue de la Claire", "69009", 45.7805, 4.8060),
    a("35 Rue Saint-Pierre de Vaise", "69009", 45.7757, 4.8030),
    a("17 Avenue Joannès Masset", "69009", 45.7765, 4.7985),
    a("42 Rue du Bourbonnais", "69009", 45.7835, 4.8010),
];

const FIRST_NAMES: [&str; 30] = [
    "Léa", "Hugo", "Chloé", "Lucas", "Manon", "Nathan", "Inès", "Louis", "Jade", "Gabriel",
    "Sarah", "Arthur", "Emma", "Mathis", "Zoé", "Théo", "Clara", "Raphaël", "Lina", "Yanis",
    "Juliette", "Noah", "Alice", "Adam", "Océane", "Maxime", "Anaïs", "Thomas", "Margaux", "Karim",
];

const LAST_NAMES: [&str; 32] = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Chevalier",
    "Faure",
    "Perrin",
    "Nguyen",
];

const INSTRUCTIONS: [&str; 8] = [
    "Digicode 4521B, 3e étage gauche",
    "Laisser chez le gardien si absent",
    "Sonner à l'interphone au nom indiqué",
    "Livraison à l'accueil, ouvert 9h-18h",
    "Colis fragile, ne pas laisser dehors",
    "Attention au chien, sonner et attendre",
    "Porte cochère, code 1789",
    "Appeler 10 minutes avant l'arrivée",
];

/// Tiny deterministic generator (PCG-style LCG) for variety without
/// depending on an RNG crate or the clock.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }

    /// Uniform-ish in `0..n` (n > 0).
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}

const SEED: u64 = 0x00D0_0257_E900_1A0D;

/// ASCII slug for email local parts: `Léa Lefèvre` -> `lea.lefevre`.
fn email_slug(first: &str, last: &str) -> String {
    let fold = |s: &str| -> String {
        s.chars()
            .filter_map(|c| {
                let c = match c {
                    'à' | 'â' | 'ä' => 'a',
                    'é' | 'è' | 'ê' | 'ë' => 'e',
                    'î' | 'ï' => 'i',
                    'ô' | 'ö' => 'o',
                    'ù' | 'û' | 'ü' => 'u',
                    'ç' => 'c',
                    c => c.to_ascii_lowercase(),
                };
                c.is_ascii_alphanumeric().then_some(c)
            })
            .collect()
    };
    format!("{}.{}", fold(first), fold(last))
}

/// `+33 6 12 34 56 78` style mobile number.
fn french_mobile(rng: &mut Lcg) -> String {
    let prefix = if rng.below(4) == 0 { 7 } else { 6 };
    let pairs: Vec<String> = (0..4).map(|_| format!("{:02}", rng.below(100))).collect();
    format!("+33 {prefix} {}", pairs.join(" "))
}

fn id<T, E: std::fmt::Debug>(r: Result<T, E>) -> T {
    // Demo ids are literals checked by the tests; failure is a typo here.
    r.expect("demo id is valid")
}

fn lyon(line1: &str, postcode: &str, lat: f64, lon: f64) -> Address {
    Address {
        line1: line1.to_owned(),
        line2: None,
        postcode: postcode.to_owned(),
        city: "Lyon".to_owned(),
        country: "FR".to_owned(),
        lat: Some(lat),
        lon: Some(lon),
    }
}

/// A courier company in Lyon with one depot in Gerland, four drivers and
/// vehicles, and 84 delivery orders for `date`, with windows in `utc_offset`
/// (pass Europe/Paris' offset for that date: +01:00 or +02:00).
pub fn demo_business(date: Date, utc_offset: UtcOffset) -> DemoBusiness {
    let org_id = id(OrgId::new("org-lyon-demo"));
    let hm = TimeOfDay::hm;
    let organisation = Organisation {
        id: org_id.clone(),
        name: "Colis Express Lyon".into(),
        timezone: "Europe/Paris".into(),
        default_service_time_s: 300,
        default_time_windows: vec![
            LocalWindow::new(hm(9, 0), hm(12, 0)),
            LocalWindow::new(hm(13, 0), hm(17, 0)),
        ],
        settings: OrgSettings {
            locale: "fr-FR".into(),
            // Place Bellecour: the middle of the delivery area.
            map_center: Some(LatLon::new(45.7578, 4.8320)),
            map_zoom: 13,
            ..OrgSettings::default()
        },
    };

    let depot_point = LatLon::new(45.7345, 4.8372);
    let depot = Depot {
        id: id(DepotId::new("dep-gerland")),
        org_id: org_id.clone(),
        name: "Entrepôt Gerland".into(),
        address: lyon(
            "320 Avenue Jean Jaurès",
            "69007",
            depot_point.lat,
            depot_point.lon,
        ),
        location: depot_point,
    };

    struct Fleet {
        vehicle: (&'static str, &'static str, Option<&'static str>),
        capacity: [f64; 3],
        shift: (TimeOfDay, TimeOfDay),
        skills: &'static [&'static str],
        costs: [f64; 3],
        /// g CO2/km: tailpipe for the diesel van; for the EVs, French grid
        /// electricity (~60 g/kWh) at ~0.17-0.2 kWh/km.
        co2_g_per_km: f64,
        lunch: bool,
        driver: (&'static str, &'static str, &'static str, &'static str),
    }
    let fleet = [
        Fleet {
            vehicle: ("veh-kangoo-1", "Renault Kangoo E-Tech", Some("GF-214-KL")),
            capacity: [600.0, 3_300.0, 120.0],
            shift: (hm(8, 0), hm(17, 0)),
            skills: &[],
            costs: [0.18, 22.0, 35.0],
            co2_g_per_km: 10.0,
            lunch: true,
            driver: (
                "drv-camille",
                "Camille Martin",
                "+33 6 12 48 73 90",
                "camille.martin@example.com",
            ),
        },
        Fleet {
            vehicle: ("veh-master-2", "Renault Master (hayon)", Some("FT-508-RZ")),
            capacity: [1_200.0, 10_800.0, 250.0],
            shift: (hm(7, 30), hm(16, 30)),
            skills: &["tail_lift"],
            costs: [0.32, 24.0, 50.0],
            co2_g_per_km: 230.0,
            lunch: false,
            driver: (
                "drv-karim",
                "Karim Benali",
                "+33 6 27 81 45 02",
                "karim.benali@example.com",
            ),
        },
        Fleet {
            vehicle: ("veh-bike-3", "Vélo cargo Douze", None),
            capacity: [150.0, 700.0, 40.0],
            shift: (hm(9, 0), hm(17, 0)),
            skills: &[],
            costs: [0.02, 20.0, 10.0],
            co2_g_per_km: 0.0,
            lunch: false,
            driver: (
                "drv-ines",
                "Inès Rousseau",
                "+33 7 81 35 62 14",
                "ines.rousseau@example.com",
            ),
        },
        Fleet {
            vehicle: (
                "veh-partner-4",
                "Peugeot e-Partner frigo",
                Some("GK-733-MA"),
            ),
            capacity: [700.0, 3_900.0, 140.0],
            shift: (hm(8, 30), hm(17, 30)),
            skills: &["refrigerated"],
            costs: [0.20, 22.0, 35.0],
            co2_g_per_km: 12.0,
            lunch: false,
            driver: (
                "drv-julien",
                "Julien Moreau",
                "+33 6 58 09 27 63",
                "julien.moreau@example.com",
            ),
        },
    ];

    let mut vehicles = Vec::new();
    let mut drivers = Vec::new();
    for f in &fleet {
        let vehicle_id = id(VehicleId::new(f.vehicle.0));
        vehicles.push(Vehicle {
            id: vehicle_id.clone(),
            org_id: org_id.clone(),
            name: f.vehicle.1.into(),
            plate: f.vehicle.2.map(Into::into),
            depot_id: Some(depot.id.clone()),
            capacity: Load(f.capacity.to_vec()),
            shift: LocalWindow::new(f.shift.0, f.shift.1),
            skills: f.skills.iter().map(|s| (*s).to_owned()).collect(),
            start: depot_point,
            end: Some(depot_point),
            cost_per_km: f.costs[0],
            cost_per_hour: f.costs[1],
            fixed_cost: f.costs[2],
            break_: f.lunch.then_some(Break {
                window: LocalWindow::new(hm(12, 0), hm(14, 0)),
                duration_s: 45 * 60,
            }),
            co2_g_per_km: Some(f.co2_g_per_km),
            active: true,
        });
        drivers.push(Driver {
            id: id(DriverId::new(f.driver.0)),
            org_id: org_id.clone(),
            name: f.driver.1.into(),
            phone: f.driver.2.into(),
            email: Some(f.driver.3.into()),
            vehicle_id: Some(vehicle_id),
            active: true,
        });
    }

    let window =
        |start: TimeOfDay, end: TimeOfDay| LocalWindow::new(start, end).on(date, utc_offset);
    let slots = [(9, 11), (11, 13), (13, 15), (15, 17)];
    // Orders arrived the evening before, two minutes apart.
    let day_before = date.previous_day().unwrap_or(date);
    let first_created: OffsetDateTime = hm(17, 0).on(day_before, utc_offset);
    let date_code = format!(
        "{:04}{:02}{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    );

    let mut rng = Lcg(SEED);
    let mut orders = Vec::with_capacity(ADDRESSES.len());
    for (i, addr) in ADDRESSES.iter().enumerate() {
        let n = i + 1;
        let first = FIRST_NAMES[rng.below(FIRST_NAMES.len() as u32) as usize];
        let last = LAST_NAMES[rng.below(LAST_NAMES.len() as u32) as usize];
        let phone = french_mobile(&mut rng);
        let email = (i % 5 != 3).then(|| format!("{}@example.com", email_slug(first, last)));

        let time_windows: Vec<TimeWindow> = match i % 6 {
            1 => vec![window(hm(9, 0), hm(12, 0))],
            2 => vec![window(hm(13, 0), hm(17, 0))],
            3 | 5 => {
                let (s, e) = slots[(i / 6 + i / 5) % slots.len()];
                vec![window(hm(s, 0), hm(e, 0))]
            }
            _ => Vec::new(),
        };

        // Mostly parcels; every 28th an appliance needing the tail lift,
        // every 20th fresh food needing the refrigerated van.
        let (demand, skills, service_time_s): (Load, BTreeSet<String>, u32) = if i % 28 == 13 {
            let kg = 45.0 + f64::from(rng.below(36));
            (
                Load::new(kg, 350.0, 1.0),
                ["tail_lift".to_owned()].into(),
                480,
            )
        } else if i % 20 == 7 {
            let kg = 2.0 + f64::from(rng.below(60)) / 10.0;
            (
                Load::new(kg, 25.0, 1.0),
                ["refrigerated".to_owned()].into(),
                240,
            )
        } else {
            let kg = 0.5 + f64::from(rng.below(145)) / 10.0;
            let litres = 2.0 + f64::from(rng.below(59));
            let items = 1.0 + f64::from(rng.below(3));
            (
                Load::new(kg, litres, items),
                BTreeSet::new(),
                180 + 60 * rng.below(6),
            )
        };

        let priority = match n {
            _ if n % 29 == 0 => Priority::Urgent,
            _ if n % 11 == 0 => Priority::High,
            _ => Priority::Normal,
        };
        let instructions =
            (i % 4 == 1).then(|| INSTRUCTIONS[(i / 4) % INSTRUCTIONS.len()].to_owned());
        let cash_on_delivery = (i % 17 == 9).then(|| Money {
            amount_minor: 1_500 + 100 * u64::from(rng.below(80)),
            currency: "EUR".into(),
        });
        let created_at = first_created + Duration::minutes(2 * i as i64);

        orders.push(Order {
            id: id(OrderId::new(format!("ord-{n:04}"))),
            org_id: org_id.clone(),
            external_ref: Some(format!("CMD-{}", 10_240 + n)),
            depot_id: Some(depot.id.clone()),
            kind: OrderKind::Delivery,
            address: lyon(addr.line1, addr.postcode, addr.lat, addr.lon),
            service_time_s: Some(service_time_s),
            time_windows,
            pickup: None,
            demand,
            priority,
            required_skills: skills,
            recipient: Recipient {
                name: format!("{first} {last}"),
                phone: Some(phone),
                email,
            },
            instructions,
            barcode: Some(format!("DST{date_code}{n:04}")),
            cash_on_delivery,
            status: OrderStatus::Created,
            attempts: 0,
            version: 1,
            created_at,
            updated_at: created_at,
            customer_note: None,
            rating: None,
            dispatch_hold: None,
        });
    }

    DemoBusiness {
        organisation,
        depots: vec![depot],
        drivers,
        vehicles,
        orders,
    }
}

/// Orders in the full demo day.
pub const DEMO_ORDER_COUNT: usize = 84;
/// Drivers (each with their own vehicle) in the full demo fleet.
pub const DEMO_DRIVER_COUNT: usize = 4;

/// How much of the demo to load. Tests that drive a day by hand want the
/// fleet and the dispatcher with a handful of orders of their own (or none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DemoSize {
    /// The first `n` demo orders; `None`: all of them.
    pub orders: Option<usize>,
    /// The first `n` drivers and their vehicles; `None`: all of them.
    pub drivers: Option<usize>,
}

/// [`demo_business`] cut down to `size`: the same ids and data, fewer of them.
pub fn demo_business_sized(date: Date, utc_offset: UtcOffset, size: DemoSize) -> DemoBusiness {
    let mut demo = demo_business(date, utc_offset);
    if let Some(n) = size.orders {
        demo.orders.truncate(n);
    }
    if let Some(n) = size.drivers {
        // Driver i drives vehicle i, so cutting both keeps every pair whole.
        demo.drivers.truncate(n);
        demo.vehicles.truncate(n);
    }
    demo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_slugs_fold_accents() {
        assert_eq!(email_slug("Léa", "Lefèvre"), "lea.lefevre");
        assert_eq!(email_slug("Raphaël", "François"), "raphael.francois");
    }

    #[test]
    fn french_mobiles_look_french() {
        let mut rng = Lcg(SEED);
        for _ in 0..50 {
            let p = french_mobile(&mut rng);
            assert!(p.starts_with("+33 6 ") || p.starts_with("+33 7 "), "{p}");
            assert_eq!(p.len(), "+33 6 12 34 56 78".len(), "{p}");
        }
    }

    #[test]
    fn every_demo_address_is_in_lyon_with_a_lyon_postcode() {
        for addr in &ADDRESSES {
            assert!(
                LYON_BOUNDS.contains(LatLon::new(addr.lat, addr.lon)),
                "{}",
                addr.line1
            );
            assert!(
                ("69001"..="69009").contains(&addr.postcode),
                "{} {}",
                addr.line1,
                addr.postcode
            );
        }
    }

    #[test]
    fn a_sized_demo_keeps_the_first_orders_and_whole_driver_vehicle_pairs() {
        let date = Date::from_calendar_date(2026, time::Month::March, 2).expect("date");
        let full = demo_business(date, UtcOffset::UTC);
        assert_eq!(
            (full.orders.len(), full.drivers.len(), full.vehicles.len()),
            (DEMO_ORDER_COUNT, DEMO_DRIVER_COUNT, DEMO_DRIVER_COUNT)
        );
        let small = demo_business_sized(
            date,
            UtcOffset::UTC,
            DemoSize {
                orders: Some(0),
                drivers: Some(2),
            },
        );
        assert!(small.orders.is_empty());
        assert_eq!(small.drivers, full.drivers[..2]);
        assert_eq!(small.vehicles, full.vehicles[..2]);
        for driver in &small.drivers {
            assert!(
                small
                    .vehicles
                    .iter()
                    .any(|v| Some(&v.id) == driver.vehicle_id.as_ref()),
                "{} keeps its vehicle",
                driver.id
            );
        }
        assert_eq!(small.organisation, full.organisation);
        assert_eq!(small.depots, full.depots);
        let three = demo_business_sized(
            date,
            UtcOffset::UTC,
            DemoSize {
                orders: Some(3),
                drivers: None,
            },
        );
        assert_eq!(three.orders, full.orders[..3]);
        assert_eq!(three.drivers.len(), DEMO_DRIVER_COUNT);
        assert_eq!(
            demo_business_sized(date, UtcOffset::UTC, DemoSize::default()),
            full
        );
    }
}
