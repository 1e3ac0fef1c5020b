//! The `BlobStore` port on local files, for `doorstep serve`: blobs live
//! under `<data>/blobs/data/{key}` with their content type in
//! `<data>/blobs/meta/{key}.json`. Uploads go through `POST /api/pod/blobs`
//! with the same form layout as an S3 presigned POST (the fields of the
//! ticket, then `file`), so the browser code is identical; the `policy`
//! field is HMAC-signed with the server secret and names the key, the
//! content type, the largest size and the expiry. Downloads are
//! `GET /api/pod/blobs/{key}?expires=..&sig=..`, HMAC-signed the same way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use doorstep_core::ports::{BlobError, BlobStat, BlobStore, UploadGrant, is_valid_key};
use doorstep_domain::pod::UploadTicket;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;

/// Where the routers serve uploads and downloads.
pub const BLOB_ROUTE: &str = "/api/pod/blobs";
pub const POLICY_FIELD: &str = "policy";
pub const SIGNATURE_FIELD: &str = "x-doorstep-signature";

pub use doorstep_core::crypto::hmac_sha256;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a signed upload form allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadPolicy {
    pub key: String,
    pub content_type: String,
    pub max_bytes: u64,
    /// Unix seconds.
    pub expires: i64,
}

/// Why an upload or a download was refused; the HTTP layer picks the status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the form has no {0} field; send every field of the upload ticket, then the file")]
    MissingField(&'static str),
    #[error("the upload form's signature is not valid; ask for a new ticket (POST /api/pod/uploads)")]
    BadSignature,
    #[error("the upload ticket expired; ask for a new one")]
    Expired,
    #[error("field {0} does not match the upload ticket")]
    Mismatch(&'static str),
    #[error("only images may be uploaded, not {0}")]
    NotAnImage(String),
    #[error("the file is larger than the {max}-byte limit")]
    TooLarge { max: u64 },
    #[error("the file is empty")]
    Empty,
    #[error("this download link is not valid")]
    BadLink,
    #[error("this download link expired")]
    LinkExpired,
}

#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    content_type: String,
}

/// Blobs in a directory. Cheap to clone.
#[derive(Clone)]
pub struct FsBlobStore {
    root: PathBuf,
    secret: Vec<u8>,
}

impl std::fmt::Debug for FsBlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsBlobStore").field("root", &self.root).finish_non_exhaustive()
    }
}

fn io(e: std::io::Error) -> BlobError {
    BlobError::Unavailable(e.to_string())
}

impl FsBlobStore {
    /// Blobs under `root` (created if needed); `secret` signs forms and links.
    pub fn open(root: &Path, secret: &[u8]) -> Result<Self, BlobError> {
        for sub in ["data", "meta", "tmp"] {
            std::fs::create_dir_all(root.join(sub)).map_err(|e| BlobError::Unavailable(format!("cannot create {}: {e}", root.join(sub).display())))?;
        }
        // Derived, so the token secret itself never signs blob URLs.
        let secret = hmac_sha256(secret, b"doorstep blobs").to_vec();
        Ok(Self { root: root.to_owned(), secret })
    }

    fn data_path(&self, key: &str) -> Result<PathBuf, BlobError> {
        if !is_valid_key(key) {
            return Err(BlobError::InvalidKey(key.to_owned()));
        }
        Ok(self.root.join("data").join(key))
    }

    fn meta_path(&self, key: &str) -> PathBuf {
        self.root.join("meta").join(format!("{key}.json"))
    }

    fn sign(&self, message: &str) -> String {
        hex(&hmac_sha256(&self.secret, message.as_bytes()))
    }

    /// Checks a submitted form's fields (everything before `file`) against
    /// its signed policy and returns what it allows.
    pub fn accept_form(&self, fields: &BTreeMap<String, String>, now: OffsetDateTime) -> Result<UploadPolicy, Refused> {
        let field = |name: &'static str| fields.get(name).ok_or(Refused::MissingField(name));
        let encoded = field(POLICY_FIELD)?;
        if !same(&self.sign(&format!("upload\n{encoded}")), field(SIGNATURE_FIELD)?) {
            return Err(Refused::BadSignature);
        }
        let policy: UploadPolicy = URL_SAFE_NO_PAD
            .decode(encoded)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(Refused::BadSignature)?;
        if now.unix_timestamp() >= policy.expires {
            return Err(Refused::Expired);
        }
        if field("key")? != &policy.key {
            return Err(Refused::Mismatch("key"));
        }
        let content_type = field("Content-Type")?;
        if !content_type.starts_with("image/") {
            return Err(Refused::NotAnImage(content_type.clone()));
        }
        if content_type != &policy.content_type {
            return Err(Refused::Mismatch("Content-Type"));
        }
        Ok(policy)
    }

    /// Starts writing an accepted upload to a temporary file.
    pub async fn begin(&self, policy: &UploadPolicy) -> Result<BlobWriter, BlobError> {
        let path = self.data_path(&policy.key)?;
        let tmp = self.root.join("tmp").join(format!("{}.part", doorstep_core::crypto::random_token(12)));
        let file = tokio::fs::File::create(&tmp).await.map_err(io)?;
        Ok(BlobWriter {
            file,
            tmp,
            path,
            meta: self.meta_path(&policy.key),
            content_type: policy.content_type.clone(),
            max: policy.max_bytes,
            written: 0,
            hasher: Sha256::new(),
        })
    }

    /// Checks a download link's signature and expiry.
    pub fn check_link(&self, key: &str, expires: i64, sig: &str, now: OffsetDateTime) -> Result<(), Refused> {
        if !same(&self.sign(&format!("download\n{key}\n{expires}")), sig) {
            return Err(Refused::BadLink);
        }
        if now.unix_timestamp() >= expires {
            return Err(Refused::LinkExpired);
        }
        Ok(())
    }

    /// The blob's bytes and content type (after [`Self::check_link`]).
    pub async fn read(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, BlobError> {
        let path = self.data_path(key)?;
        let bytes = match tokio::fs::read(&path).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let meta: Meta = match tokio::fs::read(self.meta_path(key)).await {
            Ok(m) => serde_json::from_slice(&m).map_err(|e| BlobError::Unavailable(format!("bad metadata for {key}: {e}")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        Ok(Some((bytes, meta.content_type)))
    }
}

/// An upload being received: counted and hashed chunk by chunk, never
/// held in memory whole; moved into place only when complete.
#[derive(Debug)]
pub struct BlobWriter {
    file: tokio::fs::File,
    tmp: PathBuf,
    path: PathBuf,
    meta: PathBuf,
    content_type: String,
    max: u64,
    written: u64,
    hasher: Sha256,
}

impl BlobWriter {
    /// Appends a chunk; refuses (and the caller aborts) past the limit.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), WriteError> {
        self.written += chunk.len() as u64;
        if self.written > self.max {
            return Err(WriteError::Refused(Refused::TooLarge { max: self.max }));
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk).await.map_err(|e| WriteError::Store(io(e)))
    }

    /// Moves the file into place with its metadata.
    pub async fn finish(mut self) -> Result<BlobStat, WriteError> {
        if self.written == 0 {
            self.abort().await;
            return Err(WriteError::Refused(Refused::Empty));
        }
        let result = async {
            self.file.flush().await.map_err(io)?;
            self.file.sync_all().await.map_err(io)?;
            for p in [&self.path, &self.meta] {
                if let Some(dir) = p.parent() {
                    tokio::fs::create_dir_all(dir).await.map_err(io)?;
                }
            }
            let meta = serde_json::to_vec(&Meta { content_type: self.content_type.clone() }).map_err(|e| BlobError::Unavailable(e.to_string()))?;
            tokio::fs::write(&self.meta, meta).await.map_err(io)?;
            tokio::fs::rename(&self.tmp, &self.path).await.map_err(io)
        }
        .await;
        match result {
            Ok(()) => Ok(BlobStat { size_bytes: self.written, content_type: self.content_type, sha256: hex(&self.hasher.finalize()) }),
            Err(e) => {
                let _ = tokio::fs::remove_file(&self.tmp).await;
                Err(WriteError::Store(e))
            }
        }
    }

    /// Drops the partial file.
    pub async fn abort(self) {
        drop(self.file);
        if let Err(e) = tokio::fs::remove_file(&self.tmp).await {
            tracing::warn!(path = %self.tmp.display(), "cannot remove a partial upload: {e}");
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Refused(Refused),
    #[error(transparent)]
    Store(BlobError),
}

#[async_trait]
impl BlobStore for FsBlobStore {
    fn backend(&self) -> &'static str {
        "filesystem"
    }

    async fn presign_upload(&self, grant: &UploadGrant) -> Result<UploadTicket, BlobError> {
        self.data_path(&grant.key)?;
        let policy = UploadPolicy {
            key: grant.key.clone(),
            content_type: grant.content_type.clone(),
            max_bytes: grant.max_bytes,
            expires: grant.expires_at.unix_timestamp(),
        };
        let encoded = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&policy).map_err(|e| BlobError::Unavailable(e.to_string()))?);
        let fields = BTreeMap::from([
            ("key".to_owned(), grant.key.clone()),
            ("Content-Type".to_owned(), grant.content_type.clone()),
            (SIGNATURE_FIELD.to_owned(), self.sign(&format!("upload\n{encoded}"))),
            (POLICY_FIELD.to_owned(), encoded),
        ]);
        Ok(UploadTicket { blob_key: grant.key.clone(), url: BLOB_ROUTE.to_owned(), fields, expires_at: grant.expires_at })
    }

    async fn stat(&self, key: &str) -> Result<Option<BlobStat>, BlobError> {
        // Hash what is on disk now, so a changed file is noticed.
        Ok(self.read(key).await?.map(|(bytes, content_type)| BlobStat {
            size_bytes: bytes.len() as u64,
            content_type,
            sha256: hex(&Sha256::digest(&bytes)),
        }))
    }

    async fn presign_download(&self, key: &str, _now: OffsetDateTime, expires_at: OffsetDateTime) -> Result<String, BlobError> {
        self.data_path(key)?;
        let expires = expires_at.unix_timestamp();
        Ok(format!("{BLOB_ROUTE}/{key}?expires={expires}&sig={}", self.sign(&format!("download\n{key}\n{expires}"))))
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        for path in [self.data_path(key)?, self.meta_path(key)] {
            match tokio::fs::remove_file(&path).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(e)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex(&mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
