//! `cargo xtask bench-solver`: the optimizer on the shared VRPTW sets, every
//! solution re-checked by the independent checker, gaps against the best-known
//! solution of the matching convention, and the table appended to BENCHMARKS.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use doorstep_optimizer::{RouteJobs, check, solomon};

use crate::bench_report::{self, Table};
use crate::process::{self, cargo};

#[derive(Debug)]
struct Options {
    set: String,
    time_s: f64,
    objective: String,
    threads: usize,
    seed: u64,
    only: Option<Vec<String>>,
}

fn parse_options(args: &[String]) -> anyhow::Result<Options> {
    let mut set = "solomon".to_string();
    let mut time_s = None;
    let mut objective = "distance".to_string();
    let mut threads = 1;
    let mut seed = 1;
    let mut only = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--set" => set = value()?.clone(),
            "--time" => time_s = Some(value()?.parse().context("--time takes seconds")?),
            "--objective" => objective = value()?.clone(),
            "--threads" => threads = value()?.parse().context("--threads takes a number")?,
            "--seed" => seed = value()?.parse().context("--seed takes a number")?,
            "--instances" => only = Some(value()?.split(',').map(|s| s.trim().to_uppercase()).collect()),
            other => bail!(
                "unknown option {other}; usage: cargo xtask bench-solver [--set solomon|homberger200] \
                 [--time SECS] [--objective distance|hierarchical|cost] [--threads N] [--seed N] [--instances C101,R101]"
            ),
        }
    }
    if !["solomon", "homberger200"].contains(&set.as_str()) {
        bail!("--set must be solomon or homberger200, not {set}");
    }
    if !["distance", "hierarchical", "cost"].contains(&objective.as_str()) {
        bail!("--objective must be distance, hierarchical or cost, not {objective}");
    }
    let time_s = time_s.unwrap_or(if set == "solomon" { 10.0 } else { 30.0 });
    Ok(Options { set, time_s, objective, threads, seed, only })
}

pub fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let options = parse_options(args)?;
    let data = bench_data_dir(root)?;
    let (dir, bks_file) = match options.set.as_str() {
        "solomon" => (data.join("solomon"), data.join("bks/solomon.csv")),
        _ => (data.join("homberger/200"), data.join("bks/homberger_200.csv")),
    };
    let convention = if options.objective == "hierarchical" || options.set == "homberger200" {
        "hierarchical(vehicles,distance)"
    } else {
        "distance_only"
    };
    let bks = read_bks(&bks_file, convention)?;

    process::run(cargo(root).args(["build", "--release", "--package", "doorstep", "--bin", "doorstep", "--locked"]))?;
    let binary = root.join("target/release/doorstep");

    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort_by_key(|p| instance_name(p).to_uppercase());
    if let Some(only) = &options.only {
        files.retain(|p| only.contains(&instance_name(p).to_uppercase()));
    }
    if files.is_empty() {
        bail!("no instances selected in {}", dir.display());
    }

    let mut table = Table::new(&["Instance", "Vehicles", "Distance", "BKS vehicles", "BKS distance", "Gap %", "Feasible"]);
    let (mut sum_gap, mut sum_veh, mut sum_bks_veh, mut feasible, mut max_gap) = (0.0, 0.0, 0.0, 0usize, f64::MIN);
    let mut worst = String::new();
    for (index, file) in files.iter().enumerate() {
        let name = instance_name(file);
        let result = solve_and_check(&binary, file, &options)?;
        let reference = bks.get(&name.to_uppercase()).with_context(|| format!("no BKS for {name} ({convention})"))?;
        let gap = (result.distance - reference.1) / reference.1 * 100.0;
        // Avoid printing "-0.00" when the BKS is matched to rounding.
        let gap = if gap.abs() < 0.005 { 0.0 } else { gap };
        sum_gap += gap;
        sum_veh += result.vehicles as f64;
        sum_bks_veh += reference.0 as f64;
        if result.feasible {
            feasible += 1;
        }
        if gap > max_gap {
            max_gap = gap;
            worst = name.clone();
        }
        println!(
            "[{:>2}/{}] {name:<8} vehicles {:>3} (BKS {:>3})  distance {:>9.2} (BKS {:>9.2})  gap {:>6.2}%  {}",
            index + 1,
            files.len(),
            result.vehicles,
            reference.0,
            result.distance,
            reference.1,
            gap,
            if result.feasible { "feasible" } else { "INFEASIBLE" }
        );
        table.row(vec![
            name,
            result.vehicles.to_string(),
            format!("{:.2}", result.distance),
            reference.0.to_string(),
            format!("{:.2}", reference.1),
            format!("{gap:.2}"),
            if result.feasible { "yes".into() } else { "NO".into() },
        ]);
    }
    let n = files.len() as f64;
    let summary = format!(
        "Mean over {} instances: vehicles {:.2} (BKS {:.2}), distance gap {:.2}%; worst {} at {:.2}%; {}/{} feasible.",
        files.len(),
        sum_veh / n,
        sum_bks_veh / n,
        sum_gap / n,
        worst,
        max_gap,
        feasible,
        files.len()
    );
    println!("\n{summary}");

    let command = format!("cargo xtask bench-solver {}", args.join(" "));
    let title = format!(
        "Solver: {} set, {} objective, {} s per instance, {} thread(s), seed {}",
        options.set, options.objective, options.time_s, options.threads, options.seed
    );
    let notes = format!(
        "Gaps are against the `{convention}` best-known solutions in `../shared/bench/bks`. \
         Distances are double-precision Euclidean (no rounding). Every solution was re-checked by \
         `doorstep_optimizer::checker` from the instance file.\n\n{summary}"
    );
    bench_report::append(root, &title, &command, &notes, &table)?;
    if feasible < files.len() {
        bail!("{} solution(s) failed the independent check", files.len() - feasible);
    }
    Ok(())
}

fn instance_name(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

pub fn bench_data_dir(root: &Path) -> anyhow::Result<PathBuf> {
    let dir = std::env::var_os("DOORSTEP_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/bench"));
    if !dir.join("bks").is_dir() {
        bail!(
            "benchmark data not found at {} (set DOORSTEP_BENCH_DATA to the folder holding solomon/, homberger/ and bks/)",
            dir.display()
        );
    }
    Ok(dir)
}

/// instance (upper case) -> (vehicles, distance) for one objective convention.
fn read_bks(path: &Path, convention: &str) -> anyhow::Result<BTreeMap<String, (u32, f64)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    let mut out = BTreeMap::new();
    for (index, line) in text.lines().enumerate().skip(1) {
        let fields = split_csv_line(line);
        if fields.len() < 5 {
            bail!("{} line {}: expected 5 columns, found {}", path.display(), index + 1, fields.len());
        }
        if fields[4] != convention {
            continue;
        }
        let vehicles = fields[1].parse().with_context(|| format!("{} line {}: vehicles", path.display(), index + 1))?;
        let distance = fields[2].parse().with_context(|| format!("{} line {}: distance", path.display(), index + 1))?;
        out.insert(fields[0].to_uppercase(), (vehicles, distance));
    }
    Ok(out)
}

/// Splits one CSV line, honouring double-quoted fields.
fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                if let Some(f) = fields.last_mut() {
                    f.push('"');
                }
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            _ => {
                if let Some(f) = fields.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    fields
}

struct Checked {
    vehicles: usize,
    distance: f64,
    feasible: bool,
}

fn solve_and_check(binary: &Path, file: &Path, options: &Options) -> anyhow::Result<Checked> {
    let output = Command::new(binary)
        .arg("solve")
        .arg(file)
        .args(["--format", "solomon", "--output", "json", "--objective", &options.objective])
        .args(["--time-limit", &options.time_s.to_string()])
        .args(["--threads", &options.threads.to_string(), "--seed", &options.seed.to_string()])
        .output()
        .context("run doorstep solve")?;
    if !output.status.success() {
        bail!("doorstep solve {} failed: {}", file.display(), String::from_utf8_lossy(&output.stderr));
    }
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).context("doorstep solve printed invalid JSON")?;
    let text = std::fs::read_to_string(file)?;
    let problem = solomon::parse(&file.display().to_string(), &text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let routes: Vec<RouteJobs> = report["routes"]
        .as_array()
        .context("routes")?
        .iter()
        .enumerate()
        .map(|(i, jobs)| RouteJobs {
            vehicle: problem.vehicles.get(i).map(|v| v.id.clone()).unwrap_or_default(),
            jobs: jobs.as_array().into_iter().flatten().map(|j| j.to_string().trim_matches('"').to_string()).collect(),
            break_after: None,
        })
        .collect();
    let unassigned = report["unassigned"].as_array().map_or(0, Vec::len);
    match check(&problem, &routes) {
        Ok(totals) => Ok(Checked { vehicles: totals.vehicles, distance: totals.distance, feasible: unassigned == 0 }),
        Err(violations) => {
            eprintln!("{}: checker found {} violation(s): {:?}", file.display(), violations.len(), violations.first());
            Ok(Checked {
                vehicles: report["vehicles"].as_u64().unwrap_or(0) as usize,
                distance: report["distance"].as_f64().unwrap_or(f64::NAN),
                feasible: false,
            })
        }
    }
}
