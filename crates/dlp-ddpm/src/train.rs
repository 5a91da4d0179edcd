//! Training by L_simple (Algorithm 1 of Ho et al. 2020), with what users now expect: ε, x_0 or
//! v targets and min-SNR weighting; Adam with linear warm-up and gradient-norm clipping; an EMA
//! of the weights with warm-up; checkpoints of model, EMA, optimiser, step and RNG every
//! `checkpoint_every` steps, from which a run resumes to the same weights it would have reached
//! uninterrupted (CPU, same seed); a non-finite loss stops the run and keeps the last good
//! checkpoint. Data, timesteps and noise come from one host RNG; dropout's generator is
//! reseeded from (seed, step) at every step.
//!
//! One loop serves every [`Workload`]: 2D points with an MLP and images with the U-Net
//! ([`crate::run::train_run`] picks the workload a config names).
//!
//! ```no_run
//! use dlp_ddpm::{run::train_run, train::TrainConfig};
//! let cfg = TrainConfig::for_dataset("8gaussians")?;
//! let device = burn::tensor::Device::flex();
//! let summary = train_run(&cfg, "data".as_ref(), "runs/8g".as_ref(), &device, false)?;
//! # Ok::<(), dlp_core::Error>(())
//! ```

use crate::data2d::Toy2d;
use crate::diffusion::GaussianDiffusion;
use crate::ema::{ema_decay, update_ema};
use crate::model::Denoiser;
use crate::objective::Prediction;
use crate::sample::normal;
use crate::schedule::BetaSchedule;
use crate::unet::UNetConfig;
use burn::module::Module;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor};
use dlp_core::checkpoint::{self, CheckpointState};
use dlp_core::error::{Error, Result};
use dlp_core::plot::{Series, line_plot};
use dlp_core::progress::Progress;
use dlp_core::rng::Rng;
use dlp_core::run::{RunDir, read_metrics};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::Path;
use std::time::Instant;

/// The network and its shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ModelConfig {
    /// The 2D MLP denoiser.
    Mlp { hidden: usize, layers: usize },
    /// The U-Net for images.
    Unet(UNetConfig),
}

/// Everything a training run needs; written to `config.toml` and read back by sample and eval.
/// An unknown key is an error, so that a misspelt field (`min_snr_gama`) is not silently ignored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// A 2D set (8gaussians, swissroll, moons) or an image dataset (mnist, fashion-mnist, cifar10).
    pub dataset: String,
    pub steps: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub warmup_steps: usize,
    pub grad_clip: f64,
    pub ema_decay: f64,
    pub schedule: BetaSchedule,
    pub timesteps: usize,
    pub prediction: Prediction,
    pub min_snr_gamma: Option<f64>,
    /// Probability of training on the null label (classifier-free guidance), when conditional.
    pub class_dropout: f64,
    pub seed: u64,
    pub checkpoint_every: usize,
    pub log_every: usize,
    pub model: ModelConfig,
    /// Mirror each training image left to right with probability ½ (image folders).
    #[serde(default)]
    pub flip: bool,
    /// An image folder: skip the files that cannot be decoded (listed in `skipped.txt`) instead
    /// of refusing the run.
    #[serde(default)]
    pub lenient: bool,
}

impl TrainConfig {
    /// Checks every field a run divides by, allocates from or indexes with; the error names the
    /// field (`config field `log_every`: must be at least 1, got 0`).
    pub fn validate(&self) -> Result<()> {
        let field =
            |name: &str, msg: String| Err(Error::Usage(format!("config field `{name}`: {msg}")));
        for (name, v) in [
            ("steps", self.steps),
            ("batch_size", self.batch_size),
            ("timesteps", self.timesteps),
            ("checkpoint_every", self.checkpoint_every),
            ("log_every", self.log_every),
        ] {
            if v == 0 {
                return field(name, "must be at least 1, got 0".into());
            }
        }
        if self.timesteps > 100_000 {
            return field(
                "timesteps",
                format!("{} is more than 100000", self.timesteps),
            );
        }
        if self.batch_size > 1 << 20 {
            return field(
                "batch_size",
                format!("{} is more than 2^20", self.batch_size),
            );
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return field(
                "learning_rate",
                format!("must be a positive number, got {}", self.learning_rate),
            );
        }
        if !(self.grad_clip.is_finite() && self.grad_clip >= 0.0) {
            return field(
                "grad_clip",
                format!("must be 0 or more, got {}", self.grad_clip),
            );
        }
        for (name, v) in [
            ("ema_decay", self.ema_decay),
            ("class_dropout", self.class_dropout),
        ] {
            if !(0.0..1.0).contains(&v) {
                return field(name, format!("must be in [0, 1), got {v}"));
            }
        }
        if let Some(g) = self.min_snr_gamma
            && !(g.is_finite() && g > 0.0)
        {
            return field(
                "min_snr_gamma",
                format!("must be a positive number, got {g}"),
            );
        }
        match &self.model {
            ModelConfig::Mlp { hidden, layers } => {
                if *hidden == 0 || *hidden > 1 << 16 {
                    return field(
                        "model.hidden",
                        format!("must be in 1..=65536, got {hidden}"),
                    );
                }
                if *layers > 1024 {
                    return field(
                        "model.layers",
                        format!("must be at most 1024, got {layers}"),
                    );
                }
                // hidden² weights per layer: refuse a model of more than 2^28 weights (1 GiB).
                if hidden * hidden * (layers + 1) > 1 << 28 {
                    return field(
                        "model.hidden",
                        format!("{hidden} units over {layers} layers is more than 2^28 weights"),
                    );
                }
                Ok(())
            }
            ModelConfig::Unet(u) => u
                .validate()
                .map_err(|msg| Error::Usage(format!("config field `model.{msg}"))),
        }
    }

    /// Settings for a folder of the user's images at `size`×`size` with `channels` channels: the
    /// MNIST run's (sized for a CPU), the U-Net at that resolution and channel count, with
    /// self-attention at its lowest resolution (`size`/4).
    pub fn for_images(dir: &str, size: usize, channels: usize) -> Result<Self> {
        let mut cfg = Self::for_dataset("mnist")?;
        cfg.dataset = dir.to_string();
        if let ModelConfig::Unet(u) = &mut cfg.model {
            u.resolution = size;
            u.in_channels = channels;
            u.attn_resolutions = vec![size / 4];
        }
        Ok(cfg)
    }

    /// Good settings for a dataset, so that `dlp ddpm train --dataset NAME` works first time.
    pub fn for_dataset(name: &str) -> Result<Self> {
        let base = Self {
            dataset: name.to_string(),
            steps: 8000,
            batch_size: 512,
            learning_rate: 2e-3,
            warmup_steps: 200,
            grad_clip: 1.0,
            ema_decay: 0.995,
            schedule: BetaSchedule::Linear,
            timesteps: 1000,
            prediction: Prediction::Eps,
            min_snr_gamma: None,
            class_dropout: 0.1,
            seed: 0,
            checkpoint_every: 1000,
            log_every: 50,
            model: ModelConfig::Mlp {
                hidden: 128,
                layers: 3,
            },
            flip: false,
            lenient: false,
        };
        if let Ok(toy) = name.parse::<Toy2d>() {
            return Ok(Self {
                dataset: toy.name().into(),
                ..base
            });
        }
        match name {
            // Sized to train in under an hour on 2 CPU cores.
            "mnist" | "fashion-mnist" => Ok(Self {
                steps: 3500,
                batch_size: 64,
                learning_rate: 1e-3,
                warmup_steps: 200,
                ema_decay: 0.999,
                checkpoint_every: 250,
                log_every: 25,
                model: ModelConfig::Unet(UNetConfig::mnist()),
                ..base
            }),
            // The paper's CIFAR-10 run (800k steps: a GPU job).
            "cifar10" => Ok(Self {
                steps: 800_000,
                batch_size: 128,
                learning_rate: 2e-4,
                warmup_steps: 5000,
                ema_decay: 0.9999,
                checkpoint_every: 5000,
                log_every: 100,
                model: ModelConfig::Unet(UNetConfig::cifar10()),
                ..base
            }),
            other => Err(Error::setting(
                "dataset",
                format!(
                    "`{other}` (expected 8gaussians, swissroll, moons, mnist, fashion-mnist or cifar10)"
                ),
            )),
        }
    }
}

/// What a training loop trains on: the network, batches, and the pictures at the end.
pub trait Workload<const D: usize> {
    type Net: Denoiser<D> + Module + burn::module::ModuleDisplay;
    /// A freshly initialised network.
    fn net(&self, device: &Device) -> Self::Net;
    /// A batch of x_0 with its labels (all `None` when unconditional; dropped labels are `None`).
    fn batch(&self, n: usize, rng: &mut Rng, device: &Device) -> (Tensor<D>, Vec<Option<usize>>);
    /// Samples from the EMA network at the end of training: writes `samples.png` and returns
    /// its path.
    fn snapshot(
        &self,
        ema: &Self::Net,
        d: &GaussianDiffusion,
        run: &RunDir,
        device: &Device,
    ) -> Result<String>;
}

/// The model and its EMA, saved together in one checkpoint (`model.*`, `ema.*`).
#[derive(Module, Debug)]
pub struct TrainState<M: Module + burn::module::ModuleDisplay> {
    pub model: M,
    pub ema: M,
}

/// Reads a run's `config.toml`.
pub fn read_config(run: &Path) -> Result<TrainConfig> {
    read_config_file(&run.join("config.toml"))
}

/// Reads a training configuration from a TOML file; an error names the file, line and field.
pub fn read_config_file(path: &Path) -> Result<TrainConfig> {
    let cfg: TrainConfig = dlp_core::run::read_toml(path)?;
    cfg.validate()
        .map_err(|e| Error::format(path, None, e.to_string()))?;
    Ok(cfg)
}

/// Loads the EMA network of a run's latest checkpoint.
pub fn load_ema<const D: usize, W: Workload<D>>(
    run: &Path,
    w: &W,
    device: &Device,
) -> Result<W::Net> {
    let net = w.net(device);
    let state = TrainState {
        ema: net.clone(),
        model: net,
    };
    match checkpoint::load_latest(run, state)? {
        Some(loaded) => Ok(loaded.model.ema),
        None => Err(Error::format(
            run,
            None,
            "no checkpoint (train first: `dlp ddpm train --out DIR`)",
        )),
    }
}

/// The settings a run's summary records.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub model: ModelConfig,
    pub schedule: BetaSchedule,
    pub timesteps: usize,
    pub prediction: Prediction,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub ema_decay: f64,
}

/// What an image folder added to a run (absent for the registry's datasets).
#[derive(Debug, Clone, Serialize)]
pub struct FolderStats {
    /// Training images read.
    pub count: usize,
    /// Files skipped as undecodable (with `lenient`).
    pub skipped: usize,
    pub from_cache: bool,
    pub load_seconds: f64,
}

/// What a training run reports; also its `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct TrainSummary {
    pub task: &'static str,
    pub dataset: String,
    pub seed: u64,
    pub settings: Settings,
    pub steps: usize,
    /// The mean L_simple of the last logged window.
    pub final_loss: Option<f64>,
    pub seconds: f64,
    pub steps_per_second: f64,
    pub loss_plot: String,
    pub samples_plot: String,
    /// The latest checkpoint's directory.
    pub checkpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<FolderStats>,
    pub dlp_version: &'static str,
    pub run_dir: String,
}

/// Trains `w` (or, with `resume`, continues from the latest checkpoint in `out`) and returns
/// the summary. Writes `loss.png` and the workload's `samples.png`.
pub fn train<const D: usize, W: Workload<D>>(
    cfg: &TrainConfig,
    w: &W,
    out: &Path,
    device: &Device,
    resume: bool,
) -> Result<TrainSummary> {
    cfg.validate()?;
    let start = Instant::now();
    let d = GaussianDiffusion::new(cfg.schedule, cfg.timesteps);
    let train_device = device.clone().autodiff();
    device.seed(cfg.seed);
    train_device.seed(cfg.seed);
    let model = w.net(&train_device);
    let mut state = TrainState {
        ema: model.valid(),
        model,
    };
    let mut optim = AdamConfig::new()
        .with_grad_clipping(Some(GradientClippingConfig::Norm(cfg.grad_clip as f32)))
        .init();
    let mut rng = Rng::new(cfg.seed);
    let mut first = 1;
    if resume && let Some(loaded) = checkpoint::load_latest(out, state.clone())? {
        state = loaded.model;
        if let Some(record) = loaded.optimizer {
            optim = optim.load_record(record);
        }
        rng = Rng::from_state(loaded.state.rng);
        first = loaded.state.step as usize + 1;
        truncate_metrics(out, loaded.state.step)?;
        eprintln!("resuming {} from step {}", out.display(), loaded.state.step);
    }
    let mut run = RunDir::create(out, cfg)?;
    let TrainState { mut model, mut ema } = state;
    let progress = Progress::new("train", cfg.steps.saturating_sub(first - 1) as u64);
    let mut window = (0.0, 0usize);
    for step in first..=cfg.steps {
        let lr = cfg.learning_rate * (step as f64 / cfg.warmup_steps.max(1) as f64).min(1.0);
        // Dropout draws from the backend's generator: seeding it from (seed, step) makes a
        // resumed run draw the same masks as an uninterrupted one.
        train_device.seed(Rng::new(cfg.seed).fork(1 << 32 | step as u64).next_u64());
        let (x0, labels) = w.batch(cfg.batch_size, &mut rng, &train_device);
        let shape = x0.dims();
        let t: Vec<usize> = (0..cfg.batch_size)
            .map(|_| rng.below(cfg.timesteps))
            .collect();
        let eps = normal(shape, &mut rng, &train_device);
        let loss = d.training_losses(cfg.prediction, cfg.min_snr_gamma, x0, eps, &t, |xt| {
            model.forward_labels(xt, &t, &labels)
        });
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let value = loss
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .map(|v| v[0] as f64);
        let value = value.unwrap_or(f64::NAN);
        if !value.is_finite() {
            progress.finish();
            return Err(Error::NonFinite(format!(
                "loss is {value} at step {step}; stopped, the last good checkpoint is in {}",
                out.join("checkpoints").display()
            )));
        }
        model = optim.step(lr, model, grads);
        ema = update_ema(ema, &model, ema_decay(cfg.ema_decay, step as u64));
        progress.inc(1);
        window = (window.0 + value, window.1 + 1);
        if step % cfg.log_every == 0 || step == cfg.steps {
            let mean = window.0 / window.1 as f64;
            window = (0.0, 0);
            progress.set_message(format!("loss {mean:.4} lr {lr:.2e}"));
            run.log(&json!({"step": step, "loss": mean, "lr": lr, "seconds": start.elapsed().as_secs_f64()}))?;
        }
        if step % cfg.checkpoint_every == 0 || step == cfg.steps {
            let st = CheckpointState {
                step: step as u64,
                unit: dlp_core::checkpoint::Unit::Step,
                rng: rng.state(),
                extra: json!({"dataset": cfg.dataset}),
                model_sha256: String::new(),
                optimizer_sha256: None,
                files: Default::default(),
            };
            let both = TrainState { model, ema };
            checkpoint::save(out, &both, Some(&optim), &st, 2)?;
            (model, ema) = (both.model, both.ema);
        }
    }
    progress.finish();
    let train_seconds = start.elapsed().as_secs_f64();
    let curve: Vec<(f64, f64)> = read_metrics(&run.path("metrics.jsonl"))?
        .iter()
        .filter_map(|m| Some((m["step"].as_f64()?, m["loss"].as_f64()?)))
        .collect();
    let loss_png = run.path("loss.png");
    if !curve.is_empty() {
        let s = Series {
            name: "L_simple".into(),
            points: curve.clone(),
        };
        let title = format!("DDPM {}: training loss", cfg.dataset);
        line_plot(&loss_png, &title, "step", "loss", &[s], true)?;
    }
    let samples_png = w.snapshot(&ema, &d, &run, device)?;
    let summary = TrainSummary {
        task: "ddpm-train",
        dataset: cfg.dataset.clone(),
        seed: cfg.seed,
        settings: Settings {
            model: cfg.model.clone(),
            schedule: cfg.schedule,
            timesteps: cfg.timesteps,
            prediction: cfg.prediction,
            batch_size: cfg.batch_size,
            learning_rate: cfg.learning_rate,
            ema_decay: cfg.ema_decay,
        },
        steps: cfg.steps,
        final_loss: curve.last().map(|p| p.1),
        seconds: train_seconds,
        steps_per_second: (cfg.steps + 1 - first) as f64 / train_seconds,
        loss_plot: loss_png.display().to_string(),
        samples_plot: samples_png,
        checkpoint: checkpoint::latest(out)?.map(|p| p.display().to_string()),
        images: None,
        dlp_version: dlp_core::run::VERSION,
        run_dir: run.dir().display().to_string(),
    };
    run.write_summary(&summary)?;
    Ok(summary)
}

/// Drops metrics records after `step` (they belong to the part of the run being redone).
fn truncate_metrics(out: &Path, step: u64) -> Result<()> {
    let path = out.join("metrics.jsonl");
    if !path.exists() {
        return Ok(());
    }
    let kept: String = read_metrics(&path)?
        .into_iter()
        .filter(|m| m["step"].as_u64().is_none_or(|s| s <= step))
        .map(|m| format!("{m}\n"))
        .collect();
    dlp_core::atomic::write(&path, kept.as_bytes())
}
