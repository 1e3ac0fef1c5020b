//! Road travel times from an OSRM-compatible `table` service (the
//! organisation's `settings.osrm_table_url`), replacing the planner's
//! haversine × circuity ÷ speed estimate. The browser asks the service
//! directly (it must allow CORS); a failure leaves the estimate in place.
//! The planning page (dispatcher.rs) is to call [`road_travel`]; until then
//! nothing in the app does (see target/tmp/FLEET-to-INTEGRATOR.md).
#![allow(dead_code)]

use doorstep_optimizer::{LatLon, Travel};
use gloo_net::http::Request;
use serde::Deserialize;

/// What an OSRM `table` request answers (`annotations=duration,distance`).
#[derive(Debug, Deserialize)]
struct TableResponse {
    code: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    durations: Option<Vec<Vec<Option<f64>>>>,
    #[serde(default)]
    distances: Option<Vec<Vec<Option<f64>>>>,
}

/// The request URL for `points`: `{base}/{lon,lat;lon,lat...}?annotations=duration,distance`.
pub fn table_url(base: &str, points: &[LatLon]) -> String {
    let coords: Vec<String> = points.iter().map(|p| format!("{:.6},{:.6}", p.lon, p.lat)).collect();
    let sep = if base.ends_with('/') { "" } else { "/" };
    format!("{base}{sep}{}?annotations=duration,distance", coords.join(";"))
}

/// Road matrices for the points of a haversine `travel`. Pairs the service
/// cannot route (`null`) keep the estimate, so the problem stays solvable.
pub fn matrix_from_table(body: &str, estimate: &Travel) -> Result<Travel, String> {
    let table: TableResponse = serde_json::from_str(body).map_err(|e| format!("unreadable table answer: {e}"))?;
    if table.code != "Ok" {
        return Err(format!("the table service answered {}: {}", table.code, table.message.unwrap_or_default()));
    }
    let n = estimate.len();
    let (Some(durations), Some(distances)) = (table.durations, table.distances) else {
        return Err("the table service sent no durations or distances".into());
    };
    let square = |m: &Vec<Vec<Option<f64>>>| m.len() == n && m.iter().all(|row| row.len() == n);
    if !square(&durations) || !square(&distances) {
        return Err(format!("the table service sent a matrix of the wrong size (expected {n} × {n})"));
    }
    let fill = |m: &Vec<Vec<Option<f64>>>, f: &dyn Fn(usize, usize) -> f64| -> Vec<Vec<f64>> {
        (0..n).map(|a| (0..n).map(|b| m[a][b].filter(|v| v.is_finite() && *v >= 0.0).unwrap_or_else(|| f(a, b))).collect()).collect()
    };
    Ok(Travel::Matrix {
        durations: fill(&durations, &|a, b| estimate.duration(a, b)),
        distances: fill(&distances, &|a, b| estimate.distance(a, b)),
    })
}

/// Asks `base` for road durations and distances between the points of a
/// haversine `travel` and returns them as a matrix.
pub async fn road_travel(base: &str, travel: &Travel) -> Result<Travel, String> {
    let Travel::Haversine { points, .. } = travel else {
        return Err("road travel times need the planner's geographic points".into());
    };
    let response = Request::get(&table_url(base, points)).send().await.map_err(|e| format!("the table service could not be reached: {e}"))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| format!("the table service's answer could not be read: {e}"))?;
    if !(200..300).contains(&status) && !body.trim_start().starts_with('{') {
        return Err(format!("the table service answered HTTP {status}"));
    }
    matrix_from_table(&body, travel)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate() -> Travel {
        Travel::Haversine {
            points: vec![LatLon { lat: 45.75, lon: 4.85 }, LatLon { lat: 45.76, lon: 4.83 }],
            circuity: 1.3,
            speed_m_per_s: 25.0 / 3.6,
        }
    }

    #[test]
    fn table_url_lists_lon_lat_pairs() {
        let Travel::Haversine { points, .. } = estimate() else { unreachable!() };
        assert_eq!(
            table_url("https://osrm.example.com/table/v1/driving", &points),
            "https://osrm.example.com/table/v1/driving/4.850000,45.750000;4.830000,45.760000?annotations=duration,distance"
        );
    }

    #[test]
    fn unroutable_pairs_keep_the_estimate_and_errors_are_reported() {
        let body = r#"{"code":"Ok","durations":[[0,300.5],[null,0]],"distances":[[0,2100],[2300,0]]}"#;
        let Travel::Matrix { durations, distances } = matrix_from_table(body, &estimate()).unwrap() else { panic!("matrix") };
        assert_eq!(durations[0][1], 300.5);
        assert_eq!(durations[1][0], estimate().duration(1, 0));
        assert_eq!(distances[1][0], 2300.0);
        assert!(matrix_from_table(r#"{"code":"InvalidQuery","message":"bad"}"#, &estimate()).unwrap_err().contains("InvalidQuery"));
        assert!(matrix_from_table(r#"{"code":"Ok","durations":[[0]],"distances":[[0]]}"#, &estimate()).unwrap_err().contains("wrong size"));
    }
}
