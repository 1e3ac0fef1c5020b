//! Runs the rules against the real workspace, and proves the checker catches a
//! breach on a small synthetic graph.

use doorstep_architecture_tests::{RULES, Rule, violations};
use serde_json::{Value, json};

fn workspace_metadata(platform: Option<&str>) -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command.args(["metadata", "--format-version", "1", "--locked"]);
    if let Some(target) = platform {
        command.args(["--filter-platform", target]);
    }
    let output = command
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .expect("run cargo metadata");
    assert!(output.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("cargo metadata JSON")
}

/// A tiny metadata document: `edges` are (from, to, kind) with kind "normal" or "dev".
fn graph(edges: &[(&str, &str, &str)]) -> Value {
    let mut names: Vec<&str> = edges.iter().flat_map(|(a, b, _)| [*a, *b]).collect();
    names.sort();
    names.dedup();
    let packages: Vec<Value> = names.iter().map(|n| json!({"id": format!("{n} 1.0"), "name": n})).collect();
    let nodes: Vec<Value> = names
        .iter()
        .map(|n| {
            let deps: Vec<Value> = edges
                .iter()
                .filter(|(a, _, _)| a == n)
                .map(|(_, b, kind)| {
                    let kind = if *kind == "dev" { json!("dev") } else { Value::Null };
                    json!({"pkg": format!("{b} 1.0"), "dep_kinds": [{"kind": kind}]})
                })
                .collect();
            json!({"id": format!("{n} 1.0"), "deps": deps})
        })
        .collect();
    json!({"packages": packages, "resolve": {"nodes": nodes}})
}

fn check(metadata: &Value, rules: &[Rule]) -> Vec<String> {
    violations(metadata, rules).iter().map(ToString::to_string).collect()
}

const PURE: &[Rule] = &[Rule {
    name: "pure",
    platform: None,
    applies_to: &["doorstep-domain"],
    forbidden: &["tokio", "aws-*"],
    exempt: &["vetted"],
}];

#[test]
fn workspace_keeps_every_dependency_rule() {
    let mut platforms: Vec<Option<&str>> = RULES.iter().map(|r| r.platform).collect();
    platforms.sort();
    platforms.dedup();
    let mut broken = Vec::new();
    for platform in platforms {
        let rules: Vec<Rule> = RULES.iter().filter(|r| r.platform == platform).cloned().collect();
        broken.extend(check(&workspace_metadata(platform), &rules));
    }
    assert!(broken.is_empty(), "dependency rules broken:\n{}", broken.join("\n"));
}

#[test]
fn a_transitive_runtime_dependency_of_a_shared_crate_is_reported_with_its_path() {
    let metadata = graph(&[("doorstep-domain", "helper", "normal"), ("helper", "tokio", "normal")]);
    assert_eq!(check(&metadata, PURE), vec!["pure: doorstep-domain depends on tokio (rule `tokio`) (doorstep-domain -> helper -> tokio)"]);
}

#[test]
fn prefix_patterns_catch_every_aws_crate() {
    let metadata = graph(&[("doorstep-domain", "aws-sdk-dynamodb", "normal")]);
    assert_eq!(check(&metadata, PURE).len(), 1);
}

#[test]
fn dev_dependencies_do_not_count() {
    let metadata = graph(&[("doorstep-domain", "tokio", "dev")]);
    assert!(check(&metadata, PURE).is_empty());
}

#[test]
fn forbidden_crates_behind_an_exempt_crate_are_tolerated_but_not_elsewhere() {
    let metadata = graph(&[("doorstep-domain", "vetted", "normal"), ("vetted", "tokio", "normal")]);
    assert!(check(&metadata, PURE).is_empty());
    let metadata = graph(&[("doorstep-domain", "other", "normal"), ("other", "tokio", "normal")]);
    assert_eq!(check(&metadata, PURE).len(), 1);
}

#[test]
fn a_rule_for_a_missing_crate_fails_instead_of_passing_silently() {
    let metadata = graph(&[("other", "serde", "normal")]);
    assert_eq!(check(&metadata, PURE).len(), 1);
}
