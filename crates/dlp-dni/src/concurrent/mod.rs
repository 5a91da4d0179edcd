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

#[cfg(test)]
mod tests;
mod worker;

use crate::config::{Method, TrainConfig};
use crate::layers::{Arch, Net};
pub use crate::summary::{ConcurrentSummary, ModuleReport, WorkerReport};
use crate::synthetic::SyntheticGradient;
use crate::train::{Examples, accuracy};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::Device;
use dlp_core::error::{Error, Result};
use dlp_core::rng::Rng;
use std::sync::mpsc::{Sender, channel, sync_channel};
use std::time::Instant;
use worker::{Activation, BlockModule, HeadModule, Report, Stage, Target, Worker};

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
    check_settings(cfg, workers)?;
    let start = Instant::now();
    let ad = device.clone().autodiff();
    ad.seed(cfg.seed);
    let classes = train_set.classes;
    let net = cfg.net(train_set.dim, classes, &ad);
    let (shapes, top_relu) = (net.block_shapes(), net.top_relu());
    let Net { blocks, classifier } = net;
    let labels = (cfg.method == Method::Cdni).then_some(classes);
    let costs = module_costs(cfg, &shapes, train_set.dim, classes, labels.is_some());
    let starts = partition(&costs, workers);
    let threads = (rayon::current_num_threads() / workers).max(1);
    let mut stages: Vec<Stage> = blocks
        .into_iter()
        .enumerate()
        .map(|(i, block)| {
            let sg = SyntheticGradient::for_block(cfg.arch, shapes[i], cfg.sg_hidden, labels, &ad);
            let rng = Rng::new(cfg.seed).fork(100 + i as u64);
            Stage::Block(Box::new(BlockModule::new(
                block,
                sg,
                cfg,
                rng,
                i < cfg.freeze,
            )))
        })
        .collect();
    let loss_fn = CrossEntropyLossConfig::new().init(&ad);
    let head = HeadModule::new(classifier, top_relu, cfg, loss_fn);
    stages.push(Stage::Head(Box::new(head)));
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
    let run_start = Instant::now();
    let reports = run_workers(groups, &batches, cfg, train_set, &ad);
    let run_seconds = run_start.elapsed().as_secs_f64();
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

/// Refuses what concurrent workers cannot run: backprop, the λ-mix with the true gradient, and
/// a worker count outside 2 to the number of modules.
fn check_settings(cfg: &TrainConfig, workers: usize) -> Result<()> {
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
    Ok(())
}

/// The cost model: estimated multiply-adds per example of each module, for [`partition`]: a
/// block's forward, backward (and δ for the module below), M_i's forward and training; the
/// classifier.
fn module_costs(
    cfg: &TrainConfig,
    shapes: &[[usize; 3]],
    dim: usize,
    classes: usize,
    labelled: bool,
) -> Vec<f64> {
    let w = cfg.width;
    let extra = if labelled { classes } else { 0 };
    let mut costs: Vec<f64> = (0..cfg.layers)
        .map(|i| {
            let passes = if i == 0 { 2 } else { 3 };
            let [c, h, wd] = shapes[i];
            match cfg.arch {
                Arch::Fc => {
                    let fan_in = if i == 0 { dim } else { w };
                    (fan_in * w * passes + (w + extra) * w * 3) as f64
                }
                Arch::Cnn { image } => {
                    let [ci, hi, wi] = if i == 0 { image } else { shapes[i - 1] };
                    (25 * ci * c * hi * wi * passes + 25 * (c + extra) * c * h * wd * 3) as f64
                }
            }
        })
        .collect();
    let last: usize = shapes.last().map_or(dim, |s| s.iter().product());
    costs.push((last * classes * 3) as f64);
    costs
}

/// Runs the workers as a pipeline: each takes activations from the one below and targets from
/// the one above; the batches are fed to the first; returns each worker's report.
fn run_workers(
    groups: Vec<Worker>,
    batches: &[Vec<usize>],
    cfg: &TrainConfig,
    train_set: &Examples,
    ad: &Device,
) -> Vec<Report> {
    let progress = dlp_core::progress::Progress::new("dni workers", batches.len() as u64);
    let reports = std::thread::scope(|scope| {
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
            let (x, labels) = train_set.batch(idx, ad);
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
    progress.finish();
    reports
}
