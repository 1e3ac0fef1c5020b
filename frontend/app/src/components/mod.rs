pub mod map_view;

pub use map_view::{MapMarker, MapView};
