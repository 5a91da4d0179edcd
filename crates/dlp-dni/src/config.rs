//! The settings of a DNI training run ([`TrainConfig`]): the method, the network, the
//! optimiser and the schedule, with their validation and the memory estimate.

use crate::layers::{Arch, Interface, Net};
use burn::tensor::Device;
use dlp_core::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// How gradients reach the layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Backprop,
    Dni,
    Cdni,
    /// Forward and backward unlocked: synthetic inputs and (conditional) synthetic gradients.
    Decoupled,
}

/// The optimiser of every module and model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    /// Adam (the paper's).
    Adam,
    /// Plain SGD: an update is the gradient times the rate (tests compare methods exactly).
    Sgd,
}

impl Optimizer {
    /// A fresh optimiser of this kind (burn's defaults).
    pub fn init(self) -> burn::optim::ModuleOptimizer {
        match self {
            Optimizer::Adam => burn::optim::AdamConfig::new().init(),
            Optimizer::Sgd => burn::optim::SgdConfig::new().init(),
        }
    }
}

impl std::str::FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "backprop" | "bp" => Ok(Self::Backprop),
            "dni" => Ok(Self::Dni),
            "cdni" => Ok(Self::Cdni),
            "decoupled" => Ok(Self::Decoupled),
            other => Err(Error::setting(
                "method",
                format!("`{other}` (expected backprop, dni, cdni or decoupled)"),
            )),
        }
    }
}

/// A training run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The data it trains on, as given (a registry name such as `mnist`); recorded, not read.
    #[serde(default)]
    pub dataset: String,
    pub method: Method,
    /// FC or CNN blocks.
    pub arch: Arch,
    pub layers: usize,
    /// Units of an FC block, channels of a convolutional one.
    pub width: usize,
    pub batch_size: usize,
    pub epochs: usize,
    pub learning_rate: f64,
    /// Multi-step decay of `learning_rate` (see [`TrainConfig::rate_at`]); M_i's rate stays.
    #[serde(default)]
    pub lr_decay: bool,
    pub sg_learning_rate: f64,
    /// Hidden units of the synthetic-gradient models (0: linear).
    pub sg_hidden: usize,
    /// Where modules meet, and so what the synthetic-gradient models see.
    #[serde(default)]
    pub interface: Interface,
    /// FC blocks start from orthogonal weights ([`Net::orthogonalised`]) instead of burn's
    /// Kaiming-uniform ones.
    #[serde(default)]
    pub orthogonal_init: bool,
    /// As `orthogonal_init`, and square FC blocks start at the identity
    /// ([`Net::with_identity_blocks`]).
    #[serde(default)]
    pub identity_init: bool,
    /// Stochastic updates (paper, Section 3.3): each module updates its layer with this
    /// probability at each step (1: always). Synthetic-gradient methods only.
    pub update_prob: f64,
    /// BP(λ): modules use λ·δ + (1 − λ)·ĝ, δ the gradient from the module above (0: DNI).
    pub lambda: f64,
    /// Leave this many bottom blocks at their random initialisation (a baseline; all of them:
    /// the classifier alone learns, on random features).
    pub freeze: usize,
    pub optimizer: Optimizer,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            dataset: String::new(),
            method: Method::Dni,
            arch: Arch::Fc,
            layers: 3,
            width: 256,
            batch_size: 256,
            epochs: 1,
            learning_rate: 1e-3,
            lr_decay: false,
            sg_learning_rate: 1e-2,
            sg_hidden: 0,
            interface: Interface::Output,
            orthogonal_init: false,
            identity_init: false,
            update_prob: 1.0,
            lambda: 0.0,
            freeze: 0,
            optimizer: Optimizer::Adam,
            seed: 0,
        }
    }
}

impl TrainConfig {
    /// The rate of the layers (blocks, classifier, synthetic inputs) at `step` of `total`:
    /// `learning_rate`, and with `lr_decay` a multi-step schedule (PyTorch's `MultiStepLR`,
    /// γ = 0.1) that divides it by 10 from 60% of the steps and by 100 from 80%.
    pub fn rate_at(&self, step: usize, total: usize) -> f64 {
        let factor = match (self.lr_decay, step * 5) {
            (true, s) if s >= total * 4 => 0.01,
            (true, s) if s >= total * 3 => 0.1,
            _ => 1.0,
        };
        self.learning_rate * factor
    }

    /// A fresh network for `input` features and `classes` classes as these settings build it:
    /// the architecture, its interface and its initialisation.
    pub fn net(&self, input: usize, classes: usize, device: &Device) -> Net {
        let net = Net::new(self.arch, input, self.width, self.layers, classes, device)
            .with_interface(self.interface);
        match (self.orthogonal_init, self.identity_init) {
            (_, true) => net.orthogonalised(device).with_identity_blocks(device),
            (true, false) => net.orthogonalised(device),
            (false, false) => net,
        }
    }

    /// Bytes a run on `input` features and `classes` classes needs, roughly: the blocks' and the
    /// synthetic-gradient models' weights with their gradients and Adam's two moments, and a
    /// batch's activations kept for the backward pass.
    pub fn memory_estimate(&self, input: usize, classes: usize) -> f64 {
        let (w, l, b) = (
            self.width as f64,
            self.layers as f64,
            self.batch_size as f64,
        );
        let (input, classes) = (input as f64, classes as f64);
        let sg = (self.sg_hidden.max(1) as f64).max(w);
        let (params, activations) = match self.arch {
            Arch::Fc => (
                input * w + (l - 1.0) * w * w + w * classes + 2.0 * l * w * sg,
                b * w * l,
            ),
            // 5×5 convolutions of `w` channels at up to the input's size.
            Arch::Cnn { image: [c, h, iw] } => (
                25.0 * (c as f64 * w + (l - 1.0) * w * w) + 2.0 * l * 25.0 * w * sg + w * classes,
                b * w * (h * iw) as f64 * l,
            ),
        };
        4.0 * (4.0 * params + 8.0 * activations)
    }

    /// Checks the settings, naming the one that is wrong.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Usage(m));
        if self.layers < 2 {
            return bad(format!(
                "layers: {} (at least 2 blocks, so that one is decoupled from another)",
                self.layers
            ));
        }
        if self.width == 0 || self.batch_size == 0 || self.epochs == 0 {
            return bad("width, batch size and epochs must be at least 1".into());
        }
        if !(self.update_prob > 0.0 && self.update_prob <= 1.0) {
            return bad(format!(
                "update_prob: {} is not in (0, 1]",
                self.update_prob
            ));
        }
        if !(0.0..=1.0).contains(&self.lambda) {
            return bad(format!("lambda: {} is not in [0, 1]", self.lambda));
        }
        if self.method == Method::Decoupled && self.arch != Arch::Fc {
            return bad("method decoupled (synthetic inputs) is for the FC nets".into());
        }
        if self.interface == Interface::Preactivation && self.arch != Arch::Fc {
            return bad("interface preactivation is for the FC nets".into());
        }
        if (self.orthogonal_init || self.identity_init) && self.arch != Arch::Fc {
            return bad("orthogonal initialisation is for the FC nets".into());
        }
        if self.freeze > self.layers {
            return bad(format!(
                "freeze: {} is more than the {} blocks",
                self.freeze, self.layers
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orthogonal_initialisation_is_refused_for_the_cnn() {
        let cfg = TrainConfig {
            arch: Arch::Cnn { image: [1, 8, 8] },
            orthogonal_init: true,
            ..TrainConfig::default()
        };
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("orthogonal"), "{err}");
    }
}
