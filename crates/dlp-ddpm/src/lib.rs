//! dlp-ddpm: Denoising Diffusion Probabilistic Models (Ho, Jain, Abbeel, NeurIPS 2020).
//!
//! Not implemented yet: this crate holds the place of the DDPM system in the workspace so that
//! its dependency rules (on `dlp-core` only) hold from the start. See the project issues for
//! its scope: schedules, forward process, posterior, U-Net, training, samplers, evaluation.
