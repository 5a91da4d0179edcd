//! `--device` and `--threads`, handled in one place.
//!
//! The CPU backend is burn's `flex` (SIMD kernels, rayon for intra-op parallelism). Its thread
//! count is rayon's global pool, set once per process by [`init_threads`]. No GPU backend is
//! built in yet (burn's `cuda` feature needs a network download at build time; its `wgpu`
//! backend is the planned route); asking for one is a usage error that says so.
//!
//! ```
//! use dlp_core::device::DeviceSpec;
//! let spec: DeviceSpec = "cpu".parse().unwrap();
//! let device = spec.device().unwrap();
//! assert!(!device.is_autodiff());
//! ```

use crate::error::{Error, Result};
use burn::tensor::Device;
use std::str::FromStr;

/// A device as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSpec {
    /// burn's flex CPU backend (the default).
    Cpu,
    /// A GPU through burn's wgpu backend (not built in yet).
    Wgpu,
}

impl FromStr for DeviceSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" | "flex" => Ok(DeviceSpec::Cpu),
            "wgpu" | "gpu" => Ok(DeviceSpec::Wgpu),
            other => Err(Error::Usage(format!(
                "--device: unknown device `{other}` (expected cpu or wgpu)"
            ))),
        }
    }
}

impl DeviceSpec {
    /// The burn device, without autodiff. Call `.autodiff()` on it for training.
    pub fn device(self) -> Result<Device> {
        match self {
            DeviceSpec::Cpu => Ok(Device::flex()),
            DeviceSpec::Wgpu => Err(Error::Usage(
                "--device wgpu: this dlp has no GPU backend built in yet; use --device cpu".into(),
            )),
        }
    }
}

/// Sets the number of CPU threads for tensor kernels and data work (rayon's global pool).
/// `None` or `Some(0)` keeps rayon's default (one per core). Returns the count in use.
/// It can be set once per process; a second call with another count is an error.
pub fn init_threads(threads: Option<usize>) -> Result<usize> {
    if let Some(n) = threads.filter(|&n| n > 0) {
        let built = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
        if built.is_err() && rayon::current_num_threads() != n {
            return Err(Error::Usage(format!(
                "--threads {n}: the thread pool already runs {} threads",
                rayon::current_num_threads()
            )));
        }
    }
    Ok(rayon::current_num_threads())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_rejects_unknown() {
        assert_eq!("CPU".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cpu);
        assert_eq!("wgpu".parse::<DeviceSpec>().unwrap(), DeviceSpec::Wgpu);
        let err = "tpu".parse::<DeviceSpec>().unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("tpu"));
    }
}
