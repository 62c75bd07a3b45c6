//! `--device cpu|cuda|cuda:N|auto`, resolved against what this machine has.

use std::fmt;
use std::str::FromStr;

pub use tch::Device;

/// What the user asked for; [`DeviceChoice::resolve`] turns it into a real device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// CUDA device 0 when one is usable, else the CPU.
    #[default]
    Auto,
    Cpu,
    Cuda(usize),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeviceError {
    #[error("unknown device {0:?}: expected cpu, cuda, cuda:N or auto")]
    Unknown(String),
    #[error("CUDA device {asked} was asked for, but {available}")]
    CudaUnavailable { asked: usize, available: String },
}

impl FromStr for DeviceChoice {
    type Err = DeviceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || DeviceError::Unknown(s.to_string());
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda(0)),
            other => {
                let index = other.strip_prefix("cuda:").ok_or_else(unknown)?;
                index.parse().map(Self::Cuda).map_err(|_| unknown())
            }
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl DeviceChoice {
    /// The device to run on, or an error when the asked-for GPU is not there.
    pub fn resolve(self) -> Result<Device, DeviceError> {
        self.resolve_with(tch::Cuda::device_count().max(0) as usize)
    }

    fn resolve_with(self, cuda_devices: usize) -> Result<Device, DeviceError> {
        match self {
            Self::Cpu => Ok(Device::Cpu),
            Self::Auto if cuda_devices > 0 => Ok(Device::Cuda(0)),
            Self::Auto => Ok(Device::Cpu),
            Self::Cuda(i) if i < cuda_devices => Ok(Device::Cuda(i)),
            Self::Cuda(asked) => Err(DeviceError::CudaUnavailable {
                asked,
                available: match cuda_devices {
                    0 => "this build of libtorch sees no CUDA device \
                          (install the CUDA libtorch with `cargo xtask setup --cuda`)"
                        .to_string(),
                    n => format!("only {n} CUDA device(s) are visible"),
                },
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling() {
        assert_eq!("cpu".parse(), Ok(DeviceChoice::Cpu));
        assert_eq!("CUDA".parse(), Ok(DeviceChoice::Cuda(0)));
        assert_eq!("cuda:3".parse(), Ok(DeviceChoice::Cuda(3)));
        assert_eq!("auto".parse(), Ok(DeviceChoice::Auto));
        assert!(matches!(
            "cuda:x".parse::<DeviceChoice>(),
            Err(DeviceError::Unknown(_))
        ));
        assert!(matches!(
            "tpu".parse::<DeviceChoice>(),
            Err(DeviceError::Unknown(_))
        ));
    }

    #[test]
    fn auto_prefers_cuda_and_falls_back_to_cpu() {
        assert_eq!(DeviceChoice::Auto.resolve_with(0), Ok(Device::Cpu));
        assert_eq!(DeviceChoice::Auto.resolve_with(2), Ok(Device::Cuda(0)));
        assert_eq!(DeviceChoice::Cuda(1).resolve_with(2), Ok(Device::Cuda(1)));
        assert!(DeviceChoice::Cuda(2).resolve_with(2).is_err());
        assert!(DeviceChoice::Cuda(0).resolve_with(0).is_err());
    }
}
