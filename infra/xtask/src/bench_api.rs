//! `cargo xtask bench-api`: order intake against a real `doorstep serve` on
//! SQLite (release build), over keep-alive HTTP/1.1 connections. Reports
//! requests/s and latency percentiles and appends them to BENCHMARKS.md.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::bench_report::{self, Table};
use crate::process::{self, cargo};
use crate::serve_client::{Connection, start_serve};
use crate::web_build;

const PASSWORD: &str = "bench-password-for-the-demo-dispatcher";

struct Options {
    requests: usize,
    concurrency: usize,
}

fn parse_options(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options { requests: 5_000, concurrency: 16 };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--requests" => options.requests = value.parse().context("--requests takes a number")?,
            "--concurrency" => options.concurrency = value.parse().context("--concurrency takes a number")?,
            other => bail!("unknown option {other}; usage: cargo xtask bench-api [--requests N] [--concurrency C]"),
        }
    }
    if options.concurrency == 0 || options.requests < options.concurrency {
        bail!("need --concurrency >= 1 and --requests >= --concurrency");
    }
    Ok(options)
}

pub fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let options = parse_options(args)?;
    process::run(cargo(root).args(["build", "--release", "--package", "doorstep", "--bin", "doorstep", "--locked"]))?;
    let data = std::env::temp_dir().join(format!("doorstep-bench-api-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let (server, host) = start_serve(&root.join("target/release/doorstep"), &data, &web_build::web_dir(root), &["--demo", "--demo-password", PASSWORD])?;

    let mut conn = Connection::open(&host)?;
    let login = format!("{{\"email\":\"dispatcher@colis-express.example\",\"password\":\"{PASSWORD}\"}}");
    let (status, body) = conn.request("POST", "/api/auth/login", &[], &login)?;
    if status != 200 {
        bail!("login failed with {status}: {body}");
    }
    let token: serde_json::Value = serde_json::from_str(&body)?;
    let token = token["access_token"].as_str().context("access_token in the login answer")?.to_string();

    println!("Sending {} order intakes over {} connections...", options.requests, options.concurrency);
    let per_thread = options.requests / options.concurrency;
    let started = Instant::now();
    let workers: Vec<_> = (0..options.concurrency)
        .map(|worker| {
            let host = host.clone();
            let token = token.clone();
            std::thread::spawn(move || -> anyhow::Result<(Vec<Duration>, usize)> {
                let mut conn = Connection::open(&host)?;
                let auth = format!("Bearer {token}");
                let mut latencies = Vec::with_capacity(per_thread);
                let mut errors = 0;
                for i in 0..per_thread {
                    let key = format!("bench-{worker}-{i}");
                    let body = order_json(worker, i);
                    let sent = Instant::now();
                    let (status, _) =
                        conn.request("POST", "/api/orders", &[("Authorization", &auth), ("Idempotency-Key", &key)], &body)?;
                    latencies.push(sent.elapsed());
                    if status != 201 {
                        errors += 1;
                    }
                }
                Ok((latencies, errors))
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (mut l, e) = worker.join().map_err(|_| anyhow::anyhow!("a load thread panicked"))??;
        latencies.append(&mut l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    drop(server);
    let _ = std::fs::remove_dir_all(&data);

    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1];
    let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1000.0);
    let rps = latencies.len() as f64 / elapsed;
    println!(
        "{} requests in {elapsed:.1} s: {rps:.0} req/s, p50 {} ms, p90 {} ms, p99 {} ms, max {} ms, {errors} non-201",
        latencies.len(),
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(pct(1.0))
    );
    let mut table = Table::new(&["Requests", "Connections", "Requests/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "Errors"]);
    table.row(vec![
        latencies.len().to_string(),
        options.concurrency.to_string(),
        format!("{rps:.0}"),
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(pct(1.0)),
        errors.to_string(),
    ]);
    bench_report::append(
        root,
        "API: order intake on doorstep serve (SQLite)",
        &format!("cargo xtask bench-api {}", args.join(" ")),
        "Each request is `POST /api/orders` with one order, a dispatcher JWT and a unique \
         `Idempotency-Key`, over keep-alive HTTP/1.1 from the same machine. The server is the release \
         build on a fresh data directory (SQLite in WAL mode).",
        &table,
    )?;
    if errors > 0 {
        bail!("{errors} request(s) did not answer 201");
    }
    Ok(())
}

fn order_json(worker: usize, i: usize) -> String {
    // Spread over Lyon so the orders look like real intake.
    let lat = 45.73 + ((worker * 7 + i) % 60) as f64 * 0.001;
    let lon = 4.80 + ((worker * 13 + i) % 70) as f64 * 0.001;
    format!(
        "{{\"kind\":\"delivery\",\"address\":{{\"line1\":\"{n} Rue de la Republique\",\"postcode\":\"69002\",\
         \"city\":\"Lyon\",\"country\":\"FR\",\"lat\":{lat:.5},\"lon\":{lon:.5}}},\
         \"recipient\":{{\"name\":\"Client {worker}-{i}\",\"phone\":\"+33 6 12 34 56 78\"}},\"demand\":[2.5,10,1]}}",
        n = 1 + i % 90
    )
}
