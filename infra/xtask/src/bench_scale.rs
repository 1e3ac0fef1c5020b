//! `cargo xtask bench-scale`: the optimizer on large synthetic cities (1,000 and
//! 5,000 stops with time windows), run as a child `doorstep solve` so that the
//! measured peak memory (VmHWM) is the solver's own. Reports the time to the first
//! solution serving every stop, the best cost within the time limit, iterations/s
//! and peak memory, and appends the table to BENCHMARKS.md.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, bail};
use doorstep_optimizer::rng::Rng;
use doorstep_optimizer::{Job, LatLon, Problem, TimeUnit, TimeWindow, Travel, Vehicle};

use crate::bench_report::{self, Table};
use crate::process::{self, cargo};

/// Issue targets for the 1,000-stop city.
const FIRST_FEASIBLE_TARGET_MS: u64 = 1_000;
const MEMORY_TARGET_1K_MIB: f64 = 300.0;
/// Issue target for the 5,000-stop city.
const MEMORY_TARGET_5K_MIB: f64 = 2_048.0;

#[derive(Debug)]
struct Options {
    stops: Vec<usize>,
    times_s: Vec<f64>,
    seed: u64,
    objective: String,
}

fn parse_options(args: &[String]) -> anyhow::Result<Options> {
    let mut stops = vec![1_000, 5_000];
    let mut times_s = None;
    let mut seed = 1;
    let mut objective = "cost".to_string();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--stops" => {
                stops = value()?
                    .split(',')
                    .map(|s| s.trim().parse::<usize>().with_context(|| format!("--stops: `{s}` is not a number")))
                    .collect::<anyhow::Result<_>>()?
            }
            "--time" => {
                times_s = Some(
                    value()?
                        .split(',')
                        .map(|s| s.trim().parse::<f64>().with_context(|| format!("--time: `{s}` is not seconds")))
                        .collect::<anyhow::Result<Vec<f64>>>()?,
                )
            }
            "--seed" => seed = value()?.parse().context("--seed takes a number")?,
            "--objective" => objective = value()?.clone(),
            other => bail!(
                "unknown option {other}; usage: cargo xtask bench-scale [--stops 1000,5000] [--time 30,60] \
                 [--seed N] [--objective cost|distance|hierarchical]"
            ),
        }
    }
    if stops.is_empty() || stops.iter().any(|&n| n < 10) {
        bail!("--stops needs sizes of at least 10 stops");
    }
    if !["distance", "hierarchical", "cost"].contains(&objective.as_str()) {
        bail!("--objective must be cost, distance or hierarchical, not {objective}");
    }
    // Default limit: 30 s for 1,000 stops, 60 s from 5,000 on.
    let times_s = times_s.unwrap_or_else(|| stops.iter().map(|&n| if n >= 5_000 { 60.0 } else { 30.0 }).collect());
    if times_s.len() != stops.len() {
        bail!("--time needs one limit per --stops size ({} sizes, {} limits)", stops.len(), times_s.len());
    }
    if times_s.iter().any(|&t| t.is_nan() || t <= 0.0) {
        bail!("--time limits must be positive");
    }
    Ok(Options { stops, times_s, seed, objective })
}

pub fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let options = parse_options(args)?;
    process::run(cargo(root).args(["build", "--release", "--package", "doorstep", "--bin", "doorstep", "--locked"]))?;
    let binary = root.join("target/release/doorstep");
    let dir = root.join("target/bench-scale");
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let load_before = load_average();

    let mut table = Table::new(&[
        "Stops",
        "Vehicles (used)",
        "Time limit s",
        "First feasible ms (solver / process)",
        "Best cost",
        "Distance km",
        "Unassigned",
        "Iterations",
        "Iterations/s",
        "Peak memory MiB",
    ]);
    let mut misses = Vec::new();
    for (&n, &time_s) in options.stops.iter().zip(&options.times_s) {
        let problem = synthetic_city(n, options.seed);
        let file = dir.join(format!("city-{n}-seed{}.json", options.seed));
        std::fs::write(&file, serde_json::to_vec(&problem)?).with_context(|| format!("write {}", file.display()))?;
        println!("{n} stops, {} vehicles: solving for {time_s} s ({})", problem.vehicles.len(), file.display());
        let r = solve_child(&binary, &file, time_s, &options)?;
        let mib = r.peak_rss_kib as f64 / 1024.0;
        let first = match (r.first_feasible_ms, r.first_feasible_wall_ms) {
            (Some(s), Some(w)) => format!("{s} / {w}"),
            _ => "never".to_string(),
        };
        let ips = r.iterations as f64 / (r.elapsed_ms.max(1) as f64 / 1000.0);
        println!(
            "  first feasible {first} ms, cost {:.2}, {} of {} vehicles, {} unassigned, {} iterations ({ips:.0}/s), peak {mib:.0} MiB",
            r.cost,
            r.vehicles,
            problem.vehicles.len(),
            r.unassigned,
            r.iterations
        );
        if n == 1_000 {
            if r.first_feasible_ms.is_none_or(|ms| ms > FIRST_FEASIBLE_TARGET_MS) {
                misses.push(format!("1,000 stops: first feasible {first} ms (target ≤ {FIRST_FEASIBLE_TARGET_MS} ms)"));
            }
            if mib > MEMORY_TARGET_1K_MIB {
                misses.push(format!("1,000 stops: peak memory {mib:.0} MiB (target ≤ {MEMORY_TARGET_1K_MIB} MB)"));
            }
        }
        if n == 5_000 && (mib > MEMORY_TARGET_5K_MIB || r.unassigned > 0) {
            misses.push(format!("5,000 stops: peak memory {mib:.0} MiB, {} unassigned (target: all served in < 2 GB)", r.unassigned));
        }
        table.row(vec![
            n.to_string(),
            format!("{} ({})", problem.vehicles.len(), r.vehicles),
            format!("{time_s}"),
            first,
            format!("{:.2}", r.cost),
            format!("{:.1}", r.distance / 1000.0),
            r.unassigned.to_string(),
            r.iterations.to_string(),
            format!("{ips:.0}"),
            format!("{mib:.0}"),
        ]);
    }
    let load_after = load_average();

    let command = format!("cargo xtask bench-scale {}", args.join(" ")).trim_end().to_string();
    let title = format!("Solver at scale: synthetic city, {} objective, 1 thread, seed {}", options.objective, options.seed);
    let notes = format!(
        "Synthetic city (generated by xtask, seeded): one depot at the edge of a Lyon-sized area, stops in \
         neighbourhood clusters plus a uniform background, haversine × 1.3 at 25 km/h, shift 08:00–18:00; \
         35 % of stops without a window, 30 % in a 2-hour slot, 20 % half-day, 15 % in a 1-hour slot, all \
         within 09:00–17:00; service \
         3–7 min; 1–15 kg per stop; one vehicle per 20 stops (every fifth a 400 kg van, the others 250 kg), fixed \
         cost 40, 0.40 per km, 21.60 per hour. Each size runs as a child `doorstep solve --progress-log` (release \
         build), which re-checks its plan with the independent checker before printing it. First feasible = first \
         progress report with every stop served, on the solver's clock (from the start of `solve`, including the \
         travel matrix) / on the wall clock from process start (including reading the JSON). Peak memory is the \
         solver process's VmHWM. Load average (1 min) {load_before} before, {load_after} after, on 2 shared cores.\n\n{}",
        if misses.is_empty() { "All scale targets met.".to_string() } else { format!("Targets missed: {}.", misses.join("; ")) }
    );
    bench_report::append(root, &title, &command, &notes, &table)?;
    if !misses.is_empty() {
        eprintln!("targets missed:\n  {}", misses.join("\n  "));
    }
    Ok(())
}

/// One `doorstep solve --progress-log` run (also used by `bench-browser`).
pub(crate) struct ScaleRun {
    pub(crate) first_feasible_ms: Option<u64>,
    pub(crate) first_feasible_wall_ms: Option<u64>,
    pub(crate) cost: f64,
    pub(crate) distance: f64,
    pub(crate) vehicles: usize,
    pub(crate) unassigned: usize,
    pub(crate) iterations: u64,
    pub(crate) elapsed_ms: u64,
    pub(crate) peak_rss_kib: u64,
}

fn solve_child(binary: &Path, file: &Path, time_s: f64, options: &Options) -> anyhow::Result<ScaleRun> {
    solve_native(binary, file, time_s, &options.objective, options.seed, 1)
}

/// Runs `doorstep solve` on a JSON problem file as a child process, timing the
/// first progress report with every stop served.
pub(crate) fn solve_native(binary: &Path, file: &Path, time_s: f64, objective: &str, seed: u64, threads: usize) -> anyhow::Result<ScaleRun> {
    let started = Instant::now();
    let mut child = Command::new(binary)
        .arg("solve")
        .arg(file)
        .args(["--format", "json", "--output", "json", "--progress-log", "--objective", objective])
        .args(["--time-limit", &time_s.to_string(), "--threads", &threads.to_string(), "--seed", &seed.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("run doorstep solve")?;
    let stderr = child.stderr.take().context("child stderr")?;
    // Progress lines arrive while the solver runs: timestamp them on arrival.
    let reader = std::thread::spawn(move || {
        let mut first: Option<(u64, u64)> = None;
        let mut other = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            match serde_json::from_str::<serde_json::Value>(&line) {
                Ok(p) if p.get("unassigned").is_some() => {
                    if first.is_none() && p["unassigned"].as_u64() == Some(0) {
                        first = Some((p["elapsed_ms"].as_u64().unwrap_or(0), started.elapsed().as_millis() as u64));
                    }
                }
                _ => {
                    other.push_str(&line);
                    other.push('\n');
                }
            }
        }
        (first, other)
    });
    let output = child.wait_with_output().context("wait for doorstep solve")?;
    let (first, other_stderr) = reader.join().map_err(|_| anyhow::anyhow!("stderr reader panicked"))?;
    if !output.status.success() {
        bail!("doorstep solve {} failed: {other_stderr}", file.display());
    }
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).context("doorstep solve printed invalid JSON")?;
    let number = |key: &str| report[key].as_f64().with_context(|| format!("report field {key} missing"));
    Ok(ScaleRun {
        first_feasible_ms: first.map(|f| f.0),
        first_feasible_wall_ms: first.map(|f| f.1),
        cost: number("cost")?,
        distance: number("distance")?,
        vehicles: number("vehicles")? as usize,
        unassigned: report["unassigned"].as_array().map_or(0, Vec::len),
        iterations: number("iterations")? as u64,
        elapsed_ms: number("elapsed_ms")? as u64,
        peak_rss_kib: report["peak_rss_kib"].as_u64().context("report has no peak_rss_kib (not Linux?)")?,
    })
}

pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// Metres per degree of latitude.
const M_PER_DEG: f64 = 111_320.0;
/// cos(45.76°), Lyon's latitude (a constant, so generation needs no libm).
const COS_LAT: f64 = 0.697_86;
const CENTRE: LatLon = LatLon { lat: 45.764, lon: 4.8357 };
const SHIFT: (f64, f64) = (8.0 * 3600.0, 18.0 * 3600.0);
/// Customers' windows lie within 09:00–17:00, so that every stop is reachable from
/// the depot within the 08:00–18:00 shift (the farthest is about 65 min away).
const WINDOWS: (f64, f64) = (9.0 * 3600.0, 17.0 * 3600.0);

/// A deterministic synthetic city with `n` stops; the same (n, seed) always gives
/// the same problem (integer PRNG, no transcendental functions).
pub(crate) fn synthetic_city(n: usize, seed: u64) -> Problem {
    let mut rng = Rng::new(seed ^ (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    // Denser in the middle: the radius grows slower than the number of stops.
    let radius = 8_000.0 * ((n as f64 / 1_000.0).sqrt()).sqrt();
    let point = |dx: f64, dy: f64| LatLon { lat: CENTRE.lat + dy / M_PER_DEG, lon: CENTRE.lon + dx / (M_PER_DEG * COS_LAT) };
    let in_disc = |rng: &mut Rng| loop {
        let (x, y) = (rng.next_f64() * 2.0 - 1.0, rng.next_f64() * 2.0 - 1.0);
        if x * x + y * y <= 1.0 {
            return (x * radius, y * radius);
        }
    };
    // Approximately normal (Irwin–Hall, 4 uniforms), unit variance.
    let normal = |rng: &mut Rng| ((0..4).map(|_| rng.next_f64()).sum::<f64>() - 2.0) * 3f64.sqrt();

    let mut points = vec![point(-0.6 * radius, -0.3 * radius)];
    let centres: Vec<(f64, f64)> = (0..(n / 50).max(1)).map(|_| in_disc(&mut rng)).collect();
    let mut jobs = Vec::with_capacity(n);
    for i in 0..n {
        let (x, y) = if rng.below(10) < 7 {
            let (cx, cy) = centres[rng.below(centres.len())];
            (cx + normal(&mut rng) * 0.08 * radius, cy + normal(&mut rng) * 0.08 * radius)
        } else {
            in_disc(&mut rng)
        };
        points.push(point(x, y));
        let mut job = Job::new(format!("s{}", i + 1), i + 1);
        job.service = 180.0 + 60.0 * rng.below(5) as f64;
        job.demand = vec![1_000 + rng.below(14_001) as i64];
        let hour = 3600.0;
        let roll = rng.below(100);
        job.time_windows = if roll < 35 {
            Vec::new()
        } else if roll < 65 {
            let slot = rng.below(4) as f64;
            vec![TimeWindow::new(WINDOWS.0 + 2.0 * hour * slot, WINDOWS.0 + 2.0 * hour * (slot + 1.0))]
        } else if roll < 85 {
            if rng.below(2) == 0 {
                vec![TimeWindow::new(WINDOWS.0, 13.0 * hour)]
            } else {
                vec![TimeWindow::new(13.0 * hour, WINDOWS.1)]
            }
        } else {
            let start = WINDOWS.0 + hour * rng.below(8) as f64;
            vec![TimeWindow::new(start, start + hour)]
        };
        jobs.push(job);
    }
    let vehicles = (0..(n / 20).max(1))
        .map(|k| {
            let mut v = Vehicle::new(format!("van{}", k + 1), 0);
            v.shift = Some(TimeWindow::new(SHIFT.0, SHIFT.1));
            v.capacity = vec![if k % 5 == 0 { 400_000 } else { 250_000 }];
            v.fixed_cost = 40.0;
            v.cost_per_distance = 0.000_4;
            v.cost_per_time = 0.006;
            v
        })
        .collect();
    Problem {
        name: format!("synthetic city, {n} stops, seed {seed}"),
        time_unit: TimeUnit::Seconds,
        travel: Travel::Haversine { points, circuity: 1.3, speed_m_per_s: 25.0 / 3.6 },
        jobs,
        pairs: Vec::new(),
        vehicles,
        locks: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_city_is_valid_and_reproducible() {
        let a = synthetic_city(200, 7);
        a.validate().expect("valid problem");
        assert_eq!(a.jobs.len(), 200);
        assert_eq!(a.vehicles.len(), 10);
        assert_eq!(a, synthetic_city(200, 7));
        assert_ne!(a, synthetic_city(200, 8));
    }

    #[test]
    fn every_stop_of_the_largest_city_fits_a_vehicle_alone() {
        let p = synthetic_city(5_000, 1);
        for job in &p.jobs {
            let there = p.travel.duration(0, job.location);
            let back = p.travel.duration(job.location, 0);
            let (open, close) = job.time_windows.first().map_or(SHIFT, |w| (w.start, w.end));
            let start = (SHIFT.0 + there).max(open);
            assert!(start <= close, "{}: reached at {start}, window ends {close}", job.id);
            assert!(start + job.service + back <= SHIFT.1, "{}: back after the shift", job.id);
        }
    }

    #[test]
    fn options_need_one_time_limit_per_size() {
        let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert!(parse_options(&args("--stops 1000,5000 --time 10")).is_err());
        let o = parse_options(&args("--stops 1000 --time 5")).expect("valid");
        assert_eq!((o.stops, o.times_s), (vec![1000], vec![5.0]));
        assert!(parse_options(&args("--objective fastest")).is_err());
    }
}
