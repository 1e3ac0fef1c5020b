//! `doorstep solve`: the optimizer on a problem file, natively.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use doorstep_optimizer::{Control, FnClock, Objective, Problem, Progress, Solution, SolverConfig, check, solomon, solve};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// Doorstep's JSON problem format (see `doorstep solve --schema`).
    Json,
    /// Solomon's VRPTW text format.
    Solomon,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Json,
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ObjectiveArg {
    /// Fixed + distance + time costs.
    Cost,
    /// Total distance.
    Distance,
    /// Fewest vehicles, then distance.
    Hierarchical,
}

#[derive(Debug, clap::Args)]
pub struct SolveArgs {
    /// The problem file.
    file: PathBuf,
    /// Input format; by default `.json` files are JSON and anything else Solomon.
    #[arg(long, value_enum)]
    format: Option<InputFormat>,
    /// Stop after this many seconds (fractions allowed).
    #[arg(long, value_name = "SECS")]
    time_limit: Option<f64>,
    /// Stop after this many iterations (per thread). With a seed this makes the
    /// result reproducible on every platform.
    #[arg(long, value_name = "N")]
    iterations: Option<u64>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Search threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    #[arg(long, value_enum, default_value_t = ObjectiveArg::Cost)]
    objective: ObjectiveArg,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
    /// Print every progress report to stderr as one JSON line (iteration, elapsed_ms,
    /// best_cost, unassigned, vehicles, distance, improved), e.g. for benchmarks.
    #[arg(long)]
    progress_log: bool,
}

/// The documented `--output json` shape: exactly one object on stdout.
#[derive(Debug, Serialize)]
struct JsonReport {
    routes: Vec<Vec<serde_json::Value>>,
    vehicles: usize,
    distance: f64,
    duration: f64,
    cost: f64,
    unassigned: Vec<JsonUnassigned>,
    iterations: u64,
    elapsed_ms: u64,
    /// Peak resident memory of this process (VmHWM, KiB); null where /proc is missing.
    peak_rss_kib: Option<u64>,
}

#[derive(Debug, Serialize)]
struct JsonUnassigned {
    id: serde_json::Value,
    reason: doorstep_optimizer::UnassignedReason,
    hint: String,
}

pub fn run(args: SolveArgs) -> anyhow::Result<()> {
    let format = args.format.unwrap_or_else(|| guess_format(&args.file));
    let problem = read_problem(&args.file, format)?;
    let config = SolverConfig {
        seed: args.seed,
        max_iterations: args.iterations,
        time_limit_ms: args.time_limit.map(|s| (s * 1000.0).round().max(1.0) as u64),
        objective: match args.objective {
            ObjectiveArg::Cost => Objective::Cost,
            ObjectiveArg::Distance => Objective::Distance,
            ObjectiveArg::Hierarchical => Objective::Hierarchical,
        },
        threads: args.threads.max(1),
    };

    let started = Instant::now();
    let clock = FnClock(|| started.elapsed().as_millis() as u64);
    let mut bar = ProgressBar::new(std::io::stderr().is_terminal(), &config);
    let solution = solve(&problem, &config, &clock, &mut |p| {
        bar.draw(p);
        if args.progress_log
            && let Ok(line) = serde_json::to_string(p)
        {
            eprintln!("{line}");
        }
        Control::Continue
    })
    .map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    bar.finish();
    let elapsed_ms = started.elapsed().as_millis() as u64;

    // Never print a plan the independent checker rejects.
    if let Err(violations) = check(&problem, &solution.route_jobs()) {
        let listed: Vec<String> = violations.iter().map(|v| format!("{v:?}")).collect();
        anyhow::bail!("internal error: the solver produced an infeasible solution:\n  {}", listed.join("\n  "));
    }

    let numeric_ids = format == InputFormat::Solomon;
    match args.output {
        OutputFormat::Json => {
            let report = json_report(&solution, elapsed_ms, numeric_ids);
            println!("{}", serde_json::to_string(&report)?);
        }
        OutputFormat::Text => print_text(&solution, elapsed_ms)?,
    }
    Ok(())
}

fn guess_format(file: &Path) -> InputFormat {
    match file.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("json") => InputFormat::Json,
        _ => InputFormat::Solomon,
    }
}

fn read_problem(file: &Path, format: InputFormat) -> anyhow::Result<Problem> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file.display().to_string();
    let problem = match format {
        InputFormat::Solomon => solomon::parse(&name, &text).map_err(|e| anyhow::anyhow!("{e}"))?,
        InputFormat::Json => {
            let deserializer = &mut serde_json::Deserializer::from_str(&text);
            serde_path_to_error::deserialize::<_, Problem>(deserializer).map_err(|e| {
                let inner = e.inner();
                anyhow::anyhow!(
                    "{name} line {}, column {}, field `{}`: {inner}",
                    inner.line(),
                    inner.column(),
                    e.path()
                )
            })?
        }
    };
    problem.validate().map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    Ok(problem)
}

fn id_value(id: &str, numeric: bool) -> serde_json::Value {
    match id.parse::<u64>() {
        Ok(n) if numeric => serde_json::Value::from(n),
        _ => serde_json::Value::from(id),
    }
}

fn json_report(solution: &Solution, elapsed_ms: u64, numeric_ids: bool) -> JsonReport {
    JsonReport {
        routes: solution
            .routes
            .iter()
            .filter(|r| !r.stops.is_empty())
            .map(|r| r.stops.iter().map(|s| id_value(&s.job, numeric_ids)).collect())
            .collect(),
        vehicles: solution.totals.vehicles,
        distance: solution.totals.distance,
        duration: solution.totals.duration,
        cost: solution.totals.cost,
        unassigned: solution
            .unassigned
            .iter()
            .map(|u| JsonUnassigned { id: id_value(&u.job, numeric_ids), reason: u.reason, hint: u.hint.clone() })
            .collect(),
        iterations: solution.iterations,
        elapsed_ms,
        peak_rss_kib: peak_rss_kib(),
    }
}

/// VmHWM of this process from /proc/self/status (Linux), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn print_text(solution: &Solution, elapsed_ms: u64) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for (index, route) in solution.routes.iter().filter(|r| !r.stops.is_empty()).enumerate() {
        let jobs: Vec<&str> = route.stops.iter().map(|s| s.job.as_str()).collect();
        writeln!(
            out,
            "Route {} ({}): {} stops, distance {:.2}, duration {:.2}\n  {}",
            index + 1,
            route.vehicle,
            route.stops.len(),
            route.distance,
            route.duration,
            jobs.join(" -> ")
        )?;
    }
    let t = &solution.totals;
    writeln!(
        out,
        "Total: {} vehicles, distance {:.2}, duration {:.2}, cost {:.2}, {} unassigned; {} iterations in {:.1} s",
        t.vehicles,
        t.distance,
        t.duration,
        t.cost,
        t.unassigned,
        solution.iterations,
        elapsed_ms as f64 / 1000.0
    )?;
    for u in &solution.unassigned {
        writeln!(out, "Unassigned {}: {:?}. {}", u.job, u.reason, u.hint)?;
    }
    Ok(())
}

/// A one-line progress bar on stderr, only when stderr is a terminal.
struct ProgressBar {
    enabled: bool,
    time_limit_ms: Option<u64>,
    iterations: Option<u64>,
    drawn: bool,
}

impl ProgressBar {
    fn new(enabled: bool, config: &SolverConfig) -> Self {
        Self { enabled, time_limit_ms: config.time_limit_ms, iterations: config.max_iterations, drawn: false }
    }

    fn draw(&mut self, p: &Progress) {
        if !self.enabled {
            return;
        }
        let fraction = match (self.iterations, self.time_limit_ms) {
            (Some(n), _) => p.iteration as f64 / n.max(1) as f64,
            (None, Some(ms)) => p.elapsed_ms as f64 / ms.max(1) as f64,
            (None, None) => p.iteration as f64 / doorstep_optimizer::DEFAULT_ITERATIONS as f64,
        }
        .clamp(0.0, 1.0);
        let width = 30;
        let filled = (fraction * width as f64).round() as usize;
        eprint!(
            "\r[{}{}] {:>3.0}%  best {:.2}  vehicles {}  unassigned {}  iter {}   ",
            "#".repeat(filled),
            "-".repeat(width - filled),
            fraction * 100.0,
            p.best_cost,
            p.vehicles,
            p.unassigned,
            p.iteration
        );
        self.drawn = true;
    }

    fn finish(&self) {
        if self.drawn {
            eprintln!();
        }
    }
}
