//! Times the rotated crops that feed the models, on a frame of the sample video's size:
//! `cargo run --release -p dancenow-detect --example time_crop`.

use std::time::Instant;

use dancenow_detect::roi::Roi;
use dancenow_detect::{Border, Frame};
use dancenow_nn::tch::Device;
use dancenow_nn::tflite::QuietLibtorch;
use image::RgbImage;

fn main() {
    // As in `Tracker::next`: libtorch's threads would compete with the crop's.
    let _quiet = QuietLibtorch::new(Device::Cpu);
    let mut state = 1u32;
    let image = RgbImage::from_fn(1768, 994, |_, _| {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        image::Rgb([(state >> 24) as u8, (state >> 16) as u8, (state >> 8) as u8])
    });
    let frame = Frame::new(&image, Device::Cpu);
    // A body region (shrunk to the landmark model's input), a hand and a face (enlarged).
    for (what, size, side) in [
        ("body", 800.0, 256),
        ("hand", 150.0, 224),
        ("face", 120.0, 192),
    ] {
        let roi = Roi {
            cx: 900.0,
            cy: 500.0,
            size,
            rotation: 0.3,
        };
        let n = 200;
        let start = Instant::now();
        for _ in 0..n {
            let _ = frame.crop(&roi, side, (0.0, 1.0), Border::Zero);
        }
        let us = start.elapsed().as_secs_f64() * 1e6 / n as f64;
        let ns_per_pixel = us * 1e3 / (side * side) as f64;
        println!("{what:<5} {size:>5} px -> {side}: {us:7.0} us ({ns_per_pixel:.1} ns per pixel)");
    }
}
