//! The Cognito verifier against a local JWKS HTTP server and tokens signed
//! with a locally generated RSA key (tests/fixtures/cognito-test-key.der, PKCS#1;
//! its public half is tests/fixtures/cognito-test-jwks.json).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use doorstep_core::adapters::{CognitoVerifier, JwksFetcher};
use doorstep_core::ports::{TokenError, TokenVerifier};
use doorstep_domain::auth::Role;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const KEY_DER: &[u8] = include_bytes!("fixtures/cognito-test-key.der");
const JWKS: &str = include_str!("fixtures/cognito-test-jwks.json");
const CLIENT: &str = "app-client-123";
const NOW: OffsetDateTime = datetime!(2026-11-22 12:00 UTC);

/// Serves the JWKS on a local port and counts the requests.
async fn jwks_server(body: &'static str) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}/pool", listener.local_addr().expect("addr"));
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let mut buf = vec![0u8; 4096];
            let n = socket.read(&mut buf).await.unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).into_owned();
            let (status, text) = if request.starts_with("GET /pool/.well-known/jwks.json ") {
                counter.fetch_add(1, Ordering::SeqCst);
                ("200 OK", body)
            } else {
                ("404 Not Found", "{}")
            };
            let reply = format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}", text.len());
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    (base, hits)
}

/// A plain HTTP/1.1 GET, as the host's HTTPS client would do.
struct TcpFetcher;

#[async_trait]
impl JwksFetcher for TcpFetcher {
    async fn fetch(&self, url: &str) -> Result<String, String> {
        let rest = url.strip_prefix("http://").ok_or("not http")?;
        let (host, path) = rest.split_once('/').ok_or("no path")?;
        let mut stream = TcpStream::connect(host).await.map_err(|e| e.to_string())?;
        stream.write_all(format!("GET /{path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n").as_bytes()).await.map_err(|e| e.to_string())?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await.map_err(|e| e.to_string())?;
        let (head, body) = response.split_once("\r\n\r\n").ok_or("no body")?;
        if !head.starts_with("HTTP/1.1 200") {
            return Err(head.lines().next().unwrap_or_default().to_owned());
        }
        Ok(body.to_owned())
    }
}

fn sign(claims: &Value, kid: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(KEY_DER)).expect("sign")
}

fn claims(issuer: &str, groups: &[&str]) -> Value {
    json!({
        "iss": issuer, "sub": "7d1e-cognito-user", "token_use": "id", "aud": CLIENT,
        "exp": (NOW + Duration::hours(1)).unix_timestamp(), "iat": NOW.unix_timestamp(),
        "cognito:groups": groups, "custom:org": "org-a", "custom:driver": "drv-1",
    })
}

#[tokio::test]
async fn a_pool_token_maps_groups_to_roles_and_the_keys_are_fetched_once() {
    let (issuer, hits) = jwks_server(JWKS).await;
    let verifier = CognitoVerifier::new(&issuer, CLIENT, Arc::new(TcpFetcher));

    let dispatcher = verifier.verify(&sign(&claims(&issuer, &["dispatcher"]), "test-key-1"), NOW).await.expect("dispatcher");
    assert_eq!((dispatcher.org.as_str(), dispatcher.role, dispatcher.subject.as_str()), ("org-a", Role::Dispatcher, "7d1e-cognito-user"));
    let driver = verifier.verify(&sign(&claims(&issuer, &["driver"]), "test-key-1"), NOW).await.expect("driver");
    assert_eq!((driver.role, driver.subject.as_str()), (Role::Driver, "drv-1"));
    // Access tokens name the client in `client_id` instead of `aud`.
    let mut access = claims(&issuer, &["driver", "dispatcher"]);
    access["token_use"] = json!("access");
    access["client_id"] = json!(CLIENT);
    access.as_object_mut().expect("object").remove("aud");
    assert_eq!(verifier.verify(&sign(&access, "test-key-1"), NOW).await.expect("access").role, Role::Dispatcher);
    assert_eq!(hits.load(Ordering::SeqCst), 1, "the key set is fetched once and cached");
}

#[tokio::test]
async fn forged_expired_foreign_or_roleless_tokens_are_refused() {
    let (issuer, hits) = jwks_server(JWKS).await;
    let verifier = CognitoVerifier::new(&issuer, CLIENT, Arc::new(TcpFetcher));
    let invalid = |r: Result<_, TokenError>| matches!(r, Err(TokenError::Invalid));

    let mut expired = claims(&issuer, &["dispatcher"]);
    expired["exp"] = json!((NOW - Duration::seconds(1)).unix_timestamp());
    assert!(matches!(verifier.verify(&sign(&expired, "test-key-1"), NOW).await, Err(TokenError::Expired)));
    assert!(invalid(verifier.verify(&sign(&claims("https://cognito-idp.eu-west-1.amazonaws.com/other", &["dispatcher"]), "test-key-1"), NOW).await), "another pool");
    let mut other_client = claims(&issuer, &["dispatcher"]);
    other_client["aud"] = json!("someone-elses-client");
    assert!(invalid(verifier.verify(&sign(&other_client, "test-key-1"), NOW).await), "another app client");
    assert!(invalid(verifier.verify(&sign(&claims(&issuer, &["admins"]), "test-key-1"), NOW).await), "no Doorstep group");
    let mut no_org = claims(&issuer, &["dispatcher"]);
    no_org.as_object_mut().expect("object").remove("custom:org");
    assert!(invalid(verifier.verify(&sign(&no_org, "test-key-1"), NOW).await), "no organisation");
    // A tampered payload breaks the RS256 signature.
    let token = sign(&claims(&issuer, &["driver"]), "test-key-1");
    let parts: Vec<&str> = token.split('.').collect();
    let forged_payload = base64_url(&serde_json::to_vec(&claims(&issuer, &["dispatcher"])).expect("json"));
    assert!(invalid(verifier.verify(&format!("{}.{forged_payload}.{}", parts[0], parts[2]), NOW).await), "forged claims");
    // An HS256 token made with the public key as secret is refused outright.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("test-key-1".into());
    let hs = jsonwebtoken::encode(&header, &claims(&issuer, &["dispatcher"]), &EncodingKey::from_secret(JWKS.as_bytes())).expect("hs256");
    assert!(invalid(verifier.verify(&hs, NOW).await), "algorithm confusion");
    // An unknown key id refetches at most every 5 minutes.
    let before = hits.load(Ordering::SeqCst);
    assert!(invalid(verifier.verify(&sign(&claims(&issuer, &["dispatcher"]), "rotated-key"), NOW).await));
    assert_eq!(hits.load(Ordering::SeqCst), before, "fetched moments ago: no refetch");
    assert!(invalid(verifier.verify(&sign(&claims(&issuer, &["dispatcher"]), "rotated-key"), NOW + Duration::minutes(6)).await));
    assert_eq!(hits.load(Ordering::SeqCst), before + 1, "refetched once the set is 5 minutes old");
}

#[tokio::test]
async fn an_unreachable_key_set_refuses_tokens_instead_of_accepting_them() {
    let verifier = CognitoVerifier::new("http://127.0.0.1:9/pool", CLIENT, Arc::new(TcpFetcher));
    let token = sign(&claims("http://127.0.0.1:9/pool", &["dispatcher"]), "test-key-1");
    assert!(matches!(verifier.verify(&token, NOW).await, Err(TokenError::Invalid)));
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
