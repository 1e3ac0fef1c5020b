//! `doorstep reports rebuild` as a child process over a SQLite data
//! directory: a corrupted aggregate is replaced by what the stored records
//! say (here: nothing happened that day), and a bad range is refused.

use std::process::Command;

use doorstep_core::Store;
use doorstep_core::ports::ReportStore;
use doorstep_domain::reports::DriverDay;
use doorstep_store_sqlite::SqliteStore;
use time::macros::date;

fn doorstep(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_doorstep")).args(args).env("RUST_LOG", "warn").output().expect("run doorstep");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test]
async fn reports_rebuild_replaces_a_corrupted_day_and_refuses_a_backwards_range() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("doorstep.sqlite3");
    let business = doorstep_store_conformance::sample_business("org-cli");
    let org = business.organisation.id.clone();
    let driver = business.drivers[0].id.clone();
    {
        let store = SqliteStore::open(&db).expect("store");
        store.import_business(&business).await.expect("import");
        // An aggregate no stored record supports: a corrupted day.
        let mut bogus = DriverDay::new(driver.clone(), date!(2026 - 11 - 20));
        bogus.delivered = 7;
        store.put_driver_day(&org, &bogus, 0).await.expect("corrupt");
    }
    let data = dir.path().to_str().expect("utf-8 path");

    let (ok, _, stderr) = doorstep(&["reports", "rebuild", "--data", data, "--from", "2026-11-21", "--to", "2026-11-20"]);
    assert!(!ok, "a backwards range fails");
    assert!(stderr.contains("to") && stderr.contains("before"), "{stderr}");
    let (ok, _, stderr) = doorstep(&["reports", "rebuild", "--data", data, "--from", "20/11/2026", "--to", "2026-11-20"]);
    assert!(!ok && stderr.contains("--from"), "{stderr}");

    let (ok, stdout, stderr) = doorstep(&["reports", "rebuild", "--data", data, "--from", "2026-11-19", "--to", "2026-11-21"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("org-cli: 1 driver days from 2026-11-19 to 2026-11-21, 1 replaced"), "{stdout}");
    let store = SqliteStore::open(&db).expect("store");
    let day = store.driver_day(&org, &driver, date!(2026 - 11 - 20)).await.expect("read").expect("still there");
    assert_eq!(day.day, DriverDay::new(driver, date!(2026 - 11 - 20)), "nothing happened that day");
    assert_eq!(day.version, 2);
}
