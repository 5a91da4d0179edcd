//! `dlp ddpm schedule|train|sample|eval`.

use crate::{Common, emit, setup};
use dlp_core::Error;
use dlp_core::data::data_dir;
use dlp_core::run::default_out;
use dlp_ddpm::eval_image::{ImageEval, evaluate_images};
use dlp_ddpm::fid::Reference;
use dlp_ddpm::run::{sample_run, train_run};
use dlp_ddpm::sample::{Sampler, Variance};
use dlp_ddpm::task2d::Toy;
use dlp_ddpm::train::{ModelConfig, TrainConfig, read_config, read_config_file};
use dlp_ddpm::{BetaSchedule, GaussianDiffusion};
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print a noise schedule: betas, alphas_cumprod and the posterior (Eqs. 6-7), in f64.
    #[command(after_help = "Example:\n  dlp ddpm schedule --schedule cosine --steps 1000 --json")]
    Schedule(ScheduleArgs),
    /// Train a denoiser by L_simple (2D: 8gaussians, swissroll, moons; images: mnist,
    /// fashion-mnist, cifar10 from --data-dir).
    #[command(after_help = "Example:\n  dlp ddpm train --dataset 8gaussians --out runs/8g")]
    Train(TrainArgs),
    /// Draw samples from a trained run's EMA model (safetensors and a PNG in the run).
    #[command(
        after_help = "Example:\n  dlp ddpm sample --run runs/8g --sampler ddim --sampling-steps 50"
    )]
    Sample(SampleArgs),
    /// Evaluate a trained run. 2D: MMD to held-out data beside the data-vs-data floor, and
    /// mode coverage for 8 Gaussians. Images: classifier-FID beside the real-vs-real baseline,
    /// the predicted-class histogram, the mean top probability; with --inception, the FID and
    /// KID that papers report instead.
    #[command(
        after_help = "Examples:\n  dlp ddpm eval --run runs/8g --json\n  dlp ddpm eval --run runs/pics --inception pt_inception-2015-12-05-6726825d.pth --images pics --json"
    )]
    Eval(EvalArgs),
}

#[derive(clap::Args)]
pub struct ScheduleArgs {
    /// linear, quadratic, cosine or sigmoid.
    #[arg(long, default_value = "linear")]
    schedule: String,
    /// Number of diffusion steps T.
    #[arg(long, default_value_t = 1000)]
    steps: usize,
}

#[derive(clap::Args)]
pub struct SampleArgs {
    /// The run directory of `dlp ddpm train`.
    #[arg(long)]
    run: PathBuf,
    /// Number of samples.
    #[arg(long, default_value_t = 2000)]
    n: usize,
    #[command(flatten)]
    sampler: SamplerArgs,
    /// Classifier-free guidance scale (conditional image models).
    #[arg(long, default_value_t = 1.0)]
    guidance: f64,
    /// Also write each image sample as its own PNG into DIR (for pytorch-fid or clean-fid).
    #[arg(long, value_name = "DIR")]
    png_dir: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct EvalArgs {
    /// The run directory of `dlp ddpm train`.
    #[arg(long)]
    run: PathBuf,
    /// Number of samples (default 2000 for 2D, 1000 for images).
    #[arg(long)]
    n: Option<usize>,
    #[command(flatten)]
    sampler: SamplerArgs,
    /// Classifier-free guidance scale (conditional image models).
    #[arg(long, default_value_t = 1.0)]
    guidance: f64,
    /// Images: also the variational bound in bits/dim on this many test images (T network
    /// evaluations each).
    #[arg(long, default_value_t = 0)]
    bpd_images: usize,
    /// Standard FID and KID with these Inception-v3 weights: pytorch-fid's `.pth`
    /// (pt_inception-2015-12-05-6726825d.pth) or a safetensors copy.
    #[arg(long, value_name = "FILE")]
    inception: Option<PathBuf>,
    /// With --inception: the reference images, a folder [default: the run's dataset].
    #[arg(
        long,
        value_name = "DIR",
        requires = "inception",
        conflicts_with = "dataset"
    )]
    images: Option<PathBuf>,
    /// With --inception: the reference, a registry dataset's training split.
    #[arg(long, requires = "inception")]
    dataset: Option<String>,
}

#[derive(clap::Args)]
pub struct TrainArgs {
    /// A whole training configuration (TOML, as a run's config.toml); flags override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// 8gaussians, swissroll, moons, mnist, fashion-mnist or cifar10.
    #[arg(long, conflicts_with = "images")]
    dataset: Option<String>,
    /// A folder of your own images (PNG, JPEG, WebP, BMP, GIF; read recursively; one subfolder
    /// per class for --conditional), centre-cropped and resized to --size.
    #[arg(long, value_name = "DIR")]
    images: Option<PathBuf>,
    /// Side of the square training images, for --images (a multiple of 4; default 32).
    #[arg(long, requires = "images")]
    size: Option<usize>,
    /// 1 (greyscale) or 3 (RGB), for --images (default 3).
    #[arg(long, requires = "images")]
    channels: Option<usize>,
    /// Mirror training images left to right at random (for --images).
    #[arg(long)]
    flip: bool,
    /// Skip the files of --images that cannot be decoded (listed in skipped.txt of the run)
    /// instead of refusing to start.
    #[arg(long)]
    lenient: bool,
    /// Condition on class labels (image sets), for classifier-free guidance.
    #[arg(long)]
    conditional: bool,
    /// Training steps (default: the dataset's good setting).
    #[arg(long)]
    steps: Option<usize>,
    /// eps, x0 or v.
    #[arg(long)]
    prediction: Option<String>,
    /// Min-SNR-γ loss weighting (e.g. 5).
    #[arg(long, value_name = "GAMMA")]
    min_snr: Option<f64>,
    /// linear, quadratic, cosine or sigmoid.
    #[arg(long)]
    schedule: Option<String>,
    /// Diffusion steps T.
    #[arg(long)]
    timesteps: Option<usize>,
    /// Continue from the latest checkpoint in --out.
    #[arg(long)]
    resume: bool,
}

#[derive(clap::Args)]
pub struct SamplerArgs {
    /// ancestral or ddim (default: ancestral for 2D, ddim for images).
    #[arg(long)]
    sampler: Option<String>,
    /// Ancestral variance: small (posterior) or large (beta).
    #[arg(long, default_value = "small")]
    variance: String,
    /// DDIM steps (respaced, including t = T-1; default 100).
    #[arg(long, default_value_t = 100)]
    sampling_steps: usize,
    /// DDIM eta (0 deterministic, 1 ancestral-like; default 1 for images, 0 for 2D).
    #[arg(long)]
    eta: Option<f64>,
}

impl SamplerArgs {
    /// The sampler asked for; `images` picks the defaults for image runs.
    fn parse(&self, images: bool) -> dlp_core::Result<Sampler> {
        let name = self
            .sampler
            .as_deref()
            .unwrap_or(if images { "ddim" } else { "ancestral" });
        let steps = self.sampling_steps;
        let eta = self.eta.unwrap_or(if images { 1.0 } else { 0.0 });
        match name {
            "ancestral" => {
                let variance = match self.variance.as_str() {
                    "small" => Variance::Small,
                    "large" => Variance::Large,
                    other => {
                        return Err(Error::Usage(format!(
                            "--variance: `{other}` (expected small or large)"
                        )));
                    }
                };
                Ok(Sampler::Ancestral { variance })
            }
            "ddim" if steps > 0 => Ok(Sampler::Ddim { steps, eta }),
            "ddim" => Err(Error::Usage("--sampling-steps: must be at least 1".into())),
            other => Err(Error::Usage(format!(
                "--sampler: `{other}` (expected ancestral or ddim)"
            ))),
        }
    }
}

pub fn run(cmd: &Command, common: &Common) -> dlp_core::Result<()> {
    match cmd {
        Command::Schedule(a) => schedule(a, common),
        Command::Train(a) => train(a, common),
        Command::Sample(a) => sample(a, common),
        Command::Eval(a) => eval(a, common),
    }
}

fn schedule(a: &ScheduleArgs, common: &Common) -> dlp_core::Result<()> {
    let ScheduleArgs { schedule, steps } = a;
    let schedule: BetaSchedule = schedule.parse()?;
    if *steps == 0 {
        return Err(Error::Usage("--steps: must be at least 1".into()));
    }
    let d = GaussianDiffusion::new(schedule, *steps);
    let mut human = format!("{schedule:?} schedule, T = {steps}\n");
    human += "    t        beta   alphas_cumprod   posterior_var\n";
    let shown: Vec<usize> = if *steps <= 10 {
        (0..*steps).collect()
    } else {
        [
            0,
            1,
            2,
            steps / 4,
            steps / 2,
            3 * steps / 4,
            steps - 2,
            steps - 1,
        ]
        .to_vec()
    };
    for t in shown {
        human += &format!(
            "{:>5}  {:>10.4e}  {:>15.6e}  {:>14.4e}\n",
            t + 1,
            d.betas[t],
            d.alphas_cumprod[t],
            d.posterior_variance[t]
        );
    }
    emit(common, &d.arrays(), human.trim_end());
    Ok(())
}

fn train(args: &TrainArgs, common: &Common) -> dlp_core::Result<()> {
    let device = setup(common)?;
    let mut cfg = match (&args.config, &args.dataset) {
        (Some(path), _) => read_config_file(path)?,
        (None, d) => TrainConfig {
            seed: common.seed,
            ..TrainConfig::for_dataset(d.as_deref().unwrap_or("8gaussians"))?
        },
    };
    if let (Some(d), Some(_)) = (&args.dataset, &args.config) {
        cfg.dataset = d.clone();
    }
    if let Some(dir) = &args.images {
        if !dir.is_dir() {
            return Err(Error::Usage(format!(
                "--images: {} is not a folder",
                dir.display()
            )));
        }
        let (size, channels) = (args.size.unwrap_or(32), args.channels.unwrap_or(3));
        let dir = dir.display().to_string();
        cfg = match &args.config {
            Some(_) => TrainConfig {
                dataset: dir,
                ..cfg
            },
            None => TrainConfig {
                seed: common.seed,
                ..TrainConfig::for_images(&dir, size, channels)?
            },
        };
    }
    cfg.flip |= args.flip;
    cfg.lenient |= args.lenient;
    if args.conditional {
        let classes = match &args.images {
            Some(dir) => {
                let files = dlp_core::data::folder::image_files(dir)?;
                let n = dlp_core::data::folder::classes_of(&files).len();
                if n < 2 {
                    return Err(Error::Usage(format!(
                        "--conditional: {} has no class subfolders (one per class)",
                        dir.display()
                    )));
                }
                n
            }
            None => 10,
        };
        match &mut cfg.model {
            ModelConfig::Unet(u) => u.num_classes = classes,
            ModelConfig::Mlp { .. } => {
                return Err(Error::Usage(
                    "--conditional: only image datasets have classes".into(),
                ));
            }
        }
    }
    if let Some(s) = args.steps {
        cfg.steps = s;
    }
    if let Some(p) = &args.prediction {
        cfg.prediction = p.parse()?;
    }
    if let Some(s) = &args.schedule {
        cfg.schedule = s.parse()?;
    }
    if let Some(t) = args.timesteps {
        cfg.timesteps = t;
    }
    if args.min_snr.is_some() {
        cfg.min_snr_gamma = args.min_snr;
    }
    if cfg.steps == 0 || cfg.timesteps == 0 {
        return Err(Error::Usage(
            "--steps and --timesteps must be at least 1".into(),
        ));
    }
    let out = common.out.clone().unwrap_or_else(|| default_out("ddpm"));
    if !common.json {
        eprintln!(
            "dlp ddpm train: {} for {} steps into {}",
            cfg.dataset,
            cfg.steps,
            out.display()
        );
    }
    let settings = (&cfg.model, cfg.schedule, cfg.timesteps, cfg.prediction);
    let command = "ddpm train";
    let _claim = crate::claim_out(common, &out, command, &cfg.dataset, &settings, args.resume)?;
    let root = data_dir(common.data_dir.as_deref());
    let s = train_run(&cfg, &root, &out, &device, args.resume)?;
    let human = format!(
        "trained in {:.1}s ({:.3} steps/s), final loss {:.4}\nrun directory: {}\nsamples:       {}\nevaluate with: dlp ddpm eval --run {}",
        s.seconds,
        s.steps_per_second,
        s.final_loss.unwrap_or(f64::NAN),
        out.display(),
        s.samples_plot,
        out.display()
    );
    emit(common, &s, &human);
    Ok(())
}

fn sample(a: &SampleArgs, common: &Common) -> dlp_core::Result<()> {
    let SampleArgs {
        run,
        n,
        sampler,
        guidance,
        png_dir,
    } = a;
    if *n == 0 {
        return Err(Error::Usage("--n: at least 1 sample".into()));
    }
    let device = setup(common)?;
    let cfg = read_config(run)?;
    let sampler = sampler.parse(Toy::from_config(&cfg).is_none())?;
    // With --out, a run directory of its own (config.toml: the sampler; summary.json);
    // otherwise the samples go beside the trained run.
    let settings = serde_json::json!({"run": run, "n": n, "sampler": sampler,
        "guidance": guidance, "seed": common.seed});
    let out_run = crate::out_run(common, "ddpm sample", run, &settings)?;
    let dir = common.out.clone().unwrap_or_else(|| run.clone());
    let png_dir = png_dir.as_deref();
    let s = sample_run(
        run,
        *n,
        sampler,
        *guidance,
        common.seed,
        &dir,
        png_dir,
        &device,
    )?;
    let text = format!(
        "{n} samples: {}\nplot: {}",
        s.samples.display(),
        s.plot.display()
    );
    match out_run {
        Some(r) => emit(common, &r.write_summary(&s)?, &text),
        None => emit(common, &s, &text),
    }
    Ok(())
}

fn eval(a: &EvalArgs, common: &Common) -> dlp_core::Result<()> {
    let EvalArgs {
        run,
        n,
        sampler,
        guidance,
        bpd_images,
        inception,
        images: reference_images,
        dataset: reference_dataset,
    } = a;
    if *n == Some(0) {
        return Err(Error::Usage("--n: at least 1 sample".into()));
    }
    if let Some(weights) = inception {
        let cfg = read_config(run)?;
        let reference = match (reference_images, reference_dataset) {
            (Some(dir), _) => Reference::Folder(dir.clone()),
            (_, Some(name)) => Reference::Dataset(name.clone()),
            _ if Path::new(&cfg.dataset).is_dir() => Reference::Folder(cfg.dataset.into()),
            _ => Reference::Dataset(cfg.dataset),
        };
        let opts = dlp_ddpm::fid::Options {
            inception: weights.clone(),
            reference,
            n: n.unwrap_or(1000),
            sampler: sampler.parse(true)?,
            guidance: *guidance,
            kid_subsets: 100,
            kid_subset_size: 1000,
        };
        let own = crate::out_run(common, "ddpm eval", run, &(&opts.reference, opts.n))?;
        let root = data_dir(common.data_dir.as_deref());
        let s = dlp_ddpm::fid::evaluate(run, &root, &opts, &setup(common)?)?;
        let json = serde_json::to_value(&s).unwrap_or_default();
        let json = match &own {
            Some(r) => r.write_summary(json)?,
            None => json,
        };
        let human = format!(
            "FID {:.3}, KID {:.5} ± {:.5} ({} samples against {} reference images{})",
            s.fid,
            s.kid,
            s.kid_std,
            s.n,
            s.reference_n,
            if s.reference_cached { ", cached" } else { "" }
        );
        emit(common, &json, &human);
        return Ok(());
    }
    let device = setup(common)?;
    let cfg = read_config(run)?;
    let images = Toy::from_config(&cfg).is_none();
    let parsed = sampler.parse(images)?;
    let settings = serde_json::json!({"run": run, "n": n, "sampler": parsed,
        "guidance": guidance, "bpd_images": bpd_images});
    let own = crate::out_run(common, "ddpm eval", run, &settings)?;
    let out = common.out.clone().unwrap_or_else(|| run.clone());
    // With --out, the evaluation's own run directory gets its summary too.
    let write = |s: serde_json::Value| match &own {
        Some(r) => r.write_summary(s),
        None => Ok(s),
    };
    if images {
        let root = data_dir(common.data_dir.as_deref());
        let opts = ImageEval {
            n: n.unwrap_or(1000),
            sampler: parsed,
            guidance: *guidance,
            bpd_images: *bpd_images,
        };
        let e = evaluate_images(run, &root, &out, &device, opts)?;
        let s = write(serde_json::to_value(&e).expect("scores serialise to JSON"))?;
        let hist: Vec<String> = e
            .class_histogram
            .iter()
            .map(|x| format!("{x:.3}"))
            .collect();
        let human = format!(
            "{}: classifier-FID {:.3} (real-vs-real {:.3}), mean top probability {:.3}, bits/dim {}\nclass histogram: {}\nsamples: {}\nthe FID papers report: add --inception FILE (pytorch-fid's pt_inception-2015-12-05-6726825d.pth)",
            cfg.dataset,
            e.classifier_fid,
            e.classifier_fid_real,
            e.mean_top_probability,
            e.bits_per_dim
                .map_or("not computed".into(), |b| format!("{b:.3}")),
            hist.join(" "),
            e.samples_plot
        );
        emit(common, &s, &human);
        return Ok(());
    }
    let n = n.unwrap_or(2000);
    let e = dlp_ddpm::eval2d::evaluate_run(run, &out, &device, n, parsed)?;
    let s = write(serde_json::to_value(&e).expect("scores serialise to JSON"))?;
    let mut human = format!(
        "{}: MMD {:.4} (data-vs-data floor {:.4}, ratio {:.2}) at n = {n}",
        e.dataset,
        e.mmd,
        e.mmd_floor,
        e.mmd / e.mmd_floor,
    );
    if let Some(f) = &e.mode_fractions {
        let f: Vec<String> = f.iter().map(|x| format!("{x:.3}")).collect();
        human += &format!("\nmode fractions: {}", f.join(" "));
    }
    emit(common, &s, &human);
    Ok(())
}
