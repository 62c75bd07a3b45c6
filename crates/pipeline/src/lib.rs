//! dancenow's jobs as library functions, each taking typed options and reporting its
//! progress through a [`Progress`]. The `dancenow` binary only parses arguments into
//! these options, draws the progress and prints the results; a batch runner, a service
//! or a notebook binding calls the same functions.
//!
//! A frame's way from the source video to the output video, in call order:
//!
//! 1. [`transfer::run`] opens the source video and finds the dancer's pose in every
//!    frame ([`track::Track::of`], on `dancenow_detect`'s tracker);
//! 2. [`source_poses::normalize`] smooths the poses over time and scales and moves them
//!    to the target's proportions and place (paper section 4, `dancenow_pose`);
//! 3. each pose is drawn as a stick figure (`dancenow_pose::render`);
//! 4. the trained generator turns the figure into the target person
//!    (`dancenow_gan::Renderer`, with the previous output for temporal smoothing and the
//!    face GAN on the face box);
//! 5. the frame goes to the output video (`dancenow_media::FrameSink`).
//!
//! The model comes from [`prepare::run`] (the target's video -> a dataset folder) and
//! [`train::run`] (dataset -> model folder); [`eval::run`] measures it on held-out frames
//! and writes a report; [`demo::run`] runs all of them on the sample videos.

pub mod assets;
pub mod demo;
pub mod eval;
pub mod normalize;
pub mod pose;
pub mod prepare;
pub mod progress;
pub mod render;
pub mod report;
pub mod source_poses;
pub mod track;
pub mod train;
pub mod transfer;

pub use progress::{Interrupted, Phase, Progress, Quiet};
pub use source_poses::SourcePoseOptions;
pub use track::DetectOptions;

use std::path::Path;

use anyhow::{bail, Result};

/// Fails early, before any work, when an input path does not exist.
fn require_exists(path: &Path, what: &str) -> Result<()> {
    if !path.exists() {
        bail!("{what} {} does not exist", path.display());
    }
    Ok(())
}
