//! The forward process against independent computations.

use burn::tensor::{Device, Distribution, Tensor};
use dlp_ddpm::{BetaSchedule, GaussianDiffusion};

fn vals<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

fn close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol, "index {i}: {x} vs {y}");
    }
}

#[test]
fn linear_schedule_matches_the_paper_and_reference_values() {
    let d = GaussianDiffusion::new(BetaSchedule::Linear, 1000);
    assert_eq!((d.betas[0], d.betas[999]), (1e-4, 0.02));
    // ᾱ from an independent float64 computation (Python, numpy.linspace's rule, cumulative product).
    assert!((d.alphas_cumprod[999] - 4.0358297653756754e-05).abs() < 1e-15);
    assert!((d.alphas_cumprod[499] - 0.07858724288177821).abs() < 1e-13);
    // The 1000/T rule keeps ᾱ_T near zero for other T.
    for steps in [50, 100, 250, 4000] {
        let abar_t = *GaussianDiffusion::new(BetaSchedule::Linear, steps)
            .alphas_cumprod
            .last()
            .unwrap();
        assert!(abar_t < 1e-3, "T={steps}: ᾱ_T = {abar_t}");
    }
}

#[test]
fn cosine_schedule_has_no_zero_betas_and_follows_its_closed_form() {
    let d = GaussianDiffusion::new(BetaSchedule::Cosine, 1000);
    assert!(d.betas.iter().all(|&b| b > 0.0 && b <= 0.999));
    assert!((d.betas[0] - 4.128422482196914e-05).abs() < 1e-15);
    assert_eq!(d.betas[999], 0.999);
    assert!((d.alphas_cumprod[499] - 0.4938435904406382).abs() < 1e-12);
    let (s, t) = (0.008f64, 1000.0f64);
    let f = |i: f64| {
        (((i / t + s) / (1.0 + s)) * std::f64::consts::FRAC_PI_2)
            .cos()
            .powi(2)
    };
    for i in [0usize, 10, 300, 700, 950] {
        let closed = f(i as f64 + 1.0) / f(0.0);
        assert!((d.alphas_cumprod[i] - closed).abs() < 1e-12, "t={i}");
    }
}

#[test]
fn quadratic_and_sigmoid_schedules_are_monotone_and_end_near_zero() {
    for s in [BetaSchedule::Quadratic, BetaSchedule::Sigmoid] {
        let d = GaussianDiffusion::new(s, 1000);
        assert!(
            d.betas.windows(2).all(|w| w[1] >= w[0]),
            "{s:?} betas not increasing"
        );
        assert!(d.betas.iter().all(|&b| b > 0.0 && b < 1.0));
        assert!(*d.alphas_cumprod.last().unwrap() < 0.01, "{s:?}");
    }
    let q = BetaSchedule::Quadratic.betas(1000);
    assert!((q[0] - 1e-4).abs() < 1e-18 && (q[999] - 0.02).abs() < 1e-15);
}

#[test]
fn posterior_matches_bayes_rule_for_gaussians() {
    let d = GaussianDiffusion::new(BetaSchedule::Linear, 1000);
    for t in [1usize, 10, 500, 999] {
        // q(x_{t-1} | x_0) = N(√ᾱ_{t-1} x_0, 1 − ᾱ_{t-1}); q(x_t | x_{t-1}) = N(√α_t x_{t-1}, β_t).
        let (abar_prev, beta) = (d.alphas_cumprod[t - 1], d.betas[t]);
        let alpha = 1.0 - beta;
        let precision = 1.0 / (1.0 - abar_prev) + alpha / beta;
        let var = 1.0 / precision;
        let (x0, xt) = (0.7, -1.3);
        let mean = var * (abar_prev.sqrt() * x0 / (1.0 - abar_prev) + alpha.sqrt() * xt / beta);
        assert!(
            (d.posterior_variance[t] - var).abs() < 1e-12 * var.max(1.0),
            "t={t}"
        );
        let got = d.posterior_mean_coef1[t] * x0 + d.posterior_mean_coef2[t] * xt;
        assert!((got - mean).abs() < 1e-10, "t={t}: {got} vs {mean}");
    }
    // t = 0 (the paper's t = 1): x_0 is known exactly.
    assert_eq!(d.posterior_variance[0], 0.0);
    assert!(d.posterior_log_variance_clipped[0].is_finite());
}

#[test]
fn q_sample_uses_each_examples_timestep_and_has_the_right_moments() {
    let d = GaussianDiffusion::new(BetaSchedule::Cosine, 1000);
    let device = Device::flex();
    device.seed(7);
    let n = 20000;
    let x0 = Tensor::<2>::full([2, n], 0.5, &device);
    let noise = Tensor::<2>::random([2, n], Distribution::Normal(0.0, 1.0), &device);
    let t = [100usize, 800];
    let xt = vals(d.q_sample(x0, &t, noise));
    for (row, &ti) in t.iter().enumerate() {
        let r = &xt[row * n..(row + 1) * n];
        let mean = r.iter().sum::<f64>() / n as f64;
        let var = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        let want_mean = d.sqrt_alphas_cumprod[ti] * 0.5;
        let want_var = 1.0 - d.alphas_cumprod[ti];
        assert!(
            (mean - want_mean).abs() < 0.03,
            "t={ti}: mean {mean} vs {want_mean}"
        );
        assert!(
            (var - want_var).abs() < 0.05 * want_var.max(0.1),
            "t={ti}: var {var} vs {want_var}"
        );
    }
}

#[test]
fn eps_x0_v_conversions_round_trip_and_eq11_agrees_with_the_posterior() {
    let d = GaussianDiffusion::new(BetaSchedule::Linear, 1000);
    let device = Device::flex();
    device.seed(3);
    let x0 = Tensor::<4>::random([3, 2, 4, 4], Distribution::Uniform(-1.0, 1.0), &device);
    let eps = Tensor::<4>::random([3, 2, 4, 4], Distribution::Normal(0.0, 1.0), &device);
    let t = [5usize, 300, 990];
    let xt = d.q_sample(x0.clone(), &t, eps.clone());
    close(
        &vals(d.predict_x0_from_eps(xt.clone(), &t, eps.clone())),
        &vals(x0.clone()),
        2e-3,
    );
    close(
        &vals(d.predict_eps_from_x0(xt.clone(), &t, x0.clone())),
        &vals(eps.clone()),
        2e-3,
    );
    let v = d.v_from_eps_x0(eps.clone(), x0.clone(), &t);
    close(
        &vals(d.predict_x0_from_v(xt.clone(), &t, v.clone())),
        &vals(x0.clone()),
        1e-4,
    );
    close(
        &vals(d.predict_eps_from_v(xt.clone(), &t, v)),
        &vals(eps.clone()),
        1e-4,
    );
    // Eq. 11 is the posterior mean at the x_0 that ε implies.
    let x0_hat = d.predict_x0_from_eps(xt.clone(), &t, eps.clone());
    let via_posterior = vals(d.q_posterior(x0_hat, xt.clone(), &t));
    close(&vals(d.p_mean_from_eps(xt, &t, eps)), &via_posterior, 1e-3);
}

#[test]
fn t_one_step_kernels_match_the_closed_form() {
    // Apply q(x_t | x_{t-1}) t times and compare mean and variance with q(x_t | x_0).
    let d = GaussianDiffusion::new(BetaSchedule::Linear, 1000);
    let device = Device::flex();
    device.seed(11);
    let n = 40000;
    let steps = 300;
    let mut x = Tensor::<2>::full([1, n], 1.5, &device);
    for i in 0..steps {
        let noise = Tensor::<2>::random([1, n], Distribution::Normal(0.0, 1.0), &device);
        x = d.q_step(x, &[i], noise);
    }
    let v = vals(x);
    let mean = v.iter().sum::<f64>() / n as f64;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
    let (want_mean, want_var) = (
        1.5 * d.sqrt_alphas_cumprod[steps - 1],
        1.0 - d.alphas_cumprod[steps - 1],
    );
    // 4 standard errors: sd(mean) = sqrt(var/n), sd(var) ≈ var sqrt(2/n).
    assert!(
        (mean - want_mean).abs() < 4.0 * (want_var / n as f64).sqrt(),
        "mean {mean} vs {want_mean}"
    );
    assert!(
        (var - want_var).abs() < 4.0 * want_var * (2.0 / n as f64).sqrt(),
        "var {var} vs {want_var}"
    );
}

#[test]
fn every_array_agrees_with_an_independent_f64_computation() {
    for schedule in [
        BetaSchedule::Linear,
        BetaSchedule::Quadratic,
        BetaSchedule::Cosine,
        BetaSchedule::Sigmoid,
    ] {
        for steps in [10usize, 1000] {
            let d = GaussianDiffusion::new(schedule, steps);
            // Recompute from the betas: α, ᾱ by a running product, and the posterior terms.
            let mut abar_prev = 1.0f64;
            for (t, &beta) in d.betas.iter().enumerate() {
                let abar = abar_prev * (1.0 - beta);
                let check = |name: &str, got: f64, want: f64| {
                    assert!(
                        (got - want).abs() <= 1e-9 * want.abs().max(1.0),
                        "{schedule:?} T={steps} t={t} {name}: {got} vs {want}"
                    );
                };
                check("alphas_cumprod", d.alphas_cumprod[t], abar);
                check(
                    "posterior_variance",
                    d.posterior_variance[t],
                    beta * (1.0 - abar_prev) / (1.0 - abar),
                );
                check(
                    "coef1",
                    d.posterior_mean_coef1[t],
                    beta * abar_prev.sqrt() / (1.0 - abar),
                );
                check(
                    "coef2",
                    d.posterior_mean_coef2[t],
                    (1.0 - abar_prev) * (1.0 - beta).sqrt() / (1.0 - abar),
                );
                abar_prev = abar;
            }
        }
    }
}
