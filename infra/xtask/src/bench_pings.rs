//! `cargo xtask bench-pings`: driver ping uploads against a real release
//! `doorstep serve` on SQLite. A fleet (N drivers, each with a route on a
//! published plan) is seeded through the real store and use cases
//! (`functions/doorstep/examples/seed_fleet.rs`); drivers sign in through
//! the API, then upload their day: batches of 10 with ~5% of pings sent
//! twice, ~2% held back to a later batch, and one driver in ten offline for
//! a third of the day, flushing its backlog newest batch first. The run
//! fails unless nothing is lost, nothing is stored twice and no latest
//! position ever goes back (checked on every answer and through the API at
//! the end). Reports sustained pings/s and per-batch latency.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use serde_json::Value;

use crate::serve_client::{Connection, start_serve};
use crate::bench_report::{self, Table, date_from_unix_days};
use crate::process::{self, cargo};

const PASSWORD: &str = "bench-password-for-the-fleet-dispatcher";
const MAX_BATCH: usize = 100;

struct Options {
    drivers: usize,
    pings: usize,
    concurrency: usize,
    /// Debug build, for a quick correctness run; nothing goes to BENCHMARKS.md.
    debug: bool,
}

fn parse_options(args: &[String]) -> anyhow::Result<Options> {
    let mut o = Options { drivers: 1_000, pings: 120_000, concurrency: 16, debug: false };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--debug" {
            o.debug = true;
            continue;
        }
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        let n: usize = value.parse().with_context(|| format!("{flag} takes a number"))?;
        match flag.as_str() {
            "--drivers" => o.drivers = n,
            "--pings" => o.pings = n,
            "--concurrency" => o.concurrency = n,
            other => bail!("unknown option {other}; usage: cargo xtask bench-pings [--drivers N] [--pings TOTAL] [--concurrency C] [--debug]"),
        }
    }
    if o.drivers == 0 || o.concurrency == 0 || o.pings < o.drivers * 3 {
        bail!("need --drivers >= 1, --concurrency >= 1 and at least 3 pings per driver");
    }
    Ok(o)
}

/// One ping as the driver app sends it.
#[derive(Clone)]
struct Ping {
    seq: u64,
    unix_s: i64,
    lat: f64,
    lon: f64,
}

fn rfc3339(unix_s: i64) -> String {
    let secs = unix_s.rem_euclid(86_400);
    format!("{}T{:02}:{:02}:{:02}Z", date_from_unix_days(unix_s.div_euclid(86_400)), secs / 3600, secs / 60 % 60, secs % 60)
}

/// The same day as `doorstep_store_conformance::tracking::day_of_uploads`
/// (which the DynamoDB test runs), as the app's JSON pings.
fn day_of_uploads(driver: usize, pings: usize, end_unix_s: i64, seed: u64) -> Vec<Vec<Ping>> {
    let mut state = seed ^ (driver as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11
    };
    let start = end_unix_s - 5 * pings as i64;
    let all: Vec<Ping> = (1..=pings as u64)
        .map(|seq| Ping {
            seq,
            unix_s: start + 5 * seq as i64,
            lat: 45.70 + (driver % 100) as f64 * 0.001 + seq as f64 * 1e-5,
            lon: 4.80 + (driver / 100) as f64 * 0.001,
        })
        .collect();
    let offline = driver % 10 == 3;
    let (off_from, off_to) = (pings / 3, 2 * pings / 3);
    let (mut uploads, mut held, mut backlog, mut batch) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, ping) in all.iter().enumerate() {
        if offline && (off_from..off_to).contains(&i) {
            backlog.push(ping.clone());
            if next() % 20 == 0 {
                backlog.push(ping.clone());
            }
            if i + 1 == off_to {
                let mut chunks: Vec<Vec<Ping>> = backlog.chunks(MAX_BATCH).map(<[Ping]>::to_vec).collect();
                chunks.reverse();
                uploads.extend(chunks);
                backlog.clear();
            }
            continue;
        }
        if next() % 50 == 0 {
            held.push(ping.clone());
        } else {
            batch.push(ping.clone());
        }
        if next() % 20 == 0 {
            batch.push(ping.clone());
        }
        if batch.len() >= 10 {
            batch.append(&mut held);
            uploads.push(std::mem::take(&mut batch));
        }
    }
    batch.append(&mut held);
    if !batch.is_empty() {
        uploads.push(batch);
    }
    uploads.into_iter().flat_map(|u| u.chunks(MAX_BATCH).map(<[Ping]>::to_vec).collect::<Vec<_>>()).collect()
}

fn batch_json(route: &str, pings: &[Ping]) -> String {
    let items: Vec<String> = pings
        .iter()
        .map(|p| {
            format!(
                "{{\"seq\":{},\"device_time\":\"{}\",\"lat\":{:.6},\"lon\":{:.6},\"accuracy_m\":6.0,\"speed_mps\":7.0,\"heading_deg\":45.0,\"battery_pct\":80.0}}",
                p.seq,
                rfc3339(p.unix_s),
                p.lat,
                p.lon
            )
        })
        .collect();
    format!("{{\"route_id\":\"{route}\",\"pings\":[{}]}}", items.join(","))
}

struct Driver {
    id: String,
    route: String,
    token: String,
    uploads: Vec<Vec<Ping>>,
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    sent: usize,
    accepted: usize,
    duplicate: usize,
    rejected: usize,
    errors: Vec<String>,
}

pub fn run(root: &std::path::Path, args: &[String]) -> anyhow::Result<()> {
    let o = parse_options(args)?;
    let per_driver = o.pings / o.drivers;
    let mut build = cargo(root);
    build.args(["build", "--package", "doorstep", "--bin", "doorstep", "--example", "seed_fleet"]);
    if !o.debug {
        build.arg("--release");
    }
    process::run(&mut build)?;
    // Where cargo put them: CARGO_TARGET_DIR if set, else target/.
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), std::path::PathBuf::from);
    let bin_dir = target.join(if o.debug { "debug" } else { "release" });
    let data = std::env::temp_dir().join(format!("doorstep-bench-pings-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    println!("Seeding {} drivers with routes...", o.drivers);
    let seeded = Command::new(bin_dir.join("examples/seed_fleet"))
        .arg(&data)
        .arg(o.drivers.to_string())
        .arg(PASSWORD)
        .output()
        .context("run seed_fleet")?;
    if !seeded.status.success() {
        bail!("seed_fleet failed: {}", String::from_utf8_lossy(&seeded.stderr));
    }
    let pairs: Vec<(String, String)> = String::from_utf8(seeded.stdout)?
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(d, r)| (d.to_owned(), r.to_owned())))
        .collect();
    if pairs.len() != o.drivers {
        bail!("seed_fleet made {} routes for {} drivers", pairs.len(), o.drivers);
    }
    let (server, host) = start_serve(&bin_dir.join("doorstep"), &data, &crate::web_build::web_dir(root), &[])?;
    let mut conn = Connection::open(&host)?;
    let (status, body) = conn.request("POST", "/api/auth/login", &[], &format!("{{\"email\":\"bench@fleet.example\",\"password\":\"{PASSWORD}\"}}"))?;
    if status != 200 {
        bail!("dispatcher login failed with {status}: {body}");
    }
    let dispatcher = format!("Bearer {}", serde_json::from_str::<Value>(&body)?["access_token"].as_str().context("access_token")?);
    println!("Signing {} drivers in through the API...", o.drivers);
    let end = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64 - 60;
    let mut drivers = Vec::with_capacity(o.drivers);
    for (i, (id, route)) in pairs.into_iter().enumerate() {
        let (status, codes) = conn.request("POST", &format!("/api/drivers/{id}/sign-in-codes"), &[("Authorization", &dispatcher)], "")?;
        if status != 201 {
            bail!("sign-in codes for {id}: {status} {codes}");
        }
        let link = serde_json::from_str::<Value>(&codes)?["token"].as_str().context("sign-in token")?.to_owned();
        let (status, signed) = conn.request("POST", "/api/auth/driver", &[], &format!("{{\"token\":\"{link}\"}}"))?;
        if status != 200 {
            bail!("driver sign-in for {id}: {status} {signed}");
        }
        let token = serde_json::from_str::<Value>(&signed)?["access_token"].as_str().context("access_token")?.to_owned();
        drivers.push(Driver { id, route, token, uploads: day_of_uploads(i, per_driver, end, 7) });
    }
    let batches: usize = drivers.iter().map(|d| d.uploads.len()).sum();
    let total_sent: usize = drivers.iter().flat_map(|d| &d.uploads).map(Vec::len).sum();
    println!("Uploading {} pings ({} with repeats) in {batches} batches over {} connections...", o.drivers * per_driver, total_sent, o.concurrency);

    // Each connection plays its share of drivers, one batch of each in turn.
    let mut shares: Vec<Vec<Driver>> = (0..o.concurrency).map(|_| Vec::new()).collect();
    for (i, d) in drivers.into_iter().enumerate() {
        shares[i % o.concurrency].push(d);
    }
    let started = Instant::now();
    let workers: Vec<_> = shares
        .into_iter()
        .map(|share| {
            let host = host.clone();
            std::thread::spawn(move || -> anyhow::Result<(Tally, Vec<(String, u64)>)> {
                let mut conn = Connection::open(&host)?;
                let mut tally = Tally::default();
                let mut latest: HashMap<String, u64> = HashMap::new();
                let rounds = share.iter().map(|d| d.uploads.len()).max().unwrap_or(0);
                for round in 0..rounds {
                    for d in &share {
                        let Some(upload) = d.uploads.get(round) else { continue };
                        let body = batch_json(&d.route, upload);
                        let auth = format!("Bearer {}", d.token);
                        let sent = Instant::now();
                        let (status, answer) = conn.request("POST", "/api/pings", &[("Authorization", &auth)], &body)?;
                        tally.latencies.push(sent.elapsed());
                        tally.sent += upload.len();
                        if status != 200 {
                            tally.errors.push(format!("{}: {status} {answer}", d.id));
                            continue;
                        }
                        let answer: Value = serde_json::from_str(&answer)?;
                        for r in answer["results"].as_array().context("results")? {
                            match r["outcome"].as_str() {
                                Some("accepted") => tally.accepted += 1,
                                Some("duplicate") => tally.duplicate += 1,
                                _ => tally.rejected += 1,
                            }
                        }
                        // Device times grow with seq here, so "never back" is "seq never down".
                        let seq = answer["latest"]["seq"].as_u64().context("latest position")?;
                        let before = latest.insert(d.id.clone(), seq).unwrap_or(0);
                        if seq < before {
                            tally.errors.push(format!("{}: latest position went back from seq {before} to {seq}", d.id));
                        }
                    }
                }
                Ok((tally, share.into_iter().map(|d| (d.id, d.uploads.iter().flatten().map(|p| p.seq).max().unwrap_or(0))).collect()))
            })
        })
        .collect();
    let mut tally = Tally::default();
    let mut expected_last = Vec::new();
    for worker in workers {
        let (t, last) = worker.join().map_err(|_| anyhow::anyhow!("a load thread panicked"))??;
        tally.latencies.extend(t.latencies);
        tally.sent += t.sent;
        tally.accepted += t.accepted;
        tally.duplicate += t.duplicate;
        tally.rejected += t.rejected;
        tally.errors.extend(t.errors);
        expected_last.extend(last);
    }
    let elapsed = started.elapsed().as_secs_f64();

    // The end state, through the API: every ping once, latest at the newest.
    let (status, board) = conn.request("GET", "/api/tracking/positions", &[("Authorization", &dispatcher)], "")?;
    if status != 200 {
        bail!("positions: {status} {board}");
    }
    let board: Value = serde_json::from_str(&board)?;
    let board: HashMap<String, u64> = board["positions"]
        .as_array()
        .context("positions")?
        .iter()
        .filter_map(|p| Some((p["driver_id"].as_str()?.to_owned(), p["seq"].as_u64()?)))
        .collect();
    let (mut lost, mut doubled, mut behind) = (0usize, 0usize, 0usize);
    let from = rfc3339(end - 5 * per_driver as i64 - 60);
    let to = rfc3339(end + 60);
    for (id, last) in &expected_last {
        if board.get(id) != Some(last) {
            behind += 1;
        }
        let (status, trail) = conn.request("GET", &format!("/api/tracking/drivers/{id}/trail?from={from}&to={to}"), &[("Authorization", &dispatcher)], "")?;
        if status != 200 {
            bail!("trail of {id}: {status} {trail}");
        }
        let trail: Value = serde_json::from_str(&trail)?;
        let seqs: Vec<u64> = trail["pings"].as_array().context("pings")?.iter().filter_map(|p| p["ping"]["seq"].as_u64()).collect();
        let unique: BTreeSet<u64> = seqs.iter().copied().collect();
        doubled += seqs.len() - unique.len();
        lost += (1..=per_driver as u64).filter(|s| !unique.contains(s)).count();
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&data);

    let unique_total = o.drivers * per_driver;
    tally.latencies.sort();
    let l = &tally.latencies;
    let pct = |p: f64| l[((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1];
    let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1000.0);
    let pings_per_s = tally.sent as f64 / elapsed;
    println!(
        "{} pings ({} batches) in {elapsed:.1} s: {pings_per_s:.0} pings/s; batch p50 {} ms, p99 {} ms, max {} ms; \
         accepted {}, duplicate {}, rejected {}; lost {lost}, stored twice {doubled}, latest behind {behind}; {} errors",
        tally.sent,
        l.len(),
        ms(pct(0.5)),
        ms(pct(0.99)),
        ms(pct(1.0)),
        tally.accepted,
        tally.duplicate,
        tally.rejected,
        tally.errors.len()
    );
    let mut table = Table::new(&[
        "Drivers", "Unique pings", "Sent (with repeats)", "Batches", "Connections", "Pings/s", "Batch p50 ms", "Batch p99 ms", "Lost",
        "Stored twice", "Latest went back",
    ]);
    let went_back = tally.errors.iter().filter(|e| e.contains("went back")).count() + behind;
    table.row(vec![
        o.drivers.to_string(),
        unique_total.to_string(),
        tally.sent.to_string(),
        l.len().to_string(),
        o.concurrency.to_string(),
        format!("{pings_per_s:.0}"),
        ms(pct(0.5)),
        ms(pct(0.99)),
        lost.to_string(),
        doubled.to_string(),
        went_back.to_string(),
    ]);
    if o.debug {
        print!("{}", table.markdown());
        println!("(debug build: a correctness run; not appended to BENCHMARKS.md)");
    } else {
        bench_report::append(
        root,
        "Tracking: driver ping uploads on doorstep serve (SQLite)",
        &format!("cargo xtask bench-pings {}", args.join(" ")),
        "Each request is `POST /api/pings` with a driver JWT and a batch of that driver's pings (10 while online, \
         up to 100 when flushing), over keep-alive HTTP/1.1 from the same machine; ~5% of pings are sent twice, ~2% \
         arrive a batch late, and one driver in ten is offline for a third of the day and then flushes newest batch \
         first. Every batch also recomputes the route's ETAs. Lost / stored twice are counted from each driver's trail \
         through the API at the end; \"latest went back\" from every answer and from `/api/tracking/positions`.",
        &table,
        )?;
    }
    if !tally.errors.is_empty() || lost > 0 || doubled > 0 || went_back > 0 || tally.accepted != unique_total || tally.rejected > 0 {
        for e in tally.errors.iter().take(10) {
            eprintln!("  {e}");
        }
        bail!(
            "tracking invariants broken: {lost} lost, {doubled} stored twice, {went_back} went back, {} accepted of {unique_total}, {} rejected, {} errors",
            tally.accepted,
            tally.rejected,
            tally.errors.len()
        );
    }
    Ok(())
}
