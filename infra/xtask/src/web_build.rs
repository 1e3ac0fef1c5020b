//! Builds the web app into `target/site` without Trunk: cargo (wasm32) →
//! wasm-bindgen → wasm-opt (npm binaryen, the only one that reads current Rust
//! wasm) → static files and Leaflet vendored from npm. The optimizer
//! (`doorstep-solver-wasm`) is built the same way into `target/site/solver/`
//! for the Web Worker (`assets/solver-worker.js`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::process::{cargo, run};
use crate::tools;

/// Features current Rust wasm output uses; wasm-opt must be told about them.
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

pub fn web_dir(root: &Path) -> PathBuf {
    // Not target/web: cargo uses that for the `web` profile's host artifacts.
    root.join("target/site")
}

pub fn build(root: &Path) -> anyhow::Result<PathBuf> {
    let out = web_dir(root);
    let pkg = out.join("pkg");
    std::fs::create_dir_all(&pkg)?;

    run(cargo(root).args([
        "build",
        "--package",
        "doorstep-app",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "web",
    ]))?;
    let wasm = root.join("target/wasm32-unknown-unknown/web/doorstep_app.wasm");
    run(Command::new(tools::wasm_bindgen_bin())
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(&pkg)
        .arg(&wasm))?;
    let bindgen_wasm = pkg.join("doorstep_app_bg.wasm");
    wasm_opt(root, "-Oz", &bindgen_wasm)?;
    let solver_wasm = build_solver(root, &out.join("solver"))?;

    std::fs::copy(root.join("index.html"), out.join("index.html")).context("copy index.html")?;
    copy_dir(&root.join("frontend/app/assets"), &out)?;
    vendor_leaflet(root, &out)?;

    let wasm_gz = gzipped_size(&bindgen_wasm)?;
    let js_gz = gzipped_size(&pkg.join("doorstep_app.js"))?;
    let solver_gz = gzipped_size(&solver_wasm)?;
    println!(
        "Web app built in {} (wasm {} KB gzipped, glue JS {} KB gzipped; solver wasm {} KB gzipped)",
        out.display(),
        wasm_gz / 1024,
        js_gz / 1024,
        solver_gz / 1024
    );
    Ok(out)
}

fn wasm_opt(root: &Path, level: &str, wasm: &Path) -> anyhow::Result<()> {
    run(Command::new(root.join("frontend/node_modules/.bin/wasm-opt"))
        .arg(level)
        .args(WASM_FEATURES)
        .arg(wasm)
        .arg("-o")
        .arg(wasm))
}

/// The single-thread optimizer for the Web Worker, optimised for speed rather
/// than size (`release`, `-O3`): it runs for seconds, and it loads off the UI thread.
fn build_solver(root: &Path, out: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(out)?;
    run(cargo(root).args([
        "build",
        "--package",
        "doorstep-solver-wasm",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--release",
    ]))?;
    let wasm = root.join("target/wasm32-unknown-unknown/release/doorstep_solver_wasm.wasm");
    run(Command::new(tools::wasm_bindgen_bin())
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(out)
        .arg(&wasm))?;
    let bindgen_wasm = out.join("doorstep_solver_wasm_bg.wasm");
    wasm_opt(root, "-O3", &bindgen_wasm)?;
    Ok(bindgen_wasm)
}

/// Only the runtime files: the npm package also carries 2.9 MB of source maps.
fn vendor_leaflet(root: &Path, out: &Path) -> anyhow::Result<()> {
    let dist = root.join("frontend/node_modules/leaflet/dist");
    let target = out.join("vendor/leaflet");
    std::fs::create_dir_all(target.join("images"))?;
    for file in ["leaflet.js", "leaflet.css"] {
        std::fs::copy(dist.join(file), target.join(file))
            .with_context(|| format!("copy Leaflet's {file} (is `npm ci` done in frontend/?)"))?;
    }
    copy_dir(&dist.join("images"), &target.join("images"))
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("read {}", from.display()))? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest).with_context(|| format!("copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}

pub fn gzipped_size(path: &Path) -> anyhow::Result<u64> {
    let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(&bytes)?;
    Ok(encoder.finish()?.len() as u64)
}
