//! Proof of delivery captured by the driver app.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{DriverId, OrderId, OrgId, PlanId, StopId};
use crate::lifecycle::FailureReason;
use crate::order::{Money, Order};
use crate::time::rfc3339;
use crate::validation::{Path, Report, Validate, codes};

/// A photo stored as a blob; the app uploads it separately and refers to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PhotoRef {
    /// Storage key (S3 key or local file name) assigned by the upload.
    pub blob_key: String,
    /// Lower-case hex SHA-256 of the bytes, to detect tampering or corruption.
    pub sha256: String,
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub content_type: String,
    pub size_bytes: u64,
}

/// Largest accepted photo (phones produce a few MB; the app downsizes).
pub const MAX_PHOTO_BYTES: u64 = 10 * 1024 * 1024;

pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Validate for PhotoRef {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        report.required_text(&path.field("blob_key"), &self.blob_key, 200);
        if !is_sha256_hex(&self.sha256) {
            report.push(
                &path.field("sha256"),
                codes::INVALID_FORMAT,
                "must be 64 lower-case hex digits",
            );
        }
        if !["image/jpeg", "image/png", "image/webp"].contains(&self.content_type.as_str()) {
            report.push(
                &path.field("content_type"),
                codes::NOT_ALLOWED,
                "must be image/jpeg, image/png or image/webp",
            );
        }
        if self.size_bytes == 0 || self.size_bytes > MAX_PHOTO_BYTES {
            report.push(
                &path.field("size_bytes"),
                codes::OUT_OF_RANGE,
                format!("must be between 1 and {MAX_PHOTO_BYTES}"),
            );
        }
    }
}

/// A signature as pen strokes; points are `[x, y]` normalised to `[0, 1]`
/// of the signing pad, so any screen can redraw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Signature {
    pub strokes: Vec<Vec<[f32; 2]>>,
}

pub const MAX_SIGNATURE_POINTS: usize = 5_000;

impl Validate for Signature {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        let sp = path.field("strokes");
        if self.strokes.iter().all(Vec::is_empty) {
            report.push(&sp, codes::REQUIRED, "a signature needs at least one point");
        }
        let total: usize = self.strokes.iter().map(Vec::len).sum();
        report.max_items(&sp, total, MAX_SIGNATURE_POINTS);
        for (i, stroke) in self.strokes.iter().enumerate() {
            if let Some(j) = stroke
                .iter()
                .position(|[x, y]| !(0.0..=1.0).contains(x) || !(0.0..=1.0).contains(y))
            {
                report.push(
                    &sp.index(i).index(j),
                    codes::OUT_OF_RANGE,
                    "coordinates must be within [0, 1]",
                );
            }
        }
    }
}

/// Where the device was when capturing the proof.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GeoTag {
    pub lat: f64,
    pub lon: f64,
    #[serde(default)]
    pub accuracy_m: Option<f64>,
}

impl Validate for GeoTag {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        report.latitude(&path.field("lat"), self.lat);
        report.longitude(&path.field("lon"), self.lon);
        if let Some(a) = self.accuracy_m {
            report.non_negative(&path.field("accuracy_m"), a);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    Card,
    Cheque,
}

/// Cash on delivery actually collected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CashCollected {
    pub amount: Money,
    pub method: PaymentMethod,
}

/// Evidence that an order was handed over. At least one of photos,
/// signature, recipient name, verified OTP or scanned barcode is required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProofOfDelivery {
    pub order_id: OrderId,
    #[serde(default)]
    pub stop_id: Option<StopId>,
    #[serde(default)]
    pub photos: Vec<PhotoRef>,
    #[serde(default)]
    pub signature: Option<Signature>,
    /// The signature as a PNG blob instead of (or besides) strokes.
    #[serde(default)]
    pub signature_image: Option<PhotoRef>,
    /// Who took the goods (may differ from the order's recipient).
    #[serde(default)]
    pub recipient_name: Option<String>,
    /// The recipient read out the one-time code sent to them.
    #[serde(default)]
    pub otp_verified: bool,
    /// Value scanned from the parcel.
    #[serde(default)]
    pub barcode: Option<String>,
    #[serde(default)]
    pub geotag: Option<GeoTag>,
    #[serde(with = "rfc3339")]
    pub device_time: OffsetDateTime,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub cash_collected: Option<CashCollected>,
}

pub const MAX_PHOTOS: usize = 5;

impl ProofOfDelivery {
    pub fn has_evidence(&self) -> bool {
        !self.photos.is_empty()
            || self.signature.is_some()
            || self.signature_image.is_some()
            || self
                .recipient_name
                .as_deref()
                .is_some_and(|n| !n.trim().is_empty())
            || self.otp_verified
            || self.barcode.is_some()
    }

    /// Checks the proof against the order it claims to prove: same id,
    /// matching barcode, and the cash on delivery collected in full.
    pub fn check_against(&self, order: &Order) -> Result<(), crate::validation::ValidationErrors> {
        let mut report = Report::new();
        let root = Path::root();
        if self.order_id != order.id {
            report.push(
                &root.field("order_id"),
                codes::NOT_ALLOWED,
                "does not match the order",
            );
        }
        if let (Some(scanned), Some(expected)) = (&self.barcode, &order.barcode)
            && scanned != expected
        {
            report.push(
                &root.field("barcode"),
                codes::NOT_ALLOWED,
                "does not match the order's barcode",
            );
        }
        if let Some(due) = &order.cash_on_delivery {
            match &self.cash_collected {
                None => report.push(
                    &root.field("cash_collected"),
                    codes::REQUIRED,
                    "the order is cash on delivery",
                ),
                Some(c) if c.amount != *due => report.push(
                    &root.field("cash_collected").field("amount"),
                    codes::OUT_OF_RANGE,
                    format!("must be {} {} minor units", due.amount_minor, due.currency),
                ),
                Some(_) => {}
            }
        }
        report.finish()
    }
}

impl Validate for ProofOfDelivery {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        if !self.has_evidence() {
            report.push(
                path,
                codes::NO_EVIDENCE,
                "needs a photo, signature, recipient name, verified OTP or scanned barcode",
            );
        }
        let pp = path.field("photos");
        report.max_items(&pp, self.photos.len(), MAX_PHOTOS);
        self.photos.validate_at(&pp, report);
        self.signature.validate_at(&path.field("signature"), report);
        if let Some(img) = &self.signature_image {
            let ip = path.field("signature_image");
            img.validate_at(&ip, report);
            if img.content_type != "image/png" {
                report.push(&ip.field("content_type"), codes::NOT_ALLOWED, "a signature image must be image/png");
            }
        }
        report.optional_text(
            &path.field("recipient_name"),
            self.recipient_name.as_deref(),
            120,
        );
        report.optional_text(&path.field("barcode"), self.barcode.as_deref(), 64);
        self.geotag.validate_at(&path.field("geotag"), report);
        report.optional_text(&path.field("notes"), self.notes.as_deref(), 1000);
        if let Some(c) = &self.cash_collected {
            c.amount
                .validate_at(&path.field("cash_collected").field("amount"), report);
        }
    }
}

// --- Organisation policy ---------------------------------------------------

/// What an organisation asks of proofs of delivery and failed attempts
/// (`OrgSettings::pod`). Every field has a default, so `{}` is valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct PodPolicy {
    /// Delivery attempts an order gets; a failure beyond this stays failed.
    pub max_attempts: u32,
    /// A failed order with attempts left goes back to `created` for re-planning.
    pub auto_reattempt: bool,
    /// A geofenced arrival plus the completion's time and place is proof
    /// enough (no photo, signature or name needed).
    pub auto_pod: bool,
    /// How close (metres) to the stop arrival and completion must be for `auto_pod`.
    pub auto_pod_radius_m: u32,
    /// Customers see the photo and signature through their tracking link.
    pub customer_can_see_pod: bool,
    /// Every delivery needs the one-time code sent to the customer.
    pub otp_required: bool,
    /// Wrong codes allowed before the code locks.
    pub otp_max_attempts: u32,
    /// Digits in a code, 4-6.
    pub otp_digits: u8,
}

impl Default for PodPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 2,
            auto_reattempt: true,
            auto_pod: false,
            auto_pod_radius_m: 75,
            customer_can_see_pod: true,
            otp_required: false,
            otp_max_attempts: 5,
            otp_digits: 6,
        }
    }
}

impl Validate for PodPolicy {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        let range = |report: &mut Report, field: &str, v: u64, lo: u64, hi: u64| {
            if !(lo..=hi).contains(&v) {
                report.push(&path.field(field), codes::OUT_OF_RANGE, format!("must be between {lo} and {hi}"));
            }
        };
        range(report, "max_attempts", self.max_attempts.into(), 1, 10);
        range(report, "auto_pod_radius_m", self.auto_pod_radius_m.into(), 10, 1_000);
        range(report, "otp_max_attempts", self.otp_max_attempts.into(), 1, 20);
        range(report, "otp_digits", self.otp_digits.into(), 4, 6);
    }
}

// --- Driver actions ----------------------------------------------------------

/// `POST /api/routes/{route_id}/start`: the driver leaves the depot; the
/// route's dispatched orders go out for delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StartRoute {
    pub plan_id: PlanId,
    #[serde(with = "rfc3339")]
    pub device_time: OffsetDateTime,
    #[serde(default)]
    pub odometer_km: Option<f64>,
    /// The driver went through the vehicle check.
    #[serde(default)]
    pub vehicle_checked: bool,
}

impl Validate for StartRoute {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        if let Some(km) = self.odometer_km {
            report.non_negative(&path.field("odometer_km"), km);
        }
    }
}

/// `POST /api/stops/{stop_id}/arrive`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ArriveAtStop {
    pub plan_id: PlanId,
    #[serde(with = "rfc3339")]
    pub device_time: OffsetDateTime,
    #[serde(default)]
    pub geotag: Option<GeoTag>,
}

impl Validate for ArriveAtStop {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        self.geotag.validate_at(&path.field("geotag"), report);
    }
}

/// `POST /api/stops/{stop_id}/complete`: delivered, with its proof.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CompleteStop {
    pub plan_id: PlanId,
    pub pod: ProofOfDelivery,
}

/// `POST /api/stops/{stop_id}/fail`: not delivered, with a reason from the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FailStop {
    pub plan_id: PlanId,
    pub reason: FailureReason,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(with = "rfc3339")]
    pub device_time: OffsetDateTime,
    #[serde(default)]
    pub geotag: Option<GeoTag>,
    /// Evidence of the attempt (a closed door, a damaged parcel).
    #[serde(default)]
    pub photos: Vec<PhotoRef>,
}

impl Validate for FailStop {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        let np = path.field("note");
        match &self.note {
            None if self.reason == FailureReason::Other => report.push(&np, codes::REQUIRED, "is required when the reason is other"),
            None => {}
            Some(n) => report.optional_text(&np, Some(n), 500),
        }
        self.geotag.validate_at(&path.field("geotag"), report);
        let pp = path.field("photos");
        report.max_items(&pp, self.photos.len(), MAX_PHOTOS);
        self.photos.validate_at(&pp, report);
    }
}

/// `POST /api/stops/{stop_id}/otp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VerifyOtp {
    pub plan_id: PlanId,
    pub code: String,
}

/// The answer to an OTP check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OtpStatus {
    pub verified: bool,
    pub attempts_left: u32,
    pub locked: bool,
}

/// `POST /api/pod/uploads`: ask where to upload a photo or signature image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    pub order_id: OrderId,
    pub content_type: String,
    pub size_bytes: u64,
    pub sha256: String,
}

impl Validate for UploadRequest {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        if !is_sha256_hex(&self.sha256) {
            report.push(&path.field("sha256"), codes::INVALID_FORMAT, "must be 64 lower-case hex digits");
        }
        if !["image/jpeg", "image/png", "image/webp"].contains(&self.content_type.as_str()) {
            report.push(&path.field("content_type"), codes::NOT_ALLOWED, "must be image/jpeg, image/png or image/webp");
        }
        if self.size_bytes == 0 || self.size_bytes > MAX_PHOTO_BYTES {
            report.push(&path.field("size_bytes"), codes::OUT_OF_RANGE, format!("must be between 1 and {MAX_PHOTO_BYTES}"));
        }
    }
}

/// Where and how to upload: POST `multipart/form-data` to `url` with every
/// field of `fields`, then the bytes as field `file`, last (an S3 presigned
/// POST, or the same layout on `doorstep serve`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadTicket {
    pub blob_key: String,
    pub url: String,
    pub fields: BTreeMap<String, String>,
    #[serde(with = "rfc3339")]
    pub expires_at: OffsetDateTime,
}

// --- Stored records ------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VisitKind {
    RouteStarted,
    Arrived,
}

/// A driver's route start or arrival at a stop, as reported (device time)
/// and as received; arrival times feed reports and automatic POD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitRecord {
    pub org_id: OrgId,
    pub plan_id: PlanId,
    pub kind: VisitKind,
    /// The route (route start) or stop (arrival).
    pub subject_id: String,
    #[serde(default)]
    pub driver_id: Option<DriverId>,
    #[serde(with = "rfc3339")]
    pub device_time: OffsetDateTime,
    #[serde(with = "rfc3339")]
    pub recorded_at: OffsetDateTime,
    #[serde(default)]
    pub geotag: Option<GeoTag>,
    /// Distance from the stop's planned location, when geotagged.
    #[serde(default)]
    pub distance_m: Option<f64>,
    #[serde(default)]
    pub odometer_km: Option<f64>,
    #[serde(default)]
    pub vehicle_checked: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PodOutcome {
    Delivered,
    Failed {
        reason: FailureReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
}

/// What the server recorded for one delivery attempt: the driver's proof,
/// what the server checked, and a SHA-256 over all of it (canonical JSON,
/// blob hashes included), so any later change is detectable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PodRecord {
    pub org_id: OrgId,
    pub order_id: OrderId,
    pub plan_id: PlanId,
    pub stop_id: StopId,
    #[serde(default)]
    pub driver_id: Option<DriverId>,
    /// The order's failed attempts before this one.
    pub attempt: u32,
    #[serde(flatten)]
    pub outcome: PodOutcome,
    pub proof: ProofOfDelivery,
    /// The server holds a verified one-time code for this attempt.
    pub otp_verified: bool,
    /// Proved by a geofenced arrival and completion (org policy `auto_pod`).
    pub auto_pod: bool,
    /// Cash on delivery the order asked for.
    #[serde(default)]
    pub cash_due: Option<Money>,
    #[serde(with = "rfc3339")]
    pub recorded_at: OffsetDateTime,
    /// Lower-case hex SHA-256 of the canonical JSON of every other field.
    pub sha256: String,
}

/// A stored proof that no longer matches its hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("proof of delivery for order {order_id} was altered: {what}")]
pub struct Tampered {
    pub order_id: OrderId,
    pub what: String,
}

impl PodRecord {
    /// The canonical JSON the hash covers: every field but `sha256`, object
    /// keys sorted, no whitespace.
    pub fn canonical_json(&self) -> String {
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let serde_json::Value::Object(map) = &mut value {
            map.remove("sha256");
        }
        let mut out = String::new();
        write_canonical(&value, &mut out);
        out
    }

    /// Every blob the record refers to (photos, then the signature image).
    pub fn blobs(&self) -> impl Iterator<Item = &PhotoRef> {
        self.proof.photos.iter().chain(self.proof.signature_image.as_ref())
    }

    /// Checks the stored hash against the record's content. Blob contents
    /// are checked by the caller against each [`PhotoRef::sha256`], which
    /// this hash covers.
    pub fn verify_hash(&self, sha256_hex: impl Fn(&[u8]) -> String) -> Result<(), Tampered> {
        if sha256_hex(self.canonical_json().as_bytes()) == self.sha256 {
            Ok(())
        } else {
            Err(Tampered { order_id: self.order_id.clone(), what: "its content does not match its SHA-256".into() })
        }
    }
}

/// JSON with object keys sorted at every level (serde_json may keep
/// insertion order when a dependency turns on `preserve_order`).
fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// What `GET /api/orders/{id}/pod` answers: every attempt's record with
/// short-lived URLs for its blobs (same order as [`PodRecord::blobs`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderPod {
    pub order_id: OrderId,
    pub attempts: Vec<PodAttempt>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PodAttempt {
    pub record: PodRecord,
    pub photo_urls: Vec<String>,
    #[serde(default)]
    pub signature_image_url: Option<String>,
    /// The record's hash and its blobs' hashes still match.
    pub intact: bool,
}

/// What a customer sees of the proof through their tracking link, if the
/// organisation allows it (`PodPolicy::customer_can_see_pod`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicPod {
    #[serde(with = "rfc3339")]
    pub delivered_at: OffsetDateTime,
    #[serde(default)]
    pub recipient_name: Option<String>,
    /// Short-lived URLs.
    pub photo_urls: Vec<String>,
    #[serde(default)]
    pub signature: Option<Signature>,
    #[serde(default)]
    pub signature_image_url: Option<String>,
}

impl Validate for CompleteStop {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        self.pod.validate_at(&path.field("pod"), report);
    }
}

/// The answer to completing or failing a stop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StopOutcome {
    /// The order after the change (after a failure with attempts left and
    /// `auto_reattempt`, back in `created`).
    pub order: Order,
    pub pod: PodRecord,
    /// A failed order went back to planning for another attempt.
    pub reattempt_scheduled: bool,
}

/// The answer to starting a route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteStartOutcome {
    pub visit: VisitRecord,
    /// Every order on the route, as it is now.
    pub orders: Vec<Order>,
}
