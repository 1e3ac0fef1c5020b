//! Depots, vehicles, drivers and the organisation's record, written one at a
//! time. Keys as imported (`ORG#{org}` / `DEPOT#{id}`, `VEHICLE#{id}`,
//! `DRIVER#{id}`, `ORG`). New items: a transaction that checks the
//! organisation exists and puts with `attribute_not_exists(PK)`. Updates:
//! a consistent read, the decoded record compared with what the caller
//! expects, then a `PutItem` conditional on `body` still being the text read
//! (other attributes, e.g. `seq` or the organisation's GSI1 keys, are kept).

use doorstep_core::StoreError;
use doorstep_domain::OrgId;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::DynamoStore;
use crate::item::{BODY, body, get_s, item, key, org_pk, s, to_json};
use crate::tx::{Cond, OnFail, Tx};

impl DynamoStore {
    pub(crate) async fn create_owned<T: Serialize>(
        &self,
        org: &OrgId,
        kind: &'static str,
        prefix: &str,
        id: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let mut tx = Tx::new(&self.table);
        // The organisation first, as SQLite's foreign key is checked.
        tx.check(key(org_pk(org), "ORG"), Cond::exists(), OnFail::Missing { kind: "organisation", id: org.to_string() })?;
        let new = item(org_pk(org), format!("{prefix}{id}"), [(BODY, s(to_json(value)?))]);
        tx.put(new, Cond::not_exists(), OnFail::Exists { kind, id: id.to_owned() })?;
        match self.transact(tx).await? {
            Ok(()) => Ok(()),
            Err(refused) => Err(self.refusal(refused).await),
        }
    }

    /// Replaces the item at (`ORG#{org}`, `sk`) if it decodes to `expected`.
    pub(crate) async fn update_if_unchanged<T: Serialize + DeserializeOwned + PartialEq>(
        &self,
        org: &OrgId,
        kind: &'static str,
        sk: String,
        id: &str,
        value: &T,
        expected: &T,
    ) -> Result<(), StoreError> {
        let conflict = || StoreError::VersionConflict { kind, id: id.to_owned(), expected: 0, actual: 0 };
        let Some(mut stored) = self.get(key(org_pk(org), sk)).await? else {
            return Err(StoreError::NotFound { kind, id: id.to_owned() });
        };
        if body::<T>(&stored)? != *expected {
            return Err(conflict());
        }
        let read = get_s(&stored, BODY)?.to_owned();
        stored.insert(BODY.to_owned(), s(to_json(value)?));
        let cond = Cond::new("#b = :read").name("#b", BODY).value(":read", s(read));
        match self.put_if(stored, cond).await? {
            Ok(()) => Ok(()),
            Err(Some(_)) => Err(conflict()),
            Err(None) => Err(StoreError::NotFound { kind, id: id.to_owned() }),
        }
    }
}
