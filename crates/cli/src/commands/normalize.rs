//! `dancenow normalize`: source poses -> the target's proportions and ground line.

use anyhow::{Context, Result};
use dancenow_pose::normalize::{Normalization, VideoStats};
use dancenow_pose::openpose::{self, SequenceInfo, SequenceWriter};
use dancenow_pose::{Frame, PoseSequence};
use tracing::{info, warn};

use crate::args::NormalizeArgs;

/// The file beside the normalized poses recording how they were made.
pub const PARAMETERS_FILE: &str = "normalization.json";

pub fn run(args: NormalizeArgs) -> Result<()> {
    super::require_exists(&args.source, "source pose folder")?;
    super::require_exists(&args.target, "target pose folder")?;
    let source = super::read_poses(&args.source, args.source_size, args.fps, "--source-size")
        .with_context(|| format!("reading source poses from {}", args.source.display()))?;
    let target = super::read_poses(&args.target, args.target_size, args.fps, "--target-size")
        .with_context(|| format!("reading target poses from {}", args.target.display()))?;
    report_people("source", &source);
    report_people("target", &target);

    let mut track = source.first_person_track();
    if let Some(smoothing) = args.smooth.0 {
        track = smoothing.apply(&track);
    }
    let source_stats = VideoStats::measure(&track, source.width, source.height)
        .with_context(|| format!("measuring the source {}", args.source.display()))?;
    let target_stats =
        VideoStats::measure(&target.first_person_track(), target.width, target.height)
            .with_context(|| format!("measuring the target {}", args.target.display()))?;
    let normalized = Normalization::new(source_stats, target_stats).apply(&track);
    let n = &normalized.normalization;
    info!(
        "scale {:.3} at the far line, {:.3} at the close line; source ankles {:.0}..{:.0} px -> target {:.0}..{:.0} px",
        n.scale_far, n.scale_close, n.source.far_y, n.source.close_y, n.target.far_y, n.target.close_y
    );
    if !normalized.frames_without_ankles.is_empty() {
        warn!(
            "{} source frames show no ankle; they took the nearest frame's transform",
            normalized.frames_without_ankles.len()
        );
    }

    let info = SequenceInfo {
        fps: source.fps,
        width: target.width,
        height: target.height,
    };
    let name = folder_name(&args.source);
    let mut writer = SequenceWriter::create(&args.output, &name, info)?;
    let bar = crate::progress::bar(Some(track.len() as u64), "writing poses", "frames");
    for person in &normalized.track {
        writer.write(&Frame {
            people: person.iter().cloned().collect(),
        })?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let parameters =
        serde_json::to_string_pretty(&normalized).context("serializing the parameters")?;
    openpose::write_atomically(&args.output.join(PARAMETERS_FILE), parameters.as_bytes())?;
    info!(
        "wrote {} normalized frames and {PARAMETERS_FILE} to {}",
        normalized.track.len(),
        args.output.display()
    );
    Ok(())
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
