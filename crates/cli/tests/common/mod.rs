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
