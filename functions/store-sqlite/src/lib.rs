//! The `Store` port on SQLite. One connection behind a mutex is plenty for a
//! one-machine business; every call runs on tokio's blocking pool so the async
//! handlers never stall on disk.

mod migrations;

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use doorstep_core::ports::{BusinessSnapshot, Store, StoreError};
use doorstep_domain::{OrgId, Organisation};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(|e| {
            StoreError::Unavailable(format!("cannot open SQLite database {}: {e}", path.display()))
        })?;
        Self::init(conn)
    }

    /// A private database that vanishes with the value; for tests.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(unavailable)?;
        Self::init(conn)
    }

    fn init(mut conn: Connection) -> Result<Self, StoreError> {
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;",
        )
        .map_err(unavailable)?;
        migrations::apply(&mut conn).map_err(unavailable)?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    async fn with_conn<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Unavailable("SQLite connection lock poisoned".into()))?;
            work(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}")))?
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(())).map_err(unavailable)
        })
        .await
    }

    async fn import_business(&self, business: &BusinessSnapshot) -> Result<(), StoreError> {
        let business = business.clone();
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            let org = &business.organisation;
            let exists: Option<i64> = tx
                .query_row("SELECT 1 FROM organisations WHERE id = ?1", [org.id.as_str()], |r| r.get(0))
                .optional()
                .map_err(unavailable)?;
            if exists.is_some() {
                return Err(StoreError::AlreadyExists { kind: "organisation", id: org.id.to_string() });
            }
            tx.execute(
                "INSERT INTO organisations (id, body) VALUES (?1, ?2)",
                params![org.id.as_str(), to_json(org)?],
            )
            .map_err(unavailable)?;
            let org_id = org.id.as_str();
            for depot in &business.depots {
                insert_owned(&tx, "depots", "depot", org_id, depot.id.as_str(), depot)?;
            }
            for vehicle in &business.vehicles {
                insert_owned(&tx, "vehicles", "vehicle", org_id, vehicle.id.as_str(), vehicle)?;
            }
            for driver in &business.drivers {
                insert_owned(&tx, "drivers", "driver", org_id, driver.id.as_str(), driver)?;
            }
            for order in &business.orders {
                insert_owned(&tx, "orders", "order", org_id, order.id.as_str(), order)?;
            }
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn list_organisations(&self) -> Result<Vec<Organisation>, StoreError> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare("SELECT body FROM organisations ORDER BY id").map_err(unavailable)?;
            let bodies = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(unavailable)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(unavailable)?;
            bodies.iter().map(|b| from_json(b)).collect()
        })
        .await
    }

    async fn business(&self, org: &OrgId) -> Result<BusinessSnapshot, StoreError> {
        let org = org.clone();
        self.with_conn(move |conn| {
            let body: Option<String> = conn
                .query_row("SELECT body FROM organisations WHERE id = ?1", [org.as_str()], |r| r.get(0))
                .optional()
                .map_err(unavailable)?;
            let Some(body) = body else {
                return Err(StoreError::NotFound { kind: "organisation", id: org.to_string() });
            };
            Ok(BusinessSnapshot {
                organisation: from_json(&body)?,
                depots: list_owned(conn, "depots", org.as_str())?,
                drivers: list_owned(conn, "drivers", org.as_str())?,
                vehicles: list_owned(conn, "vehicles", org.as_str())?,
                orders: list_owned(conn, "orders", org.as_str())?,
            })
        })
        .await
    }
}

/// Inserts an item owned by an organisation; a duplicate id aborts the transaction.
fn insert_owned<T: Serialize>(
    tx: &Transaction<'_>,
    table: &'static str,
    kind: &'static str,
    org_id: &str,
    id: &str,
    item: &T,
) -> Result<(), StoreError> {
    let sql = format!("INSERT INTO {table} (org_id, id, body) VALUES (?1, ?2, ?3)");
    match tx.execute(&sql, params![org_id, id, to_json(item)?]) {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
            Err(StoreError::AlreadyExists { kind, id: id.to_string() })
        }
        Err(e) => Err(unavailable(e)),
    }
}

fn list_owned<T: DeserializeOwned>(conn: &Connection, table: &'static str, org_id: &str) -> Result<Vec<T>, StoreError> {
    // Insertion order (rowid) keeps the sequence the business was imported in.
    let sql = format!("SELECT body FROM {table} WHERE org_id = ?1 ORDER BY rowid");
    let mut stmt = conn.prepare(&sql).map_err(unavailable)?;
    let bodies = stmt
        .query_map([org_id], |r| r.get::<_, String>(0))
        .map_err(unavailable)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(unavailable)?;
    bodies.iter().map(|b| from_json(b)).collect()
}

fn to_json<T: Serialize>(item: &T) -> Result<String, StoreError> {
    serde_json::to_string(item).map_err(|e| StoreError::Corrupt(format!("cannot encode item: {e}")))
}

fn from_json<T: DeserializeOwned>(body: &str) -> Result<T, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError::Corrupt(format!("cannot decode stored item: {e}")))
}

fn unavailable(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}
