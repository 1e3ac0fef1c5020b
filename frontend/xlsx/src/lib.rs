//! The dispatcher app's XLSX reader, a wasm module of its own
//! (`/xlsx/doorstep_xlsx.js`) that the app imports only when a dispatcher
//! picks an .xlsx file: calamine, zip, the XML reader and the text encodings
//! are most of a megabyte of wasm that every other visit would download for
//! nothing. It reads the first sheet into the same header row and text cells
//! the CSV import uses, so both paths share the preview, the column mapping
//! and the server's CSV import.
//!
//! JS calls [`read`] for the preview and [`to_csv`] when importing, each with
//! the file's bytes: the workbook is read again rather than kept here, so the
//! app holds the only state.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{Data, Reader as _, Xlsx};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};
use wasm_bindgen::prelude::*;

/// A cell the import cannot use (an Excel error such as `#N/A`), by
/// spreadsheet row (1-based, like the CSV path's line numbers) and header.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BadCell {
    pub row: usize,
    pub column: String,
    pub message: String,
}

/// The first sheet: its header row and the rows under it, cells as read.
#[derive(Clone, Debug, PartialEq)]
pub struct Sheet {
    pub headers: Vec<String>,
    /// `(spreadsheet row number, cells)`; empty rows are left out.
    pub rows: Vec<(usize, Vec<Data>)>,
}

/// Why a file could not be read as a spreadsheet.
pub fn read_xlsx(bytes: Vec<u8>) -> Result<Sheet, String> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| format!("it is not a readable XLSX file ({e})"))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| "it has no sheet".to_owned())?
        .map_err(|e| format!("its first sheet could not be read ({e})"))?;
    let first_row = range.start().map_or(0, |(r, _)| r as usize);
    let mut rows = range
        .rows()
        .enumerate()
        .filter(|(_, cells)| cells.iter().any(|c| !matches!(c, Data::Empty) && !matches!(c, Data::String(s) if s.trim().is_empty())))
        .map(|(i, cells)| (first_row + i + 1, cells.to_vec()));
    let Some((_, header_cells)) = rows.next() else {
        return Err("its first sheet is empty: it needs a header row and one row per order".into());
    };
    let headers = header_cells.iter().map(|c| cell_text(c, UtcOffset::UTC).unwrap_or_default()).collect();
    Ok(Sheet { headers, rows: rows.collect() })
}

/// One cell as the CSV import reads it. Dates and times are Excel serial
/// numbers (days since 1899-12-30, the fraction is the time of day):
/// a time alone becomes `HH:MM` (read on the import's date), a date alone
/// `YYYY-MM-DD`, a date with a time RFC 3339 at `offset` (the sheet has no
/// zone: its times are the organisation's local times). Whole numbers lose
/// Excel's `.0` (a postcode typed as a number stays `69002`).
pub fn cell_text(cell: &Data, offset: UtcOffset) -> Result<String, String> {
    Ok(match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(*f),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) if dt.is_duration() => clock_text(dt.as_f64()),
        Data::DateTime(dt) => {
            let serial = dt.as_f64();
            if serial < 1.0 {
                clock_text(serial)
            } else {
                let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
                let date = Month::try_from(mo)
                    .ok()
                    .and_then(|m| Date::from_calendar_date(i32::from(y), m, d).ok())
                    .ok_or_else(|| format!("{serial} is not a date Excel can show"))?;
                if serial.fract() == 0.0 {
                    date.to_string()
                } else {
                    let time = Time::from_hms(h, mi, s).map_err(|e| e.to_string())?;
                    let mut at = PrimitiveDateTime::new(date, time);
                    if ms >= 500 {
                        at += time::Duration::SECOND;
                    }
                    at.assume_offset(offset).format(&Rfc3339).map_err(|e| e.to_string())?
                }
            }
        }
        // `HH:MM:SS` from an ISO time cell: the import reads `HH:MM`.
        Data::DateTimeIso(s) if s.len() == 8 && s.as_bytes()[2] == b':' && s.as_bytes()[5] == b':' => s[..5].to_owned(),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => return Err(format!("the cell holds the spreadsheet error {e}; fix it in the file")),
    })
}

/// Seconds of a duration or time-of-day cell (for service-time columns).
fn cell_seconds(cell: &Data) -> Option<f64> {
    match cell {
        Data::DateTime(dt) => Some((dt.as_f64() * 86_400.0).round()),
        _ => None,
    }
}

fn number_text(f: f64) -> String {
    // Display gives the shortest text that reads back as the same number.
    format!("{f}")
}

/// The time of day of a serial (its fraction), to the nearest minute.
fn clock_text(serial: f64) -> String {
    let minutes = (serial.fract().abs() * 1440.0).round() as u32;
    // A duration of whole days (`[h]:mm`) keeps its hours.
    let minutes = minutes + (serial.trunc().abs() as u32) * 1440;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Quotes a CSV field when it needs it (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) || text.starts_with(' ') || text.ends_with(' ') {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

impl Sheet {
    /// Every cell as text, and the cells that cannot be used.
    pub fn text_rows(&self, offset: UtcOffset) -> (Vec<Vec<String>>, Vec<BadCell>) {
        let mut bad = Vec::new();
        let rows = self
            .rows
            .iter()
            .map(|(n, cells)| {
                (0..self.headers.len().max(cells.len()))
                    .map(|i| match cells.get(i).map(|c| cell_text(c, offset)) {
                        None => String::new(),
                        Some(Ok(t)) => t,
                        Some(Err(message)) => {
                            bad.push(BadCell { row: *n, column: self.headers.get(i).cloned().unwrap_or_else(|| format!("column {}", i + 1)), message });
                            String::new()
                        }
                    })
                    .collect()
            })
            .collect();
        (rows, bad)
    }

    /// The sheet as CSV text for the import endpoint. `columns` is the
    /// chosen mapping (field → column): a time-formatted cell in the
    /// service-time column counts as a duration (seconds, or minutes for
    /// `service_time_min`), not a time of day.
    pub fn to_csv(&self, columns: &BTreeMap<&'static str, Option<usize>>, offset: UtcOffset) -> String {
        let service_s = columns.get("service_time_s").copied().flatten();
        let service_min = columns.get("service_time_min").copied().flatten();
        let mut out = String::new();
        out.push_str(&self.headers.iter().map(|h| csv_field(h)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
        for (_, cells) in &self.rows {
            let line: Vec<String> = (0..self.headers.len().max(cells.len()))
                .map(|i| {
                    let cell = cells.get(i).unwrap_or(&Data::Empty);
                    let text = match cell_seconds(cell) {
                        Some(s) if Some(i) == service_s => number_text(s),
                        Some(s) if Some(i) == service_min => number_text(s / 60.0),
                        _ => cell_text(cell, offset).unwrap_or_default(),
                    };
                    csv_field(&text)
                })
                .collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        out
    }
}

/// What the import panel shows of a workbook before importing it.
#[derive(Debug, Serialize)]
struct Preview {
    headers: Vec<String>,
    /// The first rows under the header, cells as text.
    rows: Vec<Vec<String>>,
    /// Every cell of the sheet that cannot be imported.
    bad_cells: Vec<BadCell>,
}

fn offset_of(offset_s: i32) -> Result<UtcOffset, String> {
    UtcOffset::from_whole_seconds(offset_s).map_err(|e| format!("offset_s {offset_s} is not a UTC offset: {e}"))
}

/// The first sheet of `bytes` for the preview, as JSON `{headers, rows,
/// bad_cells}` with at most `preview_rows` rows.
pub fn preview_json(bytes: &[u8], offset: UtcOffset, preview_rows: usize) -> Result<String, String> {
    let sheet = read_xlsx(bytes.to_vec())?;
    let (mut rows, bad_cells) = sheet.text_rows(offset);
    rows.truncate(preview_rows);
    serde_json::to_string(&Preview { headers: sheet.headers, rows, bad_cells }).map_err(|e| e.to_string())
}

/// The first sheet of `bytes` as CSV text for the import endpoint; cells of
/// the service-time columns (by index, when mapped) that Excel formats as
/// times are read as durations.
pub fn csv_text(bytes: &[u8], offset: UtcOffset, service_time_s: Option<usize>, service_time_min: Option<usize>) -> Result<String, String> {
    let sheet = read_xlsx(bytes.to_vec())?;
    let columns = BTreeMap::from([("service_time_s", service_time_s), ("service_time_min", service_time_min)]);
    Ok(sheet.to_csv(&columns, offset))
}

/// [`preview_json`] for JS. Errors say why the file is not a readable
/// workbook (the app shows "NAME could not be read: …").
#[wasm_bindgen]
pub fn read(bytes: &[u8], offset_s: i32, preview_rows: usize) -> Result<String, JsError> {
    offset_of(offset_s).and_then(|offset| preview_json(bytes, offset, preview_rows)).map_err(|e| JsError::new(&e))
}

/// [`csv_text`] for JS.
#[wasm_bindgen]
pub fn to_csv(bytes: &[u8], offset_s: i32, service_time_s: Option<u32>, service_time_min: Option<u32>) -> Result<String, JsError> {
    offset_of(offset_s)
        .and_then(|offset| csv_text(bytes, offset, service_time_s.map(|c| c as usize), service_time_min.map(|c| c as usize)))
        .map_err(|e| JsError::new(&e))
}

#[cfg(test)]
mod tests {
    use calamine::{ExcelDateTime, ExcelDateTimeType};
    use time::macros::offset;

    use super::*;

    fn when(serial: f64) -> Data {
        Data::DateTime(ExcelDateTime::new(serial, ExcelDateTimeType::DateTime, false))
    }

    #[test]
    fn a_time_cell_becomes_the_hh_mm_the_csv_import_reads() {
        // 0.375 of a day is 09:00; 0.6875 is 16:30; 10:15:40 rounds to the minute.
        assert_eq!(cell_text(&when(0.375), offset!(+1)).unwrap(), "09:00");
        assert_eq!(cell_text(&when(0.6875), offset!(+1)).unwrap(), "16:30");
        assert_eq!(cell_text(&when((10.0 * 3600.0 + 15.0 * 60.0 + 40.0) / 86_400.0), UtcOffset::UTC).unwrap(), "10:16");
        let duration = Data::DateTime(ExcelDateTime::new(1.25, ExcelDateTimeType::TimeDelta, false));
        assert_eq!(cell_text(&duration, UtcOffset::UTC).unwrap(), "30:00");
    }

    #[test]
    fn date_cells_become_iso_dates_and_date_times_rfc_3339_at_the_import_offset() {
        // Serial 45943 is 2025-10-13 (days since 1899-12-30); .5 is noon.
        assert_eq!(cell_text(&when(45943.0), offset!(+2)).unwrap(), "2025-10-13");
        assert_eq!(cell_text(&when(45943.5), offset!(+2)).unwrap(), "2025-10-13T12:00:00+02:00");
        // The 1904 date system counts from 1904-01-01.
        let d1904 = Data::DateTime(ExcelDateTime::new(44481.375, ExcelDateTimeType::DateTime, true));
        assert_eq!(cell_text(&d1904, UtcOffset::UTC).unwrap(), "2025-10-13T09:00:00Z");
    }

    #[test]
    fn numbers_lose_excel_float_noise_and_error_cells_are_refused() {
        assert_eq!(cell_text(&Data::Float(69002.0), UtcOffset::UTC).unwrap(), "69002");
        assert_eq!(cell_text(&Data::Float(12.5), UtcOffset::UTC).unwrap(), "12.5");
        assert_eq!(cell_text(&Data::Int(3), UtcOffset::UTC).unwrap(), "3");
        let e = cell_text(&Data::Error(calamine::CellErrorType::NA), UtcOffset::UTC).unwrap_err();
        assert!(e.contains("#N/A"), "{e}");
    }

    #[test]
    fn the_sheet_becomes_csv_with_quotes_and_service_times_as_durations() {
        let sheet = Sheet {
            headers: vec!["Client".into(), "Address".into(), "From".into(), "Service".into()],
            rows: vec![(2, vec![Data::String("Alice \"Al\" Martin".into()), Data::String("3 Quai, Bât B".into()), when(0.375), when(5.0 / 1440.0)])],
        };
        let columns = BTreeMap::from([("window_start", Some(2)), ("service_time_s", Some(3))]);
        assert_eq!(sheet.to_csv(&columns, UtcOffset::UTC), "Client,Address,From,Service\r\n\"Alice \"\"Al\"\" Martin\",\"3 Quai, Bât B\",09:00,300\r\n");
        let columns = BTreeMap::from([("service_time_min", Some(3))]);
        assert!(sheet.to_csv(&columns, UtcOffset::UTC).ends_with(",09:00,5\r\n"));
    }

    #[test]
    fn bytes_that_are_not_a_workbook_are_refused_with_the_reason() {
        let e = preview_json(b"ref,address\n1,2 Rue Haute\n", UtcOffset::UTC, 5).unwrap_err();
        assert!(e.starts_with("it is not a readable XLSX file"), "{e}");
        assert!(csv_text(b"", UtcOffset::UTC, None, None).is_err());
        assert!(offset_of(26 * 3600).unwrap_err().contains("offset_s"));
    }
}
