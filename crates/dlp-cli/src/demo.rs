//! `dlp demo`: every system's demo stage, offline, on generated data.

use crate::{Common, emit, setup};
use dlp_core::demo::{DemoConfig, run as classifier};
use dlp_core::run::default_out;
use std::time::Instant;

/// What `dlp demo` reports: each stage's summary; also the demo's summary.json.
#[derive(serde::Serialize)]
struct Demo {
    task: &'static str,
    classifier: dlp_core::demo::DemoSummary,
    dni: dlp_dni::demo::DemoSummary,
    ddpm: dlp_ddpm::demo::DemoSummary,
    kg: dlp_kg::demo::DemoSummary,
    seconds: f64,
    run_dir: String,
    dlp_version: &'static str,
}

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
        "dlp demo, stage 1/4: MLP classifier on spirals ({} steps)",
        cfg.steps
    );
    let c = classifier(&cfg, &out.join("classifier"), &device)?;
    eprintln!("dlp demo, stage 2/4: backprop, DNI and cDNI on spirals, then cDNI on 2 workers");
    let n = dlp_dni::demo::run(common.seed, &out.join("dni-spirals"), &device)?;
    eprintln!(
        "dlp demo, stage 3/4: DDPM on 8 Gaussians ({} steps)",
        args.steps
    );
    let d = dlp_ddpm::demo::run(
        args.steps,
        common.seed,
        &out.join("ddpm-8gaussians"),
        &device,
    )?;
    eprintln!("dlp demo, stage 4/4: knowledge-graph completion of a generated family graph");
    let k = dlp_kg::demo::run(common.seed, &out.join("kg-family"))?;
    let summary = Demo {
        task: "demo",
        classifier: c,
        dni: n,
        ddpm: d,
        kg: k,
        seconds: start.elapsed().as_secs_f64(),
        run_dir: out.display().to_string(),
        dlp_version: dlp_core::run::VERSION,
    };
    let text = serde_json::to_string_pretty(&summary).expect("JSON serialises");
    dlp_core::atomic::write(out.join("summary.json"), text.as_bytes())?;
    let Demo {
        classifier: c,
        dni: n,
        ddpm: d,
        kg: k,
        ..
    } = &summary;
    let busy: Vec<String> = n
        .concurrent_busy_fractions
        .iter()
        .map(|x| format!("{:.0}%", 100.0 * x))
        .collect();
    let error = |method: &str| n.test_error.get(method).copied().unwrap_or(f64::NAN);
    let human = format!(
        "demo finished in {:.1}s in {}\n\
         classifier: test accuracy {:.3} (chance {:.3}); loss curve {}\n\
         DNI:        test error backprop {:.3}, DNI {:.3}, cDNI {:.3}; cDNI on 2 workers {:.3}, busy {}; losses {}\n\
         DDPM 2D:    MMD {:.4} vs data-vs-data floor {:.4}; samples {}\n\
         KG:         held-out facts, filtered MRR {:.3} by ComplEx, {:.3} by {} mined rules; best rule\n\
         \x20           {}\n\
         \x20           {} -> {:?} (held out: {})\n\
         KG store:   {} curated facts, {} schema violations; refused in strict mode: {:?}\n\
         \x20           who was born where (SPARQL):\n{}\
         KG text:    {} candidate facts from \"{}\",\n\
         \x20           {} accepted by review, with their source:\n{}",
        summary.seconds,
        out.display(),
        c.test_accuracy,
        c.chance_accuracy,
        c.loss_plot,
        error("backprop"),
        error("dni"),
        error("cdni"),
        n.concurrent_cdni_test_error,
        busy.join(" and "),
        n.loss_plot,
        d.mmd,
        d.mmd_floor,
        d.samples_plot,
        k.complex_test_mrr,
        k.rules_test_mrr,
        k.rules,
        k.top_rules.first().map_or("", String::as_str),
        k.query,
        k.top_answers,
        k.held_out_answer,
        k.store.curated_facts,
        k.store.violations,
        k.store.refused,
        k.store.answer,
        k.store.candidates_from_text,
        k.store.text,
        k.store.accepted_from_text,
        k.store.facts_from_text,
    );
    emit(common, &summary, &human);
    Ok(())
}
