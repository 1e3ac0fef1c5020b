use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::math;

/// A geographic point in degrees.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

fn default_circuity() -> f64 {
    1.3
}

/// How distances and travel durations between location indices are obtained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Travel {
    /// Explicit square matrices indexed `[from][to]`.
    Matrix {
        distances: Vec<Vec<f64>>,
        durations: Vec<Vec<f64>>,
    },
    /// Planar points; distance = duration = Euclidean distance in double precision
    /// (the Solomon benchmark convention).
    Euclidean { points: Vec<[f64; 2]> },
    /// Geographic points; distance (metres) = great-circle distance × `circuity`,
    /// duration (seconds) = distance ÷ `speed_m_per_s`.
    Haversine {
        points: Vec<LatLon>,
        #[serde(default = "default_circuity")]
        circuity: f64,
        speed_m_per_s: f64,
    },
}

const EARTH_RADIUS_M: f64 = 6_371_008.8;

impl Travel {
    /// Number of locations.
    pub fn len(&self) -> usize {
        match self {
            Travel::Matrix { distances, .. } => distances.len(),
            Travel::Euclidean { points } => points.len(),
            Travel::Haversine { points, .. } => points.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Distance from `a` to `b` (indices must be in bounds; see `Problem::validate`).
    pub fn distance(&self, a: usize, b: usize) -> f64 {
        match self {
            Travel::Matrix { distances, .. } => distances[a][b],
            Travel::Euclidean { points } => {
                let dx = points[a][0] - points[b][0];
                let dy = points[a][1] - points[b][1];
                (dx * dx + dy * dy).sqrt()
            }
            Travel::Haversine {
                points, circuity, ..
            } => haversine_m(points[a], points[b]) * circuity,
        }
    }

    /// Travel duration from `a` to `b` for a vehicle with speed factor 1.
    pub fn duration(&self, a: usize, b: usize) -> f64 {
        match self {
            Travel::Matrix { durations, .. } => durations[a][b],
            Travel::Euclidean { .. } => self.distance(a, b),
            Travel::Haversine { speed_m_per_s, .. } => self.distance(a, b) / speed_m_per_s,
        }
    }
}

impl Travel {
    /// The full distance matrix, row-major (`[a * len + b]`), equal bit for bit to
    /// [`Travel::distance`]. Haversine is computed once per unordered pair with the
    /// cosines of the latitudes computed once per point: the formula is exactly
    /// symmetric, and the point-by-point version dominates start-up at 5,000 stops.
    pub(crate) fn distance_matrix(&self) -> Vec<f64> {
        let n = self.len();
        let mut dist = vec![0.0; n * n];
        match self {
            Travel::Haversine {
                points, circuity, ..
            } => {
                let cos_lat: Vec<f64> = points.iter().map(|p| math::cos(p.lat * RAD)).collect();
                for a in 0..n {
                    for b in a + 1..n {
                        let d = haversine_with(points[a], points[b], cos_lat[a], cos_lat[b])
                            * circuity;
                        dist[a * n + b] = d;
                        dist[b * n + a] = d;
                    }
                    dist[a * n + a] = self.distance(a, a);
                }
            }
            _ => {
                for a in 0..n {
                    for b in 0..n {
                        dist[a * n + b] = self.distance(a, b);
                    }
                }
            }
        }
        dist
    }
}

const RAD: f64 = core::f64::consts::PI / 180.0;

/// Great-circle distance in metres, with portable trigonometry.
fn haversine_m(p: LatLon, q: LatLon) -> f64 {
    haversine_with(p, q, math::cos(p.lat * RAD), math::cos(q.lat * RAD))
}

fn haversine_with(p: LatLon, q: LatLon, cos_p: f64, cos_q: f64) -> f64 {
    let dlat = (q.lat - p.lat) * RAD;
    let dlon = (q.lon - p.lon) * RAD;
    let s1 = math::sin(dlat / 2.0);
    let s2 = math::sin(dlon / 2.0);
    let h = s1 * s1 + cos_p * cos_q * s2 * s2;
    let h = h.clamp(0.0, 1.0);
    2.0 * EARTH_RADIUS_M * math::atan2(h.sqrt(), (1.0 - h).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_paris_london_is_about_344_km() {
        let t = Travel::Haversine {
            points: vec![
                LatLon {
                    lat: 48.8566,
                    lon: 2.3522,
                },
                LatLon {
                    lat: 51.5074,
                    lon: -0.1278,
                },
            ],
            circuity: 1.0,
            speed_m_per_s: 10.0,
        };
        let d = t.distance(0, 1);
        assert!((d - 343_560.0).abs() < 1_000.0, "{d}");
        assert!((t.duration(0, 1) - d / 10.0).abs() < 1e-9);
    }

    #[test]
    fn distance_matrix_equals_pairwise_distances_bit_for_bit() {
        let mut rng = crate::rng::Rng::new(5);
        let points: Vec<LatLon> = (0..40)
            .map(|_| LatLon {
                lat: -60.0 + 120.0 * rng.next_f64(),
                lon: -180.0 + 360.0 * rng.next_f64(),
            })
            .collect();
        let travel = [
            Travel::Haversine {
                points: points.clone(),
                circuity: 1.3,
                speed_m_per_s: 7.0,
            },
            Travel::Euclidean {
                points: points.iter().map(|p| [p.lat, p.lon]).collect(),
            },
        ];
        for t in &travel {
            let m = t.distance_matrix();
            for a in 0..t.len() {
                for b in 0..t.len() {
                    assert_eq!(m[a * t.len() + b].to_bits(), t.distance(a, b).to_bits());
                }
            }
        }
    }

    #[test]
    fn euclidean_is_symmetric_and_unrounded() {
        let t = Travel::Euclidean {
            points: vec![[0.0, 0.0], [1.0, 1.0]],
        };
        assert_eq!(t.distance(0, 1), 2f64.sqrt());
        assert_eq!(t.duration(1, 0), 2f64.sqrt());
    }
}
