//! Our own CPU kernels for the ops that dominate the DDPM U-Net and the DNI CNN, with forward and
//! backward, under burn's ordinary run-time [`Device`]: a 2D convolution ([`conv2d`]) and a
//! GroupNorm fused with the per-channel add before it and the SiLU (and dropout) after it
//! ([`group_norm`], [`group_norm_silu_dropout`]).
//!
//! On the `flex` CPU device (with or without autodiff) and `f32` data these run our kernels
//! ([`conv`], [`norm`], through the backend extension in [`backend`]); on any other device or
//! dtype they run burn's own ops, so a GPU device keeps burn's kernels. Each kernel is tested
//! against burn's composition of the same op, forward and every gradient.
//!
//! ```
//! use burn::nn::conv::Conv2dConfig;
//! use burn::tensor::{Device, Distribution, Tensor};
//! let device = Device::flex();
//! let conv = Conv2dConfig::new([3, 8], [3, 3]).init(&device);
//! let x = Tensor::<4>::random([2, 3, 9, 9], Distribution::Normal(0.0, 1.0), &device);
//! let ours = dlp_kernels::conv2d(&conv, x.clone());
//! let burns = conv.forward(x);
//! let diff = (ours - burns).abs().max().into_scalar::<f32>();
//! assert!(diff < 1e-4);
//! ```

pub mod activation;
pub mod backend;
pub mod batch_norm;
pub mod conv;
pub mod conv_same;
pub mod norm;
pub mod pool;
mod products;
pub mod simd;
pub mod winograd;

use activation::Unary;
use backend::KernelBackend;
use batch_norm::BnShape;
use burn::backend::Dispatch;
use burn::backend::DispatchDevice;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Dropout, GroupNorm, PaddingConfig2d};
use burn::tensor::{DType, Device, Distribution, Tensor};
use conv::ConvShape;
use norm::NormShape;
use pool::PoolShape;
use std::sync::atomic::{AtomicBool, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns our kernels on (the default) or off for the whole process, so that a benchmark or a
/// test can run the same model on burn's own ops.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether our kernels serve tensors on `device` with `dtype`: the flex CPU device, f32.
pub fn serves(device: &Device, dtype: DType) -> bool {
    let flex = match device.as_dispatch() {
        DispatchDevice::Flex(_) => true,
        DispatchDevice::Autodiff(inner) => matches!(**inner, DispatchDevice::Flex(_)),
        #[allow(unreachable_patterns)]
        _ => false,
    };
    flex && dtype == DType::F32 && ENABLED.load(Ordering::Relaxed)
}

/// `conv.forward(x)` for an ungrouped, undilated convolution with explicit or valid padding; other
/// convolutions (and other devices) go to burn's own.
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    conv2d_then(conv, x, None)
}

/// `conv.forward(x) + residual` (a residual block's skip, of the output's shape), the add done
/// while each output value is first written rather than in a pass of its own.
pub fn conv2d_add(conv: &Conv2d, x: Tensor<4>, residual: Tensor<4>) -> Tensor<4> {
    conv2d_then(conv, x, Some(residual))
}

fn conv2d_then(conv: &Conv2d, x: Tensor<4>, residual: Option<Tensor<4>>) -> Tensor<4> {
    let padding = match conv.padding {
        PaddingConfig2d::Valid => Some([0, 0]),
        PaddingConfig2d::Explicit(t, l, b, r) if t == b && l == r => Some([t, l]),
        _ => None,
    };
    let weight = conv.weight.val();
    let [c_out, c_in, kh, kw] = weight.dims();
    let [batch, cx, h, w] = x.dims();
    let fits = |p: [usize; 2]| h + 2 * p[0] >= kh && w + 2 * p[1] >= kw;
    match padding {
        Some(padding)
            if conv.groups == 1
                && conv.dilation == [1, 1]
                && batch * c_out * h * w > 0
                && conv.stride.iter().all(|&s| s > 0)
                && cx == c_in
                && fits(padding)
                && serves(&x.device(), x.dtype()) =>
        {
            let shape = ConvShape {
                batch,
                c_in,
                h,
                w,
                c_out,
                kernel: [kh, kw],
                stride: conv.stride,
                padding,
            };
            let bias = match &conv.bias {
                Some(b) => b.val(),
                None => Tensor::zeros([c_out], &x.device()),
            };
            let [ho, wo] = shape.out_hw();
            let (x, weight, bias) = (
                x.into_dispatch(),
                weight.into_dispatch(),
                bias.into_dispatch(),
            );
            Tensor::from_dispatch(match residual {
                Some(r) if r.dims() == [batch, c_out, ho, wo] => {
                    <Dispatch as KernelBackend>::dlp_conv2d_add(
                        x,
                        weight,
                        bias,
                        r.into_dispatch(),
                        shape,
                    )
                }
                Some(r) => {
                    let y = Tensor::<4>::from_dispatch(<Dispatch as KernelBackend>::dlp_conv2d(
                        x, weight, bias, shape,
                    ));
                    (y + r).into_dispatch()
                }
                None => <Dispatch as KernelBackend>::dlp_conv2d(x, weight, bias, shape),
            })
        }
        _ => match residual {
            Some(r) => conv.forward(x) + r,
            None => conv.forward(x),
        },
    }
}

/// `GroupNorm(x + add[b, c])`, then SiLU when `silu`; `add` is `[batch, channels]`.
pub fn group_norm(norm: &GroupNorm, x: Tensor<4>, add: Option<Tensor<2>>, silu: bool) -> Tensor<4> {
    norm_then(norm, x, add, silu, None)
}

/// `dropout(SiLU(GroupNorm(x + add[b, c])))` in one pass, as the second half of a residual block
/// has it. The dropout acts as `dropout.forward` does (only on an autodiff device, when the layer
/// is training); its mask comes from a seed drawn from the device's generator, so a run seeded
/// the same way draws the same masks.
pub fn group_norm_silu_dropout(
    norm: &GroupNorm,
    x: Tensor<4>,
    add: Option<Tensor<2>>,
    dropout: &Dropout,
) -> Tensor<4> {
    norm_then(norm, x, add, true, Some(dropout))
}

fn norm_then(
    norm: &GroupNorm,
    x: Tensor<4>,
    add: Option<Tensor<2>>,
    silu: bool,
    dropout: Option<&Dropout>,
) -> Tensor<4> {
    let [batch, channels, h, w] = x.dims();
    let device = x.device();
    let (gamma, beta) = match (&norm.gamma, &norm.beta) {
        (Some(g), Some(b)) => (g.val(), b.val()),
        _ => (
            Tensor::ones([channels], &device),
            Tensor::zeros([channels], &device),
        ),
    };
    if !serves(&device, x.dtype()) || channels != norm.num_channels || batch * channels * h * w == 0
    {
        let x = match add {
            Some(a) => x + a.reshape([batch, channels, 1, 1]),
            None => x,
        };
        let y = norm.forward(x);
        let y = if silu {
            burn::tensor::activation::silu(y)
        } else {
            y
        };
        return match dropout {
            Some(d) => d.forward(y),
            None => y,
        };
    }
    let keep = match dropout {
        Some(d) if d.training.is_enabled() && device.is_autodiff() && d.prob > 0.0 => {
            1.0 - d.prob as f32
        }
        _ => 1.0,
    };
    let seed = if keep < 1.0 {
        let u = Tensor::<1>::random([2], Distribution::Uniform(0.0, 1.0), &device)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        let bits = |i: usize| (u.get(i).copied().unwrap_or(0.0) as f64 * 4_294_967_296.0) as u64;
        bits(0) << 32 | bits(1)
    } else {
        0
    };
    let add = add.unwrap_or_else(|| Tensor::zeros([batch, channels], &device));
    let shape = NormShape {
        batch,
        channels,
        spatial: h * w,
        groups: norm.num_groups,
        epsilon: norm.epsilon as f32,
        silu,
        keep,
        seed,
    };
    Tensor::from_dispatch(<Dispatch as KernelBackend>::dlp_group_norm(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        add.into_dispatch(),
        shape,
    ))
}

/// `BatchNorm(x)`, then ReLU when `relu`, for `x` of shape `[batch, channels, h·w]`; exactly
/// `norm.forward` (with the batch's statistics and a running-average update when training on an
/// autodiff device, with the running statistics otherwise).
pub fn batch_norm(norm: &BatchNorm, x: Tensor<3>, relu: bool) -> Tensor<3> {
    let [batch, channels, spatial] = x.dims();
    let device = x.device();
    let training = device.is_autodiff() && norm.training.is_enabled();
    if !training || !serves(&device, x.dtype()) || batch * channels * spatial == 0 {
        let y = norm.forward(x);
        return if relu {
            burn::tensor::activation::relu(y)
        } else {
            y
        };
    }
    let shape = BnShape {
        batch,
        channels,
        spatial,
        epsilon: norm.epsilon as f32,
        relu,
    };
    let (out, stats) = <Dispatch as KernelBackend>::dlp_batch_norm(
        x.into_dispatch(),
        norm.gamma.val().into_dispatch(),
        norm.beta.val().into_dispatch(),
        shape,
    );
    let stats = Tensor::<2>::from_dispatch(stats);
    let update = |state: &burn::module::RunningState<Tensor<1>>, row: usize| {
        let batch = stats.clone().narrow(0, row, 1).reshape([channels]);
        let old = state.value_sync().to_device(&device);
        let new = old.mul_scalar(1.0 - norm.momentum) + batch.mul_scalar(norm.momentum);
        state.update(new.detach());
    };
    update(&norm.running_mean, 0);
    update(&norm.running_var, 1);
    Tensor::from_dispatch(out)
}

/// Max pooling (`max`) or average pooling that does not count the padding, as burn's `MaxPool2d`
/// and `AvgPool2d` with `count_include_pad = false` compute them; `padding ≤ kernel / 2`.
pub fn pool2d(
    x: Tensor<4>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    max: bool,
) -> Tensor<4> {
    let [batch, channels, h, w] = x.dims();
    let fits = (0..2).all(|i| stride[i] > 0 && 2 * padding[i] <= kernel[i])
        && h + 2 * padding[0] >= kernel[0]
        && w + 2 * padding[1] >= kernel[1];
    if !fits || !serves(&x.device(), x.dtype()) || batch * channels * h * w == 0 {
        let pad = PaddingConfig2d::Explicit(padding[0], padding[1], padding[0], padding[1]);
        return if max {
            let pool = burn::nn::pool::MaxPool2dConfig::new(kernel).with_strides(stride);
            pool.with_padding(pad).init().forward(x)
        } else {
            let pool = burn::nn::pool::AvgPool2dConfig::new(kernel).with_strides(stride);
            let pool = pool.with_padding(pad).with_count_include_pad(false);
            pool.init().forward(x)
        };
    }
    let shape = PoolShape {
        planes: batch * channels,
        h,
        w,
        kernel,
        stride,
        padding,
        max,
    };
    Tensor::from_dispatch(<Dispatch as KernelBackend>::dlp_pool2d(
        x.into_dispatch(),
        shape,
    ))
}

fn unary<const D: usize>(x: Tensor<D>, f: Unary) -> Tensor<D> {
    if !serves(&x.device(), x.dtype()) {
        return match f {
            Unary::Exp => x.exp(),
            Unary::Sigmoid => burn::tensor::activation::sigmoid(x),
            // x / (1 + e^{min(−x, 80)}): one exponential, and e^{−x} stays finite in f32 so the
            // backward never meets 0·∞ (burn's silu goes through log space, three passes).
            Unary::Silu => x.clone() / (x.neg().clamp_max(80.0).exp() + 1.0),
        };
    }
    Tensor::from_dispatch(<Dispatch as KernelBackend>::dlp_unary(x.into_dispatch(), f))
}

/// e^x element by element (Cephes' polynomial, 2e-7 relative; [`simd::exp`]).
pub fn exp<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    unary(x, Unary::Exp)
}

/// σ(x) = 1 / (1 + e^−x) element by element.
pub fn sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    unary(x, Unary::Sigmoid)
}

/// SiLU(x) = x·σ(x) element by element; its backward recomputes σ from x in the same pass.
pub fn silu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    unary(x, Unary::Silu)
}

/// The softmax along `dim`: e^(x − max) / Σ e^(x − max). Our kernel serves the last axis; other
/// axes go to burn's.
pub fn softmax<const D: usize>(x: Tensor<D>, dim: usize) -> Tensor<D> {
    if dim + 1 != D || !serves(&x.device(), x.dtype()) || x.shape().num_elements() == 0 {
        return burn::tensor::activation::softmax(x, dim);
    }
    Tensor::from_dispatch(<Dispatch as KernelBackend>::dlp_softmax(x.into_dispatch()))
}
