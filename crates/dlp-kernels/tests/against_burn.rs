//! Each kernel against burn's own composition of the same op, forward and every gradient, to 1e-4
//! relative (of the largest magnitude), on awkward shapes, on 1 and 2 threads; and against finite
//! differences on small shapes.

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{GroupNorm, GroupNormConfig, PaddingConfig2d};
use burn::tensor::{Device, Distribution, Tensor};
use dlp_kernels::conv::ConvShape;

mod common;
use common::{close, close_above, flat, on_threads, same_then_backward};

/// (batch, c_in, h, w, c_out, kernel, stride, padding)
type ConvCase = (usize, usize, usize, usize, usize, usize, usize, usize);

const CONVS: [ConvCase; 17] = [
    (2, 3, 1, 1, 4, 5, 1, 2),
    (1, 2, 2, 3, 3, 5, 2, 2),
    (1, 3, 7, 5, 5, 3, 1, 1),
    (3, 5, 9, 8, 4, 3, 2, 1),
    (5, 6, 7, 7, 3, 3, 2, 1),
    (2, 4, 6, 6, 6, 1, 1, 0),
    (2, 3, 10, 10, 7, 5, 1, 2),
    (2, 2, 5, 5, 3, 5, 1, 0),
    (4, 17, 11, 13, 9, 1, 2, 0),
    // "Same" padding on an image one row high, and with a kernel wider than the image.
    (1, 5, 1, 9, 3, 3, 1, 1),
    (2, 3, 2, 2, 2, 5, 1, 2),
    // Outputs of 16×16 and more go without im2col (conv_same), smaller ones in groups of images
    // (the last group short): a stride-2 conv on odd sides, a 1×1.
    (3, 5, 17, 16, 6, 3, 1, 1),
    // From 16 input channels the weight gradient reads a position-major copy.
    (2, 16, 6, 7, 5, 3, 1, 1),
    (13, 3, 9, 7, 5, 3, 2, 1),
    (11, 9, 5, 5, 4, 1, 1, 0),
    // Winograd F(2×2, 3×3) from 64 channels in and out and 12 pixels a side: odd sides (partial
    // tiles), groups of images.
    (5, 64, 13, 15, 65, 3, 1, 1),
    (2, 66, 12, 12, 64, 3, 1, 1),
];

fn conv_layer(
    c: (usize, usize, usize, usize, usize, usize, usize, usize),
    bias: bool,
    d: &Device,
) -> Conv2d {
    let (_, ci, _, _, co, k, s, p) = c;
    let mut conv = Conv2dConfig::new([ci, co], [k, k])
        .with_stride([s, s])
        .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
        .with_bias(bias)
        .init(d);
    if let Some(b) = &conv.bias {
        conv.bias = Some(Param::from_tensor(
            b.val().random_like(Distribution::Normal(0.0, 1.0)),
        ));
    }
    conv
}

#[test]
fn conv2d_matches_burn_forward_and_gradients() {
    for threads in [1, 2] {
        on_threads(threads, || {
            for (i, c) in CONVS.into_iter().enumerate() {
                let d = Device::flex().autodiff();
                d.seed(i as u64);
                let conv = conv_layer(c, i != 2, &d);
                let (b, ci, h, w, ..) = c;
                let x = Tensor::<4>::random([b, ci, h, w], Distribution::Normal(0.0, 1.0), &d)
                    .require_grad();
                let ours = dlp_kernels::conv2d(&conv, x.clone());
                let theirs = conv.forward(x.clone());
                assert_eq!(ours.dims(), theirs.dims(), "{c:?}");
                let what = format!("{c:?} on {threads} threads");
                let (g_ours, g_theirs) = same_then_backward(&what, ours, theirs, 1e-4);
                close(
                    &format!("{what} dx"),
                    flat(x.grad(&g_ours).unwrap()),
                    flat(x.grad(&g_theirs).unwrap()),
                    1e-4,
                );
                let (wo, wt) = (
                    conv.weight.grad(&g_ours).unwrap(),
                    conv.weight.grad(&g_theirs).unwrap(),
                );
                close(&format!("{what} dw"), flat(wo), flat(wt), 1e-4);
                if let Some(bias) = &conv.bias {
                    close(
                        &format!("{what} db"),
                        bias.grad(&g_ours).unwrap(),
                        bias.grad(&g_theirs).unwrap(),
                        1e-4,
                    );
                }
            }
        });
    }
}

fn norm_layer(groups: usize, channels: usize, d: &Device) -> GroupNorm {
    let mut gn = GroupNormConfig::new(groups, channels).init(d);
    gn.gamma = Some(Param::from_tensor(Tensor::random(
        [channels],
        Distribution::Normal(1.0, 0.5),
        d,
    )));
    gn.beta = Some(Param::from_tensor(Tensor::random(
        [channels],
        Distribution::Normal(0.0, 0.5),
        d,
    )));
    gn
}

/// Our norm's output `ours` against burn's `theirs`, and the gradients of both for x, the add,
/// γ and β under the same random cotangent.
fn same_norm(
    what: &str,
    ours: Tensor<4>,
    theirs: Tensor<4>,
    x: &Tensor<4>,
    add: Option<&Tensor<2>>,
    gn: &GroupNorm,
) {
    let (g_ours, g_theirs) = same_then_backward(what, ours, theirs, 1e-4);
    let dx = flat(x.grad(&g_theirs).unwrap());
    let dx_scale = dx.clone().abs().max().into_scalar::<f32>();
    close(
        &format!("{what} dx"),
        flat(x.grad(&g_ours).unwrap()),
        dx,
        1e-4,
    );
    for (name, p) in [
        ("dgamma", gn.gamma.as_ref().unwrap()),
        ("dbeta", gn.beta.as_ref().unwrap()),
    ] {
        let (ours, theirs) = (p.grad(&g_ours).unwrap(), p.grad(&g_theirs).unwrap());
        close(&format!("{what} {name}"), ours, theirs, 1e-4);
    }
    if let Some(a) = add {
        // The add's gradient is zero in exact arithmetic with one channel per group: rounding
        // noise on both sides, measured against dx's scale.
        let (ours, theirs) = (
            flat(a.grad(&g_ours).unwrap()),
            flat(a.grad(&g_theirs).unwrap()),
        );
        close_above(&format!("{what} dadd"), ours, theirs, 1e-4, dx_scale);
    }
}

#[test]
fn group_norm_silu_matches_burn_forward_and_gradients() {
    // (batch, channels, h, w, groups)
    let cases = [
        (1, 32, 5, 3, 32),
        (3, 6, 7, 7, 3),
        (2, 5, 4, 4, 1),
        (2, 64, 8, 8, 32),
        (1, 12, 1, 1, 4),
    ];
    for threads in [1, 2] {
        on_threads(threads, || {
            for (i, (b, c, h, w, g)) in cases.into_iter().enumerate() {
                for (with_add, silu) in [(false, false), (false, true), (true, true), (true, false)]
                {
                    let d = Device::flex().autodiff();
                    d.seed(i as u64);
                    let gn = norm_layer(g, c, &d);
                    let x = Tensor::<4>::random([b, c, h, w], Distribution::Normal(0.5, 2.0), &d)
                        .require_grad();
                    let add = with_add.then(|| {
                        Tensor::<2>::random([b, c], Distribution::Normal(0.0, 1.0), &d)
                            .require_grad()
                    });
                    let ours = dlp_kernels::group_norm(&gn, x.clone(), add.clone(), silu);
                    let pre = match &add {
                        Some(a) => x.clone() + a.clone().reshape([b, c, 1, 1]),
                        None => x.clone(),
                    };
                    let theirs = gn.forward(pre);
                    let theirs = if silu {
                        burn::tensor::activation::silu(theirs)
                    } else {
                        theirs
                    };
                    let what = format!(
                        "{:?} add {with_add} silu {silu} on {threads} threads",
                        (b, c, h, w, g)
                    );
                    same_norm(&what, ours, theirs, &x, add.as_ref(), &gn);
                }
            }
        });
    }
}

#[test]
fn group_norm_silu_dropout_matches_burn_under_the_same_mask() {
    use burn::nn::DropoutConfig;
    use burn::tensor::TensorData;
    let prob = 0.3;
    let dropout = DropoutConfig::new(prob).init();
    for threads in [1, 2] {
        on_threads(threads, || {
            for (i, (b, c, h, w, g)) in [(2, 6, 5, 7, 3), (3, 32, 8, 8, 32)].into_iter().enumerate()
            {
                let d = Device::flex().autodiff();
                d.seed(i as u64);
                let gn = norm_layer(g, c, &d);
                let x = Tensor::<4>::random([b, c, h, w], Distribution::Normal(0.5, 2.0), &d)
                    .require_grad();
                let add =
                    Tensor::<2>::random([b, c], Distribution::Normal(0.0, 1.0), &d).require_grad();
                let ours = dlp_kernels::group_norm_silu_dropout(
                    &gn,
                    x.clone(),
                    Some(add.clone()),
                    &dropout,
                );
                // The mask our kernel drew, read off its output, applied to burn's composition.
                let mask: Vec<f32> = ours
                    .to_data()
                    .try_to_vec::<f32>()
                    .unwrap()
                    .iter()
                    .map(|&v| {
                        if v == 0.0 {
                            0.0
                        } else {
                            1.0 / (1.0 - prob as f32)
                        }
                    })
                    .collect();
                let mask = Tensor::<4>::from_data(TensorData::new(mask, [b, c, h, w]), &d);
                let pre = x.clone() + add.clone().reshape([b, c, 1, 1]);
                let theirs = burn::tensor::activation::silu(gn.forward(pre)) * mask;
                let what = format!("{:?} dropout {prob} on {threads} threads", (b, c, h, w, g));
                same_norm(&what, ours, theirs, &x, Some(&add), &gn);
            }
        });
    }
}

#[test]
fn dropout_keeps_its_fraction_draws_fresh_masks_and_stays_off_outside_training() {
    use burn::nn::DropoutConfig;
    let dropout = DropoutConfig::new(0.1).init();
    let d = Device::flex().autodiff();
    d.seed(7);
    let gn = norm_layer(8, 16, &d);
    let x = Tensor::<4>::random([16, 16, 32, 32], Distribution::Normal(0.0, 1.0), &d);
    let kept = |t: Tensor<4>| {
        let v = t.to_data().try_to_vec::<f32>().unwrap();
        v.iter().filter(|&&e| e != 0.0).count() as f64 / v.len() as f64
    };
    let a = dlp_kernels::group_norm_silu_dropout(&gn, x.clone(), None, &dropout);
    let b = dlp_kernels::group_norm_silu_dropout(&gn, x.clone(), None, &dropout);
    // 262144 elements: the kept fraction's standard deviation is 0.0006.
    assert!(
        (kept(a.clone()) - 0.9).abs() < 0.004,
        "kept {}",
        kept(a.clone())
    );
    let differ = (a.clone() - b).abs().max().into_scalar::<f32>();
    assert!(differ > 0.0, "two calls drew the same mask");
    // Without autodiff, or with the layer frozen, dropout does nothing.
    let plain = Device::flex();
    let (gn_p, x_p) = (
        gn.clone().fork(&plain),
        Tensor::<4>::from_data(x.to_data(), &plain),
    );
    let off = dlp_kernels::group_norm_silu_dropout(&gn_p, x_p.clone(), None, &dropout);
    let want = dlp_kernels::group_norm(&gn_p, x_p, None, true);
    assert_eq!(off.to_data(), want.to_data());
    use burn::module::Module;
    let frozen = dropout.clone().freeze();
    let off = dlp_kernels::group_norm_silu_dropout(&gn, x.clone(), None, &frozen);
    assert_eq!(
        off.to_data(),
        dlp_kernels::group_norm(&gn, x, None, true).to_data()
    );
}

type ConvFns = (
    fn(&[f32], &[f32], &[f32], ConvShape) -> Vec<f32>,
    fn(&[f32], &[f32], ConvShape) -> Vec<f32>,
    fn(&[f32], &[f32], ConvShape) -> (Vec<f32>, Vec<f32>),
);

/// A convolution's (forward, input gradient, weight gradient) against central differences of
/// the loss Σ y·r on the shape `s`.
fn conv_matches_finite_differences(
    what: &str,
    s: ConvShape,
    (forward, backward_input, backward_weight): ConvFns,
    rnd: &mut impl FnMut() -> f32,
) {
    let [ho, wo] = s.out_hw();
    let n_out = s.batch * s.c_out * ho * wo;
    let x: Vec<f32> = (0..s.batch * s.c_in * s.h * s.w).map(|_| rnd()).collect();
    let w: Vec<f32> = (0..s.c_out * s.c_in * 9).map(|_| rnd()).collect();
    let bias: Vec<f32> = (0..s.c_out).map(|_| rnd()).collect();
    let r: Vec<f32> = (0..n_out).map(|_| rnd()).collect();
    let loss = |x: &[f32], w: &[f32]| {
        let y = forward(x, w, &bias, s);
        y.iter().zip(&r).map(|(a, b)| (a * b) as f64).sum::<f64>()
    };
    let dx = backward_input(&w, &r, s);
    let (dw, db) = backward_weight(&x, &r, s);
    let h = 1e-2f32;
    for i in 0..x.len() {
        let (mut xp, mut xm) = (x.clone(), x.clone());
        xp[i] += h;
        xm[i] -= h;
        let fd = (loss(&xp, &w) - loss(&xm, &w)) / (2.0 * h as f64);
        let got = dx[i];
        assert!(
            (fd - got as f64).abs() < 1e-3,
            "{what} dx[{i}]: {fd} against {got}"
        );
    }
    for i in 0..w.len() {
        let (mut wp, mut wm) = (w.clone(), w.clone());
        wp[i] += h;
        wm[i] -= h;
        let fd = (loss(&x, &wp) - loss(&x, &wm)) / (2.0 * h as f64);
        let got = dw[i];
        assert!(
            (fd - got as f64).abs() < 1e-3,
            "{what} dw[{i}]: {fd} against {got}"
        );
    }
    let sum_r = |o: usize| (0..ho * wo).map(|p| r[o * ho * wo + p]).sum::<f32>();
    for (o, &d) in db.iter().enumerate() {
        let want: f32 = (0..s.batch).map(|b| sum_r(b * s.c_out + o)).sum();
        assert!(
            (want - d).abs() < 1e-4,
            "{what} db[{o}]: {want} against {d}"
        );
    }
}

/// d loss / d input by central differences in f64 on the kernel functions themselves: the
/// convolution (im2col, stride 2), Winograd's F(2×2, 3×3) on odd sides (called directly: the
/// dispatcher sends it only 128 channels and more), the GroupNorm.
#[test]
fn kernels_match_finite_differences() {
    use dlp_kernels::{conv, norm, norm::NormShape, winograd};
    let mut seed = 1u32;
    let mut rnd = move || {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
    };
    let s = ConvShape {
        batch: 2,
        c_in: 2,
        h: 5,
        w: 4,
        c_out: 3,
        kernel: [3, 3],
        stride: [2, 1],
        padding: [1, 1],
    };
    let fns: ConvFns = (conv::forward, conv::backward_input, conv::backward_weight);
    conv_matches_finite_differences("conv", s, fns, &mut rnd);
    let s = ConvShape {
        stride: [1, 1],
        w: 3,
        batch: 3,
        ..s
    };
    let fns: ConvFns = (
        |x, w, b, s| winograd::forward(x, w, b, None, s),
        winograd::backward_input,
        winograd::backward_weight,
    );
    conv_matches_finite_differences("winograd", s, fns, &mut rnd);

    let h = 1e-2f32;
    let ns = NormShape {
        batch: 2,
        channels: 4,
        spatial: 3,
        groups: 2,
        epsilon: 1e-5,
        silu: true,
        keep: 0.7,
        seed: 12345,
    };
    let nx: Vec<f32> = (0..24).map(|_| 2.0 * rnd()).collect();
    let gamma: Vec<f32> = (0..4).map(|_| 1.0 + rnd()).collect();
    let beta: Vec<f32> = (0..4).map(|_| rnd()).collect();
    let add: Vec<f32> = (0..8).map(|_| rnd()).collect();
    let nr: Vec<f32> = (0..24).map(|_| rnd()).collect();
    let nloss = |x: &[f32], add: &[f32]| {
        let (out, _) = norm::forward(x, &gamma, &beta, Some(add), ns);
        out.iter()
            .zip(&nr)
            .map(|(a, b)| (a * b) as f64)
            .sum::<f64>()
    };
    let (_, stats) = norm::forward(&nx, &gamma, &beta, Some(&add), ns);
    let g = norm::backward(&nx, &gamma, &beta, Some(&add), &stats, &nr, ns);
    for i in 0..nx.len() {
        let (mut p, mut m) = (nx.clone(), nx.clone());
        p[i] += h;
        m[i] -= h;
        let fd = (nloss(&p, &add) - nloss(&m, &add)) / (2.0 * h as f64);
        assert!(
            (fd - g.x[i] as f64).abs() < 2e-3,
            "norm dx[{i}]: {fd} against {}",
            g.x[i]
        );
    }
    let da = g.add.unwrap();
    for i in 0..add.len() {
        let (mut p, mut m) = (add.clone(), add.clone());
        p[i] += h;
        m[i] -= h;
        let fd = (nloss(&nx, &p) - nloss(&nx, &m)) / (2.0 * h as f64);
        assert!(
            (fd - da[i] as f64).abs() < 2e-3,
            "norm dadd[{i}]: {fd} against {}",
            da[i]
        );
    }
}

/// exp, σ, SiLU and the last-axis softmax against burn's, forward and input gradient, on odd
/// shapes, one spanning several tasks, softmax rows of one value, on 1 and 2 threads.
#[test]
fn activations_match_burn_forward_and_gradients() {
    type Pair = (fn(Tensor<3>) -> Tensor<3>, fn(Tensor<3>) -> Tensor<3>);
    let ops: [(&str, Pair); 4] = [
        ("exp", (dlp_kernels::exp, |x| x.exp())),
        (
            "sigmoid",
            (dlp_kernels::sigmoid, burn::tensor::activation::sigmoid),
        ),
        ("silu", (dlp_kernels::silu, burn::tensor::activation::silu)),
        (
            "softmax",
            (
                |x| dlp_kernels::softmax(x, 2),
                |x| burn::tensor::activation::softmax(x, 2),
            ),
        ),
    ];
    for threads in [1, 2] {
        on_threads(threads, || {
            for shape in [[3, 5, 7], [2, 3, 20_001], [4, 3, 1]] {
                for (name, (ours_f, theirs_f)) in ops {
                    let d = Device::flex().autodiff();
                    d.seed(7);
                    let x = Tensor::<3>::random(shape, Distribution::Normal(0.0, 3.0), &d)
                        .require_grad();
                    let (ours, theirs) = (ours_f(x.clone()), theirs_f(x.clone()));
                    let what = format!("{name} on {shape:?}, {threads} threads");
                    let (g_ours, g_theirs) = same_then_backward(&what, ours, theirs, 1e-5);
                    close(
                        &format!("{what} dx"),
                        flat(x.grad(&g_ours).unwrap()),
                        flat(x.grad(&g_theirs).unwrap()),
                        1e-4,
                    );
                }
            }
        });
    }
}

/// `conv2d_add` against burn's convolution plus the residual, forward and the gradients of the
/// input, weight, bias and residual, on every shape of [`CONVS`] (all three ways of computing a
/// convolution) on 1 and 2 threads.
#[test]
fn conv2d_add_matches_burn_forward_and_gradients() {
    for threads in [1, 2] {
        on_threads(threads, || {
            for (i, c) in CONVS.into_iter().enumerate() {
                let d = Device::flex().autodiff();
                d.seed(100 + i as u64);
                let conv = conv_layer(c, true, &d);
                let (b, ci, h, w, ..) = c;
                let x = Tensor::<4>::random([b, ci, h, w], Distribution::Normal(0.0, 1.0), &d)
                    .require_grad();
                let shape = conv.forward(x.clone()).dims();
                let res =
                    Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &d).require_grad();
                let ours = dlp_kernels::conv2d_add(&conv, x.clone(), res.clone());
                let theirs = conv.forward(x.clone()) + res.clone();
                let what = format!("{c:?} + residual on {threads} threads");
                let (g_ours, g_theirs) = same_then_backward(&what, ours, theirs, 1e-4);
                let grad = |g: &burn::tensor::Gradients| {
                    let bias = conv.bias.as_ref().unwrap().grad(g).unwrap();
                    [
                        flat(x.grad(g).unwrap()),
                        flat(conv.weight.grad(g).unwrap()),
                        bias,
                        flat(res.grad(g).unwrap()),
                    ]
                };
                let names = ["dx", "dw", "db", "d residual"];
                for ((o, t), name) in grad(&g_ours).into_iter().zip(grad(&g_theirs)).zip(names) {
                    close(&format!("{what} {name}"), o, t, 1e-4);
                }
            }
        });
    }
}
