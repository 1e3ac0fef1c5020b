//! Retried intake: 1,000 requests, each sent three times concurrently with the
//! same Idempotency-Key, must create each order exactly once; the same keys
//! with changed bodies must be refused with 409.

mod common;

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use common::{World, check, json_body};
use doorstep_domain::api::OrderQuery;
use futures::stream::{self, StreamExt};
use serde_json::json;

const REQUESTS: usize = 1_000;
const COPIES: usize = 3;

fn order(n: usize, name: &str) -> serde_json::Value {
    json!({
        "external_ref": format!("replay-{n}"),
        "kind": "delivery",
        "address": {"line1": format!("{n} Rue de la Replay"), "postcode": "69003", "city": "Lyon", "country": "FR"},
        "recipient": {"name": name}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_intake_creates_each_order_once_and_refuses_changed_bodies() {
    let world = World::new().await;
    let started = std::time::Instant::now();
    let sends = (0..REQUESTS).flat_map(|n| (0..COPIES).map(move |copy| (n, copy)));
    let replies: Vec<(usize, StatusCode, String)> = stream::iter(sends)
        .map(|(n, _)| {
            let app = world.app.clone();
            let token = world.key_a.clone();
            async move {
                let key = format!("replay-key-{n}");
                let reply = check(&app, Method::POST, "/api/orders", Some(&token), &[("idempotency-key", &key)], json_body(&order(n, "Replay"))).await;
                (n, reply.status, reply.text)
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let elapsed = started.elapsed();

    let mut bodies: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (n, status, text) in replies {
        assert_eq!(status, StatusCode::CREATED, "request {n}: {text}");
        bodies.entry(n).or_default().push(text);
    }
    for (n, copies) in &bodies {
        assert!(copies.iter().all(|b| b == &copies[0]), "request {n}: copies got different answers");
    }

    // Count what was stored: exactly one order per request.
    let store = world.state.store.as_ref();
    let mut per_ref: BTreeMap<String, usize> = BTreeMap::new();
    let mut after = None;
    loop {
        let page = store.list_orders(&world.a.organisation.id, &OrderQuery::default(), after.as_ref(), 200).await.expect("list");
        for o in &page.items {
            if let Some(r) = o.external_ref.as_deref().filter(|r| r.starts_with("replay-")) {
                *per_ref.entry(r.to_owned()).or_default() += 1;
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let duplicates: usize = per_ref.values().map(|c| c - 1).sum();
    assert_eq!(per_ref.len(), REQUESTS, "every request created its order");
    assert_eq!(duplicates, 0, "duplicate orders");

    // The same keys with a changed body: 409, and still nothing new.
    let mut conflicts = 0;
    for n in (0..REQUESTS).step_by(10) {
        let key = format!("replay-key-{n}");
        let reply = check(&world.app, Method::POST, "/api/orders", Some(&world.key_a), &[("idempotency-key", &key)], json_body(&order(n, "Mutated"))).await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
        conflicts += 1;
    }
    let mutated = store
        .list_orders(&world.a.organisation.id, &OrderQuery { q: Some("Mutated".into()), ..OrderQuery::default() }, None, 10)
        .await
        .expect("list");
    assert!(mutated.items.is_empty());
    println!(
        "replay: {} requests ({REQUESTS} keys x {COPIES}) in {:.2?}, {} orders, {duplicates} duplicates, {conflicts} mutated bodies refused",
        REQUESTS * COPIES,
        elapsed,
        per_ref.len()
    );
}
