//! XLSX files for the order import, read by the spreadsheet reader module
//! (`frontend/xlsx`, served as `/xlsx/`): it holds calamine, zip and the XML
//! reader, so it is imported only when a dispatcher picks an .xlsx file and
//! stays out of the app's first load. It returns the same header row and
//! text cells the CSV path previews, and CSV text for the import.

use serde::Deserialize;
use time::UtcOffset;
use wasm_bindgen::prelude::*;

// One import per page: the module and its wasm are fetched on first use,
// then every call reuses them.
#[wasm_bindgen(inline_js = r#"
let reader;
function load() {
  reader ??= import("/xlsx/doorstep_xlsx.js").then(async (m) => {
    await m.default({ module_or_path: "/xlsx/doorstep_xlsx_bg.wasm" });
    return m;
  });
  // A failed load (offline, say) is retried on the next file.
  reader.catch(() => { reader = undefined; });
  return reader;
}
export async function xlsx_read(bytes, offset_s, preview_rows) {
  return (await load()).read(bytes, offset_s, preview_rows);
}
export async function xlsx_to_csv(bytes, offset_s, service_time_s, service_time_min) {
  return (await load()).to_csv(bytes, offset_s, service_time_s, service_time_min);
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn xlsx_read(bytes: &js_sys::Uint8Array, offset_s: i32, preview_rows: u32) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn xlsx_to_csv(bytes: &js_sys::Uint8Array, offset_s: i32, service_time_s: Option<u32>, service_time_min: Option<u32>) -> Result<JsValue, JsValue>;
}

/// An XLSX file's bytes, kept on the JS side (the reader copies them into
/// its own memory on each call). Equal when they are the same array.
#[derive(Clone, Debug)]
pub struct Workbook(pub js_sys::Uint8Array);

impl PartialEq for Workbook {
    fn eq(&self, other: &Self) -> bool {
        AsRef::<JsValue>::as_ref(&self.0) == AsRef::<JsValue>::as_ref(&other.0)
    }
}

/// A cell the import cannot use (an Excel error such as `#N/A`), by
/// spreadsheet row (1-based, like the CSV path's line numbers) and header.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct BadCell {
    pub row: usize,
    pub column: String,
    pub message: String,
}

/// The first sheet as the import panel shows it (the reader's `read`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Preview {
    pub headers: Vec<String>,
    /// The first rows under the header, cells as text.
    pub rows: Vec<Vec<String>>,
    /// Every cell of the sheet that cannot be imported.
    pub bad_cells: Vec<BadCell>,
}

/// The header, the first `preview_rows` rows and the unusable cells of the
/// workbook's first sheet. The error says why it could not be read.
pub async fn read(bytes: &Workbook, offset: UtcOffset, preview_rows: u32) -> Result<Preview, String> {
    let json = xlsx_read(&bytes.0, offset.whole_seconds(), preview_rows).await.map_err(|e| reason(&e))?;
    parse_preview(&json.as_string().unwrap_or_default())
}

/// The workbook's first sheet as CSV text for the import endpoint: the
/// mapped service-time columns (indexes) read time-formatted cells as durations.
pub async fn to_csv(bytes: &Workbook, offset: UtcOffset, service_time_s: Option<usize>, service_time_min: Option<usize>) -> Result<String, String> {
    let index = |c: Option<usize>| c.and_then(|c| u32::try_from(c).ok());
    let csv = xlsx_to_csv(&bytes.0, offset.whole_seconds(), index(service_time_s), index(service_time_min)).await.map_err(|e| reason(&e))?;
    csv.as_string().ok_or_else(|| "the spreadsheet reader returned no text".to_owned())
}

fn parse_preview(json: &str) -> Result<Preview, String> {
    serde_json::from_str(json).map_err(|e| format!("the spreadsheet reader's answer is not understood ({e})"))
}

/// The reader's error message, or why the reader itself did not load.
fn reason(error: &JsValue) -> String {
    match error.dyn_ref::<js_sys::Error>() {
        Some(e) if e.name() == "TypeError" => format!("the spreadsheet reader could not be loaded ({})", String::from(e.message())),
        Some(e) => String::from(e.message()),
        None => error.as_string().unwrap_or_else(|| format!("{error:?}")),
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn the_readers_preview_json_is_understood() {
        // The shape `doorstep_xlsx::preview_json` writes.
        let json = r##"{"headers":["Ref","From"],"rows":[["A-1","09:00"]],"bad_cells":[{"row":3,"column":"From","message":"the cell holds the spreadsheet error #N/A; fix it in the file"}]}"##;
        let preview = parse_preview(json).unwrap();
        assert_eq!(preview.headers, ["Ref", "From"]);
        assert_eq!(preview.rows, [["A-1", "09:00"]]);
        assert_eq!(preview.bad_cells[0].row, 3);
        assert!(parse_preview("{}").unwrap_err().contains("not understood"));
    }
}
