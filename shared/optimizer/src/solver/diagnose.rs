//! Explains why a request stayed unassigned, by trying it alone in each empty vehicle.

use crate::model::{Problem, TimeUnit, UnassignedReason};

use super::instance::Instance;
use super::search::Sol;

enum Fail {
    MaxStops,
    Distance(f64),
    Window(f64, usize),
    Shift(f64),
    Break,
}

fn alone(inst: &Instance, v: usize, req: &[usize]) -> Result<(), Fail> {
    let vd = &inst.vehs[v];
    if req.len() > vd.max_stops {
        return Err(Fail::MaxStops);
    }
    let mut at = vd.start_loc;
    let mut t = vd.t0;
    let mut dist = 0.0;
    let mut departure = vd.t0;
    for (k, &j) in req.iter().enumerate() {
        let job = &inst.jobs[j];
        dist += inst.d(at, job.loc);
        let arr = t + inst.t(v, at, job.loc);
        match job.earliest_start(arr) {
            Some(s) => {
                if k == 0 {
                    departure = inst.departure(v, j, s);
                }
                t = s + job.service
            }
            None => return Err(Fail::Window(arr - job.windows[job.windows.len() - 1].1, j)),
        }
        at = job.loc;
    }
    dist += inst.d(at, vd.end_loc);
    t += inst.t(v, at, vd.end_loc);
    if dist > vd.max_dist {
        return Err(Fail::Distance(dist - vd.max_dist));
    }
    let deadline = vd.deadline(departure);
    if t > deadline {
        return Err(Fail::Shift(t - deadline));
    }
    if vd.brk.is_some() && super::route::best_break(inst, v, req).is_none() {
        return Err(Fail::Break);
    }
    Ok(())
}

fn fmt_time(x: f64, unit: TimeUnit) -> String {
    match unit {
        TimeUnit::Seconds if x >= 60.0 => format!("{:.0} min", (x / 60.0).ceil()),
        TimeUnit::Seconds => format!("{:.0} s", x.ceil()),
        TimeUnit::Minutes => format!("{:.0} min", x.ceil()),
        TimeUnit::Unitless => format!("{x:.2} time units"),
    }
}

pub(crate) fn diagnose(
    p: &Problem,
    inst: &Instance,
    sol: &Sol,
    r: usize,
) -> (UnassignedReason, String) {
    let req = &inst.requests[r];
    let skilled: Vec<usize> = (0..inst.vehs.len())
        .filter(|&v| {
            req.iter().all(|&j| {
                p.jobs[j]
                    .skills
                    .iter()
                    .all(|s| p.vehicles[v].skills.contains(s))
            })
        })
        .collect();
    if skilled.is_empty() {
        let mut need: Vec<&str> = req
            .iter()
            .flat_map(|&j| p.jobs[j].skills.iter().map(|s| s.as_str()))
            .collect();
        need.sort_unstable();
        need.dedup();
        return (
            UnassignedReason::Skills,
            format!("no vehicle has all of the skills {need:?}"),
        );
    }
    let ok: Vec<usize> = skilled
        .iter()
        .copied()
        .filter(|&v| inst.compatible(v, r))
        .collect();
    if ok.is_empty() {
        let demand = &inst.jobs[req[0]].demand;
        return (
            UnassignedReason::Capacity,
            format!(
                "demand {demand:?} exceeds the capacity of every vehicle with the required skills (or the vehicle it is bound to)"
            ),
        );
    }
    let mut best_time: Option<(UnassignedReason, f64, usize)> = None;
    let mut other: Option<(UnassignedReason, String)> = None;
    for &v in &ok {
        match alone(inst, v, req) {
            Ok(()) => {
                let all_used = ok.iter().all(|&u| sol.routes[u].used());
                let hint = if all_used {
                    "fits alone in an empty vehicle: fits with one more vehicle".to_string()
                } else {
                    "fits alone in an empty vehicle but was not combined with the other jobs; \
                     a longer search or one more vehicle may help"
                        .to_string()
                };
                return (UnassignedReason::NoRoomInFleet, hint);
            }
            Err(Fail::Window(late, j)) => {
                if best_time.is_none_or(|(_, l, _)| late < l) {
                    best_time = Some((UnassignedReason::TimeWindow, late, j));
                }
            }
            Err(Fail::Shift(late)) => {
                if best_time.is_none_or(|(_, l, _)| late < l) {
                    best_time = Some((UnassignedReason::ShiftOrMaxDuration, late, req[0]));
                }
            }
            Err(Fail::Distance(over)) => {
                other.get_or_insert((
                    UnassignedReason::Unreachable,
                    format!("the round trip exceeds the vehicle's max distance by {over:.2}"),
                ));
            }
            Err(Fail::Break) => {
                other.get_or_insert((
                    UnassignedReason::Break,
                    "the driver's break cannot be placed".into(),
                ));
            }
            Err(Fail::MaxStops) => {
                other.get_or_insert((
                    UnassignedReason::MaxStops,
                    "the vehicle's max_stops is too small".into(),
                ));
            }
        }
    }
    match best_time {
        Some((UnassignedReason::TimeWindow, late, j)) => {
            // For a pair, say which of its two windows is missed.
            let which = if req.len() > 1 {
                format!("the window of '{}'", p.jobs[j].id)
            } else {
                "the window".into()
            };
            (
                UnassignedReason::TimeWindow,
                format!(
                    "fits if {which} ends {} later, or with a vehicle that starts earlier",
                    fmt_time(late, p.time_unit)
                ),
            )
        }
        Some((reason, late, _)) => (
            reason,
            format!(
                "fits if the shift (or max duration) is {} longer",
                fmt_time(late, p.time_unit)
            ),
        ),
        None => other.unwrap_or((UnassignedReason::NoRoomInFleet, String::new())),
    }
}
