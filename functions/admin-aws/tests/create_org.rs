//! `doorstep-aws create-org` against a real moto_server: the organisation
//! and its dispatcher land in the table and the dispatcher can sign in
//! through the login use case; bad input names its option and writes nothing.

use std::io::Write as _;
use std::process::{Command, Stdio};

use doorstep_admin_aws::{CreateOrgError, NewOrganisation, create_org};
use doorstep_core::adapters::{Argon2Passwords, Hs256Tokens};
use doorstep_core::ports::FixedClock;
use doorstep_core::usecases::auth::{AuthDeps, RateLimits, login};
use doorstep_core::Store;
use doorstep_domain::auth::{LoginRequest, Role};
use doorstep_store_dynamodb::DynamoStore;
use doorstep_store_dynamodb::moto::MotoServer;
use time::macros::datetime;

const PASSWORD: &str = "correct horse battery";

fn new_org(email: &str, password: &str) -> NewOrganisation {
    NewOrganisation {
        name: "Lyon Bikes".into(),
        timezone: "Europe/Paris".into(),
        email: email.into(),
        dispatcher_name: "Alice".into(),
        password: password.into(),
    }
}

async fn table(moto: &MotoServer, name: &str) -> DynamoStore {
    let store = DynamoStore::new(moto.client(), name);
    store.ensure_table().await.expect("table");
    store
}

async fn can_sign_in(store: &DynamoStore, email: &str, password: &str) -> Result<Role, doorstep_core::Error> {
    let tokens = Hs256Tokens::new(b"test secret, 32 bytes or more....", 3600);
    let passwords = Argon2Passwords::fast_for_tests();
    let clock = FixedClock(datetime!(2026-11-22 12:00 UTC));
    let deps = AuthDeps { store, clock: &clock, issuer: &tokens, verifier: &tokens, passwords: &passwords, limits: RateLimits::default() };
    let request = LoginRequest { email: email.into(), password: password.into() };
    login(deps, &request, "198.51.100.7").await.map(|t| t.role)
}

#[tokio::test]
async fn create_org_writes_the_organisation_and_a_dispatcher_who_can_sign_in() {
    let moto = MotoServer::start();
    let store = table(&moto, "admin-create").await;
    let clock = FixedClock(datetime!(2026-11-22 12:00 UTC));
    let passwords = Argon2Passwords::fast_for_tests();
    let (org, user) = create_org(&store, &clock, &passwords, &new_org(" Alice@Shop.Example ", PASSWORD)).await.expect("created");
    assert_eq!(store.organisation(&org.id).await.expect("stored").name, "Lyon Bikes");
    assert_eq!((user.email.as_str(), user.role, &user.org_id), ("alice@shop.example", Role::Dispatcher, &org.id));
    assert!(user.password_hash.starts_with("$argon2id$"), "{}", user.password_hash);
    assert_eq!(can_sign_in(&store, "alice@shop.example", PASSWORD).await.expect("login"), Role::Dispatcher);
    assert!(can_sign_in(&store, "alice@shop.example", "wrong password!").await.is_err());

    // The same email again: refused by option, and no second organisation.
    let again = create_org(&store, &clock, &passwords, &new_org("alice@shop.example", PASSWORD)).await;
    assert!(matches!(again, Err(CreateOrgError::Invalid { field: "--email", .. })), "{again:?}");
    assert_eq!(store.list_organisations().await.expect("orgs").len(), 1);
}

#[tokio::test]
async fn bad_input_names_the_option_and_writes_nothing() {
    let moto = MotoServer::start();
    let store = table(&moto, "admin-invalid").await;
    let clock = FixedClock(datetime!(2026-11-22 12:00 UTC));
    let passwords = Argon2Passwords::fast_for_tests();
    let cases = [
        (new_org("alice@shop.example", "short"), "--password-stdin"),
        (new_org("not-an-email", PASSWORD), "--email"),
        (NewOrganisation { name: "  ".into(), ..new_org("alice@shop.example", PASSWORD) }, "--org-name"),
        (NewOrganisation { timezone: "Paris".into(), ..new_org("alice@shop.example", PASSWORD) }, "--timezone"),
    ];
    for (new, expected) in cases {
        match create_org(&store, &clock, &passwords, &new).await {
            Err(CreateOrgError::Invalid { field, .. }) => assert_eq!(field, expected),
            other => panic!("expected {expected} to be refused, got {other:?}"),
        }
    }
    assert!(store.list_organisations().await.expect("orgs").is_empty(), "nothing written");
    assert!(store.user_by_email("alice@shop.example").await.expect("read").is_none());
}

#[tokio::test]
async fn the_binary_reads_the_password_from_stdin_and_prints_the_ids() {
    let moto = MotoServer::start();
    let store = table(&moto, "admin-cli").await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_doorstep-aws"))
        .args(["create-org", "--table", "admin-cli", "--org-name", "Lyon Bikes", "--timezone", "Europe/Paris", "--email", "bob@shop.example", "--password-stdin"])
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run doorstep-aws");
    child.stdin.take().expect("stdin").write_all(format!("{PASSWORD}\n").as_bytes()).expect("password");
    let out = child.wait_with_output().expect("output");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json line");
    assert_eq!(printed["email"], "bob@shop.example");
    let org = printed["org_id"].as_str().expect("org id").parse().expect("org id");
    assert_eq!(store.organisation(&org).await.expect("org").timezone, "Europe/Paris");
    // Hashed with the production argon2id parameters, and it verifies.
    assert_eq!(can_sign_in(&store, "bob@shop.example", PASSWORD).await.expect("login"), Role::Dispatcher);

    // Without a password on stdin it refuses, naming the option.
    let out = Command::new(env!("CARGO_BIN_EXE_doorstep-aws"))
        .args(["create-org", "--table", "admin-cli", "--org-name", "X", "--email", "carol@shop.example", "--password-stdin"])
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--password-stdin"), "{}", String::from_utf8_lossy(&out.stderr));
}
