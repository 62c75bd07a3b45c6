//! Weights are checked on load (issue 18): a NaN in the VGG16 file, the LPIPS AlexNet
//! file or a checkpoint is an error naming the file and the tensor, not a loss, a
//! distance or a picture of NaNs.

use std::path::{Path, PathBuf};

use dancenow_gan::checkpoint::{Checkpoint, CheckpointError};
use dancenow_gan::networks::{Vgg16, VggError};
use dancenow_metrics::lpips::{Backbone, Lpips, LpipsError};
use dancenow_nn::tch::{Device, Tensor};

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

fn vgg_weights() -> PathBuf {
    PathBuf::from(env!("DANCENOW_DEPS")).join("models/lpips/vgg16.safetensors")
}

#[test]
fn vgg16_weights_with_a_nan_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let damaged = dir.path().join("vgg16.safetensors");
    with_a_nan(&vgg_weights(), &damaged, "backbone.conv3.weight");
    let err = Vgg16::load(&damaged, Device::Cpu).err().unwrap();
    assert!(
        matches!(&err, VggError::NonFinite { tensor, .. } if tensor == "backbone.conv3.weight"),
        "{err}"
    );
    assert!(
        err.to_string().contains(&damaged.display().to_string()),
        "{err}"
    );
    Vgg16::load(&vgg_weights(), Device::Cpu).unwrap();
}

#[test]
fn a_checkpoint_with_an_infinite_value_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("global.safetensors");
    let tensors = |bad: f32| {
        vec![
            ("G.a".to_string(), Tensor::from_slice(&[1.0f32, 2.0])),
            ("G.b".to_string(), Tensor::from_slice(&[0.5f32, bad])),
            ("step".to_string(), Tensor::from(7i64)),
        ]
    };
    Checkpoint::write(&path, &tensors(3.0)).unwrap();
    assert_eq!(
        Checkpoint::read(&path, Device::Cpu)
            .unwrap()
            .step()
            .unwrap(),
        7
    );
    for bad in [f32::INFINITY, f32::NAN] {
        Checkpoint::write(&path, &tensors(bad)).unwrap();
        let err = Checkpoint::read(&path, Device::Cpu).err().unwrap();
        assert!(
            matches!(&err, CheckpointError::NonFinite { key, .. } if key == "G.b"),
            "{err}"
        );
        assert!(err.to_string().contains("global.safetensors"), "{err}");
    }
}

#[test]
fn alexnet_weights_with_a_nan_are_refused() {
    let original = PathBuf::from(env!("DANCENOW_DEPS")).join("models/lpips/alexnet.safetensors");
    let dir = tempfile::tempdir().unwrap();
    let damaged = dir.path().join("alexnet.safetensors");
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
    Lpips::load(&original, Backbone::Alex, Device::Cpu).unwrap();
}
