//! `dlp demo`: every system's demo stage, offline, on generated data.

use crate::{Common, emit, setup};
use dlp_core::demo::{DemoConfig, run as classifier};
use dlp_core::run::default_out;
use serde_json::json;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Training steps of each stage.
    #[arg(long, default_value_t = 2000)]
    steps: usize,
}

pub fn run(args: &Args, common: &Common) -> dlp_core::Result<()> {
    let start = Instant::now();
    let device = setup(common)?;
    let out = common.out.clone().unwrap_or_else(|| default_out("demo"));
    let cfg = DemoConfig {
        seed: common.seed,
        steps: args.steps,
        ..DemoConfig::default()
    };
    eprintln!(
        "dlp demo, stage 1/2: MLP classifier on spirals ({} steps)",
        cfg.steps
    );
    let c = classifier(&cfg, &out.join("classifier"), &device)?;
    eprintln!(
        "dlp demo, stage 2/2: DDPM on 8 Gaussians ({} steps)",
        args.steps
    );
    let d = dlp_ddpm::demo::run(
        args.steps,
        common.seed,
        &out.join("ddpm-8gaussians"),
        &device,
    )?;
    let summary = json!({
        "task": "demo",
        "classifier": c,
        "ddpm": d,
        "seconds": start.elapsed().as_secs_f64(),
        "run_dir": out.display().to_string(),
        "dlp_version": dlp_core::run::VERSION,
    });
    let text = serde_json::to_string_pretty(&summary).expect("JSON serialises");
    dlp_core::atomic::write(out.join("summary.json"), text.as_bytes())?;
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    let human = format!(
        "demo finished in {:.1}s in {}\n\
         classifier: test accuracy {:.3} (chance {:.3}); loss curve {}\n\
         DDPM 2D:    MMD {:.4} vs data-vs-data floor {:.4}; samples {}",
        f(&summary["seconds"]),
        out.display(),
        f(&c["test_accuracy"]),
        f(&c["chance_accuracy"]),
        c["loss_plot"].as_str().unwrap_or_default(),
        f(&d["mmd"]),
        f(&d["mmd_floor"]),
        d["samples_plot"].as_str().unwrap_or_default(),
    );
    emit(common, &summary, &human);
    Ok(())
}
