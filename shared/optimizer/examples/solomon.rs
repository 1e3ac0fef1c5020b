//! Solves Solomon instances and compares with the best-known solutions.
//!
//! cargo run --release -p doorstep-optimizer --example solomon -- \
//!     [--objective distance|hierarchical|cost] [--time-ms 10000] [--iterations N] \
//!     [--seed 1] [--threads 1] [--bks path/to/bks/solomon.csv] FILE...
//!
//! The BKS table defaults to $DOORSTEP_BENCH_DATA/bks/solomon.csv (or
//! ../shared/bench relative to the workspace root).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use doorstep_optimizer::{Control, FnClock, Objective, SolverConfig, check, solomon, solve};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut config = SolverConfig {
        seed: 1,
        objective: Objective::Distance,
        ..Default::default()
    };
    let mut time_ms = Some(10_000);
    let data = std::env::var_os("DOORSTEP_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench"));
    let mut bks_path = data.join("bks/solomon.csv");
    let mut files = Vec::new();
    while let Some(a) = args.next() {
        let mut val = || args.next().expect("missing value");
        match a.as_str() {
            "--objective" => {
                config.objective = match val().as_str() {
                    "distance" => Objective::Distance,
                    "hierarchical" => Objective::Hierarchical,
                    "cost" => Objective::Cost,
                    o => panic!("unknown objective {o}"),
                }
            }
            "--time-ms" => time_ms = Some(val().parse().expect("number")),
            "--iterations" => {
                config.max_iterations = Some(val().parse().expect("number"));
                time_ms = None;
            }
            "--seed" => config.seed = val().parse().expect("number"),
            "--threads" => config.threads = val().parse().expect("number"),
            "--bks" => bks_path = PathBuf::from(val()),
            f => files.push(PathBuf::from(f)),
        }
    }
    config.time_limit_ms = time_ms;
    // (instance, convention) -> (vehicles, distance)
    let mut bks: BTreeMap<(String, String), (usize, f64)> = BTreeMap::new();
    // The Gehring-Homberger table (hierarchical only) sits next to the Solomon one.
    let homberger = bks_path.with_file_name("homberger_200.csv");
    for path in [&bks_path, &homberger] {
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("no BKS table at {}", path.display());
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split(',').collect();
            if cols.len() < 4 {
                continue;
            }
            let conv = if line.ends_with("distance_only") {
                "distance_only"
            } else {
                "hierarchical"
            };
            if let (Ok(v), Ok(d)) = (cols[1].parse(), cols[2].parse()) {
                bks.insert((cols[0].to_uppercase(), conv.to_string()), (v, d));
            }
        }
    }
    println!(
        "{:<8} {:>4} {:>10} {:>9} | {:>4} {:>9} {:>7} | {:>4} {:>9} {:>7} {:>8}",
        "inst", "veh", "distance", "iters", "hveh", "h-bks", "gap%", "dveh", "d-bks", "gap%", "ms"
    );
    let (mut gap_h, mut gap_d, mut dveh, mut n) = (0.0, 0.0, 0.0, 0.0);
    for f in &files {
        let name = Path::new(f)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_uppercase();
        let text = std::fs::read_to_string(f).expect("readable file");
        let problem =
            solomon::parse(&f.file_name().unwrap().to_string_lossy(), &text).expect("valid file");
        let t0 = Instant::now();
        let clock = FnClock(|| t0.elapsed().as_millis() as u64);
        let sol = solve(&problem, &config, &clock, &mut |_| Control::Continue).expect("solves");
        let ms = t0.elapsed().as_millis();
        let checked =
            check(&problem, &sol.route_jobs()).expect("feasible per the independent checker");
        assert!(
            checked.unassigned.is_empty(),
            "unassigned jobs: {:?}",
            checked.unassigned
        );
        let dist = (checked.distance * 100.0).round() / 100.0;
        let row = |conv: &str| bks.get(&(name.clone(), conv.to_string())).copied();
        let fmt = |b: Option<(usize, f64)>| match b {
            Some((v, d)) => (
                v.to_string(),
                format!("{d:.2}"),
                format!("{:.2}", (dist - d) / d * 100.0),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        let (hv, hd, hg) = fmt(row("hierarchical"));
        let (dv, dd, dg) = fmt(row("distance_only"));
        if let (Some(h), Some(d)) = (row("hierarchical"), row("distance_only")) {
            gap_h += (dist - h.1) / h.1 * 100.0;
            gap_d += (dist - d.1) / d.1 * 100.0;
            dveh += checked.vehicles as f64 - h.0 as f64;
            n += 1.0;
        }
        println!(
            "{name:<8} {:>4} {dist:>10.2} {:>9} | {hv:>4} {hd:>9} {hg:>7} | {dv:>4} {dd:>9} {dg:>7} {ms:>8}",
            checked.vehicles, sol.iterations
        );
    }
    if n > 0.0 {
        println!(
            "mean gap: {:.2}% vs hierarchical BKS distance, {:.2}% vs distance-only BKS; mean vehicles over hierarchical BKS: {:+.2}",
            gap_h / n,
            gap_d / n,
            dveh / n
        );
    }
}
