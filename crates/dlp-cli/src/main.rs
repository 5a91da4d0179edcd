//! `dlp`: the command-line tool of dlpapers. It parses arguments, calls the libraries and
//! prints; no algorithm lives here.

mod data;
mod ddpm;
mod demo;
mod dni;
mod export;
mod kg;

use clap::{Parser, Subcommand};
use dlp_core::Error;
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc keeps freed tensor buffers for the next step; the system allocator returns large
/// ones to the OS and page-faults them back in (3-layer MLP step on 1 thread: about 240 -> 315
/// steps/s).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EXAMPLES: &str = "\
Examples:
  dlp demo                                   every system's demo on generated data, into runs/demo-*/
  dlp demo --out runs/demo --json            same, into runs/demo, summary as JSON on stdout
  dlp data list                              the datasets dlp knows and whether they are present
  dlp data verify mnist --data-dir ../shared/data
  dlp data fetch fashion-mnist               download into $DLP_DATA_DIR (or ./data)
  dlp data stats fb15k-237                   load a dataset and print its counts
  dlp data audit wn18rr                      duplicates, leakage, balance, label errors
  dlp dni train --method cdni --epochs 3     MNIST with synthetic gradients between layers
  dlp kg embed train --dataset umls --json   ComplEx (1vsAll, N3) with filtered test metrics
  dlp kg rules mine --dataset umls --out runs/umls-rules
  dlp kg import --store runs/kg fb15k-237/train.txt.gz   then: dlp kg query --store runs/kg 'SELECT ...'
  dlp ddpm schedule --schedule cosine --steps 1000 --json
  dlp ddpm train --dataset 8gaussians --out runs/8g   then: dlp ddpm eval --run runs/8g --json

Data: dataset NAME lives in DATA_DIR/NAME/ (--data-dir, or $DLP_DATA_DIR, or ./data).";

/// dlpapers: DNI, knowledge graphs and DDPM as fast, tested Rust systems.
#[derive(Parser)]
#[command(name = "dlp", version, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    common: Common,
}

/// Options every command takes.
#[derive(clap::Args, Clone)]
pub struct Common {
    /// Print exactly one JSON object (the summary) on stdout; logs go to stderr.
    #[arg(long, global = true)]
    json: bool,
    /// Data directory holding one folder per dataset.
    #[arg(long, global = true, env = "DLP_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Run directory for config.toml, metrics.jsonl, summary.json, checkpoints and plots.
    #[arg(long, global = true, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Random seed; the same seed repeats a CPU run.
    #[arg(long, global = true, default_value_t = 0)]
    seed: u64,
    /// CPU threads for tensor kernels (default: one per core).
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
    /// Device: cpu, or gpu (burn wgpu on Vulkan) when built with `--features vulkan`.
    #[arg(long, global = true, default_value = "cpu")]
    device: String,
    /// With --out: replace the run already there (its config, metrics, summary and checkpoints
    /// are removed first). Without it a trainer refuses a directory that holds a run.
    #[arg(long, global = true)]
    force: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run every system's demo on generated data: offline, no data needed (about 15 s).
    #[command(after_help = "Example:\n  dlp demo --out runs/demo --json")]
    Demo(demo::Args),
    /// Datasets: list, verify, fetch, stats, and audit (duplicates, leakage, balance, label errors).
    #[command(subcommand)]
    #[command(after_help = "Example:\n  dlp data list")]
    Data(data::Command),
    /// Diffusion (DDPM, Ho et al. 2020): schedule, train, sample, eval.
    #[command(subcommand)]
    #[command(after_help = "Example:\n  dlp ddpm train --dataset 8gaussians --out runs/8g")]
    Ddpm(ddpm::Command),
    /// Synthetic gradients (DNI, Jaderberg et al. 2017): train (MLP, CNN), copy (LSTM), charlm.
    #[command(subcommand)]
    #[command(after_help = "Example:\n  dlp dni train --method cdni --epochs 3")]
    Dni(dni::Command),
    /// Knowledge graphs (Yuan et al. 2022): completion (embed, rules), the store (import, query,
    /// serve, ...), extraction from text, alignment and merge.
    #[command(subcommand)]
    #[command(after_help = "Example:\n  dlp kg embed train --dataset umls --json")]
    Kg(kg::Command),
    /// A trained run's weights for PyTorch: PyTorch's parameter names and layouts, in safetensors.
    #[command(
        after_help = "Example:\n  dlp export --run runs/mnist --format pytorch --out unet.safetensors"
    )]
    Export(export::Args),
}

/// Prints a summary: JSON on stdout with `--json`, else the given human lines.
/// Claims the run directory `out` for `command` on `dataset` with `settings` (those a checkpoint
/// depends on): refuses a directory holding another run unless `--resume` continues a run of the
/// same identity or `--force` replaces it (see [`dlp_core::run::claim`]).
pub fn claim_out(
    common: &Common,
    out: &std::path::Path,
    command: &str,
    dataset: &str,
    settings: &impl serde::Serialize,
    resume: bool,
) -> Result<Claimed, Error> {
    let id = dlp_core::run::Identity::new(command, dataset, settings);
    dlp_core::run::claim(out, &id, resume, common.force)?;
    Ok(Claimed(out.to_path_buf()))
}

/// A claimed run directory; when it goes out of scope, a run that failed before writing anything
/// leaves no directory behind ([`dlp_core::run::release`]).
#[must_use = "the claim is released when this is dropped"]
pub struct Claimed(std::path::PathBuf);

impl Drop for Claimed {
    fn drop(&mut self) {
        dlp_core::run::release(&self.0);
    }
}

/// With `--out`: a run directory of its own for a command that reads a trained run `run` (a
/// sampler or an evaluator), claimed for `command` and with `settings` as its `config.toml`; the
/// caller writes its outputs and summary there. `None` without `--out`.
pub fn out_run(
    common: &Common,
    command: &str,
    run: &std::path::Path,
    settings: &impl serde::Serialize,
) -> Result<Option<dlp_core::run::RunDir>, Error> {
    let Some(d) = &common.out else {
        return Ok(None);
    };
    let _claim = claim_out(
        common,
        d,
        command,
        &run.display().to_string(),
        settings,
        false,
    )?;
    dlp_core::run::RunDir::create(d, settings).map(Some)
}

/// Every summary names the dlpapers version that made it.
pub fn emit(common: &Common, summary: &impl serde::Serialize, human: &str) {
    if common.json {
        let mut summary = serde_json::to_value(summary).expect("summaries serialise to JSON");
        if let Some(map) = summary.as_object_mut() {
            map.entry("dlp_version")
                .or_insert(dlp_core::run::VERSION.into());
        }
        println!("{summary}");
    } else {
        println!("{human}");
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The whole command runs on a thread of the kernels' pool (see `in_pool`).
    let result = dlp_core::device::init_threads(cli.common.threads).and_then(|_| {
        dlp_core::device::in_pool(|| match &cli.command {
            Command::Demo(args) => demo::run(args, &cli.common),
            Command::Data(cmd) => data::run(cmd, &cli.common),
            Command::Ddpm(cmd) => ddpm::run(cmd, &cli.common),
            Command::Dni(cmd) => dni::run(cmd, &cli.common),
            Command::Kg(cmd) => kg::run(cmd, &cli.common),
            Command::Export(args) => export::run(args, &cli.common),
        })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match &e {
                // A library names the setting; here it is the option of the same name.
                Error::Setting { field, msg } => {
                    eprintln!("error: --{}: {msg}", field.replace('_', "-"))
                }
                _ => eprintln!("error: {e}"),
            }
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// The device from the common options (`main` has set the threads).
pub fn setup(common: &Common) -> Result<burn::tensor::Device, Error> {
    common
        .device
        .parse::<dlp_core::device::DeviceSpec>()?
        .device()
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every command and group, at every depth, shows an example of itself in its help.
    #[test]
    fn every_subcommand_help_has_an_example() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                let path = format!("{path} {}", sub.get_name());
                let help = sub
                    .get_after_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                let names_itself =
                    |l: &str| l.trim() == path || l.trim().starts_with(&format!("{path} "));
                if !help.lines().any(names_itself) {
                    missing.push(path.clone());
                }
                walk(sub, &path, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "dlp", &mut missing);
        assert!(missing.is_empty(), "no example in the help of: {missing:?}");
        super::Cli::command().debug_assert();
    }
}
