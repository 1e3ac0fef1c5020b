//! The orphan blob sweep on the AWS pair, against a real moto_server: the
//! DynamoDB store and S3. Cited blobs stay, uncited ones older than a day go.

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use doorstep_blobs_s3::S3BlobStore;
use doorstep_store_conformance::pod::run_orphan_sweep;
use doorstep_store_dynamodb::DynamoStore;
use doorstep_store_dynamodb::moto::MotoServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_and_s3_sweep_orphans_and_keep_cited_blobs() {
    let moto = MotoServer::start();
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(&moto.endpoint)
        .force_path_style(true)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .build();
    let creds = SharedCredentialsProvider::new(Credentials::new("testing", "testing", None, None, "moto"));
    let blobs = S3BlobStore::new(aws_sdk_s3::Client::from_conf(config), creds, "doorstep-sweep", Some(&moto.endpoint));
    blobs.client().create_bucket().bucket("doorstep-sweep").send().await.expect("bucket");
    let store = DynamoStore::new(moto.client(), "doorstep-sweep".to_owned());
    store.ensure_table().await.expect("table");
    let client = blobs.client().clone();
    run_orphan_sweep(&store, &blobs, move |key, bytes| {
        let client = client.clone();
        async move {
            client
                .put_object()
                .bucket("doorstep-sweep")
                .key(key)
                .content_type("image/jpeg")
                .body(bytes.into())
                .send()
                .await
                .expect("put object");
        }
    })
    .await;
}
