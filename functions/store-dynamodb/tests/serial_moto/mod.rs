//! A moto_server that answers one request at a time, for the cases that race
//! writes against each other.
//!
//! moto's threaded server does not isolate transactions: a cancelled
//! `TransactWriteItems` restores a copy of the whole table taken before it
//! ran, undoing writes other threads committed meanwhile. DynamoDB
//! serialises conflicting transactions, and a single-threaded moto does too;
//! the requests still interleave between calls, so a read-then-write would
//! still overbook here.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};

const LAUNCHER: &str = "import sys
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
run_simple('127.0.0.1', int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False, request_handler=MotoRequestHandler)
";

/// The Python that has moto: next to `moto_server` on PATH, else the workspace venv.
fn python() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).filter(|dir| dir.join("moto_server").is_file()).map(|dir| dir.join("python3")).collect::<Vec<_>>())
        .unwrap_or_default();
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/py/bin/python3");
    on_path.into_iter().chain([workspace]).find(|p| p.is_file()).unwrap_or_else(|| {
        panic!("no Python with moto (moto_server's directory on PATH, or target/py/bin): run `cargo xtask test`, which installs moto[server]")
    })
}

/// A running single-threaded moto; killed on drop.
pub struct SerialMoto {
    child: Child,
    endpoint: String,
}

impl SerialMoto {
    pub fn start() -> Self {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free local port");
        let child = Command::new(python())
            .args(["-c", LAUNCHER, &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let mut server = Self { child, endpoint: format!("http://127.0.0.1:{port}") };
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("moto exited before answering: {status}");
            }
            assert!(Instant::now() < deadline, "moto did not answer on port {port} within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn client(&self) -> Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .build();
        Client::from_conf(config)
    }
}

impl Drop for SerialMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
