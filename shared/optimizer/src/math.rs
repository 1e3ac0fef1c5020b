//! Portable elementary functions built from IEEE basic operations only, so that
//! results are bit-identical on every platform (native and wasm32). The
//! standard library's `ln`/`exp`/`sin` call the platform's libm, which may differ
//! in the last bit and would make seeded runs diverge across platforms.

const LN2: f64 = core::f64::consts::LN_2;
const PI: f64 = core::f64::consts::PI;

/// Natural logarithm; `x <= 0` gives negative infinity, NaN stays NaN.
pub fn ln(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_infinite() {
        return x;
    }
    let mut x = x;
    let mut e: i64 = 0;
    // Bring subnormals into the normal range first.
    if x < f64::MIN_POSITIVE {
        x *= 2f64.powi(54);
        e -= 54;
    }
    let bits = x.to_bits();
    e += ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > core::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    // ln(m) = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = 0.0;
    let mut k = 1.0;
    while k < 40.0 {
        sum += term / k;
        term *= s2;
        k += 2.0;
    }
    e as f64 * LN2 + 2.0 * sum
}

/// Exponential function.
pub fn exp(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 709.0 {
        return f64::INFINITY;
    }
    if x < -745.0 {
        return 0.0;
    }
    let k = (x / LN2).round();
    let r = x - k * LN2;
    // Taylor series, |r| <= 0.35.
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut i = 1.0;
    while i < 20.0 {
        term *= r / i;
        sum += term;
        i += 1.0;
    }
    let k = k as i32;
    // Scale by 2^k in two steps to stay within the exponent range.
    let half = k / 2;
    sum * pow2(half) * pow2(k - half)
}

fn pow2(k: i32) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// Sine.
pub fn sin(x: f64) -> f64 {
    let x = reduce(x);
    let x2 = x * x;
    let mut term = x;
    let mut sum = x;
    let mut n = 1.0;
    while n < 30.0 {
        term *= -x2 / ((n + 1.0) * (n + 2.0));
        sum += term;
        n += 2.0;
    }
    sum
}

/// Cosine.
pub fn cos(x: f64) -> f64 {
    sin(x + PI / 2.0)
}

// Reduce to [-pi, pi].
fn reduce(x: f64) -> f64 {
    let two_pi = 2.0 * PI;
    let k = (x / two_pi).round();
    x - k * two_pi
}

/// Arctangent.
pub fn atan(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x < 0.0 {
        return -atan(-x);
    }
    if x > 1.0 {
        return PI / 2.0 - atan(1.0 / x);
    }
    // tan(pi/12) = 2 - sqrt(3); shift larger arguments by pi/6.
    let t = 2.0 - 3f64.sqrt();
    if x > t {
        let s3 = 3f64.sqrt();
        return PI / 6.0 + atan((x * s3 - 1.0) / (s3 + x));
    }
    let x2 = x * x;
    let mut term = x;
    let mut sum = 0.0;
    let mut k = 1.0;
    let mut sign = 1.0;
    while k < 40.0 {
        sum += sign * term / k;
        term *= x2;
        sign = -sign;
        k += 2.0;
    }
    sum
}

/// Four-quadrant arctangent of `y / x`.
pub fn atan2(y: f64, x: f64) -> f64 {
    if x > 0.0 {
        atan(y / x)
    } else if x < 0.0 {
        if y >= 0.0 {
            atan(y / x) + PI
        } else {
            atan(y / x) - PI
        }
    } else if y > 0.0 {
        PI / 2.0
    } else if y < 0.0 {
        -PI / 2.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-13 * b.abs().max(1.0)
    }

    #[test]
    fn ln_matches_std_within_rounding() {
        for &x in &[
            1e-300, 1e-10, 0.001, 0.5, 0.999, 1.0, 1.5, 2.0, 10.0, 12345.678, 1e300,
        ] {
            assert!(close(ln(x), x.ln()), "ln({x}) = {} vs {}", ln(x), x.ln());
        }
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
    }

    #[test]
    fn exp_matches_std_within_rounding() {
        for &x in &[-700.0, -20.0, -1.0, -0.1, 0.0, 0.3, 1.0, 5.5, 50.0, 700.0] {
            assert!(
                close(exp(x), x.exp()),
                "exp({x}) = {} vs {}",
                exp(x),
                x.exp()
            );
        }
    }

    #[test]
    fn trig_matches_std_within_rounding() {
        for i in -40..40 {
            let x = i as f64 * 0.17;
            assert!((sin(x) - x.sin()).abs() < 1e-13, "sin({x})");
            assert!((cos(x) - x.cos()).abs() < 1e-13, "cos({x})");
            assert!((atan(x) - x.atan()).abs() < 1e-13, "atan({x})");
            assert!((atan2(x, 0.7) - x.atan2(0.7)).abs() < 1e-13);
            assert!((atan2(x, -0.7) - x.atan2(-0.7)).abs() < 1e-13);
        }
    }
}
