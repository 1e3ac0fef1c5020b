//! The dependency rules of ARCHITECTURE.md as code. [`violations`] reads
//! `cargo metadata` output and lists every crate whose dependency closure
//! (normal and build dependencies, on any target) reaches a forbidden crate.

pub mod api_routes;
pub mod infra_template;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// One rule: the listed workspace crates must not reach crates matching `forbidden`.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: &'static str,
    /// Check the graph as resolved for this target only (`None`: every target,
    /// the strictest reading).
    pub platform: Option<&'static str>,
    pub applies_to: &'static [&'static str],
    pub forbidden: &'static [&'static str],
    /// Crates neither reported nor looked past: each entry is a deliberate,
    /// documented exception (see ARCHITECTURE.md).
    pub exempt: &'static [&'static str],
}

/// rayon reaches js-sys/web-sys only through wasm_sync, its browser-safe locks;
/// that is what lets the optimizer use threads in a Web Worker.
const RAYON_BROWSER_SUPPORT: &[&str] = &["wasm_sync"];

/// Crate-name patterns: a trailing `*` matches any suffix.
const IO_WEB_AWS_ASYNC: &[&str] = &[
    // async runtimes and networking
    "tokio", "async-std", "smol", "mio", "hyper", "reqwest", "axum", "tower", "tower-http", "socket2",
    // storage
    "rusqlite", "libsqlite3-sys",
    // AWS and Lambda
    "aws-*", "lambda_*", "lambda-*",
    // browser bindings
    "wasm-bindgen", "web-sys", "js-sys", "gloo*", "yew*", "leaflet",
];

const SDKS_AND_SERVERS: &[&str] = &[
    "aws-*", "lambda_*", "lambda-*", "rusqlite", "libsqlite3-sys", "axum", "hyper", "reqwest", "tower-http",
];

const SERVER_ONLY: &[&str] = &["tokio", "rusqlite", "libsqlite3-sys", "aws-*", "lambda_*", "axum", "hyper"];

pub const RULES: &[Rule] = &[
    Rule {
        name: "shared crates are pure: no I/O, web, AWS or async-runtime crates",
        platform: None,
        applies_to: &["doorstep-domain", "doorstep-optimizer"],
        forbidden: IO_WEB_AWS_ASYNC,
        exempt: RAYON_BROWSER_SUPPORT,
    },
    Rule {
        name: "the service core takes ports, never SDK clients, databases or HTTP servers",
        platform: None,
        applies_to: &["doorstep-core"],
        forbidden: SDKS_AND_SERVERS,
        exempt: &[],
    },
    Rule {
        name: "the AWS SDK stays out of crates that do not talk to AWS",
        platform: None,
        applies_to: &["doorstep-store-sqlite", "doorstep-http", "doorstep", "doorstep-store-conformance", "xtask"],
        forbidden: &["aws-*", "lambda_*", "lambda-*"],
        // aws-lc-rs is a crypto library, not the SDK. Workspace-wide metadata
        // unifies rustls' features, so the SDK's aws-lc-rs shows under rustls
        // here although `cargo tree -p doorstep -i aws-lc-rs` finds nothing:
        // Doorstep's own TLS uses ring.
        exempt: &["aws-lc-rs", "aws-lc-sys"],
    },
    Rule {
        name: "the Lambda functions' shared host code links no AWS SDK (the functions that need one bring it)",
        platform: None,
        applies_to: &["doorstep-function-host"],
        forbidden: &["aws-sdk-*", "aws-config", "aws-smithy-*"],
        exempt: &[],
    },
    Rule {
        name: "the web app carries no server-side crates",
        // It only ever ships as wasm32; some bindings list tokio for emscripten.
        platform: Some("wasm32-unknown-unknown"),
        applies_to: &["doorstep-app", "doorstep-solver-wasm", "doorstep-track"],
        forbidden: SERVER_ONLY,
        exempt: &[],
    },
    Rule {
        name: "the customer tracking page stays light: no charts, router or solver bindings",
        // The optimizer itself is reachable through the domain (planning); the
        // web build checks that none of its code reaches the page's wasm.
        platform: Some("wasm32-unknown-unknown"),
        applies_to: &["doorstep-track"],
        forbidden: &["plotters*", "yew-router", "doorstep-solver-wasm", "wasm-bindgen-rayon"],
        exempt: &[],
    },
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub rule: &'static str,
    pub krate: String,
    pub forbidden: String,
    /// How the crate reaches the forbidden one, e.g. `a -> b -> tokio`.
    pub path: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} depends on {} ({})", self.rule, self.krate, self.forbidden, self.path.join(" -> "))
    }
}

fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// Every rule violation in `metadata` (the JSON of `cargo metadata --format-version 1`).
/// A rule naming a crate that is absent from the workspace is itself a violation,
/// so renaming a crate cannot silently switch a rule off.
pub fn violations(metadata: &Value, rules: &[Rule]) -> Vec<Violation> {
    let names: BTreeMap<&str, &str> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    // Normal and build edges only: dev-dependencies never ship.
    let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for node in metadata["resolve"]["nodes"].as_array().into_iter().flatten() {
        let Some(id) = node["id"].as_str() else { continue };
        let deps = node["deps"].as_array().into_iter().flatten().filter_map(|dep| {
            let shipped = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].as_str() != Some("dev"));
            shipped.then(|| dep["pkg"].as_str()).flatten()
        });
        edges.insert(id, deps.collect());
    }

    let mut found = Vec::new();
    for rule in rules {
        for krate in rule.applies_to {
            let Some(start) = names.iter().find(|(_, n)| *n == krate).map(|(id, _)| *id) else {
                found.push(Violation {
                    rule: rule.name,
                    krate: (*krate).to_string(),
                    forbidden: "(crate missing from the workspace)".into(),
                    path: vec![],
                });
                continue;
            };
            // Breadth-first so the reported path is a shortest one.
            let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
            let mut seen = BTreeSet::from([start]);
            let mut queue = std::collections::VecDeque::from([start]);
            while let Some(id) = queue.pop_front() {
                for next in edges.get(id).into_iter().flatten() {
                    if !seen.insert(next) {
                        continue;
                    }
                    parent.insert(next, id);
                    let name = names.get(next).copied().unwrap_or(next);
                    // Exempt crates are neither reported nor looked past.
                    if rule.exempt.contains(&name) {
                        continue;
                    }
                    if let Some(pattern) = rule.forbidden.iter().find(|p| matches(p, name)) {
                        let mut path = vec![name.to_string()];
                        let mut at = id;
                        while let Some(prev) = parent.get(at) {
                            path.push(names.get(at).copied().unwrap_or(at).to_string());
                            at = prev;
                        }
                        path.push((*krate).to_string());
                        path.reverse();
                        found.push(Violation {
                            rule: rule.name,
                            krate: (*krate).to_string(),
                            forbidden: format!("{name} (rule `{pattern}`)"),
                            path,
                        });
                        // One report per forbidden crate; do not walk through it.
                        continue;
                    }
                    queue.push_back(next);
                }
            }
        }
    }
    found
}
