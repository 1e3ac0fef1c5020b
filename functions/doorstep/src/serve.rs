use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use doorstep_core::SystemClock;
use doorstep_core::crypto::random_bytes;
use doorstep_core::usecases::demo::{self, DEMO_DISPATCHER_EMAIL, DemoOutcome};
use doorstep_domain::demo::{DEMO_DRIVER_COUNT, DEMO_ORDER_COUNT, DemoSize};
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
    #[arg(long, default_value = "target/site", env = "DOORSTEP_WEB")]
    web: PathBuf,
    /// Load the Lyon demo business when the store holds no organisation yet.
    #[arg(long)]
    demo: bool,
    /// With --demo: load only the first N of the demo's 84 orders (0: the
    /// depot, fleet and dispatcher with no orders, for a day you import yourself).
    #[arg(long, requires = "demo", value_name = "N", value_parser = clap::value_parser!(u64).range(0..=DEMO_ORDER_COUNT as u64))]
    demo_orders: Option<u64>,
    /// With --demo: only the first N of the demo's 4 drivers and their vehicles.
    #[arg(long, requires = "demo", value_name = "N", value_parser = clap::value_parser!(u64).range(1..=DEMO_DRIVER_COUNT as u64))]
    demo_drivers: Option<u64>,
    /// With --demo: the organisation's time zone: Europe/Paris (default), UTC,
    /// or a fixed Etc/GMT±N zone (puts the demo's working day at any hour).
    #[arg(long, requires = "demo", value_name = "ZONE", value_parser = demo::DemoZone::parse)]
    demo_timezone: Option<demo::DemoZone>,
    /// Map tile URL template ({z}/{x}/{y}); defaults to OpenStreetMap.
    #[arg(long, env = "DOORSTEP_TILE_URL")]
    tile_url: Option<String>,
    /// Password for the demo dispatcher created by --demo (default: a random one, printed once).
    #[arg(long, env = "DOORSTEP_DEMO_PASSWORD", hide_env_values = true)]
    demo_password: Option<String>,
    /// Where customers reach this server; tracking links in notifications are
    /// `{public_url}/t/{token}` (default: the listening address).
    #[arg(long, env = "DOORSTEP_PUBLIC_URL")]
    public_url: Option<String>,
    /// Backstop interval of the notification drainer, in seconds (it also
    /// wakes after every write request).
    #[arg(long, default_value_t = 30, env = "DOORSTEP_NOTIFY_INTERVAL_S")]
    notify_interval_s: u64,
    /// How often uploaded photos no proof of delivery cited within a day are
    /// deleted, in seconds (also once at start-up).
    #[arg(long, default_value_t = 3600, env = "DOORSTEP_BLOB_SWEEP_INTERVAL_S")]
    blob_sweep_interval_s: u64,
    /// Also accept a Cognito user pool's ID tokens, and have the web app sign
    /// dispatchers in with the pool: its issuer,
    /// https://cognito-idp.REGION.amazonaws.com/POOL_ID (needs --cognito-client-id).
    /// Doorstep's own sign-in keeps working alongside.
    #[arg(long, env = "DOORSTEP_COGNITO_ISSUER", requires = "cognito_client_id")]
    cognito_issuer: Option<String>,
    /// The pool's app client the tokens must be for.
    #[arg(long, env = "DOORSTEP_COGNITO_CLIENT_ID", requires = "cognito_issuer")]
    cognito_client_id: Option<String>,
    /// Where the pool's keys are (default: ISSUER/.well-known/jwks.json).
    #[arg(long, env = "DOORSTEP_COGNITO_JWKS_URL", requires = "cognito_issuer")]
    cognito_jwks_url: Option<String>,
    /// Where browsers send Cognito's API calls (default:
    /// https://cognito-idp.REGION.amazonaws.com/), e.g. a local test server.
    #[arg(long, env = "DOORSTEP_COGNITO_ENDPOINT", requires = "cognito_issuer")]
    cognito_endpoint: Option<String>,
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

    let mut client = ClientSettings::default();
    if let Some(url) = args.tile_url {
        client.tile_url = url;
    }
    let secret = token_secret(&args.data)?;
    let notify_store = store.clone();
    let blobs_dir = args.data.join("blobs");
    let blobs = doorstep_blobs_fs::FsBlobStore::open(&blobs_dir, &secret)
        .map_err(|e| anyhow::anyhow!("cannot open the blob store {}: {e}", blobs_dir.display()))?;
    let (sweep_store, sweep_blobs) = (notify_store.clone(), blobs.clone());
    let rebuild_store = notify_store.clone();
    let store = Arc::new(store);
    let state = AppState::self_contained(store.clone(), clock, client, &secret).with_pods(store).with_local_blobs(blobs);
    let tracking_settings = doorstep_http::tracking::settings_from_env().map_err(anyhow::Error::msg)?;
    let mut state = state.with_tracking_settings(tracking_settings);
    if let (Some(issuer), Some(client_id)) = (&args.cognito_issuer, &args.cognito_client_id) {
        let cognito = doorstep_cognito::CognitoSettings::new(issuer, client_id, args.cognito_jwks_url.as_deref(), args.cognito_endpoint.as_deref())
            .map_err(|e| anyhow::anyhow!("{e} (from the --cognito-* flags or DOORSTEP_COGNITO_* variables)"))?;
        state.verifier = cognito.own_or_cognito(state.verifier.clone());
        state.client.auth = cognito.client_auth();
        tracing::info!(?cognito, "dispatchers sign in with the Cognito user pool");
    }

    let mut demo_login = None;
    if args.demo {
        let options = demo::DemoOptions {
            size: DemoSize {
                orders: args.demo_orders.map(|n| n as usize),
                drivers: args.demo_drivers.map(|n| n as usize),
            },
            zone: args.demo_timezone.clone(),
        };
        match demo::load_if_empty_with(state.store.as_ref(), state.clock.as_ref(), &options).await.context("cannot load the demo business")? {
            DemoOutcome::Loaded { org, orders } => {
                tracing::info!(%org, orders, "loaded the Lyon demo business");
            }
            DemoOutcome::AlreadyPresent => tracing::info!("store already has an organisation; demo not loaded"),
        }
        let created = demo::ensure_demo_dispatcher(
            state.store.as_ref(),
            state.clock.as_ref(),
            state.passwords.as_ref(),
            args.demo_password.as_deref(),
        )
        .await
        .context("cannot create the demo dispatcher")?;
        demo_login = Some(created);
    }

    let wake = Arc::new(tokio::sync::Notify::new());
    let app = web::site(api_router(state), &args.web)
        .layer(axum::middleware::from_fn_with_state(wake.clone(), crate::notify::wake_after_writes));

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
    println!("  API docs:   http://{bound}/api/openapi.json");
    match demo_login {
        Some(Some(password)) => println!("  Demo login: {DEMO_DISPATCHER_EMAIL} / {password} (shown once; keep it)"),
        Some(None) => println!(
            "  Demo login: {DEMO_DISPATCHER_EMAIL} (password shown on the first run; to start over, stop Doorstep and delete {})",
            args.data.display()
        ),
        None => {}
    }

    let public_url = args.public_url.clone().unwrap_or_else(|| format!("http://{bound}"));
    let notify_clock: Arc<dyn doorstep_core::Clock> = Arc::new(SystemClock);
    let channels = crate::notify::channels(notify_clock.clone(), &args.data)?;
    tracing::info!(?channels, %public_url, "notifications on");
    let (stop_drainer, stopped) = tokio::sync::watch::channel(false);
    let drainer = crate::notify::spawn_drainer(
        notify_store,
        channels,
        notify_clock,
        doorstep_core::usecases::notify::NotifierConfig::new(public_url, crate::notify::claimant()),
        std::time::Duration::from_secs(args.notify_interval_s.max(1)),
        wake,
        stopped.clone(),
    );
    let sweeper = crate::sweep::spawn_blob_sweeper(
        sweep_store,
        sweep_blobs,
        Arc::new(SystemClock),
        std::time::Duration::from_secs(args.blob_sweep_interval_s.max(1)),
        stopped.clone(),
    );
    let rebuilder = crate::reports::spawn_daily_rebuild(rebuild_store, Arc::new(SystemClock), tracking_settings, stopped);

    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server failed")?;
    // Let a pass in progress finish its sends (bounded), then stop.
    let _ = stop_drainer.send(true);
    if tokio::time::timeout(std::time::Duration::from_secs(30), drainer).await.is_err() {
        tracing::warn!("the notification drainer did not stop within 30 s");
    }
    if tokio::time::timeout(std::time::Duration::from_secs(10), sweeper).await.is_err() {
        tracing::warn!("the orphan blob sweep did not stop within 10 s");
    }
    if tokio::time::timeout(std::time::Duration::from_secs(10), rebuilder).await.is_err() {
        tracing::warn!("the daily report rebuild did not stop within 10 s");
    }
    tracing::info!("stopped");
    Ok(())
}

/// The key that signs access tokens: 32 random bytes made on first run and
/// kept in the data directory (readable by the owner only), so sign-ins
/// survive restarts.
fn token_secret(data: &Path) -> anyhow::Result<Vec<u8>> {
    let path = data.join("token-secret");
    match std::fs::read_to_string(&path) {
        Ok(hex) => decode_hex(hex.trim()).with_context(|| format!("{} is damaged; delete it to make a new one", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = random_bytes(32);
            let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&path).with_context(|| format!("cannot create {}", path.display()))?;
            std::io::Write::write_all(&mut file, hex.as_bytes())?;
            Ok(secret)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn decode_hex(hex: &str) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(hex.len() >= 64 && hex.len() % 2 == 0, "expected at least 64 hex digits");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).context("not hex"))
        .collect()
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
