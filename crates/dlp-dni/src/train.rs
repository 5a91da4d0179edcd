//! A training run: its settings ([`TrainConfig`]), the examples, and the sequential loop that
//! steps a [`Dni`] over the epochs and reports test error and throughput.

use crate::dni::{Dni, StepStats};
use crate::layers::{Arch, Interface, Net};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use dlp_core::checkpoint::{self, CheckpointState};
use dlp_core::error::{Error, Result};
use dlp_core::progress::Progress;
use dlp_core::rng::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Instant;

/// How gradients reach the layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Backprop,
    Dni,
    Cdni,
    /// Forward and backward unlocked: synthetic inputs and (conditional) synthetic gradients.
    Decoupled,
}

/// The optimiser of every module and model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    /// Adam (the paper's).
    Adam,
    /// Plain SGD: an update is the gradient times the rate (tests compare methods exactly).
    Sgd,
}

impl std::str::FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "backprop" | "bp" => Ok(Self::Backprop),
            "dni" => Ok(Self::Dni),
            "cdni" => Ok(Self::Cdni),
            "decoupled" => Ok(Self::Decoupled),
            other => Err(Error::Usage(format!(
                "--method: `{other}` (expected backprop, dni, cdni or decoupled)"
            ))),
        }
    }
}

/// A training run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    pub method: Method,
    /// FC or CNN blocks.
    pub arch: Arch,
    pub layers: usize,
    /// Units of an FC block, channels of a convolutional one.
    pub width: usize,
    pub batch_size: usize,
    pub epochs: usize,
    pub learning_rate: f64,
    /// Multi-step decay of `learning_rate` (see [`TrainConfig::rate_at`]); M_i's rate stays.
    #[serde(default)]
    pub lr_decay: bool,
    pub sg_learning_rate: f64,
    /// Hidden units of the synthetic-gradient models (0: linear).
    pub sg_hidden: usize,
    /// Where modules meet, and so what the synthetic-gradient models see.
    #[serde(default)]
    pub interface: Interface,
    /// FC blocks start from orthogonal weights ([`Net::orthogonalised`]) instead of burn's
    /// Kaiming-uniform ones.
    #[serde(default)]
    pub orthogonal_init: bool,
    /// As `orthogonal_init`, and square FC blocks start at the identity
    /// ([`Net::with_identity_blocks`]).
    #[serde(default)]
    pub identity_init: bool,
    /// Stochastic updates (paper, Section 3.3): each module updates its layer with this
    /// probability at each step (1: always). Synthetic-gradient methods only.
    pub update_prob: f64,
    /// BP(λ): modules use λ·δ + (1 − λ)·ĝ, δ the gradient from the module above (0: DNI).
    pub lambda: f64,
    /// Leave this many bottom blocks at their random initialisation (a baseline; all of them:
    /// the classifier alone learns, on random features).
    pub freeze: usize,
    pub optimizer: Optimizer,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            method: Method::Dni,
            arch: Arch::Fc,
            layers: 3,
            width: 256,
            batch_size: 256,
            epochs: 1,
            learning_rate: 1e-3,
            lr_decay: false,
            sg_learning_rate: 1e-2,
            sg_hidden: 0,
            interface: Interface::Output,
            orthogonal_init: false,
            identity_init: false,
            update_prob: 1.0,
            lambda: 0.0,
            freeze: 0,
            optimizer: Optimizer::Adam,
            seed: 0,
        }
    }
}

impl TrainConfig {
    /// The rate of the layers (blocks, classifier, synthetic inputs) at `step` of `total`:
    /// `learning_rate`, and with `lr_decay` a multi-step schedule (PyTorch's `MultiStepLR`,
    /// γ = 0.1) that divides it by 10 from 60% of the steps and by 100 from 80%.
    pub fn rate_at(&self, step: usize, total: usize) -> f64 {
        let factor = match (self.lr_decay, step * 5) {
            (true, s) if s >= total * 4 => 0.01,
            (true, s) if s >= total * 3 => 0.1,
            _ => 1.0,
        };
        self.learning_rate * factor
    }

    /// A fresh network for `input` features and `classes` classes as these settings build it:
    /// the architecture, its interface and its initialisation.
    pub fn net(&self, input: usize, classes: usize, device: &Device) -> Net {
        let net = Net::new(self.arch, input, self.width, self.layers, classes, device)
            .with_interface(self.interface);
        match (self.orthogonal_init, self.identity_init) {
            (_, true) => net.orthogonalised(device).with_identity_blocks(device),
            (true, false) => net.orthogonalised(device),
            (false, false) => net,
        }
    }

    /// Bytes a run on `input` features and `classes` classes needs, roughly: the blocks' and the
    /// synthetic-gradient models' weights with their gradients and Adam's two moments, and a
    /// batch's activations kept for the backward pass.
    pub fn memory_estimate(&self, input: usize, classes: usize) -> f64 {
        let (w, l, b) = (
            self.width as f64,
            self.layers as f64,
            self.batch_size as f64,
        );
        let (input, classes) = (input as f64, classes as f64);
        let sg = (self.sg_hidden.max(1) as f64).max(w);
        let (params, activations) = match self.arch {
            Arch::Fc => (
                input * w + (l - 1.0) * w * w + w * classes + 2.0 * l * w * sg,
                b * w * l,
            ),
            // 5×5 convolutions of `w` channels at up to the input's size.
            Arch::Cnn { image: [c, h, iw] } => (
                25.0 * (c as f64 * w + (l - 1.0) * w * w) + 2.0 * l * 25.0 * w * sg + w * classes,
                b * w * (h * iw) as f64 * l,
            ),
        };
        4.0 * (4.0 * params + 8.0 * activations)
    }

    /// Checks the settings, naming the one that is wrong.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Usage(m));
        if self.layers < 2 {
            return bad(format!(
                "layers: {} (at least 2 blocks, so that one is decoupled from another)",
                self.layers
            ));
        }
        if self.width == 0 || self.batch_size == 0 || self.epochs == 0 {
            return bad("width, batch size and epochs must be at least 1".into());
        }
        if !(self.update_prob > 0.0 && self.update_prob <= 1.0) {
            return bad(format!(
                "update_prob: {} is not in (0, 1]",
                self.update_prob
            ));
        }
        if !(0.0..=1.0).contains(&self.lambda) {
            return bad(format!("lambda: {} is not in [0, 1]", self.lambda));
        }
        if self.method == Method::Decoupled && self.arch != Arch::Fc {
            return bad("method decoupled (synthetic inputs) is for the FC nets".into());
        }
        if self.interface == Interface::Preactivation && self.arch != Arch::Fc {
            return bad("interface preactivation is for the FC nets".into());
        }
        if (self.orthogonal_init || self.identity_init) && self.arch != Arch::Fc {
            return bad("orthogonal initialisation is for the FC nets".into());
        }
        if self.freeze > self.layers {
            return bad(format!(
                "freeze: {} is more than the {} blocks",
                self.freeze, self.layers
            ));
        }
        Ok(())
    }
}

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

pub(crate) fn scalar(t: Tensor<1>) -> f64 {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map(|v| v[0] as f64)
        .unwrap_or(f64::NAN)
}

/// Trains and returns the summary (`test_error`, `seconds`, `samples_per_second`, ...). With
/// `out`, a checkpoint (every module, the optimiser state, the batch order's stream) is written
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
) -> Result<Value> {
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
                rng: rng.state(),
                extra: json!({"curve": curve, "window": window, "sg_alignment": alignment}),
                model_sha256: String::new(),
                optimizer_sha256: None,
            };
            dni.save(dir, state)?;
        }
    }
    progress.finish();
    let seconds = start.elapsed().as_secs_f64();
    let acc = accuracy(dni.net(), train_set, test_set, device);
    Ok(json!({
        "task": "dni-train",
        "method": cfg.method,
        "layers": cfg.layers,
        "update_prob": cfg.update_prob,
        "lambda": cfg.lambda,
        "lr_decay": cfg.lr_decay,
        "test_error": 1.0 - acc,
        "final_loss": last.loss,
        "final_sg_loss": last.sg_loss,
        "final_si_loss": last.si_loss,
        "loss_curve": curve,
        "sg_alignment": alignment,
        "resumed_from_epoch": first,
        "seconds": seconds,
        "samples_per_second": ((cfg.epochs - first) * steps_per_epoch * cfg.batch_size) as f64
            / seconds,
        "dlp_version": dlp_core::run::VERSION,
    }))
}
