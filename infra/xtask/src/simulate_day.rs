//! `cargo xtask simulate-day`: a whole delivery day of a generated Lyon
//! city (N drivers, M orders) played against a real `doorstep serve` on a
//! fresh SQLite data directory, through its HTTP API (see [`sim`]). Prints
//! a progress line per simulated hour and a table of on-time rate, ETA
//! errors, notifications and API errors, appended to BENCHMARKS.md. Fails
//! when any request answered non-2xx, a ping was rejected, or an order did
//! not end delivered or failed.

pub(crate) mod city;
pub(crate) mod sim;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, bail};

use crate::bench_report::{self, Table};
use crate::process::{self, cargo};
use crate::serve_client::start_serve;
use crate::web_build;

const PASSWORD: &str = "simulated-day-dispatcher-password";

pub const USAGE: &str = "usage: cargo xtask simulate-day [--drivers N] [--orders M] [--seed S] [--ping-every SECS] [--batch PINGS] \
                         [--iterations N] [--release] [--no-record]";

struct Options {
    config: sim::Config,
    release: bool,
    record: bool,
}

fn parse_options(args: &[String]) -> anyhow::Result<Options> {
    let mut o = Options { config: sim::Config::default(), release: false, record: true };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--release" => o.release = true,
            "--no-record" => o.record = false,
            "--drivers" | "--orders" | "--seed" | "--ping-every" | "--batch" | "--iterations" => {
                let value = it.next().with_context(|| format!("{flag} needs a value; {USAGE}"))?;
                let n: u64 = value.parse().with_context(|| format!("{flag} takes a whole number, not {value:?}"))?;
                let c = &mut o.config;
                match flag.as_str() {
                    "--drivers" => c.drivers = n as usize,
                    "--orders" => c.orders = n as usize,
                    "--seed" => c.seed = n,
                    "--ping-every" => c.ping_every_s = n as i64,
                    "--batch" => c.batch = n as usize,
                    _ => c.iterations = n,
                }
            }
            other => bail!("unknown option {other}; {USAGE}"),
        }
    }
    let c = &o.config;
    if !(1..=100).contains(&c.drivers) || !(1..=2_000).contains(&c.orders) {
        bail!("--drivers must be 1-100 and --orders 1-2000 (one plan of one depot)");
    }
    if c.batch == 0 || c.batch > 100 || c.ping_every_s == 0 || c.iterations == 0 {
        bail!("--batch must be 1-100 pings, --ping-every and --iterations at least 1");
    }
    Ok(o)
}

pub fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let o = parse_options(args)?;
    let mut build = cargo(root);
    build.args(["build", "--package", "doorstep", "--bin", "doorstep", "--example", "seed_org"]);
    if o.release {
        build.arg("--release");
    }
    process::run(&mut build)?;
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), std::path::PathBuf::from);
    let bin_dir = target.join(if o.release { "release" } else { "debug" });
    let data = std::env::temp_dir().join(format!("doorstep-simulate-day-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let result = simulate(&o, &bin_dir, &data, root);
    let _ = std::fs::remove_dir_all(&data);
    let report = result?;

    let c = &o.config;
    let p = |v: &[f64], q: f64| format!("{:.1}", sim::percentile(v, q));
    let notes = |t: &str| report.notified(t).to_string();
    let mut table = Table::new(&[
        "Drivers", "Orders", "Routes", "Delivered", "Failed", "On time %", "Dispatch ETA error p50 / p90 min", "Live ETA error (T-30 min) p50 / p90 min",
        "Notifications dispatched / nearby / delayed / delivered / failed", "Pings (batches)", "Requests", "API errors",
    ]);
    table.row(vec![
        c.drivers.to_string(),
        report.orders.to_string(),
        report.routes.to_string(),
        report.delivered().to_string(),
        report.failed().to_string(),
        format!("{:.1}", report.on_time_pct()),
        format!("{} / {}", p(&report.dispatch_eta_error_min, 0.5), p(&report.dispatch_eta_error_min, 0.9)),
        format!("{} / {} (n = {})", p(&report.live_eta_error_min, 0.5), p(&report.live_eta_error_min, 0.9), report.live_eta_error_min.len()),
        ["dispatched", "nearby", "delayed", "delivered", "failed"].map(notes).join(" / "),
        format!("{} ({})", report.pings, report.ping_batches),
        report.requests.to_string(),
        report.api_errors.len().to_string(),
    ]);
    println!();
    print!("{}", table.markdown());
    let reasons: Vec<String> = report.failures_by_reason.iter().map(|(r, n)| format!("{r} {n}")).collect();
    println!(
        "On time {} / early {} / late {}; dispatch ETA bias {:+.1} min (positive: later than planned); failures: {}; {} unassigned; \
         optimizer {} iterations in {:.1} s; final states {:?}",
        report.on_time,
        report.early,
        report.late,
        report.dispatch_eta_bias_min,
        if reasons.is_empty() { "none".into() } else { reasons.join(", ") },
        report.unassigned,
        report.optimizer_iterations,
        report.solve_ms as f64 / 1000.0,
        report.states
    );
    if o.record {
        let date = report.date.map(|d| d.to_string()).unwrap_or_default();
        bench_report::append(
            root,
            "Simulated day: a Lyon city through doorstep serve's API (SQLite)",
            format!("cargo xtask simulate-day {}", args.join(" ")).trim_end(),
            &format!(
                "Simulated day {date} (yesterday in Lyon: the server refuses pings dated over 5 minutes ahead of its clock), \
                 {} build of `doorstep serve`, seed {}, a ping every {} s sent {} per batch, optimizer {} iterations. \
                 Orders come in by CSV import and a JSON batch, the plan is solved natively and saved and published through \
                 the API; drivers drive the straight line between stops at the plan's 25 km/h × 1.3 road factor scaled by \
                 traffic (×0.65 07:30-09:30, ×0.7 16:30-19:00, ×0.9 at lunch, ×1.05 otherwise) and ±20% per leg, \
                 service times vary log-normally (±35%), 5% of attempts fail (60% customer absent). On time: delivered \
                 inside the order's window, or the ±15 min window told at dispatch. Dispatch ETA error: |actual arrival - \
                 planned arrival|. Live ETA: `GET /api/tracking/routes/{{id}}` after the first upload within 30 min of the \
                 arrival; the server starts ETAs at max(its clock, latest ping), so for a past day they are re-anchored to \
                 the latest ping (same travel/service steps, window waits replayed). Notifications are the log sink's lines; \
                 \"delayed\" fires for every stop on a past day (the server compares those clock-anchored ETAs with \
                 yesterday's windows), so it says nothing here.",
                if o.release { "release" } else { "debug" },
                c.seed,
                c.ping_every_s,
                c.batch,
                c.iterations
            ),
            &table,
        )?;
    }
    let finished = report.delivered() + report.failed();
    let mut problems = Vec::new();
    if !report.api_errors.is_empty() {
        for e in report.api_errors.iter().take(10) {
            eprintln!("  {e}");
        }
        problems.push(format!("{} API error(s)", report.api_errors.len()));
    }
    if report.rejected_pings > 0 {
        problems.push(format!("{} ping(s) rejected", report.rejected_pings));
    }
    if finished != report.planned {
        problems.push(format!("{finished} of {} planned orders ended delivered or failed", report.planned));
    }
    if !problems.is_empty() {
        bail!("the simulated day went wrong: {}", problems.join(", "));
    }
    Ok(())
}

fn simulate(o: &Options, bin_dir: &Path, data: &Path, root: &Path) -> anyhow::Result<sim::Report> {
    let c = &o.config;
    let (date, _) = city::simulated_date(time::OffsetDateTime::now_utc());
    let business = city::city(c.drivers, date);
    let json = serde_json::json!({
        "organisation": business.organisation,
        "depots": business.depots,
        "vehicles": business.vehicles,
        "drivers": business.drivers,
    });
    println!("Seeding {} drivers of a Lyon city for {date}...", c.drivers);
    let mut seed = Command::new(bin_dir.join("examples/seed_org"))
        .arg(data)
        .arg(city::DISPATCHER_EMAIL)
        .arg(PASSWORD)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("run seed_org")?;
    seed.stdin.take().context("seed_org stdin")?.write_all(json.to_string().as_bytes())?;
    let seeded = seed.wait_with_output()?;
    if !seeded.status.success() {
        bail!("seed_org failed: {}", String::from_utf8_lossy(&seeded.stderr));
    }
    let (server, host) = start_serve(&bin_dir.join("doorstep"), data, &web_build::web_dir(root), &[])?;
    println!("Simulating {} orders on doorstep serve at {host}...", c.orders);
    let started = Instant::now();
    let report = sim::run(c, &sim::Target { host: &host, data, password: PASSWORD }, &mut |line| println!("  {line}"));
    drop(server);
    let report = report?;
    println!("Simulated the day in {:.1} s ({} requests).", started.elapsed().as_secs_f64(), report.requests);
    Ok(report)
}
