//! Times each stage of body detection on one real photo: `cargo run --release -p
//! dancenow-detect --example profile_pose`.

use std::path::PathBuf;
use std::time::Instant;

use dancenow_detect::{BlazePose, Border, Frame};
use dancenow_nn::tch::Device;

fn main() {
    let deps = PathBuf::from(env!("DANCENOW_DEPS"));
    let model = BlazePose::load(&deps.join("models/mediapipe"), Device::Cpu).unwrap();
    let image = image::open(deps.join("samples/stills/messi5.jpg"))
        .unwrap()
        .to_rgb8();
    let big = image::imageops::resize(&image, 1768, 994, image::imageops::FilterType::Triangle);
    let time = |name: &str, n: u32, f: &mut dyn FnMut()| {
        f();
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        println!(
            "{name:<28} {:8.2} ms",
            start.elapsed().as_secs_f64() * 1e3 / n as f64
        );
    };
    let frame = Frame::new(&big, Device::Cpu);
    let roi = model.detect(&frame, 0.5).unwrap()[0].roi;
    time("crop 256", 20, &mut || {
        drop(frame.crop(&roi, 256, (0.0, 1.0), Border::Replicate))
    });
    time("detector (crop + model)", 20, &mut || {
        let _ = model.detect(&frame, 0.5).unwrap();
    });
    time("landmarks (crop + model)", 20, &mut || {
        let _ = model.landmarks(&frame, &roi).unwrap();
    });
}
