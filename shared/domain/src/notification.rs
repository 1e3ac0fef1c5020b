//! Customer notifications: what triggers them, how they are sent, and
//! their text. Sending is done elsewhere.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{NotificationId, OrderId, OrgId};
use crate::lifecycle::OrderEvent;
use crate::time::rfc3339;
use crate::validation::{Path, Report, Validate, codes, is_plausible_email, is_plausible_phone};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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
}

impl Trigger {
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
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    Webhook,
    /// Written to the server log only (local development, demos).
    Log,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
}
