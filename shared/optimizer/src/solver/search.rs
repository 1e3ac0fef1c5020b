//! SISR ruin-and-recreate (Christiaens & Vanden Berghe 2020): adjacent string
//! removals, greedy insertion with blinks, simulated annealing; plus the paper's
//! fleet-minimisation phase (absence counters) for the hierarchical objective.

use super::Objective;
use super::instance::{Instance, NONE};
use super::route::{Blink, Insertion, RouteState};
use crate::math;
use crate::rng::Rng;

/// Average number of removed requests per ruin.
const C_BAR: f64 = 10.0;
/// Maximum string length.
const L_MAX: f64 = 10.0;
/// Probability of a split string.
const SPLIT_RATE: f64 = 0.5;
/// Probability to stop growing the preserved part of a split string.
const SPLIT_DEPTH: f64 = 0.3;
/// Probability to skip an insertion position.
const BLINK: f64 = 0.01;
/// Longest excursion with one route more than the fixed fleet (hierarchical objective).
const EXCURSION: u64 = 200;
/// Excursions tried before their success rate decides whether to go on.
const EXCURSION_TRIAL: u32 = 8;

/// Lexicographic solution quality: unassigned priority, then vehicles (hierarchical only), then cost.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Key {
    pub unassigned: f64,
    pub vehicles: usize,
    pub cost: f64,
}

impl Key {
    pub fn better_than(&self, o: &Key) -> bool {
        if (self.unassigned - o.unassigned).abs() > 1e-9 {
            return self.unassigned < o.unassigned;
        }
        if self.vehicles != o.vehicles {
            return self.vehicles < o.vehicles;
        }
        self.cost < o.cost - 1e-9 * o.cost.abs().max(1.0)
    }
}

#[derive(Debug)]
pub(crate) struct Sol {
    pub routes: Vec<RouteState>,
    pub unassigned: Vec<usize>,
    /// Vehicle serving each job, NONE if unassigned.
    pub route_of: Vec<usize>,
}

impl Clone for Sol {
    fn clone(&self) -> Self {
        Sol {
            routes: self.routes.clone(),
            unassigned: self.unassigned.clone(),
            route_of: self.route_of.clone(),
        }
    }
    fn clone_from(&mut self, o: &Self) {
        self.routes.clone_from(&o.routes);
        self.unassigned.clone_from(&o.unassigned);
        self.route_of.clone_from(&o.route_of);
    }
}

impl Sol {
    pub fn key(&self, inst: &Instance) -> Key {
        let unassigned = self
            .unassigned
            .iter()
            .map(|&r| {
                inst.requests[r]
                    .iter()
                    .map(|&j| inst.jobs[j].priority)
                    .sum::<f64>()
            })
            .sum();
        let vehicles = if inst.objective == Objective::Hierarchical {
            self.vehicles()
        } else {
            0
        };
        Key {
            unassigned,
            vehicles,
            cost: self.routes.iter().map(|r| r.cost).sum(),
        }
    }

    pub fn vehicles(&self) -> usize {
        self.routes.iter().filter(|r| r.used()).count()
    }
}

struct Fleet {
    sol: Sol,
    absences: Vec<u64>,
}

pub(crate) struct Worker<'a> {
    inst: &'a Instance,
    rng: Rng,
    pub cur: Sol,
    cand: Sol,
    pub best: Sol,
    pub cur_key: Key,
    pub best_key: Key,
    dirty: Vec<bool>,
    mark: Vec<bool>,
    removed: Vec<usize>,
    t_start: f64,
    t_end: f64,
    max_routes: usize,
    /// Iteration at which the current solution took one route more than `max_routes`
    /// (see `may_start_excursion`), and the solution it left.
    exc_start: Option<u64>,
    exc_saved: Option<(Sol, Key)>,
    /// Excursions started, and those that came back to the fleet size.
    exc_tried: u32,
    exc_back: u32,
    fleet: Option<Fleet>,
    pub iterations: u64,
    /// Budget share at which annealing started (after fleet minimisation).
    pub sa_start: f64,
}

impl<'a> Worker<'a> {
    /// Builds an initial solution greedily. Err(vehicle index) if a locked route is infeasible.
    pub fn new(inst: &'a Instance, seed: u64, stream: u64) -> Result<Self, usize> {
        let routes: Vec<RouteState> = (0..inst.vehs.len())
            .map(|v| RouteState::new(inst, v))
            .collect();
        if let Some(r) = routes.iter().find(|r| !r.feasible) {
            return Err(r.v);
        }
        let mut route_of = vec![NONE; inst.jobs.len()];
        for r in &routes {
            for &j in &r.stops {
                route_of[j] = r.v;
            }
        }
        let sol = Sol {
            routes,
            unassigned: Vec::new(),
            route_of,
        };
        let mut w = Worker {
            inst,
            rng: Rng::with_stream(seed, stream),
            cur: sol.clone(),
            cand: sol.clone(),
            best: sol,
            cur_key: Key {
                unassigned: 0.0,
                vehicles: 0,
                cost: 0.0,
            },
            best_key: Key {
                unassigned: 0.0,
                vehicles: 0,
                cost: 0.0,
            },
            dirty: vec![false; inst.vehs.len()],
            mark: vec![false; inst.requests.len()],
            removed: Vec::new(),
            t_start: 1.0,
            t_end: 0.01,
            max_routes: usize::MAX,
            exc_start: None,
            exc_saved: None,
            exc_tried: 0,
            exc_back: 0,
            fleet: None,
            iterations: 0,
            sa_start: 0.0,
        };
        let mut removed = inst.free_requests.clone();
        w.recreate_cand(&mut removed, true);
        w.cur.clone_from(&w.cand);
        w.best.clone_from(&w.cand);
        w.cur_key = w.cur.key(inst);
        w.best_key = w.cur_key;
        w.dirty.iter_mut().for_each(|d| *d = false);
        // Temperatures scale with the typical cost per served request.
        let served = inst.free_requests.len().max(1) as f64;
        let scale = (w.cur_key.cost / served).max(1e-9);
        // Tuned on Solomon C2/R1/R2/RC instances (10 s runs).
        w.t_start = 2.0 * scale;
        w.t_end = 0.02 * scale;
        if inst.objective == Objective::Hierarchical {
            w.fleet = Some(Fleet {
                sol: w.cur.clone(),
                absences: vec![0; inst.requests.len()],
            });
        }
        Ok(w)
    }

    pub fn in_fleet_phase(&self) -> bool {
        self.fleet.is_some()
    }

    /// Fleet minimisation cannot go below the load lower bound.
    pub fn fleet_at_lower_bound(&self) -> bool {
        self.best_key.unassigned == 0.0 && self.best.vehicles() <= self.inst.vehicle_lb
    }

    /// Ends fleet minimisation: the annealing continues from the best solution without new routes.
    pub fn end_fleet_phase(&mut self) {
        if self.fleet.take().is_some() {
            self.cur.clone_from(&self.best);
            self.cand.clone_from(&self.best);
            self.cur_key = self.best_key;
            self.max_routes = self.best.vehicles();
            // With the fleet fixed, many moves fail; a hotter schedule keeps the search moving.
            self.t_start *= 3.0;
            self.t_end *= 3.0;
        }
    }

    /// Replaces the search state with a better solution found elsewhere.
    pub fn adopt(&mut self, s: &Sol, key: Key) {
        self.best.clone_from(s);
        self.best_key = key;
        self.cur.clone_from(s);
        self.cand.clone_from(s);
        self.cur_key = key;
        self.exc_start = None;
        if let Some(f) = &mut self.fleet {
            f.sol.clone_from(s);
        } else if self.inst.objective == Objective::Hierarchical {
            self.max_routes = s.vehicles();
        }
    }

    /// One ruin-and-recreate iteration; `frac` in [0, 1] is the elapsed share of the budget.
    pub fn step(&mut self, frac: f64) {
        self.iterations += 1;
        if self.fleet.is_some() {
            self.fleet_step();
            return;
        }
        let inst = self.inst;
        self.ruin_cand();
        let mut removed = std::mem::take(&mut self.removed);
        removed.append(&mut self.cand.unassigned);
        self.recreate_cand(&mut removed, true);
        self.removed = removed;
        let key = self.cand.key(inst);
        let temp =
            self.t_start * math::exp(frac.clamp(0.0, 1.0) * math::ln(self.t_end / self.t_start));
        let mut excursion = false;
        let accept = if (key.unassigned - self.cur_key.unassigned).abs() > 1e-9 {
            key.unassigned < self.cur_key.unassigned
        } else if key.vehicles != self.cur_key.vehicles {
            if key.vehicles < self.cur_key.vehicles {
                if self.exc_start.take().is_some() {
                    self.exc_back += 1;
                }
                true
            } else if self.may_start_excursion(key) {
                let u = 1.0 - self.rng.next_f64();
                excursion = key.cost < self.cur_key.cost - temp * math::ln(u);
                excursion
            } else {
                false
            }
        } else {
            let u = 1.0 - self.rng.next_f64();
            key.cost < self.cur_key.cost - temp * math::ln(u)
        };
        if key.better_than(&self.best_key) {
            self.best.clone_from(&self.cand);
            self.best_key = key;
        }
        if excursion {
            // Remember where the excursion started, to come back if it finds no way down.
            let saved = self
                .exc_saved
                .get_or_insert_with(|| (self.cur.clone(), self.cur_key));
            saved.0.clone_from(&self.cur);
            saved.1 = self.cur_key;
            self.exc_start = Some(self.iterations);
            self.exc_tried += 1;
        }
        let (from, to) = if accept {
            (&self.cand, &mut self.cur)
        } else {
            (&self.cur, &mut self.cand)
        };
        sync_dirty(from, to, &mut self.dirty);
        if accept {
            self.cur_key = key;
        }
        if let Some(start) = self.exc_start
            && self.iterations - start >= EXCURSION
        {
            // The excursion found no way back to the fleet size: resume from where it began.
            self.exc_start = None;
            if let Some((s, k)) = &self.exc_saved {
                self.cur.clone_from(s);
                self.cand.clone_from(s);
                self.cur_key = *k;
            }
        }
    }

    /// Hierarchical objective, fleet fixed at the load lower bound (so certainly
    /// minimal): like the distance objective, the current solution may take one route
    /// more, for at most `EXCURSION` iterations. A fleet that tight leaves too few
    /// feasible reinsertions to escape some local optima (C206 stayed 16 % above the
    /// best known distance in 5 of 12 seeds). Above the bound the fleet stays strict,
    /// and excursions stop when fewer than a quarter of them come back (R2 instances
    /// with two routes): there they only waste the budget.
    fn may_start_excursion(&self, key: Key) -> bool {
        self.fleet.is_none()
            && self.exc_start.is_none()
            && (self.exc_tried < EXCURSION_TRIAL || 4 * self.exc_back >= self.exc_tried)
            && self.max_routes <= self.inst.vehicle_lb
            && key.vehicles == self.max_routes + 1
            && self.cur_key.vehicles == self.max_routes
    }

    fn fleet_step(&mut self) {
        let inst = self.inst;
        let Some(mut fleet) = self.fleet.take() else {
            return;
        };
        // "Complete" = no worse than the best in unassigned jobs (some may never fit).
        if fleet.sol.key(inst).unassigned <= self.best_key.unassigned + 1e-9 {
            // Complete: drop a random route without locked stops and try to reinsert its jobs.
            let candidates: Vec<usize> = fleet
                .sol
                .routes
                .iter()
                .filter(|r| r.used() && r.stops.iter().all(|&j| !inst.jobs[j].fixed))
                .map(|r| r.v)
                .collect();
            if candidates.is_empty() {
                // Nothing to minimise; fall through to annealing.
                self.end_fleet_phase();
                return;
            }
            let v = candidates[self.rng.below(candidates.len())];
            let route = &mut fleet.sol.routes[v];
            for &j in &route.stops {
                fleet.sol.route_of[j] = NONE;
                let r = inst.req_of_job[j];
                if !fleet.sol.unassigned.contains(&r) {
                    fleet.sol.unassigned.push(r);
                }
            }
            route.stops.clear();
            route.update(inst);
        }
        self.cand.clone_from(&fleet.sol);
        self.max_routes = fleet.sol.vehicles();
        self.ruin_cand();
        let mut removed = std::mem::take(&mut self.removed);
        removed.append(&mut self.cand.unassigned);
        self.recreate_cand(&mut removed, false);
        self.removed = removed;
        let abs_sum = |s: &Sol, a: &[u64]| s.unassigned.iter().map(|&r| a[r]).sum::<u64>();
        if self.cand.unassigned.len() < fleet.sol.unassigned.len()
            || abs_sum(&self.cand, &fleet.absences) < abs_sum(&fleet.sol, &fleet.absences)
        {
            fleet.sol.clone_from(&self.cand);
        }
        for &r in &self.cand.unassigned {
            fleet.absences[r] += 1;
        }
        if fleet.sol.key(inst).unassigned <= self.best_key.unassigned + 1e-9 {
            let key = fleet.sol.key(inst);
            if key.better_than(&self.best_key) {
                self.best.clone_from(&fleet.sol);
                self.best_key = key;
            }
        }
        self.dirty.iter_mut().for_each(|d| *d = false);
        self.fleet = Some(fleet);
    }

    /// SISR ruin on `cand`: removes strings from routes near a random seed request.
    fn ruin_cand(&mut self) {
        let inst = self.inst;
        let sol = &mut self.cand;
        let mut used = 0usize;
        let mut served = 0usize;
        for r in &sol.routes {
            if r.used() {
                used += 1;
                served += r.stops.len();
            }
        }
        if served == 0 || inst.free_requests.is_empty() {
            return;
        }
        let avg = served as f64 / used as f64;
        let ls_max = L_MAX.min(avg);
        let ks_max = 4.0 * C_BAR / (1.0 + ls_max) - 1.0;
        let ks = (1.0 + self.rng.next_f64() * ks_max).floor().max(1.0) as usize;
        let seed = inst.free_requests[self.rng.below(inst.free_requests.len())];
        let mut ruined: Vec<usize> = Vec::with_capacity(ks);
        for &c in std::iter::once(&seed).chain(inst.neighbours[seed].iter()) {
            if ruined.len() >= ks {
                break;
            }
            let j = inst.requests[c][0];
            let v = sol.route_of[j];
            if v == NONE || ruined.contains(&v) {
                continue;
            }
            let route = &sol.routes[v];
            let n = route.stops.len();
            let lmax_t = ls_max.min(n as f64);
            let l = ((1.0 + self.rng.next_f64() * lmax_t).floor() as usize).clamp(1, n);
            let pos = route.stops.iter().position(|&x| x == j).unwrap_or(0);
            let (s, total, keep_from, keep_len) = if l < n && self.rng.next_f64() < SPLIT_RATE {
                let mut m = 1;
                while l + m < n && self.rng.next_f64() > SPLIT_DEPTH {
                    m += 1;
                }
                let total = l + m;
                let s = self
                    .rng
                    .range(pos.saturating_sub(total - 1), pos.min(n - total));
                let off = self.rng.range(0, l);
                (s, total, s + off, m)
            } else {
                let s = self.rng.range(pos.saturating_sub(l - 1), pos.min(n - l));
                (s, l, 0, 0)
            };
            let before = self.removed.len();
            for (k, &x) in route.stops.iter().enumerate().skip(s).take(total) {
                if keep_len > 0 && k >= keep_from && k < keep_from + keep_len {
                    continue;
                }
                if inst.jobs[x].fixed {
                    continue;
                }
                let r = inst.req_of_job[x];
                if !self.mark[r] {
                    self.mark[r] = true;
                    self.removed.push(r);
                }
            }
            ruined.push(v);
            if self.removed.len() > before {
                let mark = &self.mark;
                let route = &mut sol.routes[v];
                let kept = route.stops.clone();
                route.stops.retain(|&x| !mark[inst.req_of_job[x]]);
                route.update(inst);
                if !route.feasible {
                    // Removal can break a route (a break that no longer fits, a matrix
                    // without the triangle inequality): keep this route as it was.
                    route.stops = kept;
                    route.update(inst);
                    for r in self.removed.drain(before..) {
                        self.mark[r] = false;
                    }
                    continue;
                }
                self.dirty[v] = true;
            }
        }
        for &r in &self.removed {
            self.mark[r] = false;
            for &j in &inst.requests[r] {
                sol.route_of[j] = NONE;
            }
        }
    }

    /// Greedy insertion with blinks of `removed` into `cand`, in a random SISR order.
    fn recreate_cand(&mut self, removed: &mut Vec<usize>, may_exceed: bool) {
        let inst = self.inst;
        self.rng.shuffle(removed);
        let demand = |r: usize| -> i64 { inst.jobs[inst.requests[r][0]].demand.iter().sum() };
        let depot = inst.vehs.first().map_or(0, |v| v.start_loc);
        let far = |r: usize| inst.d(depot, inst.jobs[inst.requests[r][0]].loc);
        let tw = |r: usize| {
            let w = &inst.jobs[inst.requests[r][0]].windows;
            w[w.len() - 1].1 - w[0].0
        };
        match self.rng.below(13) {
            0..=3 => {}
            4..=7 => removed.sort_by_key(|&r| std::cmp::Reverse(demand(r))),
            8..=9 => removed.sort_by(|&a, &b| far(b).total_cmp(&far(a))),
            10 => removed.sort_by(|&a, &b| far(a).total_cmp(&far(b))),
            _ => removed.sort_by(|&a, &b| tw(a).total_cmp(&tw(b))),
        }
        let sol = &mut self.cand;
        let mut blink = Blink::new(&mut self.rng, BLINK);
        let mut used = sol.vehicles();
        let mut tried_classes: Vec<usize> = Vec::new();
        // Outside fleet minimisation (`may_exceed`) a request may open a route beyond the
        // limit rather than stay unassigned: unassigned jobs weigh more than vehicles.
        for &r in removed.iter() {
            let req = &inst.requests[r];
            let mut best: Option<(usize, Insertion)> = None;
            // Attempt 0 blinks; 1 does not (a blink must not leave a job out); 2 ignores max_routes.
            for attempt in 0..3 {
                if attempt == 2 && !(may_exceed && used >= self.max_routes) {
                    break;
                }
                let mut bound = f64::INFINITY;
                tried_classes.clear();
                blink.enabled = attempt == 0;
                for route in sol.routes.iter() {
                    let v = route.v;
                    if !inst.compatible(v, r) {
                        continue;
                    }
                    if !route.used() {
                        let class = inst.vehs[v].class;
                        if (used >= self.max_routes && attempt < 2)
                            || tried_classes.contains(&class)
                        {
                            continue;
                        }
                        tried_classes.push(class);
                    }
                    if let Some(ins) = route.best_insertion(inst, req, bound, &mut blink) {
                        bound = ins.delta;
                        best = Some((v, ins));
                    }
                }
                if best.is_some() {
                    break;
                }
            }
            match best {
                Some((v, ins)) => {
                    let route = &mut sol.routes[v];
                    if !route.used() {
                        used += 1;
                    }
                    route.apply(inst, req, ins);
                    for &j in req {
                        sol.route_of[j] = v;
                    }
                    self.dirty[v] = true;
                }
                None => sol.unassigned.push(r),
            }
        }
        removed.clear();
    }
}

/// Copies the routes touched in this iteration from `from` to `to`.
fn sync_dirty(from: &Sol, to: &mut Sol, dirty: &mut [bool]) {
    for (v, d) in dirty.iter_mut().enumerate() {
        if *d {
            to.routes[v].clone_from(&from.routes[v]);
            *d = false;
        }
    }
    to.unassigned.clone_from(&from.unassigned);
    to.route_of.clone_from(&from.route_of);
}
