//! Customer notifications: what triggers them, how they are sent, and
//! their text. Sending is done elsewhere.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{NotificationId, OrderId, OrgId};
use crate::lifecycle::{FailureReason, OrderEvent};
use crate::time::rfc3339;
use crate::validation::{Path, Report, Validate, codes, is_plausible_email, is_plausible_phone};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The plan was published: "your delivery is scheduled for ...".
    Dispatched,
    /// The driver is within the organisation's nearby radius.
    Nearby,
    Delivered,
    Failed,
    /// The ETA slipped past the promised window.
    Delayed,
    /// A dispatcher's change to the routes moved the ETA out of the window
    /// the customer was promised: "it should now arrive ...".
    EtaChanged,
}

impl Trigger {
    pub const ALL: [Trigger; 6] = [Self::Dispatched, Self::Nearby, Self::Delivered, Self::Failed, Self::Delayed, Self::EtaChanged];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dispatched => "dispatched",
            Self::Nearby => "nearby",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Delayed => "delayed",
            Self::EtaChanged => "eta_changed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The trigger a lifecycle event causes, if any. `nearby` and `delayed`
    /// come from tracking, not from the lifecycle.
    pub fn for_event(event: &OrderEvent) -> Option<Trigger> {
        match event {
            OrderEvent::Dispatch => Some(Self::Dispatched),
            OrderEvent::Deliver => Some(Self::Delivered),
            OrderEvent::Fail { .. } => Some(Self::Failed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    Webhook,
    /// Written to the server log only (local development, demos).
    Log,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NotificationStatus {
    Pending,
    Sent,
    Failed,
    /// Not sent on purpose (no contact details, opted out, superseded).
    Skipped,
}

/// One message about one order to one recipient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    pub id: NotificationId,
    pub org_id: OrgId,
    pub order_id: OrderId,
    pub trigger: Trigger,
    pub channel: Channel,
    /// Email address, phone number, webhook URL, or anything for `log`.
    pub recipient: String,
    pub status: NotificationStatus,
    #[serde(default)]
    pub attempts: u32,
    /// Last delivery error from the provider.
    #[serde(default)]
    pub error: Option<String>,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
}

/// Whether `recipient` suits `channel`.
pub fn recipient_fits(channel: Channel, recipient: &str) -> bool {
    match channel {
        Channel::Email => is_plausible_email(recipient),
        Channel::Sms => is_plausible_phone(recipient),
        Channel::Webhook => {
            recipient.starts_with("https://") && !recipient.chars().any(char::is_whitespace)
        }
        Channel::Log => true,
    }
}

impl Validate for Notification {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        let rp = path.field("recipient");
        if self.recipient.trim().is_empty() {
            report.push(&rp, codes::REQUIRED, "must not be empty");
        } else if !recipient_fits(self.channel, &self.recipient) {
            let code = match self.channel {
                Channel::Email => codes::INVALID_EMAIL,
                Channel::Sms => codes::INVALID_PHONE,
                Channel::Webhook | Channel::Log => codes::INVALID_URL,
            };
            report.push(&rp, code, "does not suit the channel");
        }
        if self.status == NotificationStatus::Sent && self.sent_at.is_none() {
            report.push(
                &path.field("sent_at"),
                codes::REQUIRED,
                "sent notifications record when",
            );
        }
    }
}

/// Rendered text of a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub subject: String,
    pub body: String,
}

/// What a message may mention. Times are pre-formatted by the caller, who
/// knows the recipient's zone and locale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageContext<'a> {
    pub sender: &'a str,
    pub recipient_name: &'a str,
    /// e.g. "between 10:00 and 12:00".
    pub when: Option<&'a str>,
    pub tracking_url: Option<&'a str>,
}

/// Plain English text for a trigger (short enough for one SMS when the
/// tracking URL is short).
pub fn compose(trigger: Trigger, ctx: &MessageContext<'_>) -> Message {
    let when = ctx.when.map(|w| format!(" {w}")).unwrap_or_default();
    let (subject, line) = match trigger {
        Trigger::Dispatched => (
            format!("Your {} delivery is scheduled", ctx.sender),
            format!("your delivery from {} is scheduled{when}.", ctx.sender),
        ),
        Trigger::Nearby => (
            format!("Your {} delivery is nearby", ctx.sender),
            format!(
                "your driver from {} is nearby and will arrive{when}.",
                ctx.sender
            ),
        ),
        Trigger::Delivered => (
            format!("Your {} delivery has arrived", ctx.sender),
            format!("your delivery from {} has been delivered.", ctx.sender),
        ),
        Trigger::Failed => (
            format!("We missed you: {} delivery", ctx.sender),
            format!(
                "we could not deliver your order from {} today. We will be in touch to arrange another attempt.",
                ctx.sender
            ),
        ),
        Trigger::Delayed => (
            format!("Your {} delivery is running late", ctx.sender),
            format!(
                "your delivery from {} is running late; it should now arrive{when}.",
                ctx.sender
            ),
        ),
        Trigger::EtaChanged => (
            format!("New arrival time for your {} delivery", ctx.sender),
            format!(
                "the arrival time of your delivery from {} has changed; it should now arrive{when}.",
                ctx.sender
            ),
        ),
    };
    let track = ctx
        .tracking_url
        .map(|u| format!(" Track it: {u}"))
        .unwrap_or_default();
    Message {
        subject,
        body: format!("Hello {}, {line}{track}", ctx.recipient_name),
    }
}


// --- per-organisation settings: channels, webhooks, templates -------------

/// How an organisation notifies its customers. Every field has a default, so
/// `{}` (or no `notifications` at all) is valid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct NotificationSettings {
    /// Email the recipient when the order has an address and email is configured.
    pub email: bool,
    /// Text the recipient when the order has a phone number and SMS is configured.
    pub sms: bool,
    /// Endpoints that get every event as signed JSON.
    pub webhooks: Vec<WebhookEndpoint>,
    /// Overrides of the default texts, per (trigger, language).
    pub templates: Vec<TemplateOverride>,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self { email: true, sms: true, webhooks: Vec::new(), templates: Vec::new() }
    }
}

/// An integrator's endpoint. The secret signs each request (see the
/// `Doorstep-Signature` header); it is stored as given, since signing needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpoint {
    /// Short name, unique in the organisation; part of the send ledger key.
    pub id: String,
    pub url: String,
    pub secret: String,
    /// Only these triggers; empty means all of them.
    #[serde(default)]
    pub triggers: Vec<Trigger>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl WebhookEndpoint {
    pub fn wants(&self, trigger: Trigger) -> bool {
        self.active && (self.triggers.is_empty() || self.triggers.contains(&trigger))
    }
}

/// Shortest webhook secret accepted (bytes).
pub const MIN_WEBHOOK_SECRET_LEN: usize = 16;

/// `https://...`, or plain `http://` to this machine (local development).
pub fn is_acceptable_webhook_url(url: &str) -> bool {
    if url.chars().any(char::is_whitespace) {
        return false;
    }
    if let Some(rest) = url.strip_prefix("https://") {
        return !rest.is_empty();
    }
    ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| url.strip_prefix(p).is_some_and(|r| r.is_empty() || r.starts_with([':', '/'])))
}

/// A replacement text for one trigger in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TemplateOverride {
    pub trigger: Trigger,
    /// `en` or `fr` (the language part of the org's locale).
    pub language: String,
    pub subject: String,
    pub body: String,
}

/// Languages with default texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    En,
    Fr,
}

impl Language {
    pub const ALL: [Language; 2] = [Self::En, Self::Fr];

    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Fr => "fr",
        }
    }

    /// The language of a BCP 47 locale (`fr-FR` is French); English otherwise.
    pub fn for_locale(locale: &str) -> Self {
        let lang = locale.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        Self::ALL.into_iter().find(|l| l.code() == lang).unwrap_or(Self::En)
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == code)
    }
}

/// The names a template may use between braces (`{{` and `}}` are literal braces):
/// - `recipient_name`, `sender` (the organisation), `order_ref` (external ref or id);
/// - `when`: "between 10:00 and 12:00" in the template's language (empty without an ETA);
/// - `tracking_url`, and `tracking`: a sentence with the link (empty without one);
/// - `reason`: why a delivery failed, in the template's language;
/// - `otp_code`, and `otp`: a sentence with the delivery code (empty without one).
pub const PLACEHOLDERS: [&str; 9] =
    ["recipient_name", "sender", "order_ref", "when", "tracking_url", "tracking", "reason", "otp_code", "otp"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown placeholder {{{0}}}")]
    UnknownPlaceholder(String),
    #[error("unclosed {{ at byte {0}")]
    Unclosed(usize),
    #[error("stray }} at byte {0}")]
    StrayClose(usize),
}

enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

fn parse_template(text: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let bytes = text.as_bytes();
    let (mut i, mut start) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                pieces.push(Piece::Text(&text[start..=i]));
                i += 2;
                start = i;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                pieces.push(Piece::Text(&text[start..=i]));
                i += 2;
                start = i;
            }
            b'{' => {
                let close = text[i..].find('}').ok_or(TemplateError::Unclosed(i))? + i;
                let name = &text[i + 1..close];
                if !PLACEHOLDERS.contains(&name) {
                    return Err(TemplateError::UnknownPlaceholder(name.to_owned()));
                }
                pieces.push(Piece::Text(&text[start..i]));
                pieces.push(Piece::Var(name));
                i = close + 1;
                start = i;
            }
            b'}' => return Err(TemplateError::StrayClose(i)),
            _ => i += 1,
        }
    }
    pieces.push(Piece::Text(&text[start..]));
    Ok(pieces)
}

/// Checks that a template only uses known placeholders and balanced braces.
pub fn check_template(text: &str) -> Result<(), TemplateError> {
    parse_template(text).map(|_| ())
}

/// Fills a template; `value` answers each placeholder (empty when it has nothing).
pub fn render_template(text: &str, value: impl Fn(&str) -> String) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(text.len() + 64);
    for piece in parse_template(text)? {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(name) => out.push_str(&value(name)),
        }
    }
    Ok(out)
}

/// The built-in (subject, body) for a trigger in a language.
pub fn default_template(trigger: Trigger, language: Language) -> (&'static str, &'static str) {
    match (language, trigger) {
        (Language::En, Trigger::Dispatched) => (
            "Your {sender} delivery is scheduled",
            "Hello {recipient_name}, your delivery from {sender} is scheduled {when}.{tracking}{otp}",
        ),
        (Language::En, Trigger::Nearby) => (
            "Your {sender} delivery is nearby",
            "Hello {recipient_name}, your driver from {sender} is nearby and will arrive {when}.{tracking}{otp}",
        ),
        (Language::En, Trigger::Delivered) => (
            "Your {sender} delivery has arrived",
            "Hello {recipient_name}, your delivery from {sender} has been delivered.{tracking}",
        ),
        (Language::En, Trigger::Failed) => (
            "We missed you: {sender} delivery",
            "Hello {recipient_name}, we could not deliver your order from {sender} today ({reason}). We will be in touch to arrange another attempt.{tracking}",
        ),
        (Language::En, Trigger::Delayed) => (
            "Your {sender} delivery is running late",
            "Hello {recipient_name}, your delivery from {sender} is running late; it should now arrive {when}.{tracking}",
        ),
        (Language::Fr, Trigger::Dispatched) => (
            "Votre livraison {sender} est programmée",
            "Bonjour {recipient_name}, votre livraison {sender} est prévue {when}.{tracking}{otp}",
        ),
        (Language::Fr, Trigger::Nearby) => (
            "Votre livraison {sender} approche",
            "Bonjour {recipient_name}, votre livreur {sender} est tout proche et arrivera {when}.{tracking}{otp}",
        ),
        (Language::Fr, Trigger::Delivered) => (
            "Votre livraison {sender} est arrivée",
            "Bonjour {recipient_name}, votre commande {sender} a été livrée.{tracking}",
        ),
        (Language::Fr, Trigger::Failed) => (
            "Livraison {sender} manquée",
            "Bonjour {recipient_name}, nous n'avons pas pu livrer votre commande {sender} aujourd'hui ({reason}). Nous vous recontacterons pour convenir d'un nouveau passage.{tracking}",
        ),
        (Language::Fr, Trigger::Delayed) => (
            "Votre livraison {sender} a du retard",
            "Bonjour {recipient_name}, votre livraison {sender} a du retard ; elle devrait arriver {when}.{tracking}",
        ),
        (Language::En, Trigger::EtaChanged) => (
            "New arrival time for your {sender} delivery",
            "Hello {recipient_name}, the arrival time of your delivery from {sender} has changed; it should now arrive {when}.{tracking}",
        ),
        (Language::Fr, Trigger::EtaChanged) => (
            "Nouvel horaire pour votre livraison {sender}",
            "Bonjour {recipient_name}, l'horaire de votre livraison {sender} a changé ; elle devrait arriver {when}.{tracking}",
        ),
    }
}

/// The sentence forms of the optional placeholders, per language.
pub fn phrase_window(language: Language, start: &str, end: &str) -> String {
    match language {
        Language::En => format!("between {start} and {end}"),
        Language::Fr => format!("entre {start} et {end}"),
    }
}

pub fn phrase_tracking(language: Language, url: &str) -> String {
    match language {
        Language::En => format!(" Track it: {url}"),
        Language::Fr => format!(" Suivre : {url}"),
    }
}

pub fn phrase_otp(language: Language, code: &str) -> String {
    match language {
        Language::En => format!(" Your delivery code: {code}."),
        Language::Fr => format!(" Votre code de livraison : {code}."),
    }
}

pub fn reason_label(language: Language, reason: FailureReason) -> &'static str {
    match language {
        Language::En => reason.label(),
        Language::Fr => match reason {
            FailureReason::RecipientAbsent => "destinataire absent",
            FailureReason::RecipientRefused => "livraison refusée",
            FailureReason::WrongAddress => "adresse erronée",
            FailureReason::AddressInaccessible => "adresse inaccessible",
            FailureReason::BusinessClosed => "établissement fermé",
            FailureReason::NoSafePlace => "aucun lieu sûr pour déposer le colis",
            FailureReason::DamagedParcel => "colis endommagé",
            FailureReason::MissingParcel => "colis manquant",
            FailureReason::PaymentNotAvailable => "paiement à la livraison non réglé",
            FailureReason::OutOfTime => "manque de temps",
            FailureReason::VehicleProblem => "problème de véhicule",
            FailureReason::Other => "autre raison",
        },
    }
}

impl NotificationSettings {
    /// The (subject, body) to use: the org's override, else the default.
    pub fn template(&self, trigger: Trigger, language: Language) -> (&str, &str) {
        match self.templates.iter().find(|t| t.trigger == trigger && t.language == language.code()) {
            Some(t) => (&t.subject, &t.body),
            None => default_template(trigger, language),
        }
    }
}

impl Validate for NotificationSettings {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        let hooks = path.field("webhooks");
        for (i, hook) in self.webhooks.iter().enumerate() {
            let hp = hooks.index(i);
            let id_ok = !hook.id.is_empty()
                && hook.id.len() <= 40
                && hook.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !id_ok {
                report.push(&hp.field("id"), codes::INVALID_FORMAT, "must be 1-40 letters, digits, '-' or '_'");
            } else if self.webhooks[..i].iter().any(|h| h.id == hook.id) {
                report.push(&hp.field("id"), codes::DUPLICATE, format!("webhook id {} is used twice", hook.id));
            }
            if !is_acceptable_webhook_url(&hook.url) || hook.url.len() > 2_000 {
                report.push(&hp.field("url"), codes::INVALID_URL, "must be an https:// URL (http:// only to localhost)");
            }
            if hook.secret.len() < MIN_WEBHOOK_SECRET_LEN || hook.secret.len() > 200 {
                report.push(
                    &hp.field("secret"),
                    codes::OUT_OF_RANGE,
                    format!("must be {MIN_WEBHOOK_SECRET_LEN} to 200 characters"),
                );
            }
        }
        let templates = path.field("templates");
        for (i, t) in self.templates.iter().enumerate() {
            let tp = templates.index(i);
            let name = format!("{}/{}", t.trigger.as_str(), t.language);
            if Language::parse(&t.language).is_none() {
                report.push(&tp.field("language"), codes::NOT_ALLOWED, format!("template {name}: language must be en or fr"));
            } else if self.templates[..i].iter().any(|o| o.trigger == t.trigger && o.language == t.language) {
                report.push(&tp.field("language"), codes::DUPLICATE, format!("template {name} is given twice"));
            }
            for (field, text, max) in [("subject", &t.subject, 200), ("body", &t.body, 2_000)] {
                report.required_text(&tp.field(field), text, max);
                if let Err(e) = check_template(text) {
                    report.push(&tp.field(field), codes::INVALID_FORMAT, format!("template {name} {field}: {e}"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::FailureReason;

    #[test]
    fn lifecycle_events_map_to_triggers() {
        assert_eq!(
            Trigger::for_event(&OrderEvent::Dispatch),
            Some(Trigger::Dispatched)
        );
        assert_eq!(
            Trigger::for_event(&OrderEvent::Deliver),
            Some(Trigger::Delivered)
        );
        let fail = OrderEvent::Fail {
            reason: FailureReason::RecipientAbsent,
            note: None,
        };
        assert_eq!(Trigger::for_event(&fail), Some(Trigger::Failed));
        assert_eq!(Trigger::for_event(&OrderEvent::Plan), None);
    }

    #[test]
    fn recipients_must_suit_channels() {
        assert!(recipient_fits(Channel::Email, "a@example.com"));
        assert!(!recipient_fits(Channel::Email, "+33 6 12 34 56 78"));
        assert!(recipient_fits(Channel::Sms, "+33 6 12 34 56 78"));
        assert!(recipient_fits(
            Channel::Webhook,
            "https://hooks.example.com/x"
        ));
        assert!(!recipient_fits(
            Channel::Webhook,
            "http://hooks.example.com/x"
        ));
    }

    #[test]
    fn compose_mentions_window_and_link() {
        let m = compose(
            Trigger::Dispatched,
            &MessageContext {
                sender: "Colis Express",
                recipient_name: "Léa",
                when: Some("tomorrow between 10:00 and 12:00"),
                tracking_url: Some("https://t.example/abc"),
            },
        );
        assert_eq!(m.subject, "Your Colis Express delivery is scheduled");
        assert_eq!(
            m.body,
            "Hello Léa, your delivery from Colis Express is scheduled tomorrow between 10:00 and 12:00. Track it: https://t.example/abc"
        );
    }

    #[test]
    fn every_default_template_uses_only_known_placeholders() {
        for language in Language::ALL {
            for trigger in Trigger::ALL {
                let (subject, body) = default_template(trigger, language);
                check_template(subject).expect("subject");
                check_template(body).expect("body");
            }
        }
    }

    #[test]
    fn rendering_fills_placeholders_and_keeps_escaped_braces() {
        let out = render_template("Hi {recipient_name} {{x}}{otp}", |n| match n {
            "recipient_name" => "Léa".into(),
            _ => String::new(),
        })
        .expect("render");
        assert_eq!(out, "Hi Léa {x}");
        assert_eq!(check_template("Hi {nom}"), Err(TemplateError::UnknownPlaceholder("nom".into())));
        assert_eq!(check_template("Hi {sender"), Err(TemplateError::Unclosed(3)));
    }

    #[test]
    fn locale_picks_the_language() {
        assert_eq!(Language::for_locale("fr-FR"), Language::Fr);
        assert_eq!(Language::for_locale("en-GB"), Language::En);
        assert_eq!(Language::for_locale("de-DE"), Language::En);
    }

    #[test]
    fn settings_report_unknown_placeholders_with_the_template_name() {
        let settings = NotificationSettings {
            templates: vec![TemplateOverride {
                trigger: Trigger::Delivered,
                language: "fr".into(),
                subject: "Livré".into(),
                body: "Bonjour {prenom}".into(),
            }],
            webhooks: vec![WebhookEndpoint {
                id: "erp".into(),
                url: "http://hooks.example.com/x".into(),
                secret: "short".into(),
                triggers: vec![],
                active: true,
            }],
            ..NotificationSettings::default()
        };
        let e = settings.validate().unwrap_err();
        assert_eq!(e.paths(), ["webhooks[0].url", "webhooks[0].secret", "templates[0].body"]);
        let text = format!("{e:?}");
        assert!(text.contains("template delivered/fr body: unknown placeholder {prenom}"), "{text}");
    }

    #[test]
    fn overrides_replace_the_default_for_their_language_only() {
        let settings = NotificationSettings {
            templates: vec![TemplateOverride {
                trigger: Trigger::Dispatched,
                language: "fr".into(),
                subject: "S".into(),
                body: "B {sender}".into(),
            }],
            ..NotificationSettings::default()
        };
        assert_eq!(settings.template(Trigger::Dispatched, Language::Fr), ("S", "B {sender}"));
        assert_eq!(settings.template(Trigger::Dispatched, Language::En), default_template(Trigger::Dispatched, Language::En));
    }
}
