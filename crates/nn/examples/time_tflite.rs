//! Times each MediaPipe model's forward pass on random input, with 1 and 2 threads:
//! `cargo run --release -p dancenow-nn --example time_tflite [MODEL_NAME...]`.

use std::path::PathBuf;
use std::time::Instant;

use dancenow_nn::tch::{self, Device, Kind, Tensor};
use dancenow_nn::tflite::TfliteModel;

const MODELS: [&str; 6] = [
    "pose_detection",
    "pose_landmark_full",
    "hand_landmark_full",
    "hand_recrop",
    "face_landmark",
    "face_detection_short_range",
];

fn main() {
    dancenow_nn::keep_freed_memory();
    let dir = PathBuf::from(env!("DANCENOW_DEPS")).join("models/mediapipe");
    let asked: Vec<String> = std::env::args().skip(1).collect();
    for name in MODELS
        .iter()
        .filter(|m| asked.is_empty() || asked.iter().any(|a| a == *m))
    {
        let model = TfliteModel::load(&dir.join(format!("{name}.tflite")), Device::Cpu)
            .expect("MediaPipe model (run cargo xtask setup)");
        let inputs: Vec<Tensor> = model
            .input_shapes()
            .iter()
            .map(|shape| Tensor::rand(shape.as_slice(), (Kind::Float, Device::Cpu)))
            .collect();
        for threads in [1, 2] {
            tch::set_num_threads(threads);
            for _ in 0..5 {
                model.forward(&inputs).expect("forward");
            }
            let n = 30;
            let start = Instant::now();
            for _ in 0..n {
                model.forward(&inputs).expect("forward");
            }
            let ms = start.elapsed().as_secs_f64() * 1e3 / n as f64;
            println!("{name:<28} threads {threads}: {ms:7.2} ms");
        }
    }
}
