//! A trained run's EMA denoiser (the network `dlp ddpm sample` uses) as a PyTorch `state_dict`
//! (see [`dlp_core::export`]). The U-Net's names are its fields', so the PyTorch module in
//! `benches/reference/pytorch_export.py` mirrors [`crate::unet`] field for field; the card
//! carries the [`crate::unet::UNetConfig`] (`dlp_model` "ddpm-unet") or the 2-D MLP's
//! [`crate::train::ModelConfig`] ("ddpm-mlp"), with the schedule and the prediction target.

use crate::task_image::Images;
use crate::task2d::Toy;
use crate::train::{ModelConfig, load_ema, read_config};
use burn::tensor::Device;
use dlp_core::Result;
use dlp_core::export::{Export, state_dict};
use std::path::Path;

/// The EMA weights of the run in `run`, with a card naming the model and its configuration.
pub fn pytorch(run: &Path, device: &Device) -> Result<Export> {
    let cfg = read_config(run)?;
    let (sd, model) = match Toy::from_config(&cfg) {
        Some(toy) => (state_dict(&load_ema(run, &toy, device)?), "ddpm-mlp"),
        None => {
            let images = Images::without_data(&cfg)?;
            (state_dict(&load_ema(run, &images, device)?), "ddpm-unet")
        }
    };
    let config = match &cfg.model {
        ModelConfig::Unet(u) => serde_json::to_value(u),
        other => serde_json::to_value(other),
    }
    .unwrap_or_default();
    let card = serde_json::json!({"model": config, "schedule": cfg.schedule,
        "timesteps": cfg.timesteps, "prediction": cfg.prediction, "dataset": cfg.dataset});
    Export::new(sd, model, &card, run)
}
