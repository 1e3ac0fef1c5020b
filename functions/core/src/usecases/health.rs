use doorstep_domain::api::Health;

use crate::ports::Store;

/// Reports whether the store answers. The HTTP layer maps `ok == false` to 503.
pub async fn check(store: &dyn Store) -> Health {
    let store_ok = match store.ping().await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(%error, "health check: store did not answer");
            false
        }
    };
    Health {
        status: if store_ok { "ok".into() } else { "degraded".into() },
        version: env!("CARGO_PKG_VERSION").into(),
        store: store.backend().into(),
    }
}
