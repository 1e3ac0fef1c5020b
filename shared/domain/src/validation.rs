//! Validation that reports every problem at once, each with the path of the
//! offending field (`orders[3].address.lat`), so a form can mark all bad
//! fields in one round trip.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Stable machine-readable codes. Frontends switch on these; messages are
/// for humans and may change.
pub mod codes {
    pub const REQUIRED: &str = "required";
    pub const BLANK: &str = "blank";
    pub const TOO_LONG: &str = "too_long";
    pub const TOO_MANY: &str = "too_many";
    pub const OUT_OF_RANGE: &str = "out_of_range";
    pub const NOT_FINITE: &str = "not_finite";
    pub const NEGATIVE: &str = "negative";
    pub const MUST_BE_POSITIVE: &str = "must_be_positive";
    pub const WINDOW_ENDS_BEFORE_START: &str = "window_ends_before_start";
    pub const WINDOWS_OVERLAP: &str = "windows_overlap";
    pub const OUTSIDE_WINDOW: &str = "outside_window";
    pub const INVALID_EMAIL: &str = "invalid_email";
    pub const INVALID_PHONE: &str = "invalid_phone";
    pub const INVALID_FORMAT: &str = "invalid_format";
    pub const INVALID_TIMEZONE: &str = "invalid_timezone";
    pub const INVALID_URL: &str = "invalid_url";
    pub const DIMENSION_MISMATCH: &str = "dimension_mismatch";
    pub const LAT_LON_INCOMPLETE: &str = "lat_lon_incomplete";
    pub const LOCATION_REQUIRED: &str = "location_required";
    pub const NOT_ALLOWED: &str = "not_allowed";
    pub const DUPLICATE: &str = "duplicate";
    pub const SEQUENCE_GAP: &str = "sequence_gap";
    pub const NO_EVIDENCE: &str = "no_evidence";
    pub const EMPTY_PATCH: &str = "empty_patch";
}

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// Dotted path with indices, e.g. `time_windows[1].end`. Empty for a
    /// problem with the object as a whole.
    pub path: String,
    /// One of [`codes`].
    pub code: String,
    pub message: String,
}

/// Every problem found; never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
#[error("{} validation error(s): {}", .0.len(), summary(.0))]
pub struct ValidationErrors(pub Vec<FieldError>);

fn summary(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| {
            if e.path.is_empty() {
                e.message.clone()
            } else {
                format!("{}: {}", e.path, e.message)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl ValidationErrors {
    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }

    /// Paths of all errors, in the order found. Handy in tests and logs.
    pub fn paths(&self) -> Vec<&str> {
        self.0.iter().map(|e| e.path.as_str()).collect()
    }

    /// Whether some error has exactly this path and code.
    pub fn has(&self, path: &str, code: &str) -> bool {
        self.0.iter().any(|e| e.path == path && e.code == code)
    }
}

/// Where in a document a value sits. Cheap to extend while descending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Path(String);

impl Path {
    pub fn root() -> Self {
        Self(String::new())
    }

    pub fn field(&self, name: &str) -> Self {
        if self.0.is_empty() {
            Self(name.to_owned())
        } else {
            Self(format!("{}.{name}", self.0))
        }
    }

    pub fn index(&self, i: usize) -> Self {
        Self(format!("{}[{i}]", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Collects errors while validating.
#[derive(Debug, Default)]
pub struct Report {
    errors: Vec<FieldError>,
}

impl Report {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, path: &Path, code: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            path: path.0.clone(),
            code: code.to_owned(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn finish(self) -> Result<(), ValidationErrors> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(self.errors))
        }
    }

    // --- reusable checks -------------------------------------------------

    /// Non-blank text of at most `max` characters.
    pub fn required_text(&mut self, path: &Path, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.push(path, codes::REQUIRED, "must not be empty");
        } else {
            self.max_len(path, value, max);
        }
    }

    /// Absent, or non-blank text of at most `max` characters. Blank strings
    /// are rejected so "no value" has one spelling on the wire: `null`.
    pub fn optional_text(&mut self, path: &Path, value: Option<&str>, max: usize) {
        if let Some(v) = value {
            if v.trim().is_empty() {
                self.push(
                    path,
                    codes::BLANK,
                    "must not be blank; omit it or send null",
                );
            } else {
                self.max_len(path, v, max);
            }
        }
    }

    /// At most `max` characters (an empty string passes).
    pub fn max_len(&mut self, path: &Path, value: &str, max: usize) {
        let n = value.chars().count();
        if n > max {
            self.push(
                path,
                codes::TOO_LONG,
                format!("is {n} characters long; at most {max} allowed"),
            );
        }
    }

    pub fn max_items(&mut self, path: &Path, len: usize, max: usize) {
        if len > max {
            self.push(
                path,
                codes::TOO_MANY,
                format!("has {len} items; at most {max} allowed"),
            );
        }
    }

    /// Finite and within `[min, max]`.
    pub fn in_range(&mut self, path: &Path, value: f64, min: f64, max: f64) {
        if !value.is_finite() {
            self.push(path, codes::NOT_FINITE, "must be a finite number");
        } else if value < min || value > max {
            self.push(
                path,
                codes::OUT_OF_RANGE,
                format!("must be between {min} and {max}; got {value}"),
            );
        }
    }

    pub fn latitude(&mut self, path: &Path, lat: f64) {
        self.in_range(path, lat, -90.0, 90.0);
    }

    pub fn longitude(&mut self, path: &Path, lon: f64) {
        self.in_range(path, lon, -180.0, 180.0);
    }

    /// Finite and `>= 0`.
    pub fn non_negative(&mut self, path: &Path, value: f64) {
        if !value.is_finite() {
            self.push(path, codes::NOT_FINITE, "must be a finite number");
        } else if value < 0.0 {
            self.push(
                path,
                codes::NEGATIVE,
                format!("must not be negative; got {value}"),
            );
        }
    }

    pub fn email(&mut self, path: &Path, value: &str) {
        if !is_plausible_email(value) {
            self.push(
                path,
                codes::INVALID_EMAIL,
                "is not a plausible email address",
            );
        }
    }

    pub fn phone(&mut self, path: &Path, value: &str) {
        if !is_plausible_phone(value) {
            self.push(
                path,
                codes::INVALID_PHONE,
                "is not a plausible phone number (6-15 digits, optional leading +)",
            );
        }
    }
}

/// Things that can check themselves.
pub trait Validate {
    /// Appends every problem found, with paths below `path`.
    fn validate_at(&self, path: &Path, report: &mut Report);

    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut report = Report::new();
        self.validate_at(&Path::root(), &mut report);
        report.finish()
    }
}

impl<T: Validate> Validate for [T] {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        for (i, item) in self.iter().enumerate() {
            item.validate_at(&path.index(i), report);
        }
    }
}

impl<T: Validate> Validate for Vec<T> {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        self.as_slice().validate_at(path, report);
    }
}

impl<T: Validate> Validate for Option<T> {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        if let Some(v) = self {
            v.validate_at(path, report);
        }
    }
}

/// Validates a batch as if it were the field `name` of a request body, so
/// paths read `orders[3].address.lat`.
pub fn validate_batch<T: Validate>(name: &str, items: &[T]) -> Result<(), ValidationErrors> {
    let mut report = Report::new();
    items.validate_at(&Path::root().field(name), &mut report);
    report.finish()
}

/// Deliberately loose: one `@`, something before it, a dotted domain after
/// it, no spaces. Real verification is sending mail.
pub fn is_plausible_email(s: &str) -> bool {
    if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
}

/// Accepts national and international spellings (`06 12 34 56 78`,
/// `+33 6 12 34 56 78`, `(555) 010-9999`): an optional leading `+`, then
/// 6 to 15 digits (E.164's maximum) separated by spaces, dots, dashes or
/// parentheses.
pub fn is_plausible_phone(s: &str) -> bool {
    let s = s.trim();
    let rest = s.strip_prefix('+').unwrap_or(s);
    let mut digits = 0;
    for c in rest.chars() {
        match c {
            '0'..='9' => digits += 1,
            ' ' | '.' | '-' | '(' | ')' => {}
            _ => return false,
        }
    }
    (6..=15).contains(&digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_nest_fields_and_indices() {
        let p = Path::root()
            .field("orders")
            .index(3)
            .field("address")
            .field("lat");
        assert_eq!(p.as_str(), "orders[3].address.lat");
        assert_eq!(Path::root().index(0).field("x").as_str(), "[0].x");
    }

    #[test]
    fn email_plausibility() {
        for ok in ["a@b.co", "jean.dupont+tag@example.com", "é@exämple.fr"] {
            assert!(is_plausible_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "@b.com",
            "a@@b.com",
            "a b@c.com",
            "a@.com",
            "a@b.com.",
            "a@b..com",
        ] {
            assert!(!is_plausible_email(bad), "{bad}");
        }
    }

    #[test]
    fn phone_plausibility() {
        for ok in [
            "06 12 34 56 78",
            "+33 6 12 34 56 78",
            "+33612345678",
            "04.78.00.00.00",
            "(555) 010-9999",
        ] {
            assert!(is_plausible_phone(ok), "{ok}");
        }
        for bad in [
            "",
            "12345",
            "+33 6 12 34 56 78 90 12 34",
            "06 12 AB 56 78",
            "++33612345678",
        ] {
            assert!(!is_plausible_phone(bad), "{bad}");
        }
    }

    #[test]
    fn report_collects_every_problem_in_order() {
        let mut r = Report::new();
        r.required_text(&Path::root().field("name"), "  ", 10);
        r.latitude(&Path::root().field("lat"), 91.0);
        r.non_negative(&Path::root().field("d"), f64::NAN);
        r.optional_text(&Path::root().field("note"), Some(""), 10);
        r.optional_text(&Path::root().field("ok"), None, 10);
        let errs = r.finish().unwrap_err();
        assert_eq!(errs.paths(), ["name", "lat", "d", "note"]);
        assert!(errs.has("lat", codes::OUT_OF_RANGE));
        assert!(errs.has("d", codes::NOT_FINITE));
        assert!(errs.has("note", codes::BLANK));
        assert!(
            errs.to_string()
                .starts_with("4 validation error(s): name: must not be empty")
        );
    }

    #[test]
    fn validation_errors_serialise_as_a_plain_array() {
        let errs = ValidationErrors(vec![FieldError {
            path: "a".into(),
            code: codes::REQUIRED.into(),
            message: "m".into(),
        }]);
        assert_eq!(
            serde_json::to_value(&errs).unwrap(),
            serde_json::json!([{"path": "a", "code": "required", "message": "m"}])
        );
    }
}
