//! Which function of `infra/template.yaml` API Gateway sends each API
//! request to: the template's `AWS::ApiGatewayV2::Route`s, their
//! integrations and functions, and API Gateway's choice among routes (HTTP
//! APIs: the most specific path wins, literal segments before `{var}` before
//! a greedy `{proxy+}`; a route of the request's method before `ANY`).
//! Also the API's operations as the code declares them: the OpenAPI
//! document's, and the `.route("/api/...", get(..).post(..))` calls of the
//! HTTP crate (which also finds routes the document leaves out).

use std::cmp::Ordering;
use std::collections::BTreeSet;

use serde_json::Value as Json;
use serde_yaml::Value as Yaml;

/// One `AWS::ApiGatewayV2::Route` and the function behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRoute {
    /// The route's logical id.
    pub id: String,
    /// Upper case (`GET`), or `ANY`.
    pub method: String,
    pub path: String,
    /// The Lambda function's logical id and its package directory
    /// (`functions/lambda-orders`), when the target resolves to one.
    pub function: Option<(String, String)>,
}

/// One request the API serves: upper-case method and path template
/// (`/api/track/{token}`), with where it was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Operation {
    pub method: String,
    pub path: String,
    pub source: String,
}

/// Methods a `.route(..)` of axum (`any` is every one of these).
pub const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The template's API routes. `Err` names a route whose key or target
/// cannot be read.
pub fn gateway_routes(template: &Yaml) -> Result<Vec<GatewayRoute>, String> {
    let resources = template.get("Resources").and_then(Yaml::as_mapping).cloned().unwrap_or_default();
    let mut routes = Vec::new();
    for (id, resource) in &resources {
        let Some(id) = id.as_str() else { continue };
        if resource["Type"].as_str() != Some("AWS::ApiGatewayV2::Route") {
            continue;
        }
        let key = resource["Properties"]["RouteKey"].as_str().ok_or_else(|| format!("route {id} has no plain RouteKey"))?;
        let (method, path) = if key == "$default" {
            ("ANY".to_owned(), "/{proxy+}".to_owned())
        } else {
            let (m, p) = key.split_once(' ').ok_or_else(|| format!("route {id}: RouteKey {key:?} is not `METHOD /path`"))?;
            (m.to_ascii_uppercase(), p.to_owned())
        };
        let function = route_function(&resources, &resource["Properties"]["Target"]);
        routes.push(GatewayRoute { id: id.to_owned(), method, path, function });
    }
    Ok(routes)
}

/// `Fn::Sub: integrations/${X}` -> integration X -> `Fn::GetAtt: [F, Arn]`
/// -> function F and its `CodeUri` directory.
fn route_function(resources: &serde_yaml::Mapping, target: &Yaml) -> Option<(String, String)> {
    let sub = target.get("Fn::Sub").and_then(Yaml::as_str).or_else(|| target.as_str())?;
    let integration = sub.strip_prefix("integrations/${")?.strip_suffix('}')?;
    let uri = &resources.get(integration)?["Properties"]["IntegrationUri"];
    let function = match uri.get("Fn::GetAtt")? {
        Yaml::Sequence(s) => s.first()?.as_str()?.to_owned(),
        Yaml::String(s) => s.strip_suffix(".Arn")?.to_owned(),
        _ => return None,
    };
    let code = resources.get(function.as_str())?["Properties"]["CodeUri"].as_str()?;
    let dir = code.trim_end_matches('/').strip_prefix("../")?.to_owned();
    Some((function, dir))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Greedy,
    Variable,
    Literal,
}

fn shape(path: &str) -> Vec<(Segment, &str)> {
    path.trim_start_matches('/')
        .split('/')
        .map(|s| {
            if s.starts_with('{') && s.ends_with("+}") {
                (Segment::Greedy, s)
            } else if s.starts_with('{') && s.ends_with('}') {
                (Segment::Variable, s)
            } else {
                (Segment::Literal, s)
            }
        })
        .collect()
}

/// Whether a route path matches a concrete request path.
pub fn path_matches(route: &str, request: &str) -> bool {
    let pattern = shape(route);
    let segments: Vec<&str> = request.trim_start_matches('/').split('/').collect();
    for (i, (kind, text)) in pattern.iter().enumerate() {
        match kind {
            // One or more segments, to the end.
            Segment::Greedy => return i + 1 == pattern.len() && segments.len() > i,
            Segment::Variable if segments.get(i).is_some_and(|s| !s.is_empty()) => {}
            Segment::Literal if segments.get(i) == Some(text) => {}
            _ => return false,
        }
    }
    pattern.len() == segments.len()
}

/// Most specific first: segment by segment, literal before `{var}` before
/// `{proxy+}` (a longer match before a shorter one), then a route of the
/// request's method before `ANY`.
fn specificity(a: &GatewayRoute, b: &GatewayRoute) -> Ordering {
    let (sa, sb) = (shape(&a.path), shape(&b.path));
    for (x, y) in sa.iter().zip(&sb) {
        match x.0.cmp(&y.0) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    sa.len().cmp(&sb.len()).then_with(|| (a.method != "ANY").cmp(&(b.method != "ANY")))
}

/// The route API Gateway chooses for a request, if any.
pub fn choose<'a>(routes: &'a [GatewayRoute], method: &str, path: &str) -> Option<&'a GatewayRoute> {
    routes
        .iter()
        .filter(|r| (r.method == "ANY" || r.method.eq_ignore_ascii_case(method)) && path_matches(&r.path, path))
        .max_by(|a, b| specificity(a, b))
}

/// A request path for a path template: `{name}` becomes one sample
/// segment, `{*rest}` (axum) or `{name+}` two.
pub fn concrete_path(template: &str) -> String {
    template
        .split('/')
        .map(|s| {
            if s.starts_with("{*") || s.ends_with("+}") {
                "sample-a/sample-b.jpg".to_owned()
            } else if s.starts_with('{') && s.ends_with('}') {
                format!("sample-{}", s.trim_matches(|c| c == '{' || c == '}'))
            } else {
                s.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every operation of an OpenAPI document (`paths` -> method -> operation).
pub fn openapi_operations(doc: &Json) -> Vec<Operation> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in item.as_object().into_iter().flatten().map(|(m, _)| m.to_ascii_uppercase()) {
            if METHODS.contains(&method.as_str()) {
                found.push(Operation { method, path: path.clone(), source: "the OpenAPI document".into() });
            }
        }
    }
    found.sort();
    found
}

/// The `/api` routes of axum `.route("/path", get(a).post(b))` calls in one
/// source file; `any(..)` counts as every method. The API's catch-all
/// (`/api/{*rest}`, the unknown-route answer) is not an operation. `Err`
/// for a `.route(` whose path is not a string literal.
pub fn source_operations(file: &str, text: &str) -> Result<Vec<Operation>, String> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(".route(") {
        let start = from + at + ".route(".len();
        from = start;
        let rest = text[start..].trim_start();
        let Some(literal) = rest.strip_prefix('"') else {
            let line = text[..start].lines().count();
            return Err(format!("{file}:{line}: .route( without a string literal path: write the path inline so the route check can read it"));
        };
        let Some(end) = literal.find('"') else { break };
        let path = &literal[..end];
        // The method router: up to the `)` that closes `.route(`.
        let after = &literal[end + 1..];
        let mut depth = 1usize;
        let close = after
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map_or(after.len(), |(i, _)| i);
        let router = &after[..close];
        if !path.starts_with("/api/") || path == "/api/{*rest}" {
            continue;
        }
        let mut methods = BTreeSet::new();
        for (i, _) in router.match_indices('(') {
            let name_start = router[..i].rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |p| p + 1);
            let before = router[..name_start].trim_end();
            // `get(`, `.post(`, `routing::any(`: a method router, not an argument's call.
            let chained = before.is_empty() || before.ends_with(',') || before.ends_with('.') || before.ends_with("::");
            match &router[name_start..i] {
                "any" if chained => methods.extend(METHODS.iter().map(|m| m.to_string())),
                name if chained && METHODS.contains(&name.to_ascii_uppercase().as_str()) => {
                    methods.insert(name.to_ascii_uppercase());
                }
                _ => {}
            }
        }
        for method in methods {
            found.push(Operation { method, path: path.to_owned(), source: file.to_owned() });
        }
    }
    Ok(found)
}
