//! The orphan blob sweep on `doorstep serve`'s pair: the SQLite store and
//! blobs in local files. Cited blobs stay, uncited ones older than a day go.

use doorstep_blobs_fs::{FsBlobStore, UploadPolicy};
use doorstep_store_conformance::pod::run_orphan_sweep;
use doorstep_store_sqlite::SqliteStore;

#[tokio::test]
async fn sqlite_and_files_sweep_orphans_and_keep_cited_blobs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let blobs = FsBlobStore::open(dir.path(), b"a test secret of at least 32 bytes!!").expect("blob store");
    let store = SqliteStore::open_in_memory().expect("SQLite");
    let writer = blobs.clone();
    run_orphan_sweep(&store, &blobs, move |key, bytes| {
        let blobs = writer.clone();
        async move {
            let policy = UploadPolicy { key, content_type: "image/jpeg".into(), max_bytes: 1024, expires: i64::MAX };
            let mut upload = blobs.begin(&policy).await.expect("begin");
            upload.write(&bytes).await.expect("write");
            upload.finish().await.expect("finish");
        }
    })
    .await;
}
