//! The problem compiled into flat, index-based data for fast evaluation.

use std::collections::BTreeMap;

use crate::model::{JobKind, LockKind, Problem, Travel};

use super::{Objective, SolveError};

/// Marks "no location" (open route end): travel to it is free.
pub(crate) const NONE: usize = usize::MAX;

#[derive(Clone, Debug)]
pub(crate) struct JobData {
    pub loc: usize,
    pub service: f64,
    /// Ascending, disjoint; never empty (an unbounded window stands for "any time").
    pub windows: Vec<(f64, f64)>,
    pub pickup: bool,
    /// Delivery whose goods are on board from the route start.
    pub from_start: bool,
    pub partner: Option<usize>,
    pub demand: Vec<i64>,
    pub priority: f64,
    /// Must follow its predecessor directly (locked sequence).
    pub glued: bool,
    /// Never removed (locked).
    pub fixed: bool,
}

impl JobData {
    /// Earliest feasible service start for an arrival at `t`.
    #[inline]
    pub fn earliest_start(&self, t: f64) -> Option<f64> {
        for &(a, b) in &self.windows {
            if t <= b {
                return Some(if t > a { t } else { a });
            }
        }
        None
    }

    /// Latest feasible service start not after `t`.
    #[inline]
    pub fn latest_start(&self, t: f64) -> f64 {
        for &(a, b) in self.windows.iter().rev() {
            if t >= a {
                return if t < b { t } else { b };
            }
        }
        f64::NEG_INFINITY
    }
}

#[derive(Clone, Debug)]
pub(crate) struct VehData {
    pub start_loc: usize,
    pub end_loc: usize,
    /// Earliest departure (shift start or under-way time).
    pub t0: f64,
    pub shift_end: f64,
    /// Max route duration (infinite if none).
    pub max_dur: f64,
    pub cap: Vec<i64>,
    pub fixed_cost: f64,
    pub cpd: f64,
    pub cpt: f64,
    pub max_dist: f64,
    pub max_stops: usize,
    /// (window start, window end, duration).
    pub brk: Option<(f64, f64, f64)>,
    pub profile: usize,
    /// Vehicles of one class are interchangeable when empty.
    pub class: usize,
    /// Locked jobs the route is seeded with, in order.
    pub initial: Vec<usize>,
}

impl VehData {
    /// Latest finish for a route that leaves at `departure`.
    #[inline]
    pub fn deadline(&self, departure: f64) -> f64 {
        self.shift_end.min(departure + self.max_dur)
    }
}

#[derive(Debug)]
pub(crate) struct Instance {
    pub n_loc: usize,
    pub dist: Vec<f64>,
    pub dur: Vec<Vec<f64>>,
    pub jobs: Vec<JobData>,
    pub vehs: Vec<VehData>,
    pub dims: usize,
    /// A request is one job or a [pickup, delivery] pair.
    pub requests: Vec<Vec<usize>>,
    pub req_of_job: Vec<usize>,
    /// compat[v * n_req + r]
    pub compat: Vec<bool>,
    /// Nearest other requests of each request, by distance between their first jobs.
    pub neighbours: Vec<Vec<usize>>,
    /// Requests the search may move (not locked).
    pub free_requests: Vec<usize>,
    pub objective: Objective,
    /// Cost added for opening a route in insertion decisions.
    pub route_penalty: Vec<f64>,
    /// Lower bound on the vehicles needed to carry all unpaired loads.
    pub vehicle_lb: usize,
}

impl Instance {
    #[inline]
    pub fn d(&self, a: usize, b: usize) -> f64 {
        if a == NONE || b == NONE {
            0.0
        } else {
            self.dist[a * self.n_loc + b]
        }
    }

    #[inline]
    pub fn t(&self, v: usize, a: usize, b: usize) -> f64 {
        if a == NONE || b == NONE {
            0.0
        } else {
            self.dur[self.vehs[v].profile][a * self.n_loc + b]
        }
    }

    /// When a route leaves: as late as possible without delaying the first service
    /// (`first_start` = its service start when leaving at `t0`), never before `t0`.
    #[inline]
    pub fn departure(&self, v: usize, first: usize, first_start: f64) -> f64 {
        let vd = &self.vehs[v];
        vd.t0
            .max(first_start - self.t(v, vd.start_loc, self.jobs[first].loc))
    }

    #[inline]
    pub fn compatible(&self, v: usize, r: usize) -> bool {
        self.compat[v * self.requests.len() + r]
    }

    pub fn build(p: &Problem, objective: Objective) -> Result<Instance, SolveError> {
        p.validate().map_err(SolveError::Invalid)?;
        let n = p.travel.len();
        let dist = p.travel.distance_matrix();
        // Coordinate-based durations follow from the distances (no second haversine
        // pass, and no copy of an n x n matrix kept besides the profiles).
        let base_duration = |k: usize| -> f64 {
            match &p.travel {
                Travel::Matrix { .. } => p.travel.duration(k / n, k % n),
                Travel::Euclidean { .. } => dist[k],
                Travel::Haversine { speed_m_per_s, .. } => dist[k] / speed_m_per_s,
            }
        };
        let mut speeds: Vec<f64> = Vec::new();
        let mut dur = Vec::new();
        let dims = p.dimensions();
        let job_idx: BTreeMap<&str, usize> = p
            .jobs
            .iter()
            .enumerate()
            .map(|(i, j)| (j.id.as_str(), i))
            .collect();

        let mut partner = vec![None; p.jobs.len()];
        for pr in &p.pairs {
            let (a, b) = (job_idx[pr.pickup.as_str()], job_idx[pr.delivery.as_str()]);
            partner[a] = Some(b);
            partner[b] = Some(a);
        }
        let mut completed_by = vec![None; p.jobs.len()];
        for (vi, v) in p.vehicles.iter().enumerate() {
            if let Some(u) = &v.under_way {
                for id in &u.completed {
                    completed_by[job_idx[id.as_str()]] = Some(vi);
                }
            }
        }

        let mut jobs: Vec<JobData> = p
            .jobs
            .iter()
            .enumerate()
            .map(|(i, j)| {
                let mut windows: Vec<(f64, f64)> =
                    j.time_windows.iter().map(|w| (w.start, w.end)).collect();
                if windows.is_empty() {
                    windows.push((f64::NEG_INFINITY, f64::INFINITY));
                }
                let partner_done = partner[i].is_some_and(|q| completed_by[q].is_some());
                JobData {
                    loc: j.location,
                    service: j.service,
                    windows,
                    pickup: j.kind == JobKind::Pickup,
                    from_start: j.kind == JobKind::Delivery
                        && (partner[i].is_none() || partner_done),
                    partner: if partner_done { None } else { partner[i] },
                    demand: (0..dims)
                        .map(|k| j.demand.get(k).copied().unwrap_or(0))
                        .collect(),
                    priority: j.priority,
                    glued: false,
                    fixed: false,
                }
            })
            .collect();

        // Requests: every job not completed, pairs together.
        let mut requests = Vec::new();
        let mut req_of_job = vec![usize::MAX; p.jobs.len()];
        // A delivery whose pickup was done by vehicle v must stay on v.
        let mut bound_to: Vec<Option<usize>> = vec![None; p.jobs.len()];
        for (i, j) in jobs.iter().enumerate() {
            if completed_by[i].is_some() {
                continue;
            }
            if let Some(q) = partner[i]
                && let Some(v) = completed_by[q]
            {
                bound_to[i] = Some(v);
            }
            match j.partner {
                Some(q) if j.pickup => {
                    req_of_job[i] = requests.len();
                    req_of_job[q] = requests.len();
                    requests.push(vec![i, q]);
                }
                Some(_) => {}
                None => {
                    req_of_job[i] = requests.len();
                    requests.push(vec![i]);
                }
            }
        }
        let n_req = requests.len();

        let veh_idx: BTreeMap<&str, usize> = p
            .vehicles
            .iter()
            .enumerate()
            .map(|(i, v)| (v.id.as_str(), i))
            .collect();
        let mut initial: Vec<Vec<usize>> = vec![Vec::new(); p.vehicles.len()];
        let mut locked_to: Vec<Option<usize>> = vec![None; p.jobs.len()];
        for kind in [LockKind::Prefix, LockKind::Sequence] {
            for l in p.locks.iter().filter(|l| l.kind == kind) {
                let v = veh_idx[l.vehicle.as_str()];
                for (k, id) in l.jobs.iter().enumerate() {
                    let j = job_idx[id.as_str()];
                    jobs[j].fixed = true;
                    jobs[j].glued = k > 0 || kind == LockKind::Prefix;
                    locked_to[j] = Some(v);
                    initial[v].push(j);
                }
            }
        }

        let mut vehs = Vec::new();
        let mut class_keys: Vec<String> = Vec::new();
        for (vi, v) in p.vehicles.iter().enumerate() {
            let profile = match speeds.iter().position(|&s| s == v.speed_factor) {
                Some(k) => k,
                None => {
                    speeds.push(v.speed_factor);
                    dur.push(
                        (0..n * n)
                            .map(|k| base_duration(k) / v.speed_factor)
                            .collect::<Vec<f64>>(),
                    );
                    speeds.len() - 1
                }
            };
            let (start_loc, t0) = v.effective_start();
            let shift_end = v.shift.map_or(f64::INFINITY, |s| s.end);
            let busy = v.under_way.is_some() || !initial[vi].is_empty();
            // Unique key for vehicles that are interchangeable while empty.
            let key = if busy {
                format!("busy#{vi}")
            } else {
                let mut u = v.clone();
                u.id = String::new();
                format!("{u:?}")
            };
            let class = match class_keys.iter().position(|k| *k == key) {
                Some(c) => c,
                None => {
                    class_keys.push(key);
                    class_keys.len() - 1
                }
            };
            vehs.push(VehData {
                start_loc,
                end_loc: v.end.unwrap_or(NONE),
                t0,
                shift_end,
                max_dur: v.max_duration.unwrap_or(f64::INFINITY),
                cap: v.capacity.clone(),
                fixed_cost: v.fixed_cost,
                cpd: v.cost_per_distance,
                cpt: v.cost_per_time,
                max_dist: v.max_distance.unwrap_or(f64::INFINITY),
                max_stops: v.max_stops.unwrap_or(usize::MAX),
                brk: v.break_.map(|b| (b.window.start, b.window.end, b.duration)),
                profile,
                class,
                initial: std::mem::take(&mut initial[vi]),
            });
        }

        let mut compat = vec![false; p.vehicles.len() * n_req];
        for (vi, v) in p.vehicles.iter().enumerate() {
            for (r, req) in requests.iter().enumerate() {
                compat[vi * n_req + r] = req.iter().all(|&j| {
                    p.jobs[j].skills.iter().all(|s| v.skills.contains(s))
                        && bound_to[j].is_none_or(|b| b == vi)
                        && locked_to[j].is_none_or(|b| b == vi)
                        && jobs[j].demand.iter().zip(&v.capacity).all(|(d, c)| d <= c)
                });
            }
        }

        let free_requests: Vec<usize> = (0..n_req)
            .filter(|&r| !jobs[requests[r][0]].fixed)
            .collect();
        let cap_nb = 150.min(n_req.saturating_sub(1));
        let neighbours = (0..n_req)
            .map(|r| {
                let a = jobs[requests[r][0]].loc;
                let mut others: Vec<(f64, usize)> = free_requests
                    .iter()
                    .filter(|&&q| q != r)
                    .map(|&q| (dist[a * n + jobs[requests[q][0]].loc], q))
                    .collect();
                // A total order (ties by index), so selecting the nearest first gives
                // exactly the prefix of the full sort, in O(n) instead of O(n log n).
                let order = |x: &(f64, usize), y: &(f64, usize)| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1));
                if others.len() > cap_nb {
                    others.select_nth_unstable_by(cap_nb, order);
                    others.truncate(cap_nb);
                }
                others.sort_by(order);
                // Not `into_iter()`: collecting in place would keep each list's
                // n-sized buffer alive (400 MB at 5,000 stops).
                others.iter().map(|x| x.1).collect()
            })
            .collect();

        let max_edge = dist.iter().fold(0.0f64, |m, &x| m.max(x));
        let route_penalty = vehs
            .iter()
            .map(|v| match objective {
                Objective::Distance => 0.0,
                Objective::Cost => v.fixed_cost,
                // Any insertion into an existing route is cheaper than a new route.
                Objective::Hierarchical => 2.0 * max_edge + 1.0,
            })
            .collect();
        // Every route starts with its unpaired deliveries on board and ends with its
        // unpaired pickups, so the fleet must hold each total.
        let mut vehicle_lb = 0usize;
        for k in 0..dims {
            let cap = vehs.iter().map(|v| v.cap[k]).max().unwrap_or(0).max(1);
            let (mut del, mut pick) = (0i64, 0i64);
            for (i, j) in jobs.iter().enumerate() {
                if req_of_job[i] == usize::MAX || j.partner.is_some() {
                    continue;
                }
                if j.pickup {
                    pick += j.demand[k];
                } else {
                    del += j.demand[k];
                }
            }
            let need = del.max(pick);
            vehicle_lb = vehicle_lb.max(((need + cap - 1) / cap) as usize);
        }
        Ok(Instance {
            n_loc: n,
            dist,
            dur,
            jobs,
            vehs,
            dims,
            requests,
            req_of_job,
            compat,
            neighbours,
            free_requests,
            objective,
            route_penalty,
            vehicle_lb,
        })
    }
}
