//! The foundation stage of `dlp demo`: a small MLP classifier trained with burn on generated
//! data (three interleaved spirals), end to end through the shared machinery: seeding, batching,
//! a run directory, metrics, a checkpoint, a loss-curve PNG and a JSON summary.
//!
//! The model is `Linear(2, h) → ReLU → Linear(h, h) → ReLU → Linear(h, classes)`, trained with
//! softmax cross-entropy and Adam. Spiral `k` holds the points
//! `r (cos(θ + 2πk/K), sin(θ + 2πk/K))` with `r ∈ [0, 1]`, `θ = 4r` plus Gaussian noise, which a
//! linear model cannot separate (chance is `1/K`); the MLP reaches more than 90% test accuracy.

use crate::checkpoint::{self, CheckpointState};
use crate::error::{Error, Result};
use crate::plot::{Series, line_plot};
use crate::progress::Progress;
use crate::rng::Rng;
use crate::run::RunDir;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::Path;
use std::time::Instant;

/// Settings of the demo classifier (all have defaults; `config.toml` records them).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoConfig {
    pub seed: u64,
    pub steps: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub hidden: usize,
    pub classes: usize,
    pub train_points: usize,
    pub test_points: usize,
    pub noise: f64,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            steps: 1500,
            batch_size: 128,
            learning_rate: 0.01,
            hidden: 64,
            classes: 3,
            train_points: 3000,
            test_points: 1500,
            noise: 0.3,
        }
    }
}

/// `n` points on `classes` spirals, row-major `[n, 2]`, with their labels.
pub fn spirals(n: usize, classes: usize, noise: f64, rng: &mut Rng) -> (Vec<f32>, Vec<i64>) {
    let mut xs = Vec::with_capacity(2 * n);
    let mut ys = Vec::with_capacity(n);
    for i in 0..n {
        let k = i % classes;
        let r = rng.uniform();
        let theta =
            4.0 * r + std::f64::consts::TAU * k as f64 / classes as f64 + noise * rng.normal();
        xs.push((r * theta.cos()) as f32);
        xs.push((r * theta.sin()) as f32);
        ys.push(k as i64);
    }
    (xs, ys)
}

/// The demo's multilayer perceptron.
#[derive(Module, Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
}

impl Mlp {
    /// `Linear(input, hidden) → ReLU → Linear(hidden, hidden) → ReLU → Linear(hidden, output)`.
    pub fn new(input: usize, hidden: usize, output: usize, device: &Device) -> Self {
        let dims = [input, hidden, hidden, output];
        let layers = dims
            .windows(2)
            .map(|w| LinearConfig::new(w[0], w[1]).init(device))
            .collect();
        Self { layers }
    }

    /// Logits `[batch, output]`.
    pub fn forward(&self, mut x: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x);
            if i < last {
                x = relu(x);
            }
        }
        x
    }
}

fn rows(xs: &[f32], ys: &[i64], idx: &[usize], device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
    let x: Vec<f32> = idx
        .iter()
        .flat_map(|&i| [xs[2 * i], xs[2 * i + 1]])
        .collect();
    let y: Vec<i64> = idx.iter().map(|&i| ys[i]).collect();
    (
        Tensor::from_data(TensorData::new(x, [idx.len(), 2]), device),
        Tensor::from_data(TensorData::new(y, [idx.len()]), device),
    )
}

/// Fraction of rows whose arg-max logit is the label.
pub fn accuracy(logits: Tensor<2>, labels: &[i64]) -> f64 {
    let [n, k] = logits.dims();
    let values = crate::tensor::to_vec(logits);
    let correct = (0..n)
        .filter(|&i| {
            let row = &values[i * k..(i + 1) * k];
            let best = (0..k).fold(0, |b, j| if row[j] > row[b] { j } else { b });
            best as i64 == labels[i]
        })
        .count();
    correct as f64 / n.max(1) as f64
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map(|v| v[0] as f64)
        .unwrap_or(f64::NAN)
}

/// What the classifier stage reports; also its summary.json.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    pub task: &'static str,
    pub final_loss: f64,
    pub test_accuracy: f64,
    pub chance_accuracy: f64,
    pub steps: usize,
    pub seconds: f64,
    pub steps_per_second: f64,
    pub loss_plot: String,
    pub accuracy_plot: String,
    pub checkpoint: Option<String>,
    pub dlp_version: &'static str,
    pub run_dir: String,
}

/// Trains the classifier, writing the run directory `out`; returns the summary.
pub fn run(cfg: &DemoConfig, out: &Path, device: &Device) -> Result<DemoSummary> {
    let start = Instant::now();
    let mut run = RunDir::create(out, cfg)?;
    let mut rng = Rng::new(cfg.seed);
    device.seed(cfg.seed);
    let mut data_rng = rng.fork(1);
    let (train_x, train_y) = spirals(cfg.train_points, cfg.classes, cfg.noise, &mut data_rng);
    let (test_x, test_y) = spirals(cfg.test_points, cfg.classes, cfg.noise, &mut data_rng);

    let train_device = device.clone().autodiff();
    let mut model = Mlp::new(2, cfg.hidden, cfg.classes, &train_device);
    let mut optim = AdamConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&train_device);
    let all_test: Vec<usize> = (0..cfg.test_points).collect();
    let (tx, _) = rows(&test_x, &test_y, &all_test, device);

    let progress = Progress::new("demo", cfg.steps as u64);
    let mut curve = Vec::new();
    let mut acc_curve = Vec::new();
    let mut batches = Vec::new();
    let mut last_loss = f64::NAN;
    let mut window = (0.0, 0usize);
    for step in 1..=cfg.steps {
        if batches.is_empty() {
            batches = rng.batches(cfg.train_points, cfg.batch_size, true);
            batches.reverse();
        }
        let idx = batches.pop().expect("non-empty epoch");
        let (x, y) = rows(&train_x, &train_y, &idx, &train_device);
        let loss = loss_fn.forward(model.forward(x), y);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        last_loss = scalar(loss);
        if !last_loss.is_finite() {
            progress.finish();
            return Err(Error::NonFinite(format!(
                "loss is {last_loss} at step {step}; the last good checkpoint is in {}",
                out.join("checkpoints").display()
            )));
        }
        model = optim.step(cfg.learning_rate, model, grads);
        progress.inc(1);
        window = (window.0 + last_loss, window.1 + 1);
        if step % 25 == 0 || step == cfg.steps {
            // The logged loss is the mean over the steps since the last record.
            let loss = window.0 / window.1 as f64;
            window = (0.0, 0);
            let acc = accuracy(model.valid().forward(tx.clone()), &test_y);
            progress.set_message(format!("loss {loss:.4} test acc {acc:.3}"));
            run.log(&json!({"step": step, "loss": loss, "test_accuracy": acc}))?;
            curve.push((step as f64, loss));
            acc_curve.push((step as f64, acc));
        }
        if step % 500 == 0 || step == cfg.steps {
            let state = CheckpointState {
                step: step as u64,
                unit: crate::checkpoint::Unit::Step,
                rng: rng.state(),
                extra: json!({}),
                model_sha256: String::new(),
                optimizer_sha256: None,
                files: Default::default(),
            };
            checkpoint::save(out, &model, Some(&optim), &state, 2)?;
        }
    }
    progress.finish();
    let test_accuracy = acc_curve.last().map(|p| p.1).unwrap_or(0.0);
    let loss_png = run.path("loss.png");
    let loss_series = Series {
        name: "train loss".into(),
        points: curve,
    };
    line_plot(
        &loss_png,
        "dlp demo: spiral classifier",
        "step",
        "cross-entropy",
        &[loss_series],
        true,
    )?;
    let acc_png = run.path("accuracy.png");
    let acc_series = Series {
        name: "test accuracy".into(),
        points: acc_curve,
    };
    line_plot(
        &acc_png,
        "dlp demo: test accuracy",
        "step",
        "accuracy",
        &[acc_series],
        false,
    )?;
    let seconds = start.elapsed().as_secs_f64();
    let summary = DemoSummary {
        task: "demo",
        final_loss: last_loss,
        test_accuracy,
        chance_accuracy: 1.0 / cfg.classes as f64,
        steps: cfg.steps,
        seconds,
        steps_per_second: cfg.steps as f64 / seconds,
        loss_plot: loss_png.display().to_string(),
        accuracy_plot: acc_png.display().to_string(),
        checkpoint: checkpoint::latest(out)?.map(|p| p.display().to_string()),
        dlp_version: crate::run::VERSION,
        run_dir: run.dir().display().to_string(),
    };
    run.write_summary(&summary)?;
    Ok(summary)
}
