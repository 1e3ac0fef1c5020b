use async_trait::async_trait;
use doorstep_domain::api::OrderQuery;
use doorstep_domain::auth::Role;
use doorstep_domain::{Depot, DepotId, Driver, DriverId, Order, OrderId, OrgId, Organisation, Plan, PlanId, StopId, Vehicle, VehicleId};
use time::{Date, OffsetDateTime};

use super::OutboxEntry;
use super::{HeldOrdersWrite, SlotCount, SlotHold};

/// Everything one organisation has set up, written or read as a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessSnapshot {
    pub organisation: Organisation,
    pub depots: Vec<Depot>,
    pub drivers: Vec<Driver>,
    pub vehicles: Vec<Vehicle>,
    pub orders: Vec<Order>,
}

/// A person who signs in with email and password (dispatchers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAccount {
    pub id: String,
    pub org_id: OrgId,
    /// Lower case; unique across all organisations (it is the login name).
    pub email: String,
    pub name: String,
    pub role: Role,
    /// PHC string (argon2id), never the password.
    pub password_hash: String,
    pub created_at: OffsetDateTime,
}

/// A driver's one-time sign-in grant, found by either lookup hash. Using one
/// way consumes both; issuing a new grant replaces the driver's previous one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInGrant {
    pub org_id: OrgId,
    pub driver_id: DriverId,
    /// SHA-256 of the link token.
    pub token_hash: String,
    /// SHA-256 of org, driver and PIN.
    pub pin_hash: String,
    pub expires_at: OffsetDateTime,
}

/// An organisation's integration key. Only a hash of the secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub org_id: OrgId,
    pub name: String,
    pub secret_hash: String,
    pub created_at: OffsetDateTime,
    pub revoked: bool,
}

/// The stored answer to a request made with an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub org_id: OrgId,
    pub key: String,
    /// SHA-256 of the operation and its canonical body: a different body under
    /// the same key is refused.
    pub request_hash: String,
    pub status: u16,
    /// The JSON response body, byte for byte.
    pub body: String,
    pub created_at: OffsetDateTime,
    /// After this the key may be reused (DynamoDB TTL attribute `expires_at`).
    pub expires_at: OffsetDateTime,
}

/// What [`Store::create_orders`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrdersWrite {
    /// The orders (and the idempotency record, if any) are now stored.
    Written,
    /// The key already had a record (possibly a different request): nothing
    /// was written; the caller compares `request_hash`.
    AlreadyRecorded(IdempotencyRecord),
}

/// Where a customer's tracking token leads. Keyed by the token's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingLink {
    pub token_hash: String,
    pub org_id: OrgId,
    pub plan_id: PlanId,
    pub stop_id: StopId,
    pub order_id: OrderId,
    pub expires_at: OffsetDateTime,
}

/// An order as it will be written, and the version it must still have.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderUpdate {
    pub order: Order,
    pub expected_version: u64,
}

/// Everything publishing a plan writes, all or nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanPublication {
    /// The plan, already marked published.
    pub plan: Plan,
    pub expected_version: u64,
    pub orders: Vec<OrderUpdate>,
    pub tracking: Vec<TrackingLink>,
    /// One `dispatched` entry per order, written with the rest (transactional outbox).
    pub outbox: Vec<OutboxEntry>,
}

/// One page of a keyed list: `next` is the last key returned when more may follow.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPage<T, K> {
    pub items: Vec<T>,
    pub next: Option<K>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlanFilter {
    pub date: Option<Date>,
    /// Only published plans (a driver's view).
    pub published_only: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{kind} {id} already exists")]
    AlreadyExists { kind: &'static str, id: String },
    #[error("{kind} {id} was not found")]
    NotFound { kind: &'static str, id: String },
    /// A conditional write found another version: someone changed it first.
    #[error("{kind} {id} is at version {actual}, not {expected}")]
    VersionConflict { kind: &'static str, id: String, expected: u64, actual: u64 },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
}

/// The storage port. Adapters: SQLite (embedded default) and DynamoDB. Both pass
/// the shared conformance suite in `doorstep-store-conformance`.
///
/// Every method maps onto single-table DynamoDB operations (see
/// `ARCHITECTURE.md (DynamoDB key design)`): reads by key or `Query` on a partition, and
/// multi-item writes as conditional `TransactWriteItems`. Everything an
/// organisation owns is read and written with its `OrgId`, so a caller can
/// never reach another tenant's items.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Short name of the adapter, shown by `/api/health`.
    fn backend(&self) -> &'static str;

    /// Cheap round trip that proves the store answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Writes a whole business at once: all of it or, on any error, none of it.
    /// Fails with `AlreadyExists` if the organisation is already there.
    async fn import_business(&self, business: &BusinessSnapshot) -> Result<(), StoreError>;

    async fn list_organisations(&self) -> Result<Vec<Organisation>, StoreError>;

    /// The organisation and everything it owns, or `NotFound`.
    async fn business(&self, org: &OrgId) -> Result<BusinessSnapshot, StoreError>;

    async fn organisation(&self, org: &OrgId) -> Result<Organisation, StoreError>;
    async fn list_depots(&self, org: &OrgId) -> Result<Vec<Depot>, StoreError>;
    async fn list_vehicles(&self, org: &OrgId) -> Result<Vec<Vehicle>, StoreError>;
    async fn list_drivers(&self, org: &OrgId) -> Result<Vec<Driver>, StoreError>;
    async fn get_driver(&self, org: &OrgId, id: &DriverId) -> Result<Driver, StoreError>;

    // --- fleet and settings (written one at a time by dispatchers) ---------
    //
    // Fleet records carry no version number (imports and the demo write them
    // as plain JSON), so updates are conditional on the record being exactly
    // what the caller read: `expected`. Someone else's change in between is a
    // `VersionConflict` with `expected` and `actual` both 0.

    async fn get_depot(&self, org: &OrgId, id: &DepotId) -> Result<Depot, StoreError>;
    async fn get_vehicle(&self, org: &OrgId, id: &VehicleId) -> Result<Vehicle, StoreError>;
    /// Adds a depot to its organisation: `NotFound` (kind `organisation`) if
    /// that is missing, `AlreadyExists` if the id is taken.
    async fn create_depot(&self, depot: &Depot) -> Result<(), StoreError>;
    /// Replaces the depot if it still equals `expected`; `NotFound` if absent.
    async fn update_depot(&self, depot: &Depot, expected: &Depot) -> Result<(), StoreError>;
    async fn create_vehicle(&self, vehicle: &Vehicle) -> Result<(), StoreError>;
    async fn update_vehicle(&self, vehicle: &Vehicle, expected: &Vehicle) -> Result<(), StoreError>;
    async fn create_driver(&self, driver: &Driver) -> Result<(), StoreError>;
    async fn update_driver(&self, driver: &Driver, expected: &Driver) -> Result<(), StoreError>;
    /// Replaces the organisation's record if it still equals `expected`.
    async fn update_organisation(&self, organisation: &Organisation, expected: &Organisation) -> Result<(), StoreError>;

    // --- accounts and credentials ---------------------------------------

    /// `AlreadyExists` (kind `user`) if the email is taken in any organisation.
    async fn create_user(&self, user: &UserAccount) -> Result<(), StoreError>;
    async fn user_by_email(&self, email: &str) -> Result<Option<UserAccount>, StoreError>;

    /// Stores the grant, replacing the driver's previous one.
    async fn put_sign_in_grant(&self, grant: &SignInGrant) -> Result<(), StoreError>;
    /// Deletes and returns the unexpired grant with this token or PIN hash;
    /// `None` if there is none (or it expired). A grant is taken at most once.
    async fn take_sign_in_grant(&self, lookup_hash: &str, now: OffsetDateTime) -> Result<Option<SignInGrant>, StoreError>;

    async fn create_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    async fn api_key_by_hash(&self, secret_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError>;
    async fn list_api_keys(&self, org: &OrgId) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// `NotFound` if the organisation has no such key.
    async fn revoke_api_key(&self, org: &OrgId, id: &str) -> Result<(), StoreError>;

    /// Adds one to the counter `key` (created with expiry `expires_at` if new,
    /// or if the old one expired) and returns the new count. Atomic.
    async fn bump_counter(&self, key: &str, now: OffsetDateTime, expires_at: OffsetDateTime) -> Result<u64, StoreError>;
    /// The counter's value, 0 if absent or expired.
    async fn counter(&self, key: &str, now: OffsetDateTime) -> Result<u64, StoreError>;

    // --- orders -----------------------------------------------------------

    /// Writes new orders of `org` and, when given, the idempotency record, in
    /// one transaction. If the record's key is already recorded (and unexpired
    /// at `record.created_at`), writes nothing and returns the stored record.
    /// `AlreadyExists` if an order id is taken; nothing is written then.
    async fn create_orders(
        &self,
        org: &OrgId,
        orders: &[Order],
        record: Option<&IdempotencyRecord>,
    ) -> Result<OrdersWrite, StoreError>;

    /// Like [`Store::create_orders`], and in the same transaction each hold
    /// and its slot counter raised by one, each counter only while it stays
    /// within the hold's capacity. A full slot writes nothing and names the
    /// first order refused (`SlotFull`). At most 40 holds per call (one
    /// DynamoDB transaction holds the orders, holds and counters).
    async fn create_orders_holding(
        &self,
        org: &OrgId,
        orders: &[Order],
        record: Option<&IdempotencyRecord>,
        holds: &[SlotHold],
    ) -> Result<HeldOrdersWrite, StoreError>;

    /// The day's slot counters (only those ever raised).
    async fn slot_counts(&self, org: &OrgId, date: Date) -> Result<Vec<SlotCount>, StoreError>;

    /// The order's slot hold, if it has one.
    async fn slot_hold(&self, org: &OrgId, order: &OrderId) -> Result<Option<SlotHold>, StoreError>;

    /// Deletes the order's hold and lowers its counter by one, at once;
    /// `false` (and nothing written) if it held no slot.
    async fn release_slot(&self, org: &OrgId, order: &OrderId) -> Result<bool, StoreError>;

    /// The unexpired record for `key`, if any.
    async fn idempotency_record(&self, org: &OrgId, key: &str, now: OffsetDateTime) -> Result<Option<IdempotencyRecord>, StoreError>;
    /// Replaces the stored answer under `key` with `status` and `body` when
    /// the record is complete and was made by the request `request_hash`, so
    /// that replays repeat the final answer (auto-dispatch changes it after
    /// the write). `false` when there is no such record or its answer cannot
    /// be rewritten in place (DynamoDB answers stored in parts).
    async fn replace_idempotency_answer(&self, org: &OrgId, key: &str, request_hash: &str, status: u16, body: &str) -> Result<bool, StoreError>;

    async fn get_order(&self, org: &OrgId, id: &OrderId) -> Result<Order, StoreError>;
    /// The orders of `org` among `ids` that exist, in no particular order.
    async fn get_orders(&self, org: &OrgId, ids: &[OrderId]) -> Result<Vec<Order>, StoreError>;
    /// Orders matching the query's filters (paging fields ignored) in id
    /// order, after `after`, at most `limit`.
    async fn list_orders(
        &self,
        org: &OrgId,
        query: &OrderQuery,
        after: Option<&OrderId>,
        limit: u32,
    ) -> Result<KeyPage<Order, OrderId>, StoreError>;
    /// Replaces the order if it is still at `expected_version`, else `VersionConflict`.
    async fn update_order(&self, order: &Order, expected_version: u64) -> Result<(), StoreError>;

    // --- plans ------------------------------------------------------------

    async fn create_plan(&self, plan: &Plan) -> Result<(), StoreError>;
    async fn get_plan(&self, org: &OrgId, id: &PlanId) -> Result<Plan, StoreError>;
    /// Plans in id order (ids sort by creation time), after `after`.
    async fn list_plans(
        &self,
        org: &OrgId,
        filter: &PlanFilter,
        after: Option<&PlanId>,
        limit: u32,
    ) -> Result<KeyPage<Plan, PlanId>, StoreError>;
    /// Replaces the plan if it is still at `expected_version`, else `VersionConflict`.
    async fn update_plan(&self, plan: &Plan, expected_version: u64) -> Result<(), StoreError>;
    /// Writes the published plan, its orders and tracking links at once, each
    /// conditional on its expected version; on any conflict nothing is written.
    async fn publish_plan(&self, publication: &PlanPublication) -> Result<(), StoreError>;
    /// The unexpired link for a tracking token's hash.
    async fn tracking_link(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<TrackingLink>, StoreError>;
}
