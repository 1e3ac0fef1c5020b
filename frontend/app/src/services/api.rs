//! Typed calls to Doorstep's API with the signed-in dispatcher's token. Every
//! failure comes back as the API's own error shape, so pages show one kind of error.

use doorstep_domain::api::{ApiError, Page};
use doorstep_domain::auth::{LoginRequest, TokenResponse};
use doorstep_domain::dispatch::{PublishedPlan, SavePlanRequest};
use doorstep_domain::org::Organisation;
use doorstep_domain::{Depot, Driver, Order, Plan, Vehicle};
use gloo_net::http::{Request, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

const TOKEN_KEY: &str = "doorstep.token";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// The access token kept for this tab (session storage: gone when the tab closes).
#[cfg(target_arch = "wasm32")]
pub fn stored_token() -> Option<String> {
    storage()?.get_item(TOKEN_KEY).ok().flatten().filter(|t| !t.is_empty())
}

/// Natively there is no tab: the build's prerender says whether the page it
/// renders is the signed-in one.
#[cfg(not(target_arch = "wasm32"))]
pub fn stored_token() -> Option<String> {
    PRERENDER_SIGNED_IN.load(std::sync::atomic::Ordering::Relaxed).then(|| "prerender".to_owned())
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) static PRERENDER_SIGNED_IN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn store_token(token: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(TOKEN_KEY, token);
    }
}

/// Signs this tab out (with a Cognito sign-in, its session too).
pub fn forget_token() {
    if let Some(s) = storage() {
        let _ = s.remove_item(TOKEN_KEY);
    }
    super::cognito::forget();
}

fn network_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::new("network", format!("the server could not be reached: {e}"))
}

async fn read<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    if response.ok() {
        return response
            .json::<T>()
            .await
            .map_err(|e| ApiError::new("invalid_response", format!("unexpected answer from the server: {e}")));
    }
    let status = response.status();
    Err(response
        .json::<ApiError>()
        .await
        .unwrap_or_else(|_| ApiError::new("http_error", format!("the server answered {status}"))))
}

/// With a Cognito sign-in, the session's current ID token (refreshed
/// before it expires) stands in for the one a page was given.
async fn authorised(builder: RequestBuilder, token: &str) -> RequestBuilder {
    let token = super::cognito::fresh_token(token).await;
    builder.header("Authorization", &format!("Bearer {token}"))
}

pub async fn get<T: DeserializeOwned>(token: &str, path: &str) -> Result<T, ApiError> {
    let response = authorised(Request::get(path), token).await.send().await.map_err(network_error)?;
    read(response).await
}

/// A text answer (e.g. a CSV export); errors still come as the API's shape.
pub async fn get_text(token: &str, path: &str) -> Result<String, ApiError> {
    let response = authorised(Request::get(path), token).await.send().await.map_err(network_error)?;
    if response.ok() {
        return response.text().await.map_err(network_error);
    }
    let status = response.status();
    Err(response.json::<ApiError>().await.unwrap_or_else(|_| ApiError::new("http_error", format!("the server answered {status}"))))
}

pub async fn post<B: Serialize, T: DeserializeOwned>(token: &str, path: &str, body: &B) -> Result<T, ApiError> {
    let request = authorised(Request::post(path), token).await.json(body).map_err(network_error)?;
    read(request.send().await.map_err(network_error)?).await
}

/// The largest CSV the import endpoint takes.
pub const MAX_CSV_BYTES: u32 = 5 * 1024 * 1024;

/// A POST the server replays instead of repeating when the key comes again
/// (a double click, a retry after a dropped connection).
pub async fn post_idempotent<B: Serialize, T: DeserializeOwned>(token: &str, path: &str, body: &B, key: &str) -> Result<T, ApiError> {
    let request = authorised(Request::post(path), token).await.header("Idempotency-Key", key).json(body).map_err(network_error)?;
    read(request.send().await.map_err(network_error)?).await
}

pub async fn login(email: &str, password: &str) -> Result<TokenResponse, ApiError> {
    let body = LoginRequest { email: email.to_owned(), password: password.to_owned() };
    let request = Request::post("/api/auth/login").json(&body).map_err(network_error)?;
    read(request.send().await.map_err(network_error)?).await
}

/// What planning one day needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Business {
    pub organisation: Organisation,
    pub depots: Vec<Depot>,
    pub vehicles: Vec<Vehicle>,
    pub drivers: Vec<Driver>,
}

pub async fn business(token: &str) -> Result<Business, ApiError> {
    // Four requests at once: on a slow link, one round trip instead of four.
    let (organisation, depots, vehicles, drivers) = futures::try_join!(
        get(token, "/api/organisation"),
        get(token, "/api/depots"),
        get(token, "/api/vehicles"),
        get(token, "/api/drivers"),
    )?;
    Ok(Business { organisation, depots, vehicles, drivers })
}

/// Every order for `date` (`YYYY-MM-DD`), following the pages.
pub async fn orders_for(token: &str, date: &str) -> Result<Vec<Order>, ApiError> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/orders?date={date}&limit=200");
        if let Some(c) = &cursor {
            path.push_str("&cursor=");
            path.push_str(&String::from(js_sys::encode_uri_component(c)));
        }
        let page: Page<Order> = get(token, &path).await?;
        all.extend(page.items);
        match page.next_cursor {
            Some(next) if cursor.as_ref() != Some(&next) => cursor = Some(next),
            _ => return Ok(all),
        }
    }
}

/// Saves the draft and publishes it at once.
pub async fn save_and_publish(token: &str, request: &SavePlanRequest) -> Result<PublishedPlan, ApiError> {
    let plan: Plan = post(token, "/api/plans", request).await?;
    post(token, &format!("/api/plans/{}/publish", plan.id), &doorstep_domain::api::PlanVersion { version: plan.version }).await
}

pub async fn patch<B: Serialize, T: DeserializeOwned>(token: &str, path: &str, body: &B) -> Result<T, ApiError> {
    let request = authorised(Request::patch(path), token).await.json(body).map_err(network_error)?;
    read(request.send().await.map_err(network_error)?).await
}

// --- fleet and settings (the Setup page) ------------------------------------
// Updates send the whole editable record as a JSON merge patch: fields the
// form leaves unset go as `null` and are cleared.

pub async fn create_depot(token: &str, new: &doorstep_domain::org::NewDepot) -> Result<Depot, ApiError> {
    post(token, "/api/depots", new).await
}

pub async fn update_depot(token: &str, id: &doorstep_domain::DepotId, new: &doorstep_domain::org::NewDepot) -> Result<Depot, ApiError> {
    patch(token, &format!("/api/depots/{id}"), new).await
}

pub async fn create_vehicle(token: &str, new: &doorstep_domain::vehicle::NewVehicle) -> Result<Vehicle, ApiError> {
    post(token, "/api/vehicles", new).await
}

pub async fn update_vehicle(token: &str, id: &doorstep_domain::VehicleId, new: &doorstep_domain::vehicle::NewVehicle) -> Result<Vehicle, ApiError> {
    patch(token, &format!("/api/vehicles/{id}"), new).await
}

pub async fn create_driver(token: &str, new: &doorstep_domain::org::NewDriver) -> Result<Driver, ApiError> {
    post(token, "/api/drivers", new).await
}

pub async fn update_driver(token: &str, id: &doorstep_domain::DriverId, new: &doorstep_domain::org::NewDriver) -> Result<Driver, ApiError> {
    patch(token, &format!("/api/drivers/{id}"), new).await
}

pub async fn update_organisation(token: &str, fields: &doorstep_domain::org::OrganisationFields) -> Result<Organisation, ApiError> {
    patch(token, "/api/organisation", fields).await
}

/// A one-time link token and PIN for a driver's phone.
pub async fn issue_sign_in_codes(token: &str, driver: &doorstep_domain::DriverId) -> Result<doorstep_domain::auth::SignInCodes, ApiError> {
    let request = authorised(Request::post(&format!("/api/drivers/{driver}/sign-in-codes")), token).await;
    read(request.send().await.map_err(network_error)?).await
}

// --- orders (the orders table's form) ---------------------------------------

pub async fn create_order(token: &str, new: &doorstep_domain::NewOrder) -> Result<Order, ApiError> {
    post(token, "/api/orders", new).await
}

/// A patch at the version read; a stale version or an order past planning is refused.
pub async fn update_order(token: &str, id: &doorstep_domain::OrderId, patch: &doorstep_domain::OrderPatch) -> Result<Order, ApiError> {
    self::patch(token, &format!("/api/orders/{id}"), patch).await
}
