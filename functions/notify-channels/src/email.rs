//! Email over SMTP (`lettre`, tokio, rustls).
//!
//! Configuration: `DOORSTEP_SMTP_HOST` (turns email on), `DOORSTEP_SMTP_PORT`
//! (default 587 for STARTTLS, 465 for TLS, 25 without), `DOORSTEP_SMTP_TLS`
//! (`starttls` default, `tls`, or `none` for a local relay),
//! `DOORSTEP_SMTP_USERNAME`, `DOORSTEP_SMTP_PASSWORD`, and
//! `DOORSTEP_MAIL_FROM` (required, e.g. `Colis Express <no-reply@example.com>`).

use async_trait::async_trait;
use doorstep_core::ports::{Outgoing, SendError, Sender};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::{ConfigError, env};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP (a relay on this machine or a test server).
    None,
    StartTls,
    /// Implicit TLS (SMTPS).
    Tls,
}

#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl SmtpConfig {
    /// `None` when `DOORSTEP_SMTP_HOST` is unset.
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        let Some(host) = env("DOORSTEP_SMTP_HOST") else { return Ok(None) };
        let tls = match env("DOORSTEP_SMTP_TLS").as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("starttls") => SmtpTls::StartTls,
            Some("tls") => SmtpTls::Tls,
            Some("none") => SmtpTls::None,
            Some(other) => return Err(ConfigError::new("DOORSTEP_SMTP_TLS", format!("must be starttls, tls or none, not {other}"))),
        };
        let port = match env("DOORSTEP_SMTP_PORT") {
            Some(p) => p.parse().map_err(|_| ConfigError::new("DOORSTEP_SMTP_PORT", format!("not a port number: {p}")))?,
            None => match tls {
                SmtpTls::StartTls => 587,
                SmtpTls::Tls => 465,
                SmtpTls::None => 25,
            },
        };
        let from = env("DOORSTEP_MAIL_FROM").ok_or_else(|| ConfigError::new("DOORSTEP_MAIL_FROM", "required when DOORSTEP_SMTP_HOST is set"))?;
        Ok(Some(Self { host, port, tls, username: env("DOORSTEP_SMTP_USERNAME"), password: env("DOORSTEP_SMTP_PASSWORD"), from }))
    }
}

pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSender").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl SmtpSender {
    pub fn new(config: &SmtpConfig) -> Result<Self, ConfigError> {
        let from: Mailbox = config.from.parse().map_err(|e| ConfigError::new("DOORSTEP_MAIL_FROM", format!("not an address: {e}")))?;
        let relay_error = |e: lettre::transport::smtp::Error| ConfigError::new("DOORSTEP_SMTP_HOST", e.to_string());
        let mut builder = match config.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
            SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host).map_err(relay_error)?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host).map_err(relay_error)?,
        }
        .port(config.port)
        .timeout(Some(std::time::Duration::from_secs(20)));
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self { transport: builder.build(), from })
    }
}

/// The Message-ID for a delivery: stable across attempts, so a receiving
/// system that saw it once can drop a duplicate.
pub fn message_id(delivery_id: &str) -> String {
    let local: String = delivery_id.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '.' }).collect();
    format!("<{local}@doorstep.notifications>")
}

#[async_trait]
impl Sender for SmtpSender {
    async fn send(&self, message: &Outgoing) -> Result<(), SendError> {
        let to: Mailbox = message.recipient.parse().map_err(|e| SendError::Refused(format!("bad address {}: {e}", message.recipient)))?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&message.subject)
            .message_id(Some(message_id(&message.delivery_id)))
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.clone())
            .map_err(|e| SendError::Refused(format!("cannot build the email: {e}")))?;
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Refused(e.to_string())),
            Err(e) => Err(SendError::Unavailable(e.to_string())),
        }
    }
}
