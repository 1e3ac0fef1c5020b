//! Organisation (tenant), depots and drivers.

use serde::{Deserialize, Serialize};

use crate::geo::{Address, LatLon};
use crate::ids::{DepotId, DriverId, OrgId, VehicleId};
use crate::time::LocalWindow;
use crate::validation::{Path, Report, Validate, codes};

/// Default map tiles (OpenStreetMap's standard layer).
pub const DEFAULT_TILE_URL: &str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
pub const DEFAULT_TILE_ATTRIBUTION: &str = "© OpenStreetMap contributors";

/// A delivery business using Doorstep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organisation {
    pub id: OrgId,
    pub name: String,
    /// IANA zone, e.g. `Europe/Paris`. Converting local times to instants
    /// needs tz data, which lives outside this crate: callers resolve the
    /// zone to a `UtcOffset` for a given date.
    pub timezone: String,
    /// Used for orders that give no service time.
    pub default_service_time_s: u32,
    /// Offered to customers when an order gives no window (may be empty).
    #[serde(default)]
    pub default_time_windows: Vec<LocalWindow>,
    #[serde(default)]
    pub settings: OrgSettings,
}

/// Per-organisation settings. Every field has a default, so `{}` is valid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct OrgSettings {
    /// XYZ tile template with `{z}`, `{x}`, `{y}`.
    pub tile_url: String,
    pub tile_attribution: String,
    /// ISO 4217, e.g. `EUR`; for costs and cash on delivery.
    pub currency: String,
    /// BCP 47 tag for customer-facing text, e.g. `fr-FR`.
    pub locale: String,
    /// Send the "nearby" notification when the driver is this close.
    pub nearby_radius_m: u32,
    /// Send the "delayed" notification when the ETA passes the window end
    /// by more than this.
    pub delay_threshold_s: u32,
    /// Where the dispatcher map opens; `None`: fit the depots.
    pub map_center: Option<LatLon>,
    /// Web-map zoom level for `map_center`, 0-19.
    pub map_zoom: u8,
    /// An OSRM-compatible `table` service (e.g. `https://osrm.example.com/table/v1/driving/`)
    /// for road travel times; `None`: haversine × circuity ÷ speed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub osrm_table_url: Option<String>,
    /// A Nominatim-compatible search endpoint for geocoding addresses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geocoder_url: Option<String>,
    /// Customer notifications: channels, webhooks, template overrides.
    pub notifications: crate::notification::NotificationSettings,
    /// Proof of delivery, one-time codes and failed-attempt policy.
    pub pod: crate::pod::PodPolicy,
    /// Insert orders arriving during the day into the published plan.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_dispatch: bool,
    /// Delivery slots offered at checkout; `None`: no slots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_slots: Option<crate::slots::SlotSettings>,
}

impl Default for OrgSettings {
    fn default() -> Self {
        Self {
            tile_url: DEFAULT_TILE_URL.into(),
            tile_attribution: DEFAULT_TILE_ATTRIBUTION.into(),
            currency: "EUR".into(),
            locale: "en-GB".into(),
            nearby_radius_m: 1_000,
            delay_threshold_s: 15 * 60,
            map_center: None,
            map_zoom: 12,
            osrm_table_url: None,
            geocoder_url: None,
            notifications: crate::notification::NotificationSettings::default(),
            pod: crate::pod::PodPolicy::default(),
            auto_dispatch: false,
            delivery_slots: None,
        }
    }
}

/// Shape check only (the tz database is not available here): `UTC`, or
/// `Area/Location[/Sub]` of letters, digits, `_`, `-`, `+`.
pub fn is_plausible_timezone(tz: &str) -> bool {
    if tz == "UTC" {
        return true;
    }
    let parts: Vec<&str> = tz.split('/').collect();
    parts.len() >= 2
        && parts.len() <= 3
        && tz.len() <= 64
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.starts_with(|c: char| c.is_ascii_uppercase())
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c))
        })
}

/// Longest service time accepted anywhere (a whole morning).
pub const MAX_SERVICE_TIME_S: u32 = 4 * 3600;

pub(crate) fn check_service_time(path: &Path, s: u32, report: &mut Report) {
    if s > MAX_SERVICE_TIME_S {
        report.push(
            path,
            codes::OUT_OF_RANGE,
            format!("must be at most {MAX_SERVICE_TIME_S} s; got {s}"),
        );
    }
}

impl Validate for Organisation {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        report.required_text(&path.field("name"), &self.name, 120);
        if !is_plausible_timezone(&self.timezone) {
            report.push(
                &path.field("timezone"),
                codes::INVALID_TIMEZONE,
                "must be an IANA time zone such as Europe/Paris",
            );
        }
        check_service_time(
            &path.field("default_service_time_s"),
            self.default_service_time_s,
            report,
        );
        self.default_time_windows
            .validate_at(&path.field("default_time_windows"), report);
        self.settings.validate_at(&path.field("settings"), report);
    }
}

impl Validate for OrgSettings {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        let url = &self.tile_url;
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || !["{z}", "{x}", "{y}"].iter().all(|p| url.contains(p))
            || url.chars().any(char::is_whitespace)
        {
            report.push(
                &path.field("tile_url"),
                codes::INVALID_URL,
                "must be an http(s) URL template containing {z}, {x} and {y}",
            );
        }
        report.max_len(&path.field("tile_attribution"), &self.tile_attribution, 300);
        if !(self.currency.len() == 3 && self.currency.bytes().all(|b| b.is_ascii_uppercase())) {
            report.push(
                &path.field("currency"),
                codes::INVALID_FORMAT,
                "must be an ISO 4217 code, e.g. EUR",
            );
        }
        report.required_text(&path.field("locale"), &self.locale, 35);
        self.map_center
            .validate_at(&path.field("map_center"), report);
        if self.map_zoom > 19 {
            report.push(
                &path.field("map_zoom"),
                codes::OUT_OF_RANGE,
                "must be between 0 and 19",
            );
        }
        check_service_url(&path.field("osrm_table_url"), self.osrm_table_url.as_deref(), report);
        check_service_url(&path.field("geocoder_url"), self.geocoder_url.as_deref(), report);
        self.notifications.validate_at(&path.field("notifications"), report);
        self.pod.validate_at(&path.field("pod"), report);
        if let Some(slots) = &self.delivery_slots {
            slots.validate_at(&path.field("delivery_slots"), report);
        }
    }
}

/// An optional service endpoint: an absolute http(s) URL without spaces.
fn check_service_url(path: &Path, url: Option<&str>, report: &mut Report) {
    let Some(url) = url else { return };
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    if !rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/')) || url.chars().any(char::is_whitespace) {
        report.push(path, codes::INVALID_URL, "must be an http(s) URL (or null for none)");
    } else {
        report.max_len(path, url, 500);
    }
}

/// What a dispatcher may change on the organisation (`PATCH /api/organisation`
/// merges its JSON onto these fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OrganisationFields {
    pub name: String,
    pub timezone: String,
    pub default_service_time_s: u32,
    #[serde(default)]
    pub default_time_windows: Vec<LocalWindow>,
    #[serde(default)]
    pub settings: OrgSettings,
}

impl Organisation {
    pub fn fields(&self) -> OrganisationFields {
        OrganisationFields {
            name: self.name.clone(),
            timezone: self.timezone.clone(),
            default_service_time_s: self.default_service_time_s,
            default_time_windows: self.default_time_windows.clone(),
            settings: self.settings.clone(),
        }
    }

    pub fn with_fields(&self, f: OrganisationFields) -> Self {
        Self {
            id: self.id.clone(),
            name: f.name,
            timezone: f.timezone,
            default_service_time_s: f.default_service_time_s,
            default_time_windows: f.default_time_windows,
            settings: f.settings,
        }
    }
}

/// Where routes start and usually end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Depot {
    pub id: DepotId,
    pub org_id: OrgId,
    pub name: String,
    pub address: Address,
    /// The loading point routes start from. Required (a depot is useless
    /// until placed); may differ from the geocoded street address, e.g. a
    /// yard entrance.
    pub location: LatLon,
}

/// Body of "create depot" / "replace depot".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewDepot {
    pub name: String,
    pub address: Address,
    pub location: LatLon,
}

impl Depot {
    pub fn from_new(id: DepotId, org_id: OrgId, new: NewDepot) -> Self {
        Self { id, org_id, name: new.name, address: new.address, location: new.location }
    }

    pub fn to_new(&self) -> NewDepot {
        NewDepot { name: self.name.clone(), address: self.address.clone(), location: self.location }
    }
}

impl Validate for NewDepot {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        report.required_text(&path.field("name"), &self.name, 120);
        self.address.validate_at(&path.field("address"), report);
        self.location.validate_at(&path.field("location"), report);
    }
}

impl Validate for Depot {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        report.required_text(&path.field("name"), &self.name, 120);
        self.address.validate_at(&path.field("address"), report);
        self.location.validate_at(&path.field("location"), report);
    }
}

/// A person who drives routes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Driver {
    pub id: DriverId,
    pub org_id: OrgId,
    pub name: String,
    pub phone: String,
    #[serde(default)]
    pub email: Option<String>,
    /// Usual vehicle; a plan may assign another.
    #[serde(default)]
    pub vehicle_id: Option<VehicleId>,
    pub active: bool,
}

/// Body of "create driver" / "replace driver".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewDriver {
    pub name: String,
    pub phone: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub vehicle_id: Option<VehicleId>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl Driver {
    pub fn from_new(id: DriverId, org_id: OrgId, new: NewDriver) -> Self {
        Self {
            id,
            org_id,
            name: new.name,
            phone: new.phone,
            email: new.email,
            vehicle_id: new.vehicle_id,
            active: new.active,
        }
    }

    pub fn to_new(&self) -> NewDriver {
        NewDriver {
            name: self.name.clone(),
            phone: self.phone.clone(),
            email: self.email.clone(),
            vehicle_id: self.vehicle_id.clone(),
            active: self.active,
        }
    }
}

fn validate_person(path: &Path, name: &str, phone: &str, email: Option<&str>, report: &mut Report) {
    report.required_text(&path.field("name"), name, 120);
    if phone.trim().is_empty() {
        report.push(&path.field("phone"), codes::REQUIRED, "must not be empty");
    } else {
        report.phone(&path.field("phone"), phone);
    }
    if let Some(e) = email {
        report.email(&path.field("email"), e);
    }
}

impl Validate for Driver {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        validate_person(path, &self.name, &self.phone, self.email.as_deref(), report);
    }
}

impl Validate for NewDriver {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        validate_person(path, &self.name, &self.phone, self.email.as_deref(), report);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timezone_shapes() {
        for ok in [
            "Europe/Paris",
            "America/Argentina/Buenos_Aires",
            "UTC",
            "Etc/GMT+1",
        ] {
            assert!(is_plausible_timezone(ok), "{ok}");
        }
        for bad in [
            "",
            "Paris",
            "europe/paris",
            "Europe/",
            "Europe//Paris",
            "+01:00",
            "Europe/Pa ris",
        ] {
            assert!(!is_plausible_timezone(bad), "{bad}");
        }
    }

    #[test]
    fn settings_default_from_empty_object_and_reject_unknown_fields() {
        let s: OrgSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(s, OrgSettings::default());
        assert!(s.validate().is_ok());
        assert!(serde_json::from_str::<OrgSettings>(r#"{"tile":"x"}"#).is_err());
    }

    #[test]
    fn settings_reject_tile_urls_without_placeholders() {
        let s = OrgSettings {
            tile_url: "https://tiles.example.com/{z}/{x}.png".into(),
            currency: "eur".into(),
            ..OrgSettings::default()
        };
        let e = s.validate().unwrap_err();
        assert_eq!(e.paths(), ["tile_url", "currency"]);
    }

    #[test]
    fn settings_check_osrm_and_geocoder_urls() {
        let ok = OrgSettings {
            osrm_table_url: Some("https://osrm.example.com/table/v1/driving/".into()),
            geocoder_url: Some("http://localhost:8080/search".into()),
            ..OrgSettings::default()
        };
        assert!(ok.validate().is_ok());
        let bad = OrgSettings {
            osrm_table_url: Some("ftp://osrm.example.com/table".into()),
            geocoder_url: Some("https:// spaced.example.com".into()),
            ..OrgSettings::default()
        };
        let e = bad.validate().unwrap_err();
        assert!(e.has("osrm_table_url", codes::INVALID_URL));
        assert!(e.has("geocoder_url", codes::INVALID_URL));
        let empty = OrgSettings { osrm_table_url: Some(String::new()), ..OrgSettings::default() };
        assert!(empty.validate().unwrap_err().has("osrm_table_url", codes::INVALID_URL));
    }

    #[test]
    fn organisation_fields_round_trip_and_reject_ids() {
        let org = crate::demo::demo_business(::time::macros::date!(2026 - 03 - 02), ::time::UtcOffset::UTC).organisation;
        assert_eq!(org.with_fields(org.fields()), org);
        let mut json = serde_json::to_value(org.fields()).unwrap();
        json["id"] = "org-other".into();
        assert!(serde_json::from_value::<OrganisationFields>(json).is_err());
    }

    #[test]
    fn new_depot_reports_bad_fields_and_round_trips() {
        let depot = crate::demo::demo_business(::time::macros::date!(2026 - 03 - 02), ::time::UtcOffset::UTC).depots[0].clone();
        assert_eq!(Depot::from_new(depot.id.clone(), depot.org_id.clone(), depot.to_new()), depot);
        let mut new = depot.to_new();
        new.name = " ".into();
        new.location.lat = 91.0;
        let e = new.validate().unwrap_err();
        assert_eq!(e.paths(), ["name", "location.lat"]);
    }

    #[test]
    fn new_driver_checks_name_phone_and_email() {
        let d = NewDriver {
            name: " ".into(),
            phone: "call me".into(),
            email: Some("nope".into()),
            vehicle_id: None,
            active: true,
        };
        let e = d.validate().unwrap_err();
        assert!(e.has("name", codes::REQUIRED));
        assert!(e.has("phone", codes::INVALID_PHONE));
        assert!(e.has("email", codes::INVALID_EMAIL));
    }
}
