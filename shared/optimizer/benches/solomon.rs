//! Solver throughput on Solomon instances from the shared benchmark data.
//! Data dir: $DOORSTEP_BENCH_DATA, default `../shared/bench` next to the workspace.

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use doorstep_optimizer::{Control, NoClock, Objective, SolverConfig, solomon, solve};

fn data_dir() -> PathBuf {
    match std::env::var_os("DOORSTEP_BENCH_DATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench"),
    }
}

fn bench(c: &mut Criterion) {
    let dir = data_dir().join("solomon");
    if !dir.is_dir() {
        println!(
            "benchmark data not found at {} (set DOORSTEP_BENCH_DATA); skipping",
            dir.display()
        );
        return;
    }
    let mut group = c.benchmark_group("sisr_1000_iterations");
    group.sample_size(10);
    for name in ["C101", "R101", "RC101", "R202"] {
        let path = dir.join(format!("{name}.txt"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            println!("{} missing; skipping", path.display());
            continue;
        };
        let problem = solomon::parse(&format!("{name}.txt"), &text).expect("valid instance");
        let config = SolverConfig {
            seed: 1,
            max_iterations: Some(1000),
            objective: Objective::Distance,
            ..Default::default()
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                solve(&problem, &config, &NoClock, &mut |_| Control::Continue).expect("solves")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
