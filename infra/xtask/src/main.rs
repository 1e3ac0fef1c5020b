//! `cargo xtask <command>`: everything a developer or CI needs, from a bare machine.

mod bench_api;
mod bench_browser;
mod bench_pings;
mod bench_report;
mod bench_scale;
mod bench_solver;
mod bench_threads;
mod dev;
mod infra;
mod process;
mod serve_client;
mod simulate_day;
mod test_suite;
mod tools;
mod web_build;
mod web_threads;

use std::path::PathBuf;

const USAGE: &str = "\
Usage: cargo xtask <command> [options]

Commands:
  dev [-- <serve options>]   install what is missing, build, and start Doorstep with the demo business
  test                       install what is missing and run every test
  build-web                  build the web app into target/site
  build-track                build only the customer tracking page (track.html, track/) into target/site
  install-tools              only install what is missing
  infra-check                cfn-lint and sam validate infra/template.yaml, cargo lambda build every
                             function for arm64, and check the template against the code
  deploy [-- <sam deploy options>]
                             sam build, then sam deploy --guided to AWS (needs AWS credentials)
  bench-api [options]        order intake requests/s and latency against doorstep serve on SQLite
                             (--requests N --concurrency C); appends to BENCHMARKS.md
  bench-pings [options]      driver ping uploads (pings/s, batch latency, nothing lost or doubled) against
                             doorstep serve on SQLite (--drivers N --pings TOTAL --concurrency C); appends to BENCHMARKS.md
  bench-browser [options]    planning a day in the dispatcher app in Chromium (CSV import, Plan; 1 thread not
                             isolated, 2 threads isolated) vs the native CLI on the same problem: first feasible
                             plan and final cost at a fixed budget; appends to BENCHMARKS.md
                             (--sizes 200,1000 --time 5|10|30|60 --web SITE_DIR --no-record)
  bench-solver [options]     run the optimizer on the VRPTW sets and append the results to BENCHMARKS.md
                             (--set solomon|homberger200 --time SECS --objective distance|hierarchical|cost
                              --threads N --seed N --instances C101,R101)
  bench-scale [options]      the optimizer on synthetic cities of 1,000 and 5,000 stops: first feasible
                             solution, best cost, iterations/s, peak memory; appends to BENCHMARKS.md
                             (--stops 1000,5000 --time 30,60 --seed N --objective cost|distance|hierarchical)
  bench-threads [options]    the optimizer natively and in Chromium: WASM vs native iterations/s and identical
                             results (one thread, fixed budget), and how much sooner 2 threads reach 1 thread's
                             cost (time to target); appends to BENCHMARKS.md
                             (--instances R1_2_1,RC2_2_1,city1000 --time 25 --seeds 1 --iterations N --no-record)
  simulate-day [options]     a day of a generated Lyon city (N drivers, M orders) through doorstep serve's API:
                             orders in, plan solved and published, drivers' pings and stop events with rush-hour
                             traffic, varying service times and ~5% failures; prints on-time %, ETA errors,
                             notifications by type and API errors (must be 0), appends to BENCHMARKS.md
                             (--drivers 5 --orders 150 --seed 7 --ping-every 30 --batch 4 --iterations 2000
                              --release --no-record)
";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    match args.first().map(String::as_str) {
        Some("dev") => dev::run(&root, &args[1..]),
        Some("test") => test_suite::run(&root),
        Some("build-web") => {
            tools::ensure(&root, tools::Needs::WEB)?;
            web_build::build(&root).map(|_| ())
        }
        Some("build-track") => {
            tools::ensure(&root, tools::Needs::WEB)?;
            web_build::build_track_only(&root).map(|_| ())
        }
        Some("bench-api") => bench_api::run(&root, &args[1..]),
        Some("bench-browser") => bench_browser::run(&root, &args[1..]),
        Some("bench-pings") => bench_pings::run(&root, &args[1..]),
        Some("bench-solver") => bench_solver::run(&root, &args[1..]),
        Some("bench-scale") => bench_scale::run(&root, &args[1..]),
        Some("bench-threads") => bench_threads::run(&root, &args[1..]),
        Some("simulate-day") => simulate_day::run(&root, &args[1..]),
        Some("install-tools") => tools::ensure(&root, tools::Needs::ALL),
        Some("infra-check") => infra::check(&root),
        Some("deploy") => infra::deploy(&root, args[1..].strip_prefix(["--".to_owned()].as_slice()).unwrap_or(&args[1..])),
        Some("help" | "--help" | "-h") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => {
            eprint!("unknown command `{other}`\n\n{USAGE}");
            std::process::exit(2);
        }
    }
}

fn workspace_root() -> PathBuf {
    // infra/xtask -> workspace root
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("xtask lives two levels below the workspace root")
        .to_path_buf()
}
