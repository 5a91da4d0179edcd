//! `dlp dni train`, `dlp dni copy` and `dlp dni charlm`.

use crate::{Common, emit, setup};
use dlp_core::Error;
use dlp_core::data::idx::{LabelledImages, Split};
use dlp_core::data::{data_dir, registry};
use dlp_dni::layers::{Arch, Interface};
use dlp_dni::recurrent::{CopyConfig, RnnConfig};
use dlp_dni::train::{Examples, TrainConfig, train};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Train an FC network or the paper's CNN by backprop, DNI, cDNI or decoupled, sequentially or
    /// on concurrent workers (--workers), and report test error.
    #[command(
        after_help = "Example:\n  dlp dni train --dataset mnist --layers 3 --method cdni --epochs 20 --json"
    )]
    Train(TrainArgs),
    /// Train an LSTM on Copy or Repeat Copy by truncated BPTT, with or without synthetic
    /// gradients between windows, under a curriculum; report the longest sequence solved.
    #[command(
        after_help = "Example:\n  dlp dni copy --task copy --truncation 3 --method dni --json"
    )]
    Copy(CopyArgs),
    /// Character-level language modelling on a text file (plain or .gz, split 90/5/5) by
    /// truncated BPTT, with or without synthetic gradients; report bits per character.
    #[command(
        after_help = "Example:\n  dlp dni charlm --text corpus.txt --truncation 5 --method dni --out runs/lm"
    )]
    Charlm(CharlmArgs),
}

#[derive(clap::Args)]
pub struct TrainArgs {
    /// mnist, fashion-mnist or cifar10 (from --data-dir).
    #[arg(long, default_value = "mnist")]
    dataset: String,
    /// fc (blocks of Linear, batch norm, ReLU) or cnn (5x5 convolutions, batch norm, ReLU,
    /// pooling), the paper's two networks.
    #[arg(long, default_value = "fc")]
    model: String,
    /// Hidden blocks.
    #[arg(long, default_value_t = 3)]
    layers: usize,
    /// Units of an FC block (default 256) or filters of a convolutional one (default 128).
    #[arg(long)]
    width: Option<usize>,
    /// backprop, dni, cdni or decoupled (synthetic inputs and synthetic gradients).
    #[arg(long, default_value = "dni")]
    method: String,
    #[arg(long, default_value_t = 1)]
    epochs: usize,
    /// 1: sequential; 2 to layers + 1: modules grouped onto that many worker threads, which
    /// divide the --threads between them (DNI and cDNI).
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Stochastic updates: each module updates with this probability per step.
    #[arg(long, default_value_t = 1.0)]
    update_prob: f64,
    /// BP(λ): modules use λ·(gradient from above) + (1 − λ)·(synthetic gradient).
    #[arg(long, default_value_t = 0.0)]
    lambda: f64,
    /// Leave this many bottom blocks at their random initialisation (a baseline; all of them:
    /// the classifier alone learns, on random features). Both trainers honour it.
    #[arg(long, default_value_t = 0)]
    freeze: usize,
    /// Adam rate of the layers.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Divide --lr by 10 after 60% of the steps and by 100 after 80% (multi-step decay;
    /// --sg-lr stays).
    #[arg(long)]
    lr_decay: bool,
    /// Adam rate of the synthetic-gradient models (the synthetic-input models learn at --lr).
    #[arg(long, default_value_t = 1e-2)]
    sg_lr: f64,
    /// Hidden units of the synthetic-gradient models (0: linear; otherwise one hidden layer
    /// of Linear, batch norm and ReLU for FC blocks).
    #[arg(long, default_value_t = 0)]
    sg_hidden: usize,
    /// Where modules meet and synthetic gradients are predicted: output (after the ReLU, the
    /// paper) or preactivation (after batch norm; FC only).
    #[arg(long, default_value = "output")]
    interface: String,
    /// Start the FC blocks from random orthogonal weights (Saxe et al.) instead of
    /// Kaiming-uniform ones.
    #[arg(long)]
    orthogonal_init: bool,
    /// As --orthogonal-init, and the square FC blocks (all but the first) start at the
    /// identity.
    #[arg(long)]
    identity_init: bool,
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    /// Continue from the latest checkpoint in --out (written after every epoch; sequential
    /// runs, --workers 1).
    #[arg(long)]
    resume: bool,
}

#[derive(clap::Args)]
pub struct CopyArgs {
    /// copy or repeat-copy.
    #[arg(long, default_value = "copy")]
    task: String,
    #[command(flatten)]
    rnn: Rnn,
    /// Continue from the latest checkpoint in --out (written every 1,000 updates).
    #[arg(long)]
    resume: bool,
}

#[derive(clap::Args)]
pub struct CharlmArgs {
    /// The text file.
    #[arg(long)]
    text: std::path::PathBuf,
    #[command(flatten)]
    rnn: Rnn,
    /// Continue from the latest checkpoint in --out (written at every validation).
    #[arg(long)]
    resume: bool,
}

/// The flags of the recurrent commands; unset ones take the task's defaults.
#[derive(clap::Args)]
pub struct Rnn {
    /// bptt or dni.
    #[arg(long, default_value = "dni")]
    method: String,
    /// Steps per truncation window (Copy 3, charlm 5).
    #[arg(long)]
    truncation: Option<usize>,
    /// Windows (updates) to train for (Copy 20,000, charlm 5,000).
    #[arg(long)]
    updates: Option<usize>,
    #[arg(long, default_value_t = 256)]
    hidden: usize,
    /// Streams per update.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Adam rate of the LSTM (3e-3).
    #[arg(long)]
    lr: Option<f64>,
    /// Adam rate of the synthetic-gradient model (Copy 1e-3, charlm 1e-5).
    #[arg(long)]
    sg_lr: Option<f64>,
}

impl Rnn {
    /// The run's settings: the flags given, the task's defaults `d` for the rest.
    fn config(&self, d: RnnConfig, seed: u64) -> dlp_core::Result<RnnConfig> {
        Ok(RnnConfig {
            method: self.method.parse()?,
            truncation: self.truncation.unwrap_or(d.truncation),
            updates: self.updates.unwrap_or(d.updates),
            hidden: self.hidden,
            batch: self.batch_size,
            learning_rate: self.lr.unwrap_or(d.learning_rate),
            sg_learning_rate: self.sg_lr.unwrap_or(d.sg_learning_rate),
            seed,
            ..d
        })
    }
}

fn examples(set: &LabelledImages) -> Examples {
    Examples {
        x: set.images.iter().map(|&p| p as f32 / 255.0).collect(),
        y: set.labels.iter().map(|&l| l as usize).collect(),
        dim: set.channels * set.height * set.width,
        classes: 10,
    }
}

pub fn run(cmd: &Command, common: &Common) -> dlp_core::Result<()> {
    match cmd {
        Command::Train(a) => train_command(a, common),
        Command::Copy(a) => copy(a, common),
        Command::Charlm(a) => charlm(a, common),
    }
}

fn charlm(a: &CharlmArgs, common: &Common) -> dlp_core::Result<()> {
    let CharlmArgs { text, rnn, resume } = a;
    use dlp_dni::charlm::{CharLmConfig, Corpus, train_charlm};
    let bytes = dlp_core::data::read_maybe_gz(text)?;
    let body = String::from_utf8(bytes)
        .map_err(|e| Error::format(text, None, format!("not valid UTF-8 ({e})")))?;
    let corpus = Corpus::from_text(&body)?;
    let d = CharLmConfig::default();
    let cfg = CharLmConfig {
        rnn: rnn.config(d.rnn.clone(), common.seed)?,
        dataset: text.display().to_string(),
        ..d
    };
    let device = setup(common)?;
    if *resume && common.out.is_none() {
        return Err(Error::Usage(
            "--resume needs --out DIR (the run to continue)".into(),
        ));
    }
    let _claim = match &common.out {
        Some(out) => {
            let settings = (
                format!("{:?}", cfg.rnn.method),
                cfg.rnn.truncation,
                cfg.rnn.hidden,
            );
            let text = text.display().to_string();
            Some(crate::claim_out(
                common,
                out,
                "dni charlm",
                &text,
                &settings,
                *resume,
            )?)
        }
        None => None,
    };
    let s = train_charlm(&cfg, &corpus, &device, common.out.as_deref(), *resume)?;
    let human = format!(
        "{} T={}: valid {:.3} bpc, test {:.3} bpc ({} characters of vocabulary) in {:.1}s",
        rnn.method, cfg.rnn.truncation, s.valid_bpc, s.test_bpc, s.vocab, s.seconds
    );
    emit(common, &s, &human);
    Ok(())
}

fn copy(a: &CopyArgs, common: &Common) -> dlp_core::Result<()> {
    let CopyArgs { task, rnn, resume } = a;
    if *resume && common.out.is_none() {
        return Err(Error::Usage(
            "--resume needs --out DIR (the run to continue)".into(),
        ));
    }
    let cfg = CopyConfig {
        task: task.parse()?,
        rnn: rnn.config(CopyConfig::default().rnn, common.seed)?,
    };
    let device = setup(common)?;
    let _claim = match &common.out {
        Some(out) => {
            let settings = (
                format!("{:?}", cfg.rnn.method),
                cfg.rnn.truncation,
                cfg.rnn.hidden,
            );
            Some(crate::claim_out(
                common, out, "dni copy", task, &settings, *resume,
            )?)
        }
        None => None,
    };
    let (s, _) = dlp_dni::recurrent::train_copy(&cfg, &device, common.out.as_deref(), *resume)?;
    let human = format!(
        "{task} {}, T = {}: longest sequence solved {} in {:.0}s",
        rnn.method, cfg.rnn.truncation, s.max_length_solved, s.seconds
    );
    emit(common, &s, &human);
    Ok(())
}

fn train_command(a: &TrainArgs, common: &Common) -> dlp_core::Result<()> {
    let TrainArgs {
        dataset,
        model,
        layers,
        width,
        method,
        epochs,
        workers,
        update_prob,
        lambda,
        freeze,
        lr,
        lr_decay,
        sg_lr,
        sg_hidden,
        interface,
        orthogonal_init,
        identity_init,
        batch_size,
        resume,
    } = a;
    let interface: Interface = interface.parse()?;
    let method = method.parse()?;
    if *resume && (common.out.is_none() || *workers > 1) {
        return Err(Error::Usage(
            "--resume needs --out DIR (the run to continue) and --workers 1".into(),
        ));
    }
    if *workers == 0 || *workers > layers + 1 {
        return Err(Error::Usage(format!(
            "--workers: {workers} for {} modules ({layers} blocks and the classifier): expected 1 to {}",
            layers + 1,
            layers + 1
        )));
    }
    let spec = registry::find(dataset)
        .filter(|d| d.kind == registry::Kind::Images)
        .ok_or_else(|| {
            Error::Usage(format!(
                "--dataset: `{dataset}` (expected mnist, fashion-mnist or cifar10)"
            ))
        })?;
    // The CNN's image shape comes from the data; validate() looks only at the kind, so
    // the settings are checked before anything is read.
    let (arch, default_width) = match model.as_str() {
        "fc" => (Arch::Fc, 256),
        "cnn" => (Arch::Cnn { image: [0; 3] }, 128),
        other => {
            return Err(Error::Usage(format!(
                "--model: `{other}` (expected fc or cnn)"
            )));
        }
    };
    let mut cfg = TrainConfig {
        dataset: dataset.clone(),
        method,
        arch,
        width: width.unwrap_or(default_width),
        layers: *layers,
        epochs: *epochs,
        update_prob: *update_prob,
        lambda: *lambda,
        freeze: *freeze,
        learning_rate: *lr,
        lr_decay: *lr_decay,
        sg_learning_rate: *sg_lr,
        sg_hidden: *sg_hidden,
        interface,
        orthogonal_init: *orthogonal_init,
        identity_init: *identity_init,
        batch_size: *batch_size,
        seed: common.seed,
        ..TrainConfig::default()
    };
    cfg.validate()?;
    let device = setup(common)?;
    let root = data_dir(common.data_dir.as_deref());
    let train_images = LabelledImages::load_dataset(spec, &root, Split::Train)?;
    if let Arch::Cnn { image } = &mut cfg.arch {
        let t = &train_images;
        *image = [t.channels, t.height, t.width];
    }
    let train_set = examples(&train_images);
    let test_set = examples(&LabelledImages::load_dataset(spec, &root, Split::Test)?);
    let _claim = match &common.out {
        Some(out) => {
            let settings = (
                model,
                cfg.width,
                cfg.layers,
                format!("{:?}", cfg.method),
                interface,
            );
            Some(crate::claim_out(
                common,
                out,
                "dni train",
                dataset,
                &settings,
                *resume,
            )?)
        }
        None => None,
    };
    let human = |test_error: f64, seconds: f64, samples_per_second: f64| {
        format!(
            "{} {:?}, {} layers, {} epochs: test error {test_error:.4} in {seconds:.1}s \
             ({samples_per_second:.0} samples/s)",
            spec.name, cfg.method, layers, epochs,
        )
    };
    if *workers == 1 {
        let s = train(
            &cfg,
            &train_set,
            &test_set,
            &device,
            common.out.as_deref(),
            *resume,
        )?;
        let line = human(s.test_error, s.seconds, s.samples_per_second);
        emit(common, &s, &line);
    } else {
        let s =
            dlp_dni::concurrent::train_concurrent(&cfg, *workers, &train_set, &test_set, &device)?;
        let line = human(s.test_error, s.seconds, s.samples_per_second);
        emit(common, &s, &line);
    }
    Ok(())
}
