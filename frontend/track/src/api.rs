//! The three public tracking calls, typed with the API contract's own
//! types. No credentials: the token in the URL is the only key.

use doorstep_domain::api::{ApiError, ClientConfig};
use doorstep_domain::tracking::{RateDelivery, SetCustomerNote, TrackingView};
use gloo_net::http::{Request, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Unknown, expired or malformed link (404).
    NotFound,
    /// The API's own error (422 with the field, 409, ...).
    Api(ApiError),
    /// No answer, or an answer that is not the API's.
    Network(String),
}

impl Failure {
    /// As an API error, for showing next to a form.
    pub fn into_api_error(self) -> ApiError {
        match self {
            Failure::NotFound => ApiError::new("not_found", "this tracking link is not valid any more"),
            Failure::Api(e) => e,
            Failure::Network(m) => ApiError::new("network", m),
        }
    }
}

fn base(token: &str) -> String {
    format!("/api/track/{}", String::from(js_sys::encode_uri_component(token)))
}

async fn read<T: DeserializeOwned>(response: Response) -> Result<T, Failure> {
    let status = response.status();
    if response.ok() {
        return response.json::<T>().await.map_err(|e| Failure::Network(format!("unexpected answer from the server: {e}")));
    }
    if status == 404 {
        return Err(Failure::NotFound);
    }
    Err(match response.json::<ApiError>().await {
        Ok(error) => Failure::Api(error),
        Err(_) => Failure::Network(format!("the server answered {status}; please try again")),
    })
}

fn unreachable(e: impl std::fmt::Display) -> Failure {
    Failure::Network(format!("the server could not be reached ({e}); please try again"))
}

pub async fn view(token: &str) -> Result<TrackingView, Failure> {
    read(Request::get(&base(token)).send().await.map_err(unreachable)?).await
}

async fn put<B: Serialize>(path: &str, body: &B) -> Result<TrackingView, Failure> {
    let request = Request::put(path).json(body).map_err(unreachable)?;
    read(request.send().await.map_err(unreachable)?).await
}

/// Blank text is sent as absent: the server clears that part of the note.
fn text(value: &str) -> Option<String> {
    let trimmed = value.trim();
    (!trimmed.is_empty()).then(|| value.to_owned())
}

/// Delivery instructions and a safe place, before delivery.
pub async fn leave_note(token: &str, instructions: &str, safe_place: &str) -> Result<TrackingView, Failure> {
    let body = SetCustomerNote { instructions: text(instructions), safe_place: text(safe_place) };
    put(&format!("{}/note", base(token)), &body).await
}

/// 1 to 5 stars and an optional comment, after delivery.
pub async fn rate(token: &str, stars: u8, comment: &str) -> Result<TrackingView, Failure> {
    put(&format!("{}/rating", base(token)), &RateDelivery { stars, comment: text(comment) }).await
}

/// The map tiles the deployment uses; the defaults (OpenStreetMap) if the call fails.
pub async fn client_config() -> ClientConfig {
    match Request::get("/api/config").send().await {
        Ok(response) if response.ok() => response.json::<ClientConfig>().await.unwrap_or_default(),
        _ => ClientConfig::default(),
    }
}
