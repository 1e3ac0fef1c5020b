//! `cargo xtask bench-api`: order intake against a real `doorstep serve` on
//! SQLite (release build), over keep-alive HTTP/1.1 connections. Reports
//! requests/s and latency percentiles and appends them to BENCHMARKS.md.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::bench_report::{self, Table};
use crate::process::{self, cargo};
use crate::web_build;

const PASSWORD: &str = "bench-password-for-the-demo-dispatcher";

struct Options {
    requests: usize,
    concurrency: usize,
}

fn parse_options(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options { requests: 5_000, concurrency: 16 };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--requests" => options.requests = value.parse().context("--requests takes a number")?,
            "--concurrency" => options.concurrency = value.parse().context("--concurrency takes a number")?,
            other => bail!("unknown option {other}; usage: cargo xtask bench-api [--requests N] [--concurrency C]"),
        }
    }
    if options.concurrency == 0 || options.requests < options.concurrency {
        bail!("need --concurrency >= 1 and --requests >= --concurrency");
    }
    Ok(options)
}

pub(crate) struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let options = parse_options(args)?;
    process::run(cargo(root).args(["build", "--release", "--package", "doorstep", "--bin", "doorstep", "--locked"]))?;
    let data = std::env::temp_dir().join(format!("doorstep-bench-api-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let (server, host) = start_serve(root, &root.join("target/release/doorstep"), &data, &["--demo", "--demo-password", PASSWORD])?;

    let mut conn = Connection::open(&host)?;
    let login = format!("{{\"email\":\"dispatcher@colis-express.example\",\"password\":\"{PASSWORD}\"}}");
    let (status, body) = conn.request("POST", "/api/auth/login", &[], &login)?;
    if status != 200 {
        bail!("login failed with {status}: {body}");
    }
    let token: serde_json::Value = serde_json::from_str(&body)?;
    let token = token["access_token"].as_str().context("access_token in the login answer")?.to_string();

    println!("Sending {} order intakes over {} connections...", options.requests, options.concurrency);
    let per_thread = options.requests / options.concurrency;
    let started = Instant::now();
    let workers: Vec<_> = (0..options.concurrency)
        .map(|worker| {
            let host = host.clone();
            let token = token.clone();
            std::thread::spawn(move || -> anyhow::Result<(Vec<Duration>, usize)> {
                let mut conn = Connection::open(&host)?;
                let auth = format!("Bearer {token}");
                let mut latencies = Vec::with_capacity(per_thread);
                let mut errors = 0;
                for i in 0..per_thread {
                    let key = format!("bench-{worker}-{i}");
                    let body = order_json(worker, i);
                    let sent = Instant::now();
                    let (status, _) =
                        conn.request("POST", "/api/orders", &[("Authorization", &auth), ("Idempotency-Key", &key)], &body)?;
                    latencies.push(sent.elapsed());
                    if status != 201 {
                        errors += 1;
                    }
                }
                Ok((latencies, errors))
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (mut l, e) = worker.join().map_err(|_| anyhow::anyhow!("a load thread panicked"))??;
        latencies.append(&mut l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    drop(server);
    let _ = std::fs::remove_dir_all(&data);

    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1];
    let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1000.0);
    let rps = latencies.len() as f64 / elapsed;
    println!(
        "{} requests in {elapsed:.1} s: {rps:.0} req/s, p50 {} ms, p90 {} ms, p99 {} ms, max {} ms, {errors} non-201",
        latencies.len(),
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(pct(1.0))
    );
    let mut table = Table::new(&["Requests", "Connections", "Requests/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "Errors"]);
    table.row(vec![
        latencies.len().to_string(),
        options.concurrency.to_string(),
        format!("{rps:.0}"),
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(pct(1.0)),
        errors.to_string(),
    ]);
    bench_report::append(
        root,
        "API: order intake on doorstep serve (SQLite)",
        &format!("cargo xtask bench-api {}", args.join(" ")),
        "Each request is `POST /api/orders` with one order, a dispatcher JWT and a unique \
         `Idempotency-Key`, over keep-alive HTTP/1.1 from the same machine. The server is the release \
         build on a fresh data directory (SQLite in WAL mode).",
        &table,
    )?;
    if errors > 0 {
        bail!("{errors} request(s) did not answer 201");
    }
    Ok(())
}

/// Starts `doorstep serve` (the binary at `bin`) on `data` on a free port;
/// returns the running server (stopped on drop) and its `host:port`.
pub(crate) fn start_serve(root: &Path, bin: &Path, data: &Path, extra: &[&str]) -> anyhow::Result<(Server, String)> {
    let mut child = Command::new(bin)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(extra)
        .arg("--data")
        .arg(data)
        .arg("--web")
        .arg(web_build::web_dir(root))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("start doorstep serve")?;
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

fn order_json(worker: usize, i: usize) -> String {
    // Spread over Lyon so the orders look like real intake.
    let lat = 45.73 + ((worker * 7 + i) % 60) as f64 * 0.001;
    let lon = 4.80 + ((worker * 13 + i) % 70) as f64 * 0.001;
    format!(
        "{{\"kind\":\"delivery\",\"address\":{{\"line1\":\"{n} Rue de la Republique\",\"postcode\":\"69002\",\
         \"city\":\"Lyon\",\"country\":\"FR\",\"lat\":{lat:.5},\"lon\":{lon:.5}}},\
         \"recipient\":{{\"name\":\"Client {worker}-{i}\",\"phone\":\"+33 6 12 34 56 78\"}},\"demand\":[2.5,10,1]}}",
        n = 1 + i % 90
    )
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

    pub(crate) fn request(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> anyhow::Result<(u16, String)> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
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
