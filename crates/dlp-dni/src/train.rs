//! A training run: the examples and the sequential loop that steps a [`Dni`] over the epochs
//! and reports test error and throughput (its settings: [`crate::config`]).

pub use crate::config::{Method, Optimizer, TrainConfig};
use crate::dni::{Dni, StepStats};
use crate::layers::Net;
pub use crate::summary::TrainSummary;
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use dlp_core::checkpoint::{self, CheckpointState};
use dlp_core::error::{Error, Result};
use dlp_core::plot::{Series, line_plot};
use dlp_core::progress::Progress;
use dlp_core::rng::Rng;
use dlp_core::run::RunDir;
use serde_json::json;
use std::path::Path;
use std::time::Instant;

/// Examples as flat feature rows with class labels.
pub struct Examples {
    pub x: Vec<f32>,
    pub y: Vec<usize>,
    pub dim: usize,
    pub classes: usize,
}

impl Examples {
    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    pub(crate) fn batch(&self, idx: &[usize], device: &Device) -> (Tensor<2>, Vec<usize>) {
        let x: Vec<f32> = idx
            .iter()
            .flat_map(|&i| self.x[i * self.dim..(i + 1) * self.dim].iter().copied())
            .collect();
        let y = idx.iter().map(|&i| self.y[i]).collect();
        (
            Tensor::from_data(TensorData::new(x, [idx.len(), self.dim]), device),
            y,
        )
    }
}

/// Test accuracy of `net` after precise batch norm on the first 10,000 training examples (see
/// [`Net::recalibrate`]).
pub(crate) fn accuracy(net: &Net, train: &Examples, data: &Examples, device: &Device) -> f64 {
    let first: Vec<usize> = (0..train.len().min(10_000)).collect();
    let calibration: Vec<Tensor<2>> = first
        .chunks(1000)
        .map(|idx| train.batch(idx, device).0)
        .collect();
    let net = net.valid().recalibrate(&calibration);
    let all: Vec<usize> = (0..data.len()).collect();
    let correct: usize = all
        .chunks(2048)
        .map(|idx| {
            let (x, y) = data.batch(idx, device);
            let [_, k] = [idx.len(), data.classes];
            let v = net
                .forward(x)
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap_or_default();
            v.chunks_exact(k)
                .zip(&y)
                .filter(|(row, l)| {
                    (0..k).fold(0, |b, j| if row[j] > row[b] { j } else { b }) == **l
                })
                .count()
        })
        .sum();
    correct as f64 / data.len().max(1) as f64
}

/// Trains and returns the summary (test error, seconds, samples per second, ...). With
/// `out`, a run directory (config.toml, metrics.jsonl, summary.json, loss.png) and a checkpoint
/// (every module, the optimiser state, the batch order's stream) written
/// after every epoch, and `resume` continues from the latest one to the same weights an
/// uninterrupted run reaches. A non-finite loss stops the run; the last checkpoint stays.
/// Run it inside [`dlp_core::device::in_pool`] for burn's parallel kernels to pay off (`dlp`
/// does).
pub fn train(
    cfg: &TrainConfig,
    train_set: &Examples,
    test_set: &Examples,
    device: &Device,
    out: Option<&Path>,
    resume: bool,
) -> Result<TrainSummary> {
    cfg.validate()?;
    dlp_core::device::check_memory(
        &format!("width {}", cfg.width),
        cfg.memory_estimate(train_set.dim, train_set.classes),
    )?;
    let start = Instant::now();
    let ad = device.clone().autodiff();
    ad.seed(cfg.seed);
    let mut dni = Dni::new(cfg, train_set.dim, train_set.classes, &ad);
    let mut rng = Rng::new(cfg.seed);
    let steps_per_epoch = train_set.len() / cfg.batch_size;
    // (step, mean loss of the last 20 steps).
    let (mut curve, mut window, mut step) = (Vec::<(usize, f64)>::new(), 0.0, 0usize);
    let mut first = 0;
    // (epoch, cosine of ĝ_i with the true ∂L/∂h_i per block) on the first batch of the data.
    let mut alignment = Vec::<(usize, Vec<f64>)>::new();
    let probe: Vec<usize> = (0..cfg.batch_size.min(train_set.len())).collect();
    if let (Some(dir), true) = (out, resume)
        && let Some(state) = dni.resume(dir)?
    {
        first = state.step as usize;
        rng = Rng::from_state(state.rng);
        curve = checkpoint::extra_field(&state.extra, dir, "curve")?;
        window = checkpoint::extra_field(&state.extra, dir, "window")?;
        // Absent from checkpoints written before the probe existed.
        alignment = checkpoint::extra_field::<Option<_>>(&state.extra, dir, "sg_alignment")?
            .unwrap_or_default();
        step = first * steps_per_epoch;
        eprintln!("resuming {} after epoch {first}", dir.display());
    }
    // With `out`, the run directory: config.toml, metrics.jsonl (every 20 steps), summary.json
    // and loss.png beside the checkpoints.
    let mut run = out.map(|dir| RunDir::create(dir, cfg)).transpose()?;
    let progress = Progress::new("dni train", (cfg.epochs * steps_per_epoch) as u64);
    progress.inc((first * steps_per_epoch) as u64);
    let mut last = StepStats::default();
    for epoch in first..cfg.epochs {
        for idx in rng.batches(train_set.len(), cfg.batch_size, true) {
            let (x, y) = train_set.batch(&idx, &ad);
            dni.set_learning_rate(cfg.rate_at(step, cfg.epochs * steps_per_epoch));
            let (next, stats) = dni.step(x, &y);
            if !stats.loss.is_finite() {
                return Err(Error::NonFinite(format!(
                    "loss is {} in epoch {}; training stopped{}",
                    stats.loss,
                    epoch + 1,
                    if out.is_some() {
                        " (the last checkpoint is the last good state)"
                    } else {
                        ""
                    }
                )));
            }
            (dni, last) = (next, stats);
            (window, step) = (window + stats.loss, step + 1);
            if step % 20 == 0 {
                curve.push((step, window / 20.0));
                if let Some(run) = &mut run {
                    run.log(&json!({"step": step, "epoch": epoch + 1, "loss": window / 20.0}))?;
                }
                window = 0.0;
            }
            progress.inc(1);
            progress.set_message(format!("loss {:.4} sg {:.2e}", last.loss, last.sg_loss));
        }
        if cfg.method != Method::Backprop {
            let (x, y) = train_set.batch(&probe, &ad);
            alignment.push((epoch + 1, dni.sg_alignment(x, &y)));
        }
        if let Some(dir) = out {
            let state = CheckpointState {
                step: epoch as u64 + 1,
                unit: dlp_core::checkpoint::Unit::Epoch,
                rng: rng.state(),
                extra: json!({"curve": curve, "window": window, "sg_alignment": alignment}),
                model_sha256: String::new(),
                optimizer_sha256: None,
                files: Default::default(),
            };
            dni.save(dir, state)?;
        }
    }
    progress.finish();
    let seconds = start.elapsed().as_secs_f64();
    let acc = accuracy(dni.net(), train_set, test_set, device);
    let mut summary = TrainSummary {
        task: "dni-train",
        dataset: cfg.dataset.clone(),
        seed: cfg.seed,
        method: cfg.method,
        arch: cfg.arch,
        width: cfg.width,
        epochs: cfg.epochs,
        layers: cfg.layers,
        update_prob: cfg.update_prob,
        lambda: cfg.lambda,
        lr_decay: cfg.lr_decay,
        test_error: 1.0 - acc,
        final_loss: last.loss,
        final_sg_loss: last.sg_loss,
        final_si_loss: last.si_loss,
        loss_curve: curve,
        sg_alignment: alignment,
        resumed_from_epoch: first,
        seconds,
        samples_per_second: ((cfg.epochs - first) * steps_per_epoch * cfg.batch_size) as f64
            / seconds,
        dlp_version: dlp_core::run::VERSION,
        run_dir: None,
    };
    match run {
        Some(run) => {
            let curve = &summary.loss_curve;
            let points = curve.iter().map(|&(s, l)| (s as f64, l)).collect();
            let loss = Series {
                name: format!("{:?}", cfg.method).to_lowercase(),
                points,
            };
            if !curve.is_empty() {
                line_plot(
                    &run.path("loss.png"),
                    "DNI: training loss",
                    "step",
                    "loss",
                    &[loss],
                    true,
                )?;
            }
            summary.run_dir = Some(run.dir().display().to_string());
            run.write_summary(&summary)?;
            Ok(summary)
        }
        None => Ok(summary),
    }
}
