//! `cargo xtask dev`: from a fresh clone to a running Doorstep with the demo business.

use std::path::Path;
use std::process::Command;

use anyhow::Context as _;

use crate::process::{self, cargo};
use crate::{tools, web_build};

pub fn run(root: &Path, serve_args: &[String]) -> anyhow::Result<()> {
    tools::ensure(root, tools::Needs::WEB)?;
    let web = web_build::build(root)?;
    process::run(cargo(root).args(["build", "--package", "doorstep", "--bin", "doorstep"]))?;
    let binary = root.join("target/debug/doorstep");
    println!("\nStarting Doorstep on the embedded store (data in .doorstep/). Press Ctrl-C to stop.");
    let mut cmd = Command::new(&binary);
    cmd.current_dir(root)
        .args(["serve", "--demo", "--data", ".doorstep", "--web"])
        .arg(&web)
        .args(serve_args.iter().skip_while(|a| *a == "--"));
    let status = cmd.status().with_context(|| format!("cannot start {}", binary.display()))?;
    anyhow::ensure!(status.success(), "doorstep serve exited with {status}");
    Ok(())
}
