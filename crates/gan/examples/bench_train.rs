//! Times pix2pixHD training steps and generator inference, for `cargo xtask bench train`.
//!
//! `bench_train SIZE_NAME STEPS THREADS VGG_WEIGHTS`, where SIZE_NAME is `small` (ngf 32,
//! 3 downsamplings, 6 blocks, ndf 32, 256x256) or `paper-global` (ngf 64, 4, 9, ndf 64,
//! 512x256). Prints one JSON line: median seconds per training step, generator frames
//! per second. `bench/train_step_torch.py` does the same in PyTorch.

use std::time::Instant;

use dancenow_gan::config::StageConfig;
use dancenow_gan::networks::Vgg16;
use dancenow_gan::train::Pix2PixHD;
use dancenow_gan::{ModelConfig, Preset, Stage};
use dancenow_nn::tch::{self, Device, Kind, Tensor};

fn config(name: &str) -> ModelConfig {
    let (preset, w, h) = match name {
        "small" => (Preset::Small, 256, 256),
        "paper-global" => (Preset::Paper, 512, 256),
        _ => panic!("unknown size {name:?}: small or paper-global"),
    };
    // pix2pixHD itself, as the PyTorch script runs it: one frame, no temporal input.
    let mut config = preset.config(w, h).with_temporal(false);
    config.generator.n_local_enhancers = 0;
    config.training.stages = vec![StageConfig::new(Stage::Global, 1)];
    config
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, steps, threads, vgg_path] = args.as_slice() else {
        panic!("usage: bench_train small|paper-global STEPS THREADS VGG_WEIGHTS");
    };
    let steps: usize = steps.parse().expect("STEPS");
    tch::set_num_threads(threads.parse().expect("THREADS"));
    // As `dancenow` does at start.
    dancenow_nn::keep_freed_memory();
    let device = Device::Cpu;
    let config = config(name);
    let vgg = Vgg16::load(std::path::Path::new(vgg_path), device).expect("VGG16 weights");
    tch::manual_seed(0);
    let mut nets = Pix2PixHD::new(&config, Stage::Global, device, Some(&vgg));
    let shape = [1, 3, config.height as i64, config.width as i64];
    let x = Tensor::rand(shape, (Kind::Float, device)) * 2.0 - 1.0;
    let y = Tensor::rand(shape, (Kind::Float, device)) * 2.0 - 1.0;

    let mut step_times = Vec::new();
    for i in 0..steps + 2 {
        let start = Instant::now();
        nets.step(std::slice::from_ref(&x), std::slice::from_ref(&y), 2e-4);
        if i >= 2 {
            step_times.push(start.elapsed().as_secs_f64());
        }
    }
    let mut infer_times = Vec::new();
    tch::no_grad(|| {
        for i in 0..steps + 2 {
            let start = Instant::now();
            let out = nets.generator.forward(&x);
            let _ = out.double_value(&[0, 0, 0, 0]);
            if i >= 2 {
                infer_times.push(start.elapsed().as_secs_f64());
            }
        }
    });
    println!(
        "{{\"size\": \"{name}\", \"step_s\": {:.4}, \"infer_fps\": {:.3}}}",
        median(step_times),
        1.0 / median(infer_times)
    );
}
