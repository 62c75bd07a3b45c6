//! Times each stage of body detection on one real photo: `cargo run --release -p
//! dancenow-detect --example profile_pose`.

use std::path::PathBuf;
use std::time::Instant;

use dancenow_detect::face::FaceModel;
use dancenow_detect::hands::HandModel;
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
    let models = deps.join("models/mediapipe");
    let hands = HandModel::load(&models, Device::Cpu).unwrap();
    let face = FaceModel::load(&models, Device::Cpu).unwrap();
    let body = model.landmarks(&frame, &roi).unwrap().unwrap();
    let p = |i: usize| (body.points[i].x, body.points[i].y);
    let (_, hand_roi) = hands
        .track(&frame, None, p(15), p(17), p(19))
        .unwrap()
        .unwrap();
    time("hand from body (re-crop)", 20, &mut || {
        let _ = hands.track(&frame, None, p(15), p(17), p(19)).unwrap();
    });
    time("hand tracked", 20, &mut || {
        let _ = hands
            .track(&frame, Some(hand_roi), p(15), p(17), p(19))
            .unwrap();
    });
    let face_points: Vec<(f32, f32)> = (0..=10).map(p).collect();
    let (_, face_roi) = face
        .track(&frame, None, &face_points, p(5), p(2))
        .unwrap()
        .unwrap();
    time("face from body (2 passes)", 20, &mut || {
        let _ = face.track(&frame, None, &face_points, p(5), p(2)).unwrap();
    });
    time("face tracked", 20, &mut || {
        let _ = face
            .track(&frame, Some(face_roi), &face_points, p(5), p(2))
            .unwrap();
    });
}
