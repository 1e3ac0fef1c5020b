pub mod chart;
pub mod map_view;
pub mod orders_table;
pub mod progress_chart;

pub use map_view::{MapDot, MapMarker, MapRoute, MapStop, MapView};
pub use orders_table::OrdersTable;
pub use progress_chart::ProgressChart;
pub mod signature_pad;
pub use signature_pad::SignaturePad;
pub use chart::{Chart, ChartKind, Series};
pub mod import_orders;
pub use import_orders::ImportOrders;
pub mod plan_export;
pub mod setup_form;
pub mod xlsx_sheet;
pub mod order_form;
pub mod route_timeline;
pub use route_timeline::{RouteTimeline, TimelineRow};
