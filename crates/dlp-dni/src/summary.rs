//! What the trainers report: typed summaries that the CLI prints with `--json` and writes to a
//! run's `summary.json`.

use crate::config::Method;
use crate::layers::Arch;
use serde::Serialize;

/// What [`crate::train::train`] reports; with a run directory, also its summary.json.
#[derive(Debug, Clone, Serialize)]
pub struct TrainSummary {
    pub task: &'static str,
    pub dataset: String,
    pub seed: u64,
    pub method: Method,
    pub arch: Arch,
    pub width: usize,
    pub epochs: usize,
    pub layers: usize,
    pub update_prob: f64,
    pub lambda: f64,
    pub lr_decay: bool,
    /// Fraction of the test set misclassified.
    pub test_error: f64,
    pub final_loss: f64,
    pub final_sg_loss: f64,
    pub final_si_loss: f64,
    /// (step, mean loss of the 20 steps before it).
    pub loss_curve: Vec<(usize, f64)>,
    /// (epoch, cosine of the synthetic with the true gradient per block) on a fixed batch.
    pub sg_alignment: Vec<(usize, Vec<f64>)>,
    pub resumed_from_epoch: usize,
    pub seconds: f64,
    pub samples_per_second: f64,
    pub dlp_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_dir: Option<String>,
}

/// One module's share of a concurrent run.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleReport {
    pub module: usize,
    pub worker: usize,
    pub forward_seconds: f64,
    pub backward_seconds: f64,
    pub synthetic_seconds: f64,
    pub communication_seconds: f64,
    /// Weight updates of the module.
    pub updates: usize,
    /// Updates of its synthetic-gradient model.
    pub synthetic_gradient_updates: usize,
}

/// One worker thread of a concurrent run.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerReport {
    pub worker: usize,
    /// The modules it runs, by index.
    pub modules: Vec<usize>,
    pub threads: usize,
    pub busy_seconds: f64,
    pub idle_seconds: f64,
    pub busy_fraction: f64,
}

/// What [`crate::concurrent::train_concurrent`] reports.
#[derive(Debug, Clone, Serialize)]
pub struct ConcurrentSummary {
    pub task: &'static str,
    pub dataset: String,
    pub seed: u64,
    pub method: Method,
    pub execution: &'static str,
    pub layers: usize,
    pub workers: Vec<WorkerReport>,
    pub modules: Vec<ModuleReport>,
    /// Fraction of the test set misclassified.
    pub test_error: f64,
    pub final_loss: f64,
    pub seconds: f64,
    pub samples_per_second: f64,
    /// Throughput if every worker were busy all the time (the slowest worker's cost alone).
    pub ideal_samples_per_second: f64,
    pub efficiency: f64,
    /// Locked (sequential) cost over the slowest worker's cost.
    pub ideal_speedup: f64,
    pub dlp_version: &'static str,
}
