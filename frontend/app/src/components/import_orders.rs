//! Importing the day's orders from a spreadsheet: pick or drop a CSV or an
//! XLSX file (its first sheet, read in the browser and sent as CSV), check
//! which column fills which field, import all or nothing (or only the good
//! rows), see every bad row with its line and column, and undo an import.

use std::collections::BTreeMap;
use std::rc::Rc;

use doorstep_domain::api::ApiError;
use doorstep_domain::csv_columns::{FIELDS, REQUIRED, recognised_column};
use doorstep_domain::dispatch::{CsvImportReport, CsvImportRequest};
use doorstep_domain::{Order, OrderId};
use time::{Date, UtcOffset};
use web_sys::{DragEvent, HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::xlsx_sheet::{self, BadCell, Workbook};
use crate::services::api;

/// Rows shown in the preview table.
const PREVIEW_ROWS: usize = 5;

/// What the dispatcher sees of the chosen file before importing it.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvFile {
    pub name: String,
    pub text: Rc<String>,
    pub headers: Vec<String>,
    pub preview: Vec<Vec<String>>,
    /// One key per chosen file: a double click or a retry never imports twice.
    pub idempotency_key: String,
    /// An XLSX file's bytes: its first sheet is converted to CSV when
    /// imported, with the chosen mapping (service-time cells become durations).
    pub workbook: Option<Workbook>,
    /// Cells of an XLSX file that cannot be imported (Excel errors).
    pub bad_cells: Vec<BadCell>,
}

/// One refused row (or the file as a whole when `row` is `None`).
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub row: Option<usize>,
    pub column: Option<String>,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    Choosing,
    Importing,
    Refused { message: String, problems: Vec<Problem> },
    Imported(Rc<CsvImportReport>),
    Undoing,
    Undone(usize),
}

#[derive(Clone, Debug, PartialEq)]
struct Import {
    file: Option<CsvFile>,
    /// Field -> chosen column; `None` means "not in this file".
    columns: BTreeMap<&'static str, Option<usize>>,
    partial: bool,
    phase: Phase,
}

enum ImportAction {
    Loaded(CsvFile),
    Unreadable(String),
    Column(&'static str, Option<usize>),
    Partial(bool),
    Importing,
    Refused(ApiError),
    Imported(CsvImportReport),
    Undoing,
    Undone(usize),
    UndoFailed(ApiError),
}

impl Reducible for Import {
    type Action = ImportAction;

    fn reduce(self: Rc<Self>, action: ImportAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            ImportAction::Loaded(file) => {
                next.columns = FIELDS.iter().map(|(f, _)| (*f, recognised_column(f, &file.headers))).collect();
                next.file = Some(file);
                next.phase = Phase::Choosing;
            }
            ImportAction::Unreadable(message) => {
                next.file = None;
                next.phase = Phase::Refused { message, problems: Vec::new() };
            }
            ImportAction::Column(field, column) => {
                next.columns.insert(field, column);
                next.phase = Phase::Choosing;
            }
            ImportAction::Partial(p) => next.partial = p,
            ImportAction::Importing => next.phase = Phase::Importing,
            ImportAction::Refused(e) => {
                let problems = problems_of(&e);
                next.phase = Phase::Refused { message: e.message, problems };
            }
            ImportAction::Imported(report) => next.phase = Phase::Imported(Rc::new(report)),
            ImportAction::Undoing => next.phase = Phase::Undoing,
            ImportAction::Undone(n) => {
                next.phase = Phase::Undone(n);
                // A new import of the same file is a new request.
                if let Some(f) = next.file.as_mut() {
                    f.idempotency_key = new_key();
                }
            }
            ImportAction::UndoFailed(e) => next.phase = Phase::Refused { message: format!("Undo stopped: {}", e.message), problems: problems_of(&e) },
        }
        Rc::new(next)
    }
}

/// Rows and columns from the API's paths (`rows[7].Zip`, `rows[7]`, `mapping`).
pub fn problems_of(e: &ApiError) -> Vec<Problem> {
    e.details
        .iter()
        .map(|d| {
            let (row, column) = match d.path.strip_prefix("rows[").and_then(|r| r.split_once(']')) {
                Some((n, rest)) => (n.parse().ok(), rest.strip_prefix('.').filter(|c| !c.is_empty()).map(str::to_owned)),
                None => (None, None),
            };
            Problem { row, column, message: d.message.clone() }
        })
        .collect()
}

fn new_key() -> String {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.random_uuid())
        .unwrap_or_else(|| format!("import-{}", js_sys::Math::random()))
}

/// Splits CSV text into records (quotes, doubled quotes, CR LF), enough for a
/// preview; the server reads the file again with a full CSV reader.
pub fn split_csv(text: &str, max_records: usize) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field).trim().to_owned()),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field).trim().to_owned());
                if record.iter().any(|f| !f.is_empty()) {
                    records.push(std::mem::take(&mut record));
                    if records.len() >= max_records {
                        return records;
                    }
                } else {
                    record.clear();
                }
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field.trim().to_owned());
        records.push(record);
    }
    records
}

/// Whether the chosen file is a workbook rather than CSV text.
pub fn is_xlsx(name: &str, mime: &str) -> bool {
    name.to_lowercase().ends_with(".xlsx") || mime == XLSX_MIME
}

const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn read_xlsx_file(file: web_sys::File, offset: UtcOffset, import: UseReducerHandle<Import>) {
    wasm_bindgen_futures::spawn_local(async move {
        let name = file.name();
        let bytes = match wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
            Ok(buffer) => Workbook(js_sys::Uint8Array::new(&buffer)),
            Err(_) => {
                import.dispatch(ImportAction::Unreadable(format!("{name} could not be read.")));
                return;
            }
        };
        match xlsx_sheet::read(&bytes, offset, PREVIEW_ROWS as u32).await {
            Ok(sheet) => {
                import.dispatch(ImportAction::Loaded(CsvFile {
                    name,
                    text: Rc::new(String::new()),
                    headers: sheet.headers,
                    preview: sheet.rows,
                    idempotency_key: new_key(),
                    workbook: Some(bytes),
                    bad_cells: sheet.bad_cells,
                }));
            }
            Err(e) => import.dispatch(ImportAction::Unreadable(format!("{name} could not be read: {e}. Save it as .xlsx or CSV (UTF-8)."))),
        }
    });
}

fn read_file(file: web_sys::File, offset: UtcOffset, import: UseReducerHandle<Import>) {
    let name = file.name();
    if file.size() > f64::from(api::MAX_CSV_BYTES) {
        import.dispatch(ImportAction::Unreadable(format!("{name} is larger than 5 MB; split it into several files.")));
        return;
    }
    if is_xlsx(&name, &file.type_()) {
        read_xlsx_file(file, offset, import);
        return;
    }
    wasm_bindgen_futures::spawn_local(async move {
        match wasm_bindgen_futures::JsFuture::from(file.text()).await.ok().and_then(|t| t.as_string()) {
            Some(text) => {
                let mut records = split_csv(&text, PREVIEW_ROWS + 1).into_iter();
                let Some(headers) = records.next() else {
                    import.dispatch(ImportAction::Unreadable(format!("{name} is empty: it needs a header row and one row per order.")));
                    return;
                };
                let preview = records.collect();
                import.dispatch(ImportAction::Loaded(CsvFile { name, text: Rc::new(text), headers, preview, idempotency_key: new_key(), workbook: None, bad_cells: Vec::new() }));
            }
            None => import.dispatch(ImportAction::Unreadable(format!("{name} could not be read as text; save it as CSV (UTF-8)."))),
        }
    });
}

#[derive(Properties, PartialEq)]
pub struct ImportOrdersProps {
    pub token: String,
    /// The day `HH:MM` times in the file belong to.
    pub date: Date,
    pub offset: UtcOffset,
    /// After an import or an undo: reload the day.
    pub on_changed: Callback<()>,
    pub on_close: Callback<()>,
}

#[function_component(ImportOrders)]
pub fn import_orders(props: &ImportOrdersProps) -> Html {
    let import = use_reducer(|| Import { file: None, columns: BTreeMap::new(), partial: false, phase: Phase::Choosing });
    let dragging = use_state(|| false);

    let on_file = {
        let (import, offset) = (import.clone(), props.offset);
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            if let Some(file) = input.files().and_then(|f| f.get(0)) {
                read_file(file, offset, import.clone());
            }
            // Choosing the same file again after fixing it must fire `change` again.
            input.set_value("");
        })
    };
    let on_drop = {
        let (import, dragging, offset) = (import.clone(), dragging.clone(), props.offset);
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            dragging.set(false);
            if let Some(file) = e.data_transfer().and_then(|d| d.files()).and_then(|f| f.get(0)) {
                read_file(file, offset, import.clone());
            }
        })
    };
    let on_drag_over = {
        let dragging = dragging.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            dragging.set(true);
        })
    };
    let on_drag_leave = {
        let dragging = dragging.clone();
        Callback::from(move |_: DragEvent| dragging.set(false))
    };
    let on_partial = {
        let import = import.clone();
        Callback::from(move |e: Event| import.dispatch(ImportAction::Partial(e.target_unchecked_into::<HtmlInputElement>().checked())))
    };
    let on_import = {
        let (import, token, date, offset, on_changed) = (import.clone(), props.token.clone(), props.date, props.offset, props.on_changed.clone());
        Callback::from(move |_: MouseEvent| {
            let Some(file) = import.file.clone() else { return };
            let mapping = import
                .columns
                .iter()
                .filter_map(|(field, column)| column.map(|c| ((*field).to_owned(), file.headers[c].clone())))
                .collect();
            let column = |field: &str| import.columns.get(field).copied().flatten();
            let (service_s, service_min) = (column("service_time_s"), column("service_time_min"));
            let partial = import.partial;
            import.dispatch(ImportAction::Importing);
            let (import, token, on_changed) = (import.clone(), token.clone(), on_changed.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let csv = match &file.workbook {
                    Some(bytes) => match xlsx_sheet::to_csv(bytes, offset, service_s, service_min).await {
                        Ok(csv) => csv,
                        Err(e) => {
                            import.dispatch(ImportAction::Refused(ApiError::new("unreadable_file", format!("{} could not be read: {e}.", file.name))));
                            return;
                        }
                    },
                    None => (*file.text).clone(),
                };
                let request = CsvImportRequest { csv, mapping, partial, country: None, date: Some(date), utc_offset: Some(offset_text(offset)) };
                match api::post_idempotent::<_, CsvImportReport>(&token, "/api/orders/import", &request, &file.idempotency_key).await {
                    Ok(report) => {
                        import.dispatch(ImportAction::Imported(report));
                        on_changed.emit(());
                    }
                    Err(e) => import.dispatch(ImportAction::Refused(e)),
                }
            });
        })
    };
    let on_undo = {
        let (import, token, on_changed) = (import.clone(), props.token.clone(), props.on_changed.clone());
        Callback::from(move |_: MouseEvent| {
            let Phase::Imported(report) = &import.phase else { return };
            let ids = report.created.clone();
            import.dispatch(ImportAction::Undoing);
            let (import, token, on_changed) = (import.clone(), token.clone(), on_changed.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match undo(&token, &ids).await {
                    Ok(n) => import.dispatch(ImportAction::Undone(n)),
                    Err(e) => import.dispatch(ImportAction::UndoFailed(e)),
                }
                on_changed.emit(());
            });
        })
    };
    let on_keydown = {
        let on_close = props.on_close.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                on_close.emit(());
            }
        })
    };
    let on_close = {
        let on_close = props.on_close.clone();
        Callback::from(move |_: MouseEvent| on_close.emit(()))
    };

    let missing: Vec<&str> = REQUIRED.iter().copied().filter(|f| import.columns.get(f).copied().flatten().is_none()).collect();
    let busy = matches!(import.phase, Phase::Importing | Phase::Undoing);
    html! {
        <section class="import-panel" data-testid="import-panel" aria-label="Import orders" onkeydown={on_keydown}>
            <div class="import-head">
                <h3>{"Import orders from CSV or Excel"}</h3>
                <button type="button" class="link-button" onclick={on_close} aria-label="Close the import panel">{"Close"}</button>
            </div>
            <label class={classes!("dropzone", dragging.then_some("dragging"))} ondrop={on_drop} ondragover={on_drag_over} ondragleave={on_drag_leave}>
                <span>{ import.file.as_ref().map_or_else(|| "Choose a CSV or XLSX file or drop it here".to_owned(), |f| format!("{} — choose another file", f.name)) }</span>
                <input type="file" accept={format!(".csv,text/csv,.xlsx,{XLSX_MIME}")} data-testid="import-file" onchange={on_file} disabled={busy} />
            </label>
            <p class="muted">{ format!("Times like 09:30 are read as {} in the organisation's time zone.", props.date) }</p>
            if let Some(file) = import.file.as_ref() {
                { preview(file) }
                { mapping(file, &import) }
                if !missing.is_empty() {
                    <p class="error" data-testid="import-missing">{ format!("Choose a column for: {}.", missing.join(", ")) }</p>
                }
                { bad_cells(&file.bad_cells) }
                <label class="checkbox">
                    <input type="checkbox" data-testid="import-partial" checked={import.partial} onchange={on_partial} />
                    {" Import the good rows and skip the bad ones (otherwise nothing is imported while any row is wrong)"}
                </label>
                <button type="button" class="primary" data-testid="import-submit" onclick={on_import} disabled={busy || !missing.is_empty() || !file.bad_cells.is_empty()}>
                    { if import.phase == Phase::Importing { "Importing…" } else { "Import" } }
                </button>
            }
            { outcome(&import.phase, on_undo) }
        </section>
    }
}

fn offset_text(offset: UtcOffset) -> String {
    let (h, m, _) = offset.as_hms();
    format!("{}{:02}:{:02}", if offset.is_negative() { '-' } else { '+' }, h.unsigned_abs(), m.unsigned_abs())
}

async fn undo(token: &str, ids: &[OrderId]) -> Result<usize, ApiError> {
    let mut undone = 0;
    for id in ids {
        // Freshly imported orders are at version 1; a changed one is refused
        // (409) rather than cancelled behind the dispatcher's back.
        let order: Order = api::get(token, &format!("/api/orders/{id}")).await?;
        api::post::<_, Order>(token, &format!("/api/orders/{id}/cancel"), &doorstep_domain::dispatch::CancelOrder { version: order.version }).await?;
        undone += 1;
    }
    Ok(undone)
}

fn preview(file: &CsvFile) -> Html {
    html! {
        <div class="table-scroll">
            <table class="preview" data-testid="import-preview">
                <caption>{ format!("First rows of {}", file.name) }</caption>
                <thead><tr>{ for file.headers.iter().map(|h| html! { <th scope="col">{ h }</th> }) }</tr></thead>
                <tbody>{ for file.preview.iter().map(|r| html! { <tr>{ for r.iter().map(|c| html! { <td>{ c }</td> }) }</tr> }) }</tbody>
            </table>
        </div>
    }
}

/// Excel error cells, before anything is sent: the file must be fixed first.
fn bad_cells(cells: &[BadCell]) -> Html {
    if cells.is_empty() {
        return html! {};
    }
    html! {
        <div class="error" role="alert" data-testid="import-bad-cells">
            <p>{ format!("{} cell(s) of this sheet cannot be imported; fix them in the file and choose it again:", cells.len()) }</p>
            <table>
                <thead><tr><th scope="col">{"Row"}</th><th scope="col">{"Column"}</th><th scope="col">{"Problem"}</th></tr></thead>
                <tbody>
                    { for cells.iter().map(|c| html! {
                        <tr data-row={c.row.to_string()}><td>{ c.row }</td><td>{ &c.column }</td><td>{ &c.message }</td></tr>
                    }) }
                </tbody>
            </table>
        </div>
    }
}

fn mapping(file: &CsvFile, import: &UseReducerHandle<Import>) -> Html {
    html! {
        <details class="mapping" open={FIELDS.iter().any(|(f, _)| REQUIRED.contains(f) && import.columns.get(f).copied().flatten().is_none())}>
            <summary>{ format!("Columns ({} of {} fields found)", import.columns.values().filter(|c| c.is_some()).count(), FIELDS.len()) }</summary>
            <table data-testid="import-mapping">
                <tbody>
                    { for FIELDS.iter().map(|(field, _)| {
                        let field: &'static str = field;
                        let chosen = import.columns.get(field).copied().flatten();
                        let onchange = {
                            let import = import.clone();
                            Callback::from(move |e: Event| {
                                let v = e.target_unchecked_into::<HtmlSelectElement>().value();
                                import.dispatch(ImportAction::Column(field, v.parse().ok()));
                            })
                        };
                        let id = format!("map-{}", field.replace('.', "-"));
                        html! {
                            <tr>
                                <th scope="row"><label for={id.clone()}>{ field }{ if REQUIRED.contains(&field) { " *" } else { "" } }</label></th>
                                <td>
                                    <select id={id} data-field={field} {onchange}>
                                        <option value="" selected={chosen.is_none()}>{"— not in this file —"}</option>
                                        { for file.headers.iter().enumerate().map(|(i, h)| html! { <option value={i.to_string()} selected={chosen == Some(i)}>{ h }</option> }) }
                                    </select>
                                </td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
        </details>
    }
}

fn outcome(phase: &Phase, on_undo: Callback<MouseEvent>) -> Html {
    match phase {
        Phase::Choosing | Phase::Importing => html! {},
        Phase::Refused { message, problems } => html! {
            <div class="error" role="alert" data-testid="import-errors">
                <p>{ if problems.is_empty() { message.clone() } else { format!("Nothing was imported. {} problem(s) to fix:", problems.len()) } }</p>
                if !problems.is_empty() {
                    <table>
                        <thead><tr><th scope="col">{"Row"}</th><th scope="col">{"Column"}</th><th scope="col">{"Problem"}</th></tr></thead>
                        <tbody>
                            { for problems.iter().map(|p| html! {
                                <tr data-row={p.row.map(|r| r.to_string())}>
                                    <td>{ p.row.map_or("–".into(), |r| r.to_string()) }</td>
                                    <td>{ p.column.clone().unwrap_or_else(|| "–".into()) }</td>
                                    <td>{ &p.message }</td>
                                </tr>
                            }) }
                        </tbody>
                    </table>
                }
            </div>
        },
        Phase::Imported(report) => html! {
            <div class="success" role="status" data-testid="import-done">
                <p>{ format!("Imported {} of {} orders.", report.created.len(), report.rows) }</p>
                if !report.errors.is_empty() {
                    <p>{ format!("Skipped {} row(s): {}", report.errors.len(), report.errors.iter().map(|e| format!("row {}{}: {}", e.row, e.column.as_ref().map_or(String::new(), |c| format!(" ({c})")), e.message)).collect::<Vec<_>>().join("; ")) }</p>
                }
                <button type="button" data-testid="import-undo" onclick={on_undo} disabled={report.created.is_empty()}>{"Undo this import"}</button>
            </div>
        },
        Phase::Undoing => html! { <p role="status">{"Cancelling the imported orders…"}</p> },
        Phase::Undone(n) => html! { <p class="success" role="status" data-testid="import-undone">{ format!("Import undone: {n} order(s) cancelled.") }</p> },
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn quoted_fields_keep_commas_quotes_and_newlines() {
        let rows = split_csv("ref,address\r\n1,\"12 Rue \"\"Haute\"\", Bât A\"\n\n2,\"line\nbreak\"\n", 10);
        assert_eq!(rows, vec![vec!["ref", "address"], vec!["1", "12 Rue \"Haute\", Bât A"], vec!["2", "line\nbreak"]]);
    }

    #[test]
    fn the_preview_stops_after_the_rows_it_shows() {
        let text = "a\n1\n2\n3\n4\n";
        assert_eq!(split_csv(text, 3).len(), 3);
    }

    #[test]
    fn row_and_column_come_from_the_error_paths() {
        let mut e = ApiError::new("validation_failed", "bad rows");
        e.details = vec![
            doorstep_domain::validation::FieldError { path: "rows[7].Zip".into(), code: "invalid_format".into(), message: "not a postcode".into() },
            doorstep_domain::validation::FieldError { path: "rows[9]".into(), code: "invalid_format".into(), message: "too many fields".into() },
            doorstep_domain::validation::FieldError { path: "mapping".into(), code: "required".into(), message: "no column".into() },
        ];
        let p = problems_of(&e);
        assert_eq!((p[0].row, p[0].column.as_deref()), (Some(7), Some("Zip")));
        assert_eq!((p[1].row, p[1].column.as_deref()), (Some(9), None));
        assert_eq!((p[2].row, p[2].column.as_deref()), (None, None));
    }
}
