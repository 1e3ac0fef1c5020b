use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use lambda_http::RequestExt as _;
use lambda_http::request::RequestContext;

/// The secret that signs and verifies access tokens (HS256, at least 32
/// bytes; every function of a deployment shares it).
pub const TOKEN_SECRET_ENV: &str = "DOORSTEP_TOKEN_SECRET";
/// The value CloudFront sends in [`ORIGIN_VERIFY_HEADER`] to the API; set
/// by the template. Empty or unset: the API is not behind CloudFront, and
/// `CloudFront-Viewer-Address` is never trusted.
pub const CLOUDFRONT_SECRET_ENV: &str = "DOORSTEP_CLOUDFRONT_ORIGIN_SECRET";
/// The custom origin header the distribution adds to every API request.
pub const ORIGIN_VERIFY_HEADER: &str = "x-doorstep-origin-verify";
/// `IP:port` of the viewer, added by CloudFront (origin request policy).
pub const VIEWER_ADDRESS_HEADER: &str = "cloudfront-viewer-address";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HostError {
    #[error("set {TOKEN_SECRET_ENV} to at least 32 random bytes")]
    MissingTokenSecret,
    #[error("{TOKEN_SECRET_ENV} must hold at least 32 bytes")]
    ShortTokenSecret,
}

/// Checks a token secret (at least 32 bytes).
pub fn token_secret(secret: Vec<u8>) -> Result<Vec<u8>, HostError> {
    if secret.len() < 32 {
        return Err(HostError::ShortTokenSecret);
    }
    Ok(secret)
}

/// The token secret from [`TOKEN_SECRET_ENV`].
pub fn token_secret_from_env() -> Result<Vec<u8>, HostError> {
    let secret = std::env::var(TOKEN_SECRET_ENV).map_err(|_| HostError::MissingTokenSecret)?;
    token_secret(secret.into_bytes())
}

/// Where the function runs: directly behind API Gateway, or behind
/// CloudFront (with the secret its origin header carries).
#[derive(Clone, Default)]
pub struct ClientAddressing {
    cloudfront_secret: Option<String>,
}

impl std::fmt::Debug for ClientAddressing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientAddressing").field("behind_cloudfront", &self.cloudfront_secret.is_some()).finish()
    }
}

impl ClientAddressing {
    /// Only API Gateway's source IP counts.
    pub fn direct() -> Self {
        Self { cloudfront_secret: None }
    }

    /// Behind CloudFront, which proves itself with `secret`; an empty
    /// secret means not behind CloudFront.
    pub fn behind_cloudfront(secret: impl Into<String>) -> Self {
        let secret = secret.into();
        Self { cloudfront_secret: (!secret.trim().is_empty()).then(|| secret.trim().to_owned()) }
    }

    /// From [`CLOUDFRONT_SECRET_ENV`].
    pub fn from_env() -> Self {
        Self::behind_cloudfront(std::env::var(CLOUDFRONT_SECRET_ENV).unwrap_or_default())
    }

    /// The client's address: CloudFront's viewer address when the request
    /// provably came through the distribution, else API Gateway's source IP.
    pub fn client_ip(&self, headers: &HeaderMap, source_ip: Option<&str>) -> Option<IpAddr> {
        let source = source_ip.and_then(|ip| ip.trim().parse::<IpAddr>().ok());
        let Some(secret) = &self.cloudfront_secret else { return source };
        let proven = headers.get(ORIGIN_VERIFY_HEADER).is_some_and(|v| constant_time_eq(v.as_bytes(), secret.as_bytes()));
        if !proven {
            return source;
        }
        headers.get(VIEWER_ADDRESS_HEADER).and_then(|v| v.to_str().ok()).and_then(parse_viewer_address).or(source)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `198.51.100.10:46532` or `2001:db8::1:46532` (IPv6 without brackets,
/// the port after the last colon), as CloudFront writes it.
pub fn parse_viewer_address(value: &str) -> Option<IpAddr> {
    let value = value.trim();
    if let Some((ip, port)) = value.rsplit_once(':')
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && let Ok(ip) = ip.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>()
    {
        return Some(ip);
    }
    value.parse::<IpAddr>().ok()
}

/// Rate limits count per client address, which the routers read from
/// `ConnectInfo`. In Lambda there is no socket: this puts the address
/// [`ClientAddressing::client_ip`] chooses there.
pub fn with_client_address(router: Router, addressing: ClientAddressing) -> Router {
    router.layer(axum::middleware::map_request_with_state(addressing, set_client_address))
}

async fn set_client_address(State(addressing): State<ClientAddressing>, mut request: Request) -> Request {
    let source_ip = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        _ => None,
    };
    if let Some(ip) = addressing.client_ip(request.headers(), source_ip.as_deref()) {
        request.extensions_mut().insert(ConnectInfo(SocketAddr::new(ip, 0)));
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, value.parse().expect("header value"));
        }
        h
    }

    const EDGE: Option<&str> = Some("130.176.1.1");

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().expect("ip"))
    }

    #[test]
    fn a_spoofed_viewer_address_is_ignored_when_not_behind_cloudfront() {
        let spoofed = headers(&[(VIEWER_ADDRESS_HEADER, "203.0.113.9:1234"), (ORIGIN_VERIFY_HEADER, "anything")]);
        assert_eq!(ClientAddressing::direct().client_ip(&spoofed, EDGE), ip("130.176.1.1"));
        assert_eq!(ClientAddressing::behind_cloudfront("  ").client_ip(&spoofed, EDGE), ip("130.176.1.1"), "an empty secret is off");
    }

    #[test]
    fn behind_cloudfront_the_viewer_address_counts_only_with_the_origin_secret() {
        let cf = ClientAddressing::behind_cloudfront("6f1c2a9e-secret");
        let through_cloudfront = headers(&[(VIEWER_ADDRESS_HEADER, "198.51.100.10:46532"), (ORIGIN_VERIFY_HEADER, "6f1c2a9e-secret")]);
        assert_eq!(cf.client_ip(&through_cloudfront, EDGE), ip("198.51.100.10"));
        // Straight to the execute-api URL with a made-up header: the source IP counts.
        let wrong_secret = headers(&[(VIEWER_ADDRESS_HEADER, "198.51.100.10:46532"), (ORIGIN_VERIFY_HEADER, "6f1c2a9e-guess")]);
        assert_eq!(cf.client_ip(&wrong_secret, Some("203.0.113.50")), ip("203.0.113.50"));
        let no_secret = headers(&[(VIEWER_ADDRESS_HEADER, "198.51.100.10:46532")]);
        assert_eq!(cf.client_ip(&no_secret, Some("203.0.113.50")), ip("203.0.113.50"));
        // Proven but unreadable or missing: fall back to the source IP.
        let garbage = headers(&[(VIEWER_ADDRESS_HEADER, "not an address"), (ORIGIN_VERIFY_HEADER, "6f1c2a9e-secret")]);
        assert_eq!(cf.client_ip(&garbage, EDGE), ip("130.176.1.1"));
        assert_eq!(cf.client_ip(&headers(&[(ORIGIN_VERIFY_HEADER, "6f1c2a9e-secret")]), EDGE), ip("130.176.1.1"));
        assert_eq!(cf.client_ip(&HeaderMap::new(), None), None);
    }

    #[test]
    fn viewer_addresses_parse_for_ipv4_and_ipv6() {
        assert_eq!(parse_viewer_address("198.51.100.10:46532"), ip("198.51.100.10"));
        assert_eq!(parse_viewer_address("2001:0db8:0000:0000:0000:ff00:0042:8329:46532"), ip("2001:db8::ff00:42:8329"));
        assert_eq!(parse_viewer_address("[2001:db8::1]:443"), ip("2001:db8::1"));
        assert_eq!(parse_viewer_address("198.51.100.10"), ip("198.51.100.10"));
        assert_eq!(parse_viewer_address("198.51.100.10:port"), None);
        assert_eq!(parse_viewer_address(""), None);
    }

    #[test]
    fn a_short_or_missing_token_secret_is_refused() {
        assert_eq!(token_secret(vec![b'x'; 31]), Err(HostError::ShortTokenSecret));
        assert_eq!(token_secret(vec![b'x'; 32]), Ok(vec![b'x'; 32]));
    }

    #[tokio::test]
    async fn the_layer_puts_the_chosen_address_where_the_routers_read_it() {
        use tower::ServiceExt as _;
        async fn peer(ConnectInfo(addr): ConnectInfo<SocketAddr>) -> String {
            addr.ip().to_string()
        }
        let app = with_client_address(Router::new().route("/", axum::routing::get(peer)), ClientAddressing::behind_cloudfront("s3cr3t"));
        let event = serde_json::json!({
            "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
            "headers": {"cloudfront-viewer-address": "198.51.100.10:46532", "x-doorstep-origin-verify": "s3cr3t"},
            "requestContext": {"accountId": "1", "apiId": "a", "domainName": "x", "domainPrefix": "x", "requestId": "r", "routeKey": "$default",
                "stage": "$default", "time": "22/Nov/2026:12:00:00 +0000", "timeEpoch": 0,
                "http": {"method": "GET", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "130.176.1.1", "userAgent": "t"}},
            "isBase64Encoded": false
        });
        let event: lambda_http::request::LambdaRequest = serde_json::from_value(event).expect("API Gateway v2 event");
        let adapter = lambda_http::Adapter::from(app);
        let response = adapter.oneshot(lambda_http::LambdaEvent::new(event, lambda_http::Context::default())).await.expect("response");
        let raw = serde_json::to_value(&response).expect("response serialises");
        let bytes = raw["body"].as_str().expect("body").as_bytes().to_vec();
        assert_eq!(&bytes[..], b"198.51.100.10");
    }
}
