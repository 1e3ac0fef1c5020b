//! Setting up the business: depots, vehicles, drivers and the organisation's
//! settings, by dispatchers only. Nothing is ever deleted: drivers and
//! vehicles are deactivated (`active: false`), so yesterday's routes still
//! name them.
//!
//! Updates are JSON merge patches (RFC 7396) over the record's editable
//! fields: send only what changes, `null` clears an optional field. The
//! result is validated as a whole, references (a vehicle's depot, a driver's
//! vehicle) are checked in the caller's organisation, and the store writes
//! it only if the record is still what was read; otherwise nothing changes.

use doorstep_domain::auth::Role;
use doorstep_domain::org::{NewDepot, NewDriver, OrganisationFields};
use doorstep_domain::validation::{FieldError, Path, Report, codes};
use doorstep_domain::vehicle::NewVehicle;
use doorstep_domain::{Depot, DepotId, Driver, DriverId, OrgId, Organisation, Validate, ValidationErrors, Vehicle, VehicleId};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::crypto::new_id;
use crate::error::{Error, Result};
use crate::ports::{Clock, Principal, Store, StoreError};
use crate::usecases::auth::require;

/// Code for a reference to a depot or vehicle the organisation does not have.
pub const UNKNOWN_REFERENCE: &str = "unknown_reference";

fn dispatcher(principal: &Principal, what: &str) -> Result<()> {
    require(principal, &[Role::Dispatcher], what)
}

fn id_error(e: doorstep_domain::IdError) -> Error {
    Error::Internal(format!("generated an invalid id: {e}"))
}

/// A concurrent change between our read and our write.
fn written(e: StoreError) -> Error {
    match e {
        StoreError::VersionConflict { kind, id, .. } => {
            Error::conflict(format!("{kind} {id} was changed by someone else meanwhile; reload and try again"))
        }
        other => other.into(),
    }
}

async fn check_depot(store: &dyn Store, org: &OrgId, depot: Option<&DepotId>, report: &mut Report) -> Result<()> {
    let Some(id) = depot else { return Ok(()) };
    match store.get_depot(org, id).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound { .. }) => {
            report.push(&Path::root().field("depot_id"), UNKNOWN_REFERENCE, format!("there is no depot {id}"));
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

async fn check_vehicle(store: &dyn Store, org: &OrgId, vehicle: Option<&VehicleId>, report: &mut Report) -> Result<()> {
    let Some(id) = vehicle else { return Ok(()) };
    match store.get_vehicle(org, id).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound { .. }) => {
            report.push(&Path::root().field("vehicle_id"), UNKNOWN_REFERENCE, format!("there is no vehicle {id}"));
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

fn checked<T: Validate>(value: &T) -> Report {
    let mut report = Report::new();
    value.validate_at(&Path::root(), &mut report);
    report
}

// --- depots -----------------------------------------------------------------

pub async fn create_depot(store: &dyn Store, clock: &dyn Clock, principal: &Principal, new: NewDepot) -> Result<Depot> {
    dispatcher(principal, "add depots")?;
    new.validate()?;
    let id = DepotId::new(new_id("dep", clock.now())).map_err(id_error)?;
    let depot = Depot::from_new(id, principal.org.clone(), new);
    store.create_depot(&depot).await?;
    Ok(depot)
}

pub async fn update_depot(store: &dyn Store, principal: &Principal, id: &DepotId, patch: &Value) -> Result<Depot> {
    dispatcher(principal, "change depots")?;
    let current = store.get_depot(&principal.org, id).await?;
    let new: NewDepot = apply_patch(&current.to_new(), patch)?;
    new.validate()?;
    let depot = Depot::from_new(current.id.clone(), current.org_id.clone(), new);
    if depot != current {
        store.update_depot(&depot, &current).await.map_err(written)?;
    }
    Ok(depot)
}

// --- vehicles ---------------------------------------------------------------

pub async fn create_vehicle(store: &dyn Store, clock: &dyn Clock, principal: &Principal, new: NewVehicle) -> Result<Vehicle> {
    dispatcher(principal, "add vehicles")?;
    let mut report = checked(&new);
    check_depot(store, &principal.org, new.depot_id.as_ref(), &mut report).await?;
    report.finish()?;
    let id = VehicleId::new(new_id("veh", clock.now())).map_err(id_error)?;
    let vehicle = Vehicle::from_new(id, principal.org.clone(), new);
    store.create_vehicle(&vehicle).await?;
    Ok(vehicle)
}

pub async fn update_vehicle(store: &dyn Store, principal: &Principal, id: &VehicleId, patch: &Value) -> Result<Vehicle> {
    dispatcher(principal, "change vehicles")?;
    let current = store.get_vehicle(&principal.org, id).await?;
    let new: NewVehicle = apply_patch(&current.to_new(), patch)?;
    let mut report = checked(&new);
    if new.depot_id != current.depot_id {
        check_depot(store, &principal.org, new.depot_id.as_ref(), &mut report).await?;
    }
    report.finish()?;
    let vehicle = Vehicle::from_new(current.id.clone(), current.org_id.clone(), new);
    if vehicle != current {
        store.update_vehicle(&vehicle, &current).await.map_err(written)?;
    }
    Ok(vehicle)
}

// --- drivers ----------------------------------------------------------------

pub async fn create_driver(store: &dyn Store, clock: &dyn Clock, principal: &Principal, new: NewDriver) -> Result<Driver> {
    dispatcher(principal, "add drivers")?;
    let mut report = checked(&new);
    check_vehicle(store, &principal.org, new.vehicle_id.as_ref(), &mut report).await?;
    report.finish()?;
    let id = DriverId::new(new_id("drv", clock.now())).map_err(id_error)?;
    let driver = Driver::from_new(id, principal.org.clone(), new);
    store.create_driver(&driver).await?;
    Ok(driver)
}

pub async fn update_driver(store: &dyn Store, principal: &Principal, id: &DriverId, patch: &Value) -> Result<Driver> {
    dispatcher(principal, "change drivers")?;
    let current = store.get_driver(&principal.org, id).await?;
    let new: NewDriver = apply_patch(&current.to_new(), patch)?;
    let mut report = checked(&new);
    if new.vehicle_id != current.vehicle_id {
        check_vehicle(store, &principal.org, new.vehicle_id.as_ref(), &mut report).await?;
    }
    report.finish()?;
    let driver = Driver::from_new(current.id.clone(), current.org_id.clone(), new);
    if driver != current {
        store.update_driver(&driver, &current).await.map_err(written)?;
    }
    Ok(driver)
}

// --- organisation -----------------------------------------------------------

/// Name, time zone, default service time and windows, and settings (tiles,
/// road travel times, geocoder, currency, notification templates...).
pub async fn update_organisation(store: &dyn Store, principal: &Principal, patch: &Value) -> Result<Organisation> {
    dispatcher(principal, "change the organisation's settings")?;
    let current = store.organisation(&principal.org).await?;
    let fields: OrganisationFields = apply_patch(&current.fields(), patch)?;
    let organisation = current.with_fields(fields);
    organisation.validate()?;
    if organisation != current {
        store.update_organisation(&organisation, &current).await.map_err(written)?;
    }
    Ok(organisation)
}

// --- merge patches ----------------------------------------------------------

fn invalid(path: &str, code: &str, message: impl Into<String>) -> Error {
    Error::Invalid(ValidationErrors(vec![FieldError { path: path.to_owned(), code: code.to_owned(), message: message.into() }]))
}

/// `current` with `patch` merged in (RFC 7396), read back as `T`. A value
/// that does not fit is reported at the patch field that caused it.
pub fn apply_patch<T: Serialize + DeserializeOwned>(current: &T, patch: &Value) -> Result<T> {
    let Value::Object(fields) = patch else {
        return Err(invalid("", codes::INVALID_FORMAT, "send a JSON object with the fields to change"));
    };
    if fields.is_empty() {
        return Err(invalid("", codes::EMPTY_PATCH, "nothing to change: the patch is empty"));
    }
    let base = serde_json::to_value(current).map_err(|e| Error::Internal(format!("cannot encode a record: {e}")))?;
    let mut merged = base.clone();
    merge(&mut merged, patch);
    match serde_json::from_value::<T>(merged) {
        Ok(value) => Ok(value),
        Err(whole) => Err(blame::<T>(&base, fields, &whole)),
    }
}

fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(fields) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in fields {
            if v.is_null() {
                t.remove(k);
            } else {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

fn leaves(value: &Value, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
    match value {
        Value::Object(fields) if !fields.is_empty() => {
            for (k, v) in fields {
                prefix.push(k.clone());
                leaves(v, prefix, out);
                prefix.pop();
            }
        }
        other => out.push((prefix.clone(), other.clone())),
    }
}

/// The first patched field that alone makes the record unreadable.
fn blame<T: DeserializeOwned>(base: &Value, fields: &Map<String, Value>, whole: &serde_json::Error) -> Error {
    let mut found = Vec::new();
    leaves(&Value::Object(fields.clone()), &mut Vec::new(), &mut found);
    for (path, value) in found {
        let single = path.iter().rev().fold(value, |inner, k| Value::Object(Map::from_iter([(k.clone(), inner)])));
        let mut trial = base.clone();
        merge(&mut trial, &single);
        if let Err(e) = serde_json::from_value::<T>(trial) {
            let message = e.to_string();
            let code = if message.starts_with("unknown field") {
                codes::NOT_ALLOWED
            } else if message.starts_with("missing field") {
                codes::REQUIRED
            } else {
                codes::INVALID_FORMAT
            };
            return invalid(&path.join("."), code, message);
        }
    }
    invalid("", codes::INVALID_FORMAT, whole.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn van() -> NewVehicle {
        serde_json::from_value(json!({
            "name": "Van 1", "capacity": [800, 3000, 120],
            "shift": {"start": "08:00", "end": "17:00"},
            "start": {"lat": 45.73, "lon": 4.83},
            "break": {"window": {"start": "12:00", "end": "14:00"}, "duration_s": 1800}
        }))
        .unwrap()
    }

    fn paths(e: Error) -> Vec<(String, String)> {
        match e {
            Error::Invalid(v) => v.0.into_iter().map(|f| (f.path, f.code)).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn merge_patch_changes_nested_fields_and_clears_with_null() {
        let v: NewVehicle = apply_patch(&van(), &json!({"shift": {"end": "18:00"}, "break": null, "skills": ["cold"]})).unwrap();
        assert_eq!(v.shift.end.to_string(), "18:00");
        assert_eq!(v.shift.start.to_string(), "08:00");
        assert!(v.break_.is_none());
        assert!(v.skills.contains("cold"));
    }

    #[test]
    fn patch_errors_name_the_field() {
        assert_eq!(paths(apply_patch(&van(), &json!({"shift": {"start": "25:00"}})).unwrap_err()), [("shift.start".into(), "invalid_format".into())]);
        assert_eq!(paths(apply_patch(&van(), &json!({"id": "veh-2"})).unwrap_err()), [("id".into(), "not_allowed".into())]);
        assert_eq!(paths(apply_patch(&van(), &json!({"name": null})).unwrap_err()), [("name".into(), "required".into())]);
        assert_eq!(paths(apply_patch(&van(), &json!({})).unwrap_err()), [(String::new(), "empty_patch".into())]);
        assert_eq!(paths(apply_patch(&van(), &json!([1])).unwrap_err()), [(String::new(), "invalid_format".into())]);
    }
}
