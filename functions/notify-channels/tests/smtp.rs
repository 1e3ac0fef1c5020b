//! Email through a real SMTP server: Python's aiosmtpd (from the project's
//! venv, target/py), with a handler that writes what it receives to a file.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use doorstep_core::ports::{Outgoing, SendError, Sender};
use doorstep_domain::notification::Channel;
use doorstep_notify_channels::email::{SmtpConfig, SmtpSender, SmtpTls, message_id};

struct SmtpServer {
    child: Child,
    port: u16,
    out: PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("DOORSTEP_PYTHON") {
        return p.into();
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/py/bin/python");
    assert!(venv.exists(), "no Python venv at {}: run `cargo xtask test` (it installs aiosmtpd from infra/python-requirements.txt)", venv.display());
    venv
}

fn start_smtp(dir: &Path) -> SmtpServer {
    let port = TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
    let out = dir.join("received.jsonl");
    let child = Command::new(python())
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "smtp_sink.JsonlSink"])
        .arg(&out)
        .env("PYTHONPATH", Path::new(env!("CARGO_MANIFEST_DIR")).join("tests"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start aiosmtpd");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "aiosmtpd did not start listening on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    SmtpServer { child, port, out }
}

fn message(to: &str, id: &str) -> Outgoing {
    Outgoing {
        delivery_id: id.into(),
        channel: Channel::Email,
        recipient: to.into(),
        secret: None,
        subject: "Votre livraison Colis Express est programmée".into(),
        body: "Bonjour Léa, votre livraison Colis Express est prévue entre 10:00 et 12:00.".into(),
        event: serde_json::json!({}),
    }
}

fn received(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(|l| serde_json::from_str(l).expect("json line")).collect()
}

#[tokio::test]
async fn email_reaches_a_real_smtp_server_with_the_delivery_id_as_message_id() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start_smtp(dir.path());
    let sender = SmtpSender::new(&SmtpConfig {
        host: "127.0.0.1".into(),
        port: server.port,
        tls: SmtpTls::None,
        username: None,
        password: None,
        from: "Colis Express <no-reply@colis.example>".into(),
    })
    .expect("configure");
    let id = "ord_01#0#dispatched#email";
    sender.send(&message("lea@example.com", id)).await.expect("send");

    let got = received(&server.out);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["mail_from"], "no-reply@colis.example");
    assert_eq!(got[0]["rcpt_tos"], serde_json::json!(["lea@example.com"]));
    let content = got[0]["content"].as_str().expect("content");
    assert_eq!(got[0]["message_id"], message_id(id).as_str());
    assert_eq!(got[0]["subject"], "Votre livraison Colis Express est programmée");
    assert_eq!(got[0]["text"].as_str().map(str::trim_end), Some("Bonjour Léa, votre livraison Colis Express est prévue entre 10:00 et 12:00."));
    assert!(content.contains("Content-Type: text/plain; charset=utf-8"), "{content}");
}

#[tokio::test]
async fn a_bad_recipient_is_refused_without_contacting_the_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start_smtp(dir.path());
    let sender = SmtpSender::new(&SmtpConfig {
        host: "127.0.0.1".into(),
        port: server.port,
        tls: SmtpTls::None,
        username: None,
        password: None,
        from: "no-reply@colis.example".into(),
    })
    .expect("configure");
    let error = sender.send(&message("not an address", "x#email")).await.expect_err("refused");
    assert!(matches!(error, SendError::Refused(_)), "{error:?}");
    assert!(received(&server.out).is_empty());
}

#[tokio::test]
async fn a_server_that_is_not_there_is_unavailable() {
    let port = TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
    let sender = SmtpSender::new(&SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        tls: SmtpTls::None,
        username: None,
        password: None,
        from: "no-reply@colis.example".into(),
    })
    .expect("configure");
    let error = sender.send(&message("lea@example.com", "y#email")).await.expect_err("no server");
    assert!(matches!(error, SendError::Unavailable(_)), "{error:?}");
}
