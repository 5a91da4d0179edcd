//! The `dlp demo` stage of the DNI system: the same small FC network on generated spirals
//! trained by backprop, by DNI and by cDNI (sequentially), then by cDNI on two worker threads
//! that run at once; test errors, the workers' busy fractions and a loss-curve plot.

use crate::concurrent::train_concurrent;
use crate::train::{Examples, Method, TrainConfig, train};
use burn::tensor::Device;
use dlp_core::error::Result;
use dlp_core::plot::{Series, line_plot};
use dlp_core::rng::Rng;
use dlp_core::run::RunDir;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

/// Three interleaved spirals, 6,000 training and 1,500 test points.
fn spirals(seed: u64) -> (Examples, Examples) {
    let mut rng = Rng::new(seed);
    let mut make = |n| {
        let (x, y) = dlp_core::demo::spirals(n, 3, 0.2, &mut rng);
        Examples {
            x,
            y: y.into_iter().map(|l| l as usize).collect(),
            dim: 2,
            classes: 3,
        }
    };
    (make(6000), make(1500))
}

/// What the DNI stage reports; also its summary.json.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoSummary {
    pub task: &'static str,
    /// Test error by method (backprop, dni, cdni), sequential runs.
    pub test_error: BTreeMap<String, f64>,
    pub concurrent_cdni_test_error: f64,
    /// Each worker's busy share of the concurrent cDNI run.
    pub concurrent_busy_fractions: Vec<f64>,
    pub concurrent_samples_per_second: f64,
    pub loss_plot: String,
    pub dlp_version: &'static str,
    pub run_dir: String,
}

/// Runs the stage into `dir`; returns its summary.
pub fn run(seed: u64, dir: &Path, device: &Device) -> Result<DemoSummary> {
    let (train_set, test_set) = spirals(seed);
    let base = TrainConfig {
        width: 32,
        batch_size: 64,
        epochs: 8,
        seed,
        ..TrainConfig::default()
    };
    let mut run = RunDir::create(dir, &base)?;
    let mut series = Vec::new();
    let mut errors = BTreeMap::new();
    for method in [Method::Backprop, Method::Dni, Method::Cdni] {
        let cfg = TrainConfig {
            method,
            ..base.clone()
        };
        let s = train(&cfg, &train_set, &test_set, device, None, false)?;
        let name = format!("{method:?}").to_lowercase();
        run.log(&json!({"method": name, "test_error": s.test_error, "loss_curve": s.loss_curve}))?;
        let points = s.loss_curve.iter().map(|&(step, loss)| (step as f64, loss));
        series.push(Series {
            name: name.clone(),
            points: points.collect(),
        });
        errors.insert(name, s.test_error);
    }
    let concurrent = TrainConfig {
        method: Method::Cdni,
        ..base.clone()
    };
    let c = train_concurrent(&concurrent, 2, &train_set, &test_set, device)?;
    let busy: Vec<f64> = c.workers.iter().map(|w| w.busy_fraction).collect();
    let plot = run.path("loss.png");
    line_plot(
        &plot,
        "DNI demo: training loss on spirals",
        "step",
        "cross-entropy",
        &series,
        true,
    )?;
    let summary = DemoSummary {
        task: "dni-demo",
        test_error: errors,
        concurrent_cdni_test_error: c.test_error,
        concurrent_busy_fractions: busy,
        concurrent_samples_per_second: c.samples_per_second,
        loss_plot: plot.display().to_string(),
        dlp_version: dlp_core::run::VERSION,
        run_dir: run.dir().display().to_string(),
    };
    run.write_summary(&summary)?;
    Ok(summary)
}
