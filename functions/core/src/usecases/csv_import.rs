//! Orders from a spreadsheet (CSV). Columns are matched to order fields by
//! common header names or an explicit mapping; every bad row is reported with
//! its row number, column and problem. Nothing is written unless every row is
//! good, or the caller asked for a partial import.

use std::collections::BTreeMap;

use doorstep_domain::auth::Role;
use doorstep_domain::csv_columns::{REQUIRED, column_named, normalise, recognised_column};
use doorstep_domain::dispatch::{CsvImportReport, RowError};
use doorstep_domain::order::Recipient;
use doorstep_domain::time::{TimeOfDay, TimeWindow};
use doorstep_domain::validation::{FieldError, codes};
use doorstep_domain::{Address, DepotId, Load, NewOrder, Order, OrderId, OrderKind, Validate, ValidationErrors};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::crypto::{new_id, sha256_hex};
use crate::error::{Error, Result};
use crate::ports::{Clock, Principal, Store};
use crate::usecases::auth::require;
use crate::usecases::orders::{PreparedWrite, StoredResponse, check_depots, id_error, to_json, write_idempotently};

/// Most order rows in one file.
pub const MAX_CSV_ROWS: usize = 10_000;

pub use doorstep_domain::csv_columns::FIELDS;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvOptions {
    /// `(field, header)` pairs that override the recognised headers.
    pub mapping: Vec<(String, String)>,
    /// Write the good rows and report the bad ones.
    pub partial: bool,
    /// For rows without a country column; default: the organisation's locale region.
    pub country: Option<String>,
    /// Day for `HH:MM` window times.
    pub date: Option<Date>,
    /// Offset for `HH:MM` window times; default UTC.
    pub utc_offset: Option<UtcOffset>,
}

/// Parses `field:Header,field:Header`.
pub fn parse_mapping(text: &str) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((field, header)) = part.split_once(':') else {
            return Err(mapping_error(format!("{part:?} is not field:Header")));
        };
        let field = field.trim();
        if !FIELDS.iter().any(|(f, _)| *f == field) {
            let known: Vec<&str> = FIELDS.iter().map(|(f, _)| *f).collect();
            return Err(mapping_error(format!("unknown field {field:?}; fields are {}", known.join(", "))));
        }
        pairs.push((field.to_owned(), header.trim().to_owned()));
    }
    Ok(pairs)
}

fn mapping_error(message: String) -> Error {
    Error::Invalid(ValidationErrors(vec![FieldError { path: "mapping".into(), code: codes::INVALID_FORMAT.into(), message }]))
}

/// Which column fills each field.
fn resolve_columns(headers: &[String], mapping: &[(String, String)]) -> Result<BTreeMap<&'static str, usize>> {
    let mut columns = BTreeMap::new();
    let mut errors = Vec::new();
    for (field, _) in FIELDS {
        if let Some((_, header)) = mapping.iter().find(|(f, _)| f == field) {
            match column_named(header, headers) {
                Some(i) => {
                    columns.insert(*field, i);
                }
                None => errors.push(FieldError {
                    path: "mapping".into(),
                    code: codes::NOT_ALLOWED.into(),
                    message: format!("the file has no column {header:?} (for {field})"),
                }),
            }
        } else if let Some(i) = recognised_column(field, headers) {
            columns.insert(*field, i);
        }
    }
    for &required in REQUIRED {
        if !columns.contains_key(required) {
            errors.push(FieldError {
                path: "mapping".into(),
                code: codes::REQUIRED.into(),
                message: format!("no column for {required}; name one with mapping={required}:YourHeader"),
            });
        }
    }
    if errors.is_empty() { Ok(columns) } else { Err(Error::Invalid(ValidationErrors(errors))) }
}

/// Imports orders from CSV text. Answers 201 with a [`CsvImportReport`], or
/// fails with every row problem (paths `rows[7].Zip`) and writes nothing.
pub async fn import(
    store: &dyn Store,
    clock: &dyn Clock,
    principal: &Principal,
    csv_text: &[u8],
    options: &CsvOptions,
    idempotency_key: Option<&str>,
) -> Result<StoredResponse> {
    require(principal, &[Role::Dispatcher, Role::Integration], "import orders")?;
    let request_hash = sha256_hex(
        format!("orders.import\n{:?}\n{}\n", options, sha256_hex(csv_text)).as_bytes(),
    );
    write_idempotently(store, clock, principal, idempotency_key, &request_hash, || async {
        let now = clock.now();
        let default_country = match &options.country {
            Some(c) => Some(c.trim().to_uppercase()),
            None => store.organisation(&principal.org).await?.settings.locale.rsplit('-').next().filter(|r| r.len() == 2).map(str::to_uppercase),
        };
        let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(csv_text);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| csv_error(1, format!("cannot read the header row: {e}")))?
            .iter()
            .map(str::to_owned)
            .collect();
        let columns = resolve_columns(&headers, &options.mapping)?;
        let mut rows = Vec::new();
        let mut errors = Vec::new();
        for (index, record) in reader.records().enumerate() {
            let row = index + 2;
            if index >= MAX_CSV_ROWS {
                return Err(csv_error(row, format!("the file has more than {MAX_CSV_ROWS} rows; split it")));
            }
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    errors.push(RowError { row, column: None, code: codes::INVALID_FORMAT.into(), message: e.to_string() });
                    continue;
                }
            };
            if record.iter().all(str::is_empty) {
                continue;
            }
            let cell = |field: &str| columns.get(field).and_then(|&i| record.get(i)).filter(|v| !v.is_empty());
            let header_of = |field: &str| columns.get(field).map(|&i| headers[i].clone());
            let mut row_errors = Vec::new();
            let new = read_row(&cell, &header_of, default_country.as_deref(), options, row, &mut row_errors);
            if row_errors.is_empty()
                && let Err(v) = new.validate() {
                    for e in v.0 {
                        let column = FIELDS.iter().map(|(f, _)| *f).find(|f| e.path == *f || e.path.starts_with(&format!("{f}."))).and_then(header_of)
                            .or_else(|| e.path.starts_with("time_windows").then(|| header_of("window_start")).flatten());
                        let message = if column.is_some() { e.message } else { format!("{}: {}", e.path, e.message) };
                        row_errors.push(RowError { row, column, code: e.code, message });
                    }
                }
            if row_errors.is_empty() {
                rows.push((row, new));
            } else {
                errors.extend(row_errors);
            }
        }
        if rows.is_empty() && errors.is_empty() {
            return Err(csv_error(2, "the file has no order rows".into()));
        }
        if !errors.is_empty() && (!options.partial || rows.is_empty()) {
            return Err(row_errors_to_error(&errors));
        }
        let news: Vec<NewOrder> = rows.iter().map(|(_, n)| n.clone()).collect();
        if let Err(Error::Invalid(v)) = check_depots(store, principal, &news, Some("rows")).await {
            // Re-key depot problems by CSV row.
            let bad: Vec<RowError> = v
                .0
                .iter()
                .filter_map(|e| {
                    let i: usize = e.path.strip_prefix("rows[")?.split(']').next()?.parse().ok()?;
                    Some(RowError { row: rows[i].0, column: header_of_static(&headers, &columns, "depot_id"), code: e.code.clone(), message: e.message.clone() })
                })
                .collect();
            if !options.partial {
                return Err(row_errors_to_error(&bad));
            }
            let bad_rows: Vec<usize> = bad.iter().map(|e| e.row).collect();
            rows.retain(|(r, _)| !bad_rows.contains(r));
            errors.extend(bad);
        }
        errors.sort_by_key(|e| e.row);
        let orders = rows
            .iter()
            .map(|(_, new)| Ok(Order::from_new(OrderId::new(new_id("ord", now)).map_err(id_error)?, principal.org.clone(), new.clone(), now)))
            .collect::<Result<Vec<_>>>()?;
        let mapping = columns.iter().map(|(f, &i)| ((*f).to_owned(), headers[i].clone())).collect();
        let report = CsvImportReport { rows: rows.len() + errors.iter().map(|e| e.row).collect::<std::collections::BTreeSet<_>>().len(), created: orders.iter().map(|o| o.id.clone()).collect(), errors, mapping };
        let body = to_json(&report)?;
        Ok(PreparedWrite { orders, status: 201, body })
    })
    .await
}

fn header_of_static(headers: &[String], columns: &BTreeMap<&'static str, usize>, field: &str) -> Option<String> {
    columns.get(field).map(|&i| headers[i].clone())
}

fn csv_error(row: usize, message: String) -> Error {
    row_errors_to_error(&[RowError { row, column: None, code: codes::INVALID_FORMAT.into(), message }])
}

fn row_errors_to_error(errors: &[RowError]) -> Error {
    Error::Invalid(ValidationErrors(
        errors
            .iter()
            .map(|e| FieldError {
                path: match &e.column {
                    Some(c) => format!("rows[{}].{c}", e.row),
                    None => format!("rows[{}]", e.row),
                },
                code: e.code.clone(),
                message: e.message.clone(),
            })
            .collect(),
    ))
}

fn read_row<'a>(
    cell: &dyn Fn(&str) -> Option<&'a str>,
    header_of: &dyn Fn(&str) -> Option<String>,
    default_country: Option<&str>,
    options: &CsvOptions,
    row: usize,
    errors: &mut Vec<RowError>,
) -> NewOrder {
    let mut bad = |field: &str, code: &str, message: String| {
        errors.push(RowError { row, column: header_of(field), code: code.into(), message });
    };
    let text = |field: &str| cell(field).map(str::to_owned);
    let number = |field: &str, bad: &mut dyn FnMut(&str, &str, String)| -> Option<f64> {
        let raw = cell(field)?;
        // Spreadsheets in many locales write decimals with a comma.
        match raw.replace(',', ".").parse::<f64>() {
            Ok(v) => Some(v),
            Err(_) => {
                bad(field, codes::INVALID_FORMAT, format!("{raw:?} is not a number"));
                None
            }
        }
    };
    let kind = match cell("kind").map(normalise).as_deref() {
        None | Some("delivery") | Some("deliver") | Some("drop") | Some("dropoff") => OrderKind::Delivery,
        Some("pickup") | Some("pick up") | Some("collection") | Some("collect") => OrderKind::Pickup,
        Some(other) => {
            bad("kind", codes::INVALID_FORMAT, format!("{other:?} is not delivery or pickup"));
            OrderKind::Delivery
        }
    };
    let depot_id = cell("depot_id").and_then(|d| match DepotId::new(d) {
        Ok(id) => Some(id),
        Err(e) => {
            bad("depot_id", codes::INVALID_FORMAT, e.to_string());
            None
        }
    });
    let lat = number("address.lat", &mut bad);
    let lon = number("address.lon", &mut bad);
    let weight = number("weight_kg", &mut bad).unwrap_or(0.0);
    let volume = number("volume_l", &mut bad).unwrap_or(0.0);
    let items = number("items", &mut bad).unwrap_or(0.0);
    let service_time_s = match (number("service_time_s", &mut bad), number("service_time_min", &mut bad)) {
        (Some(s), _) => whole_seconds(s, "service_time_s", &mut bad),
        (None, Some(m)) => whole_seconds(m * 60.0, "service_time_min", &mut bad),
        (None, None) => None,
    };
    let start = cell("window_start").and_then(|v| instant(v, "window_start", options, &mut bad));
    let end = cell("window_end").and_then(|v| instant(v, "window_end", options, &mut bad));
    let time_windows = match (cell("window_start"), cell("window_end"), start, end) {
        (_, _, Some(s), Some(e)) => vec![TimeWindow::new(s, e)],
        (Some(_), None, _, _) => {
            bad("window_start", codes::REQUIRED, "a window needs an end too".into());
            vec![]
        }
        (None, Some(_), _, _) => {
            bad("window_end", codes::REQUIRED, "a window needs a start too".into());
            vec![]
        }
        _ => vec![],
    };
    let country = text("address.country").map(|c| c.to_uppercase()).or_else(|| default_country.map(str::to_owned));
    if country.is_none() {
        bad("address.country", codes::REQUIRED, "no country column and no country= default".into());
    }
    NewOrder {
        external_ref: text("external_ref"),
        depot_id,
        kind,
        address: Address {
            line1: text("address.line1").unwrap_or_default(),
            line2: text("address.line2"),
            postcode: text("address.postcode").unwrap_or_default(),
            city: text("address.city").unwrap_or_default(),
            country: country.unwrap_or_default(),
            lat,
            lon,
        },
        service_time_s,
        time_windows,
        pickup: None,
        demand: Load::new(weight, volume, items),
        priority: Default::default(),
        required_skills: Default::default(),
        recipient: Recipient { name: text("recipient.name").unwrap_or_default(), phone: text("recipient.phone"), email: text("recipient.email") },
        instructions: text("instructions"),
        barcode: text("barcode"),
        cash_on_delivery: None,
    }
}

fn whole_seconds(s: f64, field: &str, bad: &mut dyn FnMut(&str, &str, String)) -> Option<u32> {
    if s.is_finite() && (0.0..=f64::from(u32::MAX)).contains(&s) {
        Some(s.round() as u32)
    } else {
        bad(field, codes::OUT_OF_RANGE, format!("{s} is not a duration"));
        None
    }
}

/// RFC 3339, or `HH:MM` on the import's date and offset.
fn instant(value: &str, field: &str, options: &CsvOptions, bad: &mut dyn FnMut(&str, &str, String)) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(value, &Rfc3339) {
        return Some(t);
    }
    match (value.parse::<TimeOfDay>(), options.date) {
        (Ok(t), Some(date)) => Some(t.on(date, options.utc_offset.unwrap_or(UtcOffset::UTC))),
        (Ok(_), None) => {
            bad(field, codes::REQUIRED, "HH:MM times need date=YYYY-MM-DD on the request".into());
            None
        }
        (Err(_), _) => {
            bad(field, codes::INVALID_FORMAT, format!("{value:?} is neither HH:MM nor an RFC 3339 time"));
            None
        }
    }
}
