//! `dlp export`: a trained run's weights in another framework's format.

use crate::{Common, emit, setup};
use dlp_core::Error;
use std::path::PathBuf;

/// `dlp export` flags.
#[derive(clap::Args)]
pub struct Args {
    /// The run directory of a `ddpm train` (the EMA U-Net or MLP), `dni train` (the network) or
    /// `kg embed train` (the entity and relation tables) run.
    #[arg(long)]
    run: PathBuf,
    /// pytorch: a safetensors file that `load_state_dict(safetensors.torch.load_file(F),
    /// strict=True)` loads into the matching torch.nn.Module (benches/reference/pytorch_export.py).
    #[arg(long, default_value = "pytorch")]
    format: String,
}

pub fn run(a: &Args, common: &Common) -> dlp_core::Result<()> {
    if a.format != "pytorch" {
        return Err(Error::Usage(format!(
            "--format: `{}` (expected pytorch)",
            a.format
        )));
    }
    let out = common.out.as_ref().ok_or_else(|| {
        Error::Usage("--out: the file to write is needed, e.g. --out model.safetensors".into())
    })?;
    if out.exists() && !common.force {
        return Err(Error::Usage(format!(
            "--out: {} exists; --force replaces it",
            out.display()
        )));
    }
    let id = dlp_core::run::identity(&a.run)?.ok_or_else(|| {
        Error::Usage(format!(
            "--run: {} is not a run directory (no run.json)",
            a.run.display()
        ))
    })?;
    let export = match id.command.as_str() {
        "ddpm train" => dlp_ddpm::export::pytorch(&a.run, &setup(common)?)?,
        "dni train" => dlp_dni::export::pytorch(&a.run, &setup(common)?)?,
        "kg embed train" => dlp_kg::embed::export::pytorch(&a.run)?,
        other => {
            return Err(Error::Usage(format!(
                "--run: {} is a `{other}` run; ddpm train, dni train and kg embed train runs have weights to export",
                a.run.display()
            )));
        }
    };
    let w = export.write(out)?;
    let human = format!(
        "{}: {} tensors, {} parameters ({}), for PyTorch's load_state_dict",
        w.path.display(),
        w.tensors,
        w.parameters,
        w.model
    );
    emit(
        common,
        &serde_json::to_value(&w).unwrap_or_default(),
        &human,
    );
    Ok(())
}
