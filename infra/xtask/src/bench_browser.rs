//! `cargo xtask bench-browser`: planning a day in the dispatcher app in Chromium
//! (through the real UI: CSV import, Plan, the optimizer in its Web Worker), on
//! one thread (page not cross-origin isolated, single-thread build) and on two
//! (isolated page, threaded build), against the native `doorstep solve` on the
//! exact problem the page sent to its worker, at the same time limit. Reports
//! the time to the first plan serving every order and the final cost, and
//! appends the table to BENCHMARKS.md. The browser side is
//! tests/browser/bench/planning.mjs.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use serde::Deserialize;

use crate::bench_report::{self, Table};
use crate::bench_scale::{load_average, solve_native};
use crate::process::{self, cargo};
use crate::{tools, web_build};

/// The dispatcher's time budgets: its select offers only these.
const BUDGETS_S: [u64; 4] = [5, 10, 30, 60];

#[derive(Debug)]
struct Options {
    sizes: Vec<(usize, usize)>,
    time_s: u64,
    web: Option<PathBuf>,
    record: bool,
}

/// Drivers for a day of `orders`: the issue's 8 for 200 and 50 for 1,000,
/// otherwise one per 20 orders.
fn drivers_for(orders: usize) -> usize {
    match orders {
        200 => 8,
        1_000 => 50,
        n => n.div_ceil(20).max(1),
    }
}

const USAGE: &str = "usage: cargo xtask bench-browser [--sizes 200,1000] [--time 5|10|30|60] [--web SITE_DIR] [--no-record]";

fn parse_options(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options { sizes: vec![(200, 8), (1_000, 50)], time_s: 30, web: None, record: true };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value; {USAGE}"));
        match flag.as_str() {
            "--sizes" => {
                options.sizes = value()?
                    .split(',')
                    .map(|s| match s.trim().parse::<usize>() {
                        Ok(n) if n >= 1 => Ok((n, drivers_for(n))),
                        _ => bail!("--sizes: `{s}` is not a number of orders"),
                    })
                    .collect::<anyhow::Result<_>>()?
            }
            "--time" => {
                let raw = value()?;
                options.time_s = raw.parse().with_context(|| format!("--time: `{raw}` is not whole seconds"))?;
                if !BUDGETS_S.contains(&options.time_s) {
                    bail!("--time must be one of the dispatcher's time budgets ({BUDGETS_S:?} s), not {raw}");
                }
            }
            "--web" => options.web = Some(PathBuf::from(value()?)),
            "--no-record" => options.record = false,
            other => bail!("unknown option {other}; {USAGE}"),
        }
    }
    if options.sizes.is_empty() {
        bail!("--sizes needs at least one size");
    }
    Ok(options)
}

/// tests/browser/bench/planning.mjs's results.json.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Results {
    chromium: String,
    sizes: Vec<SizeResult>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SizeResult {
    orders: usize,
    drivers: usize,
    jobs: usize,
    problem_file: PathBuf,
    seed: u64,
    objective: String,
    browser: Vec<BrowserRun>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BrowserRun {
    label: String,
    threads: u32,
    first_feasible: Option<FirstFeasible>,
    fewest_unassigned: Option<usize>,
    cost: f64,
    vehicles: usize,
    unassigned: usize,
    iterations: u64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FirstFeasible {
    solver_ms: u64,
    page_ms: u64,
}

pub fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let options = parse_options(args)?;
    tools::ensure(root, tools::Needs { web: options.web.is_none(), threaded_wasm: options.web.is_none(), browser: true, python: false })?;
    let site = match &options.web {
        Some(dir) => {
            if !dir.join("index.html").is_file() {
                bail!("--web {}: no built web app there (index.html missing)", dir.display());
            }
            std::fs::canonicalize(dir)?
        }
        None => web_build::build(root)?,
    };
    if !site.join("solver-mt/doorstep_solver_wasm_bg.wasm").is_file() {
        println!("Warning: no threaded solver build in {} (nightly Rust missing?): the 2-thread page runs on 1 thread.", site.display());
    }
    process::run(cargo(root).args(["build", "--release", "--package", "doorstep", "--bin", "doorstep", "--locked"]))?;
    let binary = root.join("target/release/doorstep");
    let out = root.join("target/bench-browser");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).with_context(|| format!("create {}", out.display()))?;
    let load_before = load_average();

    let results = browser_runs(root, &binary, &site, &out, &options)?;

    let mut table = Table::new(&[
        "Orders",
        "Drivers (used)",
        "Where",
        "Threads",
        "First feasible ms (solver / since start)",
        "Final cost",
        "Unassigned",
        "Iterations",
    ]);
    let time_s = options.time_s as f64;
    for size in &results.sizes {
        if size.jobs != size.orders {
            bail!("{} orders became {} optimizer jobs", size.orders, size.jobs);
        }
        for b in &size.browser {
            let first = match &b.first_feasible {
                Some(f) => format!("{} / {}", f.solver_ms, f.page_ms),
                None => format!("never ({} unassigned at best)", b.fewest_unassigned.unwrap_or(size.orders)),
            };
            table.row(vec![
                size.orders.to_string(),
                format!("{} ({})", size.drivers, b.vehicles),
                format!("Chromium, {}", b.label),
                b.threads.to_string(),
                first,
                format!("{:.2}", b.cost),
                b.unassigned.to_string(),
                b.iterations.to_string(),
            ]);
        }
        for threads in [1, 2] {
            println!("{} orders: native doorstep solve, {threads} thread(s), {time_s} s", size.orders);
            let r = solve_native(&binary, &size.problem_file, time_s, &size.objective, size.seed, threads)?;
            let first = match (r.first_feasible_ms, r.first_feasible_wall_ms) {
                (Some(s), Some(w)) => format!("{s} / {w}"),
                _ => "never".to_string(),
            };
            println!("  first feasible {first} ms, cost {:.2}, {} unassigned, {} iterations", r.cost, r.unassigned, r.iterations);
            table.row(vec![
                size.orders.to_string(),
                format!("{} ({})", size.drivers, r.vehicles),
                "native CLI, release".to_string(),
                threads.to_string(),
                first,
                format!("{:.2}", r.cost),
                r.unassigned.to_string(),
                r.iterations.to_string(),
            ]);
        }
    }
    let load_after = load_average();
    print!("{}", table.markdown());

    if !options.record {
        println!("Not recorded (--no-record).");
        return Ok(());
    }
    let command = format!("cargo xtask bench-browser {}", args.join(" ")).trim_end().to_string();
    let title = format!("Planning in the browser vs native: {} s budget, cost objective", options.time_s);
    let notes = format!(
        "The dispatcher app in Chromium {} (headless, playwright-core), driven through its UI: a demo business with \
         no orders, its 4 vans topped up through the API to the drivers shown, the orders imported from a generated CSV \
         (Lyon neighbourhoods around the Gerland depot, ~40 % without a window, the rest half-day or 2-hour slots, \
         0.5–25 kg and 1–3 parcels, some service times), then Plan with the {} s budget. \"Not isolated\": the \
         server's COOP/COEP headers removed, so the page plans on 1 thread with the single-thread build; \
         \"isolated\": the threaded build, the page seeing 2 cores. First feasible = the first progress report \
         with every order assigned: on the solver's clock / from the page posting the problem to the worker \
         (worker start and wasm load included). The native rows solve the exact problem the page posted (saved \
         from the worker message, same seed and objective) with the release `doorstep solve --progress-log \
         --time-limit {} --threads N`; \"since start\" is from process start. Iterations are per search thread. \
         Load average (1 min) {load_before} before, {load_after} after.",
        results.chromium, options.time_s, options.time_s
    );
    bench_report::append(root, &title, &command, &notes, &table)
}

fn browser_runs(root: &Path, binary: &Path, site: &Path, out: &Path, options: &Options) -> anyhow::Result<Results> {
    let artifacts = root.join("target/browser-artifacts");
    std::fs::create_dir_all(&artifacts)?;
    // Chromium leaves scoped dirs behind in TMPDIR: keep them under target/.
    let browser_tmp = root.join("target/browser-tmp-bench");
    let _ = std::fs::remove_dir_all(&browser_tmp);
    std::fs::create_dir_all(&browser_tmp)?;
    let sizes: Vec<String> = options.sizes.iter().map(|(o, d)| format!("{o}:{d}")).collect();
    let result = process::run(
        Command::new("node")
            .arg("bench/planning.mjs")
            .args(["--sizes", &sizes.join(","), "--time", &options.time_s.to_string()])
            .arg("--out")
            .arg(out)
            .current_dir(root.join("tests/browser"))
            .env("DOORSTEP_BIN", binary)
            .env("DOORSTEP_WEB", site)
            .env("DOORSTEP_ARTIFACTS", &artifacts)
            .env("CHROMIUM", tools::CHROMIUM)
            .env("TMPDIR", &browser_tmp),
    );
    let _ = std::fs::remove_dir_all(&browser_tmp);
    result?;
    let file = out.join("results.json");
    let text = std::fs::read_to_string(&file).with_context(|| format!("read {}", file.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: unreadable results", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn sizes_get_the_issue_fleets_and_time_must_be_a_dispatcher_budget() {
        let o = parse_options(&args("--sizes 200,1000,90 --time 5")).expect("valid");
        assert_eq!(o.sizes, vec![(200, 8), (1_000, 50), (90, 5)]);
        assert_eq!(o.time_s, 5);
        assert!(parse_options(&args("--time 7")).is_err());
        assert!(parse_options(&args("--sizes 0")).is_err());
        assert!(parse_options(&args("--threads 2")).is_err());
    }

    #[test]
    fn results_of_the_browser_driver_parse() {
        let json = r#"{"time":5,"chromium":"156","sizes":[{"orders":200,"drivers":8,"jobs":200,"problemFile":"/tmp/p.json",
            "seed":1,"objective":"cost","timeLimitMs":5000,"browser":[{"mode":"1t","label":"not isolated","isolated":false,
            "threads":1,"requestedThreads":1,"firstFeasible":{"solverMs":29,"pageMs":410,"iteration":1,"cost":1014.8},
            "fewestUnassigned":0,"reports":48,"cost":682.05,"distance":134319.1,"vehicles":5,"unassigned":0,
            "iterations":25024,"solveMs":5015},{"mode":"2t","label":"isolated","isolated":true,"threads":2,
            "requestedThreads":2,"firstFeasible":null,"fewestUnassigned":3,"reports":43,"cost":686.4,"distance":1.0,
            "vehicles":5,"unassigned":3,"iterations":22656,"solveMs":5031}]}]}"#;
        let r: Results = serde_json::from_str(json).expect("parses");
        assert_eq!(r.sizes[0].browser[0].first_feasible.as_ref().map(|f| f.page_ms), Some(410));
        assert!(r.sizes[0].browser[1].first_feasible.is_none());
    }
}
