//! `doorstep serve` as a user runs it: a real process on a free port with its own
//! data directory, spoken to over real HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

struct Server {
    child: Child,
    base: String,
    /// Every stdout line printed before the server started listening.
    banner: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data: &Path, web: &Path, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data"])
        .arg(data)
        .arg("--web")
        .arg(web)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn doorstep serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = Vec::new();
    let base = loop {
        let line = lines.next().expect("server exited before listening").expect("read stdout");
        banner.push(line.clone());
        if let Some(url) = line.strip_prefix("Doorstep listening on ") {
            break url.trim().to_string();
        }
    };
    // The URL lines and the demo login follow the listening line.
    for _ in 0..7 {
        match lines.next() {
            Some(Ok(line)) => {
                let last = line.starts_with("  Demo login") || line.starts_with("  API docs") && !extra.contains(&"--demo");
                banner.push(line);
                if last {
                    break;
                }
            }
            _ => break,
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, base, banner }
}

struct Reply {
    status: u16,
    headers: String,
    body: String,
}

/// One plain HTTP/1.1 GET, as a browser would send it.
fn check(server: &Server, path: &str) -> Reply {
    send(server, "GET", path, &[], "")
}

/// One plain HTTP/1.1 request with extra headers and a JSON body.
fn send(server: &Server, method: &str, path: &str, headers: &[&str], body: &str) -> Reply {
    let host = server.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).expect("connect");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    if !body.is_empty() {
        head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    write!(stream, "{head}\r\n{body}").expect("send");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").expect("HTTP response");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status code");
    Reply { status, headers: head.to_ascii_lowercase(), body: body.to_string() }
}

fn web_dir_with_index(dir: &Path) {
    std::fs::write(dir.join("index.html"), "<!doctype html><title>Doorstep test shell</title>").expect("index");
    std::fs::write(dir.join("track.html"), "<!doctype html><title>Tracking test shell</title>").expect("track");
    std::fs::create_dir_all(dir.join("pkg")).expect("pkg dir");
    std::fs::write(dir.join("pkg/app.js"), "export default 1;").expect("js");
}

#[test]
fn serve_answers_health_and_cross_origin_isolates_every_response() {
    let data = tempfile::tempdir().expect("data dir");
    let web = tempfile::tempdir().expect("web dir");
    web_dir_with_index(web.path());
    let server = start(data.path(), web.path(), &[]);

    let health = check(&server, "/api/health");
    assert_eq!(health.status, 200, "{}", health.body);
    assert!(health.body.contains("\"store\":\"sqlite\""), "{}", health.body);

    for path in ["/api/health", "/", "/pkg/app.js", "/driver", "/t/abc123"] {
        let reply = check(&server, path);
        assert!(reply.headers.contains("cross-origin-opener-policy: same-origin"), "{path}: {}", reply.headers);
        assert!(reply.headers.contains("cross-origin-embedder-policy: credentialless"), "{path}: {}", reply.headers);
    }
    assert!(data.path().join("doorstep.sqlite3").is_file(), "the embedded store lives in --data");
}

#[test]
fn client_routes_get_the_app_shell_and_missing_files_get_404() {
    let data = tempfile::tempdir().expect("data dir");
    let web = tempfile::tempdir().expect("web dir");
    web_dir_with_index(web.path());
    let server = start(data.path(), web.path(), &[]);

    for path in ["/", "/driver", "/reports"] {
        let reply = check(&server, path);
        assert_eq!(reply.status, 200, "{path}");
        assert!(reply.body.contains("Doorstep test shell"), "{path}: {}", reply.body);
    }
    // The customer tracking page is its own small bundle.
    for path in ["/t/0123456789abcdef", "/t/0123456789abcdef/"] {
        let reply = check(&server, path);
        assert_eq!(reply.status, 200, "{path}");
        assert!(reply.body.contains("Tracking test shell"), "{path}: {}", reply.body);
    }
    assert_eq!(check(&server, "/pkg/missing.js").status, 404);
    assert!(check(&server, "/pkg/app.js").body.contains("export default"));
}

#[test]
fn unbuilt_web_app_explains_how_to_build_it() {
    let data = tempfile::tempdir().expect("data dir");
    let web = tempfile::tempdir().expect("empty web dir");
    let server = start(data.path(), web.path(), &[]);
    let reply = check(&server, "/");
    assert_eq!(reply.status, 503);
    assert!(reply.body.contains("cargo xtask dev"), "{}", reply.body);
}

#[test]
fn demo_business_is_loaded_once_and_survives_restarts() {
    let data = tempfile::tempdir().expect("data dir");
    let web = tempfile::tempdir().expect("web dir");
    let config_after_first_run = {
        let server = start(data.path(), web.path(), &["--demo"]);
        check(&server, "/api/config").body
    };
    assert!(config_after_first_run.contains("\"depots\":[{"), "{config_after_first_run}");

    // A second --demo run must neither duplicate nor fail; a plain run still sees it.
    let again = start(data.path(), web.path(), &["--demo"]);
    assert_eq!(check(&again, "/api/config").body, config_after_first_run);
    drop(again);
    let plain = start(data.path(), web.path(), &[]);
    assert_eq!(check(&plain, "/api/config").body, config_after_first_run);
}

#[test]
fn demo_dispatcher_signs_in_with_the_printed_password_and_tokens_survive_restarts() {
    let data = tempfile::tempdir().expect("data dir");
    let web = tempfile::tempdir().expect("web dir");
    let (password, token) = {
        let server = start(data.path(), web.path(), &["--demo"]);
        let line = server.banner.iter().find(|l| l.contains("Demo login:")).expect("demo login printed").clone();
        let password = line.split(" / ").nth(1).and_then(|r| r.split_whitespace().next()).expect("password").to_string();
        let body = format!("{{\"email\": \"dispatcher@colis-express.example\", \"password\": \"{password}\"}}");
        let login = send(&server, "POST", "/api/auth/login", &[], &body);
        assert_eq!(login.status, 200, "{}", login.body);
        let token = login.body.split("\"access_token\":\"").nth(1).and_then(|r| r.split('"').next()).expect("token").to_string();
        let orders = send(&server, "GET", "/api/orders?limit=1", &[&format!("Authorization: Bearer {token}")], "");
        assert_eq!(orders.status, 200, "{}", orders.body);
        (password, token)
    };
    let again = start(data.path(), web.path(), &["--demo"]);
    let line = again.banner.iter().find(|l| l.contains("Demo login:")).expect("demo login line").clone();
    assert!(!line.contains(&password), "the password is shown only on the first run: {line}");
    let orders = send(&again, "GET", "/api/orders?limit=1", &[&format!("Authorization: Bearer {token}")], "");
    assert_eq!(orders.status, 200, "the signing key is kept in the data dir: {}", orders.body);
    let anonymous = send(&again, "GET", "/api/orders", &[], "");
    assert_eq!(anonymous.status, 401);
}

fn login(server: &Server, password: &str) -> String {
    let body = format!("{{\"email\": \"dispatcher@colis-express.example\", \"password\": \"{password}\"}}");
    let login = send(server, "POST", "/api/auth/login", &[], &body);
    assert_eq!(login.status, 200, "{}", login.body);
    login.body.split("\"access_token\":\"").nth(1).and_then(|r| r.split('"').next()).expect("token").to_string()
}

#[test]
fn demo_flags_load_the_chosen_drivers_and_orders_in_the_chosen_zone() {
    let data = tempfile::tempdir().expect("data dir");
    let web = tempfile::tempdir().expect("web dir");
    let password = "serve-test-demo-password";
    let server = start(
        data.path(),
        web.path(),
        &["--demo", "--demo-password", password, "--demo-orders", "0", "--demo-drivers", "2", "--demo-timezone", "Etc/GMT-3"],
    );
    let token = login(&server, password);
    let auth = format!("Authorization: Bearer {token}");
    let get = |path: &str| {
        let reply = send(&server, "GET", path, &[&auth], "");
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        reply.body
    };
    let orders = get("/api/orders?limit=200");
    assert!(orders.contains("\"items\":[]"), "no orders: {orders}");
    let drivers = get("/api/drivers");
    assert_eq!(drivers.matches("\"id\":\"drv-").count(), 2, "{drivers}");
    assert!(drivers.contains("drv-camille") && drivers.contains("drv-karim"), "the first two drivers: {drivers}");
    let vehicles = get("/api/vehicles");
    assert_eq!(vehicles.matches("\"id\":\"veh-").count(), 2, "{vehicles}");
    assert!(get("/api/organisation").contains("\"timezone\":\"Etc/GMT-3\""));
    assert!(get("/api/depots").contains("dep-gerland"));
    drop(server);

    // Three orders and the whole fleet; the zone stays Lyon's.
    let data = tempfile::tempdir().expect("data dir");
    let server = start(data.path(), web.path(), &["--demo", "--demo-password", password, "--demo-orders", "3"]);
    let token = login(&server, password);
    let orders = send(&server, "GET", "/api/orders?limit=200", &[&format!("Authorization: Bearer {token}")], "").body;
    assert_eq!(orders.matches("\"id\":\"ord-").count(), 3, "{orders}");
    let drivers = send(&server, "GET", "/api/drivers", &[&format!("Authorization: Bearer {token}")], "").body;
    assert_eq!(drivers.matches("\"id\":\"drv-").count(), 4, "{drivers}");
}

#[test]
fn bad_demo_flags_are_refused_before_anything_is_written() {
    let web = tempfile::tempdir().expect("web dir");
    for (flags, named) in [
        (&["--demo", "--demo-timezone", "Europe/Berlin"][..], "'--demo-timezone <ZONE>': unsupported demo time zone \"Europe/Berlin\""),
        (&["--demo", "--demo-drivers", "5"][..], "'--demo-drivers <N>'"),
        (&["--demo", "--demo-orders", "85"][..], "'--demo-orders <N>'"),
        (&["--demo-orders", "3"][..], "required arguments were not provided:\n  --demo\n"),
    ] {
        let data = tempfile::tempdir().expect("data dir");
        let store = data.path().join("store");
        let output = Command::new(env!("CARGO_BIN_EXE_doorstep"))
            .args(["serve", "--addr", "127.0.0.1:0", "--data"])
            .arg(&store)
            .arg("--web")
            .arg(web.path())
            .args(flags)
            .output()
            .expect("run doorstep serve");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{flags:?} was accepted");
        assert!(stderr.contains(named), "{flags:?}: {stderr}");
        assert!(!store.exists(), "{flags:?} created the data directory");
    }
}
