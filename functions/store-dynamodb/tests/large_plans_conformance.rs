//! The large plan case of the conformance suite (5,000 stops on 250 routes:
//! save, read back, update, publish, concurrent updates) on a real
//! moto_server, and what it leaves in the table: a header under the item
//! limit and only the live generation's parts.

use aws_sdk_dynamodb::types::AttributeValue;
use doorstep_core::ports::Store;
use doorstep_store_conformance::{large_plans, sample_business};
use doorstep_store_dynamodb::DynamoStore;
use doorstep_store_dynamodb::moto::MotoServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_on_moto_passes_the_large_plan_conformance_case() {
    let moto = MotoServer::start_serial();
    let store = DynamoStore::new(moto.client(), "doorstep-large-plans");
    store.ensure_table().await.expect("create the table");
    large_plans::run_large_plans(|| async { store.clone() }).await;
}

fn string(value: &AttributeValue) -> &str {
    value.as_s().map(String::as_str).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_plan_keeps_only_its_live_parts_after_updates() {
    let moto = MotoServer::start_serial();
    let store = DynamoStore::new(moto.client(), "doorstep-plan-parts");
    store.ensure_table().await.expect("create the table");
    let business = sample_business("org-a");
    store.import_business(&business).await.expect("import");
    let mut plan = large_plans::large_plan(&business, &[]);
    store.create_plan(&plan).await.expect("create");
    for version in 2..=4 {
        plan.routes.rotate_left(1);
        plan.version = version;
        store.update_plan(&plan, version - 1).await.expect("update");
    }
    let stale = store.update_plan(&plan, 1).await.expect_err("stale");
    assert!(matches!(stale, doorstep_core::StoreError::VersionConflict { .. }), "{stale:?}");

    let header = store
        .client()
        .get_item()
        .table_name(store.table())
        .key("PK", AttributeValue::S("ORG#org-a".into()))
        .key("SK", AttributeValue::S("PLAN#pln-big".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get header")
        .item
        .expect("header");
    assert!(!header.contains_key("body"), "a large plan's header holds no body");
    let parts: usize = header["parts"].as_n().expect("parts").parse().expect("count");
    let generation = string(&header["gen"]).to_owned();
    assert!(parts >= 3, "a 5,000-stop plan takes several parts, found {parts}");
    // Pages of at most 1 MB: a few parts each.
    let mut stored = Vec::new();
    let mut start = None;
    loop {
        let page = store
            .client()
            .query()
            .table_name(store.table())
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S("ORG#org-a".into()))
            .expression_attribute_values(":prefix", AttributeValue::S("PLANPART#pln-big#".into()))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("query parts");
        stored.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    let keys: Vec<&str> = stored.iter().map(|i| string(&i["SK"])).collect();
    assert_eq!(keys.len(), parts, "only the live generation's parts remain: {keys:?}");
    assert!(keys.iter().all(|k| k.starts_with(&format!("PLANPART#pln-big#{generation}#"))), "{keys:?}");
    assert!(store.get_plan(&plan.org_id, &plan.id).await.expect("read") == plan, "the last update reads back identical");
}
