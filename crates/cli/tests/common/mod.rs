//! Running the `dancenow` binary from the tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dancenow_media::{FrameSource, VideoWriter};
use image::imageops;

pub fn dancenow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dancenow"))
        .args(args)
        .output()
        .expect("running dancenow")
}

pub fn succeed(args: &[&str]) -> String {
    let out = dancenow(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dancenow {args:?} failed: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

pub fn fail(args: &[&str]) -> String {
    let out = dancenow(args);
    assert!(
        !out.status.success(),
        "dancenow {args:?} should have failed"
    );
    String::from_utf8(out.stderr).unwrap()
}

pub fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The arguments of `dancenow prepare VIDEO -o DATA` at 64x64 on the CPU, then `extra`.
pub fn prepare_64<'a>(video: &'a Path, data: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "prepare",
        s(video),
        "-o",
        s(data),
        "--size",
        "64x64",
        "--device",
        "cpu",
    ];
    args.extend(extra);
    args
}

/// The arguments of a tiny training run of `steps` steps on the CPU, then `extra`.
pub fn tiny_training<'a>(
    data: &'a Path,
    model: &'a Path,
    steps: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "train",
        s(data),
        "-o",
        s(model),
        "--preset",
        "tiny",
        "--steps",
        steps,
        "--device",
        "cpu",
    ];
    args.extend(extra);
    args
}

/// The first `frames` frames (at most 100) of the pose2sim sample, at a quarter of its
/// size (270x480, 30 fps).
pub fn short_clip(path: &Path, frames: usize) {
    let cam01 = PathBuf::from(env!("DANCENOW_DEPS")).join("samples/pose2sim/cam01.mp4");
    let mut source = FrameSource::open(&cam01, None).unwrap();
    let mut writer = VideoWriter::create(path, 270, 480, 30.0).unwrap();
    for frame in source.by_ref().take(frames) {
        let frame = frame.unwrap();
        writer
            .write(&imageops::resize(
                &frame,
                270,
                480,
                imageops::FilterType::Triangle,
            ))
            .unwrap();
    }
    writer.finish().unwrap();
}
