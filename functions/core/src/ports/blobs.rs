//! The blob store: where proof-of-delivery photos and signature images live.
//! Browsers upload straight to it with a ticket (an S3 presigned POST, or
//! the same form layout on `doorstep serve`), and read through short-lived
//! URLs. Adapters: `doorstep-blobs-fs` (local files) and `doorstep-blobs-s3`.

use async_trait::async_trait;
use doorstep_domain::pod::UploadTicket;
use doorstep_domain::{OrderId, OrgId};
use time::OffsetDateTime;

/// An upload the server allows: one key, one content type, at most `max_bytes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadGrant {
    pub key: String,
    pub content_type: String,
    pub max_bytes: u64,
    pub expires_at: OffsetDateTime,
}

/// What is stored under a key: its size, content type and SHA-256 (lower-case hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobStat {
    pub size_bytes: u64,
    pub content_type: String,
    pub sha256: String,
}

/// Where an uploaded blob stands. A ticket makes it `pending`; a proof of
/// delivery citing it makes it `referenced` (for ever); the orphan sweep
/// moves a `pending` one granted long ago to `deleting`, deletes the blob,
/// then marks it `deleted`. A `deleting` or `deleted` key can no longer be
/// cited, so the sweep never removes a blob a proof holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UploadState {
    Pending,
    Referenced,
    Deleting,
    Deleted,
}

impl UploadState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Referenced => "referenced",
            Self::Deleting => "deleting",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Referenced, Self::Deleting, Self::Deleted].into_iter().find(|s| s.as_str() == text)
    }
}

/// One upload ticket's blob, as the store tracks it for the orphan sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    pub org_id: OrgId,
    pub order_id: OrderId,
    pub key: String,
    pub granted_at: OffsetDateTime,
    pub state: UploadState,
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("invalid blob key {0:?}")]
    InvalidKey(String),
    #[error("the blob store is unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    fn backend(&self) -> &'static str;

    /// A ticket the browser uploads with (URL and form fields).
    async fn presign_upload(&self, grant: &UploadGrant) -> Result<UploadTicket, BlobError>;

    /// Size, type and SHA-256 of the stored bytes; `None` if nothing is there.
    /// The hash is of the bytes as stored, never of what a client claimed.
    async fn stat(&self, key: &str) -> Result<Option<BlobStat>, BlobError>;

    /// A URL that reads the blob until `expires_at`.
    async fn presign_download(&self, key: &str, now: OffsetDateTime, expires_at: OffsetDateTime) -> Result<String, BlobError>;

    /// Deletes the blob; deleting a missing one is not an error.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
}

/// Keys are `pod/{org}/{order}/{random}.{ext}`: printable, no `..`, no
/// leading `/`, so they are safe as S3 keys and as relative file paths.
pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 300
        && !key.starts_with('/')
        && key.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b))
}
