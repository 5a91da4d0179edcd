//! The image workload: MNIST, Fashion-MNIST, CIFAR-10 or a folder of the user's images
//! ([`dlp_core::data::folder`]) through the `dlp-core` loaders, scaled to [−1, 1], the
//! [`UNet`], and sample grids.

use crate::diffusion::GaussianDiffusion;
use crate::model::Guided;
use crate::objective::Prediction;
use crate::sample::{Sampler, sample};
use crate::train::{ModelConfig, TrainConfig, Workload};
use crate::unet::{UNet, UNetConfig};
use burn::tensor::{Device, Tensor};
use dlp_core::data::folder;
use dlp_core::data::idx::{LabelledImages, Split};
use dlp_core::data::registry;
use dlp_core::error::{Error, Result};
use dlp_core::plot::image_grid;
use dlp_core::rng::Rng;
use dlp_core::run::RunDir;
use std::path::Path;

/// An image training workload.
pub struct Images {
    pub train: LabelledImages,
    /// Files of an image folder that could not be decoded (with `lenient`), with the reason.
    pub skipped: Vec<(String, String)>,
    /// Mirror training images left to right at random.
    pub flip: bool,
    /// An image folder read from its cache of decoded images.
    pub cached: bool,
    pub unet: UNetConfig,
    pub class_dropout: f64,
    pub prediction: Prediction,
    pub seed: u64,
}

/// Loads a split of a registry image dataset from the data directory.
pub fn load_split(dataset: &str, data_dir_: &Path, split: Split) -> Result<LabelledImages> {
    let spec = registry::find(dataset)
        .filter(|d| d.kind == registry::Kind::Images)
        .ok_or_else(|| {
            Error::Usage(format!(
                "`{dataset}` is not an image dataset of the registry"
            ))
        })?;
    LabelledImages::load_dataset(spec, data_dir_, split)
}

impl Images {
    /// The workload of an image config without its training images: all that sampling a
    /// trained run needs.
    pub fn without_data(cfg: &TrainConfig) -> Result<Self> {
        let ModelConfig::Unet(unet) = &cfg.model else {
            return Err(Error::Usage(format!(
                "dataset `{}` needs a U-Net (model kind \"unet\")",
                cfg.dataset
            )));
        };
        Ok(Self {
            train: LabelledImages {
                images: Vec::new(),
                labels: Vec::new(),
                channels: unet.in_channels,
                height: unet.resolution,
                width: unet.resolution,
            },
            skipped: Vec::new(),
            flip: cfg.flip,
            cached: false,
            unet: unet.clone(),
            class_dropout: cfg.class_dropout,
            prediction: cfg.prediction,
            seed: cfg.seed,
        })
    }

    /// The workload of an image config, reading the training split from `data_dir` (or the
    /// image folder the config's `dataset` names).
    pub fn from_config(cfg: &TrainConfig, data_dir_: &Path) -> Result<Self> {
        let mut w = Self::without_data(cfg)?;
        let unet = &w.unet;
        let (train, skipped) = if Path::new(&cfg.dataset).is_dir() {
            let f = folder::load(
                Path::new(&cfg.dataset),
                unet.resolution,
                unet.in_channels,
                cfg.lenient,
            )?;
            if unet.num_classes > 0 && unet.num_classes != f.classes.len() {
                return Err(Error::Usage(format!(
                    "{}: the U-Net has {} classes, the folder {} class folders",
                    cfg.dataset,
                    unet.num_classes,
                    f.classes.len()
                )));
            }
            w.cached = f.cached;
            (f.images, f.skipped)
        } else {
            (
                load_split(&cfg.dataset, data_dir_, Split::Train)?,
                Vec::new(),
            )
        };
        if train.channels != unet.in_channels || train.height != unet.resolution {
            return Err(Error::Usage(format!(
                "{} images are {}x{}x{}, the U-Net expects {} channels at {}x{}",
                cfg.dataset,
                train.channels,
                train.height,
                train.width,
                unet.in_channels,
                unet.resolution,
                unet.resolution
            )));
        }
        (w.train, w.skipped) = (train, skipped);
        Ok(w)
    }

    /// The shape of `n` images.
    pub fn shape(&self, n: usize) -> [usize; 4] {
        [
            n,
            self.unet.in_channels,
            self.unet.resolution,
            self.unet.resolution,
        ]
    }
}

/// Draws `n` images from `net`: labels cycle through the classes when it is conditional
/// (with guidance scale `guidance`); x_0 is clipped to [−1, 1].
#[allow(clippy::too_many_arguments)]
pub fn sample_images(
    net: &UNet,
    cfg: &UNetConfig,
    d: &GaussianDiffusion,
    prediction: Prediction,
    sampler: Sampler,
    n: usize,
    guidance: f64,
    rng: &mut Rng,
    device: &Device,
) -> (Tensor<4>, Vec<Option<usize>>) {
    let shape = [n, cfg.in_channels, cfg.resolution, cfg.resolution];
    if cfg.num_classes == 0 {
        return (
            sample(net, d, prediction, sampler, Some(1.0), shape, rng, device),
            vec![None; n],
        );
    }
    let labels: Vec<Option<usize>> = (0..n).map(|i| Some(i % cfg.num_classes)).collect();
    let guided = Guided {
        model: net,
        labels: labels.clone(),
        scale: guidance,
    };
    (
        sample(
            &guided,
            d,
            prediction,
            sampler,
            Some(1.0),
            shape,
            rng,
            device,
        ),
        labels,
    )
}

/// Writes images in [−1, 1] as a PNG grid.
pub fn write_grid(path: &Path, x: Tensor<4>, cols: usize) -> Result<()> {
    let shape = x.dims();
    let v: Vec<f32> = dlp_core::tensor::to_vec(x)
        .into_iter()
        .map(|p| (p + 1.0) / 2.0)
        .collect();
    image_grid(path, &v, shape, cols, 2)
}

impl Workload<4> for Images {
    type Net = UNet;

    fn net(&self, device: &Device) -> UNet {
        self.unet.init(device)
    }

    fn batch(&self, n: usize, rng: &mut Rng, device: &Device) -> (Tensor<4>, Vec<Option<usize>>) {
        let idx: Vec<usize> = (0..n).map(|_| rng.below(self.train.len())).collect();
        let mirror: Vec<bool> = match self.flip {
            true => (0..n).map(|_| rng.uniform() < 0.5).collect(),
            false => Vec::new(),
        };
        let x = self.train.images_tensor_mirrored(&idx, &mirror, device) * 2.0 - 1.0;
        let labels = idx
            .iter()
            .map(|&i| {
                let keep = self.unet.num_classes > 0 && rng.uniform() >= self.class_dropout;
                keep.then_some(self.train.labels[i] as usize)
            })
            .collect();
        (x, labels)
    }

    /// 64 EMA samples by DDIM (100 steps, η = 1) as an 8×8 grid.
    fn snapshot(
        &self,
        ema: &UNet,
        d: &GaussianDiffusion,
        run: &RunDir,
        device: &Device,
    ) -> Result<String> {
        let sampler = Sampler::Ddim {
            steps: 100,
            eta: 1.0,
        };
        let mut rng = Rng::new(self.seed).fork(7);
        let (x, _) = sample_images(
            ema,
            &self.unet,
            d,
            self.prediction,
            sampler,
            64,
            1.0,
            &mut rng,
            device,
        );
        let path = run.path("samples.png");
        write_grid(&path, x, 8)?;
        Ok(path.display().to_string())
    }
}
