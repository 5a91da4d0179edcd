//! The DDPM stage of `dlp demo`: train the 2D MLP denoiser on 8 Gaussians and evaluate it
//! (MMD against held-out data beside the data-vs-data floor, and mode coverage), in well under
//! a minute on 2 cores.

use crate::eval2d::evaluate_run;
use crate::run::train_run;
use crate::sample::Sampler;
use crate::train::TrainConfig;
use burn::tensor::Device;
use std::path::Path;

/// What the DDPM stage reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoSummary {
    pub task: &'static str,
    pub dataset: String,
    pub steps: usize,
    pub train_seconds: f64,
    pub final_loss: Option<f64>,
    /// MMD of 2000 samples against held-out data, and the data-vs-data floor.
    pub mmd: f64,
    pub mmd_floor: f64,
    /// Share of the samples at each of the 8 modes (ideal 0.125).
    pub mode_fractions: Option<Vec<f64>>,
    pub samples_plot: String,
    pub run_dir: String,
}

/// Trains for `steps` steps into `out` and returns the training and evaluation summaries.
pub fn run(steps: usize, seed: u64, out: &Path, device: &Device) -> dlp_core::Result<DemoSummary> {
    let cfg = TrainConfig {
        steps,
        seed,
        checkpoint_every: steps,
        ..TrainConfig::for_dataset("8gaussians")?
    };
    let train = train_run(&cfg, Path::new("."), out, device, false)?;
    let eval = evaluate_run(
        out,
        out,
        device,
        2000,
        Sampler::Ddim {
            steps: 100,
            eta: 1.0,
        },
    )?;
    Ok(DemoSummary {
        task: "ddpm-2d",
        dataset: cfg.dataset,
        steps,
        train_seconds: train.seconds,
        final_loss: train.final_loss,
        mmd: eval.mmd,
        mmd_floor: eval.mmd_floor,
        mode_fractions: eval.mode_fractions,
        samples_plot: eval.samples_plot,
        run_dir: out.display().to_string(),
    })
}
