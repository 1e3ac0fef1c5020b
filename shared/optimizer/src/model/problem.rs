use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Job, JobKind, Pair, TimeWindow, Travel, Vehicle};

/// The unit shared by all times and durations; only used to phrase hints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    #[default]
    Unitless,
    Seconds,
    Minutes,
}

/// How a [`Lock`] constrains its jobs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LockKind {
    /// The route starts with exactly these jobs in this order.
    #[default]
    Prefix,
    /// These jobs stay on the vehicle, consecutive and in this order, anywhere in the route.
    Sequence,
}

/// Jobs pinned to a vehicle (re-optimisation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Lock {
    pub vehicle: String,
    pub jobs: Vec<String>,
    #[serde(default)]
    pub kind: LockKind,
}

/// A routing problem.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Problem {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub time_unit: TimeUnit,
    pub travel: Travel,
    pub jobs: Vec<Job>,
    #[serde(default)]
    pub pairs: Vec<Pair>,
    pub vehicles: Vec<Vehicle>,
    #[serde(default)]
    pub locks: Vec<Lock>,
}

/// One validation failure, naming the offending field (e.g. `jobs[3].time_windows[0]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// All validation failures of a problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid problem: {}", .errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
pub struct InvalidProblem {
    pub errors: Vec<FieldError>,
}

/// Largest demand or capacity per dimension; keeps load sums far from overflow.
pub const MAX_LOAD: i64 = 1_000_000_000_000;

struct Errs(Vec<FieldError>);

impl Errs {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }
}

fn check_window(e: &mut Errs, field: &str, w: &TimeWindow) {
    if !w.start.is_finite() || !w.end.is_finite() {
        e.push(field, "start and end must be finite numbers");
    } else if w.end < w.start {
        e.push(field, format!("end {} is before start {}", w.end, w.start));
    }
}

fn check_nonneg(e: &mut Errs, field: String, v: f64) {
    if !v.is_finite() || v < 0.0 {
        e.push(field, format!("must be a finite number >= 0, found {v}"));
    }
}

impl Problem {
    /// Number of capacity dimensions (0 = no capacity constraint).
    pub fn dimensions(&self) -> usize {
        self.vehicles.first().map_or(0, |v| v.capacity.len())
    }

    /// Index of the job with this id.
    pub fn job_index(&self, id: &str) -> Option<usize> {
        self.jobs.iter().position(|j| j.id == id)
    }

    /// Checks consistency; every error names the offending field.
    pub fn validate(&self) -> Result<(), InvalidProblem> {
        let mut e = Errs(Vec::new());
        let n = self.travel.len();
        self.validate_travel(&mut e);
        let dims = self.dimensions();
        let loc = |e: &mut Errs, field: String, l: usize| {
            if l >= n {
                e.push(
                    field,
                    format!("location {l} is out of bounds (travel has {n} locations)"),
                );
            }
        };

        let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, j) in self.jobs.iter().enumerate() {
            let p = format!("jobs[{i}]");
            if j.id.is_empty() {
                e.push(format!("{p}.id"), "must not be empty");
            } else if let Some(first) = ids.insert(&j.id, i) {
                e.push(
                    format!("{p}.id"),
                    format!("duplicate id '{}' (also jobs[{first}])", j.id),
                );
            }
            loc(&mut e, format!("{p}.location"), j.location);
            check_nonneg(&mut e, format!("{p}.service"), j.service);
            if j.demand.len() > dims {
                e.push(
                    format!("{p}.demand"),
                    format!(
                        "has {} dimensions but vehicle capacity has {dims}",
                        j.demand.len()
                    ),
                );
            }
            if j.demand.iter().any(|&d| !(0..=MAX_LOAD).contains(&d)) {
                e.push(
                    format!("{p}.demand"),
                    format!("must be between 0 and {MAX_LOAD}"),
                );
            }
            if !j.priority.is_finite() || j.priority <= 0.0 {
                e.push(
                    format!("{p}.priority"),
                    format!("must be a finite number > 0, found {}", j.priority),
                );
            }
            for (k, w) in j.time_windows.iter().enumerate() {
                check_window(&mut e, &format!("{p}.time_windows[{k}]"), w);
                if k > 0 && w.start <= j.time_windows[k - 1].end {
                    e.push(
                        format!("{p}.time_windows[{k}]"),
                        "windows must be ascending and disjoint (starts after the previous end)",
                    );
                }
            }
        }

        let mut in_pair: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, pr) in self.pairs.iter().enumerate() {
            let p = format!("pairs[{i}]");
            let pick = ids.get(pr.pickup.as_str()).copied();
            let del = ids.get(pr.delivery.as_str()).copied();
            if pick.is_none() {
                e.push(
                    format!("{p}.pickup"),
                    format!("unknown job id '{}'", pr.pickup),
                );
            }
            if del.is_none() {
                e.push(
                    format!("{p}.delivery"),
                    format!("unknown job id '{}'", pr.delivery),
                );
            }
            for (side, id) in [("pickup", &pr.pickup), ("delivery", &pr.delivery)] {
                if let Some(other) = in_pair.insert(id, i) {
                    e.push(
                        format!("{p}.{side}"),
                        format!("job '{id}' is already in pairs[{other}]"),
                    );
                }
            }
            if let (Some(a), Some(b)) = (pick, del) {
                if a == b {
                    e.push(p.clone(), "pickup and delivery must be different jobs");
                }
                if self.jobs[a].kind != JobKind::Pickup {
                    e.push(
                        format!("{p}.pickup"),
                        format!("job '{}' must have kind pickup", pr.pickup),
                    );
                }
                if self.jobs[b].kind != JobKind::Delivery {
                    e.push(
                        format!("{p}.delivery"),
                        format!("job '{}' must have kind delivery", pr.delivery),
                    );
                }
                let pad = |d: &[i64]| {
                    (0..dims)
                        .map(|k| d.get(k).copied().unwrap_or(0))
                        .collect::<Vec<_>>()
                };
                if pad(&self.jobs[a].demand) != pad(&self.jobs[b].demand) {
                    e.push(
                        format!("{p}.delivery"),
                        "demand must equal the pickup's demand",
                    );
                }
            }
        }

        if self.vehicles.is_empty() {
            e.push("vehicles", "at least one vehicle is required");
        }
        let mut vids: BTreeMap<&str, usize> = BTreeMap::new();
        let mut completed: BTreeMap<&str, String> = BTreeMap::new();
        for (i, v) in self.vehicles.iter().enumerate() {
            let p = format!("vehicles[{i}]");
            if v.id.is_empty() {
                e.push(format!("{p}.id"), "must not be empty");
            } else if let Some(first) = vids.insert(&v.id, i) {
                e.push(
                    format!("{p}.id"),
                    format!("duplicate id '{}' (also vehicles[{first}])", v.id),
                );
            }
            loc(&mut e, format!("{p}.start"), v.start);
            if let Some(end) = v.end {
                loc(&mut e, format!("{p}.end"), end);
            }
            if let Some(s) = &v.shift {
                check_window(&mut e, &format!("{p}.shift"), s);
            }
            if v.capacity.len() != dims {
                e.push(
                    format!("{p}.capacity"),
                    format!(
                        "has {} dimensions but vehicles[0] has {dims}",
                        v.capacity.len()
                    ),
                );
            }
            if v.capacity.iter().any(|&c| !(0..=MAX_LOAD).contains(&c)) {
                e.push(
                    format!("{p}.capacity"),
                    format!("must be between 0 and {MAX_LOAD}"),
                );
            }
            check_nonneg(&mut e, format!("{p}.fixed_cost"), v.fixed_cost);
            check_nonneg(
                &mut e,
                format!("{p}.cost_per_distance"),
                v.cost_per_distance,
            );
            check_nonneg(&mut e, format!("{p}.cost_per_time"), v.cost_per_time);
            if let Some(d) = v.max_distance {
                check_nonneg(&mut e, format!("{p}.max_distance"), d);
            }
            if let Some(d) = v.max_duration {
                check_nonneg(&mut e, format!("{p}.max_duration"), d);
            }
            if !v.speed_factor.is_finite() || v.speed_factor <= 0.0 {
                e.push(
                    format!("{p}.speed_factor"),
                    format!("must be a finite number > 0, found {}", v.speed_factor),
                );
            }
            if let Some(b) = &v.break_ {
                check_window(&mut e, &format!("{p}.break.window"), &b.window);
                check_nonneg(&mut e, format!("{p}.break.duration"), b.duration);
            }
            if let Some(u) = &v.under_way {
                loc(&mut e, format!("{p}.under_way.location"), u.location);
                if !u.time.is_finite() {
                    e.push(format!("{p}.under_way.time"), "must be finite");
                }
                for (k, id) in u.completed.iter().enumerate() {
                    let f = format!("{p}.under_way.completed[{k}]");
                    if !ids.contains_key(id.as_str()) {
                        e.push(f, format!("unknown job id '{id}'"));
                    } else if let Some(prev) = completed.insert(id, f.clone()) {
                        e.push(f, format!("job '{id}' is already completed at {prev}"));
                    }
                }
            }
        }
        // A completed delivery needs its pickup completed too.
        for (i, pr) in self.pairs.iter().enumerate() {
            if completed.contains_key(pr.delivery.as_str())
                && !completed.contains_key(pr.pickup.as_str())
            {
                e.push(
                    format!("pairs[{i}]"),
                    "delivery is completed but its pickup is not",
                );
            }
        }

        let mut locked: BTreeMap<&str, String> = BTreeMap::new();
        let mut prefix_vehicles = BTreeSet::new();
        for (i, l) in self.locks.iter().enumerate() {
            let p = format!("locks[{i}]");
            if !vids.contains_key(l.vehicle.as_str()) {
                e.push(
                    format!("{p}.vehicle"),
                    format!("unknown vehicle id '{}'", l.vehicle),
                );
            }
            if l.kind == LockKind::Prefix && !prefix_vehicles.insert(l.vehicle.as_str()) {
                e.push(
                    format!("{p}.vehicle"),
                    "a vehicle can have only one prefix lock",
                );
            }
            for (k, id) in l.jobs.iter().enumerate() {
                let f = format!("{p}.jobs[{k}]");
                if !ids.contains_key(id.as_str()) {
                    e.push(f, format!("unknown job id '{id}'"));
                } else if completed.contains_key(id.as_str()) {
                    e.push(f, format!("job '{id}' is already completed"));
                } else if let Some(prev) = locked.insert(id, f.clone()) {
                    e.push(f, format!("job '{id}' is already locked at {prev}"));
                }
            }
        }
        for (i, pr) in self.pairs.iter().enumerate() {
            let a = locked.contains_key(pr.pickup.as_str());
            let b = locked.contains_key(pr.delivery.as_str());
            if a != b && !completed.contains_key(pr.pickup.as_str()) {
                e.push(
                    format!("pairs[{i}]"),
                    "lock both the pickup and the delivery, or neither",
                );
            }
        }

        if e.0.is_empty() {
            Ok(())
        } else {
            Err(InvalidProblem { errors: e.0 })
        }
    }

    fn validate_travel(&self, e: &mut Errs) {
        match &self.travel {
            Travel::Matrix {
                distances,
                durations,
            } => {
                let n = distances.len();
                if durations.len() != n {
                    e.push(
                        "travel.durations",
                        format!("has {} rows but distances has {n}", durations.len()),
                    );
                }
                for (name, m) in [("distances", distances), ("durations", durations)] {
                    for (r, row) in m.iter().enumerate() {
                        if row.len() != n {
                            e.push(
                                format!("travel.{name}[{r}]"),
                                format!("has {} entries, expected {n}", row.len()),
                            );
                        }
                        if let Some(c) = row.iter().position(|x| !x.is_finite() || *x < 0.0) {
                            e.push(
                                format!("travel.{name}[{r}][{c}]"),
                                "must be a finite number >= 0",
                            );
                        }
                    }
                }
            }
            Travel::Euclidean { points } => {
                if let Some(i) = points
                    .iter()
                    .position(|p| !p[0].is_finite() || !p[1].is_finite())
                {
                    e.push(format!("travel.points[{i}]"), "coordinates must be finite");
                }
            }
            Travel::Haversine {
                points,
                circuity,
                speed_m_per_s,
            } => {
                if let Some(i) = points.iter().position(|p| {
                    !(p.lat.is_finite()
                        && p.lon.is_finite()
                        && p.lat.abs() <= 90.0
                        && p.lon.abs() <= 180.0)
                }) {
                    e.push(
                        format!("travel.points[{i}]"),
                        "lat must be within ±90 and lon within ±180",
                    );
                }
                if !circuity.is_finite() || *circuity <= 0.0 {
                    e.push("travel.circuity", "must be a finite number > 0");
                }
                if !speed_m_per_s.is_finite() || *speed_m_per_s <= 0.0 {
                    e.push("travel.speed_m_per_s", "must be a finite number > 0");
                }
            }
        }
    }
}
