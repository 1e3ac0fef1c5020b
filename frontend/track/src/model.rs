//! The page's state and its pure rules (what is final, what to show, how
//! errors map onto fields), kept free of browser calls so they are unit-tested natively.

use std::rc::Rc;

use doorstep_domain::api::ApiError;
use doorstep_domain::lifecycle::OrderState;
use doorstep_domain::tracking::TrackingView;
use yew::Reducible;

/// How often the page asks for fresh data while the delivery is under way.
pub const POLL_INTERVAL_MS: u32 = 15_000;

/// What the page knows about the link.
#[derive(Debug, Clone, PartialEq)]
pub enum Load {
    Loading,
    /// The link leads somewhere: the latest answer.
    Ready(Box<TrackingView>),
    /// Unknown, expired or malformed link: the server says nothing more, nor do we.
    Unknown,
    /// The first load failed for another reason (network, server error).
    Unreachable,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub load: Load,
    /// `Date.now()` of the last successful answer.
    pub updated_ms: Option<f64>,
    /// The last refresh failed; the page keeps showing the previous answer.
    pub refresh_failed: bool,
}

impl Default for Model {
    fn default() -> Self {
        Self { load: Load::Loading, updated_ms: None, refresh_failed: false }
    }
}

#[derive(Debug)]
pub enum Action {
    Loaded { view: Box<TrackingView>, at_ms: f64 },
    NotFound,
    Failed,
}

impl Reducible for Model {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::Loaded { view, at_ms } => {
                next.load = Load::Ready(view);
                next.updated_ms = Some(at_ms);
                next.refresh_failed = false;
            }
            // A link can expire while the page is open (7 days after delivery).
            Action::NotFound => {
                next.load = Load::Unknown;
                next.refresh_failed = false;
            }
            Action::Failed => match next.load {
                Load::Ready(_) => next.refresh_failed = true,
                _ => next.load = Load::Unreachable,
            },
        }
        Rc::new(next)
    }
}

impl Model {
    pub fn view(&self) -> Option<&TrackingView> {
        match &self.load {
            Load::Ready(view) => Some(view),
            _ => None,
        }
    }

    /// Polling stops once nothing more can change by itself.
    pub fn keeps_polling(&self) -> bool {
        match &self.load {
            Load::Ready(view) => !is_final(view.state),
            Load::Loading | Load::Unreachable => true,
            Load::Unknown => false,
        }
    }
}

/// Delivered, failed or cancelled: the driver will not move this order any more today.
pub fn is_final(state: OrderState) -> bool {
    matches!(state, OrderState::Delivered | OrderState::Failed | OrderState::Cancelled)
}

/// The live map only while the driver is on the way to this customer: the
/// server sends a position only then, and never after the end.
pub fn shows_map(view: &TrackingView) -> bool {
    view.driver_position.is_some() && !is_final(view.state)
}

/// The customer's words for each state.
pub fn state_label(state: OrderState) -> &'static str {
    match state {
        OrderState::Created => "Order received",
        OrderState::Planned => "Delivery scheduled",
        OrderState::Dispatched => "Ready for delivery",
        OrderState::OutForDelivery => "On its way",
        OrderState::Delivered => "Delivered",
        OrderState::Failed => "Delivery attempt failed",
        OrderState::Cancelled => "Cancelled",
    }
}

/// The steps still to come after `state`, for the greyed-out end of the timeline.
pub fn upcoming(state: OrderState) -> &'static [OrderState] {
    const PATH: [OrderState; 4] =
        [OrderState::Planned, OrderState::Dispatched, OrderState::OutForDelivery, OrderState::Delivered];
    match state {
        OrderState::Created => &PATH[1..],
        OrderState::Planned => &PATH[1..],
        OrderState::Dispatched => &PATH[2..],
        OrderState::OutForDelivery => &PATH[3..],
        OrderState::Delivered | OrderState::Failed | OrderState::Cancelled => &[],
    }
}

/// "Updated just now", "Updated 12 s ago", "Updated 3 min ago".
pub fn updated_ago(elapsed_ms: f64) -> String {
    let s = (elapsed_ms / 1000.0).max(0.0).floor() as u64;
    match s {
        0..=4 => "Updated just now".to_owned(),
        5..=119 => format!("Updated {s} s ago"),
        _ => format!("Updated {} min ago", s / 60),
    }
}

/// "1 stop before yours", "3 stops before yours", "You are next".
pub fn stops_before_text(n: u32) -> String {
    match n {
        0 => "You are the driver's next stop".to_owned(),
        1 => "1 stop before yours".to_owned(),
        n => format!("{n} stops before yours"),
    }
}

/// The message a server error gives `field` (the last segment of the
/// error's `field` or of a detail's path), if any.
pub fn field_error(error: &ApiError, field: &str) -> Option<String> {
    let last = |path: &str| path.rsplit('.').next().unwrap_or(path).to_owned();
    if let Some(detail) = error.details.iter().find(|d| last(&d.path) == field) {
        return Some(detail.message.clone());
    }
    error.field.as_deref().filter(|f| last(f) == field).map(|_| error.message.clone())
}

/// A server error that names none of `fields`: shown for the whole form.
pub fn form_error(error: &ApiError, fields: &[&str]) -> Option<String> {
    let named = fields.iter().any(|f| field_error(error, f).is_some());
    (!named).then(|| error.message.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use doorstep_domain::validation::FieldError;

    #[test]
    fn polling_stops_when_the_order_is_delivered_failed_or_cancelled() {
        for state in OrderState::ALL {
            let expected = !matches!(state, OrderState::Delivered | OrderState::Failed | OrderState::Cancelled);
            assert_eq!(!is_final(state), expected, "{state:?}");
        }
        let unknown = Model { load: Load::Unknown, ..Model::default() };
        assert!(!unknown.keeps_polling());
        assert!(Model::default().keeps_polling());
    }

    #[test]
    fn a_failed_refresh_keeps_the_last_answer() {
        let unreachable = Rc::new(Model::default()).reduce(Action::Failed);
        assert_eq!(unreachable.load, Load::Unreachable);
        let not_found = Rc::new(Model::default()).reduce(Action::NotFound);
        assert_eq!(not_found.load, Load::Unknown);
    }

    #[test]
    fn updated_ago_reads_naturally() {
        assert_eq!(updated_ago(1_200.0), "Updated just now");
        assert_eq!(updated_ago(12_900.0), "Updated 12 s ago");
        assert_eq!(updated_ago(185_000.0), "Updated 3 min ago");
        assert_eq!(updated_ago(-50.0), "Updated just now");
    }

    #[test]
    fn stops_before_is_singular_plural_or_next() {
        assert_eq!(stops_before_text(0), "You are the driver's next stop");
        assert_eq!(stops_before_text(1), "1 stop before yours");
        assert_eq!(stops_before_text(4), "4 stops before yours");
    }

    #[test]
    fn server_errors_land_on_the_field_they_name() {
        let mut error = ApiError::new("validation_failed", "at most 500 characters");
        error.field = Some("instructions".into());
        assert_eq!(field_error(&error, "instructions").as_deref(), Some("at most 500 characters"));
        assert_eq!(field_error(&error, "safe_place"), None);
        assert_eq!(form_error(&error, &["instructions", "safe_place"]), None);

        let mut nested = ApiError::new("validation_failed", "2 problems");
        nested.details = vec![FieldError { path: "note.safe_place".into(), code: "too_long".into(), message: "at most 200 characters".into() }];
        assert_eq!(field_error(&nested, "safe_place").as_deref(), Some("at most 200 characters"));

        let conflict = ApiError::new("too_late", "the order was delivered");
        assert_eq!(form_error(&conflict, &["instructions", "safe_place"]).as_deref(), Some("the order was delivered"));
    }

    #[test]
    fn the_timeline_shows_what_is_still_to_come() {
        assert_eq!(upcoming(OrderState::Dispatched), &[OrderState::OutForDelivery, OrderState::Delivered]);
        assert!(upcoming(OrderState::Delivered).is_empty());
        assert!(upcoming(OrderState::Failed).is_empty());
    }
}
