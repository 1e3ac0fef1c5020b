//! `cargo xtask test`: installs what is missing, then runs every test suite. It
//! carries on past a failing suite so one run shows every failure, and exits
//! non-zero if any failed.

use std::path::Path;
use std::process::Command;

use anyhow::bail;

use crate::process::{self, Step, cargo, print_summary, step};
use crate::{infra, tools, web_build};

pub fn run(root: &Path) -> anyhow::Result<()> {
    warn_if_disk_is_low(root);
    tools::ensure(root, tools::Needs::ALL)?;
    let mut steps: Vec<Step> = Vec::new();

    let _ = step(&mut steps, "Rust unit and integration tests (native)", || {
        // Tests that start real servers (moto_server, SMTP) find them in the venv.
        process::run(
            cargo(root)
                .args(["test", "--workspace", "--exclude", "doorstep-app", "--locked"])
                .env("PATH", tools::path_with(&[tools::python_bin(root)])),
        )
    });
    // The app's pure modules (scenarios, services) carry plain #[test]s, which
    // the wasm runner does not pick up; its integration tests are wasm-only.
    let _ = step(&mut steps, "web app unit tests (native)", || {
        process::run(cargo(root).args(["test", "--package", "doorstep-app", "--lib", "--locked"]))
    });
    let _ = step(&mut steps, "shared crates build for wasm32-unknown-unknown", || {
        process::run(cargo(root).args([
            "check",
            "--target",
            "wasm32-unknown-unknown",
            "--package",
            "doorstep-domain",
            "--package",
            "doorstep-optimizer",
            "--locked",
        ]))
    });
    let _ = step(&mut steps, "infrastructure (cargo xtask infra-check)", || infra::run_checks(root, &mut Vec::new()));
    let web_built = step(&mut steps, "web app build", || web_build::build(root).map(|_| ())).is_ok();
    let _ = step(&mut steps, "wasm tests in Chromium (wasm-bindgen-test)", || {
        let native_routes = native_reference_routes(root)?;
        process::run(
            cargo(root)
                .args(["test", "--target", "wasm32-unknown-unknown", "--locked"])
                .args(["--package", "doorstep-app", "--package", "doorstep-solver-wasm"])
                .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", tools::wasm_bindgen_test_runner_bin())
                .env("CHROMEDRIVER", tools::CHROMEDRIVER)
                .env("DOORSTEP_NATIVE_C101_ROUTES", native_routes),
        )
    });
    if web_built {
        let _ = step(&mut steps, "browser tests (playwright-core + Chromium)", || browser_tests(root));
    } else {
        println!("\nSkipping the browser tests: the web app did not build.");
    }

    print_summary(&steps);
    let failed = steps.iter().filter(|s| !s.ok).count();
    if failed > 0 || !web_built {
        bail!("{failed} test step(s) failed");
    }
    println!("All tests passed.");
    Ok(())
}

fn browser_tests(root: &Path) -> anyhow::Result<()> {
    process::run(cargo(root).args(["build", "--package", "doorstep", "--bin", "doorstep", "--locked"]))?;
    let artifacts = root.join("target/browser-artifacts");
    std::fs::create_dir_all(&artifacts)?;
    // Chromium leaves scoped dirs behind in TMPDIR when a test kills it: keep
    // them under target/ and empty them after each run.
    let browser_tmp = root.join("target/browser-tmp");
    let _ = std::fs::remove_dir_all(&browser_tmp);
    std::fs::create_dir_all(&browser_tmp)?;
    // Node 20's runner takes files, not globs: list the specs explicitly.
    let mut specs: Vec<_> = std::fs::read_dir(root.join("tests/browser/specs"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".test.mjs"))
        .collect();
    specs.sort();
    let result = process::run(Command::new("node")
        .args(["--test", "--test-concurrency=1"])
        .args(&specs)
        .current_dir(root.join("tests/browser"))
        .env("DOORSTEP_BIN", root.join("target/debug/doorstep"))
        .env("DOORSTEP_WEB", web_build::web_dir(root))
        .env("DOORSTEP_ARTIFACTS", &artifacts)
        .env("CHROMIUM", tools::CHROMIUM)
        .env("TMPDIR", &browser_tmp));
    let _ = std::fs::remove_dir_all(&browser_tmp);
    result
}

/// A full run needs about 12 GB under target/ from a clean clone; when the disk
/// runs out, every later step fails with a confusing I/O error, so say it first.
fn warn_if_disk_is_low(root: &Path) {
    const NEEDED_GB: u64 = 15;
    let Ok(out) = Command::new("df").args(["-Pk"]).arg(root).output() else { return };
    let text = String::from_utf8_lossy(&out.stdout);
    let free_kb = text.lines().nth(1).and_then(|l| l.split_whitespace().nth(3)).and_then(|v| v.parse::<u64>().ok());
    if let Some(free_kb) = free_kb {
        let free_gb = free_kb / (1024 * 1024);
        if free_gb < NEEDED_GB {
            println!(
                "warning: only {free_gb} GB free on the disk holding {}; a full test run needs about {NEEDED_GB} GB. \
                 Free space (for example `cargo clean`) if steps fail with \"No space left on device\".",
                root.display()
            );
        }
    }
}

/// Routes of C101 solved natively with the seed and budget that
/// frontend/solver/tests/solve_in_browser.rs uses, as a JSON list of job-id lists.
fn native_reference_routes(root: &Path) -> anyhow::Result<String> {
    let output = cargo(root)
        .args(["run", "--quiet", "--locked", "--package", "doorstep", "--bin", "doorstep", "--", "solve"])
        .arg(root.join("shared/optimizer/tests/data/C101.txt"))
        .args(["--format", "solomon", "--iterations", "300", "--seed", "7", "--objective", "distance", "--threads", "1"])
        .args(["--output", "json"])
        .output()?;
    if !output.status.success() {
        bail!("native reference solve failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let routes: Vec<Vec<String>> = report["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r.as_array().into_iter().flatten().map(|j| j.to_string().trim_matches('"').to_string()).collect())
        .collect();
    Ok(serde_json::to_string(&routes)?)
}
