//! The forward process of DDPM and its closed forms (Ho et al. 2020), as one type.
//!
//! With α_t = 1 − β_t and ᾱ_t = ∏_{s≤t} α_s (always the cumulative product, in f64):
//!
//! - Eq. 2, [`GaussianDiffusion::q_step`]: one step of the kernel, x_t = √α_t x_{t−1} + √β_t ε.
//! - Eq. 4, [`GaussianDiffusion::q_sample`]: x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε.
//! - Eqs. 6-7, [`GaussianDiffusion::q_posterior`]: q(x_{t−1} | x_t, x_0) = N(μ̃, β̃_t I) with
//!   μ̃ = c1_t x_0 + c2_t x_t, c1_t = β_t √ᾱ_{t−1} / (1 − ᾱ_t), c2_t = (1 − ᾱ_{t−1}) √α_t / (1 − ᾱ_t),
//!   β̃_t = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t).
//! - Eq. 11, [`GaussianDiffusion::p_mean_from_eps`]: μ_θ = (x_t − β_t / √(1 − ᾱ_t) ε_θ) / √α_t.
//! - Conversions between ε, x_0 and v = √ᾱ_t ε − √(1 − ᾱ_t) x_0 (Salimans & Ho 2022).
//!
//! Timesteps are 0-based here: index `t` is the paper's step t + 1, and ᾱ_{−1} = 1.
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use dlp_ddpm::{BetaSchedule, GaussianDiffusion};
//! let d = GaussianDiffusion::new(BetaSchedule::Linear, 1000);
//! let device = Device::flex();
//! let x0 = Tensor::<2>::ones([2, 3], &device);
//! let eps = Tensor::<2>::zeros([2, 3], &device);
//! let xt = d.q_sample(x0, &[0, 999], eps);
//! let v = xt.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
//! assert!((v[0] as f64 - d.sqrt_alphas_cumprod[0]).abs() < 1e-6);
//! ```

use crate::schedule::BetaSchedule;
use burn::tensor::{Tensor, TensorData};

/// The schedule arrays of a Gaussian diffusion, all of length T, in f64.
#[derive(Debug, Clone)]
pub struct GaussianDiffusion {
    pub schedule: Option<BetaSchedule>,
    pub betas: Vec<f64>,
    pub alphas_cumprod: Vec<f64>,
    pub alphas_cumprod_prev: Vec<f64>,
    pub sqrt_alphas_cumprod: Vec<f64>,
    pub sqrt_one_minus_alphas_cumprod: Vec<f64>,
    pub sqrt_recip_alphas_cumprod: Vec<f64>,
    pub sqrt_recipm1_alphas_cumprod: Vec<f64>,
    /// β̃_t (Eq. 7).
    pub posterior_variance: Vec<f64>,
    /// log β̃_t, with β̃_0 = 0 replaced by β̃_1 as the official code does.
    pub posterior_log_variance_clipped: Vec<f64>,
    pub posterior_mean_coef1: Vec<f64>,
    pub posterior_mean_coef2: Vec<f64>,
}

impl GaussianDiffusion {
    /// The process of a named schedule with `steps` steps.
    pub fn new(schedule: BetaSchedule, steps: usize) -> Self {
        let mut d = Self::from_betas(schedule.betas(steps));
        d.schedule = Some(schedule);
        d
    }

    /// The process of any β_1..β_T, each in (0, 1).
    pub fn from_betas(betas: Vec<f64>) -> Self {
        assert!(
            betas.iter().all(|&b| b > 0.0 && b < 1.0),
            "betas must lie in (0, 1)"
        );
        let mut alphas_cumprod = Vec::with_capacity(betas.len());
        let mut acc = 1.0;
        for b in &betas {
            acc *= 1.0 - b;
            alphas_cumprod.push(acc);
        }
        let mut prev = vec![1.0];
        prev.extend_from_slice(&alphas_cumprod[..betas.len() - 1]);
        let map = |f: &dyn Fn(usize) -> f64| (0..betas.len()).map(f).collect::<Vec<f64>>();
        let posterior_variance = map(&|t| betas[t] * (1.0 - prev[t]) / (1.0 - alphas_cumprod[t]));
        let pv1 = posterior_variance
            .get(1)
            .copied()
            .unwrap_or(posterior_variance[0]);
        Self {
            schedule: None,
            sqrt_alphas_cumprod: map(&|t| alphas_cumprod[t].sqrt()),
            sqrt_one_minus_alphas_cumprod: map(&|t| (1.0 - alphas_cumprod[t]).sqrt()),
            sqrt_recip_alphas_cumprod: map(&|t| (1.0 / alphas_cumprod[t]).sqrt()),
            sqrt_recipm1_alphas_cumprod: map(&|t| (1.0 / alphas_cumprod[t] - 1.0).sqrt()),
            posterior_log_variance_clipped: map(&|t| {
                if t == 0 {
                    pv1.ln()
                } else {
                    posterior_variance[t].ln()
                }
            }),
            posterior_mean_coef1: map(&|t| betas[t] * prev[t].sqrt() / (1.0 - alphas_cumprod[t])),
            posterior_mean_coef2: map(&|t| {
                (1.0 - prev[t]) * (1.0 - betas[t]).sqrt() / (1.0 - alphas_cumprod[t])
            }),
            posterior_variance,
            alphas_cumprod_prev: prev,
            alphas_cumprod,
            betas,
        }
    }

    /// T, the number of steps.
    pub fn num_timesteps(&self) -> usize {
        self.betas.len()
    }

    /// `coef(t_i)` for each example, as a tensor `[b, 1, .., 1]` that broadcasts over `like`.
    pub fn extract<const D: usize>(
        &self,
        t: &[usize],
        like: &Tensor<D>,
        coef: impl Fn(usize) -> f64,
    ) -> Tensor<D> {
        assert_eq!(like.dims()[0], t.len(), "one timestep per example");
        let values: Vec<f32> = t.iter().map(|&i| coef(i) as f32).collect();
        let mut shape = [1usize; D];
        shape[0] = t.len();
        Tensor::<D>::from_data(TensorData::new(values, shape), &like.device())
    }

    /// `c1 x + c2 y` with `(c1, c2) = coef(t_i)` per example: the form of every closed form
    /// below. The coefficients are computed in f64, then cast.
    fn combine<const D: usize>(
        &self,
        t: &[usize],
        x: Tensor<D>,
        y: Tensor<D>,
        coef: impl Fn(usize) -> (f64, f64),
    ) -> Tensor<D> {
        let c1 = self.extract(t, &x, |i| coef(i).0);
        let c2 = self.extract(t, &x, |i| coef(i).1);
        x * c1 + y * c2
    }

    /// Eq. 4: a draw of x_t ~ q(x_t | x_0) given the noise ε, one timestep per example.
    pub fn q_sample<const D: usize>(
        &self,
        x0: Tensor<D>,
        t: &[usize],
        noise: Tensor<D>,
    ) -> Tensor<D> {
        self.combine(t, x0, noise, |i| {
            (
                self.sqrt_alphas_cumprod[i],
                self.sqrt_one_minus_alphas_cumprod[i],
            )
        })
    }

    /// Eq. 2, one step of the forward kernel: x_t = √α_t x_{t−1} + √β_t ε.
    pub fn q_step<const D: usize>(
        &self,
        x_prev: Tensor<D>,
        t: &[usize],
        noise: Tensor<D>,
    ) -> Tensor<D> {
        self.combine(t, x_prev, noise, |i| {
            ((1.0 - self.betas[i]).sqrt(), self.betas[i].sqrt())
        })
    }

    /// Eqs. 6-7: the mean of q(x_{t−1} | x_t, x_0); its variance is `posterior_variance[t]`.
    pub fn q_posterior<const D: usize>(
        &self,
        x0: Tensor<D>,
        xt: Tensor<D>,
        t: &[usize],
    ) -> Tensor<D> {
        self.combine(t, x0, xt, |i| {
            (self.posterior_mean_coef1[i], self.posterior_mean_coef2[i])
        })
    }

    /// x_0 from x_t and ε: x_0 = √(1/ᾱ_t) x_t − √(1/ᾱ_t − 1) ε.
    pub fn predict_x0_from_eps<const D: usize>(
        &self,
        xt: Tensor<D>,
        t: &[usize],
        eps: Tensor<D>,
    ) -> Tensor<D> {
        self.combine(t, xt, eps, |i| {
            (
                self.sqrt_recip_alphas_cumprod[i],
                -self.sqrt_recipm1_alphas_cumprod[i],
            )
        })
    }

    /// ε from x_t and x_0: ε = (√(1/ᾱ_t) x_t − x_0) / √(1/ᾱ_t − 1).
    pub fn predict_eps_from_x0<const D: usize>(
        &self,
        xt: Tensor<D>,
        t: &[usize],
        x0: Tensor<D>,
    ) -> Tensor<D> {
        self.combine(t, xt, x0, |i| {
            let b = self.sqrt_recipm1_alphas_cumprod[i];
            (self.sqrt_recip_alphas_cumprod[i] / b, -1.0 / b)
        })
    }

    /// The v target: v = √ᾱ_t ε − √(1 − ᾱ_t) x_0.
    pub fn v_from_eps_x0<const D: usize>(
        &self,
        eps: Tensor<D>,
        x0: Tensor<D>,
        t: &[usize],
    ) -> Tensor<D> {
        self.combine(t, eps, x0, |i| {
            (
                self.sqrt_alphas_cumprod[i],
                -self.sqrt_one_minus_alphas_cumprod[i],
            )
        })
    }

    /// x_0 from x_t and v: x_0 = √ᾱ_t x_t − √(1 − ᾱ_t) v.
    pub fn predict_x0_from_v<const D: usize>(
        &self,
        xt: Tensor<D>,
        t: &[usize],
        v: Tensor<D>,
    ) -> Tensor<D> {
        self.combine(t, xt, v, |i| {
            (
                self.sqrt_alphas_cumprod[i],
                -self.sqrt_one_minus_alphas_cumprod[i],
            )
        })
    }

    /// ε from x_t and v: ε = √(1 − ᾱ_t) x_t + √ᾱ_t v.
    pub fn predict_eps_from_v<const D: usize>(
        &self,
        xt: Tensor<D>,
        t: &[usize],
        v: Tensor<D>,
    ) -> Tensor<D> {
        self.combine(t, xt, v, |i| {
            (
                self.sqrt_one_minus_alphas_cumprod[i],
                self.sqrt_alphas_cumprod[i],
            )
        })
    }

    /// Eq. 11: the reverse-process mean from an ε prediction,
    /// μ_θ(x_t, t) = (x_t − β_t / √(1 − ᾱ_t) ε_θ) / √α_t.
    pub fn p_mean_from_eps<const D: usize>(
        &self,
        xt: Tensor<D>,
        t: &[usize],
        eps: Tensor<D>,
    ) -> Tensor<D> {
        self.combine(t, xt, eps, |i| {
            let r = 1.0 / (1.0 - self.betas[i]).sqrt();
            (
                r,
                -r * self.betas[i] / self.sqrt_one_minus_alphas_cumprod[i],
            )
        })
    }

    /// The arrays `dlp ddpm schedule --json` prints.
    pub fn arrays(&self) -> ScheduleArrays<'_> {
        ScheduleArrays {
            schedule: self.schedule,
            steps: self.num_timesteps(),
            betas: &self.betas,
            alphas_cumprod: &self.alphas_cumprod,
            posterior_variance: &self.posterior_variance,
            posterior_mean_coef1: &self.posterior_mean_coef1,
            posterior_mean_coef2: &self.posterior_mean_coef2,
        }
    }
}

/// A schedule's arrays, indexed by t − 1 (see [`GaussianDiffusion::arrays`]).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScheduleArrays<'a> {
    pub schedule: Option<BetaSchedule>,
    pub steps: usize,
    pub betas: &'a [f64],
    pub alphas_cumprod: &'a [f64],
    pub posterior_variance: &'a [f64],
    pub posterior_mean_coef1: &'a [f64],
    pub posterior_mean_coef2: &'a [f64],
}
