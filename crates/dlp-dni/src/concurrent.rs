//! The concurrent trainer: the modules of a DNI network (blocks and classifier) are split into
//! K contiguous groups, and each group is a worker thread that owns its layers, their
//! synthetic-gradient models and optimisers, and a thread pool of its own (the cores divided
//! between the workers, so that they do not oversubscribe them). No worker waits for a gradient
//! to update.
//!
//! Activations flow up between workers through bounded channels (two batches in flight per
//! link). A block updates from ĝ_i = M_i(h_i[, y]) as soon as it has computed h_i, and the
//! bootstrapped target δ_{i−1} (the gradient of h_i · ĝ_i w.r.t. its input; the classifier: the
//! true gradient) goes to the module below: at once inside a worker, on an unbounded channel to
//! the worker below otherwise, where it trains M_{i−1} when that worker next looks (`try_recv`),
//! matched to the prediction ĝ_{i−1} it kept for that batch (with its graph, so that M_{i−1}
//! runs forward once per batch, as in the sequential trainer), stale by a batch or two, as in
//! asynchronous DNI. Each worker has a [`Device`]; activations and targets move to it on
//! arrival, so that a worker can sit on another device.
//!
//! Each module's costs are measured: forward F, backward and update B, synthetic-gradient work S
//! (M_i's forward and training) and communication C (handing tensors over). The summary reports
//! each worker's busy and idle time and the ideal the pipeline could reach, the samples per
//! second at which the busiest worker never idles: samples / max_k Σ_{i∈k}(F_i+B_i+S_i+C_i).

use crate::config::{Method, TrainConfig};
use crate::dni::update_block;
use crate::layers::{Arch, Block, Net, classify};
pub use crate::summary::{ConcurrentSummary, ModuleReport, WorkerReport};
use crate::synthetic::{SyntheticGradient, labels_tensor};
use crate::train::{Examples, accuracy};
use burn::nn::Linear;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use dlp_core::error::{Error, Result};
use dlp_core::rng::Rng;
use dlp_core::tensor::scalar;
use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, Sender, SyncSender, TrySendError, channel, sync_channel};
use std::time::Instant;

struct Activation {
    id: u64,
    /// The layers' rate for this batch ([`TrainConfig::rate_at`]).
    lr: f64,
    x: Tensor<2>,
    labels: Vec<usize>,
}

struct Target {
    id: u64,
    delta: Tensor<2>,
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
    fn total(&self) -> f64 {
        self.forward + self.backward + self.synthetic + self.communication
    }
}

fn timed<T>(slot: &mut f64, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    *slot += t.elapsed().as_secs_f64();
    out
}

struct BlockModule {
    block: Option<Block>,
    sg: Option<SyntheticGradient>,
    opt: ModuleOptimizer,
    sg_opt: ModuleOptimizer,
    /// ĝ_i of the last few batches, still attached to M_i's graph, awaiting their targets.
    kept: BTreeMap<u64, Tensor<2>>,
    rng: Rng,
    /// Left at its random initialisation (`TrainConfig::freeze`).
    frozen: bool,
    cost: ModuleCost,
    updates: usize,
    sg_updates: usize,
}

struct HeadModule {
    classifier: Option<Linear>,
    /// The top block's ReLU comes first ([`Net::top_relu`]).
    top_relu: bool,
    opt: ModuleOptimizer,
    loss_fn: CrossEntropyLoss,
    cost: ModuleCost,
    updates: usize,
    last_loss: f64,
}

enum Stage {
    Block(Box<BlockModule>),
    Head(Box<HeadModule>),
}

impl BlockModule {
    /// Trains M_i on a target, if the prediction ĝ_i for its batch is still kept. Where M_i
    /// has stepped since that prediction (targets from another worker), the gradient is the
    /// one at the older weights, as in asynchronous SGD.
    fn train_sg(&mut self, t: Target, sg_lr: f64) {
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
    fn step(
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
    fn step(&mut self, msg: &Activation) -> Target {
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
struct Worker {
    stages: Vec<Stage>,
    device: Device,
    threads: usize,
    first: bool,
}

/// What a worker reports.
struct Report {
    stages: Vec<Stage>,
    busy: f64,
    idle: f64,
}

impl Worker {
    fn run(
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

/// Splits `costs` into `k` contiguous groups with the smallest largest group cost; returns
/// each group's first index.
pub fn partition(costs: &[f64], k: usize) -> Vec<usize> {
    fn best(costs: &[f64], start: usize, k: usize) -> (f64, Vec<usize>) {
        if k == 1 {
            return (costs[start..].iter().sum(), vec![start]);
        }
        let mut out = (f64::INFINITY, Vec::new());
        let mut head = 0.0;
        for end in start + 1..=costs.len() - (k - 1) {
            head += costs[end - 1];
            let (tail, mut starts) = best(costs, end, k - 1);
            if head.max(tail) < out.0 {
                starts.insert(0, start);
                out = (head.max(tail), starts);
            }
        }
        out
    }
    best(costs, 0, k.clamp(1, costs.len())).1
}

/// Trains DNI or cDNI with `workers` worker threads (each module its own worker when
/// `workers` is layers + 1), the cores of the process's thread pool divided between them.
pub fn train_concurrent(
    cfg: &TrainConfig,
    workers: usize,
    train_set: &Examples,
    test_set: &Examples,
    device: &Device,
) -> Result<ConcurrentSummary> {
    cfg.validate()?;
    if !matches!(cfg.method, Method::Dni | Method::Cdni) {
        return Err(Error::setting(
            "workers",
            format!(
                "{:?} runs sequentially (backprop is locked by definition); use dni or cdni",
                cfg.method
            ),
        ));
    }
    if cfg.lambda > 0.0 {
        return Err(Error::setting(
            "lambda",
            format!(
                "{} needs the gradient from above, which concurrent workers never wait for; \
                 train with one worker",
                cfg.lambda
            ),
        ));
    }
    let modules = cfg.layers + 1;
    if workers < 2 || workers > modules {
        return Err(Error::setting(
            "workers",
            format!(
                "{workers} for {modules} modules ({} blocks and the classifier): expected 2 to {modules}",
                cfg.layers
            ),
        ));
    }
    let start = Instant::now();
    let ad = device.clone().autodiff();
    ad.seed(cfg.seed);
    let (w, classes) = (cfg.width, train_set.classes);
    let net = cfg.net(train_set.dim, classes, &ad);
    let (shapes, top_relu) = (net.block_shapes(), net.top_relu());
    let Net { blocks, classifier } = net;
    let labels = (cfg.method == Method::Cdni).then_some(classes);
    // Estimated multiply-adds per example: forward, backward (and δ) of each block, M_i's
    // forward and training; the classifier.
    let extra = labels.unwrap_or(0);
    let mut costs: Vec<f64> = (0..cfg.layers)
        .map(|i| {
            let passes = if i == 0 { 2 } else { 3 };
            let [c, h, wd] = shapes[i];
            match cfg.arch {
                Arch::Fc => {
                    let fan_in = if i == 0 { train_set.dim } else { w };
                    (fan_in * w * passes + (w + extra) * w * 3) as f64
                }
                Arch::Cnn { image } => {
                    let [ci, hi, wi] = if i == 0 { image } else { shapes[i - 1] };
                    (25 * ci * c * hi * wi * passes + 25 * (c + extra) * c * h * wd * 3) as f64
                }
            }
        })
        .collect();
    let last: usize = shapes.last().map_or(train_set.dim, |s| s.iter().product());
    costs.push((last * classes * 3) as f64);
    let starts = partition(&costs, workers);
    let threads = (rayon::current_num_threads() / workers).max(1);
    let mut stages: Vec<Stage> = blocks
        .into_iter()
        .enumerate()
        .map(|(i, block)| {
            Stage::Block(Box::new(BlockModule {
                block: Some(block),
                sg: Some(SyntheticGradient::for_block(
                    cfg.arch,
                    shapes[i],
                    cfg.sg_hidden,
                    labels,
                    &ad,
                )),
                opt: cfg.optimizer.init(),
                sg_opt: cfg.optimizer.init(),
                kept: BTreeMap::new(),
                rng: Rng::new(cfg.seed).fork(100 + i as u64),
                frozen: i < cfg.freeze,
                cost: ModuleCost::default(),
                updates: 0,
                sg_updates: 0,
            }))
        })
        .collect();
    stages.push(Stage::Head(Box::new(HeadModule {
        classifier: Some(classifier),
        top_relu,
        opt: cfg.optimizer.init(),
        loss_fn: CrossEntropyLossConfig::new().init(&ad),
        cost: ModuleCost::default(),
        updates: 0,
        last_loss: f64::NAN,
    })));
    let mut groups: Vec<Worker> = Vec::new();
    for (k, &s0) in starts.iter().enumerate().rev() {
        groups.push(Worker {
            stages: stages.split_off(s0),
            device: ad.clone(),
            threads,
            first: k == 0,
        });
    }
    groups.reverse();
    let mut rng = Rng::new(cfg.seed);
    let batches: Vec<Vec<usize>> = (0..cfg.epochs)
        .flat_map(|_| rng.batches(train_set.len(), cfg.batch_size, true))
        .collect();
    let progress = dlp_core::progress::Progress::new("dni workers", batches.len() as u64);
    let run_start = Instant::now();
    let reports: Vec<Report> = std::thread::scope(|scope| {
        let (feed_tx, mut prev_rx) = sync_channel::<Activation>(2);
        let mut handles = Vec::new();
        let mut down_tx: Option<Sender<Target>> = None;
        let n = groups.len();
        for (k, worker) in groups.into_iter().enumerate() {
            let (out_tx, out_rx) = sync_channel::<Activation>(2);
            let (target_tx, target_rx) = channel::<Target>();
            let last = k + 1 == n;
            let input = std::mem::replace(&mut prev_rx, out_rx);
            let down = down_tx.take();
            if !last {
                down_tx = Some(target_tx);
            }
            let (output, targets) = if last {
                (None, None)
            } else {
                (Some(out_tx), Some(target_rx))
            };
            handles.push(scope.spawn(move || worker.run(input, output, targets, down, cfg)));
        }
        for (id, idx) in batches.iter().enumerate() {
            let (x, labels) = train_set.batch(idx, &ad);
            let msg = Activation {
                id: id as u64,
                lr: cfg.rate_at(id, batches.len()),
                x,
                labels,
            };
            if feed_tx.send(msg).is_err() {
                break;
            }
            progress.inc(1);
        }
        drop(feed_tx);
        handles
            .into_iter()
            .map(|h| h.join().expect("worker thread"))
            .collect()
    });
    let run_seconds = run_start.elapsed().as_secs_f64();
    progress.finish();
    let mut blocks = Vec::new();
    let mut head = None;
    let mut last_loss = f64::NAN;
    let mut module_json = Vec::new();
    let mut worker_json = Vec::new();
    let (mut critical, mut locked) = (0.0f64, 0.0);
    for (k, r) in reports.into_iter().enumerate() {
        let mut worker_cost = 0.0;
        let first_module = module_json.len();
        for stage in r.stages {
            let (cost, updates, sg_updates) = match stage {
                Stage::Block(b) => {
                    blocks.push(b.block.expect("block"));
                    (b.cost, b.updates, b.sg_updates)
                }
                Stage::Head(h) => {
                    head = h.classifier;
                    last_loss = h.last_loss;
                    (h.cost, h.updates, 0)
                }
            };
            worker_cost += cost.total();
            locked += cost.forward + cost.backward;
            module_json.push(ModuleReport {
                module: module_json.len(),
                worker: k,
                forward_seconds: cost.forward,
                backward_seconds: cost.backward,
                synthetic_seconds: cost.synthetic,
                communication_seconds: cost.communication,
                updates,
                synthetic_gradient_updates: sg_updates,
            });
        }
        critical = critical.max(worker_cost);
        worker_json.push(WorkerReport {
            worker: k,
            modules: (first_module..module_json.len()).collect(),
            threads,
            busy_seconds: r.busy,
            idle_seconds: r.idle,
            busy_fraction: r.busy / (r.busy + r.idle).max(1e-12),
        });
    }
    let net = Net {
        blocks,
        classifier: head.expect("classifier"),
    };
    let seconds = start.elapsed().as_secs_f64();
    let acc = accuracy(&net, train_set, test_set, device);
    let samples = (batches.len() * cfg.batch_size) as f64;
    let ideal = samples / critical.max(1e-12);
    Ok(ConcurrentSummary {
        task: "dni-train",
        dataset: cfg.dataset.clone(),
        seed: cfg.seed,
        method: cfg.method,
        execution: "concurrent",
        layers: cfg.layers,
        workers: worker_json,
        modules: module_json,
        test_error: 1.0 - acc,
        final_loss: last_loss,
        seconds,
        samples_per_second: samples / run_seconds,
        ideal_samples_per_second: ideal,
        efficiency: samples / run_seconds / ideal,
        ideal_speedup: locked / critical.max(1e-12),
        dlp_version: dlp_core::run::VERSION,
    })
}

#[cfg(test)]
mod tests {
    use super::{Activation, BlockModule, ModuleCost, Target, partition, train_concurrent};
    use crate::config::Optimizer;
    use crate::synthetic::SyntheticGradient;
    use crate::train::{Examples, Method, TrainConfig};
    use burn::optim::GradientsParams;
    use burn::tensor::{Device, Distribution, Tensor};
    use dlp_core::rng::Rng;
    use std::collections::BTreeMap;

    /// A worker's block steps by the configured optimiser: with SGD its weights move by exactly
    /// the rate times ∂(Σ h·ĝ)/B, as `Dni`'s do, and not as Adam would move them.
    #[test]
    fn a_block_module_steps_by_the_configured_optimiser() {
        let device = Device::flex().autodiff();
        device.seed(4);
        let cfg = TrainConfig {
            method: Method::Dni,
            layers: 1,
            width: 5,
            optimizer: Optimizer::Sgd,
            ..TrainConfig::default()
        };
        let net = cfg.net(3, 2, &device);
        let sg = SyntheticGradient::for_block(cfg.arch, net.block_shapes()[0], 8, None, &device);
        let mut m = BlockModule {
            block: Some(net.blocks[0].clone()),
            sg: Some(sg),
            opt: cfg.optimizer.init(),
            sg_opt: cfg.optimizer.init(),
            kept: BTreeMap::new(),
            rng: Rng::new(0),
            frozen: false,
            cost: ModuleCost::default(),
            updates: 0,
            sg_updates: 0,
        };
        let x = Tensor::<2>::random([8, 3], Distribution::Normal(0.0, 1.0), &device);
        let labels = vec![0; 8];
        let msg = |id| Activation {
            id,
            lr: 0.1,
            x: x.clone(),
            labels: labels.clone(),
        };
        // ĝ starts at zero (M's output layer is zero-initialised); one regression step on a
        // target of ones makes it non-zero.
        m.step(&msg(1), false, &cfg);
        let delta = Tensor::ones([8, 5], &device);
        m.train_sg(Target { id: 1, delta }, 0.5);
        let (before, sg) = (m.block.clone().unwrap(), m.sg.clone().unwrap());
        m.step(&msg(2), false, &cfg);
        let after = m.block.clone().unwrap();
        let by = |optimizer: Optimizer| {
            let h = before.forward(x.clone());
            let g = sg.forward(h.clone().detach(), Some(&labels)).detach();
            let grads = (h * (g / 8.0)).sum().backward();
            let grads = GradientsParams::from_grads(grads, &before);
            optimizer.init().step(0.1, before.clone(), grads)
        };
        let gap = |a: &crate::layers::Block, b: &crate::layers::Block| {
            let d = a.forward(x.clone()) - b.forward(x.clone());
            d.abs().max().into_scalar::<f32>()
        };
        assert!(gap(&after, &before) > 1e-3, "the block moved");
        assert!(gap(&after, &by(Optimizer::Sgd)) < 1e-6, "SGD's step");
        assert!(gap(&after, &by(Optimizer::Adam)) > 1e-3, "not Adam's");
    }

    /// 512 random rows of 6 features in 3 classes.
    fn random_examples() -> Examples {
        let mut rng = Rng::new(5);
        Examples {
            x: (0..512 * 6).map(|_| rng.normal() as f32).collect(),
            y: (0..512).map(|i| i % 3).collect(),
            dim: 6,
            classes: 3,
        }
    }

    #[test]
    fn frozen_blocks_never_update_and_bp_lambda_is_refused() {
        let data = random_examples();
        let cfg = TrainConfig {
            method: Method::Cdni,
            layers: 3,
            width: 8,
            freeze: 2,
            ..TrainConfig::default()
        };
        let s = train_concurrent(&cfg, 2, &data, &data, &Device::flex()).unwrap();
        let updates: Vec<usize> = s.modules.iter().map(|m| m.updates).collect();
        assert_eq!(updates, vec![0, 0, 2, 2], "{:?}", s.modules);
        let bp = TrainConfig { lambda: 0.5, ..cfg };
        let err = train_concurrent(&bp, 2, &data, &data, &Device::flex()).unwrap_err();
        assert!(err.to_string().contains("lambda: 0.5"), "{err}");
    }

    #[test]
    fn partition_minimises_the_largest_group() {
        assert_eq!(partition(&[4.0, 3.0, 3.0, 0.1], 2), vec![0, 1]);
        assert_eq!(partition(&[1.0, 1.0, 1.0, 1.0], 2), vec![0, 2]);
        assert_eq!(partition(&[1.0, 5.0, 1.0], 3), vec![0, 1, 2]);
        assert_eq!(partition(&[2.0, 2.0], 5), vec![0, 1]);
        assert_eq!(partition(&[2.0, 2.0], 1), vec![0]);
    }
}
