//! `dlp demo`.

use crate::{Common, emit, setup};
use dlp_core::demo::{DemoConfig, run as run_demo};
use dlp_core::run::default_out;

#[derive(clap::Args)]
pub struct Args {
    /// Training steps of the demo classifier.
    #[arg(long, default_value_t = DemoConfig::default().steps)]
    steps: usize,
}

pub fn run(args: &Args, common: &Common) -> dlp_core::Result<()> {
    let device = setup(common)?;
    let out = common.out.clone().unwrap_or_else(|| default_out("demo"));
    let cfg = DemoConfig {
        seed: common.seed,
        steps: args.steps,
        ..DemoConfig::default()
    };
    if !common.json {
        eprintln!(
            "dlp demo: spiral classifier, {} steps, run directory {}",
            cfg.steps,
            out.display()
        );
    }
    let summary = run_demo(&cfg, &out, &device)?;
    let human = format!(
        "demo finished in {:.1}s: test accuracy {:.3} (chance {:.3}), final loss {:.4}\n\
         run directory: {}\nloss curve:    {}",
        summary["seconds"].as_f64().unwrap_or_default(),
        summary["test_accuracy"].as_f64().unwrap_or_default(),
        summary["chance_accuracy"].as_f64().unwrap_or_default(),
        summary["final_loss"].as_f64().unwrap_or_default(),
        out.display(),
        summary["loss_plot"].as_str().unwrap_or_default(),
    );
    emit(common, &summary, &human);
    Ok(())
}
