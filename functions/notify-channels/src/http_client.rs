//! One HTTP(S) client for the HTTP channels (rustls with ring, webpki roots).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

pub fn client() -> HttpClient {
    // An explicit provider: where the AWS SDK also links rustls (the notify
    // Lambda), both ring and aws-lc-rs are enabled and rustls cannot pick one.
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
        .expect("ring supports rustls' default protocol versions")
        .https_or_http()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new()).build(https)
}

/// How one request ended.
#[derive(Debug)]
pub enum Answer {
    Status(http::StatusCode, String),
    /// No answer: connection refused, reset, timed out.
    NoAnswer(String),
}

/// Sends one request; the whole exchange is bounded by `timeout`.
pub async fn exchange(client: &HttpClient, request: http::Request<Full<Bytes>>, timeout: Duration) -> Answer {
    let work = async {
        let response = client.request(request).await.map_err(|e| format!("{e}"))?;
        let status = response.status();
        let body = response.into_body().collect().await.map_err(|e| format!("reading the answer: {e}"))?.to_bytes();
        let text = String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned();
        Ok::<_, String>((status, text))
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(Ok((status, text))) => Answer::Status(status, text),
        Ok(Err(e)) => Answer::NoAnswer(e),
        Err(_) => Answer::NoAnswer(format!("no answer within {} s", timeout.as_secs())),
    }
}
