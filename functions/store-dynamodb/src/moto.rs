//! Test support (feature `moto`): a real `moto_server` (PyPI `moto[server]`)
//! on a free local port, stopped when the guard drops, and an SDK client
//! pointed at it with dummy credentials.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};

/// A running `moto_server`; killed on drop.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    pub endpoint: String,
}

/// `moto_server` from PATH (`cargo xtask test` puts the project's venv
/// there), else from the workspace's `target/py/bin`.
fn find_moto_server() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join("moto_server")).collect::<Vec<_>>())
        .unwrap_or_default();
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/py/bin/moto_server");
    on_path.into_iter().chain([workspace]).find(|p| p.is_file())
}

/// Serves moto's app with werkzeug on one thread: one request at a time.
const SERIAL_LAUNCHER: &str = "import sys
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
run_simple('127.0.0.1', int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False, request_handler=MotoRequestHandler)
";

fn moto_server() -> PathBuf {
    find_moto_server().unwrap_or_else(|| {
        panic!("moto_server not found on PATH or in target/py/bin: run `cargo xtask test`, which installs moto[server] and puts it on PATH")
    })
}

impl MotoServer {
    /// Starts the server and waits until it accepts connections. Panics with
    /// what to do when moto is not installed: these tests never skip.
    pub fn start() -> Self {
        let program = moto_server();
        Self::spawn(|port| {
            let mut command = Command::new(&program);
            command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            command
        })
    }

    /// A moto that answers one request at a time, for tests that race writes.
    /// moto's threaded server does not isolate transactions: a cancelled
    /// `TransactWriteItems` restores a copy of the whole table taken before it
    /// ran, undoing writes other threads committed meanwhile. DynamoDB
    /// serialises conflicting transactions and so does a single-threaded moto;
    /// requests still interleave between calls, so a read-then-write would
    /// still overbook here.
    pub fn start_serial() -> Self {
        // The venv's Python, which sits next to its moto_server.
        let python = moto_server().with_file_name("python3");
        Self::spawn(|port| {
            let mut command = Command::new(&python);
            command.args(["-c", SERIAL_LAUNCHER, &port.to_string()]);
            command
        })
    }

    fn spawn(command: impl FnOnce(u16) -> Command) -> Self {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free local port for moto_server: {e}"));
        let mut command = command(port);
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", command.get_program()));
        let mut server = Self { child, endpoint: format!("http://127.0.0.1:{port}") };
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("moto_server exited before answering: {status}");
            }
            assert!(Instant::now() < deadline, "moto_server did not answer on port {port} within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// A DynamoDB client for this server (region and credentials are dummies).
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

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
