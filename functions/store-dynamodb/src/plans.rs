//! Plans, publishing them (plan, orders and tracking links at once), and
//! tracking links.
//!
//! A plan whose JSON fits [`MAX_INLINE_PLAN`] is one item. A larger one (an
//! item holds at most 400 KB: about 1,200 stops) is a header item at the
//! same key, with `parts` and `gen` instead of `body`, plus part items
//! `PLANPART#{plan}#{gen}#{i:04}` holding the JSON in pieces. Every write
//! puts its parts under a fresh `gen` first, then the header's conditional
//! write (version check, publication lock) flips it to them, so a reader
//! never sees a half-written plan; the replaced generation's parts are
//! deleted after the flip, and a refused write deletes its own. A reader
//! that finds parts gone (a flip in between) reads the header again.

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
use crate::item::{BODY, GSI1PK, GSI1SK, Item, PK, SK, VERSION, corrupt, expiry, get_s, get_time, is_live, item, key, n, org_id, org_pk, s, to_json};
use crate::ops::{MAX_TX_ITEMS, key_of, unavailable};
use crate::tx::{Cond, OnFail, Tx};

/// Attribute holding the token of a large publication in progress.
const LOCK: &str = "publish_lock";
/// Until when (unix seconds) the lock holds, so a publisher that died
/// half-way does not block the plan for ever.
const LOCK_UNTIL: &str = "publish_lock_until";
const LOCK_LEASE_S: i64 = 300;
/// Largest plan JSON kept in the plan's own item; also the size of a part.
pub const MAX_INLINE_PLAN: usize = 350_000;
const PARTS: &str = "parts";
const GEN: &str = "gen";
/// How often a read retries when a concurrent write replaced the parts it read.
const READ_ATTEMPTS: usize = 5;

/// Where a large plan's JSON lives: `count` parts of one write's generation.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parts {
    generation: String,
    count: usize,
}

fn part_key(org: &OrgId, plan: &PlanId, generation: &str, index: usize) -> Item {
    key(org_pk(org), format!("PLANPART#{plan}#{generation}#{index:04}"))
}

fn part_keys(org: &OrgId, plan: &PlanId, parts: &Parts) -> Vec<Item> {
    (0..parts.count).map(|i| part_key(org, plan, &parts.generation, i)).collect()
}

/// The parts a header points to, if it is a large plan's.
fn parts_of(item: &Item) -> Result<Option<Parts>, StoreError> {
    match crate::item::get_opt_u64(item, PARTS)? {
        None => Ok(None),
        Some(count) => Ok(Some(Parts { generation: get_s(item, GEN)?.to_owned(), count: usize::try_from(count).map_err(corrupt)? })),
    }
}

fn status(plan: &Plan) -> &'static str {
    match plan.status {
        PlanStatus::Draft => "draft",
        PlanStatus::Published => "published",
    }
}

/// A plan as written: its item (the whole plan, or a large plan's header)
/// and the parts to write before it.
struct PlanWrite {
    item: Item,
    parts: Option<(Parts, Vec<Item>)>,
}

/// A plan, listed by date through GSI1. A `Put` of it replaces the item,
/// which also clears any publication lock.
fn plan_item(plan: &Plan) -> Result<PlanWrite, StoreError> {
    let json = to_json(plan)?;
    let mut attrs = vec![
        (VERSION, n(plan.version)),
        ("status", s(status(plan))),
        (GSI1PK, s(format!("ORG#{}#DATE#{}", plan.org_id, plan.date))),
        (GSI1SK, s(format!("PLAN#{}", plan.id))),
    ];
    if json.len() <= MAX_INLINE_PLAN {
        attrs.push((BODY, s(json)));
        return Ok(PlanWrite { item: item(org_pk(&plan.org_id), format!("PLAN#{}", plan.id), attrs), parts: None });
    }
    // Unique per write: concurrent writers of the same version never share parts.
    let generation = format!("{:020}-{}", plan.version, OffsetDateTime::now_utc().unix_timestamp_nanos());
    let pieces = crate::orders::split_body(&json, MAX_INLINE_PLAN);
    let parts = Parts { generation: generation.clone(), count: pieces.len() };
    let items = pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| {
            let mut part = part_key(&plan.org_id, &plan.id, &generation, i);
            part.insert(BODY.to_owned(), s(*piece));
            part
        })
        .collect();
    attrs.push((PARTS, n(parts.count)));
    attrs.push((GEN, s(generation)));
    Ok(PlanWrite { item: item(org_pk(&plan.org_id), format!("PLAN#{}", plan.id), attrs), parts: Some((parts, items)) })
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

fn plan_key(org: &OrgId, plan: &PlanId) -> Item {
    key(org_pk(org), format!("PLAN#{plan}"))
}

impl DynamoStore {
    /// Writes a large plan's parts, before its header points to them. On a
    /// failure, deletes what it wrote.
    async fn write_parts(&self, plan: &Plan, write: &PlanWrite) -> Result<(), StoreError> {
        let Some((parts, items)) = &write.parts else { return Ok(()) };
        for part in items {
            if let Err(e) = self.put_if(part.clone(), Cond::none()).await {
                self.drop_parts(plan, Some(parts)).await;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Deletes a generation of parts no header points to (any more).
    async fn drop_parts(&self, plan: &Plan, parts: Option<&Parts>) {
        let Some(parts) = parts else { return };
        if let Err(e) = self.delete_all(part_keys(&plan.org_id, &plan.id, parts)).await {
            tracing::warn!(plan = %plan.id, error = %e, "could not delete a plan's unused parts");
        }
    }

    /// The parts the stored header points to now.
    async fn stored_parts(&self, plan: &Plan) -> Result<Option<Parts>, StoreError> {
        match self.get(plan_key(&plan.org_id, &plan.id)).await? {
            Some(item) => parts_of(&item),
            None => Ok(None),
        }
    }

    /// After a header write: on success the replaced parts go, on a refusal
    /// our own. An unknown outcome (the store did not answer) keeps both,
    /// since the header may point to either.
    async fn settle_parts<T>(&self, plan: &Plan, ours: &PlanWrite, old: Option<&Parts>, written: &Result<Result<(), T>, StoreError>) {
        match written {
            Ok(Ok(())) => {
                if old != ours.parts.as_ref().map(|(p, _)| p) {
                    self.drop_parts(plan, old).await;
                }
            }
            Ok(Err(_)) => self.drop_parts(plan, ours.parts.as_ref().map(|(p, _)| p)).await,
            Err(_) => {}
        }
    }

    /// A plan, whole: one item, or a header and its parts, read consistently.
    pub(crate) async fn read_plan(&self, org: &OrgId, id: &PlanId) -> Result<Plan, StoreError> {
        for _ in 0..READ_ATTEMPTS {
            let Some(item) = self.get(plan_key(org, id)).await? else {
                return Err(StoreError::NotFound { kind: "plan", id: id.to_string() });
            };
            if let Some(plan) = self.assemble(org, id, &item).await? {
                return Ok(plan);
            }
        }
        Err(StoreError::Unavailable(format!("plan {id} kept changing while it was read; try again")))
    }

    /// The plan an item holds; `None` when its parts were replaced by a
    /// concurrent write since the header was read (read the header again).
    async fn assemble(&self, org: &OrgId, id: &PlanId, item: &Item) -> Result<Option<Plan>, StoreError> {
        let Some(parts) = parts_of(item)? else { return crate::item::body(item).map(Some) };
        let keys = part_keys(org, id, &parts);
        let found = self.batch_get(keys.clone()).await?;
        if found.len() != parts.count {
            return Ok(None);
        }
        let by_sk: HashMap<&str, &Item> = found.iter().map(|i| Ok((get_s(i, SK)?, i))).collect::<Result<_, StoreError>>()?;
        let mut json = String::new();
        for k in &keys {
            let part = by_sk.get(get_s(k, SK)?).ok_or_else(|| StoreError::Corrupt(format!("a part of plan {id} is missing")))?;
            json.push_str(get_s(part, BODY)?);
        }
        crate::item::from_json(&json).map(Some)
    }

    pub(crate) async fn put_plan(&self, plan: &Plan) -> Result<(), StoreError> {
        let write = plan_item(plan)?;
        self.write_parts(plan, &write).await?;
        let written = self.put_if(write.item.clone(), Cond::not_exists()).await;
        self.settle_parts(plan, &write, None, &written).await;
        match written? {
            Ok(()) => Ok(()),
            Err(_) => Err(StoreError::AlreadyExists { kind: "plan", id: plan.id.to_string() }),
        }
    }

    /// Plans in id order, by date through GSI1 (headers only are listed;
    /// a large plan's parts are read for each plan returned).
    pub(crate) async fn plan_page(
        &self,
        org: &OrgId,
        filter: &PlanFilter,
        after: Option<&PlanId>,
        limit: u32,
    ) -> Result<KeyPage<Plan, PlanId>, StoreError> {
        let limit = limit.max(1) as usize;
        let (on_index, pk) = match filter.date {
            Some(date) => (true, format!("ORG#{org}#DATE#{date}")),
            None => (false, org_pk(org)),
        };
        let (pk_attr, sk_attr) = if on_index { (GSI1PK, GSI1SK) } else { (PK, SK) };
        // BETWEEN is inclusive: the plan at `after` itself is skipped below.
        let lo = after.map_or_else(|| "PLAN#".to_owned(), |a| format!("PLAN#{a}"));
        let mut plans: Vec<Plan> = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(on_index.then(|| crate::item::GSI1.to_owned()))
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
                .expression_attribute_names("#pk", pk_attr)
                .expression_attribute_names("#sk", sk_attr)
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":lo", s(lo.clone()))
                .expression_attribute_values(":hi", s("PLAN$"))
                .set_consistent_read((!on_index).then_some(true))
                .limit(i32::try_from((limit + 1).min(200)).unwrap_or(200))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items.unwrap_or_default() {
                let id = crate::item::id_after(get_s(&item, SK)?, "PLAN#")?;
                if Some(id) == after.map(PlanId::as_str) {
                    continue;
                }
                if filter.published_only && get_s(&item, "status")? != "published" {
                    continue;
                }
                let id = PlanId::new(id).map_err(corrupt)?;
                // The index may lag a flip: then the table's header is read.
                let plan = match self.assemble(org, &id, &item).await? {
                    Some(plan) => plan,
                    None => self.read_plan(org, &id).await?,
                };
                if filter.published_only && plan.status != PlanStatus::Published {
                    continue;
                }
                plans.push(plan);
                if plans.len() > limit {
                    plans.truncate(limit);
                    let next = plans.last().map(|p| p.id.clone());
                    return Ok(KeyPage { items: plans, next });
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(KeyPage { items: plans, next: None });
            }
        }
    }

    pub(crate) async fn replace_plan(&self, plan: &Plan, expected: u64) -> Result<(), StoreError> {
        let write = plan_item(plan)?;
        let k = key_of(&write.item);
        let old = self.stored_parts(plan).await?;
        self.write_parts(plan, &write).await?;
        let written = self.put_if(write.item.clone(), plan_unlocked_at(expected)).await;
        self.settle_parts(plan, &write, old.as_ref(), &written).await;
        match written? {
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
        let write = plan_item(plan)?;
        let plan_key = key_of(&write.item);
        let old = self.stored_parts(plan).await?;
        self.write_parts(plan, &write).await?;
        tx.put(
            write.item.clone(),
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
        let written = self.transact(tx).await;
        self.settle_parts(plan, &write, old.as_ref(), &written).await;
        match written? {
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
        // Encoded before anything is written, so it cannot fail half-way.
        let write = plan_item(plan)?;
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
        // Locked by us: the header's parts cannot change under us now.
        let flipped = match self.stored_parts(plan).await {
            Ok(old) => match self.write_parts(plan, &write).await {
                Ok(()) => {
                    let written = self.put_if(write.item.clone(), ours).await;
                    self.settle_parts(plan, &write, old.as_ref(), &written).await;
                    written
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match flipped {
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
