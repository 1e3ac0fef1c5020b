//! The dispatcher's scenarios panel: save the plan as a named scenario, copy
//! it, switch vehicles (and their drivers) off and change constraints in it,
//! re-optimise, show one, and compare two side by side (KPIs and a diff).
//! The book itself is `crate::scenario_model`; the page runs the commands.

use std::rc::Rc;

use doorstep_domain::Order;
use doorstep_domain::planning::PlanDraft;
use doorstep_optimizer::{Evaluation, ViolationKind};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::scenario_model::{Better, Book, BookAction, Kpis, PlanSummary, RouteSummary, ScenarioSettings, compare_kpis, diff};
use crate::services::api::Business;

/// What the panel asks the page to do.
#[derive(Clone, Debug, PartialEq)]
pub enum ScenarioCommand {
    /// Save the plan shown as a new scenario with this name.
    SaveAs(String),
    Copy(u32),
    Select(u32),
    Delete(u32),
    /// Settings of a scenario (the one shown); they apply when it is re-optimised.
    Settings(u32, ScenarioSettings),
    /// Plan the scenario again with its settings.
    Reoptimise(u32),
    /// Changes to the book alone (rename, compare, dismiss an error).
    Book(BookAction),
}

/// A scenario's plan in comparable terms: its used routes (labelled with
/// vehicle and driver, late stops counted) and the orders left out.
pub fn summarize(draft: &PlanDraft, evaluation: &Evaluation, business: &Business) -> PlanSummary {
    let routes = draft
        .request
        .routes
        .iter()
        .filter(|r| !r.stops.is_empty())
        .map(|r| {
            let vehicle = business.vehicles.iter().find(|v| v.id == r.vehicle_id).map_or_else(|| r.vehicle_id.to_string(), |v| v.name.clone());
            let driver = r.driver_id.as_ref().and_then(|d| business.drivers.iter().find(|x| &x.id == d));
            let mut orders: Vec<String> = Vec::new();
            for s in &r.stops {
                let id = s.order_id.to_string();
                if !orders.contains(&id) {
                    orders.push(id);
                }
            }
            RouteSummary {
                vehicle_id: r.vehicle_id.to_string(),
                label: driver.map_or_else(|| vehicle.clone(), |d| format!("{vehicle} · {}", d.name)),
                orders,
                distance_m: r.totals.distance_m,
                duration_s: r.totals.duration_s,
                cost: r.totals.cost,
                late: evaluation.on_vehicle(r.vehicle_id.as_str()).filter(|v| v.kind == ViolationKind::TimeWindow).count(),
            }
        })
        .collect();
    PlanSummary { routes, unassigned: draft.unplanned.iter().map(|u| u.order_id.to_string()).collect() }
}

/// A vehicle that can be switched on or off in a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct VehicleChoice {
    pub id: String,
    /// "Vehicle · Driver".
    pub label: String,
}

#[derive(Properties, PartialEq)]
pub struct ScenarioPanelProps {
    pub book: Rc<Book>,
    /// The scenario whose plan is shown (and would be published).
    pub shown: Option<u32>,
    pub vehicles: Vec<VehicleChoice>,
    pub orders: Rc<Vec<Order>>,
    pub currency: String,
    /// A plan is shown and evaluated: it can be saved.
    pub can_save: bool,
    /// The optimizer is running or a plan is being published.
    pub busy: bool,
    pub on_command: Callback<ScenarioCommand>,
}

fn order_label(orders: &[Order], id: &str) -> String {
    orders
        .iter()
        .find(|o| o.id.as_str() == id)
        .map_or_else(|| id.to_owned(), |o| format!("{} · {}", o.external_ref.clone().unwrap_or_else(|| o.id.to_string()), o.recipient.name))
}

fn short_kpis(s: &PlanSummary) -> String {
    let k = Kpis::of(s);
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!("{} · {} · {} not planned · {:.1} km", plural(k.routes, "route", "routes"), plural(k.stops, "stop", "stops"), k.unassigned, k.distance_m / 1000.0)
}

#[function_component(ScenarioPanel)]
pub fn scenario_panel(props: &ScenarioPanelProps) -> Html {
    let name = use_state(String::new);
    let renaming = use_state(|| None::<(u32, String)>);
    let field_error = use_state(|| None::<String>);
    let book = &props.book;
    let emit = |c: ScenarioCommand| {
        let cb = props.on_command.clone();
        Callback::from(move |_: MouseEvent| cb.emit(c.clone()))
    };
    let suggested = book.suggested_name();

    let on_name = {
        let name = name.clone();
        Callback::from(move |e: InputEvent| name.set(e.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let save = {
        let (name, cb, suggested) = (name.clone(), props.on_command.clone(), suggested.clone());
        move || {
            let n = if name.trim().is_empty() { suggested.clone() } else { (*name).clone() };
            name.set(String::new());
            cb.emit(ScenarioCommand::SaveAs(n));
        }
    };
    let on_save_submit = {
        let save = save.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            save();
        })
    };

    let on_dismiss = {
        let (cb, field_error) = (props.on_command.clone(), field_error.clone());
        Callback::from(move |_: MouseEvent| {
            field_error.set(None);
            cb.emit(ScenarioCommand::Book(BookAction::DismissError));
        })
    };
    let shown = props.shown.and_then(|id| book.get(id));
    let error = (*field_error).clone().or_else(|| book.error.clone());

    html! {
        <details class="scenarios" data-testid="scenarios" data-shown={props.shown.map(|id| id.to_string())}>
            <summary id="scenarios-title" data-testid="scenarios-toggle">
                { format!("Scenarios ({})", book.scenarios.len()) }
                { shown.map_or_else(String::new, |s| format!(" · showing {}", s.name)) }
            </summary>
            <p>{"Save the plan as a scenario, copy it, change drivers or constraints, re-optimise, and compare two side by side."}</p>
            <p class="muted" data-testid="scenario-storage-note">
                {"Scenarios are kept in this browser (local storage) for this organisation and day: they survive a page reload. The scenario shown is the plan “Save & publish” sends. Each scenario keeps its own undo history until the page is reloaded."}
            </p>
            if let Some(e) = error {
                <p class="error" role="alert" data-testid="scenario-error">{ e }{" "}
                    <button type="button" class="link-button" onclick={on_dismiss}>{"Dismiss"}</button>
                </p>
            }
            <form class="scenario-save" onsubmit={on_save_submit} aria-label="Save the plan as a scenario">
                <label for="scenario-name">{"Scenario name"}</label>
                <input id="scenario-name" type="text" data-testid="scenario-name" value={(*name).clone()} placeholder={suggested.clone()}
                    maxlength="60" oninput={on_name} disabled={!props.can_save || props.busy} />
                <button type="submit" data-testid="scenario-save" disabled={!props.can_save || props.busy}>{"Save as scenario"}</button>
            </form>
            if book.scenarios.is_empty() {
                <p class="muted">{"No scenario yet: plan the day, then save the plan as “Scenario A”."}</p>
            } else {
                <ul class="scenario-list" data-testid="scenario-list" aria-label="Saved scenarios">
                    { for book.scenarios.iter().map(|s| {
                        let is_shown = props.shown == Some(s.id);
                        let editing = renaming.as_ref().filter(|(id, _)| *id == s.id).map(|(_, t)| t.clone());
                        let on_rename_start = {
                            let (renaming, id, n) = (renaming.clone(), s.id, s.name.clone());
                            Callback::from(move |_: MouseEvent| renaming.set(Some((id, n.clone()))))
                        };
                        let on_rename_input = {
                            let (renaming, id) = (renaming.clone(), s.id);
                            Callback::from(move |e: InputEvent| renaming.set(Some((id, e.target_unchecked_into::<HtmlInputElement>().value()))))
                        };
                        let on_rename_submit = {
                            let (renaming, cb, id) = (renaming.clone(), props.on_command.clone(), s.id);
                            Callback::from(move |e: SubmitEvent| {
                                e.prevent_default();
                                if let Some((_, text)) = (*renaming).clone() {
                                    cb.emit(ScenarioCommand::Book(BookAction::Rename { id, name: text }));
                                }
                                renaming.set(None);
                            })
                        };
                        let on_rename_cancel = {
                            let renaming = renaming.clone();
                            Callback::from(move |_: MouseEvent| renaming.set(None))
                        };
                        html! {
                            <li key={s.id} class={classes!("scenario", is_shown.then_some("scenario-shown"))} data-testid="scenario"
                                data-scenario={s.id.to_string()} data-name={s.name.clone()} data-shown={is_shown.to_string()} data-stale={s.stale().to_string()}>
                                if let Some(text) = editing {
                                    <form class="scenario-rename" onsubmit={on_rename_submit} aria-label={format!("Rename {}", s.name)}>
                                        <label for={format!("rename-{}", s.id)}>{"New name"}</label>
                                        <input id={format!("rename-{}", s.id)} type="text" data-testid="scenario-rename-input" value={text} maxlength="60" oninput={on_rename_input} />
                                        <button type="submit" data-testid="scenario-rename-save">{"Rename"}</button>
                                        <button type="button" onclick={on_rename_cancel}>{"Cancel"}</button>
                                    </form>
                                } else {
                                    <strong class="scenario-name">{ s.name.clone() }</strong>
                                    if is_shown { <span class="badge" data-testid="scenario-shown-badge">{"Shown · to publish"}</span> }
                                }
                                <span class="muted scenario-kpis" data-testid="scenario-kpis">{ s.summary.as_ref().map_or_else(|| "not planned yet".to_owned(), short_kpis) }</span>
                                <span class="muted scenario-settings-text">
                                    { s.settings.describe(|v| props.vehicles.iter().find(|c| c.id == v).map_or_else(|| v.to_owned(), |c| c.label.clone())) }
                                </span>
                                if s.stale() {
                                    <span class="badge badge-warning" data-testid="scenario-stale">{"Settings changed: re-optimise"}</span>
                                }
                                <span class="scenario-actions">
                                    <button type="button" data-testid="scenario-select" aria-pressed={is_shown.to_string()}
                                        aria-label={format!("{} {}", if is_shown { "Shown" } else { "Show" }, s.name)} onclick={emit(ScenarioCommand::Select(s.id))} disabled={props.busy || is_shown}>
                                        { if is_shown { "Shown" } else { "Show" } }
                                    </button>
                                    <button type="button" data-testid="scenario-copy" aria-label={format!("Copy {}", s.name)}
                                        onclick={emit(ScenarioCommand::Copy(s.id))} disabled={props.busy}>{"Copy"}</button>
                                    <button type="button" data-testid="scenario-rename" aria-label={format!("Rename {}", s.name)}
                                        onclick={on_rename_start}>{"Rename"}</button>
                                    <button type="button" class="danger" data-testid="scenario-delete" aria-label={format!("Delete {}", s.name)}
                                        onclick={emit(ScenarioCommand::Delete(s.id))} disabled={props.busy}>{"Delete"}</button>
                                </span>
                            </li>
                        }
                    }) }
                </ul>
            }
            if let Some(s) = shown {
                { settings_form(props, s.id, &s.name, &s.settings, s.stale(), &field_error) }
            }
            if book.scenarios.len() >= 2 {
                { comparison(props) }
            }
        </details>
    }
}

fn settings_form(props: &ScenarioPanelProps, id: u32, name: &str, settings: &ScenarioSettings, stale: bool, field_error: &UseStateHandle<Option<String>>) -> Html {
    let send = {
        let (cb, field_error) = (props.on_command.clone(), field_error.clone());
        move |s: ScenarioSettings| {
            field_error.set(None);
            cb.emit(ScenarioCommand::Settings(id, s));
        }
    };
    let on_service = {
        let (send, settings, field_error) = (send.clone(), settings.clone(), field_error.clone());
        Callback::from(move |e: Event| match ScenarioSettings::parse_service_minutes(&e.target_unchecked_into::<HtmlInputElement>().value()) {
            Ok(v) => send(ScenarioSettings { service_time_s: v, ..settings.clone() }),
            Err(err) => field_error.set(Some(err.to_string())),
        })
    };
    let on_shift = {
        let (send, settings, field_error) = (send.clone(), settings.clone(), field_error.clone());
        Callback::from(move |e: Event| match ScenarioSettings::parse_shift_end(&e.target_unchecked_into::<HtmlInputElement>().value()) {
            Ok(v) => send(ScenarioSettings { shift_end_min: v, ..settings.clone() }),
            Err(err) => field_error.set(Some(err.to_string())),
        })
    };
    let service = settings.service_time_s.map(|s| (s / 60).to_string()).unwrap_or_default();
    let shift = settings.shift_end_min.map(|m| format!("{:02}:{:02}", m / 60, m % 60)).unwrap_or_default();
    html! {
        <fieldset class="scenario-settings" data-testid="scenario-settings" disabled={props.busy}>
            <legend>{ format!("Settings of {name}") }</legend>
            <fieldset class="scenario-vehicles">
                <legend>{"Vehicles and drivers used"}</legend>
                { for props.vehicles.iter().map(|v| {
                    let on = !settings.off_vehicles.contains(&v.id);
                    let onchange = {
                        let (send, settings, vid) = (send.clone(), settings.clone(), v.id.clone());
                        Callback::from(move |e: Event| {
                            let checked = e.target_unchecked_into::<HtmlInputElement>().checked();
                            let mut s = settings.clone();
                            if checked { s.off_vehicles.remove(&vid); } else { s.off_vehicles.insert(vid.clone()); }
                            send(s);
                        })
                    };
                    let input_id = format!("scenario-vehicle-{}", v.id);
                    html! {
                        <div class="scenario-vehicle" key={v.id.clone()}>
                            <input type="checkbox" id={input_id.clone()} data-testid="scenario-vehicle" data-vehicle={v.id.clone()} checked={on} {onchange} />
                            <label for={input_id}>{ v.label.clone() }</label>
                        </div>
                    }
                }) }
            </fieldset>
            <label for="scenario-service">{"Service time per stop (minutes; empty: each order’s own)"}</label>
            <input id="scenario-service" type="number" min="0" max="240" step="1" inputmode="numeric" data-testid="scenario-service"
                value={service} onchange={on_service} />
            <label for="scenario-shift-end">{"Every shift ends by (empty: each vehicle’s own)"}</label>
            <input id="scenario-shift-end" type="time" data-testid="scenario-shift-end" value={shift} onchange={on_shift} />
            if stale {
                <p class="notice" role="status" data-testid="scenario-stale-note">{"The plan shown does not use these settings yet: re-optimise the scenario."}</p>
            }
            <button type="button" class="primary" data-testid="scenario-reoptimise" onclick={props.on_command.reform(move |_: MouseEvent| ScenarioCommand::Reoptimise(id))}>
                { format!("Re-optimise {name}") }
            </button>
        </fieldset>
    }
}

fn comparison(props: &ScenarioPanelProps) -> Html {
    let book = &props.book;
    let (left_id, right_id) = book.compare;
    let pick = |right: bool| {
        let (cb, other) = (props.on_command.clone(), if right { left_id } else { right_id });
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<HtmlSelectElement>().value().parse::<u32>().ok();
            cb.emit(ScenarioCommand::Book(if right { BookAction::Compare(other, v) } else { BookAction::Compare(v, other) }));
        })
    };
    let select = |id: &str, label: &str, current: Option<u32>, testid: &str, onchange: Callback<Event>| {
        html! {
            <span class="compare-pick">
                <label for={id.to_owned()}>{ label.to_owned() }</label>
                <select id={id.to_owned()} data-testid={testid.to_owned()} {onchange}>
                    <option value="" selected={current.is_none()}>{"Choose…"}</option>
                    { for book.scenarios.iter().map(|s| html! {
                        <option value={s.id.to_string()} selected={current == Some(s.id)}>{ s.name.clone() }</option>
                    }) }
                </select>
            </span>
        }
    };
    let left = left_id.and_then(|id| book.get(id));
    let right = right_id.and_then(|id| book.get(id));
    let body = match (left, right) {
        (Some(l), Some(r)) => match (l.summary.as_ref(), r.summary.as_ref()) {
            (Some(ls), Some(rs)) => {
                let rows = compare_kpis(ls, rs, &props.currency);
                let d = diff(ls, rs);
                let label = |o: &str| order_label(&props.orders, o);
                let cell = |side: Better, b: Better| match b {
                    Better::Same => None,
                    x if x == side => Some("kpi-better"),
                    _ => Some("kpi-worse"),
                };
                html! {
                    <>
                        <table class="compare-table" data-testid="compare-table">
                            <caption>{ format!("{} against {}", l.name, r.name) }</caption>
                            <thead>
                                <tr><th scope="col">{"KPI"}</th><th scope="col">{ l.name.clone() }</th><th scope="col">{ r.name.clone() }</th><th scope="col">{"Change"}</th></tr>
                            </thead>
                            <tbody>
                                { for rows.iter().map(|row| {
                                    let better = match row.better { Better::Left => "left", Better::Right => "right", Better::Same => "same" };
                                    let verdict = match row.better {
                                        Better::Same => "same".to_owned(),
                                        Better::Left => format!("{} better", l.name),
                                        Better::Right => format!("{} better", r.name),
                                    };
                                    html! {
                                        <tr key={row.key} data-kpi={row.key} data-better={better} class={classes!((row.better != Better::Same).then_some("kpi-differs"))}>
                                            <th scope="row">{ row.label }</th>
                                            <td data-side="left" class={classes!(cell(Better::Left, row.better))}>{ row.left.clone() }</td>
                                            <td data-side="right" class={classes!(cell(Better::Right, row.better))}>{ row.right.clone() }</td>
                                            <td data-change="">{ if row.change.is_empty() { "=".to_owned() } else { format!("{} ({verdict})", row.change) } }</td>
                                        </tr>
                                    }
                                }) }
                            </tbody>
                        </table>
                        <div class="scenario-diff" data-testid="scenario-diff">
                            if d.is_empty() {
                                <p data-testid="diff-none">{"Both scenarios plan every order on the same vehicle."}</p>
                            }
                            if !d.moved.is_empty() {
                                <h4>{ format!("Orders on another route ({})", d.moved.len()) }</h4>
                                <ul data-testid="diff-moved">
                                    { for d.moved.iter().map(|m| html! {
                                        <li key={m.order_id.clone()} data-order={m.order_id.clone()}>
                                            <strong>{ label(&m.order_id) }</strong>{ format!(": {} → {}", m.from, m.to) }
                                        </li>
                                    }) }
                                </ul>
                            }
                            if !d.only_left.is_empty() {
                                <h4>{ format!("Planned in {} only, not planned in {} ({})", l.name, r.name, d.only_left.len()) }</h4>
                                <ul data-testid="diff-only-left">
                                    { for d.only_left.iter().map(|(o, route)| html! {
                                        <li key={o.clone()} data-order={o.clone()}><strong>{ label(o) }</strong>{ format!(": {route} in {}", l.name) }</li>
                                    }) }
                                </ul>
                            }
                            if !d.only_right.is_empty() {
                                <h4>{ format!("Planned in {} only, not planned in {} ({})", r.name, l.name, d.only_right.len()) }</h4>
                                <ul data-testid="diff-only-right">
                                    { for d.only_right.iter().map(|(o, route)| html! {
                                        <li key={o.clone()} data-order={o.clone()}><strong>{ label(o) }</strong>{ format!(": {route} in {}", r.name) }</li>
                                    }) }
                                </ul>
                            }
                        </div>
                    </>
                }
            }
            _ => html! { <p class="muted">{"Plan both scenarios to compare them."}</p> },
        },
        _ => html! { <p class="muted">{"Choose two scenarios to compare."}</p> },
    };
    html! {
        <section class="scenario-compare" data-testid="scenario-compare" aria-labelledby="compare-title">
            <h4 id="compare-title">{"Compare two scenarios"}</h4>
            <div class="compare-picks">
                { select("compare-left", "Compare", left_id, "compare-left", pick(false)) }
                { select("compare-right", "with", right_id, "compare-right", pick(true)) }
            </div>
            { body }
        </section>
    }
}

impl Reducible for Book {
    type Action = BookAction;

    fn reduce(self: Rc<Self>, action: BookAction) -> Rc<Self> {
        let mut next = (*self).clone();
        // A refused action leaves the scenarios as they were and says why.
        let _ = next.apply(action);
        Rc::new(next)
    }
}
