//! Multi-dimensional quantities: vehicle capacity and order demand.

use serde::{Deserialize, Serialize};

use crate::validation::{Path, Report, Validate, codes};

/// Number of dimensions in every [`Load`].
pub const LOAD_DIMENSIONS: usize = 3;

/// Units of each dimension, in order.
pub const LOAD_UNITS: [&str; LOAD_DIMENSIONS] = ["weight_kg", "volume_l", "items"];

/// A capacity or demand: `[weight_kg, volume_l, items]`. Wire: a JSON array
/// of exactly three non-negative numbers, e.g. `[12.5, 40, 2]`. Fixed
/// dimensions keep every order comparable with every vehicle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Load(pub Vec<f64>);

impl Default for Load {
    fn default() -> Self {
        Self::zero()
    }
}

impl Load {
    pub fn zero() -> Self {
        Self(vec![0.0; LOAD_DIMENSIONS])
    }

    pub fn new(weight_kg: f64, volume_l: f64, items: f64) -> Self {
        Self(vec![weight_kg, volume_l, items])
    }

    pub fn weight_kg(&self) -> f64 {
        self.0.first().copied().unwrap_or(0.0)
    }

    pub fn volume_l(&self) -> f64 {
        self.0.get(1).copied().unwrap_or(0.0)
    }

    pub fn items(&self) -> f64 {
        self.0.get(2).copied().unwrap_or(0.0)
    }

    /// Element-wise sum; missing dimensions count as zero.
    pub fn plus(&self, other: &Load) -> Load {
        let n = self.0.len().max(other.0.len());
        Load(
            (0..n)
                .map(|i| self.0.get(i).unwrap_or(&0.0) + other.0.get(i).unwrap_or(&0.0))
                .collect(),
        )
    }

    /// Whether `self` fits within `capacity` in every dimension.
    pub fn fits_in(&self, capacity: &Load) -> bool {
        self.0
            .iter()
            .enumerate()
            .all(|(i, q)| *q <= capacity.0.get(i).copied().unwrap_or(0.0))
    }
}

impl Validate for Load {
    fn validate_at(&self, path: &Path, report: &mut Report) {
        if self.0.len() != LOAD_DIMENSIONS {
            report.push(
                path,
                codes::DIMENSION_MISMATCH,
                format!(
                    "must have {LOAD_DIMENSIONS} values [{}]; got {}",
                    LOAD_UNITS.join(", "),
                    self.0.len()
                ),
            );
        }
        for (i, q) in self.0.iter().enumerate() {
            report.non_negative(&path.index(i), *q);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_arithmetic_and_fit() {
        let a = Load::new(10.0, 20.0, 1.0);
        let b = Load::new(5.0, 5.0, 2.0);
        assert_eq!(a.plus(&b), Load::new(15.0, 25.0, 3.0));
        assert!(a.fits_in(&Load::new(10.0, 20.0, 1.0)));
        assert!(!a.fits_in(&Load::new(9.9, 100.0, 100.0)));
        assert_eq!(a.weight_kg() + a.volume_l() + a.items(), 31.0);
    }

    #[test]
    fn load_reports_wrong_dimensions_and_negative_values() {
        let e = Load(vec![1.0, -2.0]).validate().unwrap_err();
        assert!(e.has("", codes::DIMENSION_MISMATCH));
        assert!(e.has("[1]", codes::NEGATIVE));
        assert_eq!(
            serde_json::to_string(&Load::new(1.5, 2.0, 3.0)).unwrap(),
            "[1.5,2.0,3.0]"
        );
    }
}
