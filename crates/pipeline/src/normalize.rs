//! `normalize`: source poses -> the target's proportions and place, as OpenPose JSON,
//! through the same [`source_poses::normalize`] that `transfer` uses.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use dancenow_pose::normalize::VideoStats;
use dancenow_pose::openpose::{self, SequenceInfo, SequenceWriter};
use dancenow_pose::{Frame, PoseSequence};
use tracing::{info, warn};

use crate::progress::Progress;
use crate::source_poses::{self, SourcePoseOptions};
use crate::track::read_poses;

/// The file beside the normalized poses recording how they were made.
pub const PARAMETERS_FILE: &str = openpose::NORMALIZATION_FILE;

#[derive(Debug, Clone)]
pub struct NormalizeOptions {
    /// The source dancer's poses (OpenPose JSON folder).
    pub source: PathBuf,
    /// The target person's poses: their proportions and place are the goal.
    pub target: PathBuf,
    pub output: PathBuf,
    /// Frame sizes for folders without sequence.json (OpenPose's own output).
    pub source_size: Option<(u32, u32)>,
    pub target_size: Option<(u32, u32)>,
    pub fps: Option<f64>,
    pub source_poses: SourcePoseOptions,
}

pub fn run(options: &NormalizeOptions, progress: &dyn Progress) -> Result<u64> {
    crate::require_exists(&options.source, "source pose folder")?;
    crate::require_exists(&options.target, "target pose folder")?;
    for input in [&options.source, &options.target] {
        if same_or_nested(&options.output, input) {
            bail!(
                "the output folder {} is (or is inside, or holds) the input {}; choose another",
                options.output.display(),
                input.display()
            );
        }
    }
    let source = read_poses(
        &options.source,
        options.source_size,
        options.fps,
        "--source-size",
        progress,
    )
    .with_context(|| format!("reading source poses from {}", options.source.display()))?;
    let target = read_poses(
        &options.target,
        options.target_size,
        options.fps,
        "--target-size",
        progress,
    )
    .with_context(|| format!("reading target poses from {}", options.target.display()))?;
    report_people("source", &source);
    report_people("target", &target);

    let target_stats =
        VideoStats::measure(&target.first_person_track(), target.width, target.height)
            .with_context(|| format!("measuring the target {}", options.target.display()))?;
    let normalized = source_poses::normalize(
        &source.first_person_track(),
        (source.width, source.height),
        &target_stats,
        &options.source_poses,
    )
    .with_context(|| format!("normalizing the source {}", options.source.display()))?;

    let info = SequenceInfo {
        fps: source.fps,
        width: target.width,
        height: target.height,
    };
    let name = folder_name(&options.source);
    let mut writer = SequenceWriter::create(&options.output, &name, info)?;
    let bar = progress.phase(
        "writing poses",
        "frames",
        Some(normalized.track.len() as u64),
    );
    for person in &normalized.track {
        writer.write(&Frame {
            people: person.iter().cloned().collect(),
        })?;
        bar.inc();
    }
    drop(bar);
    let parameters =
        serde_json::to_string_pretty(&normalized).context("serializing the parameters")?;
    openpose::write_atomically(&writer.dir().join(PARAMETERS_FILE), parameters.as_bytes())?;
    writer.finish()?;
    info!(
        "wrote {} normalized frames and {PARAMETERS_FILE} to {}",
        normalized.track.len(),
        options.output.display()
    );
    Ok(normalized.track.len() as u64)
}

/// Whether `a` and `b` are the same folder or one lies inside the other.
fn same_or_nested(a: &std::path::Path, b: &std::path::Path) -> bool {
    let absolute = |p: &std::path::Path| {
        p.canonicalize()
            .or_else(|_| std::path::absolute(p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    let (a, b) = (absolute(a), absolute(b));
    a.starts_with(&b) || b.starts_with(&a)
}

fn report_people(which: &str, sequence: &PoseSequence) {
    let empty = sequence
        .frames
        .iter()
        .filter(|f| f.people.is_empty())
        .count();
    let several = sequence
        .frames
        .iter()
        .filter(|f| f.people.len() > 1)
        .count();
    info!(
        "{which}: {} frames, {}x{}, {:.2} fps",
        sequence.frames.len(),
        sequence.width,
        sequence.height,
        sequence.fps
    );
    if empty > 0 {
        info!("{which}: {empty} frames have nobody in them and stay empty");
    }
    if several > 0 {
        warn!("{which}: {several} frames hold several people; the first listed in each is used");
    }
}

fn folder_name(dir: &std::path::Path) -> String {
    dir.file_name()
        .and_then(|n| n.to_str())
        .map(|n| n.trim_end_matches(".poses").to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "poses".into())
}
