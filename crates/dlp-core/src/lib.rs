//! dlp-core: what the three paper systems share.
//!
//! | module | what |
//! | --- | --- |
//! | [`device`] | `--device` and `--threads` |
//! | [`rng`] | seeded, checkpointable randomness; shuffling and batching |
//! | [`data`] | IDX and link-prediction readers, the dataset registry, verify and fetch |
//! | [`run`] | run directories: `config.toml`, `metrics.jsonl`, `summary.json` |
//! | [`checkpoint`] | safetensors weights + optimiser + step + RNG, written atomically |
//! | [`export`] | weights as a PyTorch `state_dict` (names, layouts) with a model card |
//! | [`progress`] | progress bars, or plain lines when stderr is not a terminal |
//! | [`plot`] | PNG line plots and image grids |
//! | [`demo`] | the foundation stage of `dlp demo`: an MLP on generated spirals |
//! | [`testing`] | a loopback HTTP server and the shared data location, for tests |
//! | [`audit`] | `dlp data audit`: duplication, leakage, bias, coverage, label errors |
//! | [`atomic`] | write-then-rename file writes |
//! | [`error`] | the one error type, whose message names the file, line or field |

pub mod atomic;
pub mod audit;
pub mod checkpoint;
pub mod data;
pub mod demo;
pub mod device;
pub mod error;
pub mod export;
pub mod plot;
pub mod progress;
pub mod rng;
pub mod run;
pub mod tensor;
pub mod testing;

pub use error::{Error, Result};
