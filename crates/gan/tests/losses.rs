//! pix2pixHD's losses on values whose answers are known, and the VGG loss with the real
//! VGG16 weights that setup installs.

use std::path::{Path, PathBuf};

use dancenow_gan::losses::{discriminator_loss, feature_matching, lsgan, vgg, LAMBDA_FEAT};
use dancenow_gan::networks::Vgg16;
use dancenow_nn::tch::{Device, Kind, Tensor};

fn full(shape: &[i64], value: f64) -> Tensor {
    Tensor::full(shape, value, (Kind::Float, Device::Cpu))
}

/// Two scales of a 3-layer PatchGAN: 4 feature maps and the scores each.
fn outputs(feature: f64, score: f64) -> Vec<Vec<Tensor>> {
    (0..2)
        .map(|_| {
            let mut v: Vec<Tensor> = (0..4).map(|_| full(&[1, 2, 3, 3], feature)).collect();
            v.push(full(&[1, 1, 3, 3], score));
            v
        })
        .collect()
}

#[test]
fn lsgan_is_zero_at_its_targets_and_squared_elsewhere() {
    assert_eq!(lsgan(&outputs(0.0, 1.0), 1.0).double_value(&[]), 0.0);
    // Scores 0.5 against target 1 on two scales: 2 x 0.25.
    assert_eq!(lsgan(&outputs(0.0, 0.5), 1.0).double_value(&[]), 0.5);
    // A perfect discriminator has no loss; one fooled both ways, on two scales, has
    // 0.5 x (2 x 1 + 2 x 1).
    assert_eq!(
        discriminator_loss(&outputs(0.0, 1.0), &outputs(0.0, 0.0)).double_value(&[]),
        0.0
    );
    assert_eq!(
        discriminator_loss(&outputs(0.0, 0.0), &outputs(0.0, 1.0)).double_value(&[]),
        2.0
    );
}

#[test]
fn feature_matching_weighs_layers_and_scales_as_pix2pixhd() {
    assert_eq!(
        feature_matching(&outputs(1.0, 0.0), &outputs(1.0, 5.0)).double_value(&[]),
        0.0
    );
    // Every matched feature differs by 1: 2 scales x 4 layers x (4 / 4) x (1 / 2) x 10.
    let loss = feature_matching(&outputs(1.0, 0.0), &outputs(0.0, 0.0)).double_value(&[]);
    assert!((loss - 4.0 * LAMBDA_FEAT).abs() < 1e-9, "{loss}");
}

fn photo() -> Tensor {
    // A real frame (from the detector's fixtures), in the generator's [-1, 1] range.
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../nn/tests/fixtures/tflite/frame256.png");
    let image = image::open(path).unwrap().to_rgb8();
    let t = Tensor::from_slice(image.as_raw())
        .view([1, 256, 256, 3])
        .permute([0, 3, 1, 2])
        .to_kind(Kind::Float);
    t / 127.5 - 1.0
}

#[test]
fn vgg_loss_prefers_a_slightly_blurred_photo_to_a_noisy_one() {
    let weights = PathBuf::from(env!("DANCENOW_DEPS")).join("models/lpips/vgg16.safetensors");
    let net = Vgg16::load(&weights, Device::Cpu).unwrap();
    let x = photo();
    let slices = net.slices(&x);
    let sizes: Vec<Vec<i64>> = slices.iter().map(|s| s.size()).collect();
    assert_eq!(
        sizes,
        [
            vec![1, 64, 256, 256],
            vec![1, 128, 128, 128],
            vec![1, 256, 64, 64],
            vec![1, 512, 32, 32],
            vec![1, 512, 16, 16]
        ]
    );
    assert_eq!(vgg(&net, &x, &x).double_value(&[]), 0.0);
    let blurred = x.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None);
    let noisy =
        (&x + Tensor::randn([1, 3, 256, 256], (Kind::Float, Device::Cpu)) * 0.3).clamp(-1.0, 1.0);
    let (to_blurred, to_noisy) = (
        vgg(&net, &blurred, &x).double_value(&[]),
        vgg(&net, &noisy, &x).double_value(&[]),
    );
    assert!(
        to_blurred > 0.0 && to_blurred < to_noisy,
        "blurred {to_blurred}, noisy {to_noisy}"
    );
}

#[test]
fn missing_vgg_weights_say_how_to_get_them() {
    let err = Vgg16::load(Path::new("/nonexistent/vgg16.safetensors"), Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("/nonexistent/vgg16.safetensors") && err.contains("cargo xtask setup"),
        "{err}"
    );
}
