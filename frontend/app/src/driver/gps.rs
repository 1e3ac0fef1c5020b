//! When a position fix becomes a ping, and when it means "arrived". Pure, so
//! the adaptive interval and the geofence are unit-tested.

use doorstep_domain::LatLon;

/// One fix from `watchPosition`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fix {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    pub speed_mps: Option<f64>,
    pub heading_deg: Option<f64>,
    /// Device clock, ms since the epoch.
    pub at_ms: f64,
}

impl Fix {
    pub fn location(&self) -> LatLon {
        LatLon::new(self.lat, self.lon)
    }
}

/// Never more often than this, however fast the vehicle moves.
pub const MIN_INTERVAL_MS: f64 = 5_000.0;
/// At least this often while the route is active, even standing still.
pub const MAX_INTERVAL_MS: f64 = 60_000.0;
/// Moving this far (after the minimum interval) records a ping.
pub const MIN_DISTANCE_M: f64 = 30.0;
/// Fixes less accurate than this are noise for tracking.
pub const MAX_ACCURACY_M: f64 = 200.0;

/// Whether `fix` should be recorded given the last recorded one: distance-
/// driven while moving, time-driven while parked.
pub fn should_record(last: Option<&Fix>, fix: &Fix) -> bool {
    if fix.accuracy_m.is_some_and(|a| a > MAX_ACCURACY_M) {
        return false;
    }
    let Some(last) = last else { return true };
    let elapsed = fix.at_ms - last.at_ms;
    if elapsed < MIN_INTERVAL_MS {
        return false;
    }
    elapsed >= MAX_INTERVAL_MS || last.location().distance_m(fix.location()) >= MIN_DISTANCE_M
}

/// Whether the fix puts the driver within `radius_m` of the stop. A fix less
/// accurate than the radius proves nothing.
pub fn inside_geofence(fix: &Fix, stop: LatLon, radius_m: f64) -> bool {
    fix.accuracy_m.unwrap_or(0.0) <= radius_m && fix.location().distance_m(stop) <= radius_m
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn fix(lat: f64, at_s: f64) -> Fix {
        Fix { lat, lon: 4.83, accuracy_m: Some(10.0), speed_mps: None, heading_deg: None, at_ms: at_s * 1000.0 }
    }

    #[test]
    fn the_first_fix_is_always_recorded() {
        assert!(should_record(None, &fix(45.76, 0.0)));
    }

    #[test]
    fn moving_records_by_distance_but_not_faster_than_the_minimum_interval() {
        let last = fix(45.76, 0.0);
        // ~110 m north, but only 2 s later.
        assert!(!should_record(Some(&last), &fix(45.761, 2.0)));
        assert!(should_record(Some(&last), &fix(45.761, 6.0)));
        // ~11 m: not far enough before the maximum interval.
        assert!(!should_record(Some(&last), &fix(45.7601, 30.0)));
    }

    #[test]
    fn standing_still_records_once_a_minute() {
        let last = fix(45.76, 0.0);
        assert!(!should_record(Some(&last), &fix(45.76, 59.0)));
        assert!(should_record(Some(&last), &fix(45.76, 60.0)));
    }

    #[test]
    fn inaccurate_fixes_are_ignored_and_prove_no_arrival() {
        let mut noisy = fix(45.76, 100.0);
        noisy.accuracy_m = Some(500.0);
        assert!(!should_record(None, &noisy));
        let stop = LatLon::new(45.7603, 4.83);
        assert!(!inside_geofence(&noisy, stop, 75.0));
        assert!(inside_geofence(&fix(45.76, 0.0), stop, 75.0)); // ~33 m away
        assert!(!inside_geofence(&fix(45.76, 0.0), stop, 20.0));
    }
}
