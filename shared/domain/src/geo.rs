//! Coordinates and addresses. WGS 84 degrees throughout.

use serde::{Deserialize, Serialize};

use crate::validation::{Path, Report, Validate, codes};

/// A point in WGS 84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

/// Mean Earth radius used for great-circle distances.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

impl LatLon {
    pub const fn new(lat: f64, lon: f64) -> Self {
        Self { lat, lon }
    }

    /// Great-circle (haversine) distance in metres. A lower bound on road
    /// distance; used for "nearby" triggers and as a routing fallback.
    pub fn distance_m(self, other: LatLon) -> f64 {
        let (phi1, phi2) = (self.lat.to_radians(), other.lat.to_radians());
        let dphi = phi2 - phi1;
        let dlambda = (other.lon - self.lon).to_radians();
        let a =
            (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
    }
}

impl Validate for LatLon {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        report.latitude(&path.field("lat"), self.lat);
        report.longitude(&path.field("lon"), self.lon);
    }
}

/// An axis-aligned box in degrees (does not handle the antimeridian; no
/// delivery area spans it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BoundingBox {
    pub min_lat: f64,
    pub min_lon: f64,
    pub max_lat: f64,
    pub max_lon: f64,
}

impl BoundingBox {
    pub fn contains(&self, p: LatLon) -> bool {
        (self.min_lat..=self.max_lat).contains(&p.lat)
            && (self.min_lon..=self.max_lon).contains(&p.lon)
    }

    /// Smallest box holding every point; `None` for no points.
    pub fn around(points: impl IntoIterator<Item = LatLon>) -> Option<Self> {
        points.into_iter().fold(None, |acc, p| {
            Some(match acc {
                None => Self {
                    min_lat: p.lat,
                    min_lon: p.lon,
                    max_lat: p.lat,
                    max_lon: p.lon,
                },
                Some(b) => Self {
                    min_lat: b.min_lat.min(p.lat),
                    min_lon: b.min_lon.min(p.lon),
                    max_lat: b.max_lat.max(p.lat),
                    max_lon: b.max_lon.max(p.lon),
                },
            })
        })
    }
}

/// A postal address. `lat`/`lon` are absent until geocoded; planning needs
/// them (see [`Address::location`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Street and number, e.g. `12 Rue Mercière`.
    pub line1: String,
    /// Building, floor, company...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub postcode: String,
    pub city: String,
    /// ISO 3166-1 alpha-2, upper case (`FR`).
    pub country: String,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
}

impl Address {
    /// The geocoded point, if both coordinates are present.
    pub fn location(&self) -> Option<LatLon> {
        Some(LatLon::new(self.lat?, self.lon?))
    }

    pub fn is_geocoded(&self) -> bool {
        self.location().is_some()
    }

    pub fn set_location(&mut self, p: LatLon) {
        self.lat = Some(p.lat);
        self.lon = Some(p.lon);
    }

    /// One line for lists and notifications: `12 Rue Mercière, 69002 Lyon`.
    pub fn one_line(&self) -> String {
        format!("{}, {} {}", self.line1, self.postcode, self.city)
    }

    /// Adds `location_required` errors if the address is not geocoded.
    pub fn require_location(&self, path: &Path, report: &mut Report) {
        if self.lat.is_none() {
            report.push(
                &path.field("lat"),
                codes::LOCATION_REQUIRED,
                "must be geocoded before planning",
            );
        }
        if self.lon.is_none() {
            report.push(
                &path.field("lon"),
                codes::LOCATION_REQUIRED,
                "must be geocoded before planning",
            );
        }
    }
}

impl Validate for Address {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        report.required_text(&path.field("line1"), &self.line1, 200);
        report.optional_text(&path.field("line2"), self.line2.as_deref(), 200);
        report.required_text(&path.field("postcode"), &self.postcode, 16);
        report.required_text(&path.field("city"), &self.city, 100);
        if !(self.country.len() == 2 && self.country.bytes().all(|b| b.is_ascii_uppercase())) {
            report.push(
                &path.field("country"),
                codes::INVALID_FORMAT,
                "must be an ISO 3166-1 alpha-2 code in upper case, e.g. FR",
            );
        }
        match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => {
                report.latitude(&path.field("lat"), lat);
                report.longitude(&path.field("lon"), lon);
            }
            (None, None) => {}
            (None, Some(_)) => report.push(
                &path.field("lat"),
                codes::LAT_LON_INCOMPLETE,
                "lat and lon must be given together",
            ),
            (Some(_), None) => report.push(
                &path.field("lon"),
                codes::LAT_LON_INCOMPLETE,
                "lat and lon must be given together",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_between_lyon_landmarks_is_about_right() {
        let bellecour = LatLon::new(45.7578, 4.8320);
        let part_dieu = LatLon::new(45.7606, 4.8595);
        let d = bellecour.distance_m(part_dieu);
        assert!((2_100.0..2_250.0).contains(&d), "{d}");
        assert_eq!(bellecour.distance_m(bellecour), 0.0);
    }

    #[test]
    fn bounding_box_around_points_contains_them() {
        let pts = [LatLon::new(1.0, 2.0), LatLon::new(-1.0, 5.0)];
        let b = BoundingBox::around(pts).unwrap();
        assert_eq!(
            (b.min_lat, b.min_lon, b.max_lat, b.max_lon),
            (-1.0, 2.0, 1.0, 5.0)
        );
        assert!(pts.iter().all(|p| b.contains(*p)));
        assert!(!b.contains(LatLon::new(0.0, 6.0)));
        assert!(BoundingBox::around([]).is_none());
    }

    #[test]
    fn address_reports_half_geocoded_and_out_of_range() {
        let mut a = Address {
            line1: "".into(),
            line2: None,
            postcode: "69002".into(),
            city: "Lyon".into(),
            country: "fr".into(),
            lat: Some(45.0),
            lon: None,
        };
        let e = a.validate().unwrap_err();
        assert_eq!(e.paths(), ["line1", "country", "lon"]);
        assert!(e.has("lon", codes::LAT_LON_INCOMPLETE));
        a.lon = Some(200.0);
        assert!(a.validate().unwrap_err().has("lon", codes::OUT_OF_RANGE));
    }
}
