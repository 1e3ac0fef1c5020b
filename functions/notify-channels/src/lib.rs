//! Notification channel adapters for the notifier's `Sender` port:
//!
//! - [`email::SmtpSender`]: SMTP through `lettre` (tokio, rustls);
//! - [`sms::TwilioSender`]: a Twilio-compatible HTTP SMS API;
//! - [`webhook::WebhookSender`]: signed JSON POSTs with bounded retries, and
//!   [`webhook::verify`] for integrators checking our signatures;
//! - [`log::LogSender`]: tracing plus an optional JSONL file (development).
//!
//! No AWS here: the `doorstep` binary uses this crate. (SES lives with the
//! notify Lambda.)

pub mod email;
mod http_client;
pub mod log;
pub mod sms;
pub mod webhook;

use std::path::PathBuf;
use std::sync::Arc;

use doorstep_core::Clock;
use doorstep_core::usecases::notify::Channels;

/// A channel's configuration is present but unusable.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

impl ConfigError {
    pub fn new(var: &'static str, message: impl Into<String>) -> Self {
        Self { var, message: message.into() }
    }
}

/// Reads an environment variable; unset and blank are the same.
pub(crate) fn env(var: &str) -> Option<String> {
    std::env::var(var).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The channels configured by the environment (see each module's
/// `from_env`): email when `DOORSTEP_SMTP_HOST` is set, SMS when
/// `DOORSTEP_SMS_ACCOUNT_SID` is, webhooks always (their endpoints are per
/// organisation), and the log sink, writing JSON lines to `log_file` if given.
pub fn channels_from_env(clock: Arc<dyn Clock>, log_file: Option<PathBuf>) -> Result<Channels, ConfigError> {
    let mut channels = Channels::default();
    if let Some(smtp) = email::SmtpConfig::from_env()? {
        channels.email = Some(Arc::new(email::SmtpSender::new(&smtp)?));
    }
    if let Some(sms) = sms::TwilioConfig::from_env()? {
        channels.sms = Some(Arc::new(sms::TwilioSender::new(sms)));
    }
    channels.webhook = Some(Arc::new(webhook::WebhookSender::new(clock, Arc::new(webhook::TokioSleeper), webhook::RetryPolicy::default())));
    channels.log = Some(Arc::new(log::LogSender::new(log_file)));
    Ok(channels)
}
