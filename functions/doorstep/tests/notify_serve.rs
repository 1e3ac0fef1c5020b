//! `doorstep serve` drains the outbox in the background: at start-up, when
//! a request wakes it, and it stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use doorstep_store_conformance::notify::publish_with;
use doorstep_store_sqlite::SqliteStore;

fn log_lines(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("notifications.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

async fn wait_for_lines(dir: &Path, n: usize) -> Vec<serde_json::Value> {
    let started = Instant::now();
    loop {
        let lines = log_lines(dir);
        if lines.len() >= n {
            return lines;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "only {} of {n} notifications logged", lines.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_drains_at_start_and_when_a_request_wakes_it_then_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("doorstep.sqlite3")).expect("open");
    let first = publish_with(&store, "org-serve-a", 2, |_| {}).await;

    let mut child = Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .args(["serve", "--addr", "127.0.0.1:0", "--public-url", "https://shop.example", "--notify-interval-s", "3600", "--data"])
        .arg(dir.path())
        .arg("--web")
        .arg(dir.path().join("no-web"))
        .env_remove("DOORSTEP_SMTP_HOST")
        .env_remove("DOORSTEP_SMS_ACCOUNT_SID")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn doorstep serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let base = loop {
        let line = lines.next().expect("server exited before listening").expect("read");
        if let Some(url) = line.strip_prefix("Doorstep listening on http://") {
            break url.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});

    // Start-up pass: what was pending is sent, with links on the public URL.
    let logged = wait_for_lines(dir.path(), 2).await;
    for (entry, line) in first.iter().zip(&logged) {
        assert_eq!(line["delivery_id"], format!("{}#log", entry.key()));
        let token = entry.tracking_token.as_deref().expect("token");
        assert_eq!(line["event"]["tracking_url"], format!("https://shop.example/t/{token}"));
    }

    // New entries wait for a wake-up (the backstop interval is an hour)...
    let second = publish_with(&store, "org-serve-b", 1, |_| {}).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(log_lines(dir.path()).len(), 2, "no busy polling: nothing happens until woken");
    // ...which any write request gives.
    let mut stream = TcpStream::connect(&base).expect("connect");
    write!(stream, "POST /api/auth/login HTTP/1.1\r\nHost: {base}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}").expect("send");
    let _ = std::io::Read::read_to_end(&mut stream, &mut Vec::new());
    let logged = wait_for_lines(dir.path(), 3).await;
    assert_eq!(logged[2]["delivery_id"], format!("{}#log", second[0].key()));

    // SIGTERM: the server and its drainer stop, and the process exits 0.
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "serve did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit}");
    assert_eq!(log_lines(dir.path()).len(), 3, "nothing was sent twice");
}
