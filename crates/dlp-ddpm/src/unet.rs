//! The U-Net of Ho et al. (2020), after the official `diffusion_tf` model: a Wide-ResNet-style
//! encoder-decoder with skip connections, conditioned on the timestep through a sinusoidal
//! embedding and a two-layer MLP, with self-attention at chosen resolutions.
//!
//! - time: `e(t)` (dim `ch`) → Linear(ch, 4ch) → SiLU → Linear(4ch, 4ch); a class embedding
//!   (with one extra "null" class for classifier-free guidance) is added to it when conditional.
//! - residual block: GroupNorm(32) → SiLU → Conv3×3 → + Linear(SiLU(temb)) → GroupNorm → SiLU →
//!   Dropout → Conv3×3 (zero-initialised), plus a 1×1 shortcut when the width changes.
//! - attention block: GroupNorm → single-head self-attention over the h·w positions with
//!   1×1 projections q, k, v → output projection (zero-initialised) → residual.
//! - down: `num_res_blocks` blocks per level (attention where the resolution is listed), then a
//!   stride-2 Conv3×3; middle: block, attention, block; up: `num_res_blocks + 1` blocks per level
//!   on the concatenated skips, then nearest ×2 and a Conv3×3; out: GroupNorm → SiLU → Conv3×3
//!   (zero-initialised).
//!
//! [`UNetConfig::cifar10`] is the paper's CIFAR-10 model (ch 128, multipliers 1,2,2,2, two blocks
//! per level, attention at 16×16, dropout 0.1): 35.7M parameters.
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use dlp_ddpm::model::Denoiser;
//! use dlp_ddpm::unet::UNetConfig;
//! let device = Device::flex();
//! let cfg = UNetConfig { ch: 32, ch_mult: vec![1, 2], attn_resolutions: vec![8], ..UNetConfig::mnist() };
//! let net = cfg.init(&device);
//! let x = Tensor::<4>::zeros([2, 1, 16, 16], &device);
//! assert_eq!(net.forward(x, &[3, 700]).dims(), [2, 1, 16, 16]);
//! ```

use crate::model::{Denoiser, silu, timestep_embedding};
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::interpolate::{Interpolate2d, Interpolate2dConfig, InterpolateMode};
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, GroupNorm, GroupNormConfig, Initializer,
    Linear, LinearConfig, PaddingConfig2d,
};
use burn::tensor::{Device, Int, Tensor, TensorData};
use dlp_kernels::{conv2d, conv2d_add, group_norm, group_norm_silu_dropout, softmax};
use serde::{Deserialize, Serialize};

/// The shape of a U-Net.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UNetConfig {
    /// Channels of the image (1 for MNIST, 3 for CIFAR-10).
    pub in_channels: usize,
    /// Side of the (square) image.
    pub resolution: usize,
    /// Base width.
    pub ch: usize,
    /// Width multiplier per level; the image halves between levels.
    pub ch_mult: Vec<usize>,
    pub num_res_blocks: usize,
    /// Resolutions (sides) that get self-attention.
    pub attn_resolutions: Vec<usize>,
    pub dropout: f64,
    /// Number of classes for conditioning (0: unconditional).
    pub num_classes: usize,
}

impl UNetConfig {
    /// Checks the shape: `Err("field`: why")` names the field at fault.
    pub fn validate(&self) -> std::result::Result<(), String> {
        for (name, v) in [
            ("in_channels", self.in_channels),
            ("resolution", self.resolution),
            ("ch", self.ch),
        ] {
            if v == 0 || v > 4096 {
                return Err(format!("{name}`: must be in 1..=4096, got {v}"));
            }
        }
        if self.ch_mult.is_empty() || self.ch_mult.iter().any(|&m| m == 0 || m > 64) {
            return Err(format!(
                "ch_mult`: needs one or more multipliers in 1..=64, got {:?}",
                self.ch_mult
            ));
        }
        if self.num_res_blocks > 64 {
            return Err(format!(
                "num_res_blocks`: must be at most 64, got {}",
                self.num_res_blocks
            ));
        }
        let halvings = self.ch_mult.len() - 1;
        if halvings >= usize::BITS as usize || !self.resolution.is_multiple_of(1 << halvings) {
            return Err(format!(
                "resolution`: {} is not divisible by 2^{halvings} (one halving between each of the {} levels of ch_mult)",
                self.resolution,
                self.ch_mult.len()
            ));
        }
        // The widest level's 3×3 convolutions, about 4 per block: refuse more than 2^28 weights.
        let widest = self.ch * self.ch_mult.iter().max().unwrap_or(&1);
        let per_level = 9 * widest * widest * 4 * (self.num_res_blocks + 1);
        if per_level.saturating_mul(self.ch_mult.len()) > 1 << 28 {
            return Err(format!(
                "ch`: {} with multipliers {:?} is more than 2^28 weights",
                self.ch, self.ch_mult
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("dropout`: must be in [0, 1), got {}", self.dropout));
        }
        Ok(())
    }

    /// The paper's CIFAR-10 model (35.7M parameters).
    pub fn cifar10() -> Self {
        Self {
            in_channels: 3,
            resolution: 32,
            ch: 128,
            ch_mult: vec![1, 2, 2, 2],
            num_res_blocks: 2,
            attn_resolutions: vec![16],
            dropout: 0.1,
            num_classes: 0,
        }
    }

    /// A small model for 28×28 MNIST and Fashion-MNIST that trains on a CPU (widths 16, 32, 64
    /// at 28, 14 and 7 pixels; 0.69M parameters).
    pub fn mnist() -> Self {
        Self {
            in_channels: 1,
            resolution: 28,
            ch: 16,
            ch_mult: vec![1, 2, 4],
            num_res_blocks: 1,
            attn_resolutions: vec![7],
            dropout: 0.1,
            num_classes: 0,
        }
    }

    /// Builds the network.
    pub fn init(&self, device: &Device) -> UNet {
        let ch = self.ch;
        let temb = 4 * ch;
        let mut down = Vec::new();
        let mut skips = vec![ch];
        let mut width = ch;
        let mut res = self.resolution;
        for (level, &mult) in self.ch_mult.iter().enumerate() {
            for _ in 0..self.num_res_blocks {
                let attn = self.attn_resolutions.contains(&res);
                down.push(Stage::block(
                    width,
                    ch * mult,
                    temb,
                    self.dropout,
                    attn,
                    device,
                ));
                width = ch * mult;
                skips.push(width);
            }
            if level + 1 < self.ch_mult.len() {
                down.push(Stage::Down(conv3(width, width, 2, device)));
                skips.push(width);
                res /= 2;
            }
        }
        let mid = vec![
            Stage::block(width, width, temb, self.dropout, true, device),
            Stage::block(width, width, temb, self.dropout, false, device),
        ];
        let mut up = Vec::new();
        for (level, &mult) in self.ch_mult.iter().enumerate().rev() {
            for _ in 0..=self.num_res_blocks {
                let skip = skips.pop().expect("one skip per down stage");
                let attn = self.attn_resolutions.contains(&res);
                up.push(Stage::block(
                    width + skip,
                    ch * mult,
                    temb,
                    self.dropout,
                    attn,
                    device,
                ));
                width = ch * mult;
            }
            if level > 0 {
                up.push(Stage::Up(conv3(width, width, 1, device)));
                res *= 2;
            }
        }
        UNet {
            conv_in: conv3(self.in_channels, ch, 1, device),
            temb_in: LinearConfig::new(ch, temb).init(device),
            temb_out: LinearConfig::new(temb, temb).init(device),
            class_emb: (self.num_classes > 0)
                .then(|| EmbeddingConfig::new(self.num_classes + 1, temb).init(device)),
            down,
            mid,
            up,
            norm_out: new_group_norm(width, device),
            conv_out: zero_conv3(width, self.in_channels, device),
            upsample: Interpolate2dConfig::new()
                .with_scale_factor(Some([2.0, 2.0]))
                .with_mode(InterpolateMode::Nearest)
                .init(),
            ch,
            num_classes: self.num_classes,
        }
    }
}

/// A 3×3 convolution (padding 1) that starts at zero, as the paper's last layers do.
fn zero_conv3(cin: usize, cout: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([cin, cout], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_initializer(Initializer::Zeros)
        .init(device)
}

fn conv3(cin: usize, cout: usize, stride: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([cin, cout], [3, 3])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}

/// GroupNorm with 32 groups (the paper's), or the largest count below 32 that divides `channels`.
fn new_group_norm(channels: usize, device: &Device) -> GroupNorm {
    let groups = (1..=32)
        .rev()
        .find(|g| channels.is_multiple_of(*g))
        .unwrap_or(1);
    GroupNormConfig::new(groups, channels).init(device)
}

/// A residual block with its optional attention block.
#[derive(Module, Debug)]
pub struct ResBlock {
    norm1: GroupNorm,
    conv1: Conv2d,
    temb_proj: Linear,
    norm2: GroupNorm,
    dropout: Dropout,
    conv2: Conv2d,
    shortcut: Option<Conv2d>,
    attn: Option<AttnBlock>,
}

/// Single-head self-attention over spatial positions.
#[derive(Module, Debug)]
pub struct AttnBlock {
    norm: GroupNorm,
    q: Linear,
    k: Linear,
    v: Linear,
    proj_out: Linear,
}

/// One stage of the down or up path. (A few dozen per network, built once: the size
/// difference between variants costs nothing.)
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Stage {
    Block(ResBlock),
    Down(Conv2d),
    Up(Conv2d),
}

impl Stage {
    fn block(
        cin: usize,
        cout: usize,
        temb: usize,
        dropout: f64,
        attn: bool,
        device: &Device,
    ) -> Self {
        let attn = attn.then(|| AttnBlock {
            norm: new_group_norm(cout, device),
            q: LinearConfig::new(cout, cout).init(device),
            k: LinearConfig::new(cout, cout).init(device),
            v: LinearConfig::new(cout, cout).init(device),
            proj_out: LinearConfig::new(cout, cout)
                .with_initializer(Initializer::Zeros)
                .init(device),
        });
        Stage::Block(ResBlock {
            norm1: new_group_norm(cin, device),
            conv1: conv3(cin, cout, 1, device),
            temb_proj: LinearConfig::new(temb, cout).init(device),
            norm2: new_group_norm(cout, device),
            dropout: DropoutConfig::new(dropout).init(),
            conv2: zero_conv3(cout, cout, device),
            shortcut: (cin != cout).then(|| Conv2dConfig::new([cin, cout], [1, 1]).init(device)),
            attn,
        })
    }
}

impl ResBlock {
    fn forward(&self, x: Tensor<4>, temb: &Tensor<2>) -> Tensor<4> {
        let h = conv2d(&self.conv1, group_norm(&self.norm1, x.clone(), None, true));
        let temb = self.temb_proj.forward(silu(temb.clone()));
        let h = group_norm_silu_dropout(&self.norm2, h, Some(temb), &self.dropout);
        let skip = match &self.shortcut {
            Some(conv) => conv2d(conv, x),
            None => x,
        };
        let out = conv2d_add(&self.conv2, h, skip);
        match &self.attn {
            Some(a) => a.forward(out),
            None => out,
        }
    }
}

impl AttnBlock {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let seq = group_norm(&self.norm, x.clone(), None, false)
            .reshape([b, c, h * w])
            .swap_dims(1, 2);
        let (q, k, v) = (
            self.q.forward(seq.clone()),
            self.k.forward(seq.clone()),
            self.v.forward(seq),
        );
        let weights = softmax(q.matmul(k.swap_dims(1, 2)) / (c as f64).sqrt(), 2);
        let out = self.proj_out.forward(weights.matmul(v));
        x + out.swap_dims(1, 2).reshape([b, c, h, w])
    }
}

/// The DDPM U-Net.
#[derive(Module, Debug)]
pub struct UNet {
    conv_in: Conv2d,
    temb_in: Linear,
    temb_out: Linear,
    class_emb: Option<Embedding>,
    down: Vec<Stage>,
    mid: Vec<Stage>,
    up: Vec<Stage>,
    norm_out: GroupNorm,
    conv_out: Conv2d,
    upsample: Interpolate2d,
    ch: usize,
    num_classes: usize,
}

impl UNet {
    /// The prediction for images `x` `[b, c, h, w]` at timesteps `t`, with class labels `y`
    /// (`None` entries, or `None` altogether, mean the null class of classifier-free guidance).
    pub fn forward_with_labels(
        &self,
        x: Tensor<4>,
        t: &[usize],
        y: Option<&[Option<usize>]>,
    ) -> Tensor<4> {
        let device = x.device();
        let mut temb = self.temb_out.forward(silu(
            self.temb_in
                .forward(timestep_embedding(t, self.ch, &device)),
        ));
        if let Some(emb) = &self.class_emb {
            let labels: Vec<i64> = (0..t.len())
                .map(|i| y.and_then(|y| y[i]).unwrap_or(self.num_classes) as i64)
                .collect();
            let idx = Tensor::<2, Int>::from_data(TensorData::new(labels, [t.len(), 1]), &device);
            temb = temb + emb.forward(idx).reshape([t.len(), 4 * self.ch]);
        }
        let mut h = conv2d(&self.conv_in, x);
        let mut skips = vec![h.clone()];
        for stage in &self.down {
            h = match stage {
                Stage::Block(b) => b.forward(h, &temb),
                Stage::Down(conv) => conv2d(conv, h),
                Stage::Up(_) => unreachable!("no upsampling on the way down"),
            };
            skips.push(h.clone());
        }
        for stage in &self.mid {
            if let Stage::Block(b) = stage {
                h = b.forward(h, &temb);
            }
        }
        for stage in &self.up {
            h = match stage {
                Stage::Block(b) => {
                    let skip = skips.pop().expect("one skip per up block");
                    b.forward(Tensor::cat(vec![h, skip], 1), &temb)
                }
                Stage::Up(conv) => conv2d(conv, self.upsample.forward(h)),
                Stage::Down(_) => unreachable!("no downsampling on the way up"),
            };
        }
        conv2d(&self.conv_out, group_norm(&self.norm_out, h, None, true))
    }
}

impl Denoiser<4> for UNet {
    fn forward(&self, x: Tensor<4>, t: &[usize]) -> Tensor<4> {
        self.forward_with_labels(x, t, None)
    }

    fn forward_labels(&self, x: Tensor<4>, t: &[usize], labels: &[Option<usize>]) -> Tensor<4> {
        self.forward_with_labels(x, t, Some(labels))
    }
}
