//! The `BlobStore` port on S3. Browsers upload with a presigned POST whose
//! policy pins the key, requires an `image/*` content type equal to the
//! ticket's, and limits the size (`content-length-range`, 1 byte to
//! 10 MiB); S3 enforces those conditions, but does not check a SHA-256 on a
//! POST, so [`BlobStore::stat`] reads the object and hashes it. Downloads
//! are presigned GETs.
//!
//! The SDK has no presigned POST, so the policy is signed here (SigV4, as
//! S3's "browser-based uploads using POST" documents) with the client's
//! own credentials.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::presigning::PresigningConfig;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use doorstep_core::crypto::hmac_sha256;
use doorstep_core::ports::{BlobError, BlobStat, BlobStore, UploadGrant, is_valid_key};
use doorstep_domain::pod::UploadTicket;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

/// Objects larger than this are not hashed (nothing larger can be uploaded
/// through a ticket); `stat` reports them as unavailable.
const MAX_HASHED_BYTES: i64 = 64 * 1024 * 1024;

/// The bucket that holds proof-of-delivery blobs.
pub const BUCKET_ENV: &str = "DOORSTEP_POD_BUCKET";

/// S3 with the client's region and credentials. Cheap to clone.
#[derive(Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
    region: String,
    post_url: String,
    /// Signs upload policies (the client's config does not expose its own).
    credentials: SharedCredentialsProvider,
}

impl std::fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3BlobStore").field("bucket", &self.bucket).field("post_url", &self.post_url).finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> BlobError {
    BlobError::Unavailable(e.to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl S3BlobStore {
    /// `endpoint` is a custom S3 endpoint (a local S3 such as moto; path-style
    /// URLs), `None` for AWS (virtual-hosted URLs).
    pub fn new(client: Client, credentials: SharedCredentialsProvider, bucket: impl Into<String>, endpoint: Option<&str>) -> Self {
        let bucket = bucket.into();
        let region = client.config().region().map_or_else(|| "us-east-1".to_owned(), |r| r.to_string());
        let post_url = match endpoint {
            Some(e) => format!("{}/{bucket}", e.trim_end_matches('/')),
            None => format!("https://{bucket}.s3.{region}.amazonaws.com/"),
        };
        Self { client, bucket, region, post_url, credentials }
    }

    /// The SDK's usual configuration (`AWS_REGION`, credentials,
    /// `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL` for a local S3) and the bucket.
    pub async fn from_env(bucket: &str) -> Result<Self, BlobError> {
        let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let endpoint = std::env::var("AWS_ENDPOINT_URL_S3").or_else(|_| std::env::var("AWS_ENDPOINT_URL")).ok().filter(|e| !e.trim().is_empty());
        let config = aws_sdk_s3::config::Builder::from(&shared).force_path_style(endpoint.is_some()).build();
        let credentials = shared.credentials_provider().ok_or_else(|| unavailable("no AWS credentials are configured"))?;
        Ok(Self::new(Client::from_conf(config), credentials, bucket, endpoint.as_deref()))
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The POST policy (before base64) and the form fields for a grant,
    /// signed at `now` with these credentials.
    pub fn post_form(
        &self,
        grant: &UploadGrant,
        now: OffsetDateTime,
        access_key: &str,
        secret_key: &str,
        session_token: Option<&str>,
    ) -> Result<(serde_json::Value, BTreeMap<String, String>), BlobError> {
        let day = now.format(format_description!("[year][month][day]")).map_err(unavailable)?;
        let amz_date = now.format(format_description!("[year][month][day]T[hour][minute][second]Z")).map_err(unavailable)?;
        let expiration = grant.expires_at.format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].000Z")).map_err(unavailable)?;
        let credential = format!("{access_key}/{day}/{}/s3/aws4_request", self.region);
        let mut fields = BTreeMap::from([
            ("key".to_owned(), grant.key.clone()),
            ("Content-Type".to_owned(), grant.content_type.clone()),
            ("x-amz-algorithm".to_owned(), "AWS4-HMAC-SHA256".to_owned()),
            ("x-amz-credential".to_owned(), credential),
            ("x-amz-date".to_owned(), amz_date),
        ]);
        if let Some(token) = session_token {
            fields.insert("x-amz-security-token".to_owned(), token.to_owned());
        }
        let mut conditions = vec![
            serde_json::json!({"bucket": self.bucket}),
            serde_json::json!(["starts-with", "$Content-Type", "image/"]),
            serde_json::json!(["content-length-range", 1, grant.max_bytes]),
        ];
        conditions.extend(fields.iter().map(|(k, v)| serde_json::json!({k.as_str(): v})));
        let policy = serde_json::json!({"expiration": expiration, "conditions": conditions});
        let encoded = STANDARD.encode(policy.to_string());
        let key = [day.as_bytes(), self.region.as_bytes(), b"s3", b"aws4_request"]
            .iter()
            .fold(format!("AWS4{secret_key}").into_bytes(), |k, part| hmac_sha256(&k, part).to_vec());
        fields.insert("x-amz-signature".to_owned(), hex(&hmac_sha256(&key, encoded.as_bytes())));
        fields.insert("policy".to_owned(), encoded);
        Ok((policy, fields))
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    fn backend(&self) -> &'static str {
        "s3"
    }

    async fn presign_upload(&self, grant: &UploadGrant) -> Result<UploadTicket, BlobError> {
        if !is_valid_key(&grant.key) {
            return Err(BlobError::InvalidKey(grant.key.clone()));
        }
        let creds = self.credentials.provide_credentials().await.map_err(unavailable)?;
        let (_, fields) = self.post_form(grant, OffsetDateTime::now_utc(), creds.access_key_id(), creds.secret_access_key(), creds.session_token())?;
        Ok(UploadTicket { blob_key: grant.key.clone(), url: self.post_url.clone(), fields, expires_at: grant.expires_at })
    }

    async fn stat(&self, key: &str) -> Result<Option<BlobStat>, BlobError> {
        if !is_valid_key(key) {
            return Err(BlobError::InvalidKey(key.to_owned()));
        }
        let object = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(o) => o,
            Err(e) if matches!(e.as_service_error(), Some(GetObjectError::NoSuchKey(_))) => return Ok(None),
            Err(e) => return Err(unavailable(aws_sdk_s3::error::DisplayErrorContext(&e))),
        };
        if object.content_length().is_some_and(|n| n > MAX_HASHED_BYTES) {
            return Err(unavailable(format!("object {key} is too large to verify")));
        }
        let content_type = object.content_type().unwrap_or("application/octet-stream").to_owned();
        let bytes = object.body.collect().await.map_err(unavailable)?.into_bytes();
        Ok(Some(BlobStat { size_bytes: bytes.len() as u64, content_type, sha256: hex(&Sha256::digest(&bytes)) }))
    }

    async fn presign_download(&self, key: &str, now: OffsetDateTime, expires_at: OffsetDateTime) -> Result<String, BlobError> {
        if !is_valid_key(key) {
            return Err(BlobError::InvalidKey(key.to_owned()));
        }
        let ttl = Duration::from_secs(u64::try_from((expires_at - now).whole_seconds()).unwrap_or(1).max(1));
        let config = PresigningConfig::expires_in(ttl).map_err(unavailable)?;
        let request = self.client.get_object().bucket(&self.bucket).key(key).presigned(config).await.map_err(unavailable)?;
        Ok(request.uri().to_owned())
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        if !is_valid_key(key) {
            return Err(BlobError::InvalidKey(key.to_owned()));
        }
        self.client.delete_object().bucket(&self.bucket).key(key).send().await.map_err(|e| unavailable(aws_sdk_s3::error::DisplayErrorContext(&e)))?;
        Ok(())
    }
}
