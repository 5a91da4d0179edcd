//! The run driver: the workload a [`TrainConfig`] names (2D points or images, a registry set
//! or an image folder) trained by [`train`], with what an image folder adds to the summary;
//! and samples drawn from a trained run ([`sample_run`]).

use crate::GaussianDiffusion;
use crate::sample::{Sampler, sample};
use crate::task_image::{Images, sample_images, write_grid};
use crate::task2d::{Toy, plot_samples, to_points};
use crate::train::{FolderStats, TrainConfig, TrainSummary, load_ema, read_config, train};
use burn::tensor::Device;
use dlp_core::error::{Error, Result};
use dlp_core::rng::Rng;
use std::path::{Path, PathBuf};
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

/// What [`sample_run`] wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SampleSummary {
    pub task: &'static str,
    pub run: PathBuf,
    pub n: usize,
    pub dataset: String,
    pub sampler: Sampler,
    pub seed: u64,
    /// The samples (`[n, 2]` points, or `[n, C, H, W]` images in [-1, 1]).
    pub samples: PathBuf,
    /// The samples drawn: points over the data, or an image grid.
    pub plot: PathBuf,
    pub dlp_version: &'static str,
}

/// Draws `n` samples from the EMA model of the trained run `run` with `sampler` (images at
/// classifier-free `guidance` for a class-conditional model), and writes
/// `samples.safetensors` and `samples_drawn.png` into `out`, and, with `png_dir`, each image
/// as a PNG there.
#[allow(clippy::too_many_arguments)]
pub fn sample_run(
    run: &Path,
    n: usize,
    sampler: Sampler,
    guidance: f64,
    seed: u64,
    out: &Path,
    png_dir: Option<&Path>,
    device: &Device,
) -> Result<SampleSummary> {
    if n == 0 {
        return Err(Error::setting("n", "at least 1 sample"));
    }
    let cfg = read_config(run)?;
    let d = GaussianDiffusion::new(cfg.schedule, cfg.timesteps);
    let mut rng = Rng::new(seed).fork(201);
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let (samples, plot) = (
        out.join("samples.safetensors"),
        out.join("samples_drawn.png"),
    );
    let (shape, flat) = if let Some(toy) = Toy::from_config(&cfg) {
        let ema = load_ema(run, &toy, device)?;
        let x = sample(
            &ema,
            &d,
            cfg.prediction,
            sampler,
            None,
            [n, 2],
            &mut rng,
            device,
        );
        let points = to_points(x);
        let data = toy.set.sample(n, &mut Rng::new(seed).fork(202));
        let title = format!("DDPM {}: {n} samples", cfg.dataset);
        plot_samples(&plot, &title, &points, &data)?;
        (vec![n, 2], points.iter().flatten().copied().collect())
    } else {
        let images = Images::without_data(&cfg)?;
        let ema = load_ema(run, &images, device)?;
        let (p, u) = (cfg.prediction, &images.unet);
        let (x, _) = sample_images(&ema, u, &d, p, sampler, n, guidance, &mut rng, device);
        let flat = dlp_core::tensor::to_vec(x.clone());
        write_grid(&plot, x, 10)?;
        if let Some(dir) = png_dir {
            let unit: Vec<f32> = flat.iter().map(|p| (p + 1.0) / 2.0).collect();
            dlp_core::plot::image_files(dir, &unit, images.shape(n))?;
        }
        (images.shape(n).to_vec(), flat)
    };
    let bytes = dlp_core::checkpoint::f32_safetensors(&[("samples".into(), shape, flat)], None)?;
    dlp_core::atomic::write(&samples, &bytes)?;
    Ok(SampleSummary {
        task: "ddpm-sample",
        run: run.to_path_buf(),
        n,
        dataset: cfg.dataset,
        sampler,
        seed,
        samples,
        plot,
        dlp_version: dlp_core::run::VERSION,
    })
}
