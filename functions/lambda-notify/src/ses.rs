//! Email through Amazon SES (API v2), used in AWS instead of SMTP when
//! `DOORSTEP_SES_FROM` is set. Lives here, not in the channels crate, so
//! the AWS SDK stays out of the `doorstep` binary.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageTag};
use doorstep_core::ports::{Outgoing, SendError, Sender};

#[derive(Debug, Clone)]
pub struct SesSender {
    client: Client,
    from: String,
    configuration_set: Option<String>,
}

impl SesSender {
    pub fn new(client: Client, from: impl Into<String>, configuration_set: Option<String>) -> Self {
        Self { client, from: from.into(), configuration_set }
    }
}

fn content(text: &str) -> Result<Content, SendError> {
    Content::builder().data(text).charset("UTF-8").build().map_err(|e| SendError::Refused(e.to_string()))
}

/// SES tag values allow letters, digits, `_`, `-`, `.`, `@`.
fn tag_value(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || "_-.@".contains(c) { c } else { '.' }).take(256).collect()
}

#[async_trait]
impl Sender for SesSender {
    async fn send(&self, message: &Outgoing) -> Result<(), SendError> {
        let email = Message::builder()
            .subject(content(&message.subject)?)
            .body(Body::builder().text(content(&message.body)?).build())
            .build();
        // SES assigns its own Message-ID; the delivery id travels as a tag
        // (visible in SES events) for tracing duplicates.
        let tag = MessageTag::builder().name("delivery_id").value(tag_value(&message.delivery_id)).build().map_err(|e| SendError::Refused(e.to_string()))?;
        let result = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&message.recipient).build())
            .content(EmailContent::builder().simple(email).build())
            .email_tags(tag)
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let code = e.code().unwrap_or_default().to_owned();
                let text = DisplayErrorContext(&e).to_string();
                // Refusals about the message or account will not improve with a retry.
                if matches!(code.as_str(), "MessageRejected" | "BadRequestException" | "AccountSuspendedException" | "SendingPausedException" | "MailFromDomainNotVerifiedException" | "NotFoundException") {
                    Err(SendError::Refused(format!("{code}: {text}")))
                } else {
                    Err(SendError::Unavailable(text))
                }
            }
        }
    }
}
