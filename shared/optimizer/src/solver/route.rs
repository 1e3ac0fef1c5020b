//! One vehicle's route with cached forward/backward data for O(1) insertion checks.
//!
//! Node indices: 0 = start, 1..=n = stops, n+1 = end. `dep[k]` is the departure
//! from node k when leaving as early as possible; `latest[k]` the latest service
//! start at node k that keeps the rest of the route feasible. Loads are kept per
//! node (after serving it) with prefix and suffix maxima.

use super::Objective;
use super::instance::Instance;

#[derive(Debug)]
pub(crate) struct RouteState {
    pub v: usize,
    pub stops: Vec<usize>,
    pub loc: Vec<usize>,
    pub dep: Vec<f64>,
    pub latest: Vec<f64>,
    pub load: Vec<i64>,
    pub pre_max: Vec<i64>,
    pub suf_max: Vec<i64>,
    pub dist: f64,
    /// When the vehicle leaves its start (see `Instance::departure`).
    pub start_time: f64,
    pub end_time: f64,
    pub cost: f64,
    pub brk_after: Option<usize>,
    pub feasible: bool,
}

impl Clone for RouteState {
    fn clone(&self) -> Self {
        let mut r = RouteState::empty(self.v);
        r.clone_from(self);
        r
    }

    // Reuses allocations: the search copies routes back and forth every iteration.
    fn clone_from(&mut self, o: &Self) {
        self.v = o.v;
        self.stops.clone_from(&o.stops);
        self.loc.clone_from(&o.loc);
        self.dep.clone_from(&o.dep);
        self.latest.clone_from(&o.latest);
        self.load.clone_from(&o.load);
        self.pre_max.clone_from(&o.pre_max);
        self.suf_max.clone_from(&o.suf_max);
        self.dist = o.dist;
        self.start_time = o.start_time;
        self.end_time = o.end_time;
        self.cost = o.cost;
        self.brk_after = o.brk_after;
        self.feasible = o.feasible;
    }
}

/// Decides which insertion positions to skip: each with probability `rate`, drawn
/// as geometric gaps so the generator is not called per position.
pub(crate) struct Blink<'r> {
    rng: &'r mut crate::rng::Rng,
    inv_log: f64,
    gap: u64,
    /// When false nothing is skipped (the gap is kept for later).
    pub enabled: bool,
}

impl<'r> Blink<'r> {
    pub fn new(rng: &'r mut crate::rng::Rng, rate: f64) -> Self {
        let inv_log = 1.0 / crate::math::ln(1.0 - rate);
        let mut b = Blink {
            rng,
            inv_log,
            gap: 0,
            enabled: true,
        };
        b.draw();
        b
    }

    fn draw(&mut self) {
        if !self.inv_log.is_finite() {
            // Rate 0: never blink.
            self.gap = u64::MAX;
            return;
        }
        let u = 1.0 - self.rng.next_f64();
        self.gap = (crate::math::ln(u) * self.inv_log).floor().min(1e18) as u64;
    }

    #[inline]
    pub fn skip(&mut self) -> bool {
        if !self.enabled {
            false
        } else if self.gap == 0 {
            self.draw();
            true
        } else {
            self.gap -= 1;
            false
        }
    }
}

/// A candidate insertion: first job at stop index `p`; for pairs the delivery goes
/// into gap `q >= p` of the original route (directly after the pickup when `q == p`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Insertion {
    pub delta: f64,
    pub p: usize,
    pub q: usize,
}

impl RouteState {
    fn empty(v: usize) -> Self {
        RouteState {
            v,
            stops: Vec::new(),
            loc: Vec::new(),
            dep: Vec::new(),
            latest: Vec::new(),
            load: Vec::new(),
            pre_max: Vec::new(),
            suf_max: Vec::new(),
            dist: 0.0,
            start_time: 0.0,
            end_time: 0.0,
            cost: 0.0,
            brk_after: None,
            feasible: true,
        }
    }

    pub fn new(inst: &Instance, v: usize) -> Self {
        let mut r = RouteState::empty(v);
        r.stops = inst.vehs[v].initial.clone();
        r.update(inst);
        r
    }

    pub fn used(&self) -> bool {
        !self.stops.is_empty()
    }

    /// Recomputes all caches after `stops` changed. O(n) (O(n^2) with a break).
    pub fn update(&mut self, inst: &Instance) {
        let vd = &inst.vehs[self.v];
        let v = self.v;
        let n = self.stops.len();
        self.loc.clear();
        self.loc.push(vd.start_loc);
        self.loc
            .extend(self.stops.iter().map(|&j| inst.jobs[j].loc));
        self.loc.push(vd.end_loc);
        let mut feasible = n <= vd.max_stops;

        self.dep.clear();
        self.dep.push(vd.t0);
        for k in 1..=n {
            let job = &inst.jobs[self.stops[k - 1]];
            let arr = self.dep[k - 1] + inst.t(v, self.loc[k - 1], self.loc[k]);
            let start = job.earliest_start(arr).unwrap_or_else(|| {
                feasible = false;
                arr
            });
            self.dep.push(start + job.service);
        }
        let end_arr = self.dep[n] + inst.t(v, self.loc[n], self.loc[n + 1]);
        self.dep.push(end_arr);
        let departure = if n > 0 {
            inst.departure(
                v,
                self.stops[0],
                self.dep[1] - inst.jobs[self.stops[0]].service,
            )
        } else {
            vd.t0
        };
        let deadline = vd.deadline(departure);
        if end_arr > deadline {
            feasible = false;
        }

        self.latest.clear();
        self.latest.resize(n + 2, 0.0);
        self.latest[n + 1] = deadline;
        for k in (1..=n).rev() {
            let job = &inst.jobs[self.stops[k - 1]];
            let bound = self.latest[k + 1] - inst.t(v, self.loc[k], self.loc[k + 1]) - job.service;
            self.latest[k] = job.latest_start(bound);
        }
        self.latest[0] = self.latest[1.min(n + 1)] - inst.t(v, self.loc[0], self.loc[1.min(n + 1)]);

        let mut dist = 0.0;
        for k in 1..n + 2 {
            dist += inst.d(self.loc[k - 1], self.loc[k]);
        }
        self.dist = dist;
        if dist > vd.max_dist {
            feasible = false;
        }

        let dims = inst.dims;
        self.load.clear();
        self.load.resize((n + 1) * dims, 0);
        for &j in &self.stops {
            if inst.jobs[j].from_start {
                for k in 0..dims {
                    self.load[k] += inst.jobs[j].demand[k];
                }
            }
        }
        for (i, &j) in self.stops.iter().enumerate() {
            let job = &inst.jobs[j];
            for k in 0..dims {
                let prev = self.load[i * dims + k];
                self.load[(i + 1) * dims + k] = if job.pickup {
                    prev + job.demand[k]
                } else {
                    prev - job.demand[k]
                };
            }
        }
        self.pre_max.clone_from(&self.load);
        self.suf_max.clone_from(&self.load);
        for i in 1..=n {
            for k in 0..dims {
                let a = self.pre_max[(i - 1) * dims + k];
                let b = &mut self.pre_max[i * dims + k];
                *b = (*b).max(a);
            }
        }
        for i in (0..n).rev() {
            for k in 0..dims {
                let a = self.suf_max[(i + 1) * dims + k];
                let b = &mut self.suf_max[i * dims + k];
                *b = (*b).max(a);
            }
        }
        if dims > 0 && (0..dims).any(|k| self.pre_max[n * dims + k] > vd.cap[k]) {
            feasible = false;
        }

        self.brk_after = None;
        self.start_time = departure;
        self.end_time = end_arr;
        if vd.brk.is_some() && n > 0 {
            match best_break(inst, v, &self.stops) {
                Some((b, start, end)) => {
                    self.brk_after = Some(b);
                    self.start_time = start;
                    self.end_time = end;
                }
                None => feasible = false,
            }
        }
        self.feasible = feasible;
        self.cost = if n == 0 {
            0.0
        } else {
            match inst.objective {
                Objective::Distance | Objective::Hierarchical => dist,
                Objective::Cost => {
                    vd.fixed_cost + vd.cpd * dist + vd.cpt * (self.end_time - self.start_time)
                }
            }
        };
    }

    #[inline]
    fn delta_cost(&self, inst: &Instance, ddist: f64, dtime: f64) -> f64 {
        let vd = &inst.vehs[self.v];
        let base = match inst.objective {
            Objective::Distance | Objective::Hierarchical => ddist,
            Objective::Cost => vd.cpd * ddist + vd.cpt * dtime,
        };
        if self.stops.is_empty() {
            base + inst.route_penalty[self.v]
        } else {
            base
        }
    }

    #[inline]
    fn cap_ok(&self, inst: &Instance, max: &[i64], at: usize, demand: &[i64]) -> bool {
        let dims = inst.dims;
        let cap = &inst.vehs[self.v].cap;
        (0..dims).all(|k| max[at * dims + k] + demand[k] <= cap[k])
    }

    /// Best insertion of request `req` into this route with cost below `bound`,
    /// skipping ("blinking" over) the positions `blink` picks.
    pub fn best_insertion(
        &self,
        inst: &Instance,
        req: &[usize],
        bound: f64,
        blink: &mut Blink,
    ) -> Option<Insertion> {
        let vd = &inst.vehs[self.v];
        if self.stops.len() + req.len() > vd.max_stops {
            return None;
        }
        if req.len() == 1 {
            self.best_single(inst, req[0], bound, blink)
        } else {
            self.best_pair(inst, req[0], req[1], bound, blink)
        }
    }

    fn best_single(
        &self,
        inst: &Instance,
        j: usize,
        bound: f64,
        blink: &mut Blink,
    ) -> Option<Insertion> {
        let v = self.v;
        let vd = &inst.vehs[v];
        let job = &inst.jobs[j];
        let n = self.stops.len();
        let jl = job.loc;
        let last_end = job.windows[job.windows.len() - 1].1;
        let mut best: Option<Insertion> = None;
        let mut best_cost = bound;
        // When the cost is the distance delta, positions can be pruned before the time checks.
        let pure_distance = inst.objective != Objective::Cost;
        let penalty = if self.stops.is_empty() {
            inst.route_penalty[self.v]
        } else {
            0.0
        };
        for p in 0..=n {
            if self.dep[p] > last_end {
                break;
            }
            if inst.dims > 0 {
                if job.pickup {
                    if !self.cap_ok(inst, &self.suf_max, p, &job.demand) {
                        continue;
                    }
                } else if !self.cap_ok(inst, &self.pre_max, p, &job.demand) {
                    break;
                }
            }
            if p < n && inst.jobs[self.stops[p]].glued {
                continue;
            }
            if blink.skip() {
                continue;
            }
            let (a, b) = (self.loc[p], self.loc[p + 1]);
            let ddist = inst.d(a, jl) + inst.d(jl, b) - inst.d(a, b);
            if self.dist + ddist > vd.max_dist || (pure_distance && ddist + penalty >= best_cost) {
                continue;
            }
            let Some(start) = job.earliest_start(self.dep[p] + inst.t(v, a, jl)) else {
                continue;
            };
            let arr_b = start + job.service + inst.t(v, jl, b);
            // A new first stop moves the departure and so the max-duration deadline
            // that `latest` was computed for: check those positions in full.
            let full = p == 0 && vd.max_dur.is_finite();
            if !full && arr_b > self.latest[p + 1] {
                continue;
            }
            let dtime = arr_b - self.dep[p] - inst.t(v, a, b);
            let c = self.delta_cost(inst, ddist, dtime);
            if c < best_cost
                && self.break_ok(inst, &[(p, j)])
                && (!full || self.schedule_ok(inst, &[(p, j)]))
            {
                best_cost = c;
                best = Some(Insertion { delta: c, p, q: p });
            }
        }
        best
    }

    fn best_pair(
        &self,
        inst: &Instance,
        pj: usize,
        dj: usize,
        bound: f64,
        blink: &mut Blink,
    ) -> Option<Insertion> {
        let v = self.v;
        let vd = &inst.vehs[v];
        let (pjob, djob) = (&inst.jobs[pj], &inst.jobs[dj]);
        let n = self.stops.len();
        let dims = inst.dims;
        let cap = &vd.cap;
        let (pl, dl) = (pjob.loc, djob.loc);
        let p_last = pjob.windows[pjob.windows.len() - 1].1;
        let mut best: Option<Insertion> = None;
        let mut best_cost = bound;
        for p in 0..=n {
            if self.dep[p] > p_last {
                break;
            }
            if p < n && inst.jobs[self.stops[p]].glued {
                continue;
            }
            if blink.skip() {
                continue;
            }
            let (a, b) = (self.loc[p], self.loc[p + 1]);
            let Some(ps) = pjob.earliest_start(self.dep[p] + inst.t(v, a, pl)) else {
                continue;
            };
            let pdep = ps + pjob.service;
            let pick_dd = inst.d(a, pl) + inst.d(pl, b) - inst.d(a, b);
            // Running max load over nodes p..=q (the pair's goods are on board there).
            let mut run_max: Vec<i64> = (0..dims).map(|k| self.load[p * dims + k]).collect();
            // t = departure from node q with the pickup inserted (before the delivery).
            let mut t = pdep;
            let mut prev_loc = pl;
            for q in p..=n {
                if q > p {
                    // Move through original node q.
                    let node = q;
                    let job = &inst.jobs[self.stops[node - 1]];
                    let Some(s) = job.earliest_start(t + inst.t(v, prev_loc, self.loc[node]))
                    else {
                        break;
                    };
                    t = s + job.service;
                    prev_loc = self.loc[node];
                    for (k, m) in run_max.iter_mut().enumerate() {
                        *m = (*m).max(self.load[q * dims + k]);
                    }
                }
                if (0..dims).any(|k| run_max[k] + pjob.demand[k] > cap[k]) {
                    break;
                }
                if q < n && q > p && inst.jobs[self.stops[q]].glued {
                    continue;
                }
                let next = self.loc[q + 1];
                let Some(ds) = djob.earliest_start(t + inst.t(v, prev_loc, dl)) else {
                    break;
                };
                let arr_next = ds + djob.service + inst.t(v, dl, next);
                let full = p == 0 && vd.max_dur.is_finite();
                if !full && arr_next > self.latest[q + 1] {
                    continue;
                }
                let ddist = if q == p {
                    inst.d(a, pl) + inst.d(pl, dl) + inst.d(dl, b) - inst.d(a, b)
                } else {
                    pick_dd + inst.d(self.loc[q], dl) + inst.d(dl, next) - inst.d(self.loc[q], next)
                };
                if self.dist + ddist > vd.max_dist {
                    continue;
                }
                let dtime = arr_next - self.dep[q] - inst.t(v, self.loc[q], next);
                let c = self.delta_cost(inst, ddist, dtime);
                if c < best_cost
                    && self.break_ok(inst, &[(q, dj), (p, pj)])
                    && (!full || self.schedule_ok(inst, &[(q, dj), (p, pj)]))
                {
                    best_cost = c;
                    best = Some(Insertion { delta: c, p, q });
                }
            }
        }
        best
    }

    /// With a break, the O(1) checks are only necessary conditions: re-simulate.
    fn break_ok(&self, inst: &Instance, inserts: &[(usize, usize)]) -> bool {
        if inst.vehs[self.v].brk.is_none() {
            return true;
        }
        let mut s = self.stops.clone();
        for &(pos, j) in inserts {
            s.insert(pos, j);
        }
        best_break(inst, self.v, &s).is_some()
    }

    /// Full time check of the route with `inserts` applied (windows, shift, max duration).
    fn schedule_ok(&self, inst: &Instance, inserts: &[(usize, usize)]) -> bool {
        let mut s = self.stops.clone();
        for &(pos, j) in inserts {
            s.insert(pos, j);
        }
        let vd = &inst.vehs[self.v];
        let (mut t, mut at) = (vd.t0, vd.start_loc);
        let mut first_start = None;
        for &j in &s {
            let job = &inst.jobs[j];
            let Some(st) = job.earliest_start(t + inst.t(self.v, at, job.loc)) else {
                return false;
            };
            first_start.get_or_insert(st);
            t = st + job.service;
            at = job.loc;
        }
        t += inst.t(self.v, at, vd.end_loc);
        let departure = match (s.first(), first_start) {
            (Some(&f), Some(st)) => inst.departure(self.v, f, st),
            _ => vd.t0,
        };
        t <= vd.deadline(departure)
    }

    /// Applies an insertion found by `best_insertion` and refreshes caches.
    pub fn apply(&mut self, inst: &Instance, req: &[usize], ins: Insertion) {
        if req.len() == 1 {
            self.stops.insert(ins.p, req[0]);
        } else {
            self.stops.insert(ins.q, req[1]);
            self.stops.insert(ins.p, req[0]);
        }
        self.update(inst);
    }
}

/// Break position with the shortest route, as (position, departure, end), or None
/// if no position is feasible. A break only delays, so the schedule without it is
/// the reference: after the break, simulation stops as soon as the delayed
/// schedule has caught up. With the break before the first stop the vehicle
/// leaves at `t0`; otherwise it leaves as late as the first service allows.
pub(crate) fn best_break(inst: &Instance, v: usize, stops: &[usize]) -> Option<(usize, f64, f64)> {
    let vd = &inst.vehs[v];
    let (ws, we, bd) = vd.brk?;
    let n = stops.len();
    // dep[k] = departure from node k without the break (node 0 = start).
    let mut dep = Vec::with_capacity(n + 1);
    let (mut t, mut at) = (vd.t0, vd.start_loc);
    dep.push(t);
    for &j in stops {
        let job = &inst.jobs[j];
        t = job.earliest_start(t + inst.t(v, at, job.loc))? + job.service;
        at = job.loc;
        dep.push(t);
    }
    let base_end = t + inst.t(v, at, vd.end_loc);
    let late_departure = match stops.first() {
        Some(&f) => inst.departure(v, f, dep[1] - inst.jobs[f].service),
        None => vd.t0,
    };
    if base_end > vd.deadline(late_departure) {
        return None;
    }
    let mut best: Option<(usize, f64, f64)> = None;
    for b in 0..=n {
        let s = dep[b].max(ws);
        if s > we {
            // Departures only grow: later positions are too late as well.
            break;
        }
        let mut t = s + bd;
        let mut at = if b == 0 {
            vd.start_loc
        } else {
            inst.jobs[stops[b - 1]].loc
        };
        let mut end = None;
        let mut ok = true;
        for k in b..n {
            if t <= dep[k] {
                end = Some(base_end);
                break;
            }
            let job = &inst.jobs[stops[k]];
            match job.earliest_start(t + inst.t(v, at, job.loc)) {
                Some(st) => t = st + job.service,
                None => {
                    ok = false;
                    break;
                }
            }
            at = job.loc;
        }
        if !ok {
            continue;
        }
        let e = match end {
            Some(e) => e,
            None if t <= dep[n] => base_end,
            None => t + inst.t(v, at, vd.end_loc),
        };
        let departure = if b == 0 { vd.t0 } else { late_departure };
        if e <= vd.deadline(departure) && best.is_none_or(|(_, d, be)| e - departure < be - d) {
            best = Some((b, departure, e));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Job, JobKind, Pair, Problem, TimeUnit, TimeWindow, Travel, Vehicle};
    use crate::rng::Rng;

    /// Full re-simulation of a stop sequence, independent of the cached data.
    fn feasible(inst: &Instance, v: usize, stops: &[usize]) -> bool {
        let mut r = RouteState::new(inst, v);
        r.stops = stops.to_vec();
        r.update(inst);
        let pos = |j: usize| stops.iter().position(|&x| x == j);
        let pairs_ok = stops.iter().all(|&j| match inst.jobs[j].partner {
            Some(q) if inst.jobs[j].pickup => {
                pos(q).is_some_and(|pq| pq > pos(j).unwrap_or(usize::MAX))
            }
            _ => true,
        });
        r.feasible && pairs_ok
    }

    fn random_problem(rng: &mut Rng, open: bool) -> Problem {
        let n = 9;
        let points = (0..=n)
            .map(|_| [rng.below(100) as f64, rng.below(100) as f64])
            .collect();
        let mut jobs: Vec<Job> = (1..=n)
            .map(|i| {
                let mut j = Job::new(format!("j{i}"), i);
                j.demand = vec![rng.range(0, 4) as i64, rng.range(0, 2) as i64];
                j.service = rng.below(10) as f64;
                if rng.below(3) > 0 {
                    let s = rng.below(300) as f64;
                    j.time_windows = vec![TimeWindow::new(s, s + 30.0 + rng.below(80) as f64)];
                    if rng.below(3) == 0 {
                        j.time_windows.push(TimeWindow::new(s + 150.0, s + 200.0));
                    }
                }
                if rng.below(4) == 0 {
                    j.kind = JobKind::Pickup;
                }
                j
            })
            .collect();
        // One pickup-and-delivery pair.
        jobs[0].kind = JobKind::Pickup;
        jobs[1].kind = JobKind::Delivery;
        jobs[1].demand = jobs[0].demand.clone();
        let mut v = Vehicle::new("v", 0);
        v.capacity = vec![8, 3];
        v.shift = Some(TimeWindow::new(0.0, 500.0));
        v.max_distance = Some(400.0);
        if open {
            v.end = None;
        }
        Problem {
            name: "r".into(),
            time_unit: TimeUnit::Unitless,
            travel: Travel::Euclidean { points },
            jobs,
            pairs: vec![Pair {
                pickup: "j1".into(),
                delivery: "j2".into(),
            }],
            vehicles: vec![v],
            locks: vec![],
        }
    }

    /// Straightforward reference: simulate every break position from scratch.
    fn best_break_reference(inst: &Instance, v: usize, stops: &[usize]) -> Option<(usize, f64)> {
        let vd = &inst.vehs[v];
        let (ws, we, bd) = vd.brk?;
        let mut best: Option<(usize, f64)> = None;
        'pos: for b in 0..=stops.len() {
            let (mut t, mut at) = (vd.t0, vd.start_loc);
            let mut first_start = None;
            for k in 0..=stops.len() {
                if k == b {
                    let s = t.max(ws);
                    if s > we {
                        continue 'pos;
                    }
                    t = s + bd;
                }
                if k == stops.len() {
                    break;
                }
                let job = &inst.jobs[stops[k]];
                match job.earliest_start(t + inst.t(v, at, job.loc)) {
                    Some(st) => {
                        first_start.get_or_insert(st);
                        t = st + job.service;
                    }
                    None => continue 'pos,
                }
                at = job.loc;
            }
            t += inst.t(v, at, vd.end_loc);
            // Leaves as late as the first service allows, unless the break comes first.
            let departure = match first_start {
                Some(st) if b > 0 => vd
                    .t0
                    .max(st - inst.t(v, vd.start_loc, inst.jobs[stops[0]].loc)),
                _ => vd.t0,
            };
            let duration = t - departure;
            if t <= vd.deadline(departure) && best.is_none_or(|(_, d)| duration < d) {
                best = Some((b, duration));
            }
        }
        best
    }

    #[test]
    fn break_placement_matches_the_reference_simulation() {
        let mut rng = Rng::new(3);
        let mut found = 0;
        for case in 0..2000 {
            let mut p = random_problem(&mut rng, case % 2 == 0);
            let ws = rng.below(400) as f64;
            p.vehicles[0].break_ = Some(crate::model::Break {
                window: TimeWindow::new(ws, ws + rng.below(60) as f64),
                duration: rng.below(40) as f64,
            });
            let inst = Instance::build(&p, super::super::Objective::Distance).unwrap();
            let mut stops: Vec<usize> = (2..inst.jobs.len()).collect();
            rng.shuffle(&mut stops);
            stops.truncate(rng.range(1, 5));
            let fast = best_break(&inst, 0, &stops);
            let slow = best_break_reference(&inst, 0, &stops);
            let fast = fast.map(|x| x.2 - x.1);
            let slow = slow.map(|x| x.1);
            assert!(
                fast == slow || fast.zip(slow).is_some_and(|(a, b)| (a - b).abs() < 1e-9),
                "case {case}: {stops:?} {fast:?} vs {slow:?}"
            );
            found += fast.is_some() as usize;
        }
        assert!(found > 200, "{found}");
    }

    /// The O(1) insertion checks agree with full re-simulation on every position.
    #[test]
    fn cached_insertion_checks_match_full_simulation() {
        let mut rng = Rng::new(11);
        let mut checked = 0;
        for case in 0..300 {
            let p = random_problem(&mut rng, case % 3 == 0);
            let inst = Instance::build(&p, super::super::Objective::Distance).unwrap();
            // Build a feasible random route by greedy random insertion.
            let mut route = RouteState::new(&inst, 0);
            let mut order: Vec<usize> = (0..inst.requests.len()).collect();
            rng.shuffle(&mut order);
            let (placed, rest) = order.split_at(order.len() / 2);
            for &r in placed {
                let mut b = Blink::new(&mut rng, 0.0);
                b.enabled = false;
                if let Some(ins) =
                    route.best_insertion(&inst, &inst.requests[r], f64::INFINITY, &mut b)
                {
                    route.apply(&inst, &inst.requests[r], ins);
                }
            }
            assert!(route.feasible);
            for &r in rest {
                let req = &inst.requests[r];
                // Brute force over every position (pair: every pickup/delivery gap).
                let n = route.stops.len();
                let mut best: Option<f64> = None;
                for p_ in 0..=n {
                    let qs: Vec<usize> = if req.len() == 1 {
                        vec![p_]
                    } else {
                        (p_..=n).collect()
                    };
                    for q in qs {
                        let mut s = route.stops.clone();
                        if req.len() == 1 {
                            s.insert(p_, req[0]);
                        } else {
                            s.insert(q, req[1]);
                            s.insert(p_, req[0]);
                        }
                        if feasible(&inst, 0, &s) {
                            let mut t = RouteState::new(&inst, 0);
                            t.stops = s;
                            t.update(&inst);
                            let d = t.dist - route.dist;
                            if best.is_none_or(|b| d < b) {
                                best = Some(d);
                            }
                        }
                    }
                }
                let mut b = Blink::new(&mut rng, 0.0);
                b.enabled = false;
                let fast = route.best_insertion(&inst, req, f64::INFINITY, &mut b);
                match (fast, best) {
                    (None, None) => {}
                    (Some(i), Some(d)) => {
                        assert!(
                            (i.delta - d).abs() < 1e-9,
                            "case {case}: fast {} vs brute {d}",
                            i.delta
                        );
                        let mut t = route.clone();
                        t.apply(&inst, req, i);
                        assert!(t.feasible, "case {case}: chosen insertion is infeasible");
                        checked += 1;
                    }
                    (f, b) => panic!("case {case}: fast {f:?} vs brute force {b:?}"),
                }
            }
        }
        assert!(
            checked > 100,
            "too few feasible insertions compared: {checked}"
        );
    }
}
