//! Talking to a real `doorstep serve` from the benchmarks and the day
//! simulator: starting it on a free port, and a minimal keep-alive HTTP/1.1
//! client for JSON (and CSV) requests. Std only, so the day simulator's
//! test in `functions/doorstep/tests` can compile this file as well.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::Context as _;

/// Notification channels that would reach real people; unset for servers
/// started here, so only the log sink (`DATA/notifications.jsonl`) sends.
const REAL_CHANNEL_VARS: &[&str] = &["DOORSTEP_SMTP_HOST", "DOORSTEP_SMS_ACCOUNT_SID"];

/// A running `doorstep serve`, stopped on drop.
pub(crate) struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `doorstep serve` (the binary at `bin`) on `data` on a free port,
/// serving the web app from `web`; returns the running server (stopped on
/// drop) and its `host:port`.
pub(crate) fn start_serve(bin: &Path, data: &Path, web: &Path, extra: &[&str]) -> anyhow::Result<(Server, String)> {
    let mut command = Command::new(bin);
    command
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(extra)
        .arg("--data")
        .arg(data)
        .arg("--web")
        .arg(web)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for var in REAL_CHANNEL_VARS {
        command.env_remove(var);
    }
    let mut child = command.spawn().with_context(|| format!("start {} serve", bin.display()))?;
    let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
    let server = Server(child);
    let host = loop {
        let line = lines.next().context("doorstep serve exited before listening")??;
        if let Some(url) = line.strip_prefix("Doorstep listening on http://") {
            break url.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok((server, host))
}

/// A minimal keep-alive HTTP/1.1 client: enough for JSON request/response.
pub(crate) struct Connection {
    host: String,
    reader: BufReader<TcpStream>,
}

impl Connection {
    pub(crate) fn open(host: &str) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(host).with_context(|| format!("connect {host}"))?;
        stream.set_nodelay(true)?;
        Ok(Self { host: host.to_string(), reader: BufReader::new(stream) })
    }

    /// A JSON request; answers the status and the body.
    pub(crate) fn request(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> anyhow::Result<(u16, String)> {
        self.send(method, path, "application/json", headers, body)
    }

    pub(crate) fn send(&mut self, method: &str, path: &str, content_type: &str, headers: &[(&str, &str)], body: &str) -> anyhow::Result<(u16, String)> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
            self.host,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(body.as_bytes())?;

        let mut status_line = String::new();
        self.reader.read_line(&mut status_line)?;
        let status: u16 = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).context("HTTP status line")?;
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line)?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().context("Content-Length")?;
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}
