//! The tensor engine behind every model: which device runs the work, and libtorch's set-up.
//!
//! Nothing else in dancenow picks a device. Commands parse `--device` into a
//! [`DeviceChoice`], resolve it here once, and pass the [`tch::Device`] down.

mod device;
mod memory;
pub mod tflite;

pub use device::{Device, DeviceChoice, DeviceError};
pub use memory::keep_freed_memory;
pub use tch;

/// Sets how many CPU threads one operation uses, in libtorch and in the TFLite models'
/// own kernels (0 keeps the default, one per core). Call it at start-up: the kernels'
/// threads start on first use.
pub fn set_cpu_threads(threads: usize) {
    if threads > 0 {
        tch::set_num_threads(threads as i32);
        tflite::set_kernel_threads(threads);
    }
}

/// The version of libtorch this build links against, e.g. "2.13.0", as its
/// `build-version` file says.
pub fn libtorch_version() -> &'static str {
    option_env!("DANCENOW_LIBTORCH_VERSION").unwrap_or("unknown")
}

/// One float per channel as a `[1, C, 1, 1]` tensor on `device`, to broadcast over a
/// `[N, C, H, W]` batch (a network's input mean, scale, shift).
pub fn per_channel(values: &[f64], device: tch::Device) -> tch::Tensor {
    tch::Tensor::from_slice(values)
        .to_kind(tch::Kind::Float)
        .view([1, values.len() as i64, 1, 1])
        .to_device(device)
}

/// The name of the first tensor (in name order) that holds a NaN or an infinity. A weight
/// file damaged so would load and then give confident nonsense (keypoints hundreds of
/// pixels off at high confidence), so loaders refuse it, naming the file and the tensor.
pub fn first_non_finite<'a>(
    tensors: impl IntoIterator<Item = (&'a str, &'a tch::Tensor)>,
) -> Option<String> {
    let mut tensors: Vec<(&str, &tch::Tensor)> = tensors
        .into_iter()
        .filter(|(_, t)| t.is_floating_point())
        .collect();
    tensors.sort_by_key(|(name, _)| *name);
    tensors
        .into_iter()
        .find(|(_, t)| t.isfinite().all().int64_value(&[]) == 0)
        .map(|(name, _)| name.to_string())
}
