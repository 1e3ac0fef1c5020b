//! Builds the web app into `target/site` without Trunk: cargo (wasm32) →
//! wasm-bindgen → wasm-opt (npm binaryen, the only one that reads current Rust
//! wasm) → static files and Leaflet vendored from npm. The optimizer
//! (`doorstep-solver-wasm`) is built the same way into `target/site/solver/`
//! for the Web Worker (`assets/solver-worker.js`), the customer tracking
//! page (`doorstep-track`) into `track.html` + `track/`, and the XLSX reader
//! (`doorstep-xlsx`), which the app imports on demand, into `xlsx/`.

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
    // Old JS snippets (hashed directory names) would otherwise be precached forever.
    let _ = std::fs::remove_dir_all(pkg.join("snippets"));
    std::fs::create_dir_all(&pkg)?;

    let wasm = cargo_build_wasm(root, "doorstep-app", "web")?;
    check_first_load_is_free_of_xlsx(&wasm)?;
    let bindgen_wasm = bind_and_optimise(root, &wasm, &pkg, "-Oz", &[])?;
    let xlsx_wasm = build_xlsx(root, &out.join("xlsx"))?;
    let track_wasm = build_track(root, &out)?;
    let solver_wasm = build_solver(root, &out.join("solver"))?;
    let threaded_wasm = crate::web_threads::build(root, &out.join("solver-mt"))?;

    write_index_html(root, &out)?;
    copy_dir(&root.join("frontend/app/assets"), &out)?;
    vendor_leaflet(root, &out)?;
    render_icons(&root.join("frontend/app/assets/icon.svg"), &out.join("icons"))?;
    let cache = write_service_worker(&root.join("frontend/app/assets/sw.js"), &out)?;

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
    println!(
        "Tracking page built (track.html, track/): wasm {} KB gzipped, glue JS {} KB gzipped",
        gzipped_size(&track_wasm)? / 1024,
        gzipped_size(&out.join("track/doorstep_track.js"))? / 1024
    );
    println!(
        "XLSX reader built (xlsx/, loaded when a dispatcher picks an .xlsx file): wasm {} KB gzipped, glue JS {} KB gzipped",
        gzipped_size(&xlsx_wasm)? / 1024,
        gzipped_size(&out.join("xlsx/doorstep_xlsx.js"))? / 1024
    );
    match &threaded_wasm {
        Some(wasm) => println!("Threaded solver wasm {} KB gzipped (solver-mt/)", gzipped_size(wasm)? / 1024),
        None => println!("Threaded solver: not built (nightly Rust missing)"),
    }
    println!("Service worker cache {cache}");
    Ok(out)
}

/// Where `index.html` takes the prerendered page frames.
const FRAMES_MARKER: &str = "<!-- page frames: `cargo xtask build-web` puts each page's prerendered first frame here -->";

/// `index.html` with each page's first frame, rendered natively by the app's
/// own components (`doorstep-prerender`), as `<template>`s its inline script
/// picks from by URL: the browser paints the real page while the wasm loads.
fn write_index_html(root: &Path, out: &Path) -> anyhow::Result<()> {
    let page = std::fs::read_to_string(root.join("index.html")).context("read index.html")?;
    if !page.contains(FRAMES_MARKER) {
        anyhow::bail!("index.html lacks the page-frames marker {FRAMES_MARKER}");
    }
    let frames = root.join("target/tmp/page-frames.html");
    std::fs::create_dir_all(root.join("target/tmp"))?;
    run(cargo(root)
        .args(["run", "--quiet", "--package", "doorstep-app", "--features", "prerender", "--bin", "doorstep-prerender", "--"])
        .arg(&frames))?;
    let templates = std::fs::read_to_string(&frames).with_context(|| format!("read {}", frames.display()))?;
    for name in ["login", "dispatcher"] {
        if !templates.contains(&format!("<template id=\"shell-{name}\">")) {
            anyhow::bail!("doorstep-prerender wrote no frame for the {name} page");
        }
    }
    std::fs::write(out.join("index.html"), page.replace(FRAMES_MARKER, templates.trim_end())).context("write index.html")
}

/// Only the customer tracking page (`cargo xtask build-track`): its bundle,
/// Leaflet and the icon, without the dispatcher app or the optimizer.
pub fn build_track_only(root: &Path) -> anyhow::Result<PathBuf> {
    let out = web_dir(root);
    let wasm = build_track(root, &out)?;
    vendor_leaflet(root, &out)?;
    std::fs::copy(root.join("frontend/app/assets/icon.svg"), out.join("icon.svg")).context("copy icon.svg")?;
    println!(
        "Tracking page built in {} (wasm {} KB gzipped, glue JS {} KB gzipped)",
        out.display(),
        gzipped_size(&wasm)? / 1024,
        gzipped_size(&out.join("track/doorstep_track.js"))? / 1024
    );
    Ok(out)
}

/// The customer tracking page (`/t/{token}`, served as `track.html`): a
/// bundle of its own in `track/`, so a customer's phone never downloads the
/// dispatcher app, its charts or the optimizer.
fn build_track(root: &Path, out: &Path) -> anyhow::Result<PathBuf> {
    let dir = out.join("track");
    std::fs::create_dir_all(&dir)?;
    let wasm = cargo_build_wasm(root, "doorstep-track", "web")?;
    // The domain crate depends on the optimizer (planning); the linker must
    // have dropped all of it. cargo's output still names every function.
    let bytes = std::fs::read(&wasm).with_context(|| format!("read {}", wasm.display()))?;
    if !contains(&bytes, b"doorstep_track") {
        anyhow::bail!("{} has no symbol names: cannot check that it is free of optimizer code", wasm.display());
    }
    if contains(&bytes, b"doorstep_optimizer") {
        anyhow::bail!("the tracking page's wasm contains optimizer code (doorstep_optimizer symbols): it must stay small");
    }
    let bindgen_wasm = bind_and_optimise(root, &wasm, &dir, "-Oz", &[])?;
    std::fs::copy(root.join("frontend/track/track.html"), out.join("track.html")).context("copy track.html")?;
    Ok(bindgen_wasm)
}

/// The XLSX reader (`/xlsx/`): calamine, zip, the XML reader and the text
/// encodings, imported by the app only when a dispatcher picks an .xlsx file.
fn build_xlsx(root: &Path, out: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(out)?;
    let wasm = cargo_build_wasm(root, "doorstep-xlsx", "web")?;
    bind_and_optimise(root, &wasm, out, "-Oz", &[])
}

/// The app's own module must not link the spreadsheet reader back in (it
/// would double the first load); cargo's output still names every function.
fn check_first_load_is_free_of_xlsx(wasm: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(wasm).with_context(|| format!("read {}", wasm.display()))?;
    if !contains(&bytes, b"doorstep_app") {
        anyhow::bail!("{} has no symbol names: cannot check that it is free of the XLSX reader", wasm.display());
    }
    for krate in [&b"calamine"[..], b"quick_xml", b"encoding_rs"] {
        if contains(&bytes, krate) {
            anyhow::bail!(
                "the app's wasm contains {} code: the XLSX reader belongs in doorstep-xlsx (/xlsx/), loaded on demand",
                String::from_utf8_lossy(krate)
            );
        }
    }
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The PNG icons Chromium wants for installing the PWA (192 and 512 px),
/// rendered from the SVG so no binaries are checked in.
fn render_icons(svg: &Path, out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)?;
    let data = std::fs::read(svg).with_context(|| format!("read {}", svg.display()))?;
    let tree = resvg::usvg::Tree::from_data(&data, &resvg::usvg::Options::default()).context("parse the app icon SVG")?;
    for size in [192u32, 512] {
        let mut pixmap = resvg::tiny_skia::Pixmap::new(size, size).context("allocate the icon pixmap")?;
        let scale = size as f32 / tree.size().width().max(tree.size().height());
        resvg::render(&tree, resvg::tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
        let file = out.join(format!("icon-{size}.png"));
        pixmap.save_png(&file).with_context(|| format!("write {}", file.display()))?;
    }
    Ok(())
}

/// Files the service worker caches on install: everything the driver app
/// needs offline (not the dispatcher's optimizer, which is large and online-only).
fn precache_list(out: &Path) -> anyhow::Result<Vec<String>> {
    let mut files = vec![
        "/index.html".to_owned(),
        "/app.css".to_owned(),
        "/icon.svg".to_owned(),
        "/manifest.webmanifest".to_owned(),
        "/icons/icon-192.png".to_owned(),
        "/icons/icon-512.png".to_owned(),
    ];
    for dir in ["pkg", "vendor/leaflet"] {
        let mut found = Vec::new();
        list_files(&out.join(dir), &mut found)?;
        for path in found {
            let rel = path.strip_prefix(out)?.to_string_lossy().replace('\\', "/");
            files.push(format!("/{rel}"));
        }
    }
    files.sort();
    Ok(files)
}

fn list_files(dir: &Path, found: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            list_files(&entry.path(), found)?;
        } else {
            found.push(entry.path());
        }
    }
    Ok(())
}

/// Writes `sw.js` from its template with the precache list and a cache name
/// derived from the content of those files, so every new build (and only a
/// new build) installs a fresh cache and drops the old one.
fn write_service_worker(template: &Path, out: &Path) -> anyhow::Result<String> {
    use sha2::Digest as _;
    let files = precache_list(out)?;
    let mut hash = sha2::Sha256::new();
    for file in &files {
        hash.update(file.as_bytes());
        hash.update(std::fs::read(out.join(file.trim_start_matches('/'))).with_context(|| format!("read {file}"))?);
    }
    let digest = hash.finalize();
    let cache = format!("doorstep-{}", digest.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>());
    let text = std::fs::read_to_string(template).with_context(|| format!("read {}", template.display()))?;
    if !text.contains("__DOORSTEP_CACHE__") || !text.contains("__DOORSTEP_PRECACHE__") {
        anyhow::bail!("{} lacks the __DOORSTEP_CACHE__ / __DOORSTEP_PRECACHE__ placeholders", template.display());
    }
    let text = text
        .replace("\"__DOORSTEP_CACHE__\"", &serde_json::to_string(&cache)?)
        .replace("[\"__DOORSTEP_PRECACHE__\"]", &serde_json::to_string(&files)?);
    std::fs::write(out.join("sw.js"), text)?;
    Ok(cache)
}

/// `extra`: features beyond [`WASM_FEATURES`] (e.g. `--enable-threads`).
fn wasm_opt(root: &Path, level: &str, extra: &[&str], wasm: &Path) -> anyhow::Result<()> {
    run(Command::new(root.join("frontend/node_modules/.bin/wasm-opt"))
        .arg(level)
        .args(WASM_FEATURES)
        .args(extra)
        .arg(wasm)
        .arg("-o")
        .arg(wasm))
}

/// The single-thread optimizer for the Web Worker, optimised for speed rather
/// than size (`release`, `-O3`): it runs for seconds, and it loads off the UI thread.
fn build_solver(root: &Path, out: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(out)?;
    let wasm = cargo_build_wasm(root, "doorstep-solver-wasm", "release")?;
    bind_and_optimise(root, &wasm, out, "-O3", &[])
}

/// `cargo build` of a wasm32 library with the workspace's stable toolchain;
/// returns the module cargo wrote.
fn cargo_build_wasm(root: &Path, package: &str, profile: &str) -> anyhow::Result<PathBuf> {
    run(cargo(root).args(["build", "--package", package, "--lib", "--target", "wasm32-unknown-unknown", "--profile", profile]))?;
    Ok(root.join(format!("target/wasm32-unknown-unknown/{profile}/{}.wasm", package.replace('-', "_"))))
}

/// wasm-bindgen (`--target web`) into `out`, then wasm-opt at `level` in place:
/// the steps every bundle shares. Returns the optimised module.
pub fn bind_and_optimise(root: &Path, wasm: &Path, out: &Path, level: &str, extra: &[&str]) -> anyhow::Result<PathBuf> {
    run(Command::new(tools::wasm_bindgen_bin())
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(out)
        .arg(wasm))?;
    let stem = wasm.file_stem().and_then(|s| s.to_str()).context("wasm module without a file name")?;
    let bindgen_wasm = out.join(format!("{stem}_bg.wasm"));
    wasm_opt(root, level, extra, &bindgen_wasm)?;
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
