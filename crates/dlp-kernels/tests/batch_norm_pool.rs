//! The batch-norm and pooling kernels against burn's own `BatchNorm`, `MaxPool2d` and `AvgPool2d`
//! (forward, every gradient, the running statistics), on awkward shapes, on 1 and 2 threads; and
//! against finite differences on small shapes.

use burn::module::Param;
use burn::nn::pool::{AvgPool2dConfig, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Distribution, Tensor};

mod common;
use common::{close, flat, on_threads, same_then_backward};

/// Two batch norms with the same random γ, β and fresh running statistics.
fn twin_norms(channels: usize, d: &Device) -> (BatchNorm, BatchNorm) {
    let gamma = Tensor::<1>::random([channels], Distribution::Uniform(0.5, 1.5), d);
    let beta = Tensor::<1>::random([channels], Distribution::Normal(0.0, 0.5), d);
    let make = || {
        let mut n = BatchNormConfig::new(channels).init(d);
        n.gamma = Param::from_tensor(gamma.clone());
        n.beta = Param::from_tensor(beta.clone());
        n
    };
    (make(), make())
}

#[test]
fn batch_norm_matches_burn_forward_gradients_and_running_stats() {
    // (batch, channels, spatial): batch 1, one value per plane, odd sizes, 17 channels.
    let cases = [(1, 3, 5), (4, 17, 1), (3, 5, 49), (2, 8, 33), (7, 2, 16)];
    for threads in [1, 2] {
        on_threads(threads, || {
            for (i, (b, c, s)) in cases.into_iter().enumerate() {
                for with_relu in [false, true] {
                    let d = Device::flex().autodiff();
                    d.seed(i as u64);
                    let (ours_n, theirs_n) = twin_norms(c, &d);
                    let x = Tensor::<3>::random([b, c, s], Distribution::Normal(0.5, 2.0), &d)
                        .require_grad();
                    let ours = dlp_kernels::batch_norm(&ours_n, x.clone(), with_relu);
                    let theirs = theirs_n.forward(x.clone());
                    let theirs = if with_relu { relu(theirs) } else { theirs };
                    let what = format!("{:?} relu {with_relu} on {threads} threads", (b, c, s));
                    let (g_ours, g_theirs) = same_then_backward(&what, ours, theirs, 1e-4);
                    let grad =
                        |g, n: &BatchNorm| (n.gamma.grad(g).unwrap(), n.beta.grad(g).unwrap());
                    let (dg_o, db_o) = grad(&g_ours, &ours_n);
                    let (dg_t, db_t) = grad(&g_theirs, &theirs_n);
                    let (dx_o, dx_t) = (x.grad(&g_ours).unwrap(), x.grad(&g_theirs).unwrap());
                    close(&format!("{what} dx"), flat(dx_o), flat(dx_t), 1e-4);
                    close(&format!("{what} dgamma"), dg_o, dg_t, 1e-4);
                    close(&format!("{what} dbeta"), db_o, db_t, 1e-4);
                    for (name, o, t) in [
                        ("mean", &ours_n.running_mean, &theirs_n.running_mean),
                        ("var", &ours_n.running_var, &theirs_n.running_var),
                    ] {
                        close(
                            &format!("{what} running {name}"),
                            o.value(),
                            t.value(),
                            1e-5,
                        );
                    }
                }
            }
        });
    }
}

#[test]
fn pooling_matches_burn_forward_and_gradient() {
    // (batch, channels, h, w, kernel, stride, padding, max)
    let cases = [
        (2, 3, 28, 28, 3, 2, 1, true),
        (1, 2, 7, 7, 3, 2, 1, false),
        (3, 5, 9, 8, 3, 2, 1, false),
        (2, 3, 5, 6, 2, 2, 0, true),
        (1, 1, 4, 5, 3, 1, 1, true),
        (1, 1, 4, 5, 3, 1, 1, false),
        (2, 3, 14, 13, 3, 2, 1, true),
        (1, 4, 1, 5, 3, 2, 1, false),
    ];
    for threads in [1, 2] {
        on_threads(threads, || {
            for (i, (b, c, h, w, k, s, p, max)) in cases.into_iter().enumerate() {
                let d = Device::flex().autodiff();
                d.seed(i as u64);
                let x = Tensor::<4>::random([b, c, h, w], Distribution::Normal(0.0, 1.0), &d)
                    .require_grad();
                let ours = dlp_kernels::pool2d(x.clone(), [k, k], [s, s], [p, p], max);
                let pad = PaddingConfig2d::Explicit(p, p, p, p);
                let theirs = if max {
                    let pool = MaxPool2dConfig::new([k, k]).with_strides([s, s]);
                    pool.with_padding(pad).init().forward(x.clone())
                } else {
                    let pool = AvgPool2dConfig::new([k, k]).with_strides([s, s]);
                    let pool = pool.with_padding(pad).with_count_include_pad(false);
                    pool.init().forward(x.clone())
                };
                let what = format!("{:?} on {threads} threads", cases[i]);
                assert_eq!(ours.dims(), theirs.dims(), "{what}");
                let (g_ours, g_theirs) = same_then_backward(&what, ours, theirs, 1e-5);
                let (dx_o, dx_t) = (x.grad(&g_ours).unwrap(), x.grad(&g_theirs).unwrap());
                close(&format!("{what} dx"), flat(dx_o), flat(dx_t), 1e-5);
            }
        });
    }
}

/// d loss / d input by central differences in f64 on the kernel functions themselves.
#[test]
fn batch_norm_and_pooling_match_finite_differences() {
    use dlp_kernels::batch_norm::{self, BnShape};
    use dlp_kernels::pool::{self, PoolShape};
    let mut seed = 7u32;
    let mut rnd = || {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
    };
    let h = 1e-2f32;
    let s = BnShape {
        batch: 3,
        channels: 2,
        spatial: 5,
        epsilon: 1e-5,
        relu: true,
    };
    let n = 30;
    let x: Vec<f32> = (0..n).map(|_| 2.0 * rnd()).collect();
    let gamma = [1.3f32, 0.7];
    let beta = [0.2f32, -0.1];
    let r: Vec<f32> = (0..n).map(|_| rnd()).collect();
    let loss = |x: &[f32], gamma: &[f32]| {
        let mut out = vec![0f32; n];
        batch_norm::forward(x, gamma, &beta, s, &mut out);
        out.iter().zip(&r).map(|(a, b)| (a * b) as f64).sum::<f64>()
    };
    let mut out = vec![0f32; n];
    let stats = batch_norm::forward(&x, &gamma, &beta, s, &mut out);
    let g = batch_norm::backward(&x, &gamma, &beta, &stats, &r, s);
    for i in 0..n {
        let (mut p, mut m) = (x.clone(), x.clone());
        p[i] += h;
        m[i] -= h;
        let fd = (loss(&p, &gamma) - loss(&m, &gamma)) / (2.0 * h as f64);
        // A ReLU kink within h of an element makes its difference meaningless: skip those.
        let kink = [&p, &m].iter().any(|v| {
            let mut o = vec![0f32; n];
            batch_norm::forward(v, &gamma, &beta, s, &mut o);
            o.iter().zip(&out).any(|(a, b)| (*a > 0.0) != (*b > 0.0))
        });
        if !kink {
            let msg = format!("bn dx[{i}]: {fd} against {}", g.x[i]);
            assert!((fd - g.x[i] as f64).abs() < 2e-3, "{msg}");
        }
    }
    for c in 0..2 {
        let (mut p, mut m) = (gamma, gamma);
        p[c] += h;
        m[c] -= h;
        let fd = (loss(&x, &p) - loss(&x, &m)) / (2.0 * h as f64);
        let msg = format!("bn dgamma[{c}]: {fd} against {}", g.gamma[c]);
        assert!((fd - g.gamma[c] as f64).abs() < 2e-3, "{msg}");
    }

    for max in [true, false] {
        let s = PoolShape {
            planes: 2,
            h: 5,
            w: 4,
            kernel: [3, 3],
            stride: [2, 2],
            padding: [1, 1],
            max,
        };
        let [ho, wo] = s.out_hw();
        let x: Vec<f32> = (0..40).map(|_| rnd()).collect();
        let r: Vec<f32> = (0..2 * ho * wo).map(|_| rnd()).collect();
        let loss = |x: &[f32]| {
            let mut out = vec![0f32; r.len()];
            pool::forward(x, s, &mut out);
            out.iter().zip(&r).map(|(a, b)| (a * b) as f64).sum::<f64>()
        };
        let mut out = vec![0f32; r.len()];
        let arg = pool::forward(&x, s, &mut out);
        let dx = pool::backward(&r, &arg, s);
        let h = 1e-3f32; // below the gap between any two of the window's values
        for i in 0..x.len() {
            let (mut p, mut m) = (x.clone(), x.clone());
            p[i] += h;
            m[i] -= h;
            let fd = (loss(&p) - loss(&m)) / (2.0 * h as f64);
            let msg = format!("pool (max {max}) dx[{i}]: {fd} against {}", dx[i]);
            assert!((fd - dx[i] as f64).abs() < 1e-3, "{msg}");
        }
    }
}
