//! A worker of the concurrent trainer: its modules (blocks with their synthetic-gradient models,
//! or the classifier), the messages between workers, and the loop that runs a worker's modules
//! on each batch as it arrives and trains their synthetic-gradient models from the targets
//! that come down.

use crate::config::TrainConfig;
use crate::dni::update_block;
use crate::layers::{Block, classify};
use crate::synthetic::{SyntheticGradient, labels_tensor};
use burn::nn::Linear;
use burn::nn::loss::CrossEntropyLoss;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use dlp_core::rng::Rng;
use dlp_core::tensor::scalar;
use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, Sender, SyncSender, TrySendError};
use std::time::Instant;

pub(super) struct Activation {
    pub(super) id: u64,
    /// The layers' rate for this batch ([`TrainConfig::rate_at`]).
    pub(super) lr: f64,
    pub(super) x: Tensor<2>,
    pub(super) labels: Vec<usize>,
}

pub(super) struct Target {
    pub(super) id: u64,
    pub(super) delta: Tensor<2>,
}

/// Seconds one module spent in each kind of work.
#[derive(Debug, Clone, Copy, Default)]
pub struct ModuleCost {
    pub forward: f64,
    pub backward: f64,
    pub synthetic: f64,
    pub communication: f64,
}

impl ModuleCost {
    pub(super) fn total(&self) -> f64 {
        self.forward + self.backward + self.synthetic + self.communication
    }
}

pub(super) fn timed<T>(slot: &mut f64, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    *slot += t.elapsed().as_secs_f64();
    out
}

pub(super) struct BlockModule {
    pub(super) block: Option<Block>,
    pub(super) sg: Option<SyntheticGradient>,
    pub(super) opt: ModuleOptimizer,
    pub(super) sg_opt: ModuleOptimizer,
    /// ĝ_i of the last few batches, still attached to M_i's graph, awaiting their targets.
    pub(super) kept: BTreeMap<u64, Tensor<2>>,
    pub(super) rng: Rng,
    /// Left at its random initialisation (`TrainConfig::freeze`).
    pub(super) frozen: bool,
    pub(super) cost: ModuleCost,
    pub(super) updates: usize,
    pub(super) sg_updates: usize,
}

pub(super) struct HeadModule {
    pub(super) classifier: Option<Linear>,
    /// The top block's ReLU comes first ([`crate::layers::Net::top_relu`]).
    pub(super) top_relu: bool,
    pub(super) opt: ModuleOptimizer,
    pub(super) loss_fn: CrossEntropyLoss,
    pub(super) cost: ModuleCost,
    pub(super) updates: usize,
    pub(super) last_loss: f64,
}

pub(super) enum Stage {
    Block(Box<BlockModule>),
    Head(Box<HeadModule>),
}

impl BlockModule {
    /// A block and its synthetic-gradient model M_i, each with the configured optimiser.
    pub(super) fn new(
        block: Block,
        sg: SyntheticGradient,
        cfg: &TrainConfig,
        rng: Rng,
        frozen: bool,
    ) -> Self {
        BlockModule {
            block: Some(block),
            sg: Some(sg),
            opt: cfg.optimizer.init(),
            sg_opt: cfg.optimizer.init(),
            kept: BTreeMap::new(),
            rng,
            frozen,
            cost: ModuleCost::default(),
            updates: 0,
            sg_updates: 0,
        }
    }

    /// Trains M_i on a target, if the prediction ĝ_i for its batch is still kept. Where M_i
    /// has stepped since that prediction (targets from another worker), the gradient is the
    /// one at the older weights, as in asynchronous SGD.
    pub(super) fn train_sg(&mut self, t: Target, sg_lr: f64) {
        let Some(g_hat) = self.kept.remove(&t.id) else {
            return;
        };
        let sg = self.sg.take().expect("synthetic-gradient model");
        let mut s = 0.0;
        let sg = timed(&mut s, || {
            let delta = t.delta.to_device(&g_hat.device());
            let loss = (g_hat - delta).square().mean();
            let grads = GradientsParams::from_grads(loss.backward(), &sg);
            self.sg_opt.step(sg_lr, sg, grads)
        });
        self.cost.synthetic += s;
        self.sg = Some(sg);
        self.sg_updates += 1;
    }

    /// Forward, update from ĝ; returns h (detached) and δ for the module below (if wanted).
    pub(super) fn step(
        &mut self,
        msg: &Activation,
        want_delta: bool,
        r: &TrainConfig,
    ) -> (Tensor<2>, Option<Target>) {
        let block = self.block.take().expect("block");
        let xin = if want_delta {
            msg.x.clone().require_grad()
        } else {
            msg.x.clone()
        };
        let h = timed(&mut self.cost.forward, || block.forward(xin.clone()));
        let sg = self.sg.as_ref().expect("synthetic-gradient model");
        let g_hat = timed(&mut self.cost.synthetic, || {
            sg.forward(h.clone().detach(), Some(&msg.labels))
        });
        let (block, delta) = timed(&mut self.cost.backward, || {
            let update = self.rng.uniform() < r.update_prob && !self.frozen;
            self.updates += usize::from(update);
            let g = g_hat.clone().detach();
            let (opt, lr) = (&mut self.opt, msg.lr);
            let (block, delta) =
                update_block(block, &xin, h.clone(), g, want_delta, update, opt, lr);
            (block, delta.map(|delta| Target { id: msg.id, delta }))
        });
        self.block = Some(block);
        let h = h.detach();
        self.kept.insert(msg.id, g_hat);
        while self.kept.len() > 8 {
            self.kept.pop_first();
        }
        (h, delta)
    }
}

impl HeadModule {
    /// The classifier with the configured optimiser.
    pub(super) fn new(
        classifier: Linear,
        top_relu: bool,
        cfg: &TrainConfig,
        loss_fn: CrossEntropyLoss,
    ) -> Self {
        HeadModule {
            classifier: Some(classifier),
            top_relu,
            opt: cfg.optimizer.init(),
            loss_fn,
            cost: ModuleCost::default(),
            updates: 0,
            last_loss: f64::NAN,
        }
    }

    pub(super) fn step(&mut self, msg: &Activation) -> Target {
        let b = msg.labels.len() as f64;
        let classifier = self.classifier.take().expect("classifier");
        let xin = msg.x.clone().require_grad();
        let device = xin.device();
        let loss = timed(&mut self.cost.forward, || {
            self.loss_fn.forward(
                classify(&classifier, xin.clone(), self.top_relu),
                labels_tensor(&msg.labels, &device),
            )
        });
        let (classifier, delta) = timed(&mut self.cost.backward, || {
            let grads = loss.backward();
            let delta = xin.grad(&grads).expect("input gradient") * b;
            let g = GradientsParams::from_grads(grads, &classifier);
            (self.opt.step(msg.lr, classifier, g), delta)
        });
        self.last_loss = scalar(loss);
        self.updates += 1;
        self.classifier = Some(classifier);
        Target { id: msg.id, delta }
    }
}

/// One worker: a contiguous group of modules, its device and its thread count.
pub(super) struct Worker {
    pub(super) stages: Vec<Stage>,
    pub(super) device: Device,
    pub(super) threads: usize,
    pub(super) first: bool,
}

/// What a worker reports.
pub(super) struct Report {
    pub(super) stages: Vec<Stage>,
    pub(super) busy: f64,
    pub(super) idle: f64,
}

impl Worker {
    pub(super) fn run(
        mut self,
        input: Receiver<Activation>,
        output: Option<SyncSender<Activation>>,
        targets: Option<Receiver<Target>>,
        down: Option<Sender<Target>>,
        cfg: &TrainConfig,
    ) -> Report {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .build()
            .expect("a worker thread pool");
        pool.install(move || {
            let (mut busy, mut idle) = (0.0, 0.0);
            loop {
                if let Some(rx) = &targets {
                    timed(&mut busy, || {
                        while let Ok(t) = rx.try_recv() {
                            self.last_block().train_sg(t, cfg.sg_learning_rate);
                        }
                    });
                }
                let Some(msg) = timed(&mut idle, || input.recv().ok()) else {
                    break;
                };
                let out = timed(&mut busy, || self.process(msg, &down, cfg));
                if let (Some(tx), Some(msg)) = (&output, out) {
                    let t = Instant::now();
                    match tx.try_send(msg) {
                        Ok(()) => busy += t.elapsed().as_secs_f64(),
                        Err(TrySendError::Full(msg)) => {
                            let sent = tx.send(msg);
                            idle += t.elapsed().as_secs_f64();
                            if sent.is_err() {
                                break;
                            }
                        }
                        Err(TrySendError::Disconnected(_)) => break,
                    }
                }
            }
            drop(output);
            // Targets for the last batches arrive until the worker above has finished.
            if let Some(rx) = targets {
                for t in rx {
                    timed(&mut busy, || {
                        self.last_block().train_sg(t, cfg.sg_learning_rate)
                    });
                }
            }
            Report {
                stages: self.stages,
                busy,
                idle,
            }
        })
    }

    fn last_block(&mut self) -> &mut BlockModule {
        match self.stages.last_mut() {
            Some(Stage::Block(b)) => b,
            _ => unreachable!("only a worker that ends in a block receives targets"),
        }
    }

    /// Runs the batch through this worker's modules; returns the activation for the next.
    fn process(
        &mut self,
        mut msg: Activation,
        down: &Option<Sender<Target>>,
        cfg: &TrainConfig,
    ) -> Option<Activation> {
        let n = self.stages.len();
        for j in 0..n {
            let (below, rest) = self.stages.split_at_mut(j);
            let want_delta = j > 0 || !self.first;
            let (h, delta, cost) = match &mut rest[0] {
                Stage::Block(b) => {
                    if j == 0 {
                        let x = msg.x.clone();
                        msg.x = timed(&mut b.cost.communication, || x.to_device(&self.device));
                    }
                    let (h, d) = b.step(&msg, want_delta, cfg);
                    (Some(h), d, &mut b.cost)
                }
                Stage::Head(h) => {
                    if j == 0 {
                        let x = msg.x.clone();
                        msg.x = timed(&mut h.cost.communication, || x.to_device(&self.device));
                    }
                    let d = h.step(&msg);
                    (None, Some(d), &mut h.cost)
                }
            };
            if let Some(d) = delta {
                match below.last_mut() {
                    Some(Stage::Block(prev)) => prev.train_sg(d, cfg.sg_learning_rate),
                    Some(Stage::Head(_)) => unreachable!("the classifier is the last module"),
                    None => {
                        if let Some(tx) = down {
                            timed(&mut cost.communication, || tx.send(d).ok());
                        }
                    }
                }
            }
            match h {
                Some(h) => msg.x = h,
                None => return None,
            }
        }
        Some(msg)
    }
}
