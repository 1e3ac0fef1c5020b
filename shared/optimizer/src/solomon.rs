//! Reader for Solomon / Gehring–Homberger VRPTW text files.
//!
//! Only numeric rows are interpreted (header wording varies between files): the
//! first 2-number row is `NUMBER CAPACITY`, then every 7-number row is a node
//! `CUST NO. XCOORD. YCOORD. DEMAND READY DUE SERVICE`. Node 0 is the depot.

use crate::model::{Job, Problem, TimeWindow, Travel, Vehicle};

/// A parse failure with file, line (1-based) and field.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{file} line {line}, field {field}: {message}")]
pub struct ParseError {
    pub file: String,
    pub line: usize,
    pub field: String,
    pub message: String,
}

const FIELDS: [&str; 7] = [
    "CUST NO.",
    "XCOORD.",
    "YCOORD.",
    "DEMAND",
    "READY TIME",
    "DUE DATE",
    "SERVICE TIME",
];

/// Parses a Solomon-format instance. `name_for_errors` (usually the file name) is
/// used in error messages. Job ids are the customer numbers; the fleet gets
/// vehicles `v1..vN` starting and ending at the depot within its time window.
pub fn parse(name_for_errors: &str, text: &str) -> Result<Problem, ParseError> {
    let err = |line: usize, field: &str, message: String| ParseError {
        file: name_for_errors.to_string(),
        line,
        field: field.to_string(),
        message,
    };
    let mut name = String::new();
    let mut fleet: Option<(usize, i64)> = None;
    let mut nodes: Vec<(usize, [f64; 7])> = Vec::new();
    let mut last_line = 0;

    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx + 1;
        last_line = lineno;
        let line = raw.trim_end_matches('\r').trim();
        if line.is_empty() {
            continue;
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let starts_numeric = tokens[0].parse::<f64>().is_ok();
        if !starts_numeric {
            // Header or title line; the first one is the instance name.
            if name.is_empty() {
                name = line.to_string();
            }
            continue;
        }
        if fleet.is_none() {
            if tokens.len() != 2 {
                return Err(err(
                    lineno,
                    "NUMBER CAPACITY",
                    format!("expected 2 numbers, found {}", tokens.len()),
                ));
            }
            let number = tokens[0].parse::<usize>().map_err(|_| {
                err(
                    lineno,
                    "NUMBER",
                    format!("expected a whole number, found '{}'", tokens[0]),
                )
            })?;
            let capacity = tokens[1].parse::<i64>().map_err(|_| {
                err(
                    lineno,
                    "CAPACITY",
                    format!("expected a whole number, found '{}'", tokens[1]),
                )
            })?;
            if number == 0 {
                return Err(err(
                    lineno,
                    "NUMBER",
                    "the fleet must have at least one vehicle".into(),
                ));
            }
            if capacity < 0 {
                return Err(err(lineno, "CAPACITY", "must not be negative".into()));
            }
            fleet = Some((number, capacity));
            continue;
        }
        if tokens.len() != 7 {
            let field = FIELDS.get(tokens.len()).copied().unwrap_or("end of row");
            return Err(err(
                lineno,
                field,
                format!("expected 7 columns, found {}", tokens.len()),
            ));
        }
        let mut vals = [0.0; 7];
        for (k, t) in tokens.iter().enumerate() {
            vals[k] = match t.parse::<f64>() {
                Ok(v) if v.is_finite() => v,
                _ => {
                    return Err(err(
                        lineno,
                        FIELDS[k],
                        format!("expected a number, found '{t}'"),
                    ));
                }
            };
        }
        let expected = nodes.len() as f64;
        if vals[0] != expected {
            return Err(err(
                lineno,
                FIELDS[0],
                format!("expected customer {expected}, found '{}'", tokens[0]),
            ));
        }
        if vals[3] < 0.0 || vals[3].fract() != 0.0 {
            return Err(err(
                lineno,
                FIELDS[3],
                format!("expected a whole number >= 0, found '{}'", tokens[3]),
            ));
        }
        if vals[6] < 0.0 {
            return Err(err(
                lineno,
                FIELDS[6],
                format!("must not be negative, found '{}'", tokens[6]),
            ));
        }
        if vals[5] < vals[4] {
            return Err(err(
                lineno,
                FIELDS[5],
                format!("due date {} is before ready time {}", tokens[5], tokens[4]),
            ));
        }
        nodes.push((lineno, vals));
    }

    let Some((number, capacity)) = fleet else {
        return Err(err(
            last_line.max(1),
            "NUMBER CAPACITY",
            "no vehicle row found".into(),
        ));
    };
    if nodes.len() < 2 {
        return Err(err(
            last_line.max(1),
            "CUST NO.",
            "expected a depot row and at least one customer".into(),
        ));
    }
    let depot = nodes[0].1;
    let points = nodes.iter().map(|(_, v)| [v[1], v[2]]).collect();
    let jobs = nodes[1..]
        .iter()
        .map(|(_, v)| {
            let mut j = Job::new(format!("{}", v[0] as u64), v[0] as usize);
            j.service = v[6];
            j.demand = vec![v[3] as i64];
            j.time_windows = vec![TimeWindow::new(v[4], v[5])];
            j
        })
        .collect();
    let vehicles = (1..=number)
        .map(|i| {
            let mut v = Vehicle::new(format!("v{i}"), 0);
            v.capacity = vec![capacity];
            v.shift = Some(TimeWindow::new(depot[4], depot[5]));
            v
        })
        .collect();
    Ok(Problem {
        name: if name.is_empty() {
            name_for_errors.to_string()
        } else {
            name
        },
        time_unit: Default::default(),
        travel: Travel::Euclidean { points },
        jobs,
        pairs: Vec::new(),
        vehicles,
        locks: Vec::new(),
    })
}
