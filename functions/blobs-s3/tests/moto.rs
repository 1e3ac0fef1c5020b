//! The S3 blob store against a real moto_server: a presigned POST upload
//! made the way a browser makes it, stat with the hash of what is stored,
//! presigned download, delete. moto accepts presigned POSTs but does not
//! enforce their policy conditions (size range, content type), so the
//! refusals are checked on the policy document this adapter signs; S3
//! itself enforces them.

use std::io::{Read, Write};
use std::net::TcpStream;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use base64::Engine as _;
use doorstep_blobs_s3::S3BlobStore;
use doorstep_core::crypto::sha256_hex;
use doorstep_core::ports::{BlobStore, UploadGrant};
use doorstep_domain::pod::MAX_PHOTO_BYTES;
use doorstep_store_dynamodb::moto::MotoServer;
use time::OffsetDateTime;

fn creds() -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Credentials::new("testing", "testing", None, None, "moto"))
}

fn store(moto: &MotoServer) -> S3BlobStore {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(&moto.endpoint)
        .force_path_style(true)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .build();
    S3BlobStore::new(aws_sdk_s3::Client::from_conf(config), creds(), "doorstep-pod", Some(&moto.endpoint))
}

/// One HTTP/1.1 request over a plain socket (the test has no HTTP client
/// crate); returns the status and the body.
fn http(url: &str, method: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = TcpStream::connect(host).expect("connect");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("write");
    stream.write_all(body).expect("write body");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("headers end") + 4;
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
    let mut body = response[split..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").expect("chunk size");
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..line_end]).trim(), 16).expect("hex size");
        if size == 0 {
            return out;
        }
        out.extend(&data[line_end + 2..line_end + 2 + size]);
        data = &data[line_end + 4 + size..];
    }
}

fn form(fields: &std::collections::BTreeMap<String, String>, bytes: &[u8], content_type: &str) -> (String, Vec<u8>) {
    let boundary = "----doorstep-s3-test";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p\"\r\nContent-Type: {content_type}\r\n\r\n").as_bytes());
    body.extend(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_presigned_post_uploads_and_the_blob_is_hashed_served_and_deleted() {
    let moto = MotoServer::start();
    let blobs = store(&moto);
    blobs.client().create_bucket().bucket("doorstep-pod").send().await.expect("bucket");
    let now = OffsetDateTime::now_utc();
    let key = "pod/org-a/ord_1/blob_1.jpg";
    let grant = UploadGrant { key: key.into(), content_type: "image/jpeg".into(), max_bytes: MAX_PHOTO_BYTES, expires_at: now + time::Duration::minutes(15) };
    let ticket = blobs.presign_upload(&grant).await.expect("ticket");
    assert_eq!(ticket.url, format!("{}/doorstep-pod", moto.endpoint));
    for field in ["key", "Content-Type", "policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"] {
        assert!(ticket.fields.contains_key(field), "ticket has {field}");
    }

    assert_eq!(blobs.stat(key).await.expect("stat"), None, "nothing before the upload");
    let bytes: Vec<u8> = (0..70_000u32).map(|i| (i % 253) as u8).collect();
    let (content_type, body) = form(&ticket.fields, &bytes, "image/jpeg");
    let (status, text) = http(&ticket.url, "POST", &[("Content-Type", content_type)], &body);
    assert!((200..300).contains(&status), "upload answered {status}: {}", String::from_utf8_lossy(&text));

    let stat = blobs.stat(key).await.expect("stat").expect("stored");
    assert_eq!((stat.size_bytes, stat.sha256.as_str()), (bytes.len() as u64, sha256_hex(&bytes).as_str()), "hash of the stored bytes");

    let url = blobs.presign_download(key, now, now + time::Duration::minutes(10)).await.expect("url");
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let (status, fetched) = http(&url, "GET", &[], b"");
    assert_eq!(status, 200);
    assert_eq!(fetched, bytes);

    blobs.delete(key).await.expect("delete");
    assert_eq!(blobs.stat(key).await.expect("stat"), None);
    blobs.delete(key).await.expect("deleting twice is fine");
    assert!(blobs.stat("../etc/passwd").await.is_err(), "keys are checked");
}

#[test]
fn the_post_policy_limits_size_and_type_and_pins_the_key() {
    let config = aws_sdk_s3::Config::builder().behavior_version(BehaviorVersion::latest()).region(Region::new("eu-west-3")).build();
    let blobs = S3BlobStore::new(aws_sdk_s3::Client::from_conf(config), creds(), "pod-bucket", None);
    let now = time::macros::datetime!(2026-11-22 18:00 UTC);
    let grant = UploadGrant { key: "pod/o/ord/b.png".into(), content_type: "image/png".into(), max_bytes: MAX_PHOTO_BYTES, expires_at: now + time::Duration::minutes(15) };
    let (policy, fields) = blobs.post_form(&grant, now, "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", Some("token")).expect("form");
    let conditions = policy["conditions"].as_array().expect("conditions");
    let has = |c: serde_json::Value| conditions.contains(&c);
    // An 11 MB file is outside the range S3 enforces; an HTML page is not image/*.
    assert!(has(serde_json::json!(["content-length-range", 1, 10 * 1024 * 1024])), "{policy}");
    assert!(has(serde_json::json!(["starts-with", "$Content-Type", "image/"])), "{policy}");
    assert!(has(serde_json::json!({"Content-Type": "image/png"})), "{policy}");
    assert!(has(serde_json::json!({"key": "pod/o/ord/b.png"})), "{policy}");
    assert!(has(serde_json::json!({"bucket": "pod-bucket"})), "{policy}");
    assert!(has(serde_json::json!({"x-amz-security-token": "token"})), "{policy}");
    assert_eq!(policy["expiration"], "2026-11-22T18:15:00.000Z");
    assert_eq!(fields["x-amz-credential"], "AKIDEXAMPLE/20261122/eu-west-3/s3/aws4_request");
    let decoded = base64::engine::general_purpose::STANDARD.decode(&fields["policy"]).expect("base64");
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&decoded).expect("json"), policy);
    assert_eq!(fields["x-amz-signature"].len(), 64);
    let other = blobs.post_form(&grant, now, "AKIDEXAMPLE", "other secret", None).expect("form").1;
    assert_ne!(other["x-amz-signature"], fields["x-amz-signature"], "another secret signs differently");
}
