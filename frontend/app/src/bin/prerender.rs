//! Writes every prerendered page frame as `<template id="shell-{name}">`
//! elements to the file named by the first argument (`cargo xtask build-web`
//! puts them into `index.html`).

use anyhow::Context as _;

fn main() -> anyhow::Result<()> {
    let out = std::env::args().nth(1).context("usage: doorstep-prerender OUTPUT_FILE")?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let templates = tokio::task::LocalSet::new().block_on(&runtime, async {
        let mut templates = String::new();
        for shell in doorstep_app::prerender::shells() {
            let html = doorstep_app::prerender::render(&shell).await;
            templates.push_str(&format!("<template id=\"shell-{}\">{html}</template>\n", shell.name));
        }
        templates
    });
    std::fs::write(&out, templates).with_context(|| format!("write {out}"))?;
    Ok(())
}
