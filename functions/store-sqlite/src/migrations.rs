//! Schema migrations, applied in order and recorded in `PRAGMA user_version`.
//! Never edit a shipped migration: append a new one.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: organisations and what they own, stored as JSON documents keyed like the
    // DynamoDB single table (org, id) so both adapters read and write alike.
    "CREATE TABLE organisations (id TEXT PRIMARY KEY, body TEXT NOT NULL);
     CREATE TABLE depots (org_id TEXT NOT NULL REFERENCES organisations(id), id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (org_id, id));
     CREATE TABLE vehicles (org_id TEXT NOT NULL REFERENCES organisations(id), id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (org_id, id));
     CREATE TABLE drivers (org_id TEXT NOT NULL REFERENCES organisations(id), id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (org_id, id));
     CREATE TABLE orders (org_id TEXT NOT NULL REFERENCES organisations(id), id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (org_id, id));",
];

pub fn apply(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: usize = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
