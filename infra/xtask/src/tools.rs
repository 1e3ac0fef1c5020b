//! Installs whatever is missing, and only that. Every check is cheap, so a second
//! run says "nothing to install" within a second or two.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, bail};

use crate::process::{cargo, output, run};

/// Which groups of tools a command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    pub web: bool,
    pub threaded_wasm: bool,
    pub browser: bool,
    pub python: bool,
}

impl Needs {
    pub const WEB: Needs = Needs { web: true, threaded_wasm: false, browser: false, python: false };
    pub const ALL: Needs = Needs { web: true, threaded_wasm: true, browser: true, python: true };
    /// `infra-check` and `deploy`: cfn-lint, SAM CLI, cargo-lambda and zig from the venv.
    pub const INFRA: Needs = Needs { web: false, threaded_wasm: false, browser: false, python: true };
}

/// Python tools for tests, pinned in this file and installed into `target/py`.
pub const PYTHON_REQUIREMENTS: &str = "infra/python-requirements.txt";

pub fn ensure(root: &Path, needs: Needs) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut installed = Vec::new();
    if needs.web || needs.browser {
        require_on_path("node", "Node.js 20 or newer (Debian: apt-get install nodejs npm)")?;
        require_on_path("npm", "npm (Debian: apt-get install npm)")?;
    }
    if needs.web {
        installed.extend(ensure_rust_target("stable", "wasm32-unknown-unknown")?);
        installed.extend(ensure_wasm_bindgen(root)?);
        installed.extend(ensure_npm(root, "frontend")?);
    }
    if needs.threaded_wasm {
        // Only the (optional) threaded optimizer build needs nightly; a machine
        // without it still builds and tests everything else.
        match ensure_nightly_rust_src() {
            Ok(done) => installed.extend(done),
            Err(e) => println!("Warning: nightly rust-src is unavailable ({e:#}); the threaded optimizer build will be skipped."),
        }
    }
    if needs.browser {
        installed.extend(ensure_chromium()?);
        installed.extend(ensure_npm(root, "tests/browser")?);
    }
    if needs.python {
        require_on_path("python3", "Python 3.11 (Debian: apt-get install python3 python3-venv)")?;
        installed.extend(ensure_python_venv(root)?);
    }
    let seconds = started.elapsed().as_secs_f64();
    if installed.is_empty() {
        println!("Tools: nothing to install, everything is present ({seconds:.1} s).");
    } else {
        println!("Tools: installed {} ({seconds:.1} s).", installed.join(", "));
    }
    Ok(())
}

fn require_on_path(program: &str, hint: &str) -> anyhow::Result<()> {
    if output(Command::new(program).arg("--version")).is_none() {
        bail!("`{program}` is not installed or not on PATH; install {hint} and run again");
    }
    Ok(())
}

fn ensure_rust_target(toolchain: &str, target: &str) -> anyhow::Result<Option<String>> {
    let installed = output(Command::new("rustup").args([&format!("+{toolchain}"), "target", "list", "--installed"]))
        .context("rustup is needed to add the wasm32 target (https://rustup.rs)")?;
    if installed.lines().any(|l| l.trim() == target) {
        return Ok(None);
    }
    run(Command::new("rustup").args(["target", "add", target, "--toolchain", toolchain]))?;
    Ok(Some(format!("{target} ({toolchain})")))
}

/// The threaded optimizer build needs nightly's `-Z build-std`, hence rust-src.
fn ensure_nightly_rust_src() -> anyhow::Result<Vec<String>> {
    let mut installed = Vec::new();
    let components = output(Command::new("rustup").args(["component", "list", "--toolchain", "nightly", "--installed"]));
    let components = match components {
        Some(list) => list,
        None => {
            run(Command::new("rustup").args(["toolchain", "install", "nightly", "--profile", "minimal"]))?;
            installed.push("nightly toolchain".to_string());
            String::new()
        }
    };
    if !components.lines().any(|l| l.starts_with("rust-src")) {
        run(Command::new("rustup").args(["component", "add", "rust-src", "--toolchain", "nightly"]))?;
        installed.push("rust-src (nightly)".to_string());
    }
    installed.extend(ensure_rust_target("nightly", "wasm32-unknown-unknown")?);
    Ok(installed)
}

/// wasm-bindgen-cli must match the `wasm-bindgen` crate in Cargo.lock exactly.
fn ensure_wasm_bindgen(root: &Path) -> anyhow::Result<Option<String>> {
    let wanted = locked_version(root, "wasm-bindgen")?;
    let bin = cargo_bin_dir().join("wasm-bindgen");
    let have = output(Command::new(&bin).arg("--version"));
    if have.as_deref().map(str::trim) == Some(format!("wasm-bindgen {wanted}").as_str()) {
        return Ok(None);
    }
    println!("Installing wasm-bindgen-cli {wanted} (matches Cargo.lock; takes about 5 minutes once)...");
    // Not --locked: the CLI's own lockfile pins a crate release missing from the registry.
    run(cargo(root).args(["install", "wasm-bindgen-cli", "--version", &wanted, "--force"]))?;
    Ok(Some(format!("wasm-bindgen-cli {wanted}")))
}

pub fn wasm_bindgen_bin() -> PathBuf {
    cargo_bin_dir().join("wasm-bindgen")
}

pub fn wasm_bindgen_test_runner_bin() -> PathBuf {
    cargo_bin_dir().join("wasm-bindgen-test-runner")
}

fn cargo_bin_dir() -> PathBuf {
    if let Ok(home) = std::env::var("CARGO_HOME") {
        return PathBuf::from(home).join("bin");
    }
    PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into())).join(".cargo/bin")
}

pub fn locked_version(root: &Path, package: &str) -> anyhow::Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("Cargo.lock is missing")?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock.find(&needle).with_context(|| format!("{package} is not in Cargo.lock"))? + needle.len();
    let end = lock[start..].find('"').context("malformed Cargo.lock")?;
    Ok(lock[start..start + end].to_string())
}

/// `npm ci` when node_modules is missing or was installed from another lockfile.
fn ensure_npm(root: &Path, dir: &str) -> anyhow::Result<Option<String>> {
    let package_dir = root.join(dir);
    let lock = std::fs::read(package_dir.join("package-lock.json"))
        .with_context(|| format!("{dir}/package-lock.json is missing"))?;
    let stamp_path = package_dir.join("node_modules/.doorstep-lock-stamp");
    let stamp = format!("{:016x}", fnv1a(&lock));
    if std::fs::read_to_string(&stamp_path).ok().as_deref() == Some(stamp.as_str()) {
        return Ok(None);
    }
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&package_dir))?;
    std::fs::write(&stamp_path, stamp)?;
    Ok(Some(format!("npm packages in {dir}")))
}

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Debian's Chromium and ChromeDriver; the browser tests never download a browser.
fn ensure_chromium() -> anyhow::Result<Option<String>> {
    if Path::new(CHROMIUM).is_file() && Path::new(CHROMEDRIVER).is_file() {
        return Ok(None);
    }
    let is_root = output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0");
    let apt = |args: &[&str]| {
        let mut cmd = if is_root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.arg("apt-get");
            sudo
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    println!("Installing Debian's chromium and chromium-driver for the browser tests...");
    run(&mut apt(&["update", "-qq"]))
        .context("apt-get update failed; install chromium and chromium-driver by hand, then run again")?;
    run(&mut apt(&["install", "-y", "-qq", "chromium", "chromium-driver"]))?;
    Ok(Some("chromium + chromium-driver".to_string()))
}

pub fn python_bin(root: &Path) -> PathBuf {
    root.join("target/py/bin")
}

/// `PATH` with `dirs` in front.
pub fn path_with(dirs: &[PathBuf]) -> std::ffi::OsString {
    let current = std::env::var_os("PATH").unwrap_or_default();
    let all = dirs.iter().cloned().chain(std::env::split_paths(&current));
    std::env::join_paths(all).unwrap_or(current)
}

/// Programs the pinned requirements put into target/py/bin.
const VENV_TOOLS: &[&str] = &["moto_server", "cfn-lint", "sam", "cargo-lambda"];

/// A venv under target/ holding the pinned Python tools (moto_server, ...).
fn ensure_python_venv(root: &Path) -> anyhow::Result<Option<String>> {
    let requirements = std::fs::read(root.join(PYTHON_REQUIREMENTS))
        .with_context(|| format!("{PYTHON_REQUIREMENTS} is missing"))?;
    let venv = root.join("target/py");
    let stamp_path = venv.join(".doorstep-requirements-stamp");
    let stamp = format!("{:016x}", fnv1a(&requirements));
    // The stamp alone is not enough: a tool deleted from the venv is reinstalled.
    let complete = VENV_TOOLS.iter().all(|tool| venv.join("bin").join(tool).is_file());
    if complete && std::fs::read_to_string(&stamp_path).ok().as_deref() == Some(stamp.as_str()) {
        return Ok(None);
    }
    if !venv.join("bin/python").exists() {
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))
            .context("cannot create a Python venv (Debian: apt-get install python3-venv)")?;
    }
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(root.join(PYTHON_REQUIREMENTS)))?;
    std::fs::write(&stamp_path, stamp)?;
    Ok(Some("Python tools in target/py".to_string()))
}

/// A stable content hash for stamps (no extra dependency needed).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100000001b3))
}

