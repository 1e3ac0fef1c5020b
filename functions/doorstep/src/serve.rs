use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use doorstep_core::SystemClock;
use doorstep_core::usecases::demo::{self, DemoOutcome};
use doorstep_http::{AppState, ClientSettings, api_router};
use doorstep_store_sqlite::SqliteStore;
use tracing_subscriber::EnvFilter;

use crate::web;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Directory that holds the SQLite database and uploaded files.
    #[arg(long, default_value = ".doorstep", env = "DOORSTEP_DATA")]
    data: PathBuf,
    /// Address to listen on. Port 0 picks a free port (the chosen one is printed).
    #[arg(long, default_value = "127.0.0.1:8080", env = "DOORSTEP_ADDR")]
    addr: SocketAddr,
    /// The built web app (index.html, pkg/, vendor/), as produced by `cargo xtask dev`.
    #[arg(long, default_value = "target/web", env = "DOORSTEP_WEB")]
    web: PathBuf,
    /// Load the Lyon demo business when the store holds no organisation yet.
    #[arg(long)]
    demo: bool,
    /// Map tile URL template ({z}/{x}/{y}); defaults to OpenStreetMap.
    #[arg(long, env = "DOORSTEP_TILE_URL")]
    tile_url: Option<String>,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(serve(args))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("cannot create the data directory {}", args.data.display()))?;
    let db_path = args.data.join("doorstep.sqlite3");
    let store = SqliteStore::open(&db_path).with_context(|| format!("cannot open the store {}", db_path.display()))?;
    let clock = Arc::new(SystemClock);

    if args.demo {
        match demo::load_if_empty(&store, clock.as_ref()).await.context("cannot load the demo business")? {
            DemoOutcome::Loaded { org, orders } => {
                tracing::info!(%org, orders, "loaded the Lyon demo business");
            }
            DemoOutcome::AlreadyPresent => tracing::info!("store already has an organisation; demo not loaded"),
        }
    }

    let mut client = ClientSettings::default();
    if let Some(url) = args.tile_url {
        client.tile_url = url;
    }
    let state = AppState { store: Arc::new(store), clock, client };
    let app = web::site(api_router(state), &args.web);

    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {} (is another Doorstep running? try --addr 127.0.0.1:0)", args.addr))?;
    let bound = listener.local_addr()?;
    if !args.web.join("index.html").is_file() {
        tracing::warn!(web = %args.web.display(), "web app not built: run `cargo xtask dev` to build it");
    }
    // Tests and scripts read this exact line to find the port.
    println!("Doorstep listening on http://{bound}");
    println!("  Dispatcher: http://{bound}/");
    println!("  Driver app: http://{bound}/driver");
    println!("  Tracking:   http://{bound}/t/<token> (links are created when a plan is published)");
    println!("  Health:     http://{bound}/api/health");

    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server failed")?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
