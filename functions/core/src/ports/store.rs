use async_trait::async_trait;
use doorstep_domain::{Depot, Driver, Order, OrgId, Organisation, Vehicle};

/// Everything one organisation has set up, written or read as a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessSnapshot {
    pub organisation: Organisation,
    pub depots: Vec<Depot>,
    pub drivers: Vec<Driver>,
    pub vehicles: Vec<Vehicle>,
    pub orders: Vec<Order>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{kind} {id} already exists")]
    AlreadyExists { kind: &'static str, id: String },
    #[error("{kind} {id} was not found")]
    NotFound { kind: &'static str, id: String },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
}

/// The storage port. Adapters: SQLite (embedded default) and DynamoDB. Both pass
/// the shared conformance suite in `doorstep-store-conformance`.
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
}
