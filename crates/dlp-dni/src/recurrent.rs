//! Recurrent DNI (Jaderberg et al. 2017, Section 3.1): an LSTM trained by truncated BPTT on
//! windows of T steps, with a synthetic gradient at every window boundary.
//!
//! Truncated BPTT cuts the gradient at the start of each window. DNI adds, at the window's last
//! state s_T = [h_T; c_T], the synthetic gradient ĝ_T = M(s_T) scaled by 0.1: the window
//! minimises Σ_t ℓ_t + 0.1 · s_T · ĝ_T / B. M (linear, zero-initialised output) regresses the
//! bootstrapped target δ = B · ∂(that window objective of the next window)/∂s_0, which holds the
//! next window's true losses and its own synthetic gradient: the future's gradient, beyond any
//! truncation, discounted by 0.1 per window.
//!
//! The curriculum starts at sequence length N = 1 and moves to N + 1 once the mean error of
//! the last 100 episodes of length N is under 0.15 bits; `max_length_solved` is the last N
//! passed.

use crate::copy::{INPUT, OUTPUT, Stream, Task};
use crate::lstm::Lstm;
use crate::synthetic::SyntheticGradient;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use dlp_core::checkpoint::{self, CheckpointState};
use dlp_core::error::{Error, Result};
use dlp_core::progress::Progress;
use dlp_core::rng::Rng;
use dlp_core::run::RunDir;
use dlp_core::tensor::scalar;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::path::Path;
use std::time::Instant;

/// How the gradient crosses window boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RnnMethod {
    /// Truncated BPTT: it does not.
    Bptt,
    /// A synthetic gradient at each boundary.
    Dni,
}

impl std::str::FromStr for RnnMethod {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "bptt" => Ok(Self::Bptt),
            "dni" => Ok(Self::Dni),
            other => Err(Error::setting(
                "method",
                format!("`{other}` (expected bptt or dni)"),
            )),
        }
    }
}

/// What every recurrent run sets: the method, the window, the LSTM, the batch, the rates.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RnnConfig {
    pub method: RnnMethod,
    /// T: steps per truncation window.
    pub truncation: usize,
    pub hidden: usize,
    /// Independent streams trained side by side.
    pub batch: usize,
    /// Windows (updates) to train for.
    pub updates: usize,
    pub learning_rate: f64,
    pub sg_learning_rate: f64,
    /// The factor on the synthetic gradient where it is used.
    pub sg_scale: f64,
    pub seed: u64,
}

impl RnnConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        if self.truncation == 0 || self.batch == 0 || self.hidden == 0 || self.updates == 0 {
            return Err(Error::Usage(
                "truncation, batch, hidden and updates must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// A Copy or Repeat Copy run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CopyConfig {
    pub task: Task,
    #[serde(flatten)]
    pub rnn: RnnConfig,
}

impl Default for CopyConfig {
    fn default() -> Self {
        Self {
            task: Task::Copy,
            rnn: RnnConfig {
                method: RnnMethod::Dni,
                truncation: 3,
                hidden: 256,
                batch: 32,
                updates: 20_000,
                learning_rate: 3e-3,
                sg_learning_rate: 1e-3,
                sg_scale: 0.1,
                seed: 0,
            },
        }
    }
}

/// Errors of finished episodes at the current length, for the curriculum.
#[derive(Serialize, Deserialize)]
struct Curriculum {
    length: usize,
    recent: VecDeque<f64>,
    /// (update, length) each time the length grew.
    history: Vec<(usize, usize)>,
}

impl Curriculum {
    const EPISODES: usize = 100;
    const THRESHOLD: f64 = 0.15;

    fn record(&mut self, length: usize, errors: f64, update: usize) {
        if length != self.length {
            return;
        }
        self.recent.push_back(errors);
        if self.recent.len() > Self::EPISODES {
            self.recent.pop_front();
        }
        if self.recent.len() == Self::EPISODES && self.mean() < Self::THRESHOLD {
            self.length += 1;
            self.recent.clear();
            self.history.push((update, self.length));
        }
    }

    fn mean(&self) -> f64 {
        self.recent.iter().sum::<f64>() / self.recent.len().max(1) as f64
    }
}

/// The trained parts of a recurrent run: the LSTM and its synthetic-gradient model M.
#[derive(Module, Debug)]
pub struct RnnModules {
    pub lstm: Lstm,
    pub sg: SyntheticGradient,
}

/// An LSTM trained window by window: truncated BPTT, and with DNI a synthetic gradient at each
/// window's last state (the module doc gives the objective and the target). One Adam state
/// covers both modules, each stepped at its own rate, so that a checkpoint holds all of it.
pub struct Windows {
    pub net: RnnModules,
    opt: ModuleOptimizer,
    h: Tensor<2>,
    c: Tensor<2>,
    method: RnnMethod,
    rates: (f64, f64),
    sg_scale: f64,
    batch: usize,
}

impl Windows {
    /// An LSTM of `cfg.hidden` units from `input` to `output` features, on an autodiff device.
    pub fn new(input: usize, output: usize, cfg: &RnnConfig, ad: &Device) -> Self {
        let lstm = Lstm::new(input, cfg.hidden, output, ad);
        let (h, c) = lstm.zero_state(cfg.batch, ad);
        Windows {
            net: RnnModules {
                lstm,
                sg: SyntheticGradient::new(2 * cfg.hidden, 0, None, ad),
            },
            opt: AdamConfig::new().init(),
            h,
            c,
            method: cfg.method,
            rates: (cfg.learning_rate, cfg.sg_learning_rate),
            sg_scale: cfg.sg_scale,
            batch: cfg.batch,
        }
    }

    /// Writes a checkpoint of the modules, the Adam state and the carried LSTM state at `step`,
    /// with `extra` for the trainer (see `dlp_core::checkpoint`).
    pub fn save(&self, out: &Path, step: u64, mut extra: Value) -> Result<()> {
        let vec = |t: &Tensor<2>| dlp_core::tensor::to_vec(t.clone());
        extra["h"] = json!(vec(&self.h));
        extra["c"] = json!(vec(&self.c));
        let state = CheckpointState {
            step,
            unit: dlp_core::checkpoint::Unit::Step,
            rng: Rng::new(0).state(),
            extra,
            model_sha256: String::new(),
            optimizer_sha256: None,
            files: Default::default(),
        };
        checkpoint::save(out, &self.net, Some(&self.opt), &state, 2).map(|_| ())
    }

    /// Restores the latest checkpoint in `out`, if any; returns its step and `extra`.
    pub fn resume(&mut self, out: &Path) -> Result<Option<(u64, Value)>> {
        let Some(loaded) = checkpoint::load_latest(out, self.net.clone())? else {
            return Ok(None);
        };
        self.net = loaded.model;
        if let Some(record) = loaded.optimizer {
            self.opt = AdamConfig::new().init().load_record(record);
        }
        let device = self.h.device();
        let dims = self.h.dims();
        let tensor = |key: &str| -> Result<Tensor<2>> {
            let v: Vec<f32> = checkpoint::extra_field(&loaded.state.extra, &loaded.dir, key)?;
            if v.len() != dims[0] * dims[1] {
                return Err(Error::format(
                    &loaded.dir,
                    None,
                    format!(
                        "state.json `{key}` has {} values, the run needs {}",
                        v.len(),
                        dims[0] * dims[1]
                    ),
                ));
            }
            Ok(Tensor::from_data(TensorData::new(v, dims), &device))
        };
        (self.h, self.c) = (tensor("h")?, tensor("c")?);
        Ok(Some((loaded.state.step, loaded.state.extra)))
    }

    /// One window: feeds `xs` (one `[batch, input]` tensor per step), sums `step_loss(t, logits)`
    /// (each already divided by the batch), and updates the LSTM (and M). Returns the window's
    /// loss and its detached logits; a non-finite loss is an error and changes nothing.
    pub fn step(
        &mut self,
        xs: Vec<Tensor<2>>,
        mut step_loss: impl FnMut(usize, Tensor<2>) -> Tensor<1>,
    ) -> Result<(f64, Vec<Tensor<2>>)> {
        let b = self.batch as f64;
        let h0 = self.h.clone().detach().require_grad();
        let c0 = self.c.clone().detach().require_grad();
        let (mut ht, mut ct) = (h0.clone(), c0.clone());
        let mut loss: Option<Tensor<1>> = None;
        let mut logits = Vec::with_capacity(xs.len());
        for (t, x) in xs.into_iter().enumerate() {
            (ht, ct) = self.net.lstm.cell(x, ht, ct);
            let z = self.net.lstm.readout(ht.clone());
            let l = step_loss(t, z.clone());
            loss = Some(match loss {
                Some(acc) => acc + l,
                None => l,
            });
            logits.push(z.detach());
        }
        let loss = loss.ok_or_else(|| Error::Usage("a window needs at least one step".into()))?;
        let state = Tensor::cat(vec![ht.clone(), ct.clone()], 1);
        let objective = match self.method {
            RnnMethod::Bptt => loss.clone(),
            RnnMethod::Dni => {
                let g_hat = self.net.sg.forward(state.clone().detach(), None).detach();
                loss.clone() + (state * g_hat).sum() * (self.sg_scale / b)
            }
        };
        let value = scalar(loss);
        if !value.is_finite() {
            return Err(Error::NonFinite(format!(
                "loss is {value}; training stopped"
            )));
        }
        let grads = objective.backward();
        if self.method == RnnMethod::Dni {
            // M regresses this window's gradient at its first state, which was the previous
            // window's last: the bootstrapped target for the prediction made there.
            let delta = Tensor::cat(
                vec![
                    h0.grad(&grads).expect("state gradient"),
                    c0.grad(&grads).expect("state gradient"),
                ],
                1,
            ) * b;
            let s0 = Tensor::cat(vec![h0.detach(), c0.detach()], 1);
            let regress = (self.net.sg.forward(s0, None) - delta).square().mean();
            let g = GradientsParams::from_grads(regress.backward(), &self.net.sg);
            self.net = self.opt.step(self.rates.1, self.net.clone(), g);
        }
        let g = GradientsParams::from_grads(grads, &self.net.lstm);
        self.net = self.opt.step(self.rates.0, self.net.clone(), g);
        (self.h, self.c) = (ht.detach(), ct.detach());
        Ok((value, logits))
    }
}

/// Updates between two checkpoints of `train_copy`.
pub const COPY_CHECKPOINT_EVERY: usize = 1000;

/// Trains on the task with the curriculum; returns the summary (with `max_length_solved`) and
/// the trained LSTM. With `out`, a checkpoint (modules, Adam state, carried LSTM state, the
/// episodes in flight, the curriculum and the task's random stream) is written every
/// [`COPY_CHECKPOINT_EVERY`] updates and at the end; `resume` continues from the latest one to
/// the same result an uninterrupted run reaches.
pub fn train_copy(
    cfg: &CopyConfig,
    device: &Device,
    out: Option<&Path>,
    resume: bool,
) -> Result<(CopySummary, Lstm)> {
    cfg.rnn.validate()?;
    let start = Instant::now();
    let ad = device.clone().autodiff();
    ad.seed(cfg.rnn.seed);
    let b = cfg.rnn.batch;
    let mut net = Windows::new(INPUT, OUTPUT, &cfg.rnn, &ad);
    let mut rng = Rng::new(cfg.rnn.seed);
    let mut streams: Vec<Stream> = (0..b).map(|_| Stream::default()).collect();
    let mut wrong = vec![0.0f64; b];
    let mut curriculum = Curriculum {
        length: 1,
        recent: VecDeque::new(),
        history: Vec::new(),
    };
    let mut last_loss = f64::NAN;
    let mut first = 0;
    let restored = match (out, resume) {
        (Some(dir), true) => net.resume(dir)?.map(|r| (dir, r)),
        _ => None,
    };
    if let Some((dir, (step, extra))) = restored {
        use checkpoint::extra_field as field;
        rng = Rng::from_state(field(&extra, dir, "rng")?);
        streams = field(&extra, dir, "streams")?;
        wrong = field(&extra, dir, "wrong")?;
        curriculum = field(&extra, dir, "curriculum")?;
        // A NaN loss is written as null.
        last_loss = field::<Option<f64>>(&extra, dir, "last_loss")?.unwrap_or(f64::NAN);
        if streams.len() != b || wrong.len() != b {
            return Err(Error::Usage(format!(
                "{}: the checkpoint has {} streams, the run has --batch-size {b}",
                dir.display(),
                streams.len()
            )));
        }
        first = step as usize;
        eprintln!("resuming {} after update {step}", dir.display());
    }
    let mut run = out.map(|dir| RunDir::create(dir, cfg)).transpose()?;
    let progress = Progress::new("dni copy", cfg.rnn.updates as u64);
    let mut recent = (0.0f64, 0usize);
    progress.inc(first as u64);
    for update in first..cfg.rnn.updates {
        let steps: Vec<Vec<_>> = (0..cfg.rnn.truncation)
            .map(|_| {
                streams
                    .iter_mut()
                    .map(|s| s.next(cfg.task, curriculum.length, &mut rng))
                    .collect()
            })
            .collect();
        let tensor =
            |v: Vec<f32>, w: usize| Tensor::<2>::from_data(TensorData::new(v, [b, w]), &ad);
        let xs = steps
            .iter()
            .map(|step| tensor(step.iter().flat_map(|s| s.x).collect(), INPUT))
            .collect();
        let (loss, logits) = net
            .step(xs, |t, z| {
                let y = tensor(steps[t].iter().flat_map(|s| s.y).collect(), OUTPUT);
                let m = tensor(steps[t].iter().map(|s| s.output as u8 as f32).collect(), 1);
                // Binary cross-entropy with logits: max(z, 0) − z·y + log(1 + e^{−|z|}).
                let bce =
                    z.clone().clamp_min(0.0) - z.clone() * y + (z.abs().neg().exp() + 1.0).log();
                (bce * m).sum() / b as f64
            })
            .map_err(|e| Error::NonFinite(format!("dni copy, update {update}: {e}")))?;
        last_loss = loss;
        // The progress line shows the mean loss of the recent windows that held outputs to score
        // (the others have loss 0 by construction).
        if steps.iter().flatten().any(|s| s.output) {
            recent = (recent.0 + loss, recent.1 + 1);
        }
        // Score the outputs and feed finished episodes to the curriculum.
        for (step, z) in steps.iter().zip(logits) {
            let z = dlp_core::tensor::to_vec(z);
            for (i, s) in step.iter().enumerate() {
                if s.output {
                    let row = &z[i * OUTPUT..(i + 1) * OUTPUT];
                    wrong[i] += row
                        .iter()
                        .zip(&s.y)
                        .filter(|(z, y)| (**z > 0.0) != (**y > 0.5))
                        .count() as f64;
                }
                if s.end {
                    curriculum.record(s.length, wrong[i], update);
                    wrong[i] = 0.0;
                }
            }
        }
        progress.inc(1);
        if update % 20 == 0 && recent.1 > 0 {
            let loss = recent.0 / recent.1 as f64;
            let (length, bits) = (curriculum.length, curriculum.mean());
            progress.set_message(format!("N {length} error {bits:.2} bits loss {loss:.3}"));
            if let Some(run) = &mut run {
                run.log(
                    &json!({"step": update, "loss": loss, "length": length, "error_bits": bits}),
                )?;
            }
            recent = (0.0, 0);
        }
        let done = update + 1;
        if let Some(dir) = out
            && (done % COPY_CHECKPOINT_EVERY == 0 || done == cfg.rnn.updates)
        {
            let extra = json!({"rng": rng.state(), "streams": streams, "wrong": wrong,
                "curriculum": curriculum, "last_loss": last_loss});
            net.save(dir, done as u64, extra)?;
        }
    }
    progress.finish();
    let seconds = start.elapsed().as_secs_f64();
    let task = match cfg.task {
        Task::Copy => "copy",
        Task::RepeatCopy => "repeat-copy",
    };
    let mut summary = CopySummary {
        task,
        dataset: task,
        method: cfg.rnn.method,
        truncation: cfg.rnn.truncation,
        max_length_solved: curriculum.length - 1,
        current_length: curriculum.length,
        current_error_bits: curriculum.mean(),
        length_history: curriculum.history,
        updates: cfg.rnn.updates,
        resumed_from: first,
        final_loss: last_loss,
        seconds,
        updates_per_second: cfg.rnn.updates as f64 / seconds,
        seed: cfg.rnn.seed,
        hidden: cfg.rnn.hidden,
        run_dir: None,
        dlp_version: dlp_core::run::VERSION,
    };
    if let Some(run) = run {
        summary.run_dir = Some(run.dir().display().to_string());
        run.write_summary(&summary)?;
    }
    Ok((summary, net.net.lstm))
}

/// What [`train_copy`] reports; with a run directory, also its summary.json.
#[derive(Debug, Clone, Serialize)]
pub struct CopySummary {
    pub task: &'static str,
    pub dataset: &'static str,
    pub method: RnnMethod,
    pub truncation: usize,
    /// The longest sequence length the curriculum has passed.
    pub max_length_solved: usize,
    pub current_length: usize,
    /// Mean wrong bits per episode at the current length, over the last episodes.
    pub current_error_bits: f64,
    /// (update, length) each time the length grew.
    pub length_history: Vec<(usize, usize)>,
    pub updates: usize,
    /// The update a resumed run started from (0 for a fresh one).
    pub resumed_from: usize,
    pub final_loss: f64,
    pub seconds: f64,
    pub updates_per_second: f64,
    pub seed: u64,
    pub hidden: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_dir: Option<String>,
    pub dlp_version: &'static str,
}
