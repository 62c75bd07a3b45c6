//! The U-Net generator of the `quick` presets: shapes, checkpoint keys, parameter count,
//! and how it is chosen in `config.toml`.

use dancenow_gan::config::generator_weights;
use dancenow_gan::generator::Generator;
use dancenow_gan::networks::{Norm, UNet, UNetConfig};
use dancenow_gan::{GeneratorKind, ModelConfig, Preset, Stage};
use dancenow_nn::tch::nn::{self, Module};
use dancenow_nn::tch::{Device, Kind, Tensor};

fn tiny(alpha: bool) -> UNetConfig {
    UNetConfig {
        input_nc: 6,
        output_nc: 3,
        ngf: 4,
        n_downsampling: 3,
        max_channels: 8,
        n_blocks: 1,
        norm: Norm::Instance,
        alpha,
    }
}

fn parameters(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}

/// Weights and biases of a k x k convolution (or transposed convolution).
fn conv(k: i64, c_in: i64, c_out: i64) -> i64 {
    k * k * c_in * c_out + c_out
}

#[test]
fn the_unet_names_every_layer_and_has_the_parameters_of_its_levels() {
    let vs = nn::VarStore::new(Device::Cpu);
    let config = tiny(false);
    let _g = UNet::new(&(vs.root() / "unet"), &config);
    let mut keys: Vec<String> = vs.variables().into_keys().collect();
    keys.sort();
    let layers = [
        "block0.conv1",
        "block0.conv2",
        "down0",
        "down1",
        "down2",
        "front",
        "fuse0",
        "fuse1",
        "fuse2",
        "out",
        "up0",
        "up1",
        "up2",
    ];
    let mut expected: Vec<String> = layers
        .iter()
        .flat_map(|l| [format!("unet.{l}.bias"), format!("unet.{l}.weight")])
        .collect();
    expected.sort();
    assert_eq!(keys, expected);

    // Channels 4, 8, 8, 8 (capped at 8) at levels 0..3.
    let c = [4, 8, 8, 8];
    let mut count = conv(3, 6, 4) + 2 * conv(3, 8, 8) + conv(3, 4, 3);
    for k in 0..3 {
        count += conv(3, c[k], c[k + 1]) + conv(3, c[k + 1], c[k]) + conv(3, 2 * c[k], c[k]);
    }
    assert_eq!(parameters(&vs), count);
}

#[test]
fn the_unet_maps_an_image_to_an_image_in_tanh_range_and_alpha_to_zero_one() {
    let vs = nn::VarStore::new(Device::Cpu);
    let g = UNet::new(&vs.root(), &tiny(true));
    let x = Tensor::rand([2, 6, 32, 24], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
    let out = g.forward_parts(&x);
    assert_eq!(out.rgb.size(), [2, 3, 32, 24]);
    assert!(out.rgb.abs().max().double_value(&[]) <= 1.0);
    let alpha = out.alpha.expect("an alpha channel");
    assert_eq!(alpha.size(), [2, 1, 32, 24]);
    assert!(alpha.min().double_value(&[]) >= 0.0 && alpha.max().double_value(&[]) <= 1.0);
    assert!(g.forward(&x).equal(&out.rgb));
}

#[test]
fn without_norms_a_change_in_one_corner_changes_only_that_corner_of_the_output() {
    // Instance norm's statistics spread any change over the whole image; without them,
    // every path from input to output, the skips included, is local.
    let vs = nn::VarStore::new(Device::Cpu);
    let config = UNetConfig {
        norm: Norm::None,
        n_blocks: 0,
        n_downsampling: 2,
        ..tiny(false)
    };
    let g = dancenow_gan::train::seeded(1, || UNet::new(&vs.root(), &config));
    let x = Tensor::zeros([1, 6, 64, 64], (Kind::Float, Device::Cpu));
    let y = x.copy();
    let _ = y.narrow(2, 0, 4).narrow(3, 0, 4).fill_(1.0);
    let change = (g.forward(&y) - g.forward(&x))
        .abs()
        .sum_dim_intlist(1, false, Kind::Float);
    let near = change.narrow(1, 0, 32).narrow(2, 0, 32).sum(Kind::Float);
    let far = change.narrow(1, 32, 32).narrow(2, 32, 32).sum(Kind::Float);
    assert!(near.double_value(&[]) > 0.0);
    assert_eq!(far.double_value(&[]), 0.0);
}

#[test]
fn the_quick_preset_builds_a_unet_for_every_body_stage_and_keeps_the_face_gan() {
    let config = Preset::Quick.config(256, 256);
    config.validate().unwrap();
    assert_eq!(config.generator.kind, GeneratorKind::UNet);
    assert!(config.temporal, "temporal smoothing is on by default");
    let g = Generator::new(&config, Stage::Global, Device::Cpu);
    let built: i64 =
        g.vs.trainable_variables()
            .iter()
            .map(|t| t.numel() as i64)
            .sum();
    assert_eq!(
        generator_weights(&config.stage_generator(Stage::Global)),
        built as u64,
        "the weight count that bounds memory"
    );
    assert!(g.vs.variables().keys().all(|k| k.starts_with("unet.")));
    // It composes over a plate, and without one says so instead of guessing.
    assert!(g.composites());
    let x = Tensor::zeros([1, 3, 256, 256], (Kind::Float, Device::Cpu));
    let err = g.f_frame(&x, None).unwrap_err().to_string();
    assert!(err.contains("background plate"), "{err}");
    let mut g = g;
    g.set_plate(Tensor::zeros([1, 3, 256, 256], (Kind::Float, Device::Cpu)));
    assert_eq!(g.frame(&x, None).size(), [1, 3, 256, 256]);
    let face = Generator::new(&config, Stage::Face, Device::Cpu);
    assert!(face.vs.variables().keys().all(|k| k.starts_with("face.")));
}

#[test]
fn a_config_file_from_before_the_unet_loads_as_pix2pixhd() {
    let config = Preset::Small.config(256, 256);
    let mut text = toml::to_string_pretty(&config).unwrap();
    // What a file of an earlier version lacked.
    for field in ["kind", "max_channels", "norm"] {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{field} = ")))
            .unwrap()
            .to_string();
        text = text.replace(&format!("{line}\n"), "");
    }
    let old: ModelConfig = toml::from_str(&text).unwrap();
    assert_eq!(old.generator.kind, GeneratorKind::Pix2PixHD);
    assert_eq!(old, config);
}

#[test]
fn pairs_of_frames_must_start_before_the_discriminator_and_never_in_the_face_stage() {
    let mut config = Preset::Quick.config(256, 256);
    config.training.stages[0].adversarial_from = 100;
    config.training.stages[0].temporal_from = 100;
    config.validate().unwrap();
    config.training.stages[0].temporal_from = 101;
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("(global).temporal_from"), "{err}");
    config.training.stages[0].temporal_from = 0;
    config.training.stages[1].temporal_from = 1;
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("(face).temporal_from"), "{err}");
}
