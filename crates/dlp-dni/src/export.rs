//! A trained run's network (blocks and classifier, without the synthetic-gradient models) as a
//! PyTorch `state_dict` (see [`dlp_core::export`]): `blocks.{i}.linear` or `blocks.{i}.conv`,
//! `blocks.{i}.norm` (batch norm with its running statistics) and `classifier`, as the PyTorch
//! module in `benches/reference/pytorch_export.py` names them. The card carries the
//! [`crate::train::TrainConfig`] and the input and class counts.

use crate::dni::Dni;
use crate::layers::{Arch, Net};
use crate::train::TrainConfig;
use burn::tensor::Device;
use dlp_core::export::{Export, state_dict};
use dlp_core::{Error, Result};
use std::path::Path;

/// The network of the `dlp dni train` run in `run`, from its latest checkpoint.
pub fn pytorch(run: &Path, device: &Device) -> Result<Export> {
    let (cfg, input, classes, net) = load_net(run, device)?;
    let card = serde_json::json!({"train": cfg, "input": input, "classes": classes});
    Export::new(state_dict(&net), "dni-net", &card, run)
}

/// The run's settings, its input and class counts, and its network from the latest checkpoint
/// (the sizes read from the checkpoint, so that no data is needed).
pub fn load_net(run: &Path, device: &Device) -> Result<(TrainConfig, usize, usize, Net)> {
    let cfg: TrainConfig = dlp_core::run::read_toml(&run.join("config.toml"))?;
    let shapes = dlp_core::checkpoint::latest_shapes(run)?;
    let dim = |name: &str, axis: usize| {
        shapes
            .get(name)
            .and_then(|s| s.get(axis).copied())
            .ok_or_else(|| {
                Error::format(run, None, format!("the checkpoint has no tensor `{name}`"))
            })
    };
    let classes = dim("net.classifier.weight", 1)?;
    let input = match cfg.arch {
        Arch::Cnn { image } => image.iter().product(),
        Arch::Fc => dim("net.blocks.0.Fc.linear.weight", 0)?,
    };
    let mut dni = Dni::new(&cfg, input, classes, device);
    dni.resume(run)?;
    Ok((cfg, input, classes, dni.into_net()))
}
