//! The tensor engine behind every model: which device runs the work, and libtorch's set-up.
//!
//! Nothing else in dancenow picks a device. Commands parse `--device` into a
//! [`DeviceChoice`], resolve it here once, and pass the [`tch::Device`] down.

mod device;
pub mod tflite;

pub use device::{Device, DeviceChoice, DeviceError};
pub use tch;

/// The version of libtorch this build links against, e.g. "2.13.0", as its
/// `build-version` file says.
pub fn libtorch_version() -> &'static str {
    option_env!("DANCENOW_LIBTORCH_VERSION").unwrap_or("unknown")
}
