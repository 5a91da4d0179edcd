//! The run driver: the workload a [`TrainConfig`] names (2D points or images, a registry set
//! or an image folder) trained by [`train`], with what an image folder adds to the summary.

use crate::task_image::Images;
use crate::task2d::Toy;
use crate::train::{FolderStats, TrainConfig, TrainSummary, train};
use burn::tensor::Device;
use dlp_core::error::{Error, Result};
use std::path::Path;
use std::time::Instant;

/// Trains the run `cfg` describes (2D or images; image data from `data_dir`). Run it inside
/// [`dlp_core::device::in_pool`] for burn's parallel kernels to pay off (`dlp` does).
pub fn train_run(
    cfg: &TrainConfig,
    data_dir: &Path,
    out: &Path,
    device: &Device,
    resume: bool,
) -> Result<TrainSummary> {
    match Toy::from_config(cfg) {
        Some(toy) => train(cfg, &toy, out, device, resume),
        None => {
            let start = Instant::now();
            let images = Images::from_config(cfg, data_dir)?;
            let load_seconds = start.elapsed().as_secs_f64();
            if !images.skipped.is_empty() {
                let list: String = images
                    .skipped
                    .iter()
                    .map(|(f, why)| format!("{f}\t{why}\n"))
                    .collect();
                std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
                dlp_core::atomic::write(out.join("skipped.txt"), list.as_bytes())?;
            }
            let mut summary = train(cfg, &images, out, device, resume)?;
            if Path::new(&cfg.dataset).is_dir() {
                summary.images = Some(FolderStats {
                    count: images.train.len(),
                    skipped: images.skipped.len(),
                    from_cache: images.cached,
                    load_seconds,
                });
                let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
                dlp_core::atomic::write(out.join("summary.json"), text.as_bytes())?;
            }
            Ok(summary)
        }
    }
}
