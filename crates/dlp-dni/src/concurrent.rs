//! The concurrent trainer: every module of a DNI network is a worker thread that owns its
//! layer, its synthetic-gradient model and their optimisers, linked to its neighbours by
//! channels, and that never waits for a gradient to update.
//!
//! Activations flow up through bounded channels (two batches in flight per link). Worker i
//! updates its block from ĝ_i = M_i(h_i[, y]) as soon as it has computed h_i, then sends the
//! bootstrapped target δ_{i−1} (the gradient of h_i · ĝ_i w.r.t. its input) down to worker i−1
//! on an unbounded channel; the classifier worker sends the true gradient. A worker trains M_i
//! on whatever targets have arrived when it next looks (`try_recv`), matched to the h_i it kept
//! for that batch, so targets are stale by a batch or two, as in asynchronous DNI. Workers share
//! the one CPU thread pool of the process, so they do not oversubscribe the cores. Each reports
//! its busy time (computing) and idle time (waiting for input or for room downstream).

use crate::layers::{Block, FcNet};
use crate::synthetic::{SyntheticGradient, labels_tensor};
use crate::train::{Examples, Method, TrainConfig, accuracy, scalar};
use burn::module::Module;
use burn::nn::Linear;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor};
use dlp_core::error::{Error, Result};
use dlp_core::rng::Rng;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::time::Instant;

struct Activation {
    id: u64,
    x: Tensor<2>,
    labels: Vec<usize>,
}

struct Target {
    id: u64,
    delta: Tensor<2>,
}

/// Busy and idle seconds of one worker.
#[derive(Debug, Clone, Default)]
pub struct WorkerStats {
    pub busy: f64,
    pub idle: f64,
    pub updates: usize,
    pub sg_updates: usize,
}

impl WorkerStats {
    /// The next message, its wait counted as idle time; `None` once the sender is gone.
    fn recv<T>(&mut self, rx: &Receiver<T>) -> Option<T> {
        let wait = Instant::now();
        let msg = rx.recv().ok();
        self.idle += wait.elapsed().as_secs_f64();
        msg
    }

    fn json(&self, module: usize) -> Value {
        json!({"module": module, "busy_seconds": self.busy, "idle_seconds": self.idle,
               "busy_fraction": self.busy / (self.busy + self.idle).max(1e-12),
               "updates": self.updates, "synthetic_gradient_updates": self.sg_updates})
    }
}

struct BlockWorker {
    block: Block,
    sg: SyntheticGradient,
    lr: f64,
    sg_lr: f64,
    update_prob: f64,
    rng: Rng,
}

impl BlockWorker {
    fn run(
        self,
        input: Receiver<Activation>,
        output: SyncSender<Activation>,
        targets: Receiver<Target>,
        down: Option<Sender<Target>>,
    ) -> (Block, SyntheticGradient, WorkerStats) {
        let BlockWorker {
            mut block,
            mut sg,
            lr,
            sg_lr,
            update_prob,
            mut rng,
        } = self;
        let (mut opt, mut sg_opt) = (AdamConfig::new().init(), AdamConfig::new().init());
        let mut stats = WorkerStats::default();
        let mut kept: BTreeMap<u64, (Tensor<2>, Vec<usize>)> = BTreeMap::new();
        let mut train_sg = |sg: SyntheticGradient,
                            t: Target,
                            kept: &mut BTreeMap<u64, (Tensor<2>, Vec<usize>)>,
                            stats: &mut WorkerStats| {
            match kept.remove(&t.id) {
                Some((h, y)) => {
                    let loss = (sg.forward(h, Some(&y)) - t.delta).square().mean();
                    let grads = GradientsParams::from_grads(loss.backward(), &sg);
                    stats.sg_updates += 1;
                    sg_opt.step(sg_lr, sg, grads)
                }
                None => sg,
            }
        };
        loop {
            let start = Instant::now();
            while let Ok(t) = targets.try_recv() {
                sg = train_sg(sg, t, &mut kept, &mut stats);
            }
            stats.busy += start.elapsed().as_secs_f64();
            let Some(msg) = stats.recv(&input) else { break };
            let start = Instant::now();
            let b = msg.labels.len() as f64;
            let xin = msg.x.require_grad();
            let h = block.forward(xin.clone());
            let g_hat = sg.forward(h.clone().detach(), Some(&msg.labels));
            let surrogate = (h.clone() * (g_hat.detach() / b)).sum();
            let grads = surrogate.backward();
            if let (Some(down), Some(g)) = (&down, xin.grad(&grads)) {
                let _ = down.send(Target {
                    id: msg.id,
                    delta: g * b,
                });
            }
            if rng.uniform() < update_prob {
                let block_grads = GradientsParams::from_grads(grads, &block);
                block = opt.step(lr, block, block_grads);
                stats.updates += 1;
            }
            kept.insert(msg.id, (h.clone().detach(), msg.labels.clone()));
            while kept.len() > 8 {
                kept.pop_first();
            }
            stats.busy += start.elapsed().as_secs_f64();
            let wait = Instant::now();
            let next = Activation {
                id: msg.id,
                x: h.detach(),
                labels: msg.labels,
            };
            if output.send(next).is_err() {
                break;
            }
            stats.idle += wait.elapsed().as_secs_f64();
        }
        drop(output);
        // Targets for the last batches arrive until the worker above has finished.
        for t in targets {
            sg = train_sg(sg, t, &mut kept, &mut stats);
        }
        (block, sg, stats)
    }
}

fn classifier_worker(
    mut classifier: Linear,
    lr: f64,
    input: Receiver<Activation>,
    down: Sender<Target>,
) -> (Linear, WorkerStats, f64) {
    let device = classifier.devices().first().cloned().unwrap_or_default();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let mut opt = AdamConfig::new().init();
    let mut stats = WorkerStats::default();
    let mut last = f64::NAN;
    loop {
        let Some(msg) = stats.recv(&input) else { break };
        let start = Instant::now();
        let b = msg.labels.len() as f64;
        let xin = msg.x.require_grad();
        let loss = loss_fn.forward(
            classifier.forward(xin.clone()),
            labels_tensor(&msg.labels, &device),
        );
        let grads = loss.backward();
        if let Some(g) = xin.grad(&grads) {
            let _ = down.send(Target {
                id: msg.id,
                delta: g * b,
            });
        }
        last = scalar(loss);
        let head_grads = GradientsParams::from_grads(grads, &classifier);
        classifier = opt.step(lr, classifier, head_grads);
        stats.updates += 1;
        stats.busy += start.elapsed().as_secs_f64();
    }
    (classifier, stats, last)
}

/// Trains DNI or cDNI with one worker thread per module; the summary adds each worker's
/// `busy_fraction`.
pub fn train_concurrent(
    cfg: &TrainConfig,
    train_set: &Examples,
    test_set: &Examples,
    device: &Device,
) -> Result<Value> {
    if !matches!(cfg.method, Method::Dni | Method::Cdni) {
        return Err(Error::Usage(format!(
            "--workers: {:?} runs sequentially (backprop is locked by definition); use dni or cdni",
            cfg.method
        )));
    }
    let start = Instant::now();
    let ad = device.clone().autodiff();
    ad.seed(cfg.seed);
    let net = FcNet::new(train_set.dim, cfg.width, cfg.layers, train_set.classes, &ad);
    let classes = (cfg.method == Method::Cdni).then_some(train_set.classes);
    let FcNet { blocks, classifier } = net;
    let mut rng = Rng::new(cfg.seed);
    let batches: Vec<Vec<usize>> = (0..cfg.epochs)
        .flat_map(|_| rng.batches(train_set.len(), cfg.batch_size, true))
        .collect();
    let progress = dlp_core::progress::Progress::new("dni workers", batches.len() as u64);
    let (blocks, sgs, stats, head, head_stats, last_loss) = std::thread::scope(|scope| {
        let (feed_tx, mut prev_rx) = sync_channel::<Activation>(2);
        let mut handles = Vec::new();
        let mut down_tx: Option<Sender<Target>> = None;
        for block in blocks {
            let (out_tx, out_rx) = sync_channel::<Activation>(2);
            let (target_tx, target_rx) = channel::<Target>();
            let worker = BlockWorker {
                block,
                sg: SyntheticGradient::new(cfg.width, cfg.sg_hidden, classes, &ad),
                lr: cfg.learning_rate,
                sg_lr: cfg.sg_learning_rate,
                update_prob: cfg.update_prob,
                rng: Rng::new(cfg.seed).fork(100 + handles.len() as u64),
            };
            let input = std::mem::replace(&mut prev_rx, out_rx);
            let down = down_tx.replace(target_tx);
            handles.push(scope.spawn(move || worker.run(input, out_tx, target_rx, down)));
        }
        let down = down_tx.expect("at least one block");
        let head =
            scope.spawn(move || classifier_worker(classifier, cfg.learning_rate, prev_rx, down));
        for (id, idx) in batches.iter().enumerate() {
            let (x, labels) = train_set.batch(idx, &ad);
            if feed_tx
                .send(Activation {
                    id: id as u64,
                    x,
                    labels,
                })
                .is_err()
            {
                break;
            }
            progress.inc(1);
        }
        drop(feed_tx);
        let (head, head_stats, last) = head.join().expect("classifier worker");
        let mut blocks = Vec::new();
        let mut sgs = Vec::new();
        let mut stats = Vec::new();
        for h in handles {
            let (b, s, st) = h.join().expect("block worker");
            blocks.push(b);
            sgs.push(s);
            stats.push(st);
        }
        (blocks, sgs, stats, head, head_stats, last)
    });
    progress.finish();
    drop(sgs);
    let seconds = start.elapsed().as_secs_f64();
    let net = FcNet {
        blocks,
        classifier: head,
    };
    let acc = accuracy(&net, test_set, device);
    let mut workers: Vec<Value> = stats.iter().enumerate().map(|(i, s)| s.json(i)).collect();
    workers.push(head_stats.json(cfg.layers));
    Ok(json!({
        "task": "dni-train",
        "method": cfg.method,
        "execution": "concurrent",
        "layers": cfg.layers,
        "workers": workers,
        "test_error": 1.0 - acc,
        "final_loss": last_loss,
        "seconds": seconds,
        "samples_per_second": (batches.len() * cfg.batch_size) as f64 / seconds,
        "dlp_version": dlp_core::run::VERSION,
    }))
}
