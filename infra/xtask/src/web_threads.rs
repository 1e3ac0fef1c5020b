//! The threaded optimizer build (`target/site/solver-mt/`): nightly Rust with
//! `-Z build-std`, shared memory and atomics, so wasm-bindgen-rayon can run the
//! search on several Web Workers when the page is cross-origin isolated. The
//! worker falls back to the single-thread build (`solver/`) otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::{output, run};

/// From TOOLCHAIN.md: since nightly-2025-10-03 `+atomics` alone no longer
/// gives shared memory; the link arguments are needed too.
const THREADED_RUSTFLAGS: &str = "-C target-feature=+atomics,+bulk-memory,+mutable-globals \
    -C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=1073741824 \
    -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size \
    -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base";

/// Whether this machine can build it (nightly with rust-src).
pub fn available() -> bool {
    output(Command::new("rustup").args(["component", "list", "--toolchain", "nightly", "--installed"]))
        .is_some_and(|list| list.lines().any(|l| l.starts_with("rust-src")))
}

/// Builds the threaded solver into `out`; `None` (with a warning) when
/// nightly is missing, so everything else still builds.
pub fn build(root: &Path, out: &Path) -> anyhow::Result<Option<PathBuf>> {
    if !available() {
        println!("Warning: nightly Rust with rust-src is missing: skipping the threaded optimizer; the app will plan on one thread.");
        let _ = std::fs::remove_dir_all(out);
        return Ok(None);
    }
    // Stale snippet directories (hashed names) would otherwise be served and precached.
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out)?;
    // The rustup proxy picks the toolchain from `+nightly`; variables that
    // `cargo xtask` inherited from the stable toolchain would override it.
    let mut cargo = Command::new("cargo");
    for var in ["CARGO", "RUSTC", "RUSTDOC", "RUSTUP_TOOLCHAIN", "RUSTC_WRAPPER", "CARGO_TARGET_DIR"] {
        cargo.env_remove(var);
    }
    run(cargo
        .current_dir(root)
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS", THREADED_RUSTFLAGS)
        .args([
            "+nightly",
            "build",
            "--package",
            "doorstep-solver-wasm",
            "--lib",
            "--target",
            "wasm32-unknown-unknown",
            "--release",
            "-Z",
            "build-std=panic_abort,std",
            // Its own target dir: std built with atomics must not mix with stable's.
            "--target-dir",
            "target/wasm-mt",
        ]))?;
    let wasm = root.join("target/wasm-mt/wasm32-unknown-unknown/release/doorstep_solver_wasm.wasm");
    crate::web_build::bind_and_optimise(root, &wasm, out, "-O3", &["--enable-threads"]).map(Some)
}
