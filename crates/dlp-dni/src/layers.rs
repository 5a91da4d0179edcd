//! The paper's networks (Jaderberg et al. 2017, Section 3.2 and Table 1): `layers` blocks, then a
//! linear classifier. Each block is a module that DNI can decouple; backprop trains the same
//! blocks end to end.
//!
//! - FC: a block is Linear(→ width) → batch norm → ReLU.
//! - CNN: a block is a 5×5 convolution to `width` channels with resolution-preserving padding →
//!   batch norm → ReLU → 3×3 pooling with stride 2 and padding 1 (max in the first block, average
//!   in the others), which halves the resolution (rounding up: 28 → 14 → 7 → 4).
//!
//! Where a module ends, and so where a synthetic-gradient model sits, is the [`Interface`]: at a
//! block's output (the paper's h_i, after the ReLU) or, for FC nets, at its batch-normalised
//! pre-activation, the ReLU then opening the next module (and the classifier). Both compute the
//! same function; they differ in what M_i sees and predicts.
//!
//! Blocks take and give flat rows `[B, features]` (a CNN block reshapes to `[B, C, H, W]`
//! inside), so that every method, synthetic model and channel carries one tensor kind.
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use dlp_dni::layers::{Arch, Net};
//! let device = Device::flex();
//! let net = Net::new(Arch::Cnn { image: [1, 8, 8] }, 64, 4, 2, 10, &device);
//! assert_eq!(net.block_shapes(), vec![[4, 4, 4], [4, 2, 2]]);
//! let logits = net.forward(Tensor::<2>::ones([3, 64], &device));
//! assert_eq!(logits.dims(), [3, 10]);
//! ```

use burn::module::{Module, Param, RunningState};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// Which of the paper's networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// Fully connected blocks of `width` units.
    Fc,
    /// Convolutional blocks of `width` channels on images of shape `[channels, height, width]`.
    Cnn { image: [usize; 3] },
}

/// Where consecutive modules meet (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interface {
    /// After the block's ReLU: M_i predicts ∂L/∂h_i (the paper).
    #[default]
    Output,
    /// After batch norm, before the ReLU (FC only): M_i predicts ∂L/∂z_i. For the top block
    /// this gradient is ReLU′(z) ⊙ Wᵀ(p − y), whose best linear prediction from z is not zero
    /// when the classifier is at a stationary point, unlike that of Wᵀ(p − y) from h.
    Preactivation,
}

impl std::str::FromStr for Interface {
    type Err = dlp_core::error::Error;
    fn from_str(s: &str) -> dlp_core::error::Result<Self> {
        match s {
            "output" => Ok(Self::Output),
            "preactivation" => Ok(Self::Preactivation),
            other => Err(dlp_core::error::Error::setting(
                "interface",
                format!("`{other}` (expected output or preactivation)"),
            )),
        }
    }
}

/// One block: FC or convolutional (see the module doc).
#[derive(Module, Debug)]
pub enum Block {
    Fc(FcBlock),
    Conv(ConvBlock),
}

/// Linear → batch norm → ReLU, with the ReLUs placed by the [`Interface`].
#[derive(Module, Debug)]
pub struct FcBlock {
    linear: Linear,
    norm: BatchNorm,
    /// The ReLU applied to the input (the previous block's, at a pre-activation interface).
    relu_in: bool,
    /// The ReLU applied to the output (at an output interface).
    relu_out: bool,
}

/// 5×5 convolution (resolution kept) → batch norm → ReLU → 3×3 pooling with stride 2.
#[derive(Module, Debug)]
pub struct ConvBlock {
    conv: Conv2d,
    norm: BatchNorm,
    /// Max pooling (the first block) rather than average pooling.
    max_pool: bool,
    /// The input's `[C, H, W]`.
    input: [usize; 3],
}

impl ConvBlock {
    fn pool(&self, y: Tensor<4>) -> Tensor<4> {
        dlp_kernels::pool2d(y, [3, 3], [2, 2], [1, 1], self.max_pool)
    }

    fn pre_norm(&self, x: Tensor<2>) -> Tensor<4> {
        let ([c, h, w], b) = (self.input, x.dims()[0]);
        dlp_kernels::conv2d(&self.conv, x.reshape([b, c, h, w]))
    }
}

impl FcBlock {
    fn pre_norm(&self, x: Tensor<2>) -> Tensor<2> {
        self.linear.forward(if self.relu_in { relu(x) } else { x })
    }
}

impl Block {
    /// An FC block from `input` to `output` units.
    pub fn new(input: usize, output: usize, device: &Device) -> Self {
        Self::Fc(FcBlock {
            linear: LinearConfig::new(input, output).init(device),
            norm: BatchNormConfig::new(output).init(device),
            relu_in: false,
            relu_out: true,
        })
    }

    /// A convolutional block on `[C, H, W]` inputs with `channels` filters; `first` pools by max.
    pub fn conv(input: [usize; 3], channels: usize, first: bool, device: &Device) -> Self {
        Self::Conv(ConvBlock {
            conv: Conv2dConfig::new([input[0], channels], [5, 5])
                .with_padding(PaddingConfig2d::Explicit(2, 2, 2, 2))
                .init(device),
            norm: BatchNormConfig::new(channels).init(device),
            max_pool: first,
            input,
        })
    }

    /// The output's `[C, H, W]` (`[units, 1, 1]` for FC). Reads shapes lazily: the parameters'
    /// random draws happen in the order they are first used.
    fn output_shape(&self) -> [usize; 3] {
        match self {
            Self::Fc(b) => [b.linear.weight.lazy_shape()[1], 1, 1],
            Self::Conv(b) => pooled(b.conv.weight.lazy_shape()[0], b.input),
        }
    }

    fn norm_mut(&mut self) -> &mut BatchNorm {
        match self {
            Self::Fc(b) => &mut b.norm,
            Self::Conv(b) => &mut b.norm,
        }
    }

    /// The activation batch norm sees, as `[B, C, H·W]` (`H·W = 1` for FC).
    fn pre_norm(&self, x: Tensor<2>) -> Tensor<3> {
        match self {
            Self::Fc(b) => b.pre_norm(x).unsqueeze_dim(2),
            Self::Conv(b) => b.pre_norm(x).flatten(2, 3),
        }
    }

    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        match self {
            Self::Fc(b) => {
                let z = b.norm.forward(b.pre_norm(x));
                if b.relu_out { relu(z) } else { z }
            }
            Self::Conv(b) => {
                let z = b.pre_norm(x);
                let dims = z.dims();
                let y = dlp_kernels::batch_norm(&b.norm, z.flatten(2, 3), true);
                b.pool(y.reshape(dims)).flatten(1, 3)
            }
        }
    }
}

/// The hidden blocks and the classifier of a network.
#[derive(Module, Debug)]
pub struct Net {
    pub blocks: Vec<Block>,
    pub classifier: Linear,
}

/// `[C, H, W]` after a convolutional block of `channels` filters on `[_, h, w]`.
fn pooled(channels: usize, [_, h, w]: [usize; 3]) -> [usize; 3] {
    [channels, h.div_ceil(2), w.div_ceil(2)]
}

impl Net {
    /// `layers` blocks of `width` units (FC) or channels (CNN) on `input` features, `classes`
    /// outputs.
    pub fn new(
        arch: Arch,
        input: usize,
        width: usize,
        layers: usize,
        classes: usize,
        device: &Device,
    ) -> Self {
        let (blocks, last): (Vec<Block>, usize) = match arch {
            Arch::Fc => (
                (0..layers)
                    .map(|i| Block::new(if i == 0 { input } else { width }, width, device))
                    .collect(),
                width,
            ),
            Arch::Cnn { image } => {
                assert_eq!(
                    image.iter().product::<usize>(),
                    input,
                    "image shape vs features"
                );
                let mut shape = image;
                let mut blocks = Vec::with_capacity(layers);
                for i in 0..layers {
                    blocks.push(Block::conv(shape, width, i == 0, device));
                    shape = pooled(width, shape);
                }
                (blocks, shape.iter().product())
            }
        };
        Self {
            blocks,
            classifier: LinearConfig::new(last, classes).init(device),
        }
    }

    /// The same network with its modules meeting at `interface` (the weights are unchanged).
    /// Panics for a pre-activation interface on convolutional blocks.
    pub fn with_interface(mut self, interface: Interface) -> Self {
        let pre = interface == Interface::Preactivation;
        for (i, block) in self.blocks.iter_mut().enumerate() {
            match block {
                Block::Fc(b) => (b.relu_in, b.relu_out) = (pre && i > 0, !pre),
                Block::Conv(_) => assert!(!pre, "pre-activation interfaces are FC only"),
            }
        }
        self
    }

    /// The same network with every FC block's weight matrix replaced by a random (semi-)
    /// orthogonal one (Saxe et al. 2014; `[input, output]` with orthonormal columns when
    /// `input ≥ output`); biases, batch norm and the classifier keep their initialisation.
    /// Random Kaiming-uniform blocks, burn's and PyTorch's default, lose more of the input with
    /// every block (see the README's floor table); orthogonal ones keep its geometry, which
    /// matters most where the blocks learn little, as under unconditional DNI. Panics for
    /// convolutional blocks.
    pub fn orthogonalised(mut self, device: &Device) -> Self {
        for block in &mut self.blocks {
            let Block::Fc(b) = block else {
                panic!("orthogonal initialisation is for FC blocks")
            };
            let [input, output] = b.linear.weight.dims();
            b.linear.weight = Initializer::Orthogonal { gain: 1.0 }.init([input, output], device);
        }
        self
    }

    /// The same network with every square FC block's weight matrix set to the identity (the
    /// others unchanged): such a block then starts as batch norm of its input, so that the
    /// input reaches the classifier with nothing lost but the ReLUs' negative halves. Panics
    /// for convolutional blocks.
    pub fn with_identity_blocks(mut self, device: &Device) -> Self {
        for block in &mut self.blocks {
            let Block::Fc(b) = block else {
                panic!("identity initialisation is for FC blocks")
            };
            let [input, output] = b.linear.weight.dims();
            if input == output {
                b.linear.weight = Param::from_tensor(Tensor::<2>::eye(input, device));
            }
        }
        self
    }

    /// Whether the top block leaves its ReLU to the classifier (a pre-activation interface).
    pub fn top_relu(&self) -> bool {
        matches!(self.blocks.last(), Some(Block::Fc(top)) if !top.relu_out)
    }

    /// Each block's output `[C, H, W]` (`[units, 1, 1]` for FC blocks).
    pub fn block_shapes(&self) -> Vec<[usize; 3]> {
        self.blocks.iter().map(Block::output_shape).collect()
    }

    /// Precise batch norm (Wu and Johnson 2021): every block's running mean and variance
    /// replaced by the statistics of its input over `batches` under the current weights, from the
    /// bottom block up (each block then feeds the next in inference mode). The moving averages
    /// kept during training lag behind weights that still move; on the CNN they cost tens of
    /// points of test error. For inference: run it on a network off the autodiff device.
    pub fn recalibrate(mut self, batches: &[Tensor<2>]) -> Self {
        let mut xs = batches.to_vec();
        for block in &mut self.blocks {
            let zs: Vec<Tensor<3>> = xs.iter().map(|x| block.pre_norm(x.clone())).collect();
            let count: usize = zs.iter().map(|z| z.dims()[0] * z.dims()[2]).sum();
            let total = |f: &dyn Fn(&Tensor<3>) -> Tensor<3>| {
                zs.iter()
                    .map(|z| f(z).sum_dim(2).sum_dim(0).flatten::<1>(0, 2))
                    .reduce(|a, b| a + b)
                    .expect("at least one batch")
                    / count as f64
            };
            let mean = total(&|z| z.clone());
            let centred = mean.clone().reshape([1, mean.dims()[0], 1]);
            let var = total(&|z| (z.clone() - centred.clone()).square());
            let norm = block.norm_mut();
            norm.running_mean = RunningState::new(mean);
            norm.running_var = RunningState::new(var);
            xs = xs.into_iter().map(|x| block.forward(x)).collect();
        }
        self
    }

    /// Logits.
    pub fn forward(&self, mut x: Tensor<2>) -> Tensor<2> {
        for b in &self.blocks {
            x = b.forward(x);
        }
        classify(&self.classifier, x, self.top_relu())
    }
}

/// Logits of `classifier` on the top block's output `h`, the top block's ReLU first where it
/// left it to the classifier ([`Net::top_relu`]).
pub fn classify(classifier: &Linear, h: Tensor<2>, top_relu: bool) -> Tensor<2> {
    classifier.forward(if top_relu { relu(h) } else { h })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// max |WᵀW − I| of an FC block's weight `[input, output]`.
    fn off_orthonormal(block: &Block) -> f32 {
        let Block::Fc(b) = block else { panic!("FC") };
        let w = b.linear.weight.val();
        let [_, out] = w.dims();
        let gram = w.clone().transpose().matmul(w);
        let eye = Tensor::<2>::eye(out, &gram.device());
        let diff = (gram - eye).abs().max().into_data();
        diff.convert::<f32>().try_to_vec::<f32>().unwrap()[0]
    }

    #[test]
    fn orthogonalised_blocks_have_orthonormal_columns() {
        let device = Device::flex();
        device.seed(3);
        let plain = Net::new(Arch::Fc, 20, 8, 3, 4, &device);
        device.seed(3);
        let orth = Net::new(Arch::Fc, 20, 8, 3, 4, &device).orthogonalised(&device);
        for (p, o) in plain.blocks.iter().zip(&orth.blocks) {
            assert!(off_orthonormal(o) < 1e-5, "{}", off_orthonormal(o));
            // Kaiming-uniform columns are far from orthonormal, so the check can fail.
            assert!(off_orthonormal(p) > 0.1, "{}", off_orthonormal(p));
        }
    }

    #[test]
    fn identity_blocks_are_the_identity_and_the_first_stays_orthogonal() {
        let device = Device::flex();
        let net = Net::new(Arch::Fc, 20, 8, 3, 4, &device)
            .orthogonalised(&device)
            .with_identity_blocks(&device);
        assert!(off_orthonormal(&net.blocks[0]) < 1e-5);
        for block in &net.blocks[1..] {
            let Block::Fc(b) = block else { panic!("FC") };
            let eye = Tensor::<2>::eye(8, &device).into_data();
            assert_eq!(b.linear.weight.val().into_data(), eye);
        }
    }
}
