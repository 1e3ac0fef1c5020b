//! Signing a dispatcher in with a Cognito user pool, straight from the
//! browser (`/api/config` says when: `ClientAuth::Cognito`). The pool's ID
//! token (it carries `custom:org` and `cognito:groups`, which the server
//! reads) becomes the bearer every API call sends; it is refreshed with the
//! refresh token shortly before it expires, and when that fails the session
//! is dropped so the next call's 401 signs the dispatcher out.

use doorstep_domain::api::{ApiError, ClientAuth};
use gloo_net::http::Request;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const SESSION_KEY: &str = "doorstep.cognito";
/// Refresh an ID token that has less than this left.
const REFRESH_BEFORE_S: i64 = 300;

/// What a signed-in dispatcher's tab keeps (session storage, like the token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Session {
    endpoint: String,
    client_id: String,
    id_token: String,
    refresh_token: String,
    iss: String,
    sub: String,
    /// The ID token's expiry, Unix seconds.
    exp: i64,
}

/// The first step of a sign-in.
#[derive(Debug, Clone, PartialEq)]
pub enum SignIn {
    /// Signed in; the ID token, already stored as the API token.
    Done(String),
    /// A first sign-in with a temporary password: a new one must be chosen.
    NewPasswordRequired(Challenge),
}

/// A pending `NEW_PASSWORD_REQUIRED` challenge.
#[derive(Debug, Clone, PartialEq)]
pub struct Challenge {
    session: String,
    username: String,
}

/// The claims this module reads from a token it holds (never trusted for
/// access: the server verifies the signature).
#[derive(Debug, Default, Deserialize)]
struct Claims {
    #[serde(default)]
    iss: String,
    #[serde(default)]
    sub: String,
    #[serde(default)]
    exp: i64,
}

/// Signs in with `USER_PASSWORD_AUTH`.
pub async fn sign_in(auth: &ClientAuth, email: &str, password: &str) -> Result<SignIn, ApiError> {
    let (endpoint, client_id) = pool(auth)?;
    let answer = call(
        &endpoint,
        "InitiateAuth",
        json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": client_id, "AuthParameters": {"USERNAME": email, "PASSWORD": password}}),
    )
    .await?;
    signed_in_or_challenged(&endpoint, &client_id, &answer, email)
}

/// Answers the new-password challenge and finishes the sign-in.
pub async fn set_new_password(auth: &ClientAuth, challenge: &Challenge, new_password: &str) -> Result<SignIn, ApiError> {
    let (endpoint, client_id) = pool(auth)?;
    let answer = call(
        &endpoint,
        "RespondToAuthChallenge",
        json!({
            "ChallengeName": "NEW_PASSWORD_REQUIRED",
            "ClientId": client_id,
            "Session": challenge.session,
            "ChallengeResponses": {"USERNAME": challenge.username, "NEW_PASSWORD": new_password},
        }),
    )
    .await?;
    signed_in_or_challenged(&endpoint, &client_id, &answer, &challenge.username)
}

/// The token to send in place of `token`: when it is this tab's Cognito ID
/// token (or an older one of the same session), the session's current one,
/// refreshed first if it is about to expire. Anything else comes back as is.
pub async fn fresh_token(token: &str) -> String {
    let Some(session) = load() else { return token.to_owned() };
    let claims = claims(token).unwrap_or_default();
    if token != session.id_token && (claims.iss != session.iss || claims.sub != session.sub) {
        return token.to_owned();
    }
    if session.exp - now_s() > REFRESH_BEFORE_S {
        return session.id_token;
    }
    match refresh(&session).await {
        Ok(fresh) => fresh.id_token,
        Err(e) if e.code == "network" => session.id_token,
        Err(e) => {
            // The refresh token expired or was revoked: sign out cleanly (the
            // server answers the stale token 401 and the page shows sign-in).
            web_sys::console::warn_1(&format!("Cognito session ended: {}", e.message).into());
            forget();
            session.id_token
        }
    }
}

/// Drops the tab's Cognito session (sign-out).
pub fn forget() {
    if let Some(s) = storage() {
        let _ = s.remove_item(SESSION_KEY);
    }
}

async fn refresh(session: &Session) -> Result<Session, ApiError> {
    let answer = call(
        &session.endpoint,
        "InitiateAuth",
        json!({"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": session.client_id, "AuthParameters": {"REFRESH_TOKEN": session.refresh_token}}),
    )
    .await?;
    let result = &answer["AuthenticationResult"];
    let id_token = result["IdToken"].as_str().ok_or_else(|| invalid("no ID token in the refresh answer"))?;
    // Cognito keeps the refresh token unless it rotates it.
    let refresh_token = result["RefreshToken"].as_str().unwrap_or(&session.refresh_token);
    let fresh = new_session(&session.endpoint, &session.client_id, id_token, refresh_token)?;
    save(&fresh);
    Ok(fresh)
}

fn signed_in_or_challenged(endpoint: &str, client_id: &str, answer: &Value, username: &str) -> Result<SignIn, ApiError> {
    let result = &answer["AuthenticationResult"];
    if let (Some(id_token), Some(refresh_token)) = (result["IdToken"].as_str(), result["RefreshToken"].as_str()) {
        let session = new_session(endpoint, client_id, id_token, refresh_token)?;
        save(&session);
        super::api::store_token(&session.id_token);
        return Ok(SignIn::Done(session.id_token));
    }
    match answer["ChallengeName"].as_str() {
        Some("NEW_PASSWORD_REQUIRED") => {
            let session = answer["Session"].as_str().ok_or_else(|| invalid("no session in the challenge"))?.to_owned();
            // Cognito wants the user's internal name back when it gives one.
            let parameters = &answer["ChallengeParameters"];
            let username = parameters["USER_ID_FOR_SRP"].as_str().or(parameters["USERNAME"].as_str()).unwrap_or(username).to_owned();
            Ok(SignIn::NewPasswordRequired(Challenge { session, username }))
        }
        Some(other) => Err(ApiError::new(
            "unsupported_challenge",
            format!("This account needs a sign-in step the app does not offer ({other}); ask your administrator."),
        )),
        None => Err(invalid("neither tokens nor a challenge")),
    }
}

fn new_session(endpoint: &str, client_id: &str, id_token: &str, refresh_token: &str) -> Result<Session, ApiError> {
    let claims = claims(id_token).ok_or_else(|| invalid("an unreadable ID token"))?;
    Ok(Session {
        endpoint: endpoint.to_owned(),
        client_id: client_id.to_owned(),
        id_token: id_token.to_owned(),
        refresh_token: refresh_token.to_owned(),
        iss: claims.iss,
        sub: claims.sub,
        exp: claims.exp,
    })
}

fn pool(auth: &ClientAuth) -> Result<(String, String), ApiError> {
    match (auth, auth.cognito_endpoint()) {
        (ClientAuth::Cognito { client_id, .. }, Some(endpoint)) => Ok((endpoint, client_id.clone())),
        _ => Err(ApiError::new("not_cognito", "this server does not sign in with Cognito")),
    }
}

/// One Cognito API call, as the AWS SDKs make it from a browser (no
/// credentials: these calls are public for an app client without a secret).
async fn call(endpoint: &str, action: &str, body: Value) -> Result<Value, ApiError> {
    let response = Request::post(endpoint)
        .header("Content-Type", "application/x-amz-json-1.1")
        .header("X-Amz-Target", &format!("AWSCognitoIdentityProviderService.{action}"))
        .body(body.to_string())
        .map_err(network)?
        .send()
        .await
        .map_err(network)?;
    let status = response.status();
    let text = response.text().await.map_err(network)?;
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return Ok(value);
    }
    let kind = value["__type"].as_str().or(value["code"].as_str()).unwrap_or("");
    let message = value["message"].as_str().or(value["Message"].as_str()).unwrap_or("");
    Err(cognito_error(kind, message, status))
}

/// Cognito's error, in the API's shape and words a dispatcher can act on.
fn cognito_error(kind: &str, message: &str, status: u16) -> ApiError {
    // Some services send `namespace#Kind`.
    let kind = kind.rsplit('#').next().unwrap_or(kind);
    match kind {
        "NotAuthorizedException" if message.contains("attempts exceeded") => {
            ApiError::new("rate_limited", "Too many attempts. Wait a few minutes and try again.")
        }
        "NotAuthorizedException" if message.to_ascii_lowercase().contains("refresh token") => {
            ApiError::new("unauthorized", format!("Your session ended ({message}); sign in again."))
        }
        "NotAuthorizedException" | "UserNotFoundException" => ApiError::new("unauthorized", "Wrong email address or password."),
        "PasswordResetRequiredException" => ApiError::new("password_reset_required", "Your password must be reset; ask your administrator."),
        "UserNotConfirmedException" => ApiError::new("not_confirmed", "Your account is not confirmed yet; ask your administrator."),
        "InvalidPasswordException" => {
            ApiError::new("invalid_password", format!("That password is not allowed: {}", message.trim_start_matches("Password does not conform to policy: ")))
        }
        "TooManyRequestsException" | "LimitExceededException" => ApiError::new("rate_limited", "Too many attempts. Wait a few minutes and try again."),
        "CodeMismatchException" | "ExpiredCodeException" => ApiError::new("challenge_expired", "The sign-in took too long; start again."),
        "" => ApiError::new("http_error", format!("the sign-in service answered {status}")),
        _ if message.is_empty() => ApiError::new("cognito", format!("The sign-in service refused: {kind}.")),
        _ => ApiError::new("cognito", format!("The sign-in service refused: {message}")),
    }
}

fn network(e: impl std::fmt::Display) -> ApiError {
    ApiError::new("network", format!("the sign-in service could not be reached: {e}"))
}

fn invalid(what: &str) -> ApiError {
    ApiError::new("invalid_response", format!("unexpected answer from the sign-in service: {what}"))
}

/// A JWT's payload, read without checking the signature.
fn claims(token: &str) -> Option<Claims> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&base64url(payload)?).ok()
}

fn base64url(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn now_s() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

fn load() -> Option<Session> {
    let text = storage()?.get_item(SESSION_KEY).ok().flatten()?;
    serde_json::from_str(&text).ok()
}

fn save(session: &Session) {
    if let (Some(s), Ok(text)) = (storage(), serde_json::to_string(session)) {
        let _ = s.set_item(SESSION_KEY, &text);
        super::api::store_token(&session.id_token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tokens_claims_are_read_from_its_base64url_payload() {
        // {"iss":"https://cognito-idp.eu-west-3.amazonaws.com/p","sub":"ü-1","exp":1795344694}
        let payload = "eyJpc3MiOiJodHRwczovL2NvZ25pdG8taWRwLmV1LXdlc3QtMy5hbWF6b25hd3MuY29tL3AiLCJzdWIiOiLDvC0xIiwiZXhwIjoxNzk1MzQ0Njk0fQ";
        let read = claims(&format!("e30.{payload}.sig")).expect("claims");
        assert_eq!((read.iss.as_str(), read.sub.as_str(), read.exp), ("https://cognito-idp.eu-west-3.amazonaws.com/p", "ü-1", 1795344694));
        assert!(claims("no-dots").is_none());
        assert!(claims("a.not*base64.c").is_none());
    }

    #[test]
    fn cognito_errors_become_messages_a_dispatcher_can_act_on() {
        let wrong = cognito_error("NotAuthorizedException", "Incorrect username or password.", 400);
        assert_eq!((wrong.code.as_str(), wrong.message.as_str()), ("unauthorized", "Wrong email address or password."));
        assert_eq!(cognito_error("UserNotFoundException", "User does not exist.", 400).message, "Wrong email address or password.");
        assert_eq!(cognito_error("NotAuthorizedException", "Password attempts exceeded", 400).code, "rate_limited");
        let policy = cognito_error("com.amazonaws#InvalidPasswordException", "Password does not conform to policy: Password not long enough", 400);
        assert_eq!(policy.message, "That password is not allowed: Password not long enough");
        assert_eq!(cognito_error("", "", 502).message, "the sign-in service answered 502");
    }
}
