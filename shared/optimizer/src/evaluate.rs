//! Evaluation of given job sequences (a dispatcher's hand-edited plan): the
//! full schedule in the [`Solution`] shape, plus every broken rule located on
//! its vehicle and job. Built on the independent checker's reading of the
//! routes ([`crate::checker`]), so it agrees with [`crate::check`] by construction.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::checker::{self, Context, ViolationKind};
use crate::model::{Problem, RouteJobs, Solution, Totals, Unassigned, UnassignedReason};

/// A broken rule and where: the vehicle of the route and the job, when it concerns one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LocatedViolation {
    pub kind: ViolationKind,
    pub message: String,
    pub vehicle: Option<String>,
    pub job: Option<String>,
}

/// The schedule of some job sequences and what they break.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Evaluation {
    /// Routes of the non-empty sequences in input order, each with its break
    /// placed (see [`evaluate`]); jobs in no sequence are unassigned with reason
    /// [`UnassignedReason::Manual`]. `iterations` is 0.
    pub solution: Solution,
    pub violations: Vec<LocatedViolation>,
}

impl Evaluation {
    /// No rule is broken.
    pub fn feasible(&self) -> bool {
        self.violations.is_empty()
    }

    /// Violations on this vehicle's route (including those of its jobs).
    pub fn on_vehicle<'a>(
        &'a self,
        vehicle: &'a str,
    ) -> impl Iterator<Item = &'a LocatedViolation> {
        self.violations
            .iter()
            .filter(move |v| v.vehicle.as_deref() == Some(vehicle))
    }

    /// Violations that concern this job.
    pub fn on_job<'a>(&'a self, job: &'a str) -> impl Iterator<Item = &'a LocatedViolation> {
        self.violations
            .iter()
            .filter(move |v| v.job.as_deref() == Some(job))
    }
}

/// Evaluates `routes` exactly as given (no reordering). A route whose vehicle
/// has a break but whose `break_after` is `None` gets the break after the stop
/// that breaks fewest rules, then finishes earliest (ties: the earliest stop).
/// The check is the same as [`crate::check`]: `check(problem, &evaluation.solution.route_jobs())`
/// fails exactly when `violations` is not empty.
pub fn evaluate(problem: &Problem, routes: &[RouteJobs]) -> Evaluation {
    let placed = place_breaks(problem, routes);
    let inspection = match checker::inspect(problem, &placed) {
        Ok(i) => i,
        Err(v) => {
            return Evaluation {
                solution: Solution {
                    routes: Vec::new(),
                    unassigned: Vec::new(),
                    totals: Totals {
                        vehicles: 0,
                        distance: 0.0,
                        duration: 0.0,
                        cost: 0.0,
                        unassigned: 0,
                    },
                    iterations: 0,
                },
                violations: vec![LocatedViolation {
                    kind: v.kind,
                    message: v.message,
                    vehicle: None,
                    job: None,
                }],
            };
        }
    };
    let violations = inspection
        .violations
        .into_iter()
        .map(|f| LocatedViolation {
            kind: f.violation.kind,
            message: f.violation.message,
            vehicle: f
                .route
                .and_then(|r| placed.get(r))
                .map(|r| r.vehicle.clone()),
            job: f.job,
        })
        .collect();
    let routes: Vec<_> = inspection.schedules.into_iter().flatten().collect();
    let unassigned: Vec<Unassigned> = inspection
        .totals
        .unassigned
        .iter()
        .map(|id| Unassigned {
            job: id.clone(),
            reason: UnassignedReason::Manual,
            hint: "in no route of this plan".into(),
        })
        .collect();
    let t = &inspection.totals;
    Evaluation {
        solution: Solution {
            totals: Totals {
                vehicles: routes.len(),
                distance: t.distance,
                duration: t.duration,
                cost: t.cost,
                unassigned: unassigned.len(),
            },
            routes,
            unassigned,
            iterations: 0,
        },
        violations,
    }
}

/// Fills in `break_after` where the vehicle has a break and none is given.
fn place_breaks(problem: &Problem, routes: &[RouteJobs]) -> Vec<RouteJobs> {
    let mut out = routes.to_vec();
    if problem.validate().is_err() {
        return out;
    }
    let ctx = Context::new(problem);
    for (ri, r) in out.iter_mut().enumerate() {
        let Some(&vi) = ctx.veh_idx.get(r.vehicle.as_str()) else {
            continue;
        };
        if r.break_after.is_some() || problem.vehicles[vi].break_.is_none() {
            continue;
        }
        let jobs: Vec<usize> = r
            .jobs
            .iter()
            .filter_map(|id| ctx.job_idx.get(id.as_str()).copied())
            .collect();
        if jobs.is_empty() {
            continue;
        }
        let mut best: Option<(usize, f64, usize)> = None;
        for after in 0..=jobs.len() {
            let mut broken = 0;
            let route = ctx.simulate(ri, vi, &jobs, Some(after), &mut |_, _, _| broken += 1);
            if best.is_none_or(|(b, end, _)| broken < b || (broken == b && route.end_time < end)) {
                best = Some((broken, route.end_time, after));
            }
        }
        r.break_after = best.map(|b| b.2);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Break, Job, TimeUnit, TimeWindow, Travel, Vehicle};

    fn problem() -> Problem {
        let mut jobs: Vec<Job> = (1..=3).map(|i| Job::new(format!("j{i}"), i)).collect();
        jobs[1].time_windows = vec![TimeWindow::new(0.0, 25.0)];
        let mut v = Vehicle::new("v", 0);
        v.shift = Some(TimeWindow::new(0.0, 1000.0));
        v.break_ = Some(Break {
            window: TimeWindow::new(20.0, 40.0),
            duration: 5.0,
        });
        Problem {
            name: "t".into(),
            time_unit: TimeUnit::Unitless,
            travel: Travel::Euclidean {
                points: (0..4).map(|i| [10.0 * i as f64, 0.0]).collect(),
            },
            jobs,
            pairs: vec![],
            vehicles: vec![v],
            locks: vec![],
        }
    }

    #[test]
    fn the_break_goes_where_it_breaks_nothing() {
        let r = RouteJobs {
            vehicle: "v".into(),
            jobs: vec!["j1".into(), "j2".into(), "j3".into()],
            break_after: None,
        };
        let e = evaluate(&problem(), &[r]);
        assert!(e.feasible(), "{:?}", e.violations);
        // Before j2 the break would make j2 late (window ends at 25); after j2 it fits.
        assert_eq!(
            e.solution.routes[0].break_.as_ref().map(|b| b.after_stops),
            Some(2)
        );
    }

    #[test]
    fn a_late_stop_is_reported_on_its_vehicle_and_job() {
        let r = RouteJobs {
            vehicle: "v".into(),
            jobs: vec!["j3".into(), "j2".into()],
            break_after: Some(2),
        };
        let e = evaluate(&problem(), &[r]);
        let late: Vec<_> = e.on_job("j2").collect();
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].kind, ViolationKind::TimeWindow);
        assert_eq!(late[0].vehicle.as_deref(), Some("v"));
        assert_eq!(e.solution.unassigned.len(), 1);
        assert_eq!(e.solution.unassigned[0].reason, UnassignedReason::Manual);
    }
}
