//! The 2D workload: points from a [`Toy2d`] set, the [`MlpDenoiser`], scatter plots.

use crate::data2d::Toy2d;
use crate::diffusion::GaussianDiffusion;
use crate::model::MlpDenoiser;
use crate::sample::{Sampler, sample};
use crate::train::{ModelConfig, TrainConfig, Workload};
use burn::tensor::{Device, Tensor, TensorData};
use dlp_core::error::Result;
use dlp_core::plot::{Series, scatter_plot};
use dlp_core::rng::Rng;
use dlp_core::run::RunDir;
use std::path::Path;

/// A 2D training workload.
pub struct Toy {
    pub set: Toy2d,
    pub hidden: usize,
    pub layers: usize,
    pub seed: u64,
    pub prediction: crate::objective::Prediction,
}

impl Toy {
    /// The workload of a config whose dataset is a 2D set (else `None`).
    pub fn from_config(cfg: &TrainConfig) -> Option<Self> {
        let set = cfg.dataset.parse::<Toy2d>().ok()?;
        let (hidden, layers) = match cfg.model {
            ModelConfig::Mlp { hidden, layers } => (hidden, layers),
            ModelConfig::Unet(_) => (128, 3),
        };
        Some(Self {
            set,
            hidden,
            layers,
            seed: cfg.seed,
            prediction: cfg.prediction,
        })
    }
}

/// Points as an `[n, 2]` tensor.
pub fn points_tensor(p: &[[f32; 2]], device: &Device) -> Tensor<2> {
    let flat: Vec<f32> = p.iter().flatten().copied().collect();
    Tensor::from_data(TensorData::new(flat, [p.len(), 2]), device)
}

/// An `[n, 2]` tensor as points.
pub fn to_points(x: Tensor<2>) -> Vec<[f32; 2]> {
    let v = dlp_core::tensor::to_vec(x);
    v.chunks_exact(2).map(|c| [c[0], c[1]]).collect()
}

/// Scatter plot of samples over data.
pub fn plot_samples(
    path: &Path,
    title: &str,
    samples: &[[f32; 2]],
    data: &[[f32; 2]],
) -> Result<()> {
    let series = |name: &str, p: &[[f32; 2]]| Series {
        name: name.into(),
        points: p.iter().map(|q| (q[0] as f64, q[1] as f64)).collect(),
    };
    scatter_plot(
        path,
        title,
        &[series("data", data), series("samples", samples)],
        4.5,
    )
}

impl Workload<2> for Toy {
    type Net = MlpDenoiser;

    fn net(&self, device: &Device) -> MlpDenoiser {
        MlpDenoiser::new(self.hidden, self.layers, device)
    }

    fn batch(&self, n: usize, rng: &mut Rng, device: &Device) -> (Tensor<2>, Vec<Option<usize>>) {
        (
            points_tensor(&self.set.sample(n, rng), device),
            vec![None; n],
        )
    }

    /// 2000 EMA samples by DDIM (100 steps, η = 1) over data; `dlp ddpm eval` samples with
    /// the full ancestral chain.
    fn snapshot(
        &self,
        ema: &MlpDenoiser,
        d: &GaussianDiffusion,
        run: &RunDir,
        device: &Device,
    ) -> Result<String> {
        let base = Rng::new(self.seed);
        let sampler = Sampler::Ddim {
            steps: 100,
            eta: 1.0,
        };
        let x = sample(
            ema,
            d,
            self.prediction,
            sampler,
            None,
            [2000, 2],
            &mut base.fork(7),
            device,
        );
        let data = self.set.sample(2000, &mut base.fork(8));
        let path = run.path("samples.png");
        let title = format!("DDPM {}: EMA samples", self.set.name());
        plot_samples(&path, &title, &to_points(x), &data)?;
        Ok(path.display().to_string())
    }
}
