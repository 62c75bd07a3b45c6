//! The source dancer's poses made ready for the target: short gaps bridged, smoothed over
//! time (never across a longer gap or a jump to someone else), then scaled and moved to
//! the target's proportions and place (paper section 4), and kept inside the target's
//! frame. `normalize` and
//! `transfer` both go through [`normalize`], with the same defaults, so `dancenow
//! normalize` then `dancenow render` shows exactly the figures `transfer` feeds the
//! generator.

use anyhow::{Context, Result};
use dancenow_pose::gaps::{fill_short_gaps, MAX_FILLED_GAP};
use dancenow_pose::normalize::{keep_inside, Normalization, NormalizedTrack, VideoStats};
use dancenow_pose::smooth::{Smoothing, DEFAULT_MEDIAN_WINDOW};
use dancenow_pose::Person;
use tracing::{info, warn};

/// How source poses are prepared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourcePoseOptions {
    /// Smoothing over time before normalization; `None` keeps every frame's pose as
    /// detected. Default: the paper's 7-frame median.
    pub smoothing: Option<Smoothing>,
    /// Keep the paper's horizontal mapping about the frame centres instead of placing the
    /// dancer where the target usually stood (the only place the generator has seen the
    /// target).
    pub keep_source_x: bool,
}

impl Default for SourcePoseOptions {
    fn default() -> Self {
        Self {
            smoothing: Some(Smoothing::median(DEFAULT_MEDIAN_WINDOW)),
            keep_source_x: false,
        }
    }
}

/// `people` (one optional person per source frame, in a `width` x `height` video)
/// smoothed and normalized to `target`'s statistics.
pub fn normalize(
    people: &[Option<Person>],
    (width, height): (u32, u32),
    target: &VideoStats,
    options: &SourcePoseOptions,
) -> Result<NormalizedTrack> {
    // A few frames where the detector lost the dancer are bridged; longer gaps stay
    // empty (the output shows the target's background there).
    let mut bridged = people.to_vec();
    let filled = fill_short_gaps(&mut bridged, MAX_FILLED_GAP);
    if !filled.is_empty() {
        info!(
            "{} source frames without the dancer were filled in from the frames around \
             them (gaps of at most {MAX_FILLED_GAP} frames)",
            filled.len()
        );
    }
    let people = match &options.smoothing {
        Some(smoothing) => smoothing.apply(&bridged),
        None => bridged,
    };
    let people = people.as_slice();
    let source =
        VideoStats::measure(people, width, height).context("measuring the source dancer")?;
    let mut normalization = Normalization::new(source, target.clone());
    if !options.keep_source_x {
        if target.median_x.is_none() {
            warn!(
                "the target's statistics do not say where the target stands (data prepared \
                 by an older dancenow); the dancer is placed about the frame centre"
            );
        }
        normalization = normalization.aligned_horizontally();
    }
    let mut normalized = normalization.apply(people);
    let moved = keep_inside(&mut normalized.track, target.width);
    if !moved.is_empty() {
        warn!(
            "{} of {} frames put part of the dancer outside the target's frame; they were \
             moved sideways to fit",
            moved.len(),
            normalized.track.len()
        );
    }
    let n = &normalized.normalization;
    info!(
        "normalization: scale {:.3} at the far line, {:.3} at the close line; source ankles \
         {:.0}..{:.0} px -> target {:.0}..{:.0} px",
        n.scale_far,
        n.scale_close,
        n.source.far_y,
        n.source.close_y,
        n.target.far_y,
        n.target.close_y
    );
    if !normalized.frames_without_ankles.is_empty() {
        warn!(
            "{} source frames show no ankle; they took the nearest frame's transform",
            normalized.frames_without_ankles.len()
        );
    }
    Ok(normalized)
}
