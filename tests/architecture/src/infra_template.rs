//! Checks `infra/template.yaml` against the code it deploys: every
//! `functions/lambda-*` package has exactly one `AWS::Serverless::Function`
//! and back; each function's role grants exactly the AWS calls its crates
//! make (no wildcard actions, resources scoped to the template's own
//! resources); and each function's environment sets exactly the `DOORSTEP_*`
//! variables its crates read.
//!
//! "Its crates" are the workspace crates the function package reaches through
//! normal dependencies. The scan is per crate, not per call path: a function
//! that links the DynamoDB store needs every call the store makes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use serde_yaml::Value as Yaml;

pub const TEMPLATE: &str = "infra/template.yaml";
/// The inline policy that must hold exactly what the code calls.
pub const SDK_POLICY: &str = "sdk-calls";
/// The inline policy for what Lambda itself needs, limited to these actions.
pub const RUNTIME_POLICY: &str = "lambda-runtime";
pub const RUNTIME_ACTIONS: &[&str] = &[
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
    "sqs:SendMessage",
];

/// One `.rs` file under a crate's `src/`, path relative to the workspace root.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

/// A workspace crate as the scan sees it.
#[derive(Debug, Clone, Default)]
pub struct CrateCode {
    pub name: String,
    /// Operations (snake_case method names) of each AWS SDK the crate depends
    /// on directly, keyed by SDK package name (`aws-sdk-dynamodb`).
    pub sdk_operations: BTreeMap<String, BTreeSet<String>>,
    /// Cargo features enabled for this crate in the function's build.
    pub features: BTreeSet<String>,
    pub files: Vec<SourceFile>,
}

/// A `functions/lambda-*` package and the crates it is built from (itself first).
#[derive(Debug, Clone)]
pub struct FunctionCode {
    pub package: String,
    /// Relative to the workspace root, e.g. `functions/lambda-orders`.
    pub dir: String,
    pub binaries: Vec<String>,
    pub crates: Vec<CrateCode>,
}

/// Where the code uses an IAM action or reads a variable: action/variable -> files.
pub type Uses = BTreeMap<String, BTreeSet<String>>;

/// IAM actions the crate's SDK calls need, with the files making them.
pub fn actions_used(krate: &CrateCode) -> Uses {
    let mut uses = Uses::new();
    for file in &krate.files {
        let code = compiled_code(file, krate, &krate.files);
        for (sdk, operations) in &krate.sdk_operations {
            for method in method_calls(&code.text) {
                if operations.contains(method) {
                    for action in iam_actions(sdk, method) {
                        uses.entry(action).or_default().insert(file.path.clone());
                    }
                }
            }
            // A transaction needs the rights of each item action in it.
            if sdk == "aws-sdk-dynamodb" {
                for (kind, action) in [
                    ("Put", "PutItem"),
                    ("Update", "UpdateItem"),
                    ("Delete", "DeleteItem"),
                    ("ConditionCheck", "ConditionCheckItem"),
                    ("Get", "GetItem"),
                ] {
                    if contains_path_call(&code.text, kind, "builder") {
                        uses.entry(format!("dynamodb:{action}")).or_default().insert(file.path.clone());
                    }
                }
            }
        }
        // A hand-signed S3 POST policy form (the SDK cannot presign POST)
        // uploads with the signer's s3:PutObject right.
        let lower: Vec<String> = code.strings.iter().map(|s| s.to_ascii_lowercase()).collect();
        if lower.iter().any(|s| s == "x-amz-credential") && lower.iter().any(|s| s == "conditions") {
            uses.entry("s3:PutObject".into()).or_default().insert(file.path.clone());
        }
    }
    uses
}

/// `DOORSTEP_*` variables named by string literals in compiled code.
pub fn env_vars_read(krate: &CrateCode) -> Uses {
    let mut uses = Uses::new();
    for file in &krate.files {
        for literal in compiled_code(file, krate, &krate.files).strings {
            let is_var = literal.strip_prefix("DOORSTEP_").is_some_and(|rest| {
                !rest.is_empty() && rest.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            });
            if is_var {
                uses.entry(literal).or_default().insert(file.path.clone());
            }
        }
    }
    uses
}

/// The IAM actions one SDK operation needs.
pub fn iam_actions(sdk: &str, operation: &str) -> Vec<String> {
    let service = sdk.strip_prefix("aws-sdk-").unwrap_or(sdk);
    let prefix = match service {
        "sesv2" => "ses",
        other => other,
    };
    let named = |action: &str| vec![format!("{prefix}:{action}")];
    match (service, operation) {
        // Authorised per item action (Put/Update/Delete/ConditionCheck/Get), see actions_used.
        ("dynamodb", "transact_write_items" | "transact_get_items") => Vec::new(),
        ("s3", "head_object") => named("GetObject"),
        ("s3", "list_objects" | "list_objects_v2") => named("ListBucket"),
        ("s3", "delete_objects") => named("DeleteObject"),
        ("s3", "copy_object") => vec![format!("{prefix}:GetObject"), format!("{prefix}:PutObject")],
        _ => named(&pascal_case(operation)),
    }
}

fn pascal_case(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

/// Every breach of the rules in this module's header, each saying how to fix it.
pub fn breaches(template: &Yaml, functions: &[FunctionCode]) -> Vec<String> {
    let mut found = Vec::new();
    let resources = template.get("Resources").and_then(Yaml::as_mapping).cloned().unwrap_or_default();
    let not_granted = not_granted(template);
    let unscopable: BTreeSet<String> = template["Metadata"]["Doorstep"]["UnscopableActions"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|e| e["Action"].as_str().map(str::to_owned))
        .collect();
    // Indexes into `not_granted` of the entries some call needed.
    let mut exemptions_used: BTreeSet<usize> = BTreeSet::new();

    let mut declared: BTreeMap<String, String> = BTreeMap::new(); // package dir -> logical id
    for (id, resource) in &resources {
        let Some(id) = id.as_str() else { continue };
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let props = &resource["Properties"];
        let Some(dir) = props["CodeUri"].as_str().and_then(code_dir) else {
            found.push(format!(
                "{id} in {TEMPLATE} has no CodeUri of the form ../functions/lambda-NAME: point it at its Cargo package"
            ));
            continue;
        };
        if let Some(other) = declared.insert(dir.clone(), id.to_owned()) {
            found.push(format!("{other} and {id} in {TEMPLATE} both build {dir}: one function per package"));
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap_or_default();
        if resource["Metadata"]["BuildMethod"].as_str() != Some("rust-cargolambda") {
            found.push(format!("{id} in {TEMPLATE}: set Metadata: BuildMethod: rust-cargolambda"));
        }
        let Some(function) = functions.iter().find(|f| f.dir == dir) else {
            let package = if binary.is_empty() { "its package".to_owned() } else { format!("package {binary}") };
            found.push(format!(
                "{id} in {TEMPLATE} builds {dir} ({package}), but there is no such crate: create the crate, or remove {id}"
            ));
            continue;
        };
        if !function.binaries.iter().any(|b| b == binary) {
            found.push(format!(
                "{id} in {TEMPLATE}: Metadata: BuildProperties: Binary is `{binary}`, but {} builds {:?}",
                function.package, function.binaries
            ));
        }
        check_environment(&mut found, template, id, props, function);
        check_role(&mut found, &resources, id, props, function, &not_granted, &unscopable, &mut exemptions_used);
    }
    for function in functions {
        if !declared.contains_key(&function.dir) {
            found.push(format!(
                "package {} ({}) has no AWS::Serverless::Function in {TEMPLATE}: add one with CodeUri: ../{}",
                function.package, function.dir, function.dir
            ));
        }
    }
    for (i, entry) in not_granted.iter().enumerate() {
        if !exemptions_used.contains(&i) {
            found.push(format!(
                "Metadata: Doorstep: NotGranted in {TEMPLATE} lists {} for {}, which no function's code calls there any more: remove the entry",
                entry.action, entry.source
            ));
        }
    }
    found.sort();
    found.dedup();
    found
}

#[derive(Debug, Clone)]
struct NotGranted {
    action: String,
    source: String,
    /// Only this function (logical id) is exempt; every function without it.
    function: Option<String>,
}

fn not_granted(template: &Yaml) -> Vec<NotGranted> {
    template["Metadata"]["Doorstep"]["NotGranted"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let reason = e["Reason"].as_str().unwrap_or_default();
            (!reason.trim().is_empty()).then_some(())?;
            Some(NotGranted {
                action: e["Action"].as_str()?.to_owned(),
                source: e["Source"].as_str()?.to_owned(),
                function: e["Function"].as_str().map(str::to_owned),
            })
        })
        .collect()
}

/// `../functions/lambda-orders` (relative to infra/) -> `functions/lambda-orders`.
fn code_dir(code_uri: &str) -> Option<String> {
    let dir = code_uri.trim_end_matches('/').strip_prefix("../")?;
    dir.strip_prefix("functions/lambda-").filter(|n| !n.is_empty() && !n.contains('/'))?;
    Some(dir.to_owned())
}

fn check_environment(found: &mut Vec<String>, template: &Yaml, id: &str, props: &Yaml, function: &FunctionCode) {
    let mut set: BTreeSet<String> = BTreeSet::new();
    for variables in [&template["Globals"]["Function"]["Environment"]["Variables"], &props["Environment"]["Variables"]] {
        set.extend(variables.as_mapping().into_iter().flatten().filter_map(|(k, _)| k.as_str().map(str::to_owned)));
    }
    let mut read = Uses::new();
    for krate in &function.crates {
        for (var, files) in env_vars_read(krate) {
            read.entry(var).or_default().extend(files);
        }
    }
    for (var, files) in &read {
        if !set.contains(var) {
            found.push(format!(
                "{var} is read by {} but {id} in {TEMPLATE} does not set it: add it under Environment: Variables:",
                join(files)
            ));
        }
    }
    for var in set.iter().filter(|v| v.starts_with("DOORSTEP_")) {
        if !read.contains_key(var) {
            found.push(format!(
                "{id} in {TEMPLATE} sets {var}, which none of {}'s crates reads: remove it, or read it in the code",
                function.package
            ));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn check_role(
    found: &mut Vec<String>,
    resources: &serde_yaml::Mapping,
    id: &str,
    props: &Yaml,
    function: &FunctionCode,
    not_granted: &[NotGranted],
    unscopable: &BTreeSet<String>,
    exemptions_used: &mut BTreeSet<usize>,
) {
    if !props["Policies"].is_null() {
        found.push(format!(
            "{id} in {TEMPLATE} uses SAM Policies: give it its own AWS::IAM::Role with `{RUNTIME_POLICY}` and `{SDK_POLICY}` inline policies instead"
        ));
    }
    let role_id = match &props["Role"] {
        Yaml::Mapping(m) => m.get("Fn::GetAtt").and_then(|v| match v {
            Yaml::Sequence(s) if s.get(1).and_then(Yaml::as_str) == Some("Arn") => s[0].as_str().map(str::to_owned),
            Yaml::String(s) => s.strip_suffix(".Arn").map(str::to_owned),
            _ => None,
        }),
        _ => None,
    };
    let Some(role_id) = role_id else {
        found.push(format!(
            "{id} in {TEMPLATE} has no Role: Fn::GetAtt: [SomeRole, Arn]: SAM's generated role carries managed policies on Resource \"*\""
        ));
        return;
    };
    let role = &resources.get(role_id.as_str()).cloned().unwrap_or(Yaml::Null);
    if role["Type"].as_str() != Some("AWS::IAM::Role") {
        found.push(format!("{id} in {TEMPLATE}: its Role {role_id} is not an AWS::IAM::Role of this template"));
        return;
    }
    if !role["Properties"]["ManagedPolicyArns"].is_null() {
        found.push(format!("{role_id} in {TEMPLATE} has ManagedPolicyArns: use inline, scoped policies only"));
    }
    let mut granted: BTreeSet<String> = BTreeSet::new();
    for policy in role["Properties"]["Policies"].as_sequence().into_iter().flatten() {
        let name = policy["PolicyName"].as_str().unwrap_or_default();
        for statement in statements(&policy["PolicyDocument"]["Statement"]) {
            let actions = strings(&statement["Action"]);
            if statement["Effect"].as_str() != Some("Allow") || !statement["NotAction"].is_null() {
                found.push(format!("{role_id} in {TEMPLATE}: policy {name} may only hold Allow statements with Action lists"));
            }
            for action in &actions {
                if action.contains('*') {
                    found.push(format!("{role_id} in {TEMPLATE} grants the wildcard action {action}: list the exact actions"));
                }
            }
            check_resources(found, &role_id, name, &statement["Resource"], &actions, unscopable, resources);
            match name {
                SDK_POLICY => granted.extend(actions),
                RUNTIME_POLICY => {
                    for action in actions.iter().filter(|a| !RUNTIME_ACTIONS.contains(&a.as_str())) {
                        found.push(format!(
                            "{role_id} in {TEMPLATE} grants {action} in {RUNTIME_POLICY}, which holds only {RUNTIME_ACTIONS:?}: move it to {SDK_POLICY} if the code calls it"
                        ));
                    }
                }
                other => found.push(format!(
                    "{role_id} in {TEMPLATE} has a policy named `{other}`: use `{RUNTIME_POLICY}` (Lambda's own needs) and `{SDK_POLICY}` (the code's calls) only"
                )),
            }
        }
    }
    let mut used = Uses::new();
    for krate in &function.crates {
        for (action, files) in actions_used(krate) {
            used.entry(action).or_default().extend(files);
        }
    }
    for (action, files) in &used {
        if granted.contains(action) {
            continue;
        }
        let unexempted: Vec<&String> = files
            .iter()
            .filter(|file| {
                let exempt: Vec<usize> = (0..not_granted.len())
                    .filter(|&i| {
                        let e = &not_granted[i];
                        &e.action == action && &e.source == *file && e.function.as_deref().is_none_or(|f| f == id)
                    })
                    .collect();
                exemptions_used.extend(&exempt);
                exempt.is_empty()
            })
            .collect();
        if !unexempted.is_empty() {
            let files: BTreeSet<String> = unexempted.into_iter().cloned().collect();
            found.push(format!(
                "{action} is used by {} but not granted to {id} in {TEMPLATE}: add it to {role_id}'s `{SDK_POLICY}` policy",
                join(&files)
            ));
        }
    }
    for action in granted.iter().filter(|a| !used.contains_key(*a)) {
        found.push(format!(
            "{role_id} in {TEMPLATE} grants {action} to {id}, but none of {}'s crates calls it: remove it (least privilege)",
            function.package
        ));
    }
}

fn check_resources(
    found: &mut Vec<String>,
    role_id: &str,
    policy: &str,
    resource: &Yaml,
    actions: &[String],
    unscopable: &BTreeSet<String>,
    resources: &serde_yaml::Mapping,
) {
    let items: Vec<&Yaml> = match resource {
        Yaml::Sequence(s) => s.iter().collect(),
        Yaml::Null => {
            found.push(format!("{role_id} in {TEMPLATE}: a statement of {policy} has no Resource"));
            return;
        }
        other => vec![other],
    };
    for item in items {
        if let Some(branches) = item.get("Fn::If").and_then(Yaml::as_sequence) {
            let chosen = Yaml::Sequence(branches.iter().skip(1).filter(|b| b.get("Ref").and_then(Yaml::as_str) != Some("AWS::NoValue")).cloned().collect());
            check_resources(found, role_id, policy, &chosen, actions, unscopable, resources);
            continue;
        }
        let scoped = match item {
            Yaml::String(s) if s == "*" => {
                if actions.iter().all(|a| unscopable.contains(a)) {
                    continue;
                }
                false
            }
            Yaml::Mapping(m) => {
                let names_resource = |name: &str| resources.contains_key(name.split('.').next().unwrap_or(name));
                if let Some(target) = m.get("Fn::GetAtt") {
                    match target {
                        Yaml::Sequence(s) => s.first().and_then(Yaml::as_str).is_some_and(names_resource),
                        Yaml::String(s) => names_resource(s),
                        _ => false,
                    }
                } else if let Some(Yaml::String(name)) = m.get("Ref") {
                    names_resource(name)
                } else if let Some(sub) = m.get("Fn::Sub") {
                    let text = match sub {
                        Yaml::String(s) => s.as_str(),
                        Yaml::Sequence(s) => s.first().and_then(Yaml::as_str).unwrap_or_default(),
                        _ => "",
                    };
                    // Scoped when a template resource or a deployment parameter names it.
                    let named = sub_variables(text).iter().any(|v| !v.starts_with("AWS::"));
                    named && !text.ends_with(":*") && !text.contains(":*:")
                } else {
                    false
                }
            }
            _ => false,
        };
        if !scoped {
            found.push(format!(
                "{role_id} in {TEMPLATE}: {policy} grants {actions:?} on {}: scope it to a resource of the template (Fn::GetAtt/Fn::Sub)",
                serde_yaml::to_string(item).unwrap_or_default().trim()
            ));
        }
    }
}

fn sub_variables(text: &str) -> Vec<&str> {
    text.split("${").skip(1).filter_map(|rest| rest.split_once('}').map(|(v, _)| v)).collect()
}

/// Statements of a policy document; both branches of an `Fn::If` count.
fn statements(value: &Yaml) -> Vec<Yaml> {
    match value {
        Yaml::Sequence(items) => items.iter().flat_map(statements).collect(),
        Yaml::Mapping(m) if m.contains_key("Fn::If") => {
            m["Fn::If"].as_sequence().into_iter().flatten().skip(1).flat_map(statements).collect()
        }
        Yaml::Mapping(m) if m.get("Ref").and_then(Yaml::as_str) == Some("AWS::NoValue") => Vec::new(),
        Yaml::Mapping(_) => vec![value.clone()],
        _ => Vec::new(),
    }
}

fn strings(value: &Yaml) -> Vec<String> {
    match value {
        Yaml::String(s) => vec![s.clone()],
        Yaml::Sequence(s) => s.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

fn join(files: &BTreeSet<String>) -> String {
    files.iter().cloned().collect::<Vec<_>>().join(", ")
}

// ---------------------------------------------------------------- reading Rust

/// A file with comments removed, string literals replaced by `""`, and
/// items the build leaves out (`#[cfg(test)]`, features not enabled) cut.
#[derive(Debug, Default)]
struct Compiled {
    text: String,
    strings: Vec<String>,
}

fn compiled_code(file: &SourceFile, krate: &CrateCode, all: &[SourceFile]) -> Compiled {
    if excluded_modules(krate, all).iter().any(|m| file.path == format!("{m}.rs") || file.path.starts_with(&format!("{m}/"))) {
        return Compiled::default();
    }
    let (text, literals) = lex(&file.text);
    let kept = cut_disabled_items(&text, &literals, &krate.features);
    let strings = literal_markers(&kept).into_iter().filter_map(|i| literals.get(i).cloned()).collect();
    Compiled { text: kept, strings }
}

/// Module paths (without `.rs`) declared as `#[cfg(..)] mod name;` with the cfg off.
fn excluded_modules(krate: &CrateCode, all: &[SourceFile]) -> Vec<String> {
    let mut out = Vec::new();
    for file in all {
        let (text, literals) = lex(&file.text);
        let base = match file.path.rsplit_once('/') {
            Some((dir, "lib.rs" | "main.rs" | "mod.rs")) => dir.to_owned(),
            _ => file.path.trim_end_matches(".rs").to_owned(),
        };
        for (start, end) in disabled_items(&text, &literals, &krate.features) {
            let item = &text[start..end];
            let words: Vec<&str> = item.split(|c: char| c.is_whitespace() || c == ';').filter(|w| !w.is_empty()).collect();
            if let Some(pos) = words.iter().position(|w| *w == "mod")
                && item.trim_end().ends_with(';')
                && let Some(name) = words.get(pos + 1)
            {
                out.push(format!("{base}/{name}"));
            }
        }
    }
    out
}

/// Removes comments; replaces each string literal by `"<index>"` so that
/// braces inside strings do not count and the literal can be found again.
fn lex(source: &str) -> (String, Vec<String>) {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut literals = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' || (c == 'r' && matches!(next, Some('"' | '#')) && !prev_is_ident(&chars, i)) {
            let (literal, after) = string_literal(&chars, i);
            out.push_str(&format!("\"{}\"", literals.len()));
            literals.push(literal);
            i = after;
        } else if c == '\'' {
            // A char literal ('x', '\n', '"'), or a lifetime ('a).
            let end = if next == Some('\\') {
                (i + 2..chars.len()).find(|&j| chars[j] == '\'').map(|j| j + 1)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 3)
            } else {
                None
            };
            match end {
                Some(end) => {
                    out.push_str("' '");
                    i = end;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    (out, literals)
}

fn prev_is_ident(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

fn string_literal(chars: &[char], start: usize) -> (String, usize) {
    let mut i = start;
    if chars[i] == 'r' {
        i += 1;
        let mut hashes = 0;
        while chars.get(i) == Some(&'#') {
            hashes += 1;
            i += 1;
        }
        i += 1; // opening quote
        let body_start = i;
        while i < chars.len() {
            if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
                return (chars[body_start..i].iter().collect(), i + 1 + hashes);
            }
            i += 1;
        }
        return (chars[body_start..].iter().collect(), chars.len());
    }
    i += 1;
    let mut literal = String::new();
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                if let Some(&escaped) = chars.get(i + 1) {
                    literal.push(escaped);
                }
                i += 2;
            }
            '"' => return (literal, i + 1),
            other => {
                literal.push(other);
                i += 1;
            }
        }
    }
    (literal, i)
}

fn literal_markers(text: &str) -> Vec<usize> {
    text.split('"').skip(1).step_by(2).filter_map(|s| s.parse().ok()).collect()
}

/// Byte ranges of items behind `#[cfg(test)]` or `#[cfg(feature = "x")]`
/// with `x` off: the attribute through the end of the item it annotates.
fn disabled_items(text: &str, literals: &[String], features: &BTreeSet<String>) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("#[cfg(") {
        let start = from + found;
        let Some(close) = text[start..].find(")]") else { break };
        let condition = &text[start + 6..start + close];
        let after = start + close + 2;
        let off = match condition.trim() {
            "test" => true,
            c => c
                .strip_prefix("feature")
                .map(|rest| rest.trim_start().trim_start_matches('=').trim())
                .and_then(|marker| literal_markers(marker).first().and_then(|&i| literals.get(i)))
                .is_some_and(|feature| !features.contains(feature)),
        };
        if off {
            let end = item_end(text, after);
            ranges.push((start, end));
            from = end;
        } else {
            from = after;
        }
    }
    ranges
}

fn item_end(text: &str, from: usize) -> usize {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            b';' if depth == 0 => return i + 1,
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

fn cut_disabled_items(text: &str, literals: &[String], features: &BTreeSet<String>) -> String {
    let mut kept = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in disabled_items(text, literals, features) {
        kept.push_str(&text[at..start]);
        at = end;
    }
    kept.push_str(&text[at..]);
    kept
}

/// Names of methods called as `.name(` (whitespace allowed around the name).
fn method_calls(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    for (i, _) in text.match_indices('.') {
        let rest = text[i + 1..].trim_start();
        let len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if len > 0 && rest[len..].trim_start().starts_with('(') {
            names.push(&rest[..len]);
        }
    }
    names
}

/// `Kind::method(` with `Kind` a whole identifier.
fn contains_path_call(text: &str, kind: &str, method: &str) -> bool {
    let needle = format!("{kind}::{method}(");
    text.match_indices(&needle).any(|(i, _)| !text[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
}

// ---------------------------------------------------------------- the real workspace

/// Reads the workspace's `functions/lambda-*` packages and their crates from
/// `cargo metadata` (with dependencies, to find each AWS SDK's operations).
pub fn workspace_functions(root: &Path, metadata: &Json) -> Vec<FunctionCode> {
    let packages: BTreeMap<&str, &Json> =
        metadata["packages"].as_array().into_iter().flatten().filter_map(|p| Some((p["id"].as_str()?, p))).collect();
    let members: BTreeSet<&str> =
        metadata["workspace_members"].as_array().into_iter().flatten().filter_map(Json::as_str).collect();
    let dir_of = |p: &Json| -> String {
        let manifest = PathBuf::from(p["manifest_path"].as_str().unwrap_or_default());
        let dir = manifest.parent().unwrap_or(Path::new("")).to_path_buf();
        dir.strip_prefix(root).unwrap_or(&dir).to_string_lossy().into_owned()
    };
    let by_name: BTreeMap<&str, &Json> =
        members.iter().filter_map(|id| packages.get(id)).filter_map(|p| Some((p["name"].as_str()?, *p))).collect();

    let mut functions = Vec::new();
    for package in by_name.values() {
        let dir = dir_of(package);
        if !dir.starts_with("functions/lambda-") {
            continue;
        }
        let binaries = package["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "bin")))
            .filter_map(|t| t["name"].as_str().map(str::to_owned))
            .collect();
        // Workspace crates reached through normal dependencies, and the
        // features those dependency declarations turn on.
        let mut closure: Vec<&str> = vec![package["name"].as_str().unwrap_or_default()];
        let mut features: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        let mut i = 0;
        while i < closure.len() {
            let current = by_name[closure[i]];
            for dep in current["dependencies"].as_array().into_iter().flatten() {
                let Some(name) = dep["name"].as_str() else { continue };
                if !dep["kind"].is_null() || !by_name.contains_key(name) {
                    continue;
                }
                let enabled = features.entry(name).or_default();
                enabled.extend(dep["features"].as_array().into_iter().flatten().filter_map(|f| f.as_str().map(str::to_owned)));
                if dep["uses_default_features"].as_bool() != Some(false) {
                    enabled.insert("default".into());
                }
                if !closure.contains(&name) {
                    closure.push(name);
                }
            }
            i += 1;
        }
        let crates = closure
            .iter()
            .map(|name| {
                let p = by_name[name];
                let mut enabled = features.get(name).cloned().unwrap_or_default();
                expand_features(&mut enabled, &p["features"]);
                CrateCode {
                    name: (*name).to_owned(),
                    sdk_operations: sdk_operations(p, &packages),
                    features: enabled,
                    files: rust_files(root, &root.join(dir_of(p)).join("src")),
                }
            })
            .collect();
        functions.push(FunctionCode { package: package["name"].as_str().unwrap_or_default().to_owned(), dir, binaries, crates });
    }
    functions
}

fn expand_features(enabled: &mut BTreeSet<String>, table: &Json) {
    let mut stack: Vec<String> = enabled.iter().cloned().collect();
    while let Some(feature) = stack.pop() {
        for implied in table[feature.as_str()].as_array().into_iter().flatten().filter_map(Json::as_str) {
            if !implied.contains(':') && !implied.contains('/') && enabled.insert(implied.to_owned()) {
                stack.push(implied.to_owned());
            }
        }
    }
}

/// For each `aws-sdk-*` dependency: its operations, one per `src/operation/<op>/`.
fn sdk_operations(package: &Json, packages: &BTreeMap<&str, &Json>) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for dep in package["dependencies"].as_array().into_iter().flatten() {
        let Some(name) = dep["name"].as_str().filter(|n| n.starts_with("aws-sdk-")) else { continue };
        if !dep["kind"].is_null() {
            continue;
        }
        let Some(sdk) = packages.values().find(|p| p["name"].as_str() == Some(name)) else { continue };
        let dir = Path::new(sdk["manifest_path"].as_str().unwrap_or_default()).with_file_name("src/operation");
        let operations = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .collect();
        out.insert(name.to_owned(), operations);
    }
    out
}

fn rust_files(root: &Path, dir: &Path) -> Vec<SourceFile> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().filter_map(|e| e.ok()) {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
                files.push(SourceFile { path: rel, text });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}
