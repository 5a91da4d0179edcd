//! The Inception-v3 that FID is computed with: pytorch-fid's `fid_inception_v3` (the TensorFlow
//! FID network, `pt_inception-2015-12-05` weights), up to its 2048-d pool features.
//!
//! Input: images in [0, 1], `[n, 3, h, w]` (one channel is repeated to three, as pytorch-fid's
//! RGB conversion does), resized to 299×299 bilinearly (`F.interpolate(mode="bilinear",
//! align_corners=False)`, no antialiasing), scaled to [−1, 1]; then the blocks of pytorch-fid's
//! `InceptionV3`: Conv2d_1a…2b, max pool, Conv2d_3b, 4a, max pool, Mixed_5b…6e, Mixed_7a…7c,
//! global average pool. Every convolution is torchvision's `BasicConv2d` (no bias, batch norm
//! with ε = 0.001, ReLU); the FID variants of the Mixed blocks average-pool without counting the
//! padding, and Mixed_7c max-pools its pool branch.
//!
//! The fields are named after PyTorch's (`Conv2d_1a_3x3` is `conv2d_1a_3x3`), so the weights
//! load from pytorch-fid's `.pth` file, or from a safetensors copy of it, by [`Inception::load`].

#![allow(clippy::too_many_arguments)]

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use dlp_core::{Error, Result};
use std::path::Path;

/// Side of the network's input.
pub const SIDE: usize = 299;
/// Width of the pool features.
pub const FEATURES: usize = 2048;

/// torchvision's `BasicConv2d`: convolution without bias, batch norm (ε = 0.001), ReLU.
#[derive(Module, Debug)]
pub struct BasicConv2d {
    conv: Conv2d,
    bn: BatchNorm,
}

impl BasicConv2d {
    fn new(cin: usize, cout: usize, k: [usize; 2], s: usize, p: [usize; 2], d: &Device) -> Self {
        Self {
            conv: Conv2dConfig::new([cin, cout], k)
                .with_stride([s, s])
                .with_padding(PaddingConfig2d::Explicit(p[0], p[1], p[0], p[1]))
                .with_bias(false)
                .init(d),
            bn: BatchNormConfig::new(cout).with_epsilon(1e-3).init(d),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        relu(self.bn.forward(dlp_kernels::conv2d(&self.conv, x)))
    }
}

fn c(cin: usize, cout: usize, k: usize, d: &Device) -> BasicConv2d {
    BasicConv2d::new(cin, cout, [k, k], 1, [k / 2, k / 2], d)
}
fn c_1x7(cin: usize, cout: usize, d: &Device) -> BasicConv2d {
    BasicConv2d::new(cin, cout, [1, 7], 1, [0, 3], d)
}
fn c_7x1(cin: usize, cout: usize, d: &Device) -> BasicConv2d {
    BasicConv2d::new(cin, cout, [7, 1], 1, [3, 0], d)
}
fn c_1x3(cin: usize, cout: usize, d: &Device) -> BasicConv2d {
    BasicConv2d::new(cin, cout, [1, 3], 1, [0, 1], d)
}
fn c_3x1(cin: usize, cout: usize, d: &Device) -> BasicConv2d {
    BasicConv2d::new(cin, cout, [3, 1], 1, [1, 0], d)
}
fn c_s2(cin: usize, cout: usize, d: &Device) -> BasicConv2d {
    BasicConv2d::new(cin, cout, [3, 3], 2, [0, 0], d)
}

/// 3×3 pooling: max with stride 2 (no padding), or stride 1 and padding 1 (max, or average
/// without counting the padding).
fn pool(x: Tensor<4>, stride: usize, max: bool) -> Tensor<4> {
    let p = if stride == 1 { 1 } else { 0 };
    dlp_kernels::pool2d(x, [3, 3], [stride, stride], [p, p], max)
}

/// FIDInceptionA.
#[derive(Module, Debug)]
pub struct BlockA {
    branch1x1: BasicConv2d,
    branch5x5_1: BasicConv2d,
    branch5x5_2: BasicConv2d,
    branch3x3dbl_1: BasicConv2d,
    branch3x3dbl_2: BasicConv2d,
    branch3x3dbl_3: BasicConv2d,
    branch_pool: BasicConv2d,
}

impl BlockA {
    fn new(cin: usize, pool_features: usize, d: &Device) -> Self {
        Self {
            branch1x1: c(cin, 64, 1, d),
            branch5x5_1: c(cin, 48, 1, d),
            branch5x5_2: c(48, 64, 5, d),
            branch3x3dbl_1: c(cin, 64, 1, d),
            branch3x3dbl_2: c(64, 96, 3, d),
            branch3x3dbl_3: c(96, 96, 3, d),
            branch_pool: c(cin, pool_features, 1, d),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b1 = self.branch1x1.forward(x.clone());
        let b5 = self
            .branch5x5_2
            .forward(self.branch5x5_1.forward(x.clone()));
        let b3 = self.branch3x3dbl_1.forward(x.clone());
        let b3 = self.branch3x3dbl_3.forward(self.branch3x3dbl_2.forward(b3));
        let bp = self.branch_pool.forward(pool(x, 1, false));
        Tensor::cat(vec![b1, b5, b3, bp], 1)
    }
}

/// InceptionB (Mixed_6a): the grid 35 → 17.
#[derive(Module, Debug)]
pub struct BlockB {
    branch3x3: BasicConv2d,
    branch3x3dbl_1: BasicConv2d,
    branch3x3dbl_2: BasicConv2d,
    branch3x3dbl_3: BasicConv2d,
}

impl BlockB {
    fn new(cin: usize, d: &Device) -> Self {
        Self {
            branch3x3: c_s2(cin, 384, d),
            branch3x3dbl_1: c(cin, 64, 1, d),
            branch3x3dbl_2: c(64, 96, 3, d),
            branch3x3dbl_3: c_s2(96, 96, d),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b3 = self.branch3x3.forward(x.clone());
        let bd = self.branch3x3dbl_1.forward(x.clone());
        let bd = self.branch3x3dbl_3.forward(self.branch3x3dbl_2.forward(bd));
        Tensor::cat(vec![b3, bd, pool(x, 2, true)], 1)
    }
}

/// FIDInceptionC, with `c7` channels in its 7×7 factorised branches.
#[derive(Module, Debug)]
pub struct BlockC {
    branch1x1: BasicConv2d,
    branch7x7_1: BasicConv2d,
    branch7x7_2: BasicConv2d,
    branch7x7_3: BasicConv2d,
    branch7x7dbl_1: BasicConv2d,
    branch7x7dbl_2: BasicConv2d,
    branch7x7dbl_3: BasicConv2d,
    branch7x7dbl_4: BasicConv2d,
    branch7x7dbl_5: BasicConv2d,
    branch_pool: BasicConv2d,
}

impl BlockC {
    fn new(cin: usize, c7: usize, d: &Device) -> Self {
        Self {
            branch1x1: c(cin, 192, 1, d),
            branch7x7_1: c(cin, c7, 1, d),
            branch7x7_2: c_1x7(c7, c7, d),
            branch7x7_3: c_7x1(c7, 192, d),
            branch7x7dbl_1: c(cin, c7, 1, d),
            branch7x7dbl_2: c_7x1(c7, c7, d),
            branch7x7dbl_3: c_1x7(c7, c7, d),
            branch7x7dbl_4: c_7x1(c7, c7, d),
            branch7x7dbl_5: c_1x7(c7, 192, d),
            branch_pool: c(cin, 192, 1, d),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b1 = self.branch1x1.forward(x.clone());
        let b7 = self.branch7x7_1.forward(x.clone());
        let b7 = self.branch7x7_3.forward(self.branch7x7_2.forward(b7));
        let mut bd = self.branch7x7dbl_1.forward(x.clone());
        for conv in [
            &self.branch7x7dbl_2,
            &self.branch7x7dbl_3,
            &self.branch7x7dbl_4,
            &self.branch7x7dbl_5,
        ] {
            bd = conv.forward(bd);
        }
        let bp = self.branch_pool.forward(pool(x, 1, false));
        Tensor::cat(vec![b1, b7, bd, bp], 1)
    }
}

/// InceptionD (Mixed_7a): the grid 17 → 8.
#[derive(Module, Debug)]
pub struct BlockD {
    branch3x3_1: BasicConv2d,
    branch3x3_2: BasicConv2d,
    branch7x7x3_1: BasicConv2d,
    branch7x7x3_2: BasicConv2d,
    branch7x7x3_3: BasicConv2d,
    branch7x7x3_4: BasicConv2d,
}

impl BlockD {
    fn new(cin: usize, d: &Device) -> Self {
        Self {
            branch3x3_1: c(cin, 192, 1, d),
            branch3x3_2: c_s2(192, 320, d),
            branch7x7x3_1: c(cin, 192, 1, d),
            branch7x7x3_2: c_1x7(192, 192, d),
            branch7x7x3_3: c_7x1(192, 192, d),
            branch7x7x3_4: c_s2(192, 192, d),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b3 = self
            .branch3x3_2
            .forward(self.branch3x3_1.forward(x.clone()));
        let mut b7 = self.branch7x7x3_1.forward(x.clone());
        for conv in [
            &self.branch7x7x3_2,
            &self.branch7x7x3_3,
            &self.branch7x7x3_4,
        ] {
            b7 = conv.forward(b7);
        }
        Tensor::cat(vec![b3, b7, pool(x, 2, true)], 1)
    }
}

/// FIDInceptionE_1 (average pool branch) or FIDInceptionE_2 (`max_pool`).
#[derive(Module, Debug)]
pub struct BlockE {
    branch1x1: BasicConv2d,
    branch3x3_1: BasicConv2d,
    branch3x3_2a: BasicConv2d,
    branch3x3_2b: BasicConv2d,
    branch3x3dbl_1: BasicConv2d,
    branch3x3dbl_2: BasicConv2d,
    branch3x3dbl_3a: BasicConv2d,
    branch3x3dbl_3b: BasicConv2d,
    branch_pool: BasicConv2d,
    max_pool: bool,
}

impl BlockE {
    fn new(cin: usize, max_pool: bool, d: &Device) -> Self {
        Self {
            branch1x1: c(cin, 320, 1, d),
            branch3x3_1: c(cin, 384, 1, d),
            branch3x3_2a: c_1x3(384, 384, d),
            branch3x3_2b: c_3x1(384, 384, d),
            branch3x3dbl_1: c(cin, 448, 1, d),
            branch3x3dbl_2: c(448, 384, 3, d),
            branch3x3dbl_3a: c_1x3(384, 384, d),
            branch3x3dbl_3b: c_3x1(384, 384, d),
            branch_pool: c(cin, 192, 1, d),
            max_pool,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b1 = self.branch1x1.forward(x.clone());
        let b3 = self.branch3x3_1.forward(x.clone());
        let b3 = Tensor::cat(
            vec![
                self.branch3x3_2a.forward(b3.clone()),
                self.branch3x3_2b.forward(b3),
            ],
            1,
        );
        let bd = self.branch3x3dbl_1.forward(x.clone());
        let bd = self.branch3x3dbl_2.forward(bd);
        let bd = Tensor::cat(
            vec![
                self.branch3x3dbl_3a.forward(bd.clone()),
                self.branch3x3dbl_3b.forward(bd),
            ],
            1,
        );
        let bp = self.branch_pool.forward(pool(x, 1, self.max_pool));
        Tensor::cat(vec![b1, b3, bd, bp], 1)
    }
}

/// The FID Inception-v3, to its pool features.
#[derive(Module, Debug)]
pub struct Inception {
    conv2d_1a_3x3: BasicConv2d,
    conv2d_2a_3x3: BasicConv2d,
    conv2d_2b_3x3: BasicConv2d,
    conv2d_3b_1x1: BasicConv2d,
    conv2d_4a_3x3: BasicConv2d,
    mixed_5b: BlockA,
    mixed_5c: BlockA,
    mixed_5d: BlockA,
    mixed_6a: BlockB,
    mixed_6b: BlockC,
    mixed_6c: BlockC,
    mixed_6d: BlockC,
    mixed_6e: BlockC,
    mixed_7a: BlockD,
    mixed_7b: BlockE,
    mixed_7c: BlockE,
}

impl Inception {
    /// The network with burn's default initialisation (load weights with [`Inception::load`]).
    pub fn new(d: &Device) -> Self {
        Self {
            conv2d_1a_3x3: c_s2(3, 32, d),
            conv2d_2a_3x3: BasicConv2d::new(32, 32, [3, 3], 1, [0, 0], d),
            conv2d_2b_3x3: c(32, 64, 3, d),
            conv2d_3b_1x1: c(64, 80, 1, d),
            conv2d_4a_3x3: BasicConv2d::new(80, 192, [3, 3], 1, [0, 0], d),
            mixed_5b: BlockA::new(192, 32, d),
            mixed_5c: BlockA::new(256, 64, d),
            mixed_5d: BlockA::new(288, 64, d),
            mixed_6a: BlockB::new(288, d),
            mixed_6b: BlockC::new(768, 128, d),
            mixed_6c: BlockC::new(768, 160, d),
            mixed_6d: BlockC::new(768, 160, d),
            mixed_6e: BlockC::new(768, 192, d),
            mixed_7a: BlockD::new(768, d),
            mixed_7b: BlockE::new(1280, false, d),
            mixed_7c: BlockE::new(2048, true, d),
        }
    }

    /// Loads pytorch-fid's weights: its `.pth` (e.g. `pt_inception-2015-12-05-6726825d.pth`) or
    /// a safetensors file with the same names. The classifier (`fc`) is not used.
    pub fn load(path: &Path, d: &Device) -> Result<Self> {
        use burn::store::{ModuleSnapshot, PytorchStore, SafetensorsStore};
        let mut net = Self::new(d);
        let bad = |e: String| Error::format(path, None, format!("Inception weights: {e}"));
        let is_safetensors = path.extension().is_some_and(|e| e == "safetensors");
        let result = if is_safetensors {
            let mut store = SafetensorsStore::from_file(path)
                .with_from_adapter(burn::store::PyTorchToBurnAdapter)
                .with_key_remapping(r"^Conv2d_", "conv2d_")
                .with_key_remapping(r"^Mixed_", "mixed_")
                .allow_partial(true);
            net.load_from(&mut store).map_err(|e| bad(e.to_string()))?
        } else {
            let mut store = PytorchStore::from_file(path)
                .with_key_remapping(r"^Conv2d_", "conv2d_")
                .with_key_remapping(r"^Mixed_", "mixed_")
                .allow_partial(true);
            net.load_from(&mut store).map_err(|e| bad(e.to_string()))?
        };
        if let Some((name, _)) = result.missing.first() {
            return Err(bad(format!(
                "no tensor for `{name}` ({} of the network's tensors are missing)",
                result.missing.len()
            )));
        }
        if let Some(e) = result.errors.first() {
            return Err(bad(format!("{e:?}")));
        }
        Ok(net)
    }

    /// The 2048-d pool features of images `x` `[n, 3, 299, 299]`, already scaled to [−1, 1].
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = self.conv2d_1a_3x3.forward(x);
        x = self.conv2d_2a_3x3.forward(x);
        x = pool(self.conv2d_2b_3x3.forward(x), 2, true);
        x = self.conv2d_3b_1x1.forward(x);
        x = pool(self.conv2d_4a_3x3.forward(x), 2, true);
        for block in [&self.mixed_5b, &self.mixed_5c, &self.mixed_5d] {
            x = block.forward(x);
        }
        x = self.mixed_6a.forward(x);
        for block in [
            &self.mixed_6b,
            &self.mixed_6c,
            &self.mixed_6d,
            &self.mixed_6e,
        ] {
            x = block.forward(x);
        }
        x = self.mixed_7a.forward(x);
        x = self.mixed_7c.forward(self.mixed_7b.forward(x));
        let [n, ch, h, w] = x.dims();
        x.reshape([n, ch, h * w]).mean_dim(2).reshape([n, ch])
    }
}

/// Images `[n, c, h, w]` in [0, 1] (c = 1 or 3, row-major) as the network's input: three
/// channels, resized to 299×299 as `F.interpolate(mode="bilinear", align_corners=False)` does,
/// scaled to [−1, 1].
pub fn prepare(images: &[f32], [n, ch, h, w]: [usize; 4], device: &Device) -> Tensor<4> {
    let xs = axis(w, SIDE);
    let ys = axis(h, SIDE);
    let mut out = vec![0f32; n * 3 * SIDE * SIDE];
    for (i, img) in out.chunks_exact_mut(3 * SIDE * SIDE).enumerate() {
        for (c, plane) in img.chunks_exact_mut(SIDE * SIDE).enumerate() {
            let src = &images[(i * ch + c.min(ch - 1)) * h * w..][..h * w];
            for (row, &(y0, y1, fy)) in plane.chunks_exact_mut(SIDE).zip(&ys) {
                let (r0, r1) = (&src[y0 * w..][..w], &src[y1 * w..][..w]);
                for (o, &(x0, x1, fx)) in row.iter_mut().zip(&xs) {
                    let top = r0[x0] + fx * (r0[x1] - r0[x0]);
                    let bottom = r1[x0] + fx * (r1[x1] - r1[x0]);
                    *o = 2.0 * (top + fy * (bottom - top)) - 1.0;
                }
            }
        }
    }
    Tensor::from_data(TensorData::new(out, [n, 3, SIDE, SIDE]), device)
}

/// For each output index along an axis of `len` → `out` samples: the two source indices and the
/// weight of the second (PyTorch's half-pixel mapping, clamped at the edges).
fn axis(len: usize, out: usize) -> Vec<(usize, usize, f32)> {
    let scale = len as f32 / out as f32;
    (0..out)
        .map(|o| {
            let src = ((o as f32 + 0.5) * scale - 0.5).max(0.0);
            let i0 = (src as usize).min(len - 1);
            let i1 = (i0 + 1).min(len - 1);
            (i0, i1, src - i0 as f32)
        })
        .collect()
}
