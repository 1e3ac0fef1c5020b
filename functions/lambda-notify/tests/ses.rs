//! Email through SES (API v2) on a real moto_server: a verified sender
//! sends, an unverified one is refused (no retry will help).

use aws_sdk_sesv2::config::{BehaviorVersion, Credentials, Region};
use doorstep_core::ports::{Outgoing, SendError, Sender};
use doorstep_domain::notification::Channel;
use doorstep_lambda_notify::ses::SesSender;
use doorstep_store_dynamodb::moto::MotoServer;

fn client(moto: &MotoServer) -> aws_sdk_sesv2::Client {
    let config = aws_sdk_sesv2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(&moto.endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .build();
    aws_sdk_sesv2::Client::from_conf(config)
}

fn email() -> Outgoing {
    Outgoing {
        delivery_id: "ord_1#0#delivered#email".into(),
        channel: Channel::Email,
        recipient: "lea@example.com".into(),
        secret: None,
        subject: "Votre livraison est arrivée".into(),
        body: "Bonjour Léa, votre commande a été livrée.".into(),
        event: serde_json::json!({}),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_sender_sends_and_an_unverified_one_is_refused() {
    let moto = MotoServer::start();
    let ses = client(&moto);
    ses.create_email_identity().email_identity("no-reply@colis.example").send().await.expect("verify the sender");

    SesSender::new(ses.clone(), "no-reply@colis.example", None).send(&email()).await.expect("sent");
    let error = SesSender::new(ses, "someone@else.example", None).send(&email()).await.expect_err("unverified sender");
    assert!(matches!(error, SendError::Refused(ref m) if m.starts_with("MessageRejected")), "{error:?}");
}
