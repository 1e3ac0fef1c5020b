//! The Setup page's forms: a reducer holding what the form shows (text per
//! field, keyed by the API's field path, e.g. `shift.start`), what was last
//! saved, and the errors the API returned, so each error lands next to its
//! field and the form knows whether it has unsaved changes.

use std::collections::BTreeMap;
use std::rc::Rc;

use doorstep_domain::api::ApiError;
use doorstep_domain::validation::FieldError;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

/// Field path → the text the control holds.
pub type Draft = BTreeMap<String, String>;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Form {
    /// What the server holds (or the blank form): "saved" means draft == baseline.
    pub baseline: Draft,
    pub draft: Draft,
    pub errors: Vec<FieldError>,
    pub message: Option<String>,
    pub saving: bool,
    /// The last save succeeded (shown until the next edit).
    pub just_saved: bool,
}

pub enum FormAction {
    Load(Draft),
    Set(String, String),
    Saving,
    Failed(ApiError),
    Saved(Draft),
}

impl Reducible for Form {
    type Action = FormAction;

    fn reduce(self: Rc<Self>, action: FormAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            FormAction::Load(draft) => {
                // The record just saved coming back from the page keeps "Saved".
                let just_saved = self.just_saved && self.baseline == draft;
                next = Form { baseline: draft.clone(), draft, just_saved, ..Form::default() };
            }
            FormAction::Set(key, value) => {
                next.draft.insert(key, value);
                next.just_saved = false;
            }
            FormAction::Saving => {
                next.saving = true;
                next.message = None;
            }
            FormAction::Failed(error) => {
                next.saving = false;
                next.just_saved = false;
                next.errors = if error.details.is_empty() {
                    error.field.iter().map(|f| FieldError { path: f.clone(), code: error.code.clone(), message: error.message.clone() }).collect()
                } else {
                    error.details.clone()
                };
                next.message = Some(error.message);
            }
            FormAction::Saved(draft) => {
                next = Form { baseline: draft.clone(), draft, just_saved: true, ..Form::default() };
            }
        }
        Rc::new(next)
    }
}

impl Form {
    pub fn dirty(&self) -> bool {
        self.draft != self.baseline
    }

    pub fn get(&self, key: &str) -> String {
        self.draft.get(key).cloned().unwrap_or_default()
    }

    pub fn flag(&self, key: &str) -> bool {
        self.draft.get(key).is_some_and(|v| v == "true")
    }

    /// Errors at `key` or below it (`capacity` also shows `capacity[1]`'s).
    pub fn error_at(&self, key: &str) -> Option<String> {
        let below = |p: &str| p == key || p.strip_prefix(key).is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['));
        let found: Vec<&str> = self.errors.iter().filter(|e| below(&e.path)).map(|e| e.message.as_str()).collect();
        (!found.is_empty()).then(|| found.join("; "))
    }
}

/// Builds a request body from text, collecting every unreadable field.
#[derive(Default)]
pub struct Parse {
    pub errors: Vec<FieldError>,
}

impl Parse {
    fn fail(&mut self, key: &str, message: &str) {
        self.errors.push(FieldError { path: key.to_owned(), code: "invalid_format".into(), message: message.to_owned() });
    }

    pub fn number(&mut self, form: &Form, key: &str) -> f64 {
        match form.get(key).trim().replace(',', ".").parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ => {
                self.fail(key, "must be a number");
                0.0
            }
        }
    }

    pub fn time(&mut self, form: &Form, key: &str) -> doorstep_domain::time::TimeOfDay {
        match form.get(key).trim().parse() {
            Ok(t) => t,
            Err(_) => {
                self.fail(key, "must be a time such as 08:30");
                doorstep_domain::time::TimeOfDay::hm(0, 0)
            }
        }
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            return Ok(());
        }
        let message = format!("{} field(s) need a fix before saving", self.errors.len());
        Err(ApiError { code: "validation_failed".into(), message, field: None, details: self.errors })
    }
}

/// Text or empty → `None`.
pub fn optional(form: &Form, key: &str) -> Option<String> {
    Some(form.get(key).trim().to_owned()).filter(|s| !s.is_empty())
}

#[derive(Clone, PartialEq)]
pub enum Control {
    Text,
    Number,
    Time,
    Url,
    Email,
    Tel,
    Checkbox,
    TextArea,
    Select(Vec<(String, String)>),
}

fn dom_id(form_id: &str, key: &str) -> String {
    let clean: String = key.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    format!("{form_id}-{clean}")
}

/// One labelled control with its error underneath (linked for screen readers).
pub fn field(form: &UseReducerHandle<Form>, form_id: &str, key: &str, label: &str, control: Control, hint: Option<&str>) -> Html {
    let id = dom_id(form_id, key);
    let error = form.error_at(key);
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = match (&error, hint) {
        (Some(_), Some(_)) => Some(format!("{error_id} {hint_id}")),
        (Some(_), None) => Some(error_id.clone()),
        (None, Some(_)) => Some(hint_id.clone()),
        (None, None) => None,
    };
    let invalid = error.as_ref().map(|_| "true");
    let value = form.get(key);
    let set = {
        let (form, key) = (form.clone(), key.to_owned());
        move |v: String| form.dispatch(FormAction::Set(key.clone(), v))
    };
    let input = match control {
        Control::Checkbox => {
            let set = set.clone();
            let onchange = Callback::from(move |e: Event| {
                let input: HtmlInputElement = e.target_unchecked_into();
                set(input.checked().to_string());
            });
            return html! {
                <div class={classes!("field", "field-check", error.as_ref().map(|_| "field-invalid"))} data-field={key.to_owned()}>
                    <input type="checkbox" id={id.clone()} checked={form.flag(key)} {onchange} aria-invalid={invalid} aria-describedby={described} />
                    <label for={id}>{ label }</label>
                    if let Some(h) = hint { <small id={hint_id} class="muted">{ h }</small> }
                    if let Some(e) = &error { <small id={error_id} class="error field-error" role="alert">{ e.clone() }</small> }
                </div>
            };
        }
        Control::TextArea => {
            let oninput = Callback::from(move |e: InputEvent| {
                let input: HtmlTextAreaElement = e.target_unchecked_into();
                set(input.value());
            });
            html! { <textarea id={id.clone()} {value} {oninput} rows="3" aria-invalid={invalid} aria-describedby={described} /> }
        }
        Control::Select(options) => {
            let onchange = Callback::from(move |e: Event| {
                let select: HtmlSelectElement = e.target_unchecked_into();
                set(select.value());
            });
            html! {
                <select id={id.clone()} {onchange} aria-invalid={invalid} aria-describedby={described}>
                    { for options.iter().map(|(v, text)| html! { <option value={v.clone()} selected={*v == value}>{ text.clone() }</option> }) }
                </select>
            }
        }
        other => {
            let kind = match other {
                Control::Number => "text",
                Control::Time => "time",
                Control::Url => "url",
                Control::Email => "email",
                Control::Tel => "tel",
                _ => "text",
            };
            let inputmode = matches!(other, Control::Number).then_some("decimal");
            let oninput = Callback::from(move |e: InputEvent| {
                let input: HtmlInputElement = e.target_unchecked_into();
                set(input.value());
            });
            html! { <input type={kind} id={id.clone()} {value} {oninput} {inputmode} aria-invalid={invalid} aria-describedby={described} /> }
        }
    };
    html! {
        <div class={classes!("field", error.as_ref().map(|_| "field-invalid"))} data-field={key.to_owned()}>
            <label for={id}>{ label }</label>
            { input }
            if let Some(h) = hint { <small id={hint_id} class="muted">{ h }</small> }
            if let Some(e) = &error { <small id={error_id} class="error field-error" role="alert">{ e.clone() }</small> }
        </div>
    }
}

/// "Saved" / "Unsaved changes" / "Saving…" / "Not saved", announced politely.
pub fn save_state(form: &Form, testid: &str) -> Html {
    let (text, class) = if form.saving {
        ("Saving…", "save-state saving")
    } else if form.message.is_some() {
        ("Not saved", "save-state failed")
    } else if form.dirty() {
        ("Unsaved changes", "save-state dirty")
    } else if form.just_saved {
        ("Saved", "save-state saved")
    } else {
        ("No changes", "save-state clean")
    };
    html! { <span class={class} role="status" aria-live="polite" data-testid={testid.to_owned()}>{ text }</span> }
}

/// The API's message for the whole form, when a save was refused.
pub fn form_message(form: &Form) -> Html {
    match &form.message {
        Some(m) => html! { <p class="error form-error" role="alert">{ m.clone() }</p> },
        None => html! {},
    }
}
