//! Beta schedules β_1..β_T, in f64.
//!
//! - **Linear** (Ho et al. 2020): β from 1e-4 to 0.02 at T = 1000. For other T both ends are
//!   scaled by 1000/T (the rule of Nichol & Dhariwal's code), so that ᾱ_T stays near zero:
//!   ᾱ_T = 4.04e-5 at T = 1000 and stays of that order for other T. Below T = 20 the scaled end
//!   would pass 1, so every β is capped at 0.999 (as cosine and sigmoid are).
//! - **Quadratic** (the `quad` schedule of the official DDPM code): a linear ramp of √β between
//!   the same (scaled) ends, squared.
//! - **Cosine** (Nichol & Dhariwal 2021): ᾱ(t) = f(t)/f(0) with f(t) = cos²(((t/T + s)/(1 + s))·π/2),
//!   s = 0.008, and β_t = min(1 − ᾱ(t)/ᾱ(t−1), 0.999), computed in floating point throughout.
//! - **Sigmoid** (Chen 2023, as in lucidrains' `denoising-diffusion-pytorch`): ᾱ(t) follows
//!   −σ((t/T)(e − b) + b)/τ) rescaled to run from 1 to 0, with b = −3, e = 3, τ = 1; β clipped
//!   at 0.999.
//!
//! ```
//! use dlp_ddpm::BetaSchedule;
//! let betas = BetaSchedule::Linear.betas(1000);
//! assert_eq!((betas[0], betas[999]), (1e-4, 0.02));
//! ```

use std::f64::consts::FRAC_PI_2;
use std::str::FromStr;

/// A named beta schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BetaSchedule {
    Linear,
    Quadratic,
    Cosine,
    Sigmoid,
}

impl FromStr for BetaSchedule {
    type Err = dlp_core::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "linear" => Ok(Self::Linear),
            "quadratic" | "quad" => Ok(Self::Quadratic),
            "cosine" => Ok(Self::Cosine),
            "sigmoid" => Ok(Self::Sigmoid),
            other => Err(dlp_core::Error::setting(
                "schedule",
                format!(
                    "unknown schedule `{other}` (expected linear, quadratic, cosine or sigmoid)"
                ),
            )),
        }
    }
}

/// Largest β a schedule may produce (cosine and sigmoid clip to it).
pub const MAX_BETA: f64 = 0.999;

/// `n` evenly spaced values from `a` to `b` inclusive, as `numpy.linspace` computes them.
pub fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    match n {
        0 => vec![],
        1 => vec![a],
        _ => {
            let step = (b - a) / (n - 1) as f64;
            let mut v: Vec<f64> = (0..n).map(|i| a + i as f64 * step).collect();
            v[n - 1] = b;
            v
        }
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl BetaSchedule {
    /// β_1..β_T (index 0 is β_1).
    pub fn betas(self, steps: usize) -> Vec<f64> {
        assert!(steps > 0, "a schedule needs at least one step");
        let t = steps as f64;
        let scale = 1000.0 / t;
        let (start, end) = (scale * 1e-4, scale * 0.02);
        match self {
            Self::Linear => linspace(start, end, steps)
                .into_iter()
                .map(|b| b.min(MAX_BETA))
                .collect(),
            Self::Quadratic => linspace(start.sqrt(), end.sqrt(), steps)
                .into_iter()
                .map(|b| (b * b).min(MAX_BETA))
                .collect(),
            Self::Cosine => {
                let s = 0.008;
                let f = |i: f64| (((i / t + s) / (1.0 + s)) * FRAC_PI_2).cos().powi(2);
                (0..steps)
                    .map(|i| (1.0 - f(i as f64 + 1.0) / f(i as f64)).min(MAX_BETA))
                    .collect()
            }
            Self::Sigmoid => {
                let (b, e, tau) = (-3.0, 3.0, 1.0);
                let (v_start, v_end) = (sigmoid(b / tau), sigmoid(e / tau));
                let abar = |i: f64| {
                    let x = i / t;
                    (v_end - sigmoid((x * (e - b) + b) / tau)) / (v_end - v_start)
                };
                (0..steps)
                    .map(|i| (1.0 - abar(i as f64 + 1.0) / abar(i as f64)).clamp(0.0, MAX_BETA))
                    .collect()
            }
        }
    }
}
