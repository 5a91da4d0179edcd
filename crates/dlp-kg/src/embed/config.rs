//! The settings of an embedding run ([`EmbedConfig`], written to `config.toml`) with their
//! validation, the memory estimate and the learning-rate schedule.

use super::ModelKind;
use super::loss::LossKind;
use super::optim::OptimizerKind;
use dlp_core::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// How training examples are formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Training {
    /// Each positive against `negatives` corrupted triples.
    #[serde(rename = "ns")]
    NegativeSampling,
    /// Each query (h, r, ?) and (?, r, t) against every entity, one answer at a time.
    #[serde(rename = "1vsall")]
    OneVsAll,
    /// Each distinct query against every entity, all its known answers at once.
    #[serde(rename = "kvsall")]
    KvsAll,
}

/// Which end a negative corrupts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sampler {
    Uniform,
    Bernoulli,
}

/// The regulariser on the embeddings a batch uses (h, r and t of its positives).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Regularizer {
    None,
    /// w·Σ‖x‖² over the batch's factors, divided by the batch size.
    L2,
    /// w·Σ_j |x_j|³ (complex modulus for complex models; Lacroix et al. 2018), divided by the
    /// batch size.
    N3,
}

/// Everything a run needs; written to `config.toml` in the run directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmbedConfig {
    pub model: String,
    pub dim: usize,
    pub training: Training,
    pub loss: LossKind,
    pub negatives: usize,
    pub sampler: Sampler,
    /// γ of the margin and self-adversarial losses.
    pub margin: f32,
    /// α of self-adversarial sampling.
    pub adv_temperature: f32,
    pub reciprocal: bool,
    pub regularizer: Regularizer,
    pub reg_weight: f32,
    pub optimizer: OptimizerKind,
    pub lr: f32,
    /// Multiply the learning rate by 0.1 after each of these epochs (RotatE's recipe divides it
    /// by 10 halfway: Sun et al. 2019). Empty: a constant rate.
    pub lr_steps: Vec<usize>,
    pub batch_size: usize,
    pub epochs: usize,
    pub label_smoothing: f32,
    /// Validate every this many epochs (0: never, keep the last model).
    pub eval_every: usize,
    /// Stop after this many validations without a better MRR.
    pub patience: usize,
    /// Validate on at most this many validation triples (0: all).
    pub valid_limit: usize,
    /// Negative sampling: redraw a negative that is a known training answer of its query (up
    /// to 16 draws), as RotatE's reference code does; otherwise a true answer scored high gets
    /// most of the self-adversarial weight.
    pub filter_negatives: bool,
    pub seed: u64,
}

impl Default for EmbedConfig {
    /// Settings that give a sound model on a small graph never seen before: ComplEx, 1vsAll
    /// with reciprocal relations, cross-entropy, N3, Adagrad (Lacroix et al. 2018; Ruffinelli et
    /// al. 2020).
    fn default() -> Self {
        EmbedConfig {
            model: "complex".into(),
            dim: 128,
            training: Training::OneVsAll,
            loss: LossKind::Ce,
            negatives: 64,
            sampler: Sampler::Uniform,
            margin: 1.0,
            adv_temperature: 1.0,
            reciprocal: true,
            regularizer: Regularizer::N3,
            reg_weight: 0.01,
            optimizer: OptimizerKind::Adagrad,
            lr: 0.1,
            lr_steps: Vec::new(),
            batch_size: 256,
            epochs: 100,
            label_smoothing: 0.0,
            eval_every: 10,
            patience: 3,
            valid_limit: 0,
            filter_negatives: false,
            seed: 0,
        }
    }
}

impl EmbedConfig {
    /// The learning rate for epoch `epoch` (counted from 0) under the step schedule.
    pub fn lr_at(&self, epoch: usize) -> f32 {
        let steps = self.lr_steps.iter().filter(|&&e| e <= epoch).count();
        self.lr * 0.1f32.powi(steps as i32)
    }

    /// The model kind, or a usage error naming the field.
    pub fn kind(&self) -> Result<ModelKind> {
        ModelKind::parse(&self.model).ok_or_else(|| {
            Error::Usage(format!(
                "model `{}`: expected transe, transe-l2, distmult, complex or rotate",
                self.model
            ))
        })
    }

    /// Refuses a `dim` whose model cannot fit in this machine's memory with `entities` and
    /// `relations`: entity and relation rows (two numbers a dimension for complex models,
    /// relations twice with reciprocals), each with optimiser state, the best model's copy and
    /// the checkpoint's.
    pub fn check_memory(&self, entities: usize, relations: usize) -> Result<()> {
        let rows = (entities + 2 * relations) as f64 * 2.0;
        dlp_core::device::check_memory(
            &format!("dim {}", self.dim),
            4.0 * 5.0 * rows * self.dim as f64,
        )
    }

    /// Checks that the settings fit together.
    pub fn validate(&self) -> Result<()> {
        let kind = self.kind()?;
        let bad = |m: String| Err(Error::Usage(m));
        let field = |name: &str, msg: String| bad(format!("config field `{name}`: {msg}"));
        for (name, v) in [
            ("dim", self.dim),
            ("batch_size", self.batch_size),
            ("epochs", self.epochs),
        ] {
            if v == 0 {
                return field(name, "must be at least 1, got 0".into());
            }
        }
        for (name, v, ok, want) in [
            ("lr", self.lr, self.lr > 0.0, "a positive number"),
            ("margin", self.margin, true, "a number"),
            (
                "adv_temperature",
                self.adv_temperature,
                self.adv_temperature >= 0.0,
                "0 or more",
            ),
            (
                "reg_weight",
                self.reg_weight,
                self.reg_weight >= 0.0,
                "0 or more",
            ),
            (
                "label_smoothing",
                self.label_smoothing,
                (0.0..1.0).contains(&self.label_smoothing),
                "in [0, 1)",
            ),
        ] {
            if !(ok && v.is_finite()) {
                return field(name, format!("must be {want}, got {v}"));
            }
        }
        match (self.training, self.loss) {
            (Training::NegativeSampling, LossKind::Ce | LossKind::Bce) => bad(format!(
                "loss {:?} needs training 1vsall or kvsall",
                self.loss
            )),
            (Training::NegativeSampling, _) if self.negatives == 0 => {
                bad("negative sampling needs negatives > 0".into())
            }
            (Training::OneVsAll, l) if l != LossKind::Ce => {
                bad("1vsall trains with loss ce".into())
            }
            (Training::KvsAll, l) if l != LossKind::Bce => {
                bad("kvsall trains with loss bce".into())
            }
            _ if kind == ModelKind::RotatE
                && self.regularizer == Regularizer::N3
                && self.reg_weight > 0.0 =>
            {
                Ok(()) // allowed: N3 then acts on the entity moduli only
            }
            _ => Ok(()),
        }
    }
}
