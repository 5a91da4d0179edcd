//! [`Dni`], the entry type: an [`Net`] with its synthetic-gradient models M_i, its
//! synthetic-input models I_i and their optimisers, trained one batch at a time by backprop,
//! DNI, cDNI or with forward and backward both decoupled. This sequential step defines the
//! semantics that the concurrent trainer reproduces.
//!
//! Module i < L is block i; the classifier is module L. One DNI step (Jaderberg et al. 2017,
//! Sections 2–3, Fig. 3):
//! 1. forward, each module on its own detached input: h_i = f_i(h_{i−1}); decoupled, module
//!    i ≥ 1 runs on ĥ_{i−1} = I_i(x) instead, and I_i regresses the true h_{i−1} (at the
//!    layers' learning rate);
//! 2. the classifier updates on the true loss L and sends δ_{L−1} = B·∂L/∂h_{L−1} down;
//! 3. from the top block down, M_i regresses δ_i with the loss `mean((ĝ_i − δ_i)²)`; module i
//!    uses g_i = λ·δ_i + (1 − λ)·ĝ_i (BP(λ): λ = 0 is DNI, λ = 1 is backprop), updates by
//!    ∂(Σ h_i · g_i)/B with probability p (stochastic updates, Section 3.3), and sends down the
//!    bootstrapped target δ_{i−1} = ∂(Σ h_i · g_i)/∂h_{i−1}.
//!
//! Gradients δ, ĝ and g are per example: B times the gradient of the batch-mean loss, so that
//! the targets do not shrink with the batch size.
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use dlp_dni::dni::Dni;
//! use dlp_dni::train::{Method, TrainConfig};
//! let device = Device::flex().autodiff();
//! let cfg = TrainConfig { method: Method::Cdni, layers: 2, width: 16, ..TrainConfig::default() };
//! let dni = Dni::new(&cfg, 4, 3, &device);
//! let x = Tensor::<2>::ones([8, 4], &device);
//! let (dni, stats) = dni.step(x, &[0, 1, 2, 0, 1, 2, 0, 1]);
//! assert!(stats.loss.is_finite());
//! assert_eq!(dni.net().blocks.len(), 2);
//! ```

use crate::config::{Method, TrainConfig};
use crate::layers::{Block, Net, classify};
use crate::synthetic::{SyntheticGradient, SyntheticInput, labels_tensor};
use burn::module::Module;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use dlp_core::checkpoint::{self, CheckpointState};
use dlp_core::error::Result;
use dlp_core::rng::Rng;
use dlp_core::tensor::scalar;
use serde_json::json;
use std::path::Path;

/// Losses of one step.
#[derive(Debug, Clone, Copy, Default)]
pub struct StepStats {
    /// The classifier's cross-entropy.
    pub loss: f64,
    /// Mean synthetic-gradient loss over the blocks (0 for backprop).
    pub sg_loss: f64,
    /// Mean synthetic-input loss over modules 1..=L (0 unless decoupled).
    pub si_loss: f64,
}

/// Everything a method trains, as one module so that one checkpoint holds it: the network, the
/// synthetic-gradient models M_i and the synthetic-input models I_i.
#[derive(Module, Debug)]
pub struct DniModules {
    pub net: Net,
    pub sgs: Vec<SyntheticGradient>,
    pub sis: Vec<SyntheticInput>,
}

/// A network with everything one of the methods needs to train it. One optimiser state covers
/// every module (Adam's moments and step count are per parameter, so this is the same as one
/// optimiser per module), each module stepped at its own rate.
pub struct Dni {
    cfg: TrainConfig,
    m: DniModules,
    opt: ModuleOptimizer,
    loss_fn: CrossEntropyLoss,
    update_rng: Rng,
}

impl Dni {
    /// A fresh network for `input` features and `classes` classes on an autodiff `device`.
    pub fn new(cfg: &TrainConfig, input: usize, classes: usize, device: &Device) -> Self {
        let net = cfg.net(input, classes, device);
        let synthetic = cfg.method != Method::Backprop;
        let labels = matches!(cfg.method, Method::Cdni | Method::Decoupled).then_some(classes);
        let sgs = net
            .block_shapes()
            .into_iter()
            .filter(|_| synthetic)
            .map(|shape| {
                SyntheticGradient::for_block(cfg.arch, shape, cfg.sg_hidden, labels, device)
            })
            .collect();
        let sis = (0..cfg.layers)
            .filter(|_| cfg.method == Method::Decoupled)
            .map(|_| SyntheticInput::new(input, cfg.width, cfg.width, device))
            .collect();
        Self {
            cfg: cfg.clone(),
            m: DniModules { net, sgs, sis },
            opt: cfg.optimizer.init(),
            loss_fn: CrossEntropyLossConfig::new().init(device),
            // A stream of its own, so that skipping updates does not change anything else.
            update_rng: Rng::new(cfg.seed).fork(1 << 40),
        }
    }

    /// Sets the rate of the layers for the next steps (the schedule's; M_i's rate is fixed).
    pub fn set_learning_rate(&mut self, lr: f64) {
        self.cfg.learning_rate = lr;
    }

    /// The network as trained so far.
    pub fn net(&self) -> &Net {
        &self.m.net
    }

    /// The trained network.
    pub fn into_net(self) -> Net {
        self.m.net
    }

    /// Writes a checkpoint of every module and the optimiser state under `out` at `step`;
    /// `state.extra` gets the update-sampling stream (see `dlp_core::checkpoint`).
    pub fn save(&self, out: &Path, mut state: CheckpointState) -> Result<()> {
        state.extra["update_rng"] = json!(self.update_rng.state());
        checkpoint::save(out, &self.m, Some(&self.opt), &state, 2).map(|_| ())
    }

    /// Restores the latest checkpoint under `out`, if any, and returns its state.
    pub fn resume(&mut self, out: &Path) -> Result<Option<CheckpointState>> {
        let Some(loaded) = checkpoint::load_latest(out, self.m.clone())? else {
            return Ok(None);
        };
        self.m = loaded.model;
        if let Some(record) = loaded.optimizer {
            self.opt =
                std::mem::replace(&mut self.opt, self.cfg.optimizer.init()).load_record(record);
        }
        let rng = checkpoint::extra_field(&loaded.state.extra, &loaded.dir, "update_rng")?;
        self.update_rng = Rng::from_state(rng);
        Ok(Some(loaded.state))
    }

    /// One training step on the batch `x` `[B, input]` with labels `y`.
    pub fn step(self, x: Tensor<2>, y: &[usize]) -> (Self, StepStats) {
        if self.cfg.method == Method::Backprop {
            self.step_backprop(x, y)
        } else {
            self.step_decoupled(x, y)
        }
    }

    fn step_backprop(mut self, x: Tensor<2>, y: &[usize]) -> (Self, StepStats) {
        let lr = self.cfg.learning_rate;
        let loss = self
            .loss_fn
            .forward(self.m.net.forward(x.clone()), labels_tensor(y, &x.device()));
        let mut grads = loss.backward();
        let Net { blocks, classifier } = self.m.net;
        let mut updated = Vec::with_capacity(blocks.len());
        for (i, block) in blocks.into_iter().enumerate() {
            let g = GradientsParams::from_module(&mut grads, &block);
            updated.push(if i < self.cfg.freeze {
                block
            } else {
                self.opt.step(lr, block, g)
            });
        }
        let g = GradientsParams::from_module(&mut grads, &classifier);
        let classifier = self.opt.step(lr, classifier, g);
        self.m.net = Net {
            blocks: updated,
            classifier,
        };
        let stats = StepStats {
            loss: scalar(loss),
            ..StepStats::default()
        };
        (self, stats)
    }

    fn step_decoupled(mut self, x: Tensor<2>, y: &[usize]) -> (Self, StepStats) {
        let cfg = self.cfg.clone();
        let (b, layers) = (y.len() as f64, cfg.layers);
        let decoupled = cfg.method == Method::Decoupled;
        // 1. Forward: each module's input, detached, and its output.
        let mut inputs: Vec<Tensor<2>> = Vec::with_capacity(layers + 1);
        let mut outputs: Vec<Tensor<2>> = Vec::with_capacity(layers);
        let mut si_loss = 0.0;
        let mut h = x.clone();
        for (i, block) in self.m.net.blocks.iter().enumerate() {
            let xin = if decoupled && i > 0 {
                synthetic_input(
                    &mut self.m.sis,
                    &mut self.opt,
                    cfg.learning_rate,
                    i - 1,
                    &x,
                    &h,
                    &mut si_loss,
                )
            } else {
                h.clone()
            };
            let xin = xin.detach().require_grad();
            let out = block.forward(xin.clone());
            h = if decoupled {
                // The true chain, for the synthetic inputs' targets.
                block.forward(h.detach()).detach()
            } else {
                out.clone()
            };
            inputs.push(xin);
            outputs.push(out);
        }
        let top = if decoupled {
            synthetic_input(
                &mut self.m.sis,
                &mut self.opt,
                cfg.learning_rate,
                layers - 1,
                &x,
                &h,
                &mut si_loss,
            )
        } else {
            h
        };
        // 2. The classifier on the true loss.
        let xin = top.detach().require_grad();
        let loss = self.loss_fn.forward(
            classify(&self.m.net.classifier, xin.clone(), self.m.net.top_relu()),
            labels_tensor(y, &x.device()),
        );
        let mut grads = loss.backward();
        let mut delta = xin.grad(&grads).expect("input gradient") * b;
        let Net {
            mut blocks,
            classifier,
        } = self.m.net;
        let g = GradientsParams::from_module(&mut grads, &classifier);
        let classifier = self.opt.step(cfg.learning_rate, classifier, g);
        // 3. Blocks from the top down.
        let mut sg_loss = 0.0;
        let mut new_blocks: Vec<Block> = Vec::with_capacity(layers);
        let mut new_sgs: Vec<SyntheticGradient> = Vec::with_capacity(layers);
        for i in (0..layers).rev() {
            let (block, out, xin) = (
                blocks.pop().expect("a block per layer"),
                outputs.pop().expect("an output per block"),
                inputs.pop().expect("an input per block"),
            );
            let sg = self.m.sgs.pop().expect("a synthetic gradient per block");
            let g_hat = sg.forward(out.clone().detach(), Some(y));
            let regress = (g_hat.clone() - delta.clone().detach()).square().mean();
            let sg_grads = GradientsParams::from_grads(regress.backward(), &sg);
            sg_loss += scalar(regress);
            new_sgs.push(self.opt.step(cfg.sg_learning_rate, sg, sg_grads));
            let g_used = if cfg.lambda > 0.0 {
                delta.clone().detach() * cfg.lambda + g_hat.detach() * (1.0 - cfg.lambda)
            } else {
                g_hat.detach()
            };
            let update = self.update_rng.uniform() < cfg.update_prob && i >= cfg.freeze;
            let lr = cfg.learning_rate;
            let (block, below) =
                update_block(block, &xin, out, g_used, i > 0, update, &mut self.opt, lr);
            if let Some(below) = below {
                delta = below;
            }
            new_blocks.push(block);
        }
        new_blocks.reverse();
        new_sgs.reverse();
        self.m.sgs = new_sgs;
        self.m.net = Net {
            blocks: new_blocks,
            classifier,
        };
        let stats = StepStats {
            loss: scalar(loss),
            sg_loss: sg_loss / layers as f64,
            si_loss: si_loss / layers as f64,
        };
        (self, stats)
    }
}

impl Dni {
    /// How well each block's synthetic gradient predicts the true one on the batch `x`: the
    /// cosine between ĝ_i = M_i(h_i) and ∂L/∂h_i, backpropagated through the true chain of
    /// modules above, over the whole batch (the measure Czarnecki et al. 2017 track); bottom
    /// block first, empty for backprop, 0 where ĝ_i = 0. Its forward passes move only batch
    /// norm's running statistics, which testing recomputes ([`Net::recalibrate`]).
    pub fn sg_alignment(&self, x: Tensor<2>, y: &[usize]) -> Vec<f64> {
        if self.m.sgs.is_empty() {
            return Vec::new();
        }
        let b = y.len() as f64;
        let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
        let mut h = x.clone();
        for block in &self.m.net.blocks {
            let xin = h.detach().require_grad();
            h = block.forward(xin.clone());
            inputs.push(xin);
            outputs.push(h.clone());
        }
        let top = h.detach().require_grad();
        let logits = classify(&self.m.net.classifier, top.clone(), self.m.net.top_relu());
        let loss = self.loss_fn.forward(logits, labels_tensor(y, &x.device()));
        let mut delta = top.grad(&loss.backward()).expect("input gradient") * b;
        let mut cos = vec![0.0; outputs.len()];
        for i in (0..outputs.len()).rev() {
            let g_hat = self.m.sgs[i].forward(outputs[i].clone().detach(), Some(y));
            let dot = scalar((g_hat.clone() * delta.clone()).sum());
            let norms = scalar(g_hat.square().sum()) * scalar(delta.clone().square().sum());
            cos[i] = if norms > 0.0 { dot / norms.sqrt() } else { 0.0 };
            if i > 0 {
                let grads = (outputs[i].clone() * (delta / b)).sum().backward();
                delta = inputs[i].grad(&grads).expect("input gradient") * b;
            }
        }
        cos
    }
}

/// Step 3's block update, shared with the concurrent workers: given the per-example gradient
/// `g` for the block's output `out` (computed from the input `xin`), steps the block by
/// ∂(Σ out·g)/B when `update`, and returns it with δ = B·∂(Σ out·g)/∂xin for the module below
/// when `want_delta` (`xin` must then require its gradient).
#[allow(clippy::too_many_arguments)]
pub(crate) fn update_block(
    block: Block,
    xin: &Tensor<2>,
    out: Tensor<2>,
    g: Tensor<2>,
    want_delta: bool,
    update: bool,
    opt: &mut ModuleOptimizer,
    lr: f64,
) -> (Block, Option<Tensor<2>>) {
    let b = out.dims()[0] as f64;
    let grads = (out * (g / b)).sum().backward();
    let delta = want_delta
        .then(|| xin.grad(&grads))
        .flatten()
        .map(|d| d * b);
    if !update {
        return (block, delta);
    }
    let g = GradientsParams::from_grads(grads, &block);
    (opt.step(lr, block, g), delta)
}

/// ĥ = I_{k+1}(x) for module k + 1, after one regression step of I_{k+1} on the true input `h`;
/// adds the regression loss to `total`.
fn synthetic_input(
    sis: &mut [SyntheticInput],
    opt: &mut ModuleOptimizer,
    lr: f64,
    k: usize,
    x: &Tensor<2>,
    h: &Tensor<2>,
    total: &mut f64,
) -> Tensor<2> {
    let si = sis[k].clone();
    let pred = si.forward(x.clone());
    let regress = (pred.clone() - h.clone().detach()).square().mean();
    let grads = GradientsParams::from_grads(regress.backward(), &si);
    *total += scalar(regress);
    sis[k] = opt.step(lr, si, grads);
    pred.detach()
}
