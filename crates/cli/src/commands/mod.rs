//! One module per command; each checks its plan first, then does the work.

mod demo;
mod device;
mod eval;
mod normalize;
mod pose;
mod prepare;
mod probe;
mod render;
mod track;
mod train;
mod transfer;

use std::path::Path;

use anyhow::{bail, Result};
use dancenow_pose::openpose::{self, SequenceInfo};
use dancenow_pose::{PoseError, PoseSequence};

use crate::args::{Command, Size};

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Probe(args) => probe::run(args),
        Command::Pose(args) => pose::run(args),
        Command::Render(args) => render::run(args),
        Command::Normalize(args) => normalize::run(args),
        Command::Prepare(args) => prepare::run(args),
        Command::Train(args) => train::run(args),
        Command::Transfer(args) => transfer::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Device(args) => device::run(args),
    }
}

/// Fails early, before any work, when an input path does not exist.
fn require_exists(path: &Path, what: &str) -> Result<()> {
    if !path.exists() {
        bail!("{what} {} does not exist", path.display());
    }
    Ok(())
}

/// Reads a folder of OpenPose JSON, with a progress bar; `size`/`fps` stand in for a
/// missing sequence.json, and `size_flag` names the option that gives the size.
fn read_poses(
    dir: &Path,
    size: Option<Size>,
    fps: Option<f64>,
    size_flag: &str,
) -> Result<PoseSequence> {
    let fallback = size.map(|s| SequenceInfo {
        fps: fps.unwrap_or(dancenow_media::DEFAULT_FOLDER_FPS),
        width: s.width,
        height: s.height,
    });
    // The length is known once the folder is listed; the first report sets it.
    let bar = crate::progress::bar(Some(0), "reading poses", "files");
    let read = openpose::read_sequence_reporting(dir, fallback, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    match read {
        Err(PoseError::NoSequenceInfo { .. }) => bail!(
            "{} has no sequence.json (OpenPose does not record the video's size); \
             give the frame size with {size_flag} WxH (and --fps)",
            dir.display()
        ),
        read => Ok(read?),
    }
}
