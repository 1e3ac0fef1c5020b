//! The Solomon text reader.

use doorstep_optimizer::{Travel, solomon};

const C101: &str = include_str!("data/C101.txt");

#[test]
fn parses_c101_fleet_depot_and_customers() {
    let p = solomon::parse("C101.txt", C101).unwrap();
    assert_eq!(p.name, "C101");
    assert_eq!(p.jobs.len(), 100);
    assert_eq!(p.vehicles.len(), 25);
    assert_eq!(p.vehicles[0].capacity, vec![200]);
    let shift = p.vehicles[0].shift.unwrap();
    assert_eq!((shift.start, shift.end), (0.0, 1236.0));
    assert_eq!(p.vehicles[0].end, Some(0));
    let j = &p.jobs[0];
    assert_eq!(j.id, "1");
    assert_eq!(j.location, 1);
    assert_eq!(j.demand, vec![10]);
    assert_eq!(
        (j.time_windows[0].start, j.time_windows[0].end),
        (912.0, 967.0)
    );
    assert_eq!(j.service, 90.0);
    match &p.travel {
        Travel::Euclidean { points } => assert_eq!(points[1], [45.0, 68.0]),
        t => panic!("unexpected travel {t:?}"),
    }
    p.validate().unwrap();
}

#[test]
fn crlf_and_lf_give_the_same_problem() {
    let lf = C101.replace("\r\n", "\n");
    let crlf = lf.replace('\n', "\r\n");
    assert_eq!(
        solomon::parse("a", &lf).unwrap(),
        solomon::parse("a", &crlf).unwrap()
    );
}

#[test]
fn header_wording_does_not_matter() {
    let text = "X\nVEHICLE\nNUMBER CAP\n 2 10\nCUSTOMER\nwhatever header\n0 0 0 0 0 100 0\n1 1 1 1 0 50 2\n";
    let p = solomon::parse("x.txt", text).unwrap();
    assert_eq!(p.jobs.len(), 1);
    assert_eq!(p.vehicles.len(), 2);
}

fn broken(line_no: usize, new_line: &str) -> String {
    C101.lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == line_no {
                new_line.to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn non_numeric_due_date_names_file_line_and_field() {
    let text = broken(
        14,
        "    4      42         68         10        727        x         90",
    );
    let err = solomon::parse("C101.txt", &text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "C101.txt line 14, field DUE DATE: expected a number, found 'x'"
    );
    assert_eq!((err.line, err.field.as_str()), (14, "DUE DATE"));
}

#[test]
fn short_row_names_the_missing_field() {
    let text = broken(12, "    2      45         70         30        825");
    let err = solomon::parse("C101.txt", &text).unwrap_err();
    assert_eq!((err.line, err.field.as_str()), (12, "DUE DATE"));
    assert!(err.message.contains("expected 7 columns, found 5"));
}

#[test]
fn inconsistent_rows_are_rejected() {
    let err = solomon::parse("C101.txt", &broken(12, "    7 45 70 30 825 870 90")).unwrap_err();
    assert_eq!((err.line, err.field.as_str()), (12, "CUST NO."));
    let err = solomon::parse("C101.txt", &broken(12, "    2 45 70 30 825 800 90")).unwrap_err();
    assert_eq!((err.line, err.field.as_str()), (12, "DUE DATE"));
    let err = solomon::parse("C101.txt", &broken(5, "  25 abc")).unwrap_err();
    assert_eq!((err.line, err.field.as_str()), (5, "CAPACITY"));
    let err = solomon::parse("C101.txt", &broken(12, "    2 45 70 -3 825 870 90")).unwrap_err();
    assert_eq!((err.line, err.field.as_str()), (12, "DEMAND"));
}

#[test]
fn missing_sections_are_reported() {
    let err = solomon::parse("empty.txt", "NAME\n").unwrap_err();
    assert_eq!(err.field, "NUMBER CAPACITY");
    let err = solomon::parse("nodepot.txt", "N\n3 10\n").unwrap_err();
    assert_eq!(err.field, "CUST NO.");
}
