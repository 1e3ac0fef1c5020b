//! The `Store` port on SQLite. One connection behind a mutex is plenty for a
//! one-machine business; every call runs on tokio's blocking pool so the async
//! handlers never stall on disk.

mod fleet;
mod migrations;
mod notify;
mod outbox;
mod reports;
mod pod;
mod slots;
mod tracking;

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use doorstep_core::ports::{
    ApiKeyRecord, BusinessSnapshot, IdempotencyRecord, KeyPage, OrdersWrite, PlanFilter, PlanPublication, SignInGrant,
    Store, StoreError, TrackingLink, UserAccount,
};
use doorstep_domain::api::OrderQuery;
use doorstep_domain::auth::Role;
use doorstep_domain::{Depot, Driver, DriverId, Order, OrderId, OrgId, Organisation, Plan, PlanId, StopId, Vehicle};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
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

    async fn organisation(&self, org: &OrgId) -> Result<Organisation, StoreError> {
        let org = org.clone();
        self.with_conn(move |conn| {
            let body: Option<String> = conn
                .query_row("SELECT body FROM organisations WHERE id = ?1", [org.as_str()], |r| r.get(0))
                .optional()
                .map_err(unavailable)?;
            match body {
                Some(b) => from_json(&b),
                None => Err(StoreError::NotFound { kind: "organisation", id: org.to_string() }),
            }
        })
        .await
    }

    async fn list_depots(&self, org: &OrgId) -> Result<Vec<Depot>, StoreError> {
        let org = org.clone();
        self.with_conn(move |conn| list_owned(conn, "depots", org.as_str())).await
    }

    async fn list_vehicles(&self, org: &OrgId) -> Result<Vec<Vehicle>, StoreError> {
        let org = org.clone();
        self.with_conn(move |conn| list_owned(conn, "vehicles", org.as_str())).await
    }

    async fn list_drivers(&self, org: &OrgId) -> Result<Vec<Driver>, StoreError> {
        let org = org.clone();
        self.with_conn(move |conn| list_owned(conn, "drivers", org.as_str())).await
    }

    async fn get_driver(&self, org: &OrgId, id: &DriverId) -> Result<Driver, StoreError> {
        let (org, id) = (org.clone(), id.clone());
        self.with_conn(move |conn| get_owned(conn, "drivers", "driver", org.as_str(), id.as_str())).await
    }

    async fn get_depot(&self, org: &OrgId, id: &doorstep_domain::DepotId) -> Result<Depot, StoreError> {
        let (org, id) = (org.clone(), id.clone());
        self.with_conn(move |conn| get_owned(conn, "depots", "depot", org.as_str(), id.as_str())).await
    }

    async fn get_vehicle(&self, org: &OrgId, id: &doorstep_domain::VehicleId) -> Result<Vehicle, StoreError> {
        let (org, id) = (org.clone(), id.clone());
        self.with_conn(move |conn| get_owned(conn, "vehicles", "vehicle", org.as_str(), id.as_str())).await
    }

    async fn create_depot(&self, depot: &Depot) -> Result<(), StoreError> {
        let d = depot.clone();
        self.with_conn(move |conn| fleet::create_owned(conn, "depots", "depot", d.org_id.as_str(), d.id.as_str(), &d)).await
    }

    async fn update_depot(&self, depot: &Depot, expected: &Depot) -> Result<(), StoreError> {
        let (d, e) = (depot.clone(), expected.clone());
        self.with_conn(move |conn| fleet::update_owned(conn, "depots", "depot", d.org_id.as_str(), d.id.as_str(), &d, &e)).await
    }

    async fn create_vehicle(&self, vehicle: &Vehicle) -> Result<(), StoreError> {
        let v = vehicle.clone();
        self.with_conn(move |conn| fleet::create_owned(conn, "vehicles", "vehicle", v.org_id.as_str(), v.id.as_str(), &v)).await
    }

    async fn update_vehicle(&self, vehicle: &Vehicle, expected: &Vehicle) -> Result<(), StoreError> {
        let (v, e) = (vehicle.clone(), expected.clone());
        self.with_conn(move |conn| fleet::update_owned(conn, "vehicles", "vehicle", v.org_id.as_str(), v.id.as_str(), &v, &e)).await
    }

    async fn create_driver(&self, driver: &Driver) -> Result<(), StoreError> {
        let d = driver.clone();
        self.with_conn(move |conn| fleet::create_owned(conn, "drivers", "driver", d.org_id.as_str(), d.id.as_str(), &d)).await
    }

    async fn update_driver(&self, driver: &Driver, expected: &Driver) -> Result<(), StoreError> {
        let (d, e) = (driver.clone(), expected.clone());
        self.with_conn(move |conn| fleet::update_owned(conn, "drivers", "driver", d.org_id.as_str(), d.id.as_str(), &d, &e)).await
    }

    async fn update_organisation(&self, organisation: &Organisation, expected: &Organisation) -> Result<(), StoreError> {
        let (o, e) = (organisation.clone(), expected.clone());
        self.with_conn(move |conn| fleet::update_organisation(conn, &o, &e)).await
    }

    async fn create_user(&self, user: &UserAccount) -> Result<(), StoreError> {
        let user = user.clone();
        self.with_conn(move |conn| {
            let result = conn.execute(
                "INSERT INTO users (id, org_id, email, name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![user.id, user.org_id.as_str(), user.email, user.name, user.role.as_str(), user.password_hash, ts(user.created_at)?],
            );
            match result {
                Ok(_) => Ok(()),
                Err(e) if is_constraint(&e) => {
                    let org_exists = conn
                        .query_row("SELECT 1 FROM organisations WHERE id = ?1", [user.org_id.as_str()], |_| Ok(()))
                        .optional()
                        .map_err(unavailable)?;
                    if org_exists.is_none() {
                        Err(StoreError::NotFound { kind: "organisation", id: user.org_id.to_string() })
                    } else {
                        Err(StoreError::AlreadyExists { kind: "user", id: user.email.clone() })
                    }
                }
                Err(e) => Err(unavailable(e)),
            }
        })
        .await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserAccount>, StoreError> {
        let email = email.to_owned();
        self.with_conn(move |conn| {
            conn.query_row(
                "SELECT id, org_id, email, name, role, password_hash, created_at FROM users WHERE email = ?1",
                [email],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                    ))
                },
            )
            .optional()
            .map_err(unavailable)?
            .map(|(id, org, email, name, role, password_hash, created_at)| {
                Ok(UserAccount {
                    id,
                    org_id: org_id(&org)?,
                    email,
                    name,
                    role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("unknown role {role:?}")))?,
                    password_hash,
                    created_at: parse_ts(&created_at)?,
                })
            })
            .transpose()
        })
        .await
    }

    async fn put_sign_in_grant(&self, grant: &SignInGrant) -> Result<(), StoreError> {
        let grant = grant.clone();
        self.with_conn(move |conn| {
            let result = conn.execute(
                "INSERT OR REPLACE INTO sign_in_grants (org_id, driver_id, token_hash, pin_hash, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![grant.org_id.as_str(), grant.driver_id.as_str(), grant.token_hash, grant.pin_hash, ts(grant.expires_at)?],
            );
            match result {
                Ok(_) => Ok(()),
                Err(e) if is_constraint(&e) => Err(StoreError::NotFound { kind: "driver", id: grant.driver_id.to_string() }),
                Err(e) => Err(unavailable(e)),
            }
        })
        .await
    }

    async fn take_sign_in_grant(&self, lookup_hash: &str, now: OffsetDateTime) -> Result<Option<SignInGrant>, StoreError> {
        let hash = lookup_hash.to_owned();
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            let row = tx
                .query_row(
                    "SELECT org_id, driver_id, token_hash, pin_hash, expires_at FROM sign_in_grants WHERE token_hash = ?1 OR pin_hash = ?1",
                    [&hash],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?)),
                )
                .optional()
                .map_err(unavailable)?;
            let Some((org, driver, token_hash, pin_hash, expires_at)) = row else {
                return Ok(None);
            };
            // One use only, whether or not it is still valid.
            tx.execute("DELETE FROM sign_in_grants WHERE org_id = ?1 AND driver_id = ?2", params![org, driver]).map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            let grant = SignInGrant {
                org_id: org_id(&org)?,
                driver_id: DriverId::new(driver).map_err(corrupt)?,
                token_hash,
                pin_hash,
                expires_at: parse_ts(&expires_at)?,
            };
            Ok((grant.expires_at > now).then_some(grant))
        })
        .await
    }

    async fn create_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let key = key.clone();
        self.with_conn(move |conn| {
            let result = conn.execute(
                "INSERT INTO api_keys (org_id, id, name, secret_hash, created_at, revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![key.org_id.as_str(), key.id, key.name, key.secret_hash, ts(key.created_at)?, key.revoked],
            );
            match result {
                Ok(_) => Ok(()),
                Err(e) if is_constraint(&e) => Err(StoreError::AlreadyExists { kind: "API key", id: key.id.clone() }),
                Err(e) => Err(unavailable(e)),
            }
        })
        .await
    }

    async fn api_key_by_hash(&self, secret_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let hash = secret_hash.to_owned();
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare("SELECT org_id, id, name, secret_hash, created_at, revoked FROM api_keys WHERE secret_hash = ?1")
                .map_err(unavailable)?;
            let rows = read_api_keys(&mut stmt, [hash])?;
            Ok(rows.into_iter().next())
        })
        .await
    }

    async fn list_api_keys(&self, org: &OrgId) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let org = org.clone();
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare("SELECT org_id, id, name, secret_hash, created_at, revoked FROM api_keys WHERE org_id = ?1 ORDER BY id")
                .map_err(unavailable)?;
            read_api_keys(&mut stmt, [org.as_str()])
        })
        .await
    }

    async fn revoke_api_key(&self, org: &OrgId, id: &str) -> Result<(), StoreError> {
        let (org, id) = (org.clone(), id.to_owned());
        self.with_conn(move |conn| {
            let n = conn
                .execute("UPDATE api_keys SET revoked = 1 WHERE org_id = ?1 AND id = ?2", params![org.as_str(), id])
                .map_err(unavailable)?;
            if n == 0 { Err(StoreError::NotFound { kind: "API key", id }) } else { Ok(()) }
        })
        .await
    }

    async fn bump_counter(&self, key: &str, now: OffsetDateTime, expires_at: OffsetDateTime) -> Result<u64, StoreError> {
        let key = key.to_owned();
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            // Expired counters are swept here; DynamoDB's TTL does the same there.
            tx.execute("DELETE FROM counters WHERE expires_at <= ?1", [now.unix_timestamp()]).map_err(unavailable)?;
            let count: i64 = tx
                .query_row(
                    "INSERT INTO counters (key, count, expires_at) VALUES (?1, 1, ?2)
                     ON CONFLICT (key) DO UPDATE SET count = count + 1 RETURNING count",
                    params![key, expires_at.unix_timestamp()],
                    |r| r.get(0),
                )
                .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok(u64::try_from(count).unwrap_or(0))
        })
        .await
    }

    async fn counter(&self, key: &str, now: OffsetDateTime) -> Result<u64, StoreError> {
        let key = key.to_owned();
        self.with_conn(move |conn| {
            let count: Option<i64> = conn
                .query_row("SELECT count FROM counters WHERE key = ?1 AND expires_at > ?2", params![key, now.unix_timestamp()], |r| r.get(0))
                .optional()
                .map_err(unavailable)?;
            Ok(count.map_or(0, |c| u64::try_from(c).unwrap_or(0)))
        })
        .await
    }

    async fn create_orders(
        &self,
        org: &OrgId,
        orders: &[Order],
        record: Option<&IdempotencyRecord>,
    ) -> Result<OrdersWrite, StoreError> {
        // The slot-holding write with no holds: the same transaction, one copy.
        match self.write_orders_holding(org, orders, record, &[]).await? {
            doorstep_core::ports::HeldOrdersWrite::Written => Ok(OrdersWrite::Written),
            doorstep_core::ports::HeldOrdersWrite::AlreadyRecorded(existing) => Ok(OrdersWrite::AlreadyRecorded(existing)),
            doorstep_core::ports::HeldOrdersWrite::SlotFull { order_id } => {
                Err(StoreError::Corrupt(format!("order {order_id} was refused a slot although no slot was held")))
            }
        }
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
        let (org, key, hash, body) = (org.clone(), key.to_owned(), request_hash.to_owned(), body.to_owned());
        self.with_conn(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE idempotency SET status = ?4, body = ?5 WHERE org_id = ?1 AND key = ?2 AND request_hash = ?3",
                    params![org.as_str(), key, hash, status, body],
                )
                .map_err(unavailable)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn idempotency_record(&self, org: &OrgId, key: &str, now: OffsetDateTime) -> Result<Option<IdempotencyRecord>, StoreError> {
        let (org, key) = (org.clone(), key.to_owned());
        self.with_conn(move |conn| Ok(read_idempotency(conn, &org, &key)?.filter(|r| r.expires_at > now))).await
    }

    async fn get_order(&self, org: &OrgId, id: &OrderId) -> Result<Order, StoreError> {
        let (org, id) = (org.clone(), id.clone());
        self.with_conn(move |conn| get_owned(conn, "orders", "order", org.as_str(), id.as_str())).await
    }

    async fn get_orders(&self, org: &OrgId, ids: &[OrderId]) -> Result<Vec<Order>, StoreError> {
        let (org, ids) = (org.clone(), ids.to_vec());
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT body FROM orders WHERE org_id = ?1 AND id = ?2").map_err(unavailable)?;
            let mut found = Vec::with_capacity(ids.len());
            for id in &ids {
                let body: Option<String> =
                    stmt.query_row(params![org.as_str(), id.as_str()], |r| r.get(0)).optional().map_err(unavailable)?;
                if let Some(b) = body {
                    found.push(from_json(&b)?);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn list_orders(
        &self,
        org: &OrgId,
        query: &OrderQuery,
        after: Option<&OrderId>,
        limit: u32,
    ) -> Result<KeyPage<Order, OrderId>, StoreError> {
        let (org, query, after) = (org.clone(), query.clone(), after.map(|a| a.to_string()).unwrap_or_default());
        let limit = limit.max(1) as usize;
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT id, body FROM orders WHERE org_id = ?1 AND id > ?2 ORDER BY id LIMIT 500")
                .map_err(unavailable)?;
            let mut items: Vec<Order> = Vec::new();
            let mut cursor = after;
            loop {
                let rows = stmt
                    .query_map(params![org.as_str(), cursor], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                    .map_err(unavailable)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(unavailable)?;
                let exhausted = rows.len() < 500;
                for (id, body) in rows {
                    cursor = id;
                    let order: Order = from_json(&body)?;
                    if query.matches(&order) {
                        items.push(order);
                        if items.len() == limit {
                            let next = items.last().map(|o| o.id.clone());
                            return Ok(KeyPage { items, next });
                        }
                    }
                }
                if exhausted {
                    return Ok(KeyPage { items, next: None });
                }
            }
        })
        .await
    }

    async fn update_order(&self, order: &Order, expected_version: u64) -> Result<(), StoreError> {
        let order = order.clone();
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            conditional_order_update(&tx, &order, expected_version)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn create_plan(&self, plan: &Plan) -> Result<(), StoreError> {
        let plan = plan.clone();
        self.with_conn(move |conn| {
            let result = conn.execute(
                "INSERT INTO plans (org_id, id, date, status, version, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![plan.org_id.as_str(), plan.id.as_str(), plan.date.to_string(), plan_status(&plan), sql_int(plan.version), to_json(&plan)?],
            );
            match result {
                Ok(_) => Ok(()),
                Err(e) if is_constraint(&e) => Err(StoreError::AlreadyExists { kind: "plan", id: plan.id.to_string() }),
                Err(e) => Err(unavailable(e)),
            }
        })
        .await
    }

    async fn get_plan(&self, org: &OrgId, id: &PlanId) -> Result<Plan, StoreError> {
        let (org, id) = (org.clone(), id.clone());
        self.with_conn(move |conn| get_owned(conn, "plans", "plan", org.as_str(), id.as_str())).await
    }

    async fn list_plans(
        &self,
        org: &OrgId,
        filter: &PlanFilter,
        after: Option<&PlanId>,
        limit: u32,
    ) -> Result<KeyPage<Plan, PlanId>, StoreError> {
        let (org, filter, after) = (org.clone(), filter.clone(), after.map(|a| a.to_string()).unwrap_or_default());
        let limit = limit.max(1);
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT body FROM plans WHERE org_id = ?1 AND (?2 IS NULL OR date = ?2) AND (?3 = 0 OR status = 'published')
                     AND id > ?4 ORDER BY id LIMIT ?5",
                )
                .map_err(unavailable)?;
            let bodies = stmt
                .query_map(params![org.as_str(), filter.date.map(|d| d.to_string()), filter.published_only, after, limit], |r| {
                    r.get::<_, String>(0)
                })
                .map_err(unavailable)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(unavailable)?;
            let items = bodies.iter().map(|b| from_json(b)).collect::<Result<Vec<Plan>, _>>()?;
            let next = (items.len() == limit as usize).then(|| items.last().map(|p| p.id.clone())).flatten();
            Ok(KeyPage { items, next })
        })
        .await
    }

    async fn update_plan(&self, plan: &Plan, expected_version: u64) -> Result<(), StoreError> {
        let plan = plan.clone();
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            conditional_plan_update(&tx, &plan, expected_version)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn publish_plan(&self, publication: &PlanPublication) -> Result<(), StoreError> {
        let publication = publication.clone();
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            let plan = &publication.plan;
            conditional_plan_update(&tx, plan, publication.expected_version)?;
            for update in &publication.orders {
                if update.order.org_id != plan.org_id {
                    return Err(StoreError::Corrupt(format!("order {} is not in {}", update.order.id, plan.org_id)));
                }
                conditional_order_update(&tx, &update.order, update.expected_version)?;
            }
            for link in &publication.tracking {
                let result = tx.execute(
                    "INSERT INTO tracking_links (token_hash, org_id, plan_id, stop_id, order_id, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![link.token_hash, link.org_id.as_str(), link.plan_id.as_str(), link.stop_id.as_str(), link.order_id.as_str(), ts(link.expires_at)?],
                );
                match result {
                    Ok(_) => {}
                    Err(e) if is_constraint(&e) => return Err(StoreError::AlreadyExists { kind: "tracking link", id: link.stop_id.to_string() }),
                    Err(e) => return Err(unavailable(e)),
                }
            }
            outbox::insert(&tx, &publication.outbox)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn tracking_link(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<TrackingLink>, StoreError> {
        let hash = token_hash.to_owned();
        self.with_conn(move |conn| {
            let row = conn
                .query_row(
                    "SELECT token_hash, org_id, plan_id, stop_id, order_id, expires_at FROM tracking_links WHERE token_hash = ?1",
                    [hash],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, String>(5)?,
                        ))
                    },
                )
                .optional()
                .map_err(unavailable)?;
            let Some((token_hash, org, plan, stop, order, expires_at)) = row else { return Ok(None) };
            let link = TrackingLink {
                token_hash,
                org_id: org_id(&org)?,
                plan_id: PlanId::new(plan).map_err(corrupt)?,
                stop_id: StopId::new(stop).map_err(corrupt)?,
                order_id: OrderId::new(order).map_err(corrupt)?,
                expires_at: parse_ts(&expires_at)?,
            };
            Ok((link.expires_at > now).then_some(link))
        })
        .await
    }
}

/// Inserts an item owned by an organisation; a duplicate id aborts the transaction.
pub(crate) fn insert_owned<T: Serialize>(
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

fn get_owned<T: DeserializeOwned>(conn: &Connection, table: &'static str, kind: &'static str, org_id: &str, id: &str) -> Result<T, StoreError> {
    let sql = format!("SELECT body FROM {table} WHERE org_id = ?1 AND id = ?2");
    let body: Option<String> = conn.query_row(&sql, params![org_id, id], |r| r.get(0)).optional().map_err(unavailable)?;
    match body {
        Some(b) => from_json(&b),
        None => Err(StoreError::NotFound { kind, id: id.to_string() }),
    }
}

/// Replaces an order only if the stored one is at `expected` (the SQL twin of
/// DynamoDB's `ConditionExpression: version = :expected`).
fn conditional_order_update(tx: &Transaction<'_>, order: &Order, expected: u64) -> Result<(), StoreError> {
    let n = tx
        .execute(
            "UPDATE orders SET body = ?3 WHERE org_id = ?1 AND id = ?2 AND json_extract(body, '$.version') = ?4",
            params![order.org_id.as_str(), order.id.as_str(), to_json(order)?, sql_int(expected)],
        )
        .map_err(unavailable)?;
    if n == 1 {
        return Ok(());
    }
    let actual: Option<i64> = tx
        .query_row(
            "SELECT json_extract(body, '$.version') FROM orders WHERE org_id = ?1 AND id = ?2",
            params![order.org_id.as_str(), order.id.as_str()],
            |r| r.get(0),
        )
        .optional()
        .map_err(unavailable)?;
    Err(match actual {
        None => StoreError::NotFound { kind: "order", id: order.id.to_string() },
        Some(actual) => StoreError::VersionConflict {
            kind: "order",
            id: order.id.to_string(),
            expected,
            actual: u64::try_from(actual).unwrap_or(0),
        },
    })
}

fn conditional_plan_update(tx: &Transaction<'_>, plan: &Plan, expected: u64) -> Result<(), StoreError> {
    let n = tx
        .execute(
            "UPDATE plans SET body = ?3, status = ?4, version = ?5, date = ?6 WHERE org_id = ?1 AND id = ?2 AND version = ?7",
            params![plan.org_id.as_str(), plan.id.as_str(), to_json(plan)?, plan_status(plan), sql_int(plan.version), plan.date.to_string(), sql_int(expected)],
        )
        .map_err(unavailable)?;
    if n == 1 {
        return Ok(());
    }
    let actual: Option<i64> = tx
        .query_row("SELECT version FROM plans WHERE org_id = ?1 AND id = ?2", params![plan.org_id.as_str(), plan.id.as_str()], |r| r.get(0))
        .optional()
        .map_err(unavailable)?;
    Err(match actual {
        None => StoreError::NotFound { kind: "plan", id: plan.id.to_string() },
        Some(actual) => StoreError::VersionConflict {
            kind: "plan",
            id: plan.id.to_string(),
            expected,
            actual: u64::try_from(actual).unwrap_or(0),
        },
    })
}

fn plan_status(plan: &Plan) -> &'static str {
    match plan.status {
        doorstep_domain::plan::PlanStatus::Draft => "draft",
        doorstep_domain::plan::PlanStatus::Published => "published",
    }
}

fn read_idempotency(conn: &Connection, org: &OrgId, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
    let row = conn
        .query_row(
            "SELECT request_hash, status, body, created_at, expires_at FROM idempotency WHERE org_id = ?1 AND key = ?2",
            params![org.as_str(), key],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, u16>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?)),
        )
        .optional()
        .map_err(unavailable)?;
    row.map(|(request_hash, status, body, created_at, expires_at)| {
        Ok(IdempotencyRecord {
            org_id: org.clone(),
            key: key.to_owned(),
            request_hash,
            status,
            body,
            created_at: parse_ts(&created_at)?,
            expires_at: parse_ts(&expires_at)?,
        })
    })
    .transpose()
}

fn read_api_keys<P: rusqlite::Params>(stmt: &mut rusqlite::Statement<'_>, params: P) -> Result<Vec<ApiKeyRecord>, StoreError> {
    let rows = stmt
        .query_map(params, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, bool>(5)?,
            ))
        })
        .map_err(unavailable)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(unavailable)?;
    rows.into_iter()
        .map(|(org, id, name, secret_hash, created_at, revoked)| {
            Ok(ApiKeyRecord { id, org_id: org_id(&org)?, name, secret_hash, created_at: parse_ts(&created_at)?, revoked })
        })
        .collect()
}

fn is_constraint(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

fn ts(t: OffsetDateTime) -> Result<String, StoreError> {
    t.format(&Rfc3339).map_err(|e| StoreError::Corrupt(format!("cannot encode instant: {e}")))
}

fn parse_ts(s: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| StoreError::Corrupt(format!("bad stored instant {s:?}: {e}")))
}

fn org_id(s: &str) -> Result<OrgId, StoreError> {
    OrgId::new(s).map_err(corrupt)
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn sql_int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
