//! Evaluation of 2D samples: kernel MMD against held-out data beside the data-vs-data floor,
//! and mode coverage for 8 Gaussians.
//!
//! MMD² (biased V-statistic, Gretton et al. 2012) with a sum of RBF kernels
//! `k(x, y) = Σ_c exp(−|x − y|² / (2 (c h)²))`, c ∈ {0.1, 0.3, 1}, where h is the median
//! pairwise distance of the reference set; the reported `mmd` is √MMD². The floor is the same
//! statistic between two independent draws of the data at the same n, so a model is as good as
//! data when `mmd` is near `mmd_floor`.

use crate::data2d::{MODE_STD, eight_centres};
use rayon::prelude::*;

/// Bandwidth multipliers of the kernel sum.
pub const SCALES: [f64; 3] = [0.1, 0.3, 1.0];

fn dist2(a: &[f32; 2], b: &[f32; 2]) -> f64 {
    let (dx, dy) = ((a[0] - b[0]) as f64, (a[1] - b[1]) as f64);
    dx * dx + dy * dy
}

/// The median pairwise distance of (up to the first 1000 points of) `x`.
pub fn median_distance(x: &[[f32; 2]]) -> f64 {
    let x = &x[..x.len().min(1000)];
    let mut d: Vec<f64> = (0..x.len())
        .flat_map(|i| (i + 1..x.len()).map(move |j| (i, j)))
        .map(|(i, j)| dist2(&x[i], &x[j]).sqrt())
        .collect();
    if d.is_empty() {
        return 1.0;
    }
    let mid = d.len() / 2;
    *d.select_nth_unstable_by(mid, f64::total_cmp).1
}

fn mean_kernel(x: &[[f32; 2]], y: &[[f32; 2]], gammas: &[f64]) -> f64 {
    let total: f64 = x
        .par_iter()
        .map(|a| {
            y.iter()
                .map(|b| {
                    let d = dist2(a, b);
                    gammas.iter().map(|g| (-g * d).exp()).sum::<f64>()
                })
                .sum::<f64>()
        })
        .sum();
    total / (x.len() * y.len()) as f64
}

/// √MMD² between `x` and `y` with bandwidth base `h`.
pub fn mmd(x: &[[f32; 2]], y: &[[f32; 2]], h: f64) -> f64 {
    let gammas: Vec<f64> = SCALES
        .iter()
        .map(|c| 1.0 / (2.0 * (c * h).powi(2)))
        .collect();
    let m2 =
        mean_kernel(x, x, &gammas) + mean_kernel(y, y, &gammas) - 2.0 * mean_kernel(x, y, &gammas);
    m2.max(0.0).sqrt()
}

/// For 8 Gaussians: the fraction of samples nearest to each centre, and the fraction farther
/// than 4 standard deviations from every centre (`off_mode`).
pub fn mode_fractions(x: &[[f32; 2]]) -> ([f64; 8], f64) {
    let centres = eight_centres();
    let mut counts = [0usize; 8];
    let mut off = 0;
    for p in x {
        let (k, d2) = (0..8)
            .map(|k| (k, dist2(p, &[centres[k][0] as f32, centres[k][1] as f32])))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("eight centres");
        counts[k] += 1;
        if d2.sqrt() > 4.0 * MODE_STD {
            off += 1;
        }
    }
    let n = x.len().max(1) as f64;
    (counts.map(|c| c as f64 / n), off as f64 / n)
}

/// Samples `n` points from a trained run's EMA model and compares them with held-out data:
/// `mmd`, `mmd_floor` (data vs data at the same n) and, for 8 Gaussians, `mode_fractions` and
/// `off_mode_fraction`. Writes `eval.json` and `eval_samples.png` into `out` (the run, or a
/// directory of the evaluation's own).
/// What [`evaluate_run`] reports; also `eval.json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PointScores {
    pub task: &'static str,
    pub dataset: String,
    pub seed: u64,
    pub n: usize,
    pub sampler: crate::sample::Sampler,
    /// MMD of the samples against a held-out draw of the data.
    pub mmd: f64,
    /// MMD of a second draw of the data against the held-out one: the floor.
    pub mmd_floor: f64,
    pub kernel_bandwidth: f64,
    /// For 8 Gaussians: the share of samples nearest each mode (ideal 0.125) …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode_fractions: Option<Vec<f64>>,
    /// … and the share farther than 3σ from every mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub off_mode_fraction: Option<f64>,
    pub samples_plot: String,
    pub seconds: f64,
    pub dlp_version: &'static str,
}

pub fn evaluate_run(
    run: &std::path::Path,
    out: &std::path::Path,
    device: &burn::tensor::Device,
    n: usize,
    sampler: crate::sample::Sampler,
) -> dlp_core::Result<PointScores> {
    use crate::task2d::{Toy, plot_samples, to_points};
    use crate::train::{load_ema, read_config};
    use dlp_core::rng::Rng;
    let start = std::time::Instant::now();
    let cfg = read_config(run)?;
    let toy = Toy::from_config(&cfg).ok_or_else(|| {
        dlp_core::Error::Usage(format!(
            "{}: `{}` is not a 2D run",
            run.display(),
            cfg.dataset
        ))
    })?;
    let ema = load_ema(run, &toy, device)?;
    let d = crate::GaussianDiffusion::new(cfg.schedule, cfg.timesteps);
    let base = Rng::new(cfg.seed);
    let x = crate::sample::sample(
        &ema,
        &d,
        cfg.prediction,
        sampler,
        None,
        [n, 2],
        &mut base.fork(101),
        device,
    );
    let samples = to_points(x);
    let held_out = toy.set.sample(n, &mut base.fork(102));
    let second = toy.set.sample(n, &mut base.fork(103));
    let h = median_distance(&held_out);
    let modes = (toy.set == crate::data2d::Toy2d::EightGaussians).then(|| mode_fractions(&samples));
    let png = out.join("eval_samples.png");
    plot_samples(
        &png,
        &format!("DDPM {}: {n} EMA samples", cfg.dataset),
        &samples,
        &held_out,
    )?;
    let summary = PointScores {
        task: "ddpm-eval",
        dataset: cfg.dataset.clone(),
        seed: cfg.seed,
        n,
        sampler,
        mmd: mmd(&samples, &held_out, h),
        mmd_floor: mmd(&second, &held_out, h),
        kernel_bandwidth: h,
        mode_fractions: modes.map(|(fractions, _)| fractions.to_vec()),
        off_mode_fraction: modes.map(|(_, off)| off),
        samples_plot: png.display().to_string(),
        seconds: start.elapsed().as_secs_f64(),
        dlp_version: dlp_core::run::VERSION,
    };
    let text = serde_json::to_string_pretty(&summary).expect("JSON serialises");
    dlp_core::atomic::write(out.join("eval.json"), text.as_bytes())?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data2d::Toy2d;
    use dlp_core::rng::Rng;

    #[test]
    fn mmd_separates_a_shifted_set_from_a_fresh_draw() {
        let mut rng = Rng::new(4);
        let a = Toy2d::EightGaussians.sample(1000, &mut rng);
        let b = Toy2d::EightGaussians.sample(1000, &mut rng);
        let h = median_distance(&a);
        let floor = mmd(&a, &b, h);
        let shifted: Vec<[f32; 2]> = b.iter().map(|p| [p[0] + 0.3, p[1]]).collect();
        let moons = Toy2d::Moons.sample(1000, &mut rng);
        // A shift of 0.85 mode standard deviations fails the "at most 2x the floor" criterion.
        assert!(mmd(&a, &shifted, h) > 2.0 * floor, "shift not detected");
        assert!(
            mmd(&a, &moons, h) > 5.0 * floor,
            "other dataset not detected"
        );
        assert!(mmd(&a, &a, h) < 1e-6);
    }

    #[test]
    fn mode_fractions_see_a_dropped_mode() {
        let mut rng = Rng::new(5);
        let pts = Toy2d::EightGaussians.sample(8000, &mut rng);
        let (f, off) = mode_fractions(&pts);
        assert!(f.iter().all(|&x| (x - 0.125).abs() < 0.015), "{f:?}");
        assert!(off < 0.01);
        let centre0 = eight_centres()[0];
        let without0: Vec<[f32; 2]> = pts
            .into_iter()
            .filter(|p| dist2(p, &[centre0[0] as f32, centre0[1] as f32]).sqrt() > 1.0)
            .collect();
        assert!(mode_fractions(&without0).0[0] < 0.01);
    }
}
