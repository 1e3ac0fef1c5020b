//! Runs the template check against the real workspace and infra/template.yaml,
//! and proves on small synthetic inputs that it catches each kind of breach.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use doorstep_architecture_tests::infra_template::{CrateCode, FunctionCode, SourceFile, TEMPLATE, breaches, workspace_functions};
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn workspace_metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(root())
        .output()
        .expect("run cargo metadata");
    assert!(output.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("cargo metadata JSON")
}

/// The breaches of `template` (YAML text) for `functions`.
fn check(template: &str, functions: &[FunctionCode]) -> Vec<String> {
    let template: serde_yaml::Value = serde_yaml::from_str(template).expect("template YAML");
    breaches(&template, functions)
}

/// One function package `functions/lambda-demo`, binary `demo`, one crate
/// depending on the DynamoDB SDK with the given source.
fn demo_function(source: &str) -> FunctionCode {
    let operations: BTreeSet<String> =
        ["put_item", "get_item", "delete_item", "query", "transact_write_items"].iter().map(|s| s.to_string()).collect();
    FunctionCode {
        package: "doorstep-lambda-demo".into(),
        dir: "functions/lambda-demo".into(),
        binaries: vec!["demo".into()],
        crates: vec![CrateCode {
            name: "doorstep-lambda-demo".into(),
            sdk_operations: BTreeMap::from([("aws-sdk-dynamodb".to_string(), operations)]),
            features: BTreeSet::new(),
            files: vec![SourceFile { path: "functions/lambda-demo/src/lib.rs".into(), text: source.into() }],
        }],
    }
}

/// A template with DemoFunction granted `actions` on the table and the given environment.
fn demo_template(actions: &[&str], env: &[&str]) -> String {
    let actions: String = actions.iter().map(|a| format!("\n                  - {a}")).collect();
    let env: String = env.iter().map(|v| format!("\n          {v}: x")).collect();
    format!(
        r#"
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  DemoRole:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: sdk-calls
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action:{actions}
                Resource:
                  Fn::GetAtt: [Table, Arn]
  DemoFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: demo
    Properties:
      CodeUri: ../functions/lambda-demo
      Role:
        Fn::GetAtt: [DemoRole, Arn]
      Environment:
        Variables:
          UNRELATED: y{env}
"#
    )
}

const GETS_AND_DELETES: &str = r#"
pub const TABLE_ENV: &str = "DOORSTEP_TABLE";
async fn f(client: &Client) {
    client.get_item().send().await;
    client
        .delete_item()
        .send()
        .await;
}
"#;

#[test]
fn the_template_matches_the_code_it_deploys() {
    let text = std::fs::read_to_string(root().join(TEMPLATE)).expect("read infra/template.yaml");
    let functions = workspace_functions(&root().canonicalize().unwrap(), &workspace_metadata());
    let found = check(&text, &functions);
    assert!(found.is_empty(), "{TEMPLATE} disagrees with the code:\n  {}", found.join("\n  "));
}

#[test]
fn an_sdk_call_without_its_iam_action_is_reported_with_its_file() {
    let found = check(&demo_template(&["dynamodb:GetItem"], &["DOORSTEP_TABLE"]), &[demo_function(GETS_AND_DELETES)]);
    assert_eq!(found, vec![format!(
        "dynamodb:DeleteItem is used by functions/lambda-demo/src/lib.rs but not granted to DemoFunction in {TEMPLATE}: add it to DemoRole's `sdk-calls` policy"
    )]);
}

#[test]
fn a_granted_action_the_code_never_calls_is_reported() {
    let template = demo_template(&["dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:Scan"], &["DOORSTEP_TABLE"]);
    let found = check(&template, &[demo_function(GETS_AND_DELETES)]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("grants dynamodb:Scan to DemoFunction"), "{found:?}");
}

#[test]
fn exact_grants_and_environment_pass() {
    let template = demo_template(&["dynamodb:GetItem", "dynamodb:DeleteItem"], &["DOORSTEP_TABLE"]);
    assert_eq!(check(&template, &[demo_function(GETS_AND_DELETES)]), Vec::<String>::new());
}

#[test]
fn a_transaction_needs_the_action_of_each_item_kind_in_it() {
    let source = "fn f(c: &Client) { c.transact_write_items().transact_items(TransactWriteItem::builder().put(Put::builder().build()).build()); }";
    let found = check(&demo_template(&[], &[]), &[demo_function(source)]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("dynamodb:PutItem is used by"), "{found:?}");
}

#[test]
fn calls_in_comments_strings_and_test_modules_do_not_count() {
    let source = r#"
// client.delete_item() in a comment
/* client.delete_item() in a block comment */
const NOTE: &str = "client.delete_item()";
#[cfg(test)]
mod tests {
    fn f(client: &Client) { client.delete_item(); }
}
"#;
    assert_eq!(check(&demo_template(&[], &[]), &[demo_function(source)]), Vec::<String>::new());
}

#[test]
fn calls_behind_a_feature_the_function_does_not_enable_do_not_count() {
    let source = r#"#[cfg(feature = "moto")] fn f(c: &Client) { c.query(); }"#;
    assert_eq!(check(&demo_template(&[], &[]), &[demo_function(source)]), Vec::<String>::new());
    let mut enabled = demo_function(source);
    enabled.crates[0].features.insert("moto".into());
    assert_eq!(check(&demo_template(&[], &[]), &[enabled]).len(), 1);
}

#[test]
fn a_variable_the_code_reads_but_the_template_does_not_set_is_reported() {
    let found = check(&demo_template(&["dynamodb:GetItem", "dynamodb:DeleteItem"], &[]), &[demo_function(GETS_AND_DELETES)]);
    assert_eq!(found, vec![format!(
        "DOORSTEP_TABLE is read by functions/lambda-demo/src/lib.rs but DemoFunction in {TEMPLATE} does not set it: add it under Environment: Variables:"
    )]);
}

#[test]
fn a_doorstep_variable_nobody_reads_is_reported() {
    let template = demo_template(&["dynamodb:GetItem", "dynamodb:DeleteItem"], &["DOORSTEP_TABLE", "DOORSTEP_STALE"]);
    let found = check(&template, &[demo_function(GETS_AND_DELETES)]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("sets DOORSTEP_STALE"), "{found:?}");
}

#[test]
fn a_function_whose_crate_is_missing_is_reported_by_package() {
    let found = check(&demo_template(&[], &[]), &[]);
    assert_eq!(found, vec![format!(
        "DemoFunction in {TEMPLATE} builds functions/lambda-demo (package demo), but there is no such crate: create the crate, or remove DemoFunction"
    )]);
}

#[test]
fn a_lambda_package_without_a_function_is_reported() {
    let mut other = demo_function("");
    other.package = "doorstep-lambda-other".into();
    other.dir = "functions/lambda-other".into();
    let found = check(&demo_template(&[], &[]), &[demo_function(""), other]);
    assert_eq!(found, vec![format!(
        "package doorstep-lambda-other (functions/lambda-other) has no AWS::Serverless::Function in {TEMPLATE}: add one with CodeUri: ../functions/lambda-other"
    )]);
}

#[test]
fn wildcard_actions_and_unscoped_resources_are_reported() {
    let template = demo_template(&["dynamodb:*"], &[]).replace("Fn::GetAtt: [Table, Arn]", "\"*\"");
    let found = check(&template, &[demo_function("")]);
    assert!(found.iter().any(|b| b.contains("wildcard action dynamodb:*")), "{found:?}");
    assert!(found.iter().any(|b| b.contains("scope it to a resource of the template")), "{found:?}");
}

#[test]
fn an_ungranted_call_is_accepted_only_where_not_granted_names_it_with_a_reason() {
    let metadata = "Metadata:\n  Doorstep:\n    NotGranted:\n      - Action: dynamodb:DeleteItem\n        Source: functions/lambda-demo/src/lib.rs\n        Reason: test\n";
    let template = format!("{metadata}{}", demo_template(&["dynamodb:GetItem"], &["DOORSTEP_TABLE"]));
    assert_eq!(check(&template, &[demo_function(GETS_AND_DELETES)]), Vec::<String>::new());
    // Once the code stops making the call, the entry itself is reported.
    let found = check(&template, &[demo_function("const T: &str = \"DOORSTEP_TABLE\"; fn f(c: &Client) { c.get_item(); }")]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("which no function's code calls there any more"), "{found:?}");
}

#[test]
fn a_not_granted_entry_naming_a_function_exempts_that_function_only() {
    let entry = |function: &str| {
        format!("Metadata:\n  Doorstep:\n    NotGranted:\n      - Action: dynamodb:DeleteItem\n        Source: functions/lambda-demo/src/lib.rs\n        Function: {function}\n        Reason: test\n")
    };
    let body = demo_template(&["dynamodb:GetItem"], &["DOORSTEP_TABLE"]);
    assert_eq!(check(&format!("{}{body}", entry("DemoFunction")), &[demo_function(GETS_AND_DELETES)]), Vec::<String>::new());
    let found = check(&format!("{}{body}", entry("OtherFunction")), &[demo_function(GETS_AND_DELETES)]);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().any(|b| b.starts_with("dynamodb:DeleteItem is used by functions/lambda-demo/src/lib.rs but not granted to DemoFunction")), "{found:?}");
    assert!(found.iter().any(|b| b.contains("which no function's code calls there any more")), "{found:?}");
}

#[test]
fn a_function_on_sam_generated_role_is_reported() {
    let template = demo_template(&[], &[]).replace("      Role:\n        Fn::GetAtt: [DemoRole, Arn]\n", "");
    let found = check(&template, &[demo_function("")]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("has no Role"), "{found:?}");
}
