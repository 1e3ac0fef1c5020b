//! SMS through a Twilio-compatible HTTP API: a form POST to
//! `{base}/2010-04-01/Accounts/{sid}/Messages.json` with basic auth.
//!
//! Configuration: `DOORSTEP_SMS_ACCOUNT_SID` (turns SMS on),
//! `DOORSTEP_SMS_AUTH_TOKEN`, `DOORSTEP_SMS_FROM` (a number or a messaging
//! service id `MG...`), `DOORSTEP_SMS_BASE_URL` (default
//! `https://api.twilio.com`; tests point it at a local receiver).

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use bytes::Bytes;
use doorstep_core::ports::{Outgoing, SendError, Sender};
use http_body_util::Full;

use crate::http_client::{Answer, HttpClient, client, exchange};
use crate::{ConfigError, env};

pub const DEFAULT_BASE_URL: &str = "https://api.twilio.com";

#[derive(Clone)]
pub struct TwilioConfig {
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: String,
    pub from: String,
}

impl std::fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioConfig").field("base_url", &self.base_url).field("account_sid", &self.account_sid).field("from", &self.from).finish_non_exhaustive()
    }
}

impl TwilioConfig {
    /// `None` when `DOORSTEP_SMS_ACCOUNT_SID` is unset.
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        let Some(account_sid) = env("DOORSTEP_SMS_ACCOUNT_SID") else { return Ok(None) };
        let auth_token = env("DOORSTEP_SMS_AUTH_TOKEN").ok_or_else(|| ConfigError::new("DOORSTEP_SMS_AUTH_TOKEN", "required when DOORSTEP_SMS_ACCOUNT_SID is set"))?;
        let from = env("DOORSTEP_SMS_FROM").ok_or_else(|| ConfigError::new("DOORSTEP_SMS_FROM", "required when DOORSTEP_SMS_ACCOUNT_SID is set"))?;
        let base_url = env("DOORSTEP_SMS_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            return Err(ConfigError::new("DOORSTEP_SMS_BASE_URL", "must be an http(s) URL"));
        }
        Ok(Some(Self { base_url, account_sid, auth_token, from }))
    }
}

pub struct TwilioSender {
    config: TwilioConfig,
    client: HttpClient,
}

impl std::fmt::Debug for TwilioSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioSender").field("config", &self.config).finish_non_exhaustive()
    }
}

impl TwilioSender {
    pub fn new(config: TwilioConfig) -> Self {
        Self { config, client: client() }
    }
}

#[async_trait]
impl Sender for TwilioSender {
    /// One try: an SMS resent after an unclear failure could reach the
    /// customer twice, and the notifier prefers at most once.
    async fn send(&self, message: &Outgoing) -> Result<(), SendError> {
        let c = &self.config;
        let url = format!("{}/2010-04-01/Accounts/{}/Messages.json", c.base_url.trim_end_matches('/'), c.account_sid);
        let from_field = if c.from.starts_with("MG") { "MessagingServiceSid" } else { "From" };
        let to: String = message.recipient.chars().filter(|ch| !ch.is_whitespace()).collect();
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("To", &to)
            .append_pair(from_field, &c.from)
            .append_pair("Body", &message.body)
            .finish();
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.account_sid, c.auth_token));
        let request = http::Request::post(&url)
            .header(http::header::AUTHORIZATION, format!("Basic {auth}"))
            .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            // Providers that support idempotency keys dedupe on it.
            .header("Idempotency-Key", &message.delivery_id)
            .header("I-Twilio-Idempotency-Token", &message.delivery_id)
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| SendError::Refused(format!("bad SMS URL {url}: {e}")))?;
        match exchange(&self.client, request, Duration::from_secs(15)).await {
            Answer::Status(status, _) if status.is_success() => Ok(()),
            Answer::Status(status, text) if status.is_client_error() => Err(SendError::Refused(format!("{status}: {text}"))),
            Answer::Status(status, text) => Err(SendError::Unavailable(format!("{status}: {text}"))),
            Answer::NoAnswer(e) => Err(SendError::Unavailable(e)),
        }
    }
}
