//! The page's sections: status and ETA, timeline, live map, the customer's
//! note, the proof of delivery and the rating.

use doorstep_domain::api::ApiError;
use doorstep_domain::lifecycle::OrderState;
use doorstep_domain::pod::Signature;
use doorstep_domain::tracking::TrackingView;
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::browser::{self, Interval};
use crate::map::DriverMap;
use crate::model::{self, field_error, form_error};

/// The one message for an unknown, expired or malformed link: it says
/// nothing about whether the link ever existed.
pub fn unknown_link() -> Html {
    html! {
        <section class="card" data-testid="unknown-link">
            <h1>{"This tracking link is not available"}</h1>
            <p>{"It may have expired or been mistyped. If you are expecting a delivery, please contact the sender."}</p>
        </section>
    }
}

#[derive(Properties, Clone, Debug, PartialEq)]
pub struct TrackingProps {
    pub view: TrackingView,
    pub token: AttrValue,
    pub updated_ms: f64,
    pub refresh_failed: bool,
    /// A newer view, from a form's answer.
    pub on_view: Callback<TrackingView>,
    /// A form found the link dead (404): the page shows the neutral message.
    pub on_gone: Callback<()>,
}

#[function_component(Tracking)]
pub fn tracking(props: &TrackingProps) -> Html {
    let view = &props.view;
    let map = view.driver_position.filter(|_| model::shows_map(view)).map(|driver| {
        let label = match &view.driver_first_name {
            Some(name) => format!("{name}, your driver, on the map"),
            None => "Your driver on the map".to_owned(),
        };
        html! { <DriverMap {driver} destination={view.destination} label={AttrValue::from(label)} /> }
    });
    html! {
        <>
            <header class="masthead">
                <p class="sender" data-testid="sender">{format!("Delivery from {}", view.sender)}</p>
                <h1 data-testid="status">{model::state_label(view.state)}</h1>
                <Freshness updated_ms={props.updated_ms} failed={props.refresh_failed} polling={!model::is_final(view.state)} />
            </header>
            <Summary view={view.clone()} />
            {for map}
            <Timeline view={view.clone()} />
            if let Some(pod) = &view.pod {
                <Proof pod={pod.clone()} />
            }
            if view.can_leave_note {
                <NoteForm token={props.token.clone()} view={view.clone()} on_view={props.on_view.clone()} on_gone={props.on_gone.clone()} />
            } else if let Some(note) = &view.customer_note {
                <section class="card" aria-labelledby="note-title" data-testid="note-read-only">
                    <h2 id="note-title">{"Your delivery instructions"}</h2>
                    if let Some(text) = &note.instructions { <p>{text}</p> }
                    if let Some(place) = &note.safe_place { <p>{format!("Safe place: {place}")}</p> }
                </section>
            }
            if view.can_rate || view.rating.is_some() {
                <RatingForm token={props.token.clone()} view={view.clone()} on_view={props.on_view.clone()} on_gone={props.on_gone.clone()} />
            }
        </>
    }
}

#[derive(Properties, Clone, Debug, PartialEq)]
struct FreshnessProps {
    updated_ms: f64,
    failed: bool,
    polling: bool,
}

/// "Updated 12 s ago", ticking every second; a failed refresh says so and keeps the data.
#[function_component(Freshness)]
fn freshness(props: &FreshnessProps) -> Html {
    let now = use_state(js_sys::Date::now);
    {
        let now = now.clone();
        use_effect_with((), move |_| {
            let timer = Interval::new(1_000, move || now.set(js_sys::Date::now()));
            move || drop(timer)
        });
    }
    let text = model::updated_ago(*now - props.updated_ms);
    html! {
        <p class="freshness muted" data-testid="freshness">
            {text}
            if props.failed {
                <span class="warn" role="status">{" · couldn't refresh, trying again"}</span>
            } else if props.polling {
                <span class="sr-only">{" · this page refreshes by itself"}</span>
            }
        </p>
    }
}

#[derive(Properties, Clone, Debug, PartialEq)]
struct ViewProps {
    view: TrackingView,
}

/// The ETA window, the stops before this one and the driver's first name.
#[function_component(Summary)]
fn summary(props: &ViewProps) -> Html {
    let view = &props.view;
    let live = !model::is_final(view.state);
    let eta = view.eta.filter(|_| live).map(|w| {
        html! {
            <p class="eta" data-testid="eta" data-start={w.start.unix_timestamp().to_string()} data-end={w.end.unix_timestamp().to_string()}>
                <span class="eta-label">{"Expected between"}</span>
                <strong class="eta-window">{format!("{} and {}", browser::clock_time(w.start), browser::clock_time(w.end))}</strong>
            </p>
        }
    });
    let stops = view.stops_before.filter(|_| live && view.state == OrderState::OutForDelivery).map(|n| {
        html! { <p data-testid="stops-before">{model::stops_before_text(n)}</p> }
    });
    let driver = view.driver_first_name.as_ref().filter(|_| live).map(|name| {
        html! { <p data-testid="driver">{"Your driver: "}<strong data-testid="driver-name">{name}</strong></p> }
    });
    let failure = (view.state == OrderState::Failed).then(|| {
        let reason = view.failure_reason.clone().unwrap_or_else(|| "We could not complete the delivery.".to_owned());
        html! { <p class="warn" data-testid="failure">{format!("{reason} The sender will be in touch.")}</p> }
    });
    if eta.is_none() && stops.is_none() && driver.is_none() && failure.is_none() {
        return html! {};
    }
    html! {
        <section class="card summary" aria-label="Arrival">
            {for eta}
            {for stops}
            {for driver}
            {for failure}
        </section>
    }
}

#[function_component(Timeline)]
fn timeline(props: &ViewProps) -> Html {
    let view = &props.view;
    let last = view.timeline.len().saturating_sub(1);
    let done = view.timeline.iter().enumerate().map(|(i, step)| {
        let class = if i == last { "step current" } else { "step done" };
        html! {
            <li class={class} data-state={step.state.as_str()} aria-current={(i == last).then_some("step")}>
                <span class="dot" aria-hidden="true"></span>
                <span class="step-label">{model::state_label(step.state)}</span>
                if let Some(at) = step.at {
                    <time class="muted" datetime={at.unix_timestamp().to_string()}>{browser::day_time(at)}</time>
                }
            </li>
        }
    });
    let next = model::upcoming(view.state)
        .iter()
        .filter(|s| !view.timeline.iter().any(|t| t.state == **s))
        .map(|s| html! {
            <li class="step next" data-state={s.as_str()}>
                <span class="dot" aria-hidden="true"></span>
                <span class="step-label">{model::state_label(*s)}</span>
            </li>
        });
    html! {
        <section class="card" aria-labelledby="timeline-title">
            <h2 id="timeline-title">{"Progress"}</h2>
            <ol class="timeline" data-testid="timeline">{for done}{for next}</ol>
        </section>
    }
}

#[derive(Properties, Clone, Debug, PartialEq)]
struct ProofProps {
    pod: doorstep_domain::pod::PublicPod,
}

fn signature_svg(signature: &Signature) -> Html {
    // Points are in [0, 1] on both axes of the driver's pad (about 5:2).
    let (w, h) = (300.0_f32, 120.0_f32);
    let paths = signature.strokes.iter().filter(|s| !s.is_empty()).map(|stroke| {
        let mut d = String::new();
        for (i, [x, y]) in stroke.iter().enumerate() {
            d.push_str(if i == 0 { "M" } else { " L" });
            // Whole pixels: no float formatting code in the bundle.
            d.push_str(&format!("{} {}", (x * w).round() as i32, (y * h).round() as i32));
        }
        if stroke.len() == 1 {
            d.push_str(" l0.1 0");
        }
        html! { <path d={d} /> }
    });
    html! {
        <svg class="signature" viewBox="0 0 300 120" role="img" aria-label="Signature of the recipient" data-testid="signature">
            {for paths}
        </svg>
    }
}

#[function_component(Proof)]
fn proof(props: &ProofProps) -> Html {
    let pod = &props.pod;
    html! {
        <section class="card" aria-labelledby="pod-title" data-testid="pod">
            <h2 id="pod-title">{"Proof of delivery"}</h2>
            <p>{format!("Delivered {}", browser::day_time(pod.delivered_at))}
                if let Some(name) = &pod.recipient_name { {format!(", received by {name}")} }
            </p>
            if !pod.photo_urls.is_empty() {
                <div class="photos">
                    {for pod.photo_urls.iter().enumerate().map(|(i, url)| html! {
                        <img src={url.clone()} alt={format!("Delivery photo {}", i + 1)} data-testid="pod-photo" decoding="async" />
                    })}
                </div>
            }
            if let Some(signature) = &pod.signature {
                {signature_svg(signature)}
            } else if let Some(url) = &pod.signature_image_url {
                <img class="signature" src={url.clone()} alt="Signature of the recipient" data-testid="signature" />
            }
        </section>
    }
}

#[derive(Properties, Clone, Debug, PartialEq)]
struct FormProps {
    token: AttrValue,
    view: TrackingView,
    on_view: Callback<TrackingView>,
    on_gone: Callback<()>,
}

#[derive(Clone, Debug, PartialEq, Default)]
enum Sending {
    #[default]
    Idle,
    Busy,
    Saved,
    Refused(ApiError),
}

fn text_input(state: &UseStateHandle<String>) -> Callback<InputEvent> {
    let state = state.clone();
    Callback::from(move |e: InputEvent| {
        let value = e.target_dyn_into::<HtmlTextAreaElement>().map(|t| t.value())
            .or_else(|| e.target_dyn_into::<HtmlInputElement>().map(|i| i.value()))
            .unwrap_or_default();
        state.set(value);
    })
}

/// "123 / 500 characters", in the error colour once over the limit.
fn counter(text: &str, max: usize) -> Html {
    let n = text.chars().count();
    html! { <p class={classes!("hint", if n > max { "over" } else { "muted" })}>{format!("{n} / {max} characters")}</p> }
}

fn error_line(id: &str, message: Option<String>) -> Html {
    match message {
        Some(m) => html! { <p class="field-error" id={id.to_owned()} role="alert">{m}</p> },
        None => html! {},
    }
}

#[function_component(NoteForm)]
fn note_form(props: &FormProps) -> Html {
    let existing = props.view.customer_note.clone();
    let instructions = use_state(|| existing.as_ref().and_then(|n| n.instructions.clone()).unwrap_or_default());
    let safe_place = use_state(|| existing.as_ref().and_then(|n| n.safe_place.clone()).unwrap_or_default());
    let sending = use_state(Sending::default);

    let onsubmit = {
        let (instructions, safe_place, sending) = (instructions.clone(), safe_place.clone(), sending.clone());
        let (token, on_view, on_gone) = (props.token.clone(), props.on_view.clone(), props.on_gone.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if *sending == Sending::Busy {
                return;
            }
            sending.set(Sending::Busy);
            let (i, s, sending, token, on_view, on_gone) =
                ((*instructions).clone(), (*safe_place).clone(), sending.clone(), token.clone(), on_view.clone(), on_gone.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match crate::api::leave_note(&token, &i, &s).await {
                    Ok(view) => {
                        sending.set(Sending::Saved);
                        on_view.emit(view);
                    }
                    Err(crate::api::Failure::NotFound) => on_gone.emit(()),
                    Err(e) => sending.set(Sending::Refused(e.into_api_error())),
                }
            });
        })
    };
    let error = match &*sending {
        Sending::Refused(e) => Some(e),
        _ => None,
    };
    let instructions_error = error.and_then(|e| field_error(e, "instructions"));
    let safe_place_error = error.and_then(|e| field_error(e, "safe_place"));
    let general = error.and_then(|e| form_error(e, &["instructions", "safe_place"]));
    let described = |id: &str, has: bool| has.then(|| AttrValue::from(id.to_owned()));
    html! {
        <form class="card" aria-labelledby="note-title" onsubmit={onsubmit} data-testid="note-form" novalidate=true>
            <h2 id="note-title">{"Delivery instructions"}</h2>
            <label for="instructions">{"Instructions for the driver"}</label>
            <textarea id="instructions" name="instructions" rows="3" value={(*instructions).clone()}
                oninput={text_input(&instructions)} aria-invalid={instructions_error.is_some().then_some("true")}
                aria-describedby={described("instructions-error", instructions_error.is_some())}
                placeholder="e.g. Ring twice, 3rd floor on the left" />
            {counter(&instructions, 500)}
            {error_line("instructions-error", instructions_error)}
            <label for="safe_place">{"Safe place if you are out"}</label>
            <input id="safe_place" name="safe_place" type="text" value={(*safe_place).clone()}
                oninput={text_input(&safe_place)} aria-invalid={safe_place_error.is_some().then_some("true")}
                aria-describedby={described("safe_place-error", safe_place_error.is_some())}
                placeholder="e.g. Behind the blue gate" />
            {counter(&safe_place, 200)}
            {error_line("safe_place-error", safe_place_error)}
            {error_line("note-error", general)}
            <button type="submit" disabled={*sending == Sending::Busy}>{"Save instructions"}</button>
            if *sending == Sending::Saved {
                <p class="ok" role="status" data-testid="note-saved">{"Saved. Your driver will see it."}</p>
            }
        </form>
    }
}

#[function_component(RatingForm)]
fn rating_form(props: &FormProps) -> Html {
    let existing = props.view.rating.clone();
    let stars = use_state(|| existing.as_ref().map(|r| r.stars));
    let comment = use_state(|| existing.as_ref().and_then(|r| r.comment.clone()).unwrap_or_default());
    let sending = use_state(Sending::default);

    let onsubmit = {
        let (stars, comment, sending) = (stars.clone(), comment.clone(), sending.clone());
        let (token, on_view, on_gone) = (props.token.clone(), props.on_view.clone(), props.on_gone.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if *sending == Sending::Busy {
                return;
            }
            let Some(n) = *stars else {
                let mut error = ApiError::new("required", "choose from 1 to 5 stars");
                error.field = Some("stars".into());
                sending.set(Sending::Refused(error));
                return;
            };
            sending.set(Sending::Busy);
            let (c, sending, token, on_view, on_gone) = ((*comment).clone(), sending.clone(), token.clone(), on_view.clone(), on_gone.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match crate::api::rate(&token, n, &c).await {
                    Ok(view) => {
                        sending.set(Sending::Saved);
                        on_view.emit(view);
                    }
                    Err(crate::api::Failure::NotFound) => on_gone.emit(()),
                    Err(e) => sending.set(Sending::Refused(e.into_api_error())),
                }
            });
        })
    };
    let error = match &*sending {
        Sending::Refused(e) => Some(e),
        _ => None,
    };
    let stars_error = error.and_then(|e| field_error(e, "stars"));
    let comment_error = error.and_then(|e| field_error(e, "comment"));
    let general = error.and_then(|e| form_error(e, &["stars", "comment"]));
    let radios = (1..=5u8).map(|n| {
        let stars_set = stars.clone();
        let label = if n == 1 { "1 star".to_owned() } else { format!("{n} stars") };
        let id = format!("stars-{n}");
        let lit = stars.is_some_and(|s| n <= s);
        html! {
            <>
                <input type="radio" class="star-input" name="stars" id={id.clone()} value={n.to_string()}
                    checked={*stars == Some(n)} onchange={Callback::from(move |_| stars_set.set(Some(n)))} />
                <label for={id} class={classes!("star", lit.then_some("lit"))} title={label.clone()}>
                    <span aria-hidden="true">{"★"}</span><span class="sr-only">{label}</span>
                </label>
            </>
        }
    });
    html! {
        <form class="card" aria-labelledby="rating-title" onsubmit={onsubmit} data-testid="rating-form" novalidate=true>
            <h2 id="rating-title">{"How was your delivery?"}</h2>
            if let Some(r) = &existing {
                <p data-testid="rating-given">{format!("You rated it {} out of 5. Thank you!", r.stars)}</p>
            }
            if props.view.can_rate {
                <fieldset class="stars" role="radiogroup" aria-describedby={stars_error.is_some().then_some("stars-error")}>
                    <legend>{"Your rating, from 1 to 5 stars"}</legend>
                    {for radios}
                </fieldset>
                {error_line("stars-error", stars_error)}
                <label for="comment">{"Comment (optional)"}</label>
                <textarea id="comment" name="comment" rows="3" value={(*comment).clone()} oninput={text_input(&comment)}
                    aria-invalid={comment_error.is_some().then_some("true")}
                    aria-describedby={comment_error.is_some().then_some("comment-error")} />
                {error_line("comment-error", comment_error)}
                {error_line("rating-error", general)}
                <button type="submit" disabled={*sending == Sending::Busy}>
                    {if existing.is_some() { "Update my rating" } else { "Send my rating" }}
                </button>
                if *sending == Sending::Saved {
                    <p class="ok" role="status" data-testid="rating-saved">{"Thanks for your feedback."}</p>
                }
            }
        </form>
    }
}
