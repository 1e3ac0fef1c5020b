//! `cargo xtask bench-threads`: the optimizer natively and in Chromium, on one
//! and two threads, for issue 3's targets:
//!
//! (a) WASM on one thread, same instance, seed and iteration budget: iterations/s
//!     at least 60 % of native, with the same result (cost and routes);
//! (b) two threads reach a given cost at least 1.5× faster than one, natively
//!     and in Chromium (time to target from the progress reports).
//!
//! Native runs are child `doorstep solve --progress-log` processes (release
//! build); browser runs go through `tests/browser/bench/solver_threads.mjs`,
//! which serves a cross-origin isolated page and runs the solver builds made
//! here (`target/bench-threads/site/solver{,-mt}`) in a module Web Worker.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};
use doorstep_optimizer::{Problem, solomon};

use crate::bench_report::{self, Table};
use crate::process::{self, cargo};
use crate::{bench_scale, tools, web_build, web_threads};

/// Issue 3: WASM iterations/s on one thread, as a share of native.
const WASM_SHARE_TARGET: f64 = 0.60;
/// Issue 3: how much sooner two threads must reach a cost than one.
const SPEEDUP_TARGET: f64 = 1.5;
/// Default iteration budgets for (a): about 5–10 s natively on this hardware.
const ITERATIONS_200: u64 = 150_000;
const ITERATIONS_CITY: u64 = 12_000;
/// The synthetic city is always bench-scale's seed-1 city; `--seeds` vary the search.
const CITY_SEED: u64 = 1;

#[derive(Debug)]
struct Options {
    instances: Vec<String>,
    time_s: f64,
    seeds: Vec<u64>,
    iterations: Option<u64>,
    record: bool,
}

const USAGE: &str = "usage: cargo xtask bench-threads [--instances R1_2_1,RC2_2_1,city1000] [--time SECS] \
                     [--seeds 1,2] [--iterations N] [--no-record]";

fn parse_options(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        instances: vec!["R1_2_1".into(), "RC2_2_1".into(), "city1000".into()],
        time_s: 25.0,
        seeds: vec![1],
        iterations: None,
        record: true,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--instances" => options.instances = value()?.split(',').map(|s| s.trim().to_string()).collect(),
            "--time" => options.time_s = value()?.parse().context("--time takes seconds")?,
            "--seeds" => {
                options.seeds = value()?
                    .split(',')
                    .map(|s| s.trim().parse::<u64>().with_context(|| format!("--seeds: `{s}` is not a number")))
                    .collect::<anyhow::Result<_>>()?
            }
            "--iterations" => options.iterations = Some(value()?.parse().context("--iterations takes a number")?),
            "--no-record" => options.record = false,
            other => bail!("unknown option {other}; {USAGE}"),
        }
    }
    if options.instances.is_empty() || options.instances.iter().any(String::is_empty) {
        bail!("--instances needs at least one name (a 200-customer Gehring–Homberger instance or cityN)");
    }
    if options.seeds.is_empty() {
        bail!("--seeds needs at least one seed");
    }
    if !(options.time_s.is_finite() && options.time_s >= 1.0) {
        bail!("--time must be at least 1 second");
    }
    if options.iterations == Some(0) {
        bail!("--iterations must be positive");
    }
    Ok(options)
}

/// One benchmark instance, written as Doorstep problem JSON so that the CLI and
/// the browser read the very same bytes.
struct Instance {
    name: String,
    file: PathBuf,
    objective: &'static str,
    iterations: u64,
}

fn prepare_instance(root: &Path, dir: &Path, name: &str, iterations: Option<u64>) -> anyhow::Result<Instance> {
    let (problem, objective, default_iterations): (Problem, _, _) = if let Some(stops) = name.strip_prefix("city") {
        let n: usize = stops.parse().with_context(|| format!("--instances: `{name}`: cityN needs a number of stops"))?;
        if n < 10 {
            bail!("--instances: `{name}`: a city needs at least 10 stops");
        }
        (bench_scale::synthetic_city(n, CITY_SEED), "cost", ITERATIONS_CITY)
    } else {
        let path = crate::bench_solver::bench_data_dir(root)?.join("homberger/200").join(format!("{}.txt", name.to_lowercase()));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("--instances: `{name}` is not a 200-customer Gehring–Homberger instance ({})", path.display()))?;
        // Distance is these sets' usual objective (see ../shared/bench/README.md).
        (solomon::parse(&path.display().to_string(), &text).map_err(|e| anyhow::anyhow!("{e}"))?, "distance", ITERATIONS_200)
    };
    let file = dir.join(format!("{name}.json"));
    std::fs::write(&file, serde_json::to_vec(&problem)?).with_context(|| format!("write {}", file.display()))?;
    Ok(Instance { name: name.to_string(), file, objective, iterations: iterations.unwrap_or(default_iterations) })
}

/// A progress report: solver clock, best cost, unassigned stops.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Point {
    ms: u64,
    cost: f64,
    unassigned: usize,
}

impl Point {
    /// At least as good as `target`: fewer unassigned stops, or as many and no dearer.
    fn reaches(&self, target: &Point) -> bool {
        self.unassigned < target.unassigned
            || (self.unassigned == target.unassigned && self.cost <= target.cost + 1e-9 * target.cost.abs())
    }
}

#[derive(Debug, Default)]
struct Run {
    iterations: u64,
    ms: f64,
    cost: f64,
    unassigned: usize,
    routes: Vec<Vec<String>>,
    trace: Vec<Point>,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.iterations as f64 / (self.ms.max(1.0) / 1000.0)
    }

    /// The best solution as of `ms` on the solver clock (the last report until then).
    fn best_at(&self, ms: u64) -> Option<Point> {
        self.trace.iter().take_while(|p| p.ms <= ms).last().copied()
    }

    /// When the search first reported a solution at least as good as `target`.
    fn first_reaching(&self, target: &Point) -> Option<u64> {
        self.trace.iter().find(|p| p.reaches(target)).map(|p| p.ms)
    }
}

/// How a run is limited: a fixed iteration budget per thread, or a time limit.
#[derive(Clone, Copy, Debug)]
enum Limit {
    Iterations(u64),
    TimeMs(u64),
}

fn solver_config(inst: &Instance, seed: u64, threads: usize, limit: Limit) -> serde_json::Value {
    let mut config = serde_json::json!({ "seed": seed, "threads": threads, "objective": inst.objective });
    match limit {
        Limit::Iterations(n) => config["max_iterations"] = n.into(),
        Limit::TimeMs(ms) => config["time_limit_ms"] = ms.into(),
    }
    config
}

fn native(binary: &Path, inst: &Instance, seed: u64, threads: usize, limit: Limit) -> anyhow::Result<Run> {
    let mut cmd = Command::new(binary);
    cmd.arg("solve").arg(&inst.file).args(["--format", "json", "--output", "json", "--progress-log"]);
    cmd.args(["--objective", inst.objective, "--seed", &seed.to_string(), "--threads", &threads.to_string()]);
    match limit {
        Limit::Iterations(n) => cmd.args(["--iterations", &n.to_string()]),
        Limit::TimeMs(ms) => cmd.args(["--time-limit", &(ms as f64 / 1000.0).to_string()]),
    };
    let output = cmd.stdin(Stdio::null()).output().context("run doorstep solve")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!("doorstep solve {} failed: {stderr}", inst.file.display());
    }
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).context("doorstep solve printed invalid JSON")?;
    let trace = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|p| {
            Some(Point { ms: p["elapsed_ms"].as_u64()?, cost: p["best_cost"].as_f64()?, unassigned: p["unassigned"].as_u64()? as usize })
        })
        .collect();
    let number = |key: &str| report[key].as_f64().with_context(|| format!("doorstep solve report has no {key}"));
    Ok(Run {
        iterations: number("iterations")? as u64,
        ms: number("elapsed_ms")?,
        cost: number("cost")?,
        unassigned: report["unassigned"].as_array().map_or(0, Vec::len),
        routes: report["routes"]
            .as_array()
            .context("doorstep solve report has no routes")?
            .iter()
            .map(|r| r.as_array().into_iter().flatten().map(|j| j.as_str().map_or_else(|| j.to_string(), str::to_string)).collect())
            .collect(),
        trace,
    })
}

/// One run for the browser driver.
struct BrowserRun {
    id: String,
    problem: PathBuf,
    config: serde_json::Value,
    threaded: bool,
}

/// Runs every browser run in one Chromium session (one after another); results by id.
fn browser(root: &Path, site: &Path, dir: &Path, runs: &[BrowserRun]) -> anyhow::Result<std::collections::HashMap<String, Run>> {
    let plan = serde_json::json!({
        "runs": runs.iter().map(|r| serde_json::json!({
            "id": r.id,
            "problem": r.problem,
            "config": r.config,
            "engine": if r.threaded { "threaded" } else { "single" },
        })).collect::<Vec<_>>()
    });
    let plan_file = dir.join("browser-runs.json");
    std::fs::write(&plan_file, serde_json::to_vec_pretty(&plan)?)?;
    let output = Command::new("node")
        .arg("bench/solver_threads.mjs")
        .arg(&plan_file)
        .current_dir(root.join("tests/browser"))
        .env("DOORSTEP_WEB", site)
        .env("CHROMIUM", tools::CHROMIUM)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("run node tests/browser/bench/solver_threads.mjs")?;
    if !output.status.success() {
        bail!("the Chromium benchmark driver failed ({}); see its messages above", output.status);
    }
    let mut results = std::collections::HashMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).with_context(|| format!("driver printed invalid JSON: {line}"))?;
        let id = v["id"].as_str().context("driver result without id")?.to_string();
        let number = |key: &str| v[key].as_f64().with_context(|| format!("driver result {id} has no {key}"));
        let run = Run {
            iterations: number("iterations")? as u64,
            ms: number("ms")?,
            cost: number("cost")?,
            unassigned: number("unassigned")? as usize,
            routes: serde_json::from_value(v["routes"].clone()).context("driver routes")?,
            trace: v["trace"]
                .as_array()
                .context("driver trace")?
                .iter()
                .filter_map(|p| Some(Point { ms: p[0].as_f64()? as u64, cost: p[1].as_f64()?, unassigned: p[2].as_u64()? as usize }))
                .collect(),
        };
        results.insert(id, run);
    }
    for r in runs {
        if !results.contains_key(&r.id) {
            bail!("the Chromium driver gave no result for {}", r.id);
        }
    }
    Ok(results)
}

/// The single-thread (stable) and threaded (nightly) solver builds, made the way
/// `cargo xtask build-web` makes them, into a private directory so that a
/// concurrent web build cannot change them mid-run.
fn build_solvers(root: &Path, site: &Path) -> anyhow::Result<()> {
    let single = site.join("solver");
    let _ = std::fs::remove_dir_all(&single);
    std::fs::create_dir_all(&single)?;
    process::run(cargo(root).args([
        "build",
        "--package",
        "doorstep-solver-wasm",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--release",
        "--locked",
    ]))?;
    let wasm = root.join("target/wasm32-unknown-unknown/release/doorstep_solver_wasm.wasm");
    web_build::bind_and_optimise(root, &wasm, &single, "-O3", &[])?;
    if web_threads::build(root, &site.join("solver-mt"))?.is_none() {
        bail!("the threaded solver needs nightly Rust with rust-src (see ../shared/TOOLCHAIN.md)");
    }
    Ok(())
}

/// Time to target for one place (native or Chromium), instance and seed.
struct Race {
    one: Run,
    two: Run,
}

struct Outcome {
    /// (target, when 1 thread reached it, when 2 threads did)
    targets: Vec<(Point, u64, Option<u64>)>,
}

fn race_outcome(race: &Race, time_ms: u64) -> Outcome {
    let mut targets = Vec::new();
    let final_one = race.one.trace.last().copied();
    for at in [time_ms / 2, time_ms] {
        let target = if at == time_ms { final_one } else { race.one.best_at(at) };
        let Some(target) = target else { continue };
        let Some(t1) = race.one.first_reaching(&target) else { continue };
        targets.push((target, t1, race.two.first_reaching(&target)));
    }
    Outcome { targets }
}

fn seconds(ms: u64) -> String {
    format!("{:.1}", ms as f64 / 1000.0)
}

fn speedup_cell(t1: u64, t2: Option<u64>) -> (String, Option<f64>) {
    match t2 {
        Some(t2) => {
            let s = t1.max(1) as f64 / t2.max(1) as f64;
            (format!("×{s:.2}"), Some(s))
        }
        None => ("not reached".into(), None),
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

pub fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let options = parse_options(args)?;
    tools::ensure(root, tools::Needs { web: true, threaded_wasm: true, browser: true, python: false })?;
    process::run(cargo(root).args(["build", "--release", "--package", "doorstep", "--bin", "doorstep", "--locked"]))?;
    let binary = root.join("target/release/doorstep");
    let dir = root.join("target/bench-threads");
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let site = dir.join("site");
    build_solvers(root, &site)?;
    let instances = options
        .instances
        .iter()
        .map(|name| prepare_instance(root, &dir, name, options.iterations))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let time_ms = (options.time_s * 1000.0).round() as u64;
    let seed0 = options.seeds[0];
    let load_before = load_average();

    // Native runs first, then every browser run in one Chromium session, so
    // that the two never compete for the cores.
    println!("\n(a) one thread, fixed budget, seed {seed0}: native");
    let mut native_budget = Vec::new();
    for inst in &instances {
        let run = native(&binary, inst, seed0, 1, Limit::Iterations(inst.iterations))?;
        println!("  {:<10} {} iterations in {:.0} ms ({:.0}/s), cost {:.2}", inst.name, run.iterations, run.ms, run.per_second(), run.cost);
        native_budget.push(run);
    }
    println!("\n(b) time to target, {} s per run: native", options.time_s);
    let mut native_races = Vec::new();
    for inst in &instances {
        for &seed in &options.seeds {
            let one = native(&binary, inst, seed, 1, Limit::TimeMs(time_ms))?;
            let two = native(&binary, inst, seed, 2, Limit::TimeMs(time_ms))?;
            println!("  {:<10} seed {seed}: 1 thread cost {:.2}, 2 threads cost {:.2}", inst.name, one.cost, two.cost);
            native_races.push(Race { one, two });
        }
    }

    let mut runs = Vec::new();
    for inst in &instances {
        runs.push(BrowserRun {
            id: format!("budget/{}", inst.name),
            problem: inst.file.clone(),
            config: solver_config(inst, seed0, 1, Limit::Iterations(inst.iterations)),
            threaded: false,
        });
    }
    for inst in &instances {
        for &seed in &options.seeds {
            for threads in [1, 2] {
                runs.push(BrowserRun {
                    id: format!("race/{}/{seed}/{threads}", inst.name),
                    problem: inst.file.clone(),
                    config: solver_config(inst, seed, threads, Limit::TimeMs(time_ms)),
                    // One thread: the single-thread build, which is what the app runs then.
                    threaded: threads > 1,
                });
            }
        }
    }
    println!("\nChromium: {} runs", runs.len());
    let mut browser_results = browser(root, &site, &dir, &runs)?;
    let load_after = load_average();
    let mut take = |id: String| browser_results.remove(&id).with_context(|| format!("no browser result {id}"));

    // (a): iterations/s and identical results.
    let mut budget_table = Table::new(&[
        "Instance",
        "Objective",
        "Iterations",
        "Native ms",
        "Native it/s",
        "Chromium ms",
        "Chromium it/s",
        "WASM / native",
        "Same cost and routes",
    ]);
    let mut misses = Vec::new();
    let mut mismatches = Vec::new();
    for (inst, nat) in instances.iter().zip(&native_budget) {
        let web = take(format!("budget/{}", inst.name))?;
        let share = web.per_second() / nat.per_second();
        let identical = nat.cost == web.cost
            && nat.routes == web.routes
            && nat.unassigned == web.unassigned
            && nat.iterations == web.iterations;
        if !identical {
            mismatches.push(format!(
                "{}: native cost {} ({} routes), Chromium cost {} ({} routes)",
                inst.name,
                nat.cost,
                nat.routes.len(),
                web.cost,
                web.routes.len()
            ));
        }
        if share < WASM_SHARE_TARGET {
            misses.push(format!("{}: WASM at {:.0} % of native iterations/s (target ≥ 60 %)", inst.name, share * 100.0));
        }
        println!(
            "(a) {:<10} native {:.0}/s, Chromium {:.0}/s: {:.0} % of native; {}",
            inst.name,
            nat.per_second(),
            web.per_second(),
            share * 100.0,
            if identical { "identical results" } else { "DIFFERENT results" }
        );
        budget_table.row(vec![
            inst.name.clone(),
            inst.objective.to_string(),
            inst.iterations.to_string(),
            format!("{:.0}", nat.ms),
            format!("{:.0}", nat.per_second()),
            format!("{:.0}", web.ms),
            format!("{:.0}", web.per_second()),
            format!("{:.0} %", share * 100.0),
            if identical { format!("yes ({:.2})", nat.cost) } else { format!("NO ({:.2} vs {:.2})", nat.cost, web.cost) },
        ]);
    }

    // (b): time to target.
    let mut race_table = Table::new(&[
        "Instance",
        "Seed",
        "Where",
        "It/s 1 thr / 2 thr",
        "Target = 1 thread's best at",
        "Target cost",
        "1 thread reached at s",
        "2 threads reached at s",
        "Speed-up",
        "2 threads' cost at end",
    ]);
    let mut races = native_races.into_iter();
    for inst in &instances {
        for &seed in &options.seeds {
            let native_race = races.next().context("native race")?;
            let web_race = Race { one: take(format!("race/{}/{seed}/1", inst.name))?, two: take(format!("race/{}/{seed}/2", inst.name))? };
            for (place, race) in [("native", &native_race), ("Chromium", &web_race)] {
                let outcome = race_outcome(race, time_ms);
                if outcome.targets.is_empty() {
                    misses.push(format!("{} seed {seed} {place}: one thread reported no solution", inst.name));
                }
                for (k, (target, t1, t2)) in outcome.targets.iter().enumerate() {
                    let (cell, speedup) = speedup_cell(*t1, *t2);
                    let at = if k + 1 == outcome.targets.len() { options.time_s } else { options.time_s / 2.0 };
                    if speedup.is_none_or(|s| s < SPEEDUP_TARGET) {
                        misses.push(format!("{} seed {seed} {place}, target at {at} s: {cell} (target ×{SPEEDUP_TARGET})", inst.name));
                    }
                    println!(
                        "(b) {:<10} seed {seed} {place:<8} target {:.2} (best at {at} s): 1 thread at {} s, 2 threads {}: {cell}",
                        inst.name,
                        target.cost,
                        seconds(*t1),
                        t2.map_or("never".into(), |t| format!("at {} s", seconds(t)))
                    );
                    race_table.row(vec![
                        inst.name.clone(),
                        seed.to_string(),
                        place.to_string(),
                        format!("{:.0} / {:.0}", race.one.per_second(), race.two.per_second()),
                        format!("{at} s"),
                        if target.unassigned > 0 {
                            format!("{:.2} ({} unassigned)", target.cost, target.unassigned)
                        } else {
                            format!("{:.2}", target.cost)
                        },
                        seconds(*t1),
                        t2.map_or("never".into(), seconds),
                        cell,
                        format!("{:.2}", race.two.cost),
                    ]);
                }
            }
        }
    }

    let verdict = match (mismatches.is_empty(), misses.is_empty()) {
        (true, true) => "All targets met; native and WASM results identical.".to_string(),
        (same, _) => format!(
            "{}{}",
            if same { "Native and WASM results identical. ".to_string() } else { format!("RESULTS DIFFER: {}. ", mismatches.join("; ")) },
            if misses.is_empty() { "All speed targets met.".to_string() } else { format!("Targets missed: {}.", misses.join("; ")) }
        ),
    };
    println!("\n{verdict}");
    if options.record {
        let command = format!("cargo xtask bench-threads {}", args.join(" ")).trim_end().to_string();
        let title = format!("Solver threads: WASM vs native, 1 vs 2 threads, {} s races", options.time_s);
        let instances_list = instances.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ");
        let notes = format!(
            "Instances: {instances_list} (Gehring–Homberger 200-customer instances from `../shared/bench`, distance \
             objective, double-precision Euclidean; `cityN` is bench-scale's synthetic city, seed {CITY_SEED}, cost \
             objective), each written once as Doorstep problem JSON that both the CLI and the browser read. Native = \
             child `doorstep solve --progress-log` (release build). Chromium = Debian's Chromium (headless, via \
             playwright-core) on a page served with COOP `same-origin` / COEP `require-corp` (cross-origin isolated), \
             the solver in a module Web Worker; one thread uses the single-thread build (`solver/`, what the app \
             runs for one thread), two threads the threaded build (`solver-mt/`, nightly, wasm-bindgen-rayon pool of \
             2 nested workers). Both builds are made exactly as `cargo xtask build-web` makes them.\n\n\
             **(a) Speed and determinism.** One thread, seed {seed0}, a fixed iteration budget (the annealing \
             schedule then follows iterations, so the search is the same everywhere). Iterations/s = iterations / \
             the solve's wall time (native: the CLI's `elapsed_ms` around `solve`; Chromium: `performance.now()` in \
             the worker around `solve`, which also parses the problem JSON). Target: WASM ≥ {:.0} % of native. \
             \"Same cost and routes\" compares the total cost bit for bit, every route's job sequence and the \
             iteration count.\n\n{}\n\
             **(b) Time to target.** Per instance and seed, one thread runs with a {} s time limit; its best cost \
             at T/2 and at T (its final best) are the targets. Two threads then run with the same time limit and \
             seed; t = the solver clock (`elapsed_ms`) of the first progress report at or below the target (reports \
             come on improvement at most every 100 ms, else every 500 ms or 1,024 iterations, so times are ±0.1–0.5 s). \
             Speed-up = t(1 thread) / t(2 threads); \"never\" = two threads did not reach it within T. Target: ×{SPEEDUP_TARGET}. \
             What the two threads do: `SolverConfig::threads` independent simulated-annealing searches (each its own \
             seeded RNG stream), run in parallel with rayon (`par_iter_mut` over the searches, one epoch each: 250 \
             iterations with an iteration budget, ~50 ms with a time limit), the best solution copied to the others \
             every 4 epochs. With a time limit the annealing temperature follows the fraction of time elapsed, so \
             two threads explore twice as many moves on the same schedule rather than cooling twice as fast; a final \
             target is therefore usually reached near the end by both. Load average (1 min) {load_before} before, \
             {load_after} after.\n\n{verdict}",
            WASM_SHARE_TARGET * 100.0,
            budget_table.markdown(),
            options.time_s,
        );
        bench_report::append(root, &title, &command, &notes, &race_table)?;
    }
    if !mismatches.is_empty() {
        bail!("native and WASM results differ for the same seed and budget: {}", mismatches.join("; "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(points: &[(u64, f64, usize)]) -> Run {
        Run { trace: points.iter().map(|&(ms, cost, unassigned)| Point { ms, cost, unassigned }).collect(), ..Run::default() }
    }

    #[test]
    fn fewer_unassigned_stops_beat_a_lower_cost() {
        let target = Point { ms: 0, cost: 100.0, unassigned: 0 };
        assert!(!Point { ms: 0, cost: 50.0, unassigned: 1 }.reaches(&target));
        assert!(Point { ms: 0, cost: 100.0, unassigned: 0 }.reaches(&target));
        assert!(Point { ms: 0, cost: 500.0, unassigned: 0 }.reaches(&Point { cost: 10.0, unassigned: 2, ..target }));
    }

    #[test]
    fn speed_up_compares_when_each_run_first_reached_one_threads_costs() {
        let one = trace(&[(100, 50.0, 1), (1_000, 30.0, 0), (4_000, 20.0, 0), (9_000, 18.0, 0), (10_000, 18.0, 0)]);
        let two = trace(&[(100, 40.0, 0), (2_000, 19.0, 0), (6_000, 18.0, 0), (10_000, 17.0, 0)]);
        let outcome = race_outcome(&Race { one, two }, 10_000);
        // At 5 s one thread had 20.0 (first at 4 s); two threads had 19.0 at 2 s.
        assert_eq!(outcome.targets[0].1, 4_000);
        assert_eq!(outcome.targets[0].2, Some(2_000));
        // Final 18.0: one thread at 9 s, two threads at 6 s.
        assert_eq!((outcome.targets[1].1, outcome.targets[1].2), (9_000, Some(6_000)));
        assert_eq!(speedup_cell(9_000, Some(6_000)).1, Some(1.5));
    }

    #[test]
    fn a_target_two_threads_never_reach_is_reported_as_such() {
        let one = trace(&[(500, 10.0, 0), (3_000, 10.0, 0)]);
        let two = trace(&[(500, 11.0, 0), (3_000, 10.5, 0)]);
        let outcome = race_outcome(&Race { one, two }, 3_000);
        assert!(outcome.targets.iter().all(|t| t.2.is_none()));
        assert_eq!(speedup_cell(500, None).0, "not reached");
    }

    #[test]
    fn options_reject_bad_values_and_name_the_flag() {
        let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let o = parse_options(&args("--instances R1_2_1,city1000 --time 3 --seeds 1,2 --iterations 500 --no-record")).expect("valid");
        assert_eq!((o.instances.len(), o.time_s, o.seeds, o.iterations, o.record), (2, 3.0, vec![1, 2], Some(500), false));
        assert!(parse_options(&args("--time 0.5")).unwrap_err().to_string().contains("--time"));
        assert!(parse_options(&args("--seeds x")).unwrap_err().to_string().contains("--seeds"));
        assert!(parse_options(&args("--threads 2")).is_err());
    }
}
