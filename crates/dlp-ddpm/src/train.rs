//! Training by L_simple (Algorithm 1 of Ho et al. 2020) for 2D data, with what users now
//! expect: ε, x_0 or v targets and min-SNR weighting; Adam with linear warm-up and gradient-norm
//! clipping; an EMA of the weights with warm-up; checkpoints of model, EMA, optimiser, step and
//! RNG every `checkpoint_every` steps, from which a run resumes to the same weights it would
//! have reached uninterrupted (CPU, same seed); a non-finite loss stops the run and keeps the
//! last good checkpoint. All randomness (data, t, ε) comes from one host RNG.
//!
//! ```no_run
//! use dlp_ddpm::train::{TrainConfig, train_2d};
//! let cfg = TrainConfig::default();
//! let summary = train_2d(&cfg, "runs/8g".as_ref(), &burn::tensor::Device::flex(), false)?;
//! # Ok::<(), dlp_core::Error>(())
//! ```

use crate::data2d::Toy2d;
use crate::diffusion::GaussianDiffusion;
use crate::ema::{ema_decay, update_ema};
use crate::model::{Denoiser, MlpDenoiser};
use crate::objective::{Prediction, weighted_mse};
use crate::sample::{Sampler, normal, sample};
use crate::schedule::BetaSchedule;
use burn::module::Module;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use dlp_core::checkpoint::{self, CheckpointState};
use dlp_core::error::{Error, Result};
use dlp_core::plot::{Series, line_plot, scatter_plot};
use dlp_core::progress::Progress;
use dlp_core::rng::Rng;
use dlp_core::run::{RunDir, read_metrics};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Instant;

/// Everything a training run needs; written to `config.toml` and read back by sample and eval.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    pub dataset: Toy2d,
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
    pub hidden: usize,
    pub layers: usize,
    pub seed: u64,
    pub checkpoint_every: usize,
    pub log_every: usize,
}

impl Default for TrainConfig {
    /// Good settings for the 2D sets: a run of a few minutes on 2 cores.
    fn default() -> Self {
        Self {
            dataset: Toy2d::EightGaussians,
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
            hidden: 128,
            layers: 3,
            seed: 0,
            checkpoint_every: 1000,
            log_every: 50,
        }
    }
}

/// The model and its EMA, saved together in one checkpoint (`model.*`, `ema.*`).
#[derive(Module, Debug)]
pub struct TrainState {
    pub model: MlpDenoiser,
    pub ema: MlpDenoiser,
}

/// Reads a run's `config.toml`.
pub fn read_config(run: &Path) -> Result<TrainConfig> {
    read_config_file(&run.join("config.toml"))
}

/// Reads a training configuration from a TOML file; an error names the file, line and field.
pub fn read_config_file(path: &Path) -> Result<TrainConfig> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start].lines().count().max(1));
        Error::format(path, line, e.message().to_string())
    })
}

fn fresh_state(cfg: &TrainConfig, device: &Device) -> TrainState {
    let model = MlpDenoiser::new(cfg.hidden, cfg.layers, device);
    TrainState {
        ema: model.valid(),
        model,
    }
}

/// Loads the EMA model of a run's latest checkpoint (for sampling and evaluation).
pub fn load_ema(run: &Path, cfg: &TrainConfig, device: &Device) -> Result<MlpDenoiser> {
    let state = fresh_state(cfg, device);
    match checkpoint::load_latest(run, state)? {
        Some(loaded) => Ok(loaded.model.ema),
        None => Err(Error::format(
            run,
            None,
            "no checkpoint (train first: `dlp ddpm train --out DIR`)",
        )),
    }
}

fn points_tensor(p: &[[f32; 2]], device: &Device) -> Tensor<2> {
    let flat: Vec<f32> = p.iter().flatten().copied().collect();
    Tensor::from_data(TensorData::new(flat, [p.len(), 2]), device)
}

/// `[n, 2]` tensor to points.
pub fn to_points(x: Tensor<2>) -> Vec<[f32; 2]> {
    let v = x
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default();
    v.chunks_exact(2).map(|c| [c[0], c[1]]).collect()
}

/// Scatter plot of samples beside data.
pub fn plot_samples(
    path: &Path,
    title: &str,
    samples: &[[f32; 2]],
    data: &[[f32; 2]],
) -> Result<()> {
    let series = |name: &str, p: &[[f32; 2]]| Series {
        name: name.into(),
        points: p.iter().map(|q| (q[0] as f64, q[1] as f64)).collect(),
    };
    scatter_plot(
        path,
        title,
        &[series("data", data), series("samples", samples)],
        4.5,
    )
}

/// Trains (or, with `resume`, continues from the latest checkpoint in `out`) and returns the
/// summary. Writes `loss.png` and `samples.png` (2000 EMA samples, by DDIM with 100 steps and
/// η = 1, beside data).
pub fn train_2d(cfg: &TrainConfig, out: &Path, device: &Device, resume: bool) -> Result<Value> {
    let start = Instant::now();
    let d = GaussianDiffusion::new(cfg.schedule, cfg.timesteps);
    let train_device = device.clone().autodiff();
    device.seed(cfg.seed);
    let mut state = fresh_state(cfg, &train_device);
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
        let x0 = points_tensor(&cfg.dataset.sample(cfg.batch_size, &mut rng), &train_device);
        let t: Vec<usize> = (0..cfg.batch_size)
            .map(|_| rng.below(cfg.timesteps))
            .collect();
        let eps = normal([cfg.batch_size, 2], &mut rng, &train_device);
        let xt = d.q_sample(x0.clone(), &t, eps.clone());
        let target = cfg.prediction.target(&d, x0, eps, &t);
        let weights: Vec<f64> = t
            .iter()
            .map(|&ti| cfg.prediction.weight(&d, ti, cfg.min_snr_gamma))
            .collect();
        let loss = weighted_mse(model.forward(xt, &t), target, &weights);
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
            run.log(&json!({"step": step, "loss": mean, "lr": lr}))?;
        }
        if step % cfg.checkpoint_every == 0 || step == cfg.steps {
            let st = CheckpointState {
                step: step as u64,
                rng: rng.state(),
                extra: json!({"dataset": cfg.dataset.name()}),
                model_sha256: String::new(),
                optimizer_sha256: None,
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
        line_plot(
            &loss_png,
            &format!("DDPM {}: training loss", cfg.dataset.name()),
            "step",
            "loss",
            &[s],
            true,
        )?;
    }
    let mut sample_rng = Rng::new(cfg.seed).fork(7);
    // A quick look (DDIM, 100 steps); `dlp ddpm eval` samples with the full ancestral chain.
    let sampler = Sampler::Ddim {
        steps: 100,
        eta: 1.0,
    };
    let x = sample(
        &ema,
        &d,
        cfg.prediction,
        sampler,
        None,
        [2000, 2],
        &mut sample_rng,
        device,
    );
    let samples = to_points(x);
    let data = cfg.dataset.sample(2000, &mut Rng::new(cfg.seed).fork(8));
    let samples_png = run.path("samples.png");
    plot_samples(
        &samples_png,
        &format!("DDPM {}: EMA samples", cfg.dataset.name()),
        &samples,
        &data,
    )?;
    run.write_summary(json!({
        "task": "ddpm-train",
        "dataset": cfg.dataset.name(),
        "steps": cfg.steps,
        "final_loss": curve.last().map(|p| p.1),
        "seconds": train_seconds,
        "steps_per_second": (cfg.steps + 1 - first) as f64 / train_seconds,
        "loss_plot": loss_png.display().to_string(),
        "samples_plot": samples_png.display().to_string(),
        "checkpoint": checkpoint::latest(out)?.map(|p| p.display().to_string()),
    }))
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
