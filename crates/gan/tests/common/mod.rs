//! A synthetic paired dataset: a figure swinging its arms and stepping sideways, as stick
//! figures (the input) and as a deterministic "person" rendering (the target): thick
//! limbs in clothing colours on a grey wall and floor.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use dancenow_gan::dataset::{DatasetInfo, FrameEntry, Split};
use dancenow_gan::{Dataset, DatasetWriter, TrainOptions};
use dancenow_nn::tch::Device;
use dancenow_pose::normalize::VideoStats;
use dancenow_pose::openpose::SequenceInfo;
use dancenow_pose::render::StickFigure;
use dancenow_pose::{body, CropWindow, FaceBox, Frame, Keypoint, Person};
use image::{Rgb, RgbImage};

pub fn vgg_weights() -> PathBuf {
    PathBuf::from(env!("DANCENOW_DEPS")).join("models/lpips/vgg16.safetensors")
}

/// The pose of frame `t` in a `size`-pixel square.
pub fn pose(t: usize, size: u32) -> Person {
    let s = size as f32 / 64.0;
    let phase = t as f32 * 0.45;
    let cx = 32.0 + 6.0 * (t as f32 * 0.21).sin();
    let mut p = Person::default();
    let mut set = |i: usize, x: f32, y: f32| p.body[i] = Keypoint::new(x * s, y * s, 0.9);
    set(body::NOSE, cx, 10.0);
    set(body::NECK, cx, 17.0);
    set(body::MID_HIP, cx, 36.0);
    set(body::R_HIP, cx - 4.0, 36.0);
    set(body::L_HIP, cx + 4.0, 36.0);
    set(body::R_SHOULDER, cx - 6.0, 18.0);
    set(body::L_SHOULDER, cx + 6.0, 18.0);
    let (a, b) = (phase.sin() * 1.2, (phase * 0.8 + 1.0).cos() * 1.2);
    set(
        body::R_ELBOW,
        cx - 6.0 - 8.0 * a.cos(),
        18.0 + 8.0 * a.sin(),
    );
    set(
        body::R_WRIST,
        cx - 6.0 - 15.0 * a.cos(),
        18.0 + 15.0 * a.sin(),
    );
    set(
        body::L_ELBOW,
        cx + 6.0 + 8.0 * b.cos(),
        18.0 + 8.0 * b.sin(),
    );
    set(
        body::L_WRIST,
        cx + 6.0 + 15.0 * b.cos(),
        18.0 + 15.0 * b.sin(),
    );
    let step = 3.0 * phase.sin();
    set(body::R_KNEE, cx - 4.0 - step, 46.0);
    set(body::R_ANKLE, cx - 5.0 - step, 57.0);
    set(body::L_KNEE, cx + 4.0 + step, 46.0);
    set(body::L_ANKLE, cx + 5.0 + step, 57.0);
    p
}

fn disc(img: &mut RgbImage, x: f32, y: f32, r: f32, c: Rgb<u8>) {
    let (w, h) = img.dimensions();
    let (x0, x1) = (
        (x - r).floor().max(0.0) as u32,
        ((x + r).ceil() as u32).min(w - 1),
    );
    let (y0, y1) = (
        (y - r).floor().max(0.0) as u32,
        ((y + r).ceil() as u32).min(h - 1),
    );
    for py in y0..=y1 {
        for px in x0..=x1 {
            if (px as f32 - x).powi(2) + (py as f32 - y).powi(2) <= r * r {
                img.put_pixel(px, py, c);
            }
        }
    }
}

fn limb(img: &mut RgbImage, a: Keypoint, b: Keypoint, r: f32, c: Rgb<u8>) {
    let n = (((b.x - a.x).hypot(b.y - a.y)) / (r * 0.5)).ceil().max(1.0) as usize;
    for k in 0..=n {
        let t = k as f32 / n as f32;
        disc(img, a.x + t * (b.x - a.x), a.y + t * (b.y - a.y), r, c);
    }
}

/// The target image of a pose: what a camera would see of this made-up person.
pub fn person_image(p: &Person, size: u32) -> RgbImage {
    let s = size as f32 / 64.0;
    let mut img = RgbImage::from_fn(size, size, |_, y| {
        if y as f32 > 52.0 * s {
            Rgb([120, 100, 80])
        } else {
            Rgb([200, 200, 190])
        }
    });
    let k = |i: usize| p.body[i];
    let (shirt, trousers, skin) = (Rgb([30, 90, 200]), Rgb([40, 40, 50]), Rgb([230, 180, 150]));
    limb(&mut img, k(body::NECK), k(body::MID_HIP), 5.5 * s, shirt);
    for (a, b) in [
        (body::R_HIP, body::R_KNEE),
        (body::R_KNEE, body::R_ANKLE),
        (body::L_HIP, body::L_KNEE),
        (body::L_KNEE, body::L_ANKLE),
    ] {
        limb(&mut img, k(a), k(b), 2.5 * s, trousers);
    }
    for (a, b, c) in [
        (body::R_SHOULDER, body::R_ELBOW, shirt),
        (body::R_ELBOW, body::R_WRIST, skin),
        (body::L_SHOULDER, body::L_ELBOW, shirt),
        (body::L_ELBOW, body::L_WRIST, skin),
    ] {
        limb(&mut img, k(a), k(b), 2.0 * s, c);
    }
    disc(&mut img, k(body::NOSE).x, k(body::NOSE).y, 4.5 * s, skin);
    img
}

/// Writes `frames` frames of `size`-pixel squares; the last `val` are held out.
pub fn write_dataset(dir: &Path, frames: usize, val: usize, size: u32) -> Dataset {
    let writer = DatasetWriter::create(
        dir,
        SequenceInfo {
            fps: 30.0,
            width: size,
            height: size,
        },
    )
    .unwrap();
    let mut entries = Vec::new();
    let mut track = Vec::new();
    for t in 0..frames {
        let person = pose(t, size);
        let figure = StickFigure::render(
            &Frame {
                people: vec![person.clone()],
            },
            size,
            size,
        );
        writer
            .write_frame(t, &person_image(&person, size), &figure, &person)
            .unwrap();
        entries.push(FrameEntry {
            index: t,
            split: if t + val >= frames {
                Split::Val
            } else {
                Split::Train
            },
            face: FaceBox::of(&person, size, size),
        });
        track.push(Some(person));
    }
    writer
        .finish(DatasetInfo {
            format: String::new(),
            source: "synthetic".into(),
            fps: 30.0,
            video_width: size,
            video_height: size,
            width: size,
            height: size,
            crop: CropWindow {
                x: 0.0,
                y: 0.0,
                width: size as f32,
                height: size as f32,
                out_width: size,
                out_height: size,
            },
            stats: VideoStats::measure(&track, size, size).unwrap(),
            frames: entries,
            skipped_without_person: vec![],
            skipped_several_people: vec![],
        })
        .unwrap()
}

/// Training on the CPU with the real VGG weights, every stage, until `stop` or
/// `max_steps` steps in this run.
pub fn cpu_options(stop: &AtomicBool, max_steps: Option<u64>) -> TrainOptions<'_> {
    TrainOptions {
        device: Device::Cpu,
        vgg_weights: Some(vgg_weights()),
        only_stage: None,
        stop,
        max_steps,
    }
}
