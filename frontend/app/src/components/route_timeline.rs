//! The plan as a timeline (Gantt): one row per route over the day's hours,
//! with each stop's time on site as a block, so a dispatcher sees at a glance
//! who is busy when, where the gaps are and which route ends late.

use doorstep_domain::dispatch::NewRoute;
use time::{OffsetDateTime, UtcOffset};
use yew::prelude::*;

/// One route's row.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineRow {
    pub label: String,
    pub color: String,
    pub route: NewRoute,
    /// Order ids whose stop breaks a rule (shown hatched).
    pub flagged: Vec<String>,
}

#[derive(Properties, PartialEq)]
pub struct RouteTimelineProps {
    pub rows: Vec<TimelineRow>,
    /// The org's offset, for local hour labels.
    pub offset: UtcOffset,
}

/// The whole hours the rows span, in local time: `[first, last)`.
pub fn hour_span(rows: &[TimelineRow], offset: UtcOffset) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let start = rows.iter().map(|r| r.route.planned_start).min()?.to_offset(offset);
    let end = rows.iter().map(|r| r.route.planned_end).max()?.to_offset(offset);
    let first = start.replace_minute(0).ok()?.replace_second(0).ok()?.replace_nanosecond(0).ok()?;
    let mut last = end.replace_minute(0).ok()?.replace_second(0).ok()?.replace_nanosecond(0).ok()?;
    if last < end || last == first {
        last += time::Duration::hours(1);
    }
    Some((first, last))
}

/// Where `[from, to)` sits on a span, as CSS percentages `(left, width)`.
pub fn place(span: (OffsetDateTime, OffsetDateTime), from: OffsetDateTime, to: OffsetDateTime) -> (f64, f64) {
    let total = (span.1 - span.0).as_seconds_f64().max(1.0);
    let left = ((from - span.0).as_seconds_f64() / total * 100.0).clamp(0.0, 100.0);
    let right = ((to - span.0).as_seconds_f64() / total * 100.0).clamp(left, 100.0);
    (left, right - left)
}

fn hhmm(t: OffsetDateTime, offset: UtcOffset) -> String {
    let t = t.to_offset(offset);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

#[function_component(RouteTimeline)]
pub fn route_timeline(props: &RouteTimelineProps) -> Html {
    let Some(span) = hour_span(&props.rows, props.offset) else { return html! {} };
    let hours = (span.1 - span.0).whole_hours();
    let offset = props.offset;
    html! {
        <section class="route-timeline" data-testid="route-timeline" aria-label="Timeline of the routes">
            <h3>{ "Timeline" }</h3>
            <div class="timeline-axis" aria-hidden="true">
                { for (0..=hours).map(|h| {
                    let at = span.0 + time::Duration::hours(h);
                    let (left, _) = place(span, at, at);
                    html! { <span class="timeline-tick" style={format!("left:{left:.2}%")}>{ hhmm(at, offset) }</span> }
                }) }
            </div>
            <ul class="timeline-rows">
                { for props.rows.iter().map(|row| {
                    let r = &row.route;
                    let (left, width) = place(span, r.planned_start, r.planned_end);
                    let summary = format!("{}: {} to {}, {} stops", row.label, hhmm(r.planned_start, offset), hhmm(r.planned_end, offset), r.stops.len());
                    html! {
                        <li class="timeline-row" data-testid="timeline-row" data-vehicle={r.vehicle_id.to_string()}>
                            <span class="timeline-label">{ &row.label }</span>
                            <div class="timeline-track" role="img" aria-label={summary.clone()} title={summary}>
                                <div class="timeline-shift" style={format!("left:{left:.2}%;width:{width:.2}%;border-color:{}", row.color)}></div>
                                { for r.stops.iter().enumerate().map(|(i, s)| {
                                    let (left, width) = place(span, s.planned_arrival, s.planned_departure);
                                    let late = row.flagged.iter().any(|o| o == s.order_id.as_str());
                                    let title = format!("{}. {} · {}–{}", i + 1, s.order_id, hhmm(s.planned_arrival, offset), hhmm(s.planned_departure, offset));
                                    html! {
                                        <div class={classes!("timeline-stop", late.then_some("timeline-stop-flagged"))} data-testid="timeline-stop"
                                            style={format!("left:{left:.2}%;width:max({width:.2}%,3px);background:{}", row.color)} {title}></div>
                                    }
                                }) }
                            </div>
                        </li>
                    }
                }) }
            </ul>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use doorstep_domain::VehicleId;
    use doorstep_domain::plan::RouteTotals;
    use time::macros::{datetime, offset};

    use super::*;

    fn row(start: OffsetDateTime, end: OffsetDateTime) -> TimelineRow {
        TimelineRow {
            label: "Van".into(),
            color: "#000".into(),
            route: NewRoute {
                vehicle_id: VehicleId::new("v1").expect("id"),
                driver_id: None,
                planned_start: start,
                planned_end: end,
                stops: Vec::new(),
                totals: RouteTotals::default(),
            },
            flagged: Vec::new(),
        }
    }

    #[test]
    fn the_span_covers_every_route_in_whole_local_hours() {
        let rows = [row(datetime!(2026-11-23 07:40 UTC), datetime!(2026-11-23 12:05 UTC)), row(datetime!(2026-11-23 08:00 UTC), datetime!(2026-11-23 15:00 UTC))];
        let (first, last) = hour_span(&rows, offset!(+1)).expect("span");
        assert_eq!((first.hour(), last.hour()), (8, 16));
    }

    #[test]
    fn a_block_is_placed_in_proportion_and_clamped_to_the_span() {
        let span = (datetime!(2026-11-23 08:00 UTC), datetime!(2026-11-23 12:00 UTC));
        assert_eq!(place(span, datetime!(2026-11-23 09:00 UTC), datetime!(2026-11-23 10:00 UTC)), (25.0, 25.0));
        assert_eq!(place(span, datetime!(2026-11-23 07:00 UTC), datetime!(2026-11-23 13:00 UTC)), (0.0, 100.0));
    }
}
