//! Welch's 95% interval for the difference of two means with unequal variances,
//! from each group's count, sum and sum of squares (what SQL aggregates give), and
//! the Student t quantile it needs.
//!
//! The quantile is the exact t quantile at the Welch–Satterthwaite degrees of
//! freedom (not 1.96): found by bisection on the t distribution function, which is
//! computed from the regularised incomplete beta function. At the sizes of a real
//! lottery (thousands of entrants) it is 1.96 to three decimals anyway; at the small
//! sizes of a pilot it is wider, as it must be.

/// One group's aggregates: count, sum and sum of squares of the values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    pub n: i64,
    pub sum: f64,
    pub sum_of_squares: f64,
}

impl Moments {
    fn mean(&self) -> f64 {
        self.sum / self.n as f64
    }

    /// The sample variance (n − 1 in the denominator); never negative, even when
    /// rounding in `sum_of_squares − sum²/n` would make it so.
    fn variance(&self) -> f64 {
        let n = self.n as f64;
        ((self.sum_of_squares - self.sum * self.sum / n) / (n - 1.0)).max(0.0)
    }
}

/// The standard error of the difference of the two means and the Welch–Satterthwaite
/// degrees of freedom; `None` unless both groups have at least 2 members. The degrees
/// of freedom are `None` when both variances are 0 (every value equal in each group).
pub fn standard_error(a: Moments, b: Moments) -> Option<(f64, Option<f64>)> {
    if a.n < 2 || b.n < 2 {
        return None;
    }
    let (va, vb) = (a.variance() / a.n as f64, b.variance() / b.n as f64);
    let se = (va + vb).sqrt();
    let df = (va + vb) * (va + vb) / (va * va / (a.n - 1) as f64 + vb * vb / (b.n - 1) as f64);
    Some((se, df.is_finite().then_some(df)))
}

/// The half-width of Welch's 95% interval of `mean(a) − mean(b)`: t(0.975, df) × se;
/// 0 when both groups are constant. `None` unless both groups have 2 members.
pub fn half_width_95(a: Moments, b: Moments) -> Option<f64> {
    let (se, df) = standard_error(a, b)?;
    Some(match df {
        Some(df) => t_quantile(0.975, df) * se,
        None => 0.0,
    })
}

/// `mean(a) − mean(b)` (for tests and callers that want the unrounded value).
pub fn mean_difference(a: Moments, b: Moments) -> f64 {
    a.mean() - b.mean()
}

/// The `p` quantile (0.5 ≤ p < 1) of Student's t with `df` > 0 degrees of freedom.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if p <= 0.5 {
        return 0.0;
    }
    let mut high = 1.0;
    while t_cdf(high, df) < p && high < 1e12 {
        high *= 2.0;
    }
    let mut low = 0.0;
    // 200 halvings take any bracket below f64 resolution; the loop ends earlier
    // once the two ends meet.
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        if mid <= low || mid >= high {
            break;
        }
        if t_cdf(mid, df) < p {
            low = mid;
        } else {
            high = mid;
        }
    }
    0.5 * (low + high)
}

/// P(T ≤ t) for Student's t with `df` degrees of freedom:
/// 1 − ½·I_{df/(df+t²)}(df/2, ½) for t ≥ 0, by symmetry below.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    let x = df / (df + t * t);
    let tail = 0.5 * incomplete_beta(0.5 * df, 0.5, x);
    if t >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// The regularised incomplete beta function I_x(a, b), by its continued fraction
/// (modified Lentz), on the side of x where the fraction converges fast.
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPSILON: f64 = 1e-15;
    let nonzero = |v: f64| if v.abs() < TINY { TINY } else { v };
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / nonzero(1.0 - qab * x / qap);
    let mut h = d;
    // It takes about √max(a, b) steps: some 300 at 200,000 degrees of freedom.
    for m in 1..100_000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let even = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / nonzero(1.0 + even * d);
        c = nonzero(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / nonzero(1.0 + odd * d);
        c = nonzero(1.0 + odd / c);
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < EPSILON {
            break;
        }
    }
    h
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine coefficients; about 15 digits).
fn ln_gamma(x: f64) -> f64 {
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1 − x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEFFICIENTS[0];
    for (i, c) in COEFFICIENTS.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance * b.abs().max(1.0)
    }

    #[test]
    fn t_quantiles_match_the_closed_forms_and_the_tables() {
        // df 1 and 2 have closed forms: tan(0.475π), and √(2/(p(2 − p)) − 2) with
        // the two-sided p = 0.05.
        let one = (0.475 * std::f64::consts::PI).tan();
        let two = (2.0 / (0.05 * 1.95) - 2.0_f64).sqrt();
        assert!(close(t_quantile(0.975, 1.0), one, 1e-9), "{}", t_quantile(0.975, 1.0));
        assert!(close(t_quantile(0.975, 2.0), two, 1e-9), "{}", t_quantile(0.975, 2.0));
        // Printed tables of t(0.975, df).
        for (df, table) in [
            (5.0, 2.570_582),
            (10.0, 2.228_139),
            (30.0, 2.042_272),
            (100.0, 1.983_972),
        ] {
            assert!(
                close(t_quantile(0.975, df), table, 1e-6),
                "df {df}: {}",
                t_quantile(0.975, df)
            );
        }
        // Large df: the normal quantile 1.959964.
        assert!(close(t_quantile(0.975, 200_000.0), 1.959_964, 2e-5));
        assert!(close(t_quantile(0.975, 1e9), 1.959_964, 1e-6));
        assert!(close(t_cdf(0.0, 7.3), 0.5, 1e-12));
        assert!(close(t_cdf(-2.0, 4.0) + t_cdf(2.0, 4.0), 1.0, 1e-12));
    }

    #[test]
    fn welch_matches_a_hand_computation() {
        // a = [1, 2, 3, 4], b = [2, 2, 8]: means 2.5 and 4, variances 5/3 and 12;
        // se² = 5/12 + 4 = 53/12; df = (53/12)² / ((5/12)²/3 + 4²/2).
        let a = Moments {
            n: 4,
            sum: 10.0,
            sum_of_squares: 30.0,
        };
        let b = Moments {
            n: 3,
            sum: 12.0,
            sum_of_squares: 72.0,
        };
        let (se, df) = standard_error(a, b).expect("two groups of two");
        assert!(close(se, (53.0_f64 / 12.0).sqrt(), 1e-12));
        let expected_df = (53.0_f64 / 12.0).powi(2) / ((5.0_f64 / 12.0).powi(2) / 3.0 + 16.0 / 2.0);
        assert!(close(df.expect("df"), expected_df, 1e-12));
        assert!(close(mean_difference(a, b), -1.5, 1e-12));
        let half = half_width_95(a, b).expect("interval");
        assert!(close(half, t_quantile(0.975, expected_df) * se, 1e-12));

        let constant = Moments {
            n: 3,
            sum: 6.0,
            sum_of_squares: 12.0,
        };
        assert_eq!(standard_error(constant, constant), Some((0.0, None)));
        assert_eq!(half_width_95(constant, constant), Some(0.0));
        let single = Moments {
            n: 1,
            sum: 5.0,
            sum_of_squares: 25.0,
        };
        assert_eq!(half_width_95(single, constant), None);
    }
}
