//! Running commands with their output visible, and failing with a message that
//! says what to do.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, bail};

/// Runs `cmd` with inherited stdio; an error names the command.
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = describe(cmd);
    let status = cmd
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("cannot start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Runs `cmd` and returns its stdout, or `None` if it cannot run or fails.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn describe(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

pub fn cargo(root: &Path) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root);
    cmd
}

/// A named step with its duration, for the summary at the end of a run.
pub struct Step {
    pub name: String,
    pub seconds: f64,
    pub ok: bool,
}

pub fn step(steps: &mut Vec<Step>, name: &str, work: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<()> {
    println!("\n==> {name}");
    let started = Instant::now();
    let result = work();
    let seconds = started.elapsed().as_secs_f64();
    steps.push(Step { name: name.to_string(), seconds, ok: result.is_ok() });
    match &result {
        Ok(()) => println!("<== {name}: ok ({seconds:.1} s)"),
        Err(e) => println!("<== {name}: FAILED ({seconds:.1} s): {e:#}"),
    }
    result
}

pub fn print_summary(steps: &[Step]) {
    println!("\nSummary");
    for s in steps {
        println!("  {:<6} {:>7.1} s  {}", if s.ok { "ok" } else { "FAILED" }, s.seconds, s.name);
    }
}
