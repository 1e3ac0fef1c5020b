use std::sync::Arc;

use doorstep_core::adapters::{Argon2Passwords, Hs256Tokens};
use doorstep_core::ports::{PasswordHasher, TokenIssuer, TokenVerifier};
use doorstep_core::ports::{ReportStore, TrackingStore};
use doorstep_core::ports::{BlobStore, PodStore};
use doorstep_core::usecases::pod::PodDeps;
use doorstep_core::usecases::tracking::{TrackingDeps, TrackingSettings};
use doorstep_core::usecases::auth::{AuthDeps, RateLimits};
use doorstep_core::{Clock, Store};

/// What the map needs before any organisation is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientSettings {
    pub tile_url: String,
    pub tile_attribution: String,
    /// How the web app signs dispatchers in (`/api/config`).
    pub auth: doorstep_domain::api::ClientAuth,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            tile_url: "https://tile.openstreetmap.org/{z}/{x}/{y}.png".into(),
            tile_attribution: "&copy; <a href=\"https://www.openstreetmap.org/copyright\">OpenStreetMap</a> contributors".into(),
            auth: doorstep_domain::api::ClientAuth::Local,
        }
    }
}

/// Shared by every handler. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub client: ClientSettings,
    pub verifier: Arc<dyn TokenVerifier>,
    pub issuer: Arc<dyn TokenIssuer>,
    pub passwords: Arc<dyn PasswordHasher>,
    pub limits: RateLimits,
    /// Report aggregates per (day, driver) (the same store as `store`).
    pub reports: Arc<dyn ReportStore>,
    /// Pings, positions and route progress (the same store as `store`).
    pub tracking: Arc<dyn TrackingStore>,
    pub tracking_settings: TrackingSettings,
    /// Proofs of delivery, visits and one-time codes (the same store as
    /// `store`); `None` until the host wires it ([`AppState::with_pods`]).
    pub pods: Option<Arc<dyn PodStore>>,
    /// Where photos and signature images live; `None` until the host wires one.
    pub blobs: Option<Arc<dyn BlobStore>>,
    /// The embedded blob store, whose upload and download routes this
    /// server answers (`doorstep serve`); `None` with S3.
    pub local_blobs: Option<Arc<doorstep_blobs_fs::FsBlobStore>>,
}

/// How long `doorstep serve`'s access tokens last: one working day.
pub const ACCESS_TOKEN_TTL_S: u64 = 12 * 3600;

impl AppState {
    /// One process that issues and verifies its own HS256 tokens (`doorstep serve`).
    pub fn self_contained<S: Store + TrackingStore + ReportStore>(store: Arc<S>, clock: Arc<dyn Clock>, client: ClientSettings, token_secret: &[u8]) -> Self {
        let tokens = Arc::new(Hs256Tokens::new(token_secret, ACCESS_TOKEN_TTL_S));
        Self {
            reports: store.clone(),
            tracking: store.clone(),
            pods: None,
            blobs: None,
            local_blobs: None,
            tracking_settings: TrackingSettings::default(),
            store,
            clock,
            client,
            verifier: tokens.clone(),
            issuer: tokens,
            passwords: Arc::new(Argon2Passwords::default()),
            limits: RateLimits::default(),
        }
    }

    /// Ping retention and tracking-link lifetime (see `tracking::settings_from_env`).
    pub fn with_tracking_settings(mut self, settings: TrackingSettings) -> Self {
        self.tracking_settings = settings;
        self
    }

    pub fn tracking(&self) -> TrackingDeps<'_> {
        TrackingDeps { store: self.store.as_ref(), tracking: self.tracking.as_ref(), reports: self.reports.as_ref(), clock: self.clock.as_ref(), settings: self.tracking_settings }
    }

    /// Stop events, proofs and one-time codes on this store (also what
    /// makes a dispatcher's deliver/fail and publishing notify with codes).
    pub fn with_pods<S: PodStore>(mut self, store: Arc<S>) -> Self {
        self.pods = Some(store);
        self
    }

    /// Serves blobs from local files (`doorstep serve`).
    pub fn with_local_blobs(mut self, blobs: doorstep_blobs_fs::FsBlobStore) -> Self {
        let blobs = Arc::new(blobs);
        self.blobs = Some(blobs.clone());
        self.local_blobs = Some(blobs);
        self
    }

    /// Uses another blob store (S3 in the Lambda).
    pub fn with_blobs(mut self, blobs: Arc<dyn BlobStore>) -> Self {
        self.blobs = Some(blobs);
        self
    }

    /// The proof-of-delivery use cases' ports; `None` without a POD or blob store.
    pub fn pod(&self) -> Option<PodDeps<'_>> {
        Some(PodDeps { store: self.store.as_ref(), pods: self.pods.as_deref()?, blobs: self.blobs.as_deref()?, reports: self.reports.as_ref(), clock: self.clock.as_ref() })
    }

    /// What auto-dispatch may use: latest positions and one-time codes.
    pub fn dispatch_ports(&self) -> doorstep_core::usecases::auto_dispatch::DispatchPorts<'_> {
        doorstep_core::usecases::auto_dispatch::DispatchPorts { tracking: Some(self.tracking.as_ref()), pods: self.pods.as_deref() }
    }

    pub fn auth(&self) -> AuthDeps<'_> {
        AuthDeps {
            store: self.store.as_ref(),
            clock: self.clock.as_ref(),
            issuer: self.issuer.as_ref(),
            verifier: self.verifier.as_ref(),
            passwords: self.passwords.as_ref(),
            limits: self.limits,
        }
    }
}
