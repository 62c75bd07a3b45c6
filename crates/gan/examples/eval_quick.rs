//! Measures a model on its dataset's held-out frames as `dancenow eval` does, but only
//! what a schedule comparison needs: LPIPS (AlexNet) of the whole frame, how often the
//! detector finds the person on the generated frames, and the body pose distance in
//! pixels and in percent of the frame height.
//!
//! `eval_quick MODEL DATA [--strip PNG] [--every K] [--reference DATA2]`: prints one JSON
//! line. `--every K` measures every K-th held-out frame (all are rendered, in order, for
//! temporal models); `--strip` writes stick figure | generated | real for six frames;
//! `--reference DATA2` (the same video prepared at another size, same crop) scales the
//! generated frames to its size and measures them against its frames and poses: a 128x128
//! model judged as the 256x256 picture a user would see.

use std::path::PathBuf;
use std::time::Instant;

use dancenow_detect::{Parts, Tracker};
use dancenow_gan::dataset::Split;
use dancenow_gan::images::grid;
use dancenow_gan::{Dataset, ModelDir, Renderer};
use dancenow_metrics::{Backbone, Lpips, Part, PoseDistance};
use dancenow_nn::tch::Device;
use dancenow_pose::openpose;
use image::RgbImage;

const STRIP_FRAMES: usize = 6;
/// Face crops are compared at this side, as `dancenow eval` compares them.
const FACE_SIDE: u32 = 128;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut positional = Vec::new();
    let (mut strip, mut every, mut reference) = (None, 1usize, None);
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--strip" => strip = Some(PathBuf::from(it.next().ok_or("--strip PNG")?)),
            "--every" => every = it.next().ok_or("--every K")?.parse()?,
            "--reference" => reference = Some(PathBuf::from(it.next().ok_or("--reference DATA2")?)),
            _ => positional.push(PathBuf::from(arg)),
        }
    }
    let [model, data] = <[PathBuf; 2]>::try_from(positional)
        .map_err(|_| "usage: eval_quick MODEL DATA [--strip PNG] [--every K]")?;
    dancenow_nn::keep_freed_memory();
    let device = Device::Cpu;
    let deps = PathBuf::from(env!("DANCENOW_DEPS")).join("models");
    let dataset = Dataset::open(&data)?;
    // Where the real frames and poses come from.
    let truth = match &reference {
        Some(path) => Dataset::open(path)?,
        None => dataset.clone(),
    };
    let (tw, th) = (truth.info.width, truth.info.height);
    let mut renderer = Renderer::load(&ModelDir::new(&model), device)?;
    let lpips = Lpips::load_from(&deps, Backbone::Alex, device)?;
    let mut tracker = Tracker::load(&deps.join("mediapipe"), device, Parts::BODY)?;

    let held_out = dataset.split(Split::Val);
    let picks: Vec<usize> = (0..STRIP_FRAMES)
        .map(|k| k * held_out.len() / STRIP_FRAMES)
        .collect();
    let start = Instant::now();
    let (mut lpips_sum, mut measured) = (0.0, 0usize);
    let (mut face_sum, mut faces) = (0.0, 0usize);
    let mut pose = PoseDistance::default();
    let mut rows: Vec<Vec<RgbImage>> = Vec::new();
    let mut previous_index = None;
    for (i, entry) in held_out.iter().enumerate() {
        // Temporal models and the tracker start afresh at each gap in the video.
        if previous_index.is_none_or(|p: usize| p + 1 != entry.index) {
            renderer.reset();
            tracker.reset();
        }
        previous_index = Some(entry.index);
        let figure = dataset.load_image(&dataset.layout.figure_path(entry.index))?;
        let generated = renderer.render(&figure, entry.face)?;
        if i % every != 0 {
            continue;
        }
        let generated = if generated.dimensions() == (tw, th) {
            generated
        } else {
            image::imageops::resize(&generated, tw, th, image::imageops::FilterType::Triangle)
        };
        let figure =
            image::imageops::resize(&figure, tw, th, image::imageops::FilterType::Triangle);
        let real = truth.load_image(&truth.layout.image_path(entry.index))?;
        lpips_sum += lpips.distance_images(&generated, &real)?;
        measured += 1;
        let truth_entry = truth.info.frames.iter().find(|f| f.index == entry.index);
        if let Some(face) = truth_entry.and_then(|f| f.face) {
            let crop = |image: &RgbImage| {
                let c = image::imageops::crop_imm(image, face.x, face.y, face.size, face.size);
                image::imageops::resize(
                    &c.to_image(),
                    FACE_SIDE,
                    FACE_SIDE,
                    image::imageops::FilterType::Triangle,
                )
            };
            face_sum += lpips.distance_images(&crop(&generated), &crop(&real))?;
            faces += 1;
        }
        let expected = openpose::read_frame(&truth.layout.pose_path(entry.index))?;
        let expected = expected.single_person().ok_or("one person expected")?;
        let found = tracker.next(&generated)?.person;
        pose.add(expected, found.as_ref());
        if picks.contains(&i) {
            rows.push(vec![figure, generated, real]);
        }
    }
    if let Some(path) = strip {
        grid(&rows.iter().map(|r| r.iter().collect()).collect::<Vec<_>>()).save(&path)?;
    }
    let body = pose.part(Part::Body);
    let height = f64::from(th);
    let detected = 100.0 * (pose.frames - pose.missed_frames) as f64 / pose.frames as f64;
    println!(
        "{{\"model\": \"{}\", \"step\": {}, \"frames\": {measured}, \"lpips\": {:.4}, \
         \"face_lpips\": {:.4}, \"detected_pct\": {detected:.1}, \"body_px\": {}, \"body_pct_height\": {}, \
         \"body_missed_points\": {}, \"seconds\": {:.0}}}",
        model.display(),
        renderer.step,
        lpips_sum / measured as f64,
        face_sum / faces.max(1) as f64,
        body.mean().map_or("null".into(), |d| format!("{d:.2}")),
        body.mean()
            .map_or("null".into(), |d| format!("{:.2}", 100.0 * d / height)),
        body.missed,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
