//! `normalize` then `render` shows exactly the stick figures `transfer` feeds the
//! generator: both go through one source-pose preparation, with the same defaults.
//! Checked on real clips with the real pose models.

use std::path::{Path, PathBuf};

use dancenow_gan::Dataset;
use dancenow_media::{FrameSource, VideoWriter};
use dancenow_pipeline::normalize::NormalizeOptions;
use dancenow_pipeline::pose::PoseOptions;
use dancenow_pipeline::prepare::PrepareOptions;
use dancenow_pipeline::render::RenderOptions;
use dancenow_pipeline::track::Track;
use dancenow_pipeline::{transfer, DetectOptions, Quiet, SourcePoseOptions};
use dancenow_pose::normalize::VideoStats;
use dancenow_pose::openpose;
use image::imageops;

const SIDE: u32 = 64;

/// The first `frames` frames of a sample video, at a quarter of its size.
fn short_clip(sample: &str, path: &Path, frames: usize) {
    let video = PathBuf::from(env!("DANCENOW_DEPS"))
        .join("samples")
        .join(sample);
    let mut source = FrameSource::open(&video, None).unwrap();
    let mut writer = VideoWriter::create(path, 270, 480, 30.0).unwrap();
    for frame in source.by_ref().take(frames) {
        let frame = frame.unwrap();
        let small = imageops::resize(&frame, 270, 480, imageops::FilterType::Triangle);
        writer.write(&small).unwrap();
    }
    writer.finish().unwrap();
}

fn cpu() -> DetectOptions {
    DetectOptions {
        device: dancenow_nn::DeviceChoice::Cpu,
        ..DetectOptions::default()
    }
}

#[test]
fn normalize_then_render_draws_the_figures_transfer_generates_from() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    // The target: one camera of the pose2sim man; the source: another camera of him.
    short_clip("pose2sim/cam01.mp4", &p("target.mp4"), 16);
    short_clip("pose2sim/cam03.mp4", &p("source.mp4"), 16);
    dancenow_pipeline::prepare::run(
        &PrepareOptions {
            input: p("target.mp4"),
            output: p("target.data"),
            poses: None,
            size: (SIDE, SIDE),
            val_fraction: 0.1,
            detect: cpu(),
        },
        &Quiet,
    )
    .unwrap();
    dancenow_pipeline::pose::run(
        &PoseOptions {
            input: p("source.mp4"),
            output: p("source.poses"),
            preview: None,
            detect: cpu(),
        },
        &Quiet,
    )
    .unwrap();

    // What a model trained on the dataset stores of its target is what the dataset's
    // poses measure, so normalizing against those poses aims at the same target.
    let dataset = Dataset::open(&p("target.data")).unwrap();
    let target_poses = p("target.data").join("poses");
    let target = openpose::read_sequence(&target_poses, None).unwrap();
    let measured =
        VideoStats::measure(&target.first_person_track(), target.width, target.height).unwrap();
    assert_eq!(measured, dataset.info.stats);

    let defaults = SourcePoseOptions::default();
    dancenow_pipeline::normalize::run(
        &NormalizeOptions {
            source: p("source.poses"),
            target: target_poses,
            output: p("normalized.poses"),
            source_size: None,
            target_size: None,
            fps: None,
            source_poses: defaults,
        },
        &Quiet,
    )
    .unwrap();
    dancenow_pipeline::render::run(
        &RenderOptions {
            poses: p("normalized.poses"),
            output: p("figures"),
            over: None,
            height: None,
            size: None,
            fps: None,
        },
        &Quiet,
    )
    .unwrap();

    // transfer's own path, from the same source video and poses.
    let track = Track::of(&p("source.mp4"), Some(&p("source.poses")), &cpu(), &Quiet).unwrap();
    let poses = transfer::figure_poses(&track, &dataset.info.stats, &defaults).unwrap();
    assert_eq!(poses.len(), 16);
    assert!(poses.iter().filter(|p| p.is_some()).count() >= 12);
    let mut rendered: Vec<PathBuf> = std::fs::read_dir(p("figures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    rendered.sort();
    assert_eq!(rendered.len(), poses.len());
    for (index, (person, file)) in poses.iter().zip(&rendered).enumerate() {
        let drawn = image::open(file).unwrap().to_rgb8();
        let fed = transfer::stick_figure(person.as_ref(), SIDE, SIDE);
        assert!(drawn == fed, "frame {index}: {} differs", file.display());
    }
}
