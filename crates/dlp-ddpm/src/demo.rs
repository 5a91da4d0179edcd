//! The DDPM stage of `dlp demo`: train the 2D MLP denoiser on 8 Gaussians and evaluate it
//! (MMD against held-out data beside the data-vs-data floor, and mode coverage), in well under
//! a minute on 2 cores.

use crate::eval2d::evaluate_run;
use crate::run::train_run;
use crate::sample::Sampler;
use crate::train::TrainConfig;
use burn::tensor::Device;
use serde_json::{Value, json};
use std::path::Path;

/// Trains for `steps` steps into `out` and returns the training and evaluation summaries.
pub fn run(steps: usize, seed: u64, out: &Path, device: &Device) -> dlp_core::Result<Value> {
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
    Ok(json!({
        "task": "ddpm-2d",
        "dataset": cfg.dataset,
        "steps": steps,
        "train_seconds": train["seconds"],
        "final_loss": train["final_loss"],
        "mmd": eval["mmd"],
        "mmd_floor": eval["mmd_floor"],
        "mode_fractions": eval["mode_fractions"],
        "samples_plot": eval["samples_plot"],
        "run_dir": out.display().to_string(),
    }))
}
