//! Organisations and what they own: import, listing and reads by key.

use std::collections::HashSet;

use doorstep_core::StoreError;
use doorstep_core::ports::BusinessSnapshot;
use doorstep_domain::{Depot, Driver, Order, OrgId, Organisation, Vehicle};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::DynamoStore;
use crate::item::{BODY, GSI1PK, GSI1SK, Item, SK, VERSION, body, get_opt_u64, get_s, item, key, n, org_pk, s, to_json};
use crate::tx::OnFail;

/// GSI1 partition listing every organisation (sparse: only ORG items).
pub const ORGS_PARTITION: &str = "ORGS";
/// Position in the imported business, so reads return the import order
/// (SQLite returns rows in insertion order; DynamoDB in key order).
const SEQ: &str = "seq";

pub fn organisation_item(org: &Organisation) -> Result<Item, StoreError> {
    Ok(item(
        org_pk(&org.id),
        "ORG",
        [(BODY, s(to_json(org)?)), (GSI1PK, s(ORGS_PARTITION)), (GSI1SK, s(format!("ORG#{}", org.id)))],
    ))
}

/// An order with its state in GSI1, so `list_orders` by state is a Query.
pub fn order_item(order: &Order) -> Result<Item, StoreError> {
    let state = order.state().as_str();
    Ok(item(
        org_pk(&order.org_id),
        format!("ORDER#{}", order.id),
        [
            (BODY, s(to_json(order)?)),
            (VERSION, n(order.version)),
            ("state", s(state)),
            (GSI1PK, s(format!("ORG#{}#STATE#{state}", order.org_id))),
            (GSI1SK, s(format!("ORDER#{}", order.id))),
        ],
    ))
}

fn owned_item<T: Serialize>(org: &OrgId, prefix: &str, id: &str, value: &T, seq: usize) -> Result<Item, StoreError> {
    Ok(item(org_pk(org), format!("{prefix}{id}"), [(BODY, s(to_json(value)?)), (SEQ, n(seq))]))
}

/// `AlreadyExists` for the first id that appears twice: one transaction
/// may not touch an item twice, so duplicates are refused before writing.
pub fn refuse_duplicates<'a>(kind: &'static str, ids: impl IntoIterator<Item = &'a str>) -> Result<(), StoreError> {
    let mut seen = HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(StoreError::AlreadyExists { kind, id: id.to_owned() });
        }
    }
    Ok(())
}

impl DynamoStore {
    pub(crate) async fn import(&self, business: &BusinessSnapshot) -> Result<(), StoreError> {
        let org = &business.organisation.id;
        refuse_duplicates("depot", business.depots.iter().map(|d| d.id.as_str()))?;
        refuse_duplicates("vehicle", business.vehicles.iter().map(|v| v.id.as_str()))?;
        refuse_duplicates("driver", business.drivers.iter().map(|d| d.id.as_str()))?;
        refuse_duplicates("order", business.orders.iter().map(|o| o.id.as_str()))?;
        let exists = |kind: &'static str, id: &str| OnFail::Exists { kind, id: id.to_owned() };
        let mut puts = vec![(organisation_item(&business.organisation)?, exists("organisation", org.as_str()))];
        for (i, d) in business.depots.iter().enumerate() {
            puts.push((owned_item(org, "DEPOT#", d.id.as_str(), d, i)?, exists("depot", d.id.as_str())));
        }
        for (i, v) in business.vehicles.iter().enumerate() {
            puts.push((owned_item(org, "VEHICLE#", v.id.as_str(), v, i)?, exists("vehicle", v.id.as_str())));
        }
        for (i, d) in business.drivers.iter().enumerate() {
            puts.push((owned_item(org, "DRIVER#", d.id.as_str(), d, i)?, exists("driver", d.id.as_str())));
        }
        for (i, o) in business.orders.iter().enumerate() {
            let mut order = order_item(o)?;
            order.insert(SEQ.to_owned(), n(i));
            puts.push((order, exists("order", o.id.as_str())));
        }
        // The organisation goes first, in the first transaction: a second
        // import of it is refused before anything is written.
        match self.put_new_in_chunks(puts).await? {
            Ok(()) => Ok(()),
            Err(refused) => Err(self.refusal(refused).await),
        }
    }

    pub(crate) async fn organisations(&self) -> Result<Vec<Organisation>, StoreError> {
        self.query_index_all(ORGS_PARTITION.to_owned()).await?.iter().map(body).collect()
    }

    pub(crate) async fn read_organisation(&self, org: &OrgId) -> Result<Organisation, StoreError> {
        match self.get(key(org_pk(org), "ORG")).await? {
            Some(item) => body(&item),
            None => Err(StoreError::NotFound { kind: "organisation", id: org.to_string() }),
        }
    }

    pub(crate) async fn read_business(&self, org: &OrgId) -> Result<BusinessSnapshot, StoreError> {
        let organisation = self.read_organisation(org).await?;
        let (depots, drivers, vehicles, orders) = tokio::try_join!(
            self.list_kind::<Depot>(org, "DEPOT#"),
            self.list_kind::<Driver>(org, "DRIVER#"),
            self.list_kind::<Vehicle>(org, "VEHICLE#"),
            self.list_kind::<Order>(org, "ORDER#"),
        )?;
        Ok(BusinessSnapshot { organisation, depots, drivers, vehicles, orders })
    }

    /// Every item of one kind in import order; later ones after, by id.
    pub(crate) async fn list_kind<T: DeserializeOwned>(&self, org: &OrgId, prefix: &str) -> Result<Vec<T>, StoreError> {
        let items = self.query_prefix(org_pk(org), prefix).await?;
        let mut keyed = items
            .iter()
            .map(|i| Ok((get_opt_u64(i, SEQ)?.unwrap_or(u64::MAX), get_s(i, SK)?.to_owned(), i)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        keyed.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        keyed.into_iter().map(|(_, _, i)| body(i)).collect()
    }

    pub(crate) async fn get_owned<T: DeserializeOwned>(
        &self,
        org: &OrgId,
        kind: &'static str,
        prefix: &str,
        id: &str,
    ) -> Result<T, StoreError> {
        match self.get(key(org_pk(org), format!("{prefix}{id}"))).await? {
            Some(item) => body(&item),
            None => Err(StoreError::NotFound { kind, id: id.to_owned() }),
        }
    }
}
