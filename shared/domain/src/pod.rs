//! Proof of delivery captured by the driver app.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{OrderId, StopId};
use crate::order::{Money, Order};
use crate::time::rfc3339;
use crate::validation::{Path, Report, Validate, codes};

/// A photo stored as a blob; the app uploads it separately and refers to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    Card,
    Cheque,
}

/// Cash on delivery actually collected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CashCollected {
    pub amount: Money,
    pub method: PaymentMethod,
}

/// Evidence that an order was handed over. At least one of photos,
/// signature, recipient name, verified OTP or scanned barcode is required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofOfDelivery {
    pub order_id: OrderId,
    #[serde(default)]
    pub stop_id: Option<StopId>,
    #[serde(default)]
    pub photos: Vec<PhotoRef>,
    #[serde(default)]
    pub signature: Option<Signature>,
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
