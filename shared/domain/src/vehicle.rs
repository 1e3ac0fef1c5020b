//! Vehicles: capacity, shift, skills, costs.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::geo::LatLon;
use crate::ids::{DepotId, OrgId, VehicleId};
use crate::load::Load;
use crate::time::LocalWindow;
use crate::validation::{Path, Report, Validate, codes};

/// A break taken somewhere inside `window`, lasting `duration_s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Break {
    pub window: LocalWindow,
    pub duration_s: u32,
}

impl Validate for Break {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        self.window.validate_at(&path.field("window"), report);
        if self.duration_s == 0 {
            report.push(
                &path.field("duration_s"),
                codes::MUST_BE_POSITIVE,
                "must be greater than zero",
            );
        } else if self.window.end > self.window.start && self.duration_s > self.window.duration_s()
        {
            report.push(
                &path.field("duration_s"),
                codes::OUT_OF_RANGE,
                format!(
                    "must fit in the break window ({} s)",
                    self.window.duration_s()
                ),
            );
        }
    }
}

/// A vehicle and the rules for routing it on any day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Vehicle {
    pub id: VehicleId,
    pub org_id: OrgId,
    pub name: String,
    #[serde(default)]
    pub plate: Option<String>,
    /// Home depot, if any.
    #[serde(default)]
    pub depot_id: Option<DepotId>,
    /// `[weight_kg, volume_l, items]`.
    pub capacity: Load,
    /// Local working hours: the route starts at or after `start` and is
    /// back (or, for an open route, at its last stop) by `end`.
    pub shift: LocalWindow,
    /// Skills orders may require (`tail_lift`, `refrigerated`...).
    #[serde(default)]
    pub skills: BTreeSet<String>,
    pub start: LatLon,
    /// `None`: open route, ends at the last stop.
    #[serde(default)]
    pub end: Option<LatLon>,
    /// Costs in the organisation's currency.
    pub cost_per_km: f64,
    pub cost_per_hour: f64,
    pub fixed_cost: f64,
    #[serde(default, rename = "break")]
    pub break_: Option<Break>,
    /// Tailpipe emissions in grams of CO2 per km, for the CO2 report; `None`
    /// leaves the vehicle out of it (0 for an electric vehicle or a bike).
    #[serde(default)]
    pub co2_g_per_km: Option<f64>,
    pub active: bool,
}

/// Body of "create vehicle" / "replace vehicle": a [`Vehicle`] without
/// server-assigned fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewVehicle {
    pub name: String,
    #[serde(default)]
    pub plate: Option<String>,
    #[serde(default)]
    pub depot_id: Option<DepotId>,
    pub capacity: Load,
    pub shift: LocalWindow,
    #[serde(default)]
    pub skills: BTreeSet<String>,
    pub start: LatLon,
    #[serde(default)]
    pub end: Option<LatLon>,
    #[serde(default)]
    pub cost_per_km: f64,
    #[serde(default)]
    pub cost_per_hour: f64,
    #[serde(default)]
    pub fixed_cost: f64,
    #[serde(default, rename = "break")]
    pub break_: Option<Break>,
    #[serde(default)]
    pub co2_g_per_km: Option<f64>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl Vehicle {
    pub fn from_new(id: VehicleId, org_id: OrgId, v: NewVehicle) -> Self {
        Self {
            id,
            org_id,
            name: v.name,
            plate: v.plate,
            depot_id: v.depot_id,
            capacity: v.capacity,
            shift: v.shift,
            skills: v.skills,
            start: v.start,
            end: v.end,
            cost_per_km: v.cost_per_km,
            cost_per_hour: v.cost_per_hour,
            fixed_cost: v.fixed_cost,
            break_: v.break_,
            co2_g_per_km: v.co2_g_per_km,
            active: v.active,
        }
    }

    pub fn to_new(&self) -> NewVehicle {
        NewVehicle {
            name: self.name.clone(),
            plate: self.plate.clone(),
            depot_id: self.depot_id.clone(),
            capacity: self.capacity.clone(),
            shift: self.shift,
            skills: self.skills.clone(),
            start: self.start,
            end: self.end,
            cost_per_km: self.cost_per_km,
            cost_per_hour: self.cost_per_hour,
            fixed_cost: self.fixed_cost,
            break_: self.break_,
            co2_g_per_km: self.co2_g_per_km,
            active: self.active,
        }
    }

    /// Whether this vehicle has every skill in `required`.
    pub fn has_skills<'a>(&self, required: impl IntoIterator<Item = &'a String>) -> bool {
        required.into_iter().all(|s| self.skills.contains(s))
    }

    pub fn is_open_route(&self) -> bool {
        self.end.is_none()
    }
}

/// Skill names are identifiers: lower-case ASCII, digits, `_`.
pub fn is_valid_skill(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

pub(crate) fn validate_skills(path: &Path, skills: &BTreeSet<String>, report: &mut Report) {
    report.max_items(path, skills.len(), 32);
    for s in skills {
        if !is_valid_skill(s) {
            report.push(
                path,
                codes::INVALID_FORMAT,
                format!("{s:?} is not a skill name (lower-case letters, digits, _)"),
            );
        }
    }
}

struct VehicleFields<'a> {
    name: &'a str,
    plate: Option<&'a str>,
    capacity: &'a Load,
    shift: &'a LocalWindow,
    skills: &'a BTreeSet<String>,
    start: &'a LatLon,
    end: Option<&'a LatLon>,
    costs: [(&'static str, f64); 3],
    break_: Option<&'a Break>,
    co2_g_per_km: Option<f64>,
}

impl VehicleFields<'_> {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        report.required_text(&path.field("name"), self.name, 80);
        report.optional_text(&path.field("plate"), self.plate, 20);
        self.capacity.validate_at(&path.field("capacity"), report);
        self.shift.validate_at(&path.field("shift"), report);
        validate_skills(&path.field("skills"), self.skills, report);
        self.start.validate_at(&path.field("start"), report);
        if let Some(end) = self.end {
            end.validate_at(&path.field("end"), report);
        }
        for (name, cost) in self.costs {
            report.non_negative(&path.field(name), cost);
        }
        if let Some(co2) = self.co2_g_per_km {
            report.in_range(&path.field("co2_g_per_km"), co2, 0.0, 2_000.0);
        }
        if let Some(b) = self.break_ {
            let bp = path.field("break");
            b.validate_at(&bp, report);
            if self.shift.start < self.shift.end && !self.shift.contains(&b.window) {
                report.push(
                    &bp.field("window"),
                    codes::OUTSIDE_WINDOW,
                    "must lie within the shift",
                );
            }
        }
    }
}

impl Validate for Vehicle {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        VehicleFields {
            name: &self.name,
            plate: self.plate.as_deref(),
            capacity: &self.capacity,
            shift: &self.shift,
            skills: &self.skills,
            start: &self.start,
            end: self.end.as_ref(),
            costs: [
                ("cost_per_km", self.cost_per_km),
                ("cost_per_hour", self.cost_per_hour),
                ("fixed_cost", self.fixed_cost),
            ],
            break_: self.break_.as_ref(),
            co2_g_per_km: self.co2_g_per_km,
        }
        .validate_at(path, report);
    }
}

impl Validate for NewVehicle {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        VehicleFields {
            name: &self.name,
            plate: self.plate.as_deref(),
            capacity: &self.capacity,
            shift: &self.shift,
            skills: &self.skills,
            start: &self.start,
            end: self.end.as_ref(),
            costs: [
                ("cost_per_km", self.cost_per_km),
                ("cost_per_hour", self.cost_per_hour),
                ("fixed_cost", self.fixed_cost),
            ],
            break_: self.break_.as_ref(),
            co2_g_per_km: self.co2_g_per_km,
        }
        .validate_at(path, report);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::TimeOfDay;

    fn van() -> NewVehicle {
        serde_json::from_value(serde_json::json!({
            "name": "Van 1",
            "capacity": [800, 3000, 120],
            "shift": {"start": "08:00", "end": "17:00"},
            "skills": ["tail_lift"],
            "start": {"lat": 45.73, "lon": 4.83},
            "cost_per_km": 0.35,
            "break": {"window": {"start": "12:00", "end": "14:00"}, "duration_s": 2700}
        }))
        .unwrap()
    }

    #[test]
    fn new_vehicle_reads_minimal_json_with_defaults() {
        let v = van();
        assert!(v.active);
        assert!(v.end.is_none());
        assert_eq!(v.cost_per_hour, 0.0);
        assert_eq!(v.break_.unwrap().window.start, TimeOfDay::hm(12, 0));
        assert!(v.validate().is_ok());
    }

    #[test]
    fn vehicle_reports_every_bad_field() {
        let mut v = van();
        v.name = String::new();
        v.capacity = Load(vec![100.0, -1.0]);
        v.shift = LocalWindow::new(TimeOfDay::hm(9, 0), TimeOfDay::hm(8, 0));
        v.skills.insert("Tail Lift".into());
        v.start.lat = 95.0;
        v.end = Some(LatLon::new(45.0, -190.0));
        v.cost_per_km = -0.1;
        v.break_ = Some(Break {
            window: LocalWindow::new(TimeOfDay::hm(12, 0), TimeOfDay::hm(12, 30)),
            duration_s: 3600,
        });
        let e = v.validate().unwrap_err();
        assert_eq!(
            e.paths(),
            [
                "name",
                "capacity",
                "capacity[1]",
                "shift.end",
                "skills",
                "start.lat",
                "end.lon",
                "cost_per_km",
                "break.duration_s"
            ]
        );
    }

    #[test]
    fn vehicle_round_trips_through_new_vehicle() {
        let v = Vehicle::from_new(VehicleId::new("veh-1").unwrap(), OrgId::new("org-1").unwrap(), van());
        assert_eq!(Vehicle::from_new(v.id.clone(), v.org_id.clone(), v.to_new()), v);
    }

    #[test]
    fn break_outside_shift_is_reported() {
        let mut v = van();
        v.break_ = Some(Break {
            window: LocalWindow::new(TimeOfDay::hm(17, 0), TimeOfDay::hm(18, 0)),
            duration_s: 600,
        });
        assert!(
            v.validate()
                .unwrap_err()
                .has("break.window", codes::OUTSIDE_WINDOW)
        );
    }
}
