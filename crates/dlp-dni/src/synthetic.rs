//! The synthetic-gradient model (Jaderberg et al. 2017, Section 2): a module M_i beside layer
//! output h_i predicts ĝ_i ≈ ∂L/∂h_i, from h_i alone (DNI) or from h_i and the one-hot label
//! (cDNI), so that the layer can update without waiting for the true gradient.
//!
//! M_i is linear (`hidden = 0`) or an MLP with ReLU; its output layer starts at zero, so that
//! ĝ = 0 at first and the layers do not move on untrained predictions (as the paper does).
//! Its loss is `mean((ĝ − δ)²)` over the batch and the units, δ being the target gradient
//! scaled to a per-example gradient (multiplied by the batch size: the gradient of a batch-mean
//! loss has 1/B in it, which would otherwise shrink the targets with the batch).
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use dlp_dni::synthetic::SyntheticGradient;
//! let device = Device::flex();
//! let m = SyntheticGradient::new(8, 0, Some(10), &device);
//! let h = Tensor::<2>::ones([4, 8], &device);
//! let g = m.forward(h, Some(&[1, 2, 3, 4]));
//! assert_eq!(g.dims(), [4, 8]);
//! ```

use crate::layers::Arch;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// M_i: predicts ∂L/∂h from h (and the label when conditional). For a convolutional block,
/// M_i is convolutional too (5×5, resolution kept; the paper's CNN models are), and the
/// label enters as `classes` constant planes.
#[derive(Module, Debug)]
pub enum SyntheticGradient {
    Fc(FcSyntheticGradient),
    Conv(ConvSyntheticGradient),
}

/// M_i on flat rows: hidden layers of Linear, batch norm and ReLU (none: linear), then the
/// zero-initialised output layer.
#[derive(Module, Debug)]
pub struct FcSyntheticGradient {
    hidden: Vec<Linear>,
    norms: Vec<BatchNorm>,
    output: Linear,
    /// One-hot label inputs (cDNI; 0 for DNI).
    classes: usize,
}

/// M_i on a convolutional block's output `[C, H, W]`: 5×5 convolutions, the last zero at first.
#[derive(Module, Debug)]
pub struct ConvSyntheticGradient {
    hidden: Vec<Conv2d>,
    output: Conv2d,
    /// Label planes (cDNI; 0 for DNI).
    classes: usize,
    shape: [usize; 3],
}

fn conv5(input: usize, output: usize, zero: bool, device: &Device) -> Conv2d {
    let c = Conv2dConfig::new([input, output], [5, 5])
        .with_padding(PaddingConfig2d::Explicit(2, 2, 2, 2));
    if zero {
        c.with_initializer(Initializer::Zeros).init(device)
    } else {
        c.init(device)
    }
}

/// The labels one-hot, `[b, classes]`.
fn one_hot(labels: Option<&[usize]>, classes: usize, device: &Device) -> Tensor<2> {
    let labels = labels.expect("cDNI needs the labels");
    let mut v = vec![0f32; labels.len() * classes];
    for (i, &l) in labels.iter().enumerate() {
        v[i * classes + l] = 1.0;
    }
    Tensor::<2>::from_data(TensorData::new(v, [labels.len(), classes]), device)
}

impl SyntheticGradient {
    /// For outputs of width `width`; `hidden` units in one hidden layer (0: linear); `classes`
    /// for cDNI.
    pub fn new(width: usize, hidden: usize, classes: Option<usize>, device: &Device) -> Self {
        let classes = classes.unwrap_or(0);
        let input = width + classes;
        let (hidden, norms, last_in) = if hidden > 0 {
            (
                vec![LinearConfig::new(input, hidden).init(device)],
                vec![BatchNormConfig::new(hidden).init(device)],
                hidden,
            )
        } else {
            (Vec::new(), Vec::new(), input)
        };
        Self::Fc(FcSyntheticGradient {
            hidden,
            norms,
            output: LinearConfig::new(last_in, width)
                .with_initializer(Initializer::Zeros)
                .init(device),
            classes,
        })
    }

    /// For a convolutional block's output of shape `[C, H, W]`: one 5×5 convolution, or
    /// `hidden` channels in one ReLU hidden layer before it.
    pub fn conv(shape: [usize; 3], hidden: usize, classes: Option<usize>, device: &Device) -> Self {
        let classes = classes.unwrap_or(0);
        let input = shape[0] + classes;
        let (hidden, last_in) = if hidden > 0 {
            (vec![conv5(input, hidden, false, device)], hidden)
        } else {
            (Vec::new(), input)
        };
        Self::Conv(ConvSyntheticGradient {
            hidden,
            output: conv5(last_in, shape[0], true, device),
            classes,
            shape,
        })
    }

    /// The model for a block of `arch` whose output has shape `shape`.
    pub fn for_block(
        arch: Arch,
        shape: [usize; 3],
        hidden: usize,
        classes: Option<usize>,
        device: &Device,
    ) -> Self {
        match arch {
            Arch::Fc => Self::new(shape.iter().product(), hidden, classes, device),
            Arch::Cnn { .. } => Self::conv(shape, hidden, classes, device),
        }
    }

    /// ĝ for `h` `[b, features]` (and labels, for cDNI).
    pub fn forward(&self, h: Tensor<2>, labels: Option<&[usize]>) -> Tensor<2> {
        let device = h.device();
        match self {
            Self::Fc(m) => {
                let mut x = h;
                if m.classes > 0 {
                    x = Tensor::cat(vec![x, one_hot(labels, m.classes, &device)], 1);
                }
                for (layer, norm) in m.hidden.iter().zip(&m.norms) {
                    x = relu(norm.forward(layer.forward(x)));
                }
                m.output.forward(x)
            }
            Self::Conv(m) => {
                let ([c, height, width], b) = (m.shape, h.dims()[0]);
                let mut x = h.reshape([b, c, height, width]);
                if m.classes > 0 {
                    let planes = one_hot(labels, m.classes, &device)
                        .reshape([b, m.classes, 1, 1])
                        .repeat_dim(2, height)
                        .repeat_dim(3, width);
                    x = Tensor::cat(vec![x, planes], 1);
                }
                for layer in &m.hidden {
                    x = relu(dlp_kernels::conv2d(layer, x));
                }
                dlp_kernels::conv2d(&m.output, x).flatten(1, 3)
            }
        }
    }
}

/// Labels as an integer tensor `[b]`.
pub fn labels_tensor(labels: &[usize], device: &Device) -> Tensor<1, Int> {
    let v: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    Tensor::from_data(TensorData::new(v, [labels.len()]), device)
}

/// The synthetic-input model I_i (Jaderberg et al. 2017, Section 3.4, "complete unlock"):
/// predicts module i's input ĥ_{i−1} = I_i(x) from the data x, so that module i can run its
/// forward pass before the modules below have run theirs. An MLP with one ReLU hidden layer,
/// trained by regression on the true h_{i−1}: loss `mean((ĥ − h)²)`.
#[derive(Module, Debug)]
pub struct SyntheticInput {
    hidden: Linear,
    output: Linear,
}

impl SyntheticInput {
    /// From `input` data features to a module input of width `width`, through `hidden` units.
    pub fn new(input: usize, hidden: usize, width: usize, device: &Device) -> Self {
        Self {
            hidden: LinearConfig::new(input, hidden).init(device),
            output: LinearConfig::new(hidden, width).init(device),
        }
    }

    /// ĥ for data `x` `[b, input]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.output.forward(relu(self.hidden.forward(x)))
    }
}
