//! Shapes, parameter counts and checkpoint keys of the pix2pixHD networks.

use dancenow_gan::networks::{
    GlobalGenerator, LocalEnhancer, MultiscaleDiscriminator, NLayerDiscriminator,
};
use dancenow_gan::{DiscriminatorConfig, GeneratorConfig};
use dancenow_nn::tch::nn::{self, Module};
use dancenow_nn::tch::{Device, Kind, Tensor};

fn parameters(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}

/// Weights and biases of a k x k convolution.
fn conv(k: i64, c_in: i64, c_out: i64) -> i64 {
    k * k * c_in * c_out + c_out
}

/// The global generator's size, layer by layer as pix2pixHD builds it.
fn global_generator_size(c: &GeneratorConfig) -> i64 {
    let deepest = c.ngf << c.n_downsampling;
    conv(7, c.input_nc, c.ngf)
        + (0..c.n_downsampling)
            .map(|i| conv(3, c.ngf << i, c.ngf << (i + 1)))
            .sum::<i64>()
        + c.n_blocks * 2 * conv(3, deepest, deepest)
        + (0..c.n_downsampling)
            .map(|i| conv(3, deepest >> i, deepest >> (i + 1)))
            .sum::<i64>()
        + conv(7, c.ngf, c.output_nc)
}

#[test]
fn the_default_global_generator_has_182_million_parameters_layer_by_layer() {
    let vs = nn::VarStore::new(Device::Cpu);
    let config = GeneratorConfig::paper();
    let _g = GlobalGenerator::new(&vs.root(), &config);
    assert_eq!(parameters(&vs), global_generator_size(&config));
    assert_eq!(parameters(&vs), 182_443_267);
}

#[test]
fn the_global_generator_maps_each_image_on_its_own() {
    let vs = nn::VarStore::new(Device::Cpu);
    let config = GeneratorConfig::tiny();
    let g = GlobalGenerator::new(&vs.root(), &config);
    let x = Tensor::rand([2, 3, 64, 48], (Kind::Float, Device::Cpu));
    let y = g.forward(&x);
    assert_eq!(y.size(), [2, 3, 64, 48]);
    // Instance norm: an image's output does not depend on the others in its batch.
    let alone = g.forward(&x.narrow(0, 1, 1));
    let gap = (alone - y.narrow(0, 1, 1)).abs().max().double_value(&[]);
    assert!(gap < 1e-5, "batch-mates changed the output by {gap}");
    // And it does depend on the image.
    let apart = (y.get(0) - y.get(1))
        .abs()
        .mean(Kind::Float)
        .double_value(&[]);
    assert!(apart > 1e-4, "two images gave the same output ({apart})");
    assert_eq!(parameters(&vs), global_generator_size(&config));
}

#[test]
fn checkpoint_keys_name_every_layer() {
    let vs = nn::VarStore::new(Device::Cpu);
    let _g = GlobalGenerator::new(&(vs.root() / "generator"), &GeneratorConfig::tiny());
    let mut keys: Vec<String> = vs.variables().into_keys().collect();
    keys.sort();
    let expected = [
        "generator.block0.conv1.bias",
        "generator.block0.conv1.weight",
        "generator.block0.conv2.bias",
        "generator.block0.conv2.weight",
        "generator.block1.conv1.bias",
        "generator.block1.conv1.weight",
        "generator.block1.conv2.bias",
        "generator.block1.conv2.weight",
        "generator.down0.bias",
        "generator.down0.weight",
        "generator.down1.bias",
        "generator.down1.weight",
        "generator.front.bias",
        "generator.front.weight",
        "generator.out.bias",
        "generator.out.weight",
        "generator.up0.bias",
        "generator.up0.weight",
        "generator.up1.bias",
        "generator.up1.weight",
    ];
    assert_eq!(keys, expected);
}

#[test]
fn the_local_enhancer_wraps_a_double_width_global_generator() {
    let vs = nn::VarStore::new(Device::Cpu);
    let config = GeneratorConfig {
        n_local_enhancers: 1,
        ..GeneratorConfig::tiny()
    };
    let g = LocalEnhancer::new(&vs.root(), &config);
    let y = g.forward(&Tensor::rand([1, 3, 64, 64], (Kind::Float, Device::Cpu)));
    assert_eq!(y.size(), [1, 3, 64, 64]);
    // Global trunk at 2 x ngf (without its output layer), one enhancer, the output layer.
    let global = GeneratorConfig {
        ngf: 2 * config.ngf,
        ..config
    };
    let trunk = global_generator_size(&global) - conv(7, global.ngf, global.output_nc);
    let c = config.ngf;
    let enhancer = conv(7, 3, c)
        + conv(3, c, 2 * c)
        + config.n_blocks_local * 2 * conv(3, 2 * c, 2 * c)
        + conv(3, 2 * c, c);
    assert_eq!(parameters(&vs), trunk + enhancer + conv(7, c, 3));
}

#[test]
fn a_three_layer_patchgan_scores_overlapping_patches() {
    let vs = nn::VarStore::new(Device::Cpu);
    let d = NLayerDiscriminator::new(&vs.root(), 6, 64, 3);
    let features = d.features(&Tensor::rand([1, 6, 256, 256], (Kind::Float, Device::Cpu)));
    // pix2pixHD's padding of 2: 256 -> 129 -> 65 -> 33 -> 34 -> 35.
    let sizes: Vec<Vec<i64>> = features.iter().map(|f| f.size()).collect();
    assert_eq!(
        sizes,
        [
            vec![1, 64, 129, 129],
            vec![1, 128, 65, 65],
            vec![1, 256, 33, 33],
            vec![1, 512, 34, 34],
            vec![1, 1, 35, 35]
        ]
    );
}

#[test]
fn the_multiscale_discriminator_judges_finer_then_coarser() {
    let vs = nn::VarStore::new(Device::Cpu);
    let config = DiscriminatorConfig {
        ndf: 8,
        ..DiscriminatorConfig::default()
    };
    let d = MultiscaleDiscriminator::new(&vs.root(), &config);
    let scales = d.forward(&Tensor::rand([1, 6, 128, 128], (Kind::Float, Device::Cpu)));
    assert_eq!(scales.len(), 2);
    assert_eq!(scales[0].last().unwrap().size(), [1, 1, 19, 19]);
    // The second scale sees the input pooled to 64x64.
    assert_eq!(scales[1].last().unwrap().size(), [1, 1, 11, 11]);
}

#[test]
fn temporal_models_take_the_previous_frame_and_judge_frame_pairs() {
    use dancenow_gan::generator::Generator;
    use dancenow_gan::{Preset, Stage};

    let temporal = Preset::Tiny.config(64, 64);
    assert!(temporal.temporal);
    // Stick figure + previous frame in; D sees (x0, x1, I0, I1).
    assert_eq!(temporal.generator.input_nc, 6);
    assert_eq!(temporal.discriminator.input_nc, 12);
    let plain = temporal.clone().with_temporal(false);
    assert_eq!(
        (plain.generator.input_nc, plain.discriminator.input_nc),
        (3, 6)
    );
    plain.validate().unwrap();
    let mut inconsistent = temporal.clone();
    inconsistent.generator.input_nc = 3;
    assert!(inconsistent
        .validate()
        .unwrap_err()
        .to_string()
        .contains("temporal"));

    let g = Generator::new(&temporal, Stage::Global, Device::Cpu);
    let x = Tensor::rand([1, 3, 64, 64], (Kind::Float, Device::Cpu));
    let first = g.frame(&x, None);
    let second = g.frame(&x, Some(&first));
    assert_eq!(second.size(), [1, 3, 64, 64]);
    assert!(!first.equal(&second), "the previous frame is an input");

    let vs = nn::VarStore::new(Device::Cpu);
    let d = MultiscaleDiscriminator::new(&vs.root(), &temporal.discriminator);
    let pair = Tensor::cat(&[&x, &x, &first, &second], 1);
    assert_eq!(
        d.forward(&pair).len(),
        temporal.discriminator.num_d as usize
    );

    // The face stage: a 6-channel residual generator and one 70x70 PatchGAN.
    let face_g = temporal.stage_generator(Stage::Face);
    assert_eq!(
        (face_g.input_nc, face_g.n_downsampling, face_g.n_blocks),
        (6, 3, 1)
    );
    let paper = Preset::Paper.config(1024, 512);
    let face = paper.stage_generator(Stage::Face);
    assert_eq!((face.n_downsampling, face.n_blocks), (3, 5));
    let face_d = paper.stage_discriminator(Stage::Face);
    assert_eq!((face_d.input_nc, face_d.n_layers, face_d.num_d), (6, 3, 1));
}
