//! LPIPS weights are checked on load (issue 18): a NaN in the AlexNet file is an error
//! naming the file and the tensor, not a distance of NaN.

use std::path::{Path, PathBuf};

use dancenow_metrics::lpips::{Backbone, Lpips, LpipsError};
use dancenow_nn::tch::Device;

/// A copy of the safetensors file `from` at `to` whose tensor `name` (float32) starts
/// with a NaN; the header and every other byte stay as they were.
fn with_a_nan(from: &Path, to: &Path, name: &str) {
    let mut bytes = std::fs::read(from).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
    assert_eq!(header[name]["dtype"], "F32", "{name}");
    let start = 8 + header_len + header[name]["data_offsets"][0].as_u64().unwrap() as usize;
    bytes[start..start + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(to, bytes).unwrap();
}

#[test]
fn alexnet_weights_with_a_nan_are_refused() {
    let original = PathBuf::from(env!("DANCENOW_DEPS")).join("models/lpips/alexnet.safetensors");
    // No tempfile here: a folder of this test's own, removed at the end.
    let dir = std::env::temp_dir().join(format!("dancenow-lpips-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let damaged = dir.join("alexnet.safetensors");
    for name in ["backbone.conv2.bias", "lin4.weight"] {
        with_a_nan(&original, &damaged, name);
        let err = Lpips::load(&damaged, Backbone::Alex, Device::Cpu)
            .err()
            .unwrap();
        assert!(
            matches!(&err, LpipsError::NonFinite { tensor, .. } if tensor == name),
            "{err}"
        );
        assert!(
            err.to_string().contains(&damaged.display().to_string()),
            "{err}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
    Lpips::load(&original, Backbone::Alex, Device::Cpu).unwrap();
}
