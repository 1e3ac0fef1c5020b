//! The `Store` port on one DynamoDB table, laid out as ARCHITECTURE.md (DynamoDB key design)
//! describes: every item under `PK`/`SK`, one GSI (`GSI1`), conditional
//! writes for versions and uniqueness, `TransactWriteItems` for writes that
//! must not be partial, and `expires_at` TTL attributes that every read
//! re-checks (TTL deletion lags).

mod accounts;
mod business;
mod fleet;
mod item;
#[cfg(feature = "moto")]
pub mod moto;
mod notify;
mod ops;
mod orders;
mod outbox;
mod plans;
mod pod;
mod reports;
mod slots;
mod table;
mod tracking;
mod tx;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use doorstep_core::ports::{
    ApiKeyRecord, BusinessSnapshot, IdempotencyRecord, KeyPage, OrdersWrite, PlanFilter, PlanPublication, SignInGrant,
    Store, StoreError, TrackingLink, UserAccount,
};
use doorstep_domain::api::OrderQuery;
use doorstep_domain::{Depot, Driver, DriverId, Order, OrderId, OrgId, Organisation, Plan, PlanId, Vehicle};
use time::OffsetDateTime;

/// Environment variable naming the table; `doorstep` when unset.
pub const TABLE_ENV: &str = "DOORSTEP_TABLE";
pub const DEFAULT_TABLE: &str = "doorstep";

/// The DynamoDB store. Cheap to clone (the SDK client is shared).
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl std::fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoStore").field("table", &self.table).finish_non_exhaustive()
    }
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// Configured the way the AWS SDKs are (`AWS_REGION`, credentials,
    /// `AWS_ENDPOINT_URL` for a local DynamoDB) and the table from
    /// `DOORSTEP_TABLE`.
    pub async fn from_env() -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let table = std::env::var(TABLE_ENV).ok().filter(|t| !t.trim().is_empty()).unwrap_or_else(|| DEFAULT_TABLE.to_owned());
        Self::new(Client::new(&config), table)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

#[async_trait]
impl Store for DynamoStore {
    fn backend(&self) -> &'static str {
        "dynamodb"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // A read of a key that never exists proves the table answers.
        self.get(item::key("PING", "PING")).await.map(|_| ())
    }

    async fn import_business(&self, business: &BusinessSnapshot) -> Result<(), StoreError> {
        self.import(business).await
    }

    async fn list_organisations(&self) -> Result<Vec<Organisation>, StoreError> {
        self.organisations().await
    }

    async fn business(&self, org: &OrgId) -> Result<BusinessSnapshot, StoreError> {
        self.read_business(org).await
    }

    async fn organisation(&self, org: &OrgId) -> Result<Organisation, StoreError> {
        self.read_organisation(org).await
    }

    async fn list_depots(&self, org: &OrgId) -> Result<Vec<Depot>, StoreError> {
        self.list_kind(org, "DEPOT#").await
    }

    async fn list_vehicles(&self, org: &OrgId) -> Result<Vec<Vehicle>, StoreError> {
        self.list_kind(org, "VEHICLE#").await
    }

    async fn list_drivers(&self, org: &OrgId) -> Result<Vec<Driver>, StoreError> {
        self.list_kind(org, "DRIVER#").await
    }

    async fn get_driver(&self, org: &OrgId, id: &DriverId) -> Result<Driver, StoreError> {
        self.get_owned(org, "driver", "DRIVER#", id.as_str()).await
    }

    async fn get_depot(&self, org: &OrgId, id: &doorstep_domain::DepotId) -> Result<Depot, StoreError> {
        self.get_owned(org, "depot", "DEPOT#", id.as_str()).await
    }

    async fn get_vehicle(&self, org: &OrgId, id: &doorstep_domain::VehicleId) -> Result<Vehicle, StoreError> {
        self.get_owned(org, "vehicle", "VEHICLE#", id.as_str()).await
    }

    async fn create_depot(&self, depot: &Depot) -> Result<(), StoreError> {
        self.create_owned(&depot.org_id, "depot", "DEPOT#", depot.id.as_str(), depot).await
    }

    async fn update_depot(&self, depot: &Depot, expected: &Depot) -> Result<(), StoreError> {
        self.update_if_unchanged(&depot.org_id, "depot", format!("DEPOT#{}", depot.id), depot.id.as_str(), depot, expected).await
    }

    async fn create_vehicle(&self, vehicle: &Vehicle) -> Result<(), StoreError> {
        self.create_owned(&vehicle.org_id, "vehicle", "VEHICLE#", vehicle.id.as_str(), vehicle).await
    }

    async fn update_vehicle(&self, vehicle: &Vehicle, expected: &Vehicle) -> Result<(), StoreError> {
        self.update_if_unchanged(&vehicle.org_id, "vehicle", format!("VEHICLE#{}", vehicle.id), vehicle.id.as_str(), vehicle, expected).await
    }

    async fn create_driver(&self, driver: &Driver) -> Result<(), StoreError> {
        self.create_owned(&driver.org_id, "driver", "DRIVER#", driver.id.as_str(), driver).await
    }

    async fn update_driver(&self, driver: &Driver, expected: &Driver) -> Result<(), StoreError> {
        self.update_if_unchanged(&driver.org_id, "driver", format!("DRIVER#{}", driver.id), driver.id.as_str(), driver, expected).await
    }

    async fn update_organisation(&self, organisation: &Organisation, expected: &Organisation) -> Result<(), StoreError> {
        if organisation.id != expected.id {
            return Err(StoreError::VersionConflict { kind: "organisation", id: organisation.id.to_string(), expected: 0, actual: 0 });
        }
        self.update_if_unchanged(&organisation.id, "organisation", "ORG".to_owned(), organisation.id.as_str(), organisation, expected).await
    }

    async fn create_user(&self, user: &UserAccount) -> Result<(), StoreError> {
        self.put_user(user).await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserAccount>, StoreError> {
        self.read_user(email).await
    }

    async fn put_sign_in_grant(&self, grant: &SignInGrant) -> Result<(), StoreError> {
        self.write_grant(grant).await
    }

    async fn take_sign_in_grant(&self, lookup_hash: &str, now: OffsetDateTime) -> Result<Option<SignInGrant>, StoreError> {
        self.take_grant(lookup_hash, now).await
    }

    async fn create_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        self.put_api_key(key).await
    }

    async fn api_key_by_hash(&self, secret_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.read_api_key(secret_hash).await
    }

    async fn list_api_keys(&self, org: &OrgId) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.api_keys(org).await
    }

    async fn revoke_api_key(&self, org: &OrgId, id: &str) -> Result<(), StoreError> {
        self.revoke_key(org, id).await
    }

    async fn bump_counter(&self, key: &str, now: OffsetDateTime, expires_at: OffsetDateTime) -> Result<u64, StoreError> {
        self.bump(key, now, expires_at).await
    }

    async fn counter(&self, key: &str, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.read_counter(key, now).await
    }

    async fn create_orders(
        &self,
        org: &OrgId,
        orders: &[Order],
        record: Option<&IdempotencyRecord>,
    ) -> Result<OrdersWrite, StoreError> {
        self.write_orders(org, orders, record).await
    }

    async fn create_orders_holding(
        &self,
        org: &OrgId,
        orders: &[Order],
        record: Option<&IdempotencyRecord>,
        holds: &[doorstep_core::ports::SlotHold],
    ) -> Result<doorstep_core::ports::HeldOrdersWrite, StoreError> {
        self.write_orders_holding(org, orders, record, holds).await
    }

    async fn slot_counts(&self, org: &OrgId, date: time::Date) -> Result<Vec<doorstep_core::ports::SlotCount>, StoreError> {
        self.read_slot_counts(org, date).await
    }

    async fn slot_hold(&self, org: &OrgId, order: &OrderId) -> Result<Option<doorstep_core::ports::SlotHold>, StoreError> {
        self.read_slot_hold(org, order).await
    }

    async fn release_slot(&self, org: &OrgId, order: &OrderId) -> Result<bool, StoreError> {
        self.release_slot_hold(org, order).await
    }

    async fn replace_idempotency_answer(&self, org: &OrgId, key: &str, request_hash: &str, status: u16, body: &str) -> Result<bool, StoreError> {
        self.replace_answer(org, key, request_hash, status, body).await
    }

    async fn idempotency_record(&self, org: &OrgId, key: &str, now: OffsetDateTime) -> Result<Option<IdempotencyRecord>, StoreError> {
        match self.read_record(org, key, now).await? {
            orders::Recorded::Complete(record) => Ok(Some(record)),
            // A write still in progress has no answer to replay yet.
            orders::Recorded::Pending | orders::Recorded::Absent => Ok(None),
        }
    }

    async fn get_order(&self, org: &OrgId, id: &OrderId) -> Result<Order, StoreError> {
        self.get_owned(org, "order", "ORDER#", id.as_str()).await
    }

    async fn get_orders(&self, org: &OrgId, ids: &[OrderId]) -> Result<Vec<Order>, StoreError> {
        self.read_orders(org, ids).await
    }

    async fn list_orders(
        &self,
        org: &OrgId,
        query: &OrderQuery,
        after: Option<&OrderId>,
        limit: u32,
    ) -> Result<KeyPage<Order, OrderId>, StoreError> {
        self.order_page(org, query, after, limit).await
    }

    async fn update_order(&self, order: &Order, expected_version: u64) -> Result<(), StoreError> {
        self.replace_order(order, expected_version).await
    }

    async fn create_plan(&self, plan: &Plan) -> Result<(), StoreError> {
        self.put_plan(plan).await
    }

    async fn get_plan(&self, org: &OrgId, id: &PlanId) -> Result<Plan, StoreError> {
        self.read_plan(org, id).await
    }

    async fn list_plans(
        &self,
        org: &OrgId,
        filter: &PlanFilter,
        after: Option<&PlanId>,
        limit: u32,
    ) -> Result<KeyPage<Plan, PlanId>, StoreError> {
        self.plan_page(org, filter, after, limit).await
    }

    async fn update_plan(&self, plan: &Plan, expected_version: u64) -> Result<(), StoreError> {
        self.replace_plan(plan, expected_version).await
    }

    async fn publish_plan(&self, publication: &PlanPublication) -> Result<(), StoreError> {
        self.publish(publication).await
    }

    async fn tracking_link(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<TrackingLink>, StoreError> {
        self.read_tracking_link(token_hash, now).await
    }
}
