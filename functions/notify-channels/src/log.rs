//! The development sink: every message is logged with `tracing` and, when a
//! file is given, appended to it as one JSON line, so `cargo xtask dev`
//! users and tests can see what would have been sent.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;

use async_trait::async_trait;
use doorstep_core::ports::{Outgoing, SendError, Sender};
use serde_json::json;

#[derive(Debug)]
pub struct LogSender {
    file: Option<Mutex<PathBuf>>,
}

impl LogSender {
    pub fn new(file: Option<PathBuf>) -> Self {
        Self { file: file.map(Mutex::new) }
    }
}

#[async_trait]
impl Sender for LogSender {
    async fn send(&self, message: &Outgoing) -> Result<(), SendError> {
        tracing::info!(delivery_id = %message.delivery_id, subject = %message.subject, body = %message.body, "notification (log sink)");
        if let Some(file) = &self.file {
            let line = json!({
                "delivery_id": message.delivery_id,
                "subject": message.subject,
                "body": message.body,
                "event": message.event,
            });
            let path = file.lock().map_err(|_| SendError::Unavailable("log sink lock poisoned".into()))?;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&*path)
                .map_err(|e| SendError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
            // One write per line, so concurrent writers never interleave within a line.
            f.write_all(format!("{line}\n").as_bytes()).map_err(|e| SendError::Unavailable(format!("cannot write {}: {e}", path.display())))?;
        }
        Ok(())
    }
}
