//! Character-level language modelling with truncated BPTT, with or without synthetic gradients
//! between windows (Jaderberg et al. 2017, Section 3.1, the Penn Treebank experiment), reported
//! in bits per character: bpc = −(1/N) Σ_t log₂ p(x_{t+1} | x_≤t).
//!
//! A text file is split 90/5/5 into train, validation and test characters; the vocabulary is
//! the training characters plus one id for anything unseen. `batch` streams read the training
//! text from evenly spaced offsets, `truncation` characters per update, each predicting the
//! next character by a softmax over the vocabulary; the state carries over between windows
//! (and [`crate::recurrent::Windows`] adds the synthetic gradient at each boundary for DNI).
//! Validation bpc is measured every `eval_every` updates on up to `eval_chars` characters; the
//! summary has the best validation bpc and the test bpc of the last model. The synthetic-gradient
//! model learns at 1e-5 by default: on Wikipedia text a faster one (the Copy task's 1e-3) made
//! the LSTM worse than plain truncated BPTT (results/dni/README.md has the sweep).
//!
//! ```
//! use burn::tensor::Device;
//! use dlp_dni::charlm::{CharLmConfig, Corpus, train_charlm};
//! let corpus = Corpus::from_text(&"abcd".repeat(300)).unwrap();
//! let mut cfg = CharLmConfig { eval_every: 300, ..CharLmConfig::default() };
//! (cfg.rnn.hidden, cfg.rnn.batch, cfg.rnn.updates) = (16, 4, 300);
//! let s = train_charlm(&cfg, &corpus, &Device::flex(), None, false).unwrap();
//! assert!(s.test_bpc < 1.0); // from log2(5) = 2.3 bits at the start
//! ```

use crate::lstm::Lstm;
use crate::recurrent::{RnnConfig, RnnMethod, Windows};
use burn::module::Module;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor, TensorData};
use dlp_core::checkpoint;
use dlp_core::error::{Error, Result};
use dlp_core::progress::Progress;
use dlp_core::run::RunDir;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

/// A character-level language-modelling run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CharLmConfig {
    /// The text it trains on, as given (a file path); recorded, not read.
    #[serde(default)]
    pub dataset: String,
    #[serde(flatten)]
    pub rnn: RnnConfig,
    /// Validation every this many updates, on at most `eval_chars` characters.
    pub eval_every: usize,
    pub eval_chars: usize,
}

impl Default for CharLmConfig {
    fn default() -> Self {
        Self {
            dataset: String::new(),
            rnn: RnnConfig {
                method: RnnMethod::Dni,
                truncation: 5,
                hidden: 256,
                batch: 32,
                updates: 5_000,
                learning_rate: 3e-3,
                sg_learning_rate: 1e-5,
                sg_scale: 0.1,
                seed: 0,
            },
            eval_every: 1_000,
            eval_chars: 20_000,
        }
    }
}

/// A text as character ids, split 90/5/5.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// Characters by id; id 0 is "unseen in training".
    pub vocab: Vec<char>,
    pub train: Vec<u32>,
    pub valid: Vec<u32>,
    pub test: Vec<u32>,
}

impl Corpus {
    /// Splits `text` and builds the vocabulary from its training part.
    pub fn from_text(text: &str) -> Result<Self> {
        let chars: Vec<char> = text.chars().collect();
        if chars.len() < 200 {
            return Err(Error::Usage(format!(
                "a character-level corpus needs at least 200 characters, this text has {}",
                chars.len()
            )));
        }
        let (a, b) = (chars.len() * 9 / 10, chars.len() * 19 / 20);
        let mut vocab = vec!['\u{fffd}'];
        let mut index: HashMap<char, u32> = HashMap::new();
        for &c in &chars[..a] {
            index.entry(c).or_insert_with(|| {
                vocab.push(c);
                (vocab.len() - 1) as u32
            });
        }
        let ids = |s: &[char]| {
            s.iter()
                .map(|c| index.get(c).copied().unwrap_or(0))
                .collect()
        };
        Ok(Corpus {
            train: ids(&chars[..a]),
            valid: ids(&chars[a..b]),
            test: ids(&chars[b..]),
            vocab,
        })
    }
}

/// One-hot rows `[ids.len(), v]`.
fn one_hot(ids: &[u32], v: usize, device: &Device) -> Tensor<2> {
    let mut x = vec![0.0f32; ids.len() * v];
    for (r, &i) in ids.iter().enumerate() {
        x[r * v + i as usize] = 1.0;
    }
    Tensor::from_data(TensorData::new(x, [ids.len(), v]), device)
}

/// Bits per character of `lstm` on `ids`, read as `batch` contiguous streams from a zero state.
pub fn bpc(lstm: &Lstm, ids: &[u32], v: usize, batch: usize, device: &Device) -> f64 {
    let len = ids.len() / batch.max(1);
    if len < 2 {
        return f64::NAN;
    }
    let (mut h, mut c) = lstm.zero_state(batch, device);
    let mut nats = 0.0;
    for t in 0..len - 1 {
        let at = |k: usize| -> Vec<u32> { (0..batch).map(|s| ids[s * len + k]).collect() };
        (h, c) = lstm.cell(one_hot(&at(t), v, device), h, c);
        let logp = log_softmax(lstm.readout(h.clone()), 1);
        let picked = (logp * one_hot(&at(t + 1), v, device)).sum();
        nats -= dlp_core::tensor::scalar(picked);
    }
    nats / ((len - 1) * batch) as f64 / std::f64::consts::LN_2
}

/// One validation during training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub update: usize,
    /// Mean training bits per character since the previous validation.
    pub train_bpc: f64,
    pub valid_bpc: f64,
}

/// What [`train_charlm`] reports; with a run directory, also its summary.json.
#[derive(Debug, Clone, Serialize)]
pub struct CharLmSummary {
    pub task: &'static str,
    pub dataset: String,
    pub seed: u64,
    pub method: RnnMethod,
    pub truncation: usize,
    /// The best validation bits per character.
    pub valid_bpc: f64,
    pub test_bpc: f64,
    pub vocab: usize,
    pub train_chars: usize,
    pub curve: Vec<CurvePoint>,
    pub updates: usize,
    pub resumed_from: usize,
    pub seconds: f64,
    pub updates_per_second: f64,
    pub config: CharLmConfig,
    pub dlp_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_dir: Option<String>,
}

/// Trains on the corpus; returns the summary (validation and test bits per character, the
/// curve, timing). With
/// `out`, a run directory (config.toml, metrics.jsonl at every validation, summary.json) and a
/// checkpoint written at every validation, and `resume` continues from the latest
/// one to the same weights an uninterrupted run reaches.
pub fn train_charlm(
    cfg: &CharLmConfig,
    corpus: &Corpus,
    device: &Device,
    out: Option<&Path>,
    resume: bool,
) -> Result<CharLmSummary> {
    cfg.rnn.validate()?;
    let start = Instant::now();
    let ad = device.clone().autodiff();
    ad.seed(cfg.rnn.seed);
    let (b, v) = (cfg.rnn.batch, corpus.vocab.len());
    let mut net = Windows::new(v, v, &cfg.rnn, &ad);
    let n = corpus.train.len();
    let offsets: Vec<usize> = (0..b).map(|s| s * n / b).collect();
    let valid: &[u32] = &corpus.valid[..corpus.valid.len().min(cfg.eval_chars)];
    let mut curve: Vec<CurvePoint> = Vec::new();
    let mut best = f64::INFINITY;
    let mut first = 0;
    let restored = match (out, resume) {
        (Some(dir), true) => net.resume(dir)?.map(|r| (dir, r)),
        _ => None,
    };
    if let Some((dir, (step, extra))) = restored {
        first = step as usize;
        curve = checkpoint::extra_field(&extra, dir, "curve")?;
        best = checkpoint::extra_field(&extra, dir, "best")?;
        eprintln!("resuming {} after update {step}", dir.display());
    }
    let mut run = out.map(|dir| RunDir::create(dir, cfg)).transpose()?;
    let progress = Progress::new("dni charlm", cfg.rnn.updates.saturating_sub(first) as u64);
    let mut train_bits = 0.0;
    for update in first..cfg.rnn.updates {
        let pos = update * cfg.rnn.truncation;
        let at = |k: usize| -> Vec<u32> {
            offsets
                .iter()
                .map(|o| corpus.train[(o + pos + k) % n])
                .collect()
        };
        let xs = (0..cfg.rnn.truncation)
            .map(|k| one_hot(&at(k), v, &ad))
            .collect();
        let (loss, _) = net
            .step(xs, |k, z| {
                (log_softmax(z, 1) * one_hot(&at(k + 1), v, &ad))
                    .sum()
                    .neg()
                    / b as f64
            })
            .map_err(|e| Error::NonFinite(format!("dni charlm, update {update}: {e}")))?;
        train_bits += loss / (cfg.rnn.truncation as f64 * std::f64::consts::LN_2);
        progress.inc(1);
        if (update + 1) % cfg.eval_every == 0 || update + 1 == cfg.rnn.updates {
            let valid_bpc = bpc(&net.net.lstm.valid(), valid, v, b, device);
            let since = (update % cfg.eval_every + 1) as f64;
            let point = CurvePoint {
                update: update + 1,
                train_bpc: train_bits / since,
                valid_bpc,
            };
            if let Some(run) = &mut run {
                run.log(&json!(point))?;
            }
            curve.push(point);
            progress.set_message(format!("valid {valid_bpc:.3} bpc"));
            best = best.min(valid_bpc);
            train_bits = 0.0;
            if let Some(dir) = out {
                net.save(
                    dir,
                    update as u64 + 1,
                    json!({"curve": curve, "best": best}),
                )?;
            }
        }
    }
    progress.finish();
    let test: &[u32] = &corpus.test[..corpus.test.len().min(cfg.eval_chars)];
    let test_bpc = bpc(&net.net.lstm.valid(), test, v, b, device);
    let seconds = start.elapsed().as_secs_f64();
    let mut summary = CharLmSummary {
        task: "charlm",
        dataset: cfg.dataset.clone(),
        seed: cfg.rnn.seed,
        method: cfg.rnn.method,
        truncation: cfg.rnn.truncation,
        valid_bpc: best,
        test_bpc,
        vocab: v,
        train_chars: n,
        curve,
        updates: cfg.rnn.updates,
        resumed_from: first,
        seconds,
        updates_per_second: cfg.rnn.updates as f64 / seconds,
        config: cfg.clone(),
        dlp_version: dlp_core::run::VERSION,
        run_dir: None,
    };
    if let Some(run) = run {
        summary.run_dir = Some(run.dir().display().to_string());
        run.write_summary(&summary)?;
    }
    Ok(summary)
}
