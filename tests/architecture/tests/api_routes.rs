//! Every operation the HTTP API offers (the generated OpenAPI document, and
//! every `.route(..)` of functions/http) goes, through the route API
//! Gateway would choose in infra/template.yaml, to a Lambda function whose
//! own router serves it: not its unknown-route 404, not a 405. Each
//! function's router is built by its own crate (`doorstep_lambda_*::app`)
//! and probed in process on an in-memory SQLite store.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use doorstep_architecture_tests::api_routes::{GatewayRoute, Operation, choose, concrete_path, gateway_routes, openapi_operations, source_operations};
use doorstep_architecture_tests::infra_template::TEMPLATE;
use doorstep_blobs_fs::FsBlobStore;
use doorstep_core::ports::FixedClock;
use doorstep_http::{AppState, ClientSettings};
use doorstep_store_sqlite::SqliteStore;
use lambda_http::tower::ServiceExt as _;
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The router each function package serves, built by the package itself.
fn function_app(dir: &str, state: AppState) -> Option<Router> {
    match dir {
        "functions/lambda-orders" => Some(doorstep_lambda_orders::app(state)),
        "functions/lambda-tracking" => Some(doorstep_lambda_tracking::app(state)),
        "functions/lambda-pod" => Some(doorstep_lambda_pod::app(state)),
        _ => None,
    }
}

/// Every port wired (POD store, blob store with its own routes), so that a
/// route answers by what the router mounts, not by what a host left out.
fn state(blobs_dir: &Path) -> AppState {
    let store = Arc::new(SqliteStore::open_in_memory().expect("in-memory SQLite"));
    let clock = Arc::new(FixedClock(time::macros::datetime!(2026-11-22 12:00 UTC)));
    let blobs = FsBlobStore::open(blobs_dir, b"a blob secret of at least 32 bytes..").expect("blob store");
    AppState::self_contained(store.clone(), clock, ClientSettings::default(), b"a token secret of at least 32 bytes.")
        .with_pods(store)
        .with_local_blobs(blobs)
}

/// The API's operations: the OpenAPI document's, then the routers' own.
async fn operations() -> Vec<Operation> {
    let doc = serde_json::to_value(doorstep_http::openapi::openapi_json().await.0).expect("OpenAPI JSON");
    let mut all = openapi_operations(&doc);
    assert!(all.len() > 10, "the OpenAPI document lists the API: {all:?}");
    let dir = root().join("functions/http/src");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("functions/http/src").filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.sort();
    let mut from_source = Vec::new();
    for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "rs")) {
        let text = std::fs::read_to_string(file).expect("read source");
        let name = file.strip_prefix(root()).unwrap_or(file).to_string_lossy().into_owned();
        from_source.extend(source_operations(&name, &text).unwrap_or_else(|e| panic!("{e}")));
    }
    assert!(from_source.iter().any(|o| o.method == "GET" && o.path == "/api/track/{token}"), "the route scan finds the routers: {from_source:?}");
    all.extend(from_source);
    let mut seen = std::collections::BTreeSet::new();
    all.retain(|o| seen.insert((o.method.clone(), o.path.clone())));
    all
}

/// Why the app does not serve the request, if it does not.
async fn refusal(app: &Router, method: &str, path: &str) -> Option<String> {
    let request = Request::builder().method(method).uri(path).header("content-type", "application/json").body(Body::empty()).expect("request");
    let response = app.clone().oneshot(request).await.expect("the router answers");
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("body");
    let code = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["code"].as_str().map(str::to_owned));
    match (status, code.as_deref()) {
        (StatusCode::METHOD_NOT_ALLOWED, _) => Some("405: it has the path, not the method".into()),
        (StatusCode::NOT_FOUND, Some("unknown_route")) => Some("404 unknown_route".into()),
        _ => None,
    }
}

/// Each operation that API Gateway would not deliver to a function serving it.
async fn unserved(template: &serde_yaml::Value, operations: &[Operation], state: &AppState) -> Vec<String> {
    let routes: Vec<GatewayRoute> = gateway_routes(template).unwrap_or_else(|e| panic!("{TEMPLATE}: {e}"));
    let mut found = Vec::new();
    for op in operations {
        let (method, path) = (op.method.as_str(), concrete_path(&op.path));
        let what = format!("{method} {} (from {})", op.path, op.source);
        let Some(route) = choose(&routes, method, &path) else {
            found.push(format!("{what} matches no route of {TEMPLATE}: add an AWS::ApiGatewayV2::Route for it"));
            continue;
        };
        let key = format!("{} {}", route.method, route.path);
        let Some((function, dir)) = &route.function else {
            found.push(format!("{what} goes to {} ({key}), whose target is not an integration of a function of {TEMPLATE}", route.id));
            continue;
        };
        let Some(app) = function_app(dir, state.clone()) else {
            found.push(format!("{what} goes to {function} ({dir}), whose router this check cannot build: add it to function_app in {}", file!()));
            continue;
        };
        if let Some(why) = refusal(&app, method, &path).await {
            found.push(format!(
                "{what} is sent by {} ({key}) to {function}, whose router does not serve it ({why}): route it in {TEMPLATE} to the function that mounts its router, or mount the router in {dir}",
                route.id
            ));
        }
    }
    found
}

fn template() -> serde_yaml::Value {
    let text = std::fs::read_to_string(root().join(TEMPLATE)).expect("read infra/template.yaml");
    serde_yaml::from_str(&text).expect("template YAML")
}

#[tokio::test]
async fn every_api_operation_is_routed_to_a_function_that_serves_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let found = unserved(&template(), &operations().await, &state(dir.path())).await;
    assert!(found.is_empty(), "{TEMPLATE} sends requests where nothing serves them:\n  {}", found.join("\n  "));
}

#[tokio::test]
async fn an_operation_sent_to_a_function_without_its_router_is_reported() {
    // As if the pings route had been pointed at the POD function.
    let mut misrouted = template();
    misrouted["Resources"]["PingsRoute"]["Properties"]["Target"] = serde_yaml::from_str("Fn::Sub: integrations/${PodIntegration}").expect("yaml");
    let dir = tempfile::tempdir().expect("temp dir");
    let found = unserved(&misrouted, &operations().await, &state(dir.path())).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("POST /api/pings (from the OpenAPI document) is sent by PingsRoute (ANY /api/pings) to PodFunction"), "{found:?}");
    assert!(found[0].contains("404 unknown_route"), "{found:?}");
}

#[tokio::test]
async fn a_method_the_chosen_function_lacks_is_reported() {
    // A route the code does not have, on a path the tracking function serves
    // for another method: API Gateway sends it there, and its router says 405.
    let dir = tempfile::tempdir().expect("temp dir");
    let extra = Operation { method: "DELETE".into(), path: "/api/track/{token}/note".into(), source: "a test".into() };
    let found = unserved(&template(), &[extra], &state(dir.path())).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("to TrackingFunction") && found[0].contains("405"), "{found:?}");
}

fn route(id: &str, key: &str) -> GatewayRoute {
    let (method, path) = key.split_once(' ').expect("key");
    GatewayRoute { id: id.into(), method: method.into(), path: path.into(), function: None }
}

#[test]
fn api_gateway_chooses_the_most_specific_route_of_a_matching_method() {
    let routes = [
        route("Proxy", "ANY /api/{proxy+}"),
        route("Track", "ANY /api/track/{proxy+}"),
        route("Start", "POST /api/routes/{route_id}/start"),
        route("OrderPod", "GET /api/orders/{id}/pod"),
        route("Login", "POST /api/auth/login"),
    ];
    let chosen = |method: &str, path: &str| choose(&routes, method, path).map(|r| r.id.as_str());
    assert_eq!(chosen("GET", "/api/track/abc"), Some("Track"));
    assert_eq!(chosen("PUT", "/api/track/abc/note"), Some("Track"), "greedy: any depth");
    assert_eq!(chosen("GET", "/api/track"), Some("Proxy"), "{{proxy+}} needs a segment");
    assert_eq!(chosen("POST", "/api/routes/r1/start"), Some("Start"));
    assert_eq!(chosen("GET", "/api/routes/r1/start"), Some("Proxy"), "another method falls to ANY");
    assert_eq!(chosen("GET", "/api/orders/o1/pod"), Some("OrderPod"));
    assert_eq!(chosen("GET", "/api/orders/o1"), Some("Proxy"));
    assert_eq!(chosen("POST", "/api/auth/login"), Some("Login"));
    assert_eq!(chosen("GET", "/health"), None);
}

#[test]
fn a_route_of_the_method_beats_any_on_the_same_path() {
    let routes = [route("Any", "ANY /api/pings"), route("Post", "POST /api/pings")];
    assert_eq!(choose(&routes, "POST", "/api/pings").map(|r| r.id.as_str()), Some("Post"));
    assert_eq!(choose(&routes, "GET", "/api/pings").map(|r| r.id.as_str()), Some("Any"));
}

#[test]
fn the_route_scan_reads_methods_chains_and_any() {
    let source = r#"
        Router::new()
            .route("/api/a", post(create).get(list))
            .route("/api/b/{*key}", get(download).layer(DefaultBodyLimit::max(LIMIT)))
            .route("/api/c", axum::routing::any(all))
            .route("/api/{*rest}", any(unknown))
    "#;
    let found: Vec<(String, String)> = source_operations("x.rs", source).expect("scan").into_iter().map(|o| (o.method, o.path)).collect();
    let expect = |m: &str, p: &str| (m.to_owned(), p.to_owned());
    assert_eq!(&found[..3], &[expect("GET", "/api/a"), expect("POST", "/api/a"), expect("GET", "/api/b/{*key}")]);
    assert_eq!(found.len(), 3 + 5, "any: every method; the catch-all is not an operation: {found:?}");
    assert!(source_operations("x.rs", ".route(PATH, get(x))").is_err(), "a path the scan cannot read is an error, not a skip");
}

#[test]
fn concrete_paths_fill_variables_with_sample_segments() {
    assert_eq!(concrete_path("/api/track/{token}/note"), "/api/track/sample-token/note");
    assert_eq!(concrete_path("/api/pod/blobs/{*key}"), "/api/pod/blobs/sample-a/sample-b.jpg");
}
