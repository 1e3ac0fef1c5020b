//! Tokens a real Cognito-protocol server issues (moto_server's
//! `cognito-idp`) pass the verifier with the pool's JWKS from that server,
//! and carry Doorstep's organisation, role and subject.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use doorstep_core::ports::{TokenError, TokenVerifier};
use doorstep_domain::auth::Role;
use doorstep_cognito::CognitoSettings;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use time::OffsetDateTime;

const REGION: &str = "eu-west-3";

struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Self {
        let on_path = std::env::var_os("PATH")
            .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join("moto_server")).collect::<Vec<_>>())
            .unwrap_or_default();
        let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/py/bin/moto_server");
        let program = on_path
            .into_iter()
            .chain([workspace])
            .find(|p| p.is_file())
            .expect("moto_server not found on PATH or in target/py/bin: run `cargo xtask test`, which installs moto[server]");
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()).expect("free port").port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let mut moto = Self { child, endpoint: format!("http://127.0.0.1:{port}") };
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            assert!(moto.child.try_wait().expect("moto status").is_none(), "moto_server exited before answering");
            assert!(Instant::now() < deadline, "moto_server did not answer within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }

    /// One Cognito API call as browsers and SDKs make it. Admin calls carry a
    /// (not checked) SigV4 credential scope so moto files them under REGION.
    async fn call(&self, action: &str, body: Value) -> Value {
        let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let request = axum::http::Request::post(&self.endpoint)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", format!("AWSCognitoIdentityProviderService.{action}"))
            .header(
                "authorization",
                format!("AWS4-HMAC-SHA256 Credential=test/20260101/{REGION}/cognito-idp/aws4_request, SignedHeaders=host, Signature=00"),
            )
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("request");
        let response = client.request(request).await.expect("moto answers");
        let status = response.status();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert!(status.is_success(), "{action}: HTTP {status}: {}", String::from_utf8_lossy(&bytes));
        value
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Pool {
    id: String,
    client_id: String,
}

async fn pool(moto: &Moto) -> Pool {
    let created = moto
        .call(
            "CreateUserPool",
            json!({
                "PoolName": "doorstep-users",
                "UsernameAttributes": ["email"],
                "Schema": [
                    {"Name": "org", "AttributeDataType": "String", "Mutable": true},
                    {"Name": "driver", "AttributeDataType": "String", "Mutable": true},
                ],
            }),
        )
        .await;
    let id = created["UserPool"]["Id"].as_str().expect("pool id").to_owned();
    let client = moto
        .call(
            "CreateUserPoolClient",
            json!({"UserPoolId": id, "ClientName": "web", "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}),
        )
        .await;
    let client_id = client["UserPoolClient"]["ClientId"].as_str().expect("client id").to_owned();
    for group in ["dispatcher", "driver"] {
        moto.call("CreateGroup", json!({"UserPoolId": id, "GroupName": group})).await;
    }
    Pool { id, client_id }
}

/// A confirmed user in `group` with `attributes`; returns the sign-in's tokens.
async fn sign_in(moto: &Moto, pool: &Pool, email: &str, group: &str, attributes: &[(&str, &str)]) -> Value {
    let mut user_attributes = vec![json!({"Name": "email", "Value": email})];
    user_attributes.extend(attributes.iter().map(|(name, value)| json!({"Name": name, "Value": value})));
    moto.call(
        "AdminCreateUser",
        json!({"UserPoolId": pool.id, "Username": email, "UserAttributes": user_attributes, "MessageAction": "SUPPRESS", "TemporaryPassword": "Temporary-pass-1"}),
    )
    .await;
    moto.call("AdminAddUserToGroup", json!({"UserPoolId": pool.id, "Username": email, "GroupName": group})).await;
    moto.call("AdminSetUserPassword", json!({"UserPoolId": pool.id, "Username": email, "Password": "Long-enough-pass-2", "Permanent": true}))
        .await;
    let auth = moto
        .call(
            "InitiateAuth",
            json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": pool.client_id, "AuthParameters": {"USERNAME": email, "PASSWORD": "Long-enough-pass-2"}}),
        )
        .await;
    auth["AuthenticationResult"].clone()
}

fn settings(moto: &Moto, pool: &Pool, client_id: &str) -> CognitoSettings {
    let issuer = format!("https://cognito-idp.{REGION}.amazonaws.com/{}", pool.id);
    let jwks = format!("{}/{}/.well-known/jwks.json", moto.endpoint, pool.id);
    CognitoSettings::new(&issuer, client_id, Some(&jwks), Some(&moto.endpoint)).expect("settings")
}

#[tokio::test]
async fn a_pool_issued_id_token_passes_with_the_pools_jwks_and_names_org_role_and_subject() {
    let moto = Moto::start();
    let pool = pool(&moto).await;
    let tokens = sign_in(&moto, &pool, "dispatcher@example.com", "dispatcher", &[("custom:org", "org-lyon-demo")]).await;
    let verifier = settings(&moto, &pool, &pool.client_id).verifier();
    let now = OffsetDateTime::now_utc();

    let id_token = tokens["IdToken"].as_str().expect("id token");
    let principal = verifier.verify(id_token, now).await.expect("the pool's ID token is accepted");
    assert_eq!(principal.org.as_str(), "org-lyon-demo");
    assert_eq!(principal.role, Role::Dispatcher);
    assert!(!principal.subject.is_empty(), "a dispatcher's subject is the pool's `sub`");

    // The access token names the client in `client_id`; it counts too.
    let access = verifier.verify(tokens["AccessToken"].as_str().expect("access token"), now).await;
    assert!(matches!(access, Err(TokenError::Invalid)), "moto's access tokens carry no custom:org, so they are refused: {access:?}");

    // After it expires, or for another app client, the same token is refused.
    let later = now + time::Duration::hours(2);
    assert!(matches!(verifier.verify(id_token, later).await, Err(TokenError::Expired)));
    let other_client = settings(&moto, &pool, "another-client").verifier();
    assert!(matches!(other_client.verify(id_token, now).await, Err(TokenError::Invalid)));
}

#[tokio::test]
async fn a_driver_in_the_pool_is_the_driver_its_custom_attribute_names() {
    let moto = Moto::start();
    let pool = pool(&moto).await;
    let tokens =
        sign_in(&moto, &pool, "driver@example.com", "driver", &[("custom:org", "org-lyon-demo"), ("custom:driver", "drv-1")]).await;
    let verifier = settings(&moto, &pool, &pool.client_id).verifier();
    let principal = verifier.verify(tokens["IdToken"].as_str().expect("id token"), OffsetDateTime::now_utc()).await.expect("accepted");
    assert_eq!((principal.role, principal.subject.as_str(), principal.org.as_str()), (Role::Driver, "drv-1", "org-lyon-demo"));
}
