//! Creating the single table: keys, GSI1, on-demand capacity and TTL.

use std::time::Duration;

use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use doorstep_core::StoreError;

use crate::DynamoStore;
use crate::item::{EXPIRES_AT, GSI1, GSI1PK, GSI1SK, PK, SK};
use crate::ops::unavailable;
use crate::tx::build_request;

impl DynamoStore {
    /// Creates the table as ARCHITECTURE.md (DynamoDB key design) describes it, unless it
    /// exists already, waits until it is active, and turns TTL on for
    /// `expires_at`. Safe to run on every deployment and in every test.
    pub async fn ensure_table(&self) -> Result<(), StoreError> {
        let key = |name: &str, kind: KeyType| build_request(KeySchemaElement::builder().attribute_name(name).key_type(kind).build());
        let attr = |name: &str| {
            build_request(AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build())
        };
        let gsi1 = build_request(
            GlobalSecondaryIndex::builder()
                .index_name(GSI1)
                .key_schema(key(GSI1PK, KeyType::Hash)?)
                .key_schema(key(GSI1SK, KeyType::Range)?)
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build(),
        )?;
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr(PK)?)
            .attribute_definitions(attr(SK)?)
            .attribute_definitions(attr(GSI1PK)?)
            .attribute_definitions(attr(GSI1SK)?)
            .key_schema(key(PK, KeyType::Hash)?)
            .key_schema(key(SK, KeyType::Range)?)
            .global_secondary_indexes(gsi1)
            .send()
            .await;
        match created {
            Ok(_) => tracing::info!(table = %self.table, "created the DynamoDB table"),
            Err(e) if matches!(e.as_service_error(), Some(CreateTableError::ResourceInUseException(_))) => {
                tracing::debug!(table = %self.table, "the DynamoDB table exists already");
            }
            Err(e) => return Err(unavailable(e)),
        }
        self.wait_until_active().await?;
        let ttl = self.client.describe_time_to_live().table_name(&self.table).send().await.map_err(unavailable)?;
        let enabled = ttl
            .time_to_live_description()
            .is_some_and(|d| d.attribute_name() == Some(EXPIRES_AT) && d.time_to_live_status().is_some_and(|s| s.as_str() != "DISABLED"));
        if !enabled {
            self.client
                .update_time_to_live()
                .table_name(&self.table)
                .time_to_live_specification(build_request(
                    TimeToLiveSpecification::builder().attribute_name(EXPIRES_AT).enabled(true).build(),
                )?)
                .send()
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    async fn wait_until_active(&self) -> Result<(), StoreError> {
        for _ in 0..120 {
            let described = self.client.describe_table().table_name(&self.table).send().await.map_err(unavailable)?;
            if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(StoreError::Unavailable(format!("table {} did not become active within a minute", self.table)))
    }
}
