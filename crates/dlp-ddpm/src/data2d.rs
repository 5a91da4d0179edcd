//! Two-dimensional datasets generated in code: two moons, swiss roll and 8 Gaussians, each
//! scaled to roughly unit spread so that one noise schedule fits all.
//!
//! - **8 Gaussians**: centres `(2√2)·(cos kπ/4, sin kπ/4)`, k = 0..7, standard deviation
//!   0.5/√2 ≈ 0.354 (the FFJORD toy set: centres of radius 4 and noise 0.5, divided by √2).
//! - **Swiss roll**: `t = 1.5π(1 + 2u)`, point `(t cos t, t sin t)/5 + N(0, 0.1²)`.
//! - **Two moons**: the upper arc `(cos θ, sin θ)` and the lower `(1 − cos θ, ½ − sin θ)`,
//!   θ uniform in [0, π], plus N(0, 0.1²), then centred and doubled.
//!
//! ```
//! use dlp_ddpm::data2d::Toy2d;
//! let mut rng = dlp_core::rng::Rng::new(0);
//! let pts = Toy2d::EightGaussians.sample(1000, &mut rng);
//! assert_eq!(pts.len(), 1000);
//! ```

use dlp_core::rng::Rng;
use std::f64::consts::{FRAC_1_SQRT_2, PI};
use std::str::FromStr;

/// A generated 2D dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Toy2d {
    #[serde(rename = "8gaussians")]
    EightGaussians,
    SwissRoll,
    Moons,
}

impl FromStr for Toy2d {
    type Err = dlp_core::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "8gaussians" | "8-gaussians" | "eight-gaussians" => Ok(Self::EightGaussians),
            "swissroll" | "swiss-roll" => Ok(Self::SwissRoll),
            "moons" | "two-moons" => Ok(Self::Moons),
            other => Err(dlp_core::Error::Usage(format!(
                "unknown 2D dataset `{other}` (expected 8gaussians, swissroll or moons)"
            ))),
        }
    }
}

/// Standard deviation of each 8-Gaussians mode.
pub const MODE_STD: f64 = 0.5 * FRAC_1_SQRT_2;

/// The eight centres of the 8-Gaussians set.
pub fn eight_centres() -> [[f64; 2]; 8] {
    std::array::from_fn(|k| {
        let a = k as f64 * PI / 4.0;
        [2.0 * 2f64.sqrt() * a.cos(), 2.0 * 2f64.sqrt() * a.sin()]
    })
}

impl Toy2d {
    /// The name used on the command line and in summaries.
    pub fn name(self) -> &'static str {
        match self {
            Self::EightGaussians => "8gaussians",
            Self::SwissRoll => "swissroll",
            Self::Moons => "moons",
        }
    }

    /// `n` points drawn from the dataset.
    pub fn sample(self, n: usize, rng: &mut Rng) -> Vec<[f32; 2]> {
        (0..n)
            .map(|_| {
                let [x, y] = match self {
                    Self::EightGaussians => {
                        let c = eight_centres()[rng.below(8)];
                        [
                            c[0] + MODE_STD * rng.normal(),
                            c[1] + MODE_STD * rng.normal(),
                        ]
                    }
                    Self::SwissRoll => {
                        let t = 1.5 * PI * (1.0 + 2.0 * rng.uniform());
                        [
                            t * t.cos() / 5.0 + 0.1 * rng.normal(),
                            t * t.sin() / 5.0 + 0.1 * rng.normal(),
                        ]
                    }
                    Self::Moons => {
                        let theta = PI * rng.uniform();
                        let (x, y) = if rng.uniform() < 0.5 {
                            (theta.cos(), theta.sin())
                        } else {
                            (1.0 - theta.cos(), 0.5 - theta.sin())
                        };
                        [
                            2.0 * (x + 0.1 * rng.normal() - 0.5),
                            2.0 * (y + 0.1 * rng.normal() - 0.25),
                        ]
                    }
                };
                [x as f32, y as f32]
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_gaussians_fill_each_mode_evenly() {
        let mut rng = Rng::new(1);
        let pts = Toy2d::EightGaussians.sample(16000, &mut rng);
        let mut counts = [0usize; 8];
        for p in &pts {
            let k = (0..8)
                .min_by(|&a, &b| {
                    let d = |k: usize| {
                        let c = eight_centres()[k];
                        (p[0] as f64 - c[0]).powi(2) + (p[1] as f64 - c[1]).powi(2)
                    };
                    d(a).total_cmp(&d(b))
                })
                .unwrap();
            counts[k] += 1;
        }
        for c in counts {
            assert!((c as f64 / 16000.0 - 0.125).abs() < 0.01, "{counts:?}");
        }
    }

    #[test]
    fn datasets_have_unit_scale_spread() {
        for set in [Toy2d::EightGaussians, Toy2d::SwissRoll, Toy2d::Moons] {
            let pts = set.sample(5000, &mut Rng::new(2));
            let var = pts
                .iter()
                .map(|p| (p[0] * p[0] + p[1] * p[1]) as f64)
                .sum::<f64>()
                / 5000.0;
            assert!((0.3..10.0).contains(&var), "{set:?}: E|x|² = {var}");
            assert_eq!(set.name().parse::<Toy2d>().unwrap(), set);
        }
    }
}
