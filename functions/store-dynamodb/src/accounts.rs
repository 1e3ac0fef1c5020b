//! Accounts and credentials: users, driver sign-in grants, API keys, and
//! the counters behind sign-in rate limits.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use doorstep_core::StoreError;
use doorstep_core::ports::{ApiKeyRecord, SignInGrant, UserAccount};
use doorstep_domain::auth::Role;
use doorstep_domain::{DriverId, OrgId};
use time::OffsetDateTime;

use crate::DynamoStore;
use crate::item::{EXPIRES_AT, Item, PK, corrupt, expiry, get_bool, get_s, get_time, get_u64, item, key, n, org_id, org_pk, s, ts};
use crate::ops::unavailable;
use crate::tx::{Cond, OnFail, Tx};

/// Attempts when a concurrent writer changed what we read first.
const RETRIES: usize = 5;

fn user_key(email: &str) -> Item {
    key(format!("USER#{email}"), "USER")
}

fn grant_owner_key(org: &OrgId, driver: &DriverId) -> Item {
    key(org_pk(org), format!("SIGNIN#{driver}"))
}

fn grant_lookup_key(hash: &str) -> Item {
    key(format!("SIGNIN#{hash}"), "SIGNIN")
}

fn api_key_owner_key(org: &OrgId, id: &str) -> Item {
    key(org_pk(org), format!("APIKEY#{id}"))
}

fn api_key_lookup_key(hash: &str) -> Item {
    key(format!("APIKEY#{hash}"), "APIKEY")
}

fn counter_key(name: &str) -> Item {
    key(format!("RATE#{name}"), "RATE")
}

/// Every grant item (owner and both lookups) carries the whole grant, so
/// one read of a lookup is enough to take it.
fn grant_item(k: Item, grant: &SignInGrant) -> Result<Item, StoreError> {
    let mut item = k;
    item.extend(
        [
            ("org", s(grant.org_id.as_str())),
            ("driver", s(grant.driver_id.as_str())),
            ("token_hash", s(grant.token_hash.clone())),
            ("pin_hash", s(grant.pin_hash.clone())),
        ]
        .into_iter()
        .chain(expiry(grant.expires_at)?)
        .map(|(k, v)| (k.to_owned(), v)),
    );
    Ok(item)
}

fn read_grant(item: &Item) -> Result<SignInGrant, StoreError> {
    Ok(SignInGrant {
        org_id: org_id(get_s(item, "org")?)?,
        driver_id: DriverId::new(get_s(item, "driver")?).map_err(corrupt)?,
        token_hash: get_s(item, "token_hash")?.to_owned(),
        pin_hash: get_s(item, "pin_hash")?.to_owned(),
        expires_at: get_time(item, crate::item::EXPIRES)?,
    })
}

/// Owner and lookup items of an API key hold the same attributes.
fn api_key_item(k: Item, record: &ApiKeyRecord) -> Result<Item, StoreError> {
    let mut item = k;
    item.extend(
        [
            ("org", s(record.org_id.as_str())),
            ("id", s(record.id.clone())),
            ("name", s(record.name.clone())),
            ("secret_hash", s(record.secret_hash.clone())),
            ("created_at", s(ts(record.created_at)?)),
            ("revoked", AttributeValue::Bool(record.revoked)),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    Ok(item)
}

fn read_api_key(item: &Item) -> Result<ApiKeyRecord, StoreError> {
    Ok(ApiKeyRecord {
        id: get_s(item, "id")?.to_owned(),
        org_id: org_id(get_s(item, "org")?)?,
        name: get_s(item, "name")?.to_owned(),
        secret_hash: get_s(item, "secret_hash")?.to_owned(),
        created_at: get_time(item, "created_at")?,
        revoked: get_bool(item, "revoked")?,
    })
}

impl DynamoStore {
    pub(crate) async fn put_user(&self, user: &UserAccount) -> Result<(), StoreError> {
        let k = user_key(&user.email);
        let attrs = [
            ("org", s(user.org_id.as_str())),
            ("id", s(user.id.clone())),
            ("email", s(user.email.clone())),
            ("name", s(user.name.clone())),
            ("role", s(user.role.as_str())),
            ("password_hash", s(user.password_hash.clone())),
            ("created_at", s(ts(user.created_at)?)),
        ];
        let mut tx = Tx::new(&self.table);
        // The organisation is checked first, as SQLite's foreign key is.
        tx.check(key(org_pk(&user.org_id), "ORG"), Cond::exists(), OnFail::Missing { kind: "organisation", id: user.org_id.to_string() })?;
        let mut user_item = k;
        user_item.extend(attrs.map(|(k, v)| (k.to_owned(), v)));
        tx.put(user_item, Cond::not_exists(), OnFail::Exists { kind: "user", id: user.email.clone() })?;
        match self.transact(tx).await? {
            Ok(()) => Ok(()),
            Err(refused) => Err(self.refusal(refused).await),
        }
    }

    pub(crate) async fn read_user(&self, email: &str) -> Result<Option<UserAccount>, StoreError> {
        let Some(item) = self.get(user_key(email)).await? else { return Ok(None) };
        let role = get_s(&item, "role")?;
        Ok(Some(UserAccount {
            id: get_s(&item, "id")?.to_owned(),
            org_id: org_id(get_s(&item, "org")?)?,
            email: get_s(&item, "email")?.to_owned(),
            name: get_s(&item, "name")?.to_owned(),
            role: Role::parse(role).ok_or_else(|| StoreError::Corrupt(format!("unknown role {role:?}")))?,
            password_hash: get_s(&item, "password_hash")?.to_owned(),
            created_at: get_time(&item, "created_at")?,
        }))
    }

    /// One transaction writes the owner item and both lookups, deletes the
    /// previous grant's lookups and checks the driver exists. The owner's
    /// condition is the grant we read, so two concurrent writers cannot
    /// both win and leave stray lookups behind.
    pub(crate) async fn write_grant(&self, grant: &SignInGrant) -> Result<(), StoreError> {
        let owner = grant_owner_key(&grant.org_id, &grant.driver_id);
        for _ in 0..RETRIES {
            let previous = self.get(owner.clone()).await?;
            let mut tx = Tx::new(&self.table);
            tx.check(
                key(org_pk(&grant.org_id), format!("DRIVER#{}", grant.driver_id)),
                Cond::exists(),
                OnFail::Missing { kind: "driver", id: grant.driver_id.to_string() },
            )?;
            let owner_cond = match &previous {
                Some(old) => Cond::new("#t = :t").name("#t", "token_hash").value(":t", s(get_s(old, "token_hash")?)),
                None => Cond::not_exists(),
            };
            tx.put(grant_item(owner.clone(), grant)?, owner_cond, OnFail::Retry)?;
            let mut new_hashes = vec![grant.token_hash.as_str()];
            if grant.pin_hash != grant.token_hash {
                new_hashes.push(&grant.pin_hash);
            }
            for hash in &new_hashes {
                tx.put(grant_item(grant_lookup_key(hash), grant)?, Cond::none(), OnFail::Retry)?;
            }
            if let Some(old) = &previous {
                let mut old_hashes = vec![get_s(old, "token_hash")?, get_s(old, "pin_hash")?];
                old_hashes.dedup();
                // One transaction may not touch an item twice.
                for hash in old_hashes.into_iter().filter(|h| !new_hashes.contains(h)) {
                    tx.delete(grant_lookup_key(hash), Cond::none(), OnFail::Retry)?;
                }
            }
            match self.transact(tx).await? {
                Ok(()) => return Ok(()),
                Err(refused) if matches!(refused.on_fail, OnFail::Retry) => continue,
                Err(refused) => return Err(self.refusal(refused).await),
            }
        }
        Err(StoreError::Unavailable("the driver's sign-in codes kept changing; try again".into()))
    }

    /// Deletes the grant (owner and both lookups) in one transaction whose
    /// conditions fail if anyone took or replaced it first: then `None`.
    pub(crate) async fn take_grant(&self, lookup_hash: &str, now: OffsetDateTime) -> Result<Option<SignInGrant>, StoreError> {
        let Some(lookup) = self.get(grant_lookup_key(lookup_hash)).await? else { return Ok(None) };
        let grant = read_grant(&lookup)?;
        let mut tx = Tx::new(&self.table);
        let same_grant = Cond::new("#t = :t AND #p = :p")
            .name("#t", "token_hash")
            .name("#p", "pin_hash")
            .value(":t", s(grant.token_hash.clone()))
            .value(":p", s(grant.pin_hash.clone()));
        tx.delete(grant_owner_key(&grant.org_id, &grant.driver_id), same_grant, OnFail::Retry)?;
        tx.delete(grant_lookup_key(&grant.token_hash), Cond::exists(), OnFail::Retry)?;
        if grant.pin_hash != grant.token_hash {
            tx.delete(grant_lookup_key(&grant.pin_hash), Cond::exists(), OnFail::Retry)?;
        }
        match self.transact(tx).await? {
            // One use only, whether or not it is still valid.
            Ok(()) => Ok((grant.expires_at > now).then_some(grant)),
            Err(_) => Ok(None),
        }
    }

    pub(crate) async fn put_api_key(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        let mut tx = Tx::new(&self.table);
        tx.check(key(org_pk(&record.org_id), "ORG"), Cond::exists(), OnFail::Missing { kind: "organisation", id: record.org_id.to_string() })?;
        let taken = OnFail::Exists { kind: "API key", id: record.id.clone() };
        tx.put(api_key_item(api_key_owner_key(&record.org_id, &record.id), record)?, Cond::not_exists(), taken.clone())?;
        tx.put(api_key_item(api_key_lookup_key(&record.secret_hash), record)?, Cond::not_exists(), taken)?;
        match self.transact(tx).await? {
            Ok(()) => Ok(()),
            Err(refused) => Err(self.refusal(refused).await),
        }
    }

    pub(crate) async fn read_api_key(&self, secret_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.get(api_key_lookup_key(secret_hash)).await?.as_ref().map(read_api_key).transpose()
    }

    pub(crate) async fn api_keys(&self, org: &OrgId) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.query_prefix(org_pk(org), "APIKEY#").await?.iter().map(read_api_key).collect()
    }

    pub(crate) async fn revoke_key(&self, org: &OrgId, id: &str) -> Result<(), StoreError> {
        let not_found = || StoreError::NotFound { kind: "API key", id: id.to_owned() };
        let owner = api_key_owner_key(org, id);
        let Some(item) = self.get(owner.clone()).await? else { return Err(not_found()) };
        let record = read_api_key(&item)?;
        let revoke = Cond::new("SET #r = :yes").name("#r", "revoked").value(":yes", AttributeValue::Bool(true));
        let gone = OnFail::Missing { kind: "API key", id: id.to_owned() };
        let mut tx = Tx::new(&self.table);
        tx.update(owner, revoke.clone(), Cond::exists(), gone.clone())?;
        tx.update(api_key_lookup_key(&record.secret_hash), revoke, Cond::exists(), gone)?;
        match self.transact(tx).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(not_found()),
        }
    }

    /// Adds one in a single `UpdateItem` while the counter is live; an
    /// expired one (TTL has not caught up) is replaced by a fresh count of 1.
    pub(crate) async fn bump(&self, name: &str, now: OffsetDateTime, expires_at: OffsetDateTime) -> Result<u64, StoreError> {
        let now_s = now.unix_timestamp();
        for _ in 0..RETRIES {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(counter_key(name)))
                .update_expression("SET #c = if_not_exists(#c, :zero) + :one, #e = if_not_exists(#e, :end)")
                .condition_expression("attribute_not_exists(#pk) OR #e > :now")
                .expression_attribute_names("#c", "count")
                .expression_attribute_names("#e", EXPIRES_AT)
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":end", n(expires_at.unix_timestamp()))
                .expression_attribute_values(":now", n(now_s))
                .return_values(ReturnValue::UpdatedNew)
                .send()
                .await;
            match result {
                Ok(out) => {
                    let attrs = out.attributes.unwrap_or_default();
                    return get_u64(&attrs, "count");
                }
                Err(e) if matches!(e.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_))) => {
                    let fresh = item(format!("RATE#{name}"), "RATE", [("count", n(1)), (EXPIRES_AT, n(expires_at.unix_timestamp()))]);
                    let expired = Cond::new("#e <= :now").name("#e", EXPIRES_AT).value(":now", n(now_s));
                    if self.put_if(fresh, expired).await?.is_ok() {
                        return Ok(1);
                    }
                    // Someone else restarted it first: count on theirs.
                }
                Err(e) => return Err(unavailable(e)),
            }
        }
        Err(StoreError::Unavailable(format!("counter {name} kept changing; try again")))
    }

    pub(crate) async fn read_counter(&self, name: &str, now: OffsetDateTime) -> Result<u64, StoreError> {
        let Some(item) = self.get(counter_key(name)).await? else { return Ok(0) };
        // Counters expire on whole seconds, as in SQLite.
        if i64::try_from(get_u64(&item, EXPIRES_AT)?).unwrap_or(i64::MAX) <= now.unix_timestamp() {
            return Ok(0);
        }
        get_u64(&item, "count")
    }
}

