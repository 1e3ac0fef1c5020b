//! Plans, publishing them (plan, orders and tracking links at once), and
//! tracking links.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use doorstep_core::StoreError;
use doorstep_core::ports::{KeyPage, OrderUpdate, PlanFilter, PlanPublication, TrackingLink};
use doorstep_domain::plan::PlanStatus;
use doorstep_domain::{Order, OrderId, OrgId, Plan, PlanId, StopId};
use time::OffsetDateTime;

use crate::DynamoStore;
use crate::business::order_item;
use crate::outbox;
use crate::item::{BODY, GSI1PK, GSI1SK, Item, VERSION, corrupt, expiry, get_s, get_time, is_live, item, key, n, org_id, org_pk, s, to_json};
use crate::ops::{MAX_TX_ITEMS, Range, key_of, unavailable};
use crate::tx::{Cond, OnFail, Tx};

/// Attribute holding the token of a large publication in progress.
const LOCK: &str = "publish_lock";
/// Until when (unix seconds) the lock holds, so a publisher that died
/// half-way does not block the plan for ever.
const LOCK_UNTIL: &str = "publish_lock_until";
const LOCK_LEASE_S: i64 = 300;

fn status(plan: &Plan) -> &'static str {
    match plan.status {
        PlanStatus::Draft => "draft",
        PlanStatus::Published => "published",
    }
}

/// A plan, listed by date through GSI1. A `Put` of it replaces the item,
/// which also clears any publication lock.
fn plan_item(plan: &Plan) -> Result<Item, StoreError> {
    Ok(item(
        org_pk(&plan.org_id),
        format!("PLAN#{}", plan.id),
        [
            (BODY, s(to_json(plan)?)),
            (VERSION, n(plan.version)),
            ("status", s(status(plan))),
            (GSI1PK, s(format!("ORG#{}#DATE#{}", plan.org_id, plan.date))),
            (GSI1SK, s(format!("PLAN#{}", plan.id))),
        ],
    ))
}

fn link_key(token_hash: &str) -> Item {
    key(format!("TRACK#{token_hash}"), "TRACK")
}

fn link_item(link: &TrackingLink) -> Result<Item, StoreError> {
    let mut item = link_key(&link.token_hash);
    item.extend(
        [
            ("org", s(link.org_id.as_str())),
            ("plan", s(link.plan_id.as_str())),
            ("stop", s(link.stop_id.as_str())),
            ("order", s(link.order_id.as_str())),
        ]
        .into_iter()
        .chain(expiry(link.expires_at)?)
        .map(|(k, v)| (k.to_owned(), v)),
    );
    Ok(item)
}

/// The plan is at `expected` and no large publication holds it.
fn plan_unlocked_at(expected: u64) -> Cond {
    Cond::new("#v = :expected AND (attribute_not_exists(#lock) OR #until < :now)")
        .name("#v", VERSION)
        .name("#lock", LOCK)
        .name("#until", LOCK_UNTIL)
        .value(":expected", n(expected))
        .value(":now", n(OffsetDateTime::now_utc().unix_timestamp()))
}

impl DynamoStore {
    pub(crate) async fn put_plan(&self, plan: &Plan) -> Result<(), StoreError> {
        match self.put_if(plan_item(plan)?, Cond::not_exists()).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(StoreError::AlreadyExists { kind: "plan", id: plan.id.to_string() }),
        }
    }

    pub(crate) async fn plan_page(
        &self,
        org: &OrgId,
        filter: &PlanFilter,
        after: Option<&PlanId>,
        limit: u32,
    ) -> Result<KeyPage<Plan, PlanId>, StoreError> {
        let range = match filter.date {
            Some(date) => Range { on_index: true, pk: format!("ORG#{org}#DATE#{date}"), prefix: "PLAN#" },
            None => Range { on_index: false, pk: org_pk(org), prefix: "PLAN#" },
        };
        let keep = |p: &Plan| !filter.published_only || p.status == PlanStatus::Published;
        let (items, next) = self.list_page(&range, after.map(PlanId::as_str), limit, filter.published_only, keep).await?;
        let next = next.map(|id| PlanId::new(id).map_err(corrupt)).transpose()?;
        Ok(KeyPage { items, next })
    }

    pub(crate) async fn replace_plan(&self, plan: &Plan, expected: u64) -> Result<(), StoreError> {
        let item = plan_item(plan)?;
        let k = key_of(&item);
        match self.put_if(item, plan_unlocked_at(expected)).await? {
            Ok(()) => Ok(()),
            Err(old) => Err(self.version_conflict("plan", plan.id.to_string(), expected, old, k).await),
        }
    }

    pub(crate) async fn publish(&self, publication: &PlanPublication) -> Result<(), StoreError> {
        let plan = &publication.plan;
        if let Some(stray) = publication.orders.iter().find(|u| u.order.org_id != plan.org_id) {
            return Err(StoreError::Corrupt(format!("order {} is not in {}", stray.order.id, plan.org_id)));
        }
        if 1 + publication.orders.len() + publication.tracking.len() + publication.outbox.len() <= MAX_TX_ITEMS {
            return self.publish_at_once(publication).await;
        }
        self.publish_in_chunks(publication).await
    }

    /// Up to ~30 stops: one transaction, in SQLite's order (plan, orders,
    /// links), so the first refused condition is the one SQLite reports.
    async fn publish_at_once(&self, publication: &PlanPublication) -> Result<(), StoreError> {
        let plan = &publication.plan;
        let mut tx = Tx::new(&self.table);
        let plan_item = plan_item(plan)?;
        let plan_key = key_of(&plan_item);
        tx.put(
            plan_item,
            plan_unlocked_at(publication.expected_version),
            OnFail::Version { kind: "plan", id: plan.id.to_string(), expected: publication.expected_version, key: plan_key },
        )?;
        for update in &publication.orders {
            add_order_update(&mut tx, update)?;
        }
        for link in &publication.tracking {
            tx.put(link_item(link)?, Cond::not_exists(), OnFail::Exists { kind: "tracking link", id: link.stop_id.to_string() })?;
        }
        for entry in &publication.outbox {
            outbox::add(&mut tx, entry)?;
        }
        match self.transact(tx).await? {
            Ok(()) => Ok(()),
            Err(refused) => Err(self.refusal(refused).await),
        }
    }

    /// Larger plans: the orders are checked first, then the plan is locked
    /// (other writers' conditions refuse it), orders and links go in
    /// transactions of 100 (with the outbox entries), and the plan's final `Put` (conditional on our
    /// lock) releases it. A refused chunk undoes the written ones.
    async fn publish_in_chunks(&self, publication: &PlanPublication) -> Result<(), StoreError> {
        let plan = &publication.plan;
        let plan_key = key(org_pk(&plan.org_id), format!("PLAN#{}", plan.id));
        let token = format!("{}-{}", plan.id, OffsetDateTime::now_utc().unix_timestamp_nanos());
        // The plan is checked first, as in SQLite, by taking its lock.
        self.lock_plan(plan, publication.expected_version, &plan_key, &token).await?;
        let ids: Vec<OrderId> = publication.orders.iter().map(|u| u.order.id.clone()).collect();
        let before: HashMap<OrderId, Order> = match self.read_orders(&plan.org_id, &ids).await {
            Ok(orders) => orders.into_iter().map(|o| (o.id.clone(), o)).collect(),
            Err(e) => {
                self.undo_publication(&HashMap::new(), &[], &[], &plan_key, &token).await;
                return Err(e);
            }
        };
        let stale = publication.orders.iter().find_map(|update| match before.get(&update.order.id) {
            None => Some(StoreError::NotFound { kind: "order", id: update.order.id.to_string() }),
            Some(o) if o.version != update.expected_version => Some(StoreError::VersionConflict {
                kind: "order",
                id: o.id.to_string(),
                expected: update.expected_version,
                actual: o.version,
            }),
            Some(_) => None,
        });
        if let Some(error) = stale {
            self.undo_publication(&before, &[], &[], &plan_key, &token).await;
            return Err(error);
        }

        let mut written_orders: Vec<&OrderUpdate> = Vec::new();
        // Keys of the written links and outbox entries, deleted on undo.
        let mut written_keys: Vec<Item> = Vec::new();
        enum Op<'a> {
            Order(&'a OrderUpdate),
            Link(&'a TrackingLink),
            Outbox(&'a doorstep_core::ports::OutboxEntry),
        }
        let ops: Vec<Op<'_>> = publication
            .orders
            .iter()
            .map(Op::Order)
            .chain(publication.tracking.iter().map(Op::Link))
            .chain(publication.outbox.iter().map(Op::Outbox))
            .collect();
        for chunk in ops.chunks(MAX_TX_ITEMS) {
            let mut tx = Tx::new(&self.table);
            for op in chunk {
                match op {
                    Op::Order(update) => add_order_update(&mut tx, update)?,
                    Op::Link(link) => tx.put(
                        link_item(link)?,
                        Cond::not_exists(),
                        OnFail::Exists { kind: "tracking link", id: link.stop_id.to_string() },
                    )?,
                    Op::Outbox(entry) => outbox::add(&mut tx, entry)?,
                }
            }
            let failure = match self.transact(tx).await {
                Ok(Ok(())) => None,
                Ok(Err(refused)) => Some(self.refusal(refused).await),
                Err(e) => Some(e),
            };
            if let Some(error) = failure {
                self.undo_publication(&before, &written_orders, &written_keys, &plan_key, &token).await;
                return Err(error);
            }
            for op in chunk {
                match op {
                    Op::Order(update) => written_orders.push(update),
                    Op::Link(link) => written_keys.push(link_key(&link.token_hash)),
                    Op::Outbox(entry) => written_keys.push(outbox::outbox_key(entry)),
                }
            }
        }
        let ours = Cond::new("#lock = :token").name("#lock", LOCK).value(":token", s(token.clone()));
        match self.put_if(plan_item(plan)?, ours).await {
            Ok(Ok(())) => Ok(()),
            outcome => {
                // Our lease ran out and someone else took the plan.
                self.undo_publication(&before, &written_orders, &written_keys, &plan_key, &token).await;
                outcome?.map_err(|_| StoreError::VersionConflict {
                    kind: "plan",
                    id: plan.id.to_string(),
                    expected: publication.expected_version,
                    actual: publication.expected_version,
                })
            }
        }
    }

    async fn lock_plan(&self, plan: &Plan, expected: u64, plan_key: &Item, token: &str) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let cond = plan_unlocked_at(expected);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(plan_key.clone()))
            .update_expression("SET #lock = :token, #until = :until")
            .set_condition_expression(cond.expr.clone())
            .set_expression_attribute_names(cond.names())
            .set_expression_attribute_values(cond.value(":token", s(token)).value(":until", n(now + LOCK_LEASE_S)).values())
            .return_values_on_condition_check_failure(aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    let old = failed.item().cloned();
                    Err(self.version_conflict("plan", plan.id.to_string(), expected, old, plan_key.clone()).await)
                }
                _ => Err(unavailable(e)),
            },
        }
    }

    /// Puts the orders back as they were read (unless someone changed them
    /// since), deletes the written links and outbox entries and releases the lock. Best effort: every
    /// step is tried and failures are logged.
    async fn undo_publication(
        &self,
        before: &HashMap<OrderId, Order>,
        orders: &[&OrderUpdate],
        written: &[Item],
        plan_key: &Item,
        token: &str,
    ) {
        if !orders.is_empty() || !written.is_empty() {
            tracing::warn!(orders = orders.len(), items = written.len(), "publication refused half-way; undoing it");
        }
        for update in orders {
            let Some(old) = before.get(&update.order.id) else { continue };
            let restored = match order_item(old) {
                Ok(item) => self.put_if(item, Cond::version(update.order.version)).await,
                Err(e) => Err(e),
            };
            if !matches!(restored, Ok(Ok(()))) {
                tracing::error!(order = %update.order.id, "could not restore an order after a refused publication");
            }
        }
        if let Err(e) = self.delete_all(written.to_vec()).await {
            tracing::error!(error = %e, "could not delete the tracking links and outbox entries of a refused publication");
        }
        let released = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(plan_key.clone()))
            .update_expression("REMOVE #lock, #until")
            .condition_expression("#lock = :token")
            .expression_attribute_names("#lock", LOCK)
            .expression_attribute_names("#until", LOCK_UNTIL)
            .expression_attribute_values(":token", s(token))
            .send()
            .await;
        if let Err(e) = released {
            tracing::error!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(&e), "could not release a plan's publication lock");
        }
    }

    pub(crate) async fn read_tracking_link(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<TrackingLink>, StoreError> {
        let Some(item) = self.get(link_key(token_hash)).await? else { return Ok(None) };
        if !is_live(&item, now)? {
            return Ok(None);
        }
        Ok(Some(TrackingLink {
            token_hash: token_hash.to_owned(),
            org_id: org_id(get_s(&item, "org")?)?,
            plan_id: PlanId::new(get_s(&item, "plan")?).map_err(corrupt)?,
            stop_id: StopId::new(get_s(&item, "stop")?).map_err(corrupt)?,
            order_id: OrderId::new(get_s(&item, "order")?).map_err(corrupt)?,
            expires_at: get_time(&item, crate::item::EXPIRES)?,
        }))
    }
}

fn add_order_update(tx: &mut Tx, update: &OrderUpdate) -> Result<(), StoreError> {
    let item = order_item(&update.order)?;
    let k = key_of(&item);
    tx.put(
        item,
        Cond::version(update.expected_version),
        OnFail::Version { kind: "order", id: update.order.id.to_string(), expected: update.expected_version, key: k },
    )
}
