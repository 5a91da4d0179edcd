//! Training by backprop, DNI and cDNI on the same [`FcNet`], executed sequentially: this defines
//! the semantics that a concurrent trainer must reproduce.
//!
//! DNI between every layer (Jaderberg et al. 2017, Section 2 and Fig. 3): module i (block i; the
//! classifier is the last module) takes its input detached, and a synthetic-gradient model M_i
//! predicts ĝ_i ≈ ∂L/∂h_i from its output h_i (cDNI: and the label). Module i updates at once
//! from ĝ_i, by the gradient of Σ h_i · ĝ_i / B. M_i learns to regress the bootstrapped target
//! δ_i: the gradient that module i+1's own update sends back to h_i (the next synthetic gradient
//! backpropagated through the next module), or, for the module before the classifier, the true
//! gradient of the loss. Targets and ĝ are per-example gradients (scaled by the batch size B).

use crate::layers::{Block, FcNet};
use crate::synthetic::{SyntheticGradient, labels_tensor};
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use dlp_core::error::{Error, Result};
use dlp_core::progress::Progress;
use dlp_core::rng::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::Instant;

/// How gradients reach the layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Backprop,
    Dni,
    Cdni,
}

impl std::str::FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "backprop" | "bp" => Ok(Self::Backprop),
            "dni" => Ok(Self::Dni),
            "cdni" => Ok(Self::Cdni),
            other => Err(Error::Usage(format!(
                "--method: `{other}` (expected backprop, dni or cdni)"
            ))),
        }
    }
}

/// A training run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    pub method: Method,
    pub layers: usize,
    pub width: usize,
    pub batch_size: usize,
    pub epochs: usize,
    pub learning_rate: f64,
    pub sg_learning_rate: f64,
    /// Hidden units of the synthetic-gradient models (0: linear).
    pub sg_hidden: usize,
    /// Stochastic updates (paper, Section 3.3): each module updates its layer with this
    /// probability at each step (1: always). DNI and cDNI only.
    pub update_prob: f64,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            method: Method::Dni,
            layers: 3,
            width: 256,
            batch_size: 256,
            epochs: 1,
            learning_rate: 1e-3,
            sg_learning_rate: 1e-3,
            sg_hidden: 0,
            update_prob: 1.0,
            seed: 0,
        }
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

pub(crate) fn accuracy(net: &FcNet, data: &Examples, device: &Device) -> f64 {
    let net = net.valid();
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

/// Trains and returns the summary (`test_error`, `seconds`, `samples_per_second`, ...).
pub fn train(
    cfg: &TrainConfig,
    train_set: &Examples,
    test_set: &Examples,
    device: &Device,
) -> Result<Value> {
    let start = Instant::now();
    let ad = device.clone().autodiff();
    ad.seed(cfg.seed);
    let mut net = FcNet::new(train_set.dim, cfg.width, cfg.layers, train_set.classes, &ad);
    let loss_fn = CrossEntropyLossConfig::new().init(&ad);
    let mut rng = Rng::new(cfg.seed);
    let steps_per_epoch = train_set.len() / cfg.batch_size;
    let progress = Progress::new("dni train", (cfg.epochs * steps_per_epoch) as u64);
    let classes = (cfg.method == Method::Cdni).then_some(train_set.classes);
    let mut sgs: Vec<SyntheticGradient> = (0..cfg.layers)
        .map(|_| SyntheticGradient::new(cfg.width, cfg.sg_hidden, classes, &ad))
        .collect();
    let adam = || AdamConfig::new().init();
    let mut block_opt: Vec<ModuleOptimizer> = (0..cfg.layers).map(|_| adam()).collect();
    let mut sg_opt: Vec<ModuleOptimizer> = (0..cfg.layers).map(|_| adam()).collect();
    let mut head_opt = adam();
    // A stream of its own, so that skipping updates does not change the data order.
    let mut update_rng = rng.fork(1 << 40);
    let (mut last_loss, mut last_sg_loss) = (f64::NAN, 0.0);
    for _ in 0..cfg.epochs {
        for idx in rng.batches(train_set.len(), cfg.batch_size, true) {
            let (x, y) = train_set.batch(&idx, &ad);
            let yt = labels_tensor(&y, &ad);
            if cfg.method == Method::Backprop {
                let loss = loss_fn.forward(net.forward(x), yt);
                let grads = GradientsParams::from_grads(loss.backward(), &net);
                last_loss = scalar(loss);
                net = head_opt.step(cfg.learning_rate, net, grads);
            } else {
                let b = idx.len() as f64;
                // Forward, each module on its detached input.
                let mut inputs = Vec::with_capacity(cfg.layers);
                let mut outputs = Vec::with_capacity(cfg.layers);
                let mut h = x;
                for block in &net.blocks {
                    let xin = h.detach().require_grad();
                    let out = block.forward(xin.clone());
                    h = out.clone();
                    inputs.push(xin);
                    outputs.push(out);
                }
                // The last module: the classifier on the true loss.
                let xin = h.detach().require_grad();
                let loss = loss_fn.forward(net.classifier.forward(xin.clone()), yt);
                let grads = loss.backward();
                let mut target = xin.grad(&grads).expect("input gradient") * b;
                last_loss = scalar(loss);
                let head_grads = GradientsParams::from_grads(grads, &net.classifier);
                let FcNet {
                    mut blocks,
                    classifier,
                } = net;
                let classifier = head_opt.step(cfg.learning_rate, classifier, head_grads);
                // Modules from the top down: update from ĝ, pass the bootstrapped target down.
                let mut sg_loss_sum = 0.0;
                let mut new_blocks: Vec<Block> = Vec::with_capacity(cfg.layers);
                for i in (0..cfg.layers).rev() {
                    let block = blocks.pop().expect("one block per layer");
                    let out = outputs.pop().expect("one output per block");
                    let xin = inputs.pop().expect("one input per block");
                    let g_hat = sgs[i].forward(out.clone().detach(), Some(&y));
                    // M_i regresses the target δ_i.
                    let sg_loss = (g_hat.clone() - target.clone().detach()).square().mean();
                    let sg_grads = GradientsParams::from_grads(sg_loss.backward(), &sgs[i]);
                    sg_loss_sum += scalar(sg_loss);
                    let sg = sgs.remove(i);
                    sgs.insert(i, sg_opt[i].step(cfg.sg_learning_rate, sg, sg_grads));
                    // Module i updates from ĝ_i and sends δ_{i−1} down.
                    let surrogate = (out * (g_hat.detach() / b)).sum();
                    let grads = surrogate.backward();
                    if i > 0 {
                        target = xin.grad(&grads).expect("input gradient") * b;
                    }
                    if update_rng.uniform() < cfg.update_prob {
                        let block_grads = GradientsParams::from_grads(grads, &block);
                        new_blocks.push(block_opt[i].step(cfg.learning_rate, block, block_grads));
                    } else {
                        new_blocks.push(block);
                    }
                }
                new_blocks.reverse();
                last_sg_loss = sg_loss_sum / cfg.layers as f64;
                net = FcNet {
                    blocks: new_blocks,
                    classifier,
                };
            }
            if !last_loss.is_finite() {
                return Err(Error::NonFinite(format!(
                    "loss is {last_loss}; training stopped"
                )));
            }
            progress.inc(1);
            progress.set_message(format!("loss {last_loss:.4} sg {last_sg_loss:.2e}"));
        }
    }
    progress.finish();
    let seconds = start.elapsed().as_secs_f64();
    let acc = accuracy(&net, test_set, device);
    Ok(json!({
        "task": "dni-train",
        "method": cfg.method,
        "layers": cfg.layers,
        "test_error": 1.0 - acc,
        "final_loss": last_loss,
        "final_sg_loss": last_sg_loss,
        "seconds": seconds,
        "samples_per_second": (cfg.epochs * steps_per_epoch * cfg.batch_size) as f64 / seconds,
        "dlp_version": dlp_core::run::VERSION,
    }))
}
