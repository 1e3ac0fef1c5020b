//! Creating the table: what deployments and every test run rely on.

use doorstep_store_dynamodb::DynamoStore;
use doorstep_store_dynamodb::moto::MotoServer;

#[tokio::test]
async fn ensure_table_is_idempotent_and_turns_on_ttl_for_expires_at() {
    let moto = MotoServer::start();
    let store = DynamoStore::new(moto.client(), "doorstep-table-test");
    store.ensure_table().await.expect("create");
    store.ensure_table().await.expect("a second run finds the table and changes nothing");
    let ttl = store.client().describe_time_to_live().table_name(store.table()).send().await.expect("describe TTL");
    let description = ttl.time_to_live_description().expect("TTL description");
    assert_eq!(description.attribute_name(), Some("expires_at"));
    assert_eq!(description.time_to_live_status().map(|s| s.as_str()), Some("ENABLED"));
    let table = store.client().describe_table().table_name(store.table()).send().await.expect("describe");
    let indexes: Vec<_> = table.table().map(|t| t.global_secondary_indexes().iter().filter_map(|i| i.index_name()).collect()).unwrap_or_default();
    assert_eq!(indexes, vec!["GSI1"]);
}
