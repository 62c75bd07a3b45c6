//! Relative cost of training-step settings (docs/architecture.md section 5b): each
//! variant's networks take steps in turn, round after round, in one process, so that other
//! work on a shared machine slows them all alike; prints each variant's median seconds per
//! step and its ratio to the first.
//!
//! `bench_quick ROUNDS [VARIANT...]` (all variants when none is named).

use std::time::Instant;

use dancenow_gan::config::pix2pixhd_vgg_terms;
use dancenow_gan::networks::{Vgg16, VggLayer};
use dancenow_gan::train::{seeded, Pix2PixHD};
use dancenow_gan::{GeneratorKind, ModelConfig, Preset, Stage};
use dancenow_nn::tch::{Device, Kind, Tensor};

/// A named change to the quick preset at 256x256, and whether its steps are adversarial.
struct Variant {
    name: &'static str,
    size: u32,
    adversarial: bool,
    edit: fn(&mut ModelConfig),
}

const VARIANTS: [Variant; 11] = [
    Variant {
        name: "unet-b4-temporal",
        size: 256,
        adversarial: false,
        edit: |_| {},
    },
    Variant {
        name: "unet-b4-single",
        size: 256,
        adversarial: false,
        edit: |c| *c = c.clone().with_temporal(false),
    },
    Variant {
        name: "unet-b4-temporal-gan",
        size: 256,
        adversarial: true,
        edit: |_| {},
    },
    Variant {
        name: "unet-b2-temporal",
        size: 256,
        adversarial: false,
        edit: |c| c.training.batch_size = 2,
    },
    Variant {
        name: "unet-b1-temporal",
        size: 256,
        adversarial: false,
        edit: |c| c.training.batch_size = 1,
    },
    Variant {
        name: "p2pglobal-b4-temporal",
        size: 256,
        adversarial: false,
        edit: |c| {
            c.generator.kind = GeneratorKind::Pix2PixHD;
            c.generator.n_downsampling = 3;
            c.generator.n_blocks = 6;
        },
    },
    Variant {
        name: "unet128-b4-temporal",
        size: 128,
        adversarial: false,
        edit: |_| {},
    },
    Variant {
        name: "unet-b4-temporal-vgg12",
        size: 256,
        adversarial: false,
        edit: |c| {
            c.training
                .vgg_layers
                .retain(|t| t.layer != VggLayer::Relu3_3);
        },
    },
    Variant {
        name: "unet-b4-temporal-l1only",
        size: 256,
        adversarial: false,
        edit: |c| c.training.vgg_weight = 0.0,
    },
    Variant {
        name: "unet-b4-temporal-vgg5",
        size: 256,
        adversarial: false,
        edit: |c| c.training.vgg_layers = pix2pixhd_vgg_terms(),
    },
    // The small preset's first stage as the old demo trained it: pix2pixHD's global
    // generator at half size, one example a step, adversarial from the start, VGG on five
    // layers.
    Variant {
        name: "small-global128-b1-temporal-gan",
        size: 128,
        adversarial: true,
        edit: |c| {
            let small = Preset::Small.config(256, 256);
            c.generator = small.stage_generator(Stage::Global);
            c.discriminator = small.discriminator;
            c.training.batch_size = 1;
            c.training.vgg_layers = small.training.vgg_layers;
            c.training.l1_weight = 0.0;
        },
    },
];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args
        .first()
        .and_then(|a| a.parse().ok())
        .expect("usage: bench_quick ROUNDS [VARIANT...]");
    let chosen: Vec<&Variant> = VARIANTS
        .iter()
        .filter(|v| args.len() < 2 || args[1..].iter().any(|a| a == v.name))
        .collect();
    dancenow_nn::keep_freed_memory();
    let device = Device::Cpu;
    let vgg_path =
        std::path::PathBuf::from(env!("DANCENOW_DEPS")).join("models/lpips/vgg16.safetensors");
    let vgg = Vgg16::load(&vgg_path, device).expect("VGG16 weights");
    let mut setups: Vec<(Pix2PixHD, Vec<Tensor>, Vec<Tensor>, bool)> = chosen
        .iter()
        .map(|v| {
            let mut config = Preset::Quick.config(v.size, v.size);
            (v.edit)(&mut config);
            config = config.clone().with_temporal(config.temporal);
            let nets = seeded(0, || {
                Pix2PixHD::new(&config, Stage::Global, device, Some(&vgg))
            });
            let b = config.training.batch_size as i64;
            let s = i64::from(v.size);
            let image = || Tensor::rand([b, 3, s, s], (Kind::Float, device)) * 2.0 - 1.0;
            let frames = config.frames_per_example();
            let xs = (0..frames).map(|_| image()).collect();
            let ys = (0..frames).map(|_| image()).collect();
            (nets, xs, ys, v.adversarial)
        })
        .collect();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); setups.len()];
    for round in 0..rounds + 1 {
        for (i, (nets, xs, ys, adversarial)) in setups.iter_mut().enumerate() {
            let start = Instant::now();
            nets.step_with(xs, ys, 1e-4, *adversarial);
            // The first round warms up allocators and kernels.
            if round > 0 {
                times[i].push(start.elapsed().as_secs_f64());
            }
        }
    }
    let base = median(times[0].clone());
    for (v, t) in chosen.iter().zip(times) {
        let m = median(t);
        println!(
            "{{\"variant\": \"{}\", \"median_step_s\": {m:.3}, \"relative\": {:.2}}}",
            v.name,
            m / base
        );
    }
}
