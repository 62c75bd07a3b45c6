//! Global pose normalization (paper section 4; docs/architecture.md section 5).
//!
//! A source dancer is filmed at another distance and height in the frame than the target
//! person. Per video we find the ankle positions nearest to (*close*) and farthest from
//! (*far*) the camera and the person's tallest height near each. A source frame whose
//! ankles stand a fraction `p` of the way from far to close is then scaled by the height
//! ratio interpolated at `p`, about its ankles, and moved so its ankles stand the same
//! fraction of the way between the target's far and close lines.

use serde::{Deserialize, Serialize};

use crate::error::{PoseError, Result};
use crate::keypoints::Person;

/// *far* ignores ankle positions more than this fraction of (close - median) above the
/// median, so one jump does not set the far line (reference code's value).
pub const FAR_OUTLIER_FRACTION: f32 = 0.5;
/// Heights count as "near" a line within this fraction of the close-far range.
pub const HEIGHT_WINDOW_FRACTION: f32 = 0.05;
/// The smallest interpolated scale, as a fraction of the smaller measured one.
const MIN_SCALE_FRACTION: f32 = 0.1;

/// One video's statistics, in its own pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoStats {
    /// Frame size, for the horizontal centre.
    pub width: u32,
    pub height: u32,
    /// Largest ankle y: the feet lowest in the frame, nearest the camera.
    pub close_y: f32,
    /// The far ankle line, robust to outliers (see [`FAR_OUTLIER_FRACTION`]).
    pub far_y: f32,
    /// Tallest head-to-ankle height among frames with ankles near `close_y` / `far_y`.
    pub close_height: f32,
    pub far_height: f32,
    /// Frames with a person whose ankles were seen, and frames with a person whose were not.
    pub frames_with_ankles: usize,
    pub frames_without_ankles: usize,
    /// Median ankle x: where across the frame the person usually stands. Absent in files
    /// written before it was measured.
    #[serde(default)]
    pub median_x: Option<f32>,
}

struct Sample {
    ankle_x: f32,
    ankle_y: f32,
    height: Option<f32>,
}

impl VideoStats {
    /// Measures a video from its person track (one entry per frame).
    pub fn measure(track: &[Option<Person>], width: u32, height: u32) -> Result<Self> {
        let people: Vec<&Person> = track.iter().flatten().collect();
        let samples: Vec<Sample> = people
            .iter()
            .filter_map(|p| {
                let ankle = p.ankle()?;
                Some(Sample {
                    ankle_x: ankle.x,
                    ankle_y: ankle.y,
                    height: p.height().filter(|h| *h > 0.0),
                })
            })
            .collect();
        if samples.is_empty() {
            return Err(PoseError::Insufficient(format!(
                "cannot measure the video for pose normalization: none of its {} frames with a \
                 person shows an ankle",
                people.len()
            )));
        }
        if samples.iter().all(|s| s.height.is_none()) {
            return Err(PoseError::Insufficient(
                "cannot measure the video for pose normalization: no frame shows both the head \
                 (nose or ears) and an ankle"
                    .into(),
            ));
        }
        let mut ys: Vec<f32> = samples.iter().map(|s| s.ankle_y).collect();
        ys.sort_by(f32::total_cmp);
        let close_y = ys[ys.len() - 1];
        let median_y = ys[ys.len() / 2];
        let limit = FAR_OUTLIER_FRACTION * (close_y - median_y);
        let far_y = median_y
            - ys.iter()
                .map(|y| median_y - y)
                .filter(|d| *d > 0.0 && *d < limit)
                .fold(0.0, f32::max);
        let window = HEIGHT_WINDOW_FRACTION * (close_y - far_y);
        let mut xs: Vec<f32> = samples.iter().map(|s| s.ankle_x).collect();
        xs.sort_by(f32::total_cmp);
        Ok(Self {
            median_x: Some(xs[xs.len() / 2]),
            width,
            height,
            close_y,
            far_y,
            close_height: tallest_near(&samples, close_y, window),
            far_height: tallest_near(&samples, far_y, window),
            frames_with_ankles: samples.len(),
            frames_without_ankles: people.len() - samples.len(),
        })
    }

    /// Where between far (0) and close (1) an ankle at `y` stands.
    fn fraction(&self, y: f32) -> f32 {
        let range = self.close_y - self.far_y;
        if range > f32::EPSILON {
            (y - self.far_y) / range
        } else {
            1.0
        }
    }

    fn y_at(&self, fraction: f32) -> f32 {
        self.far_y + fraction * (self.close_y - self.far_y)
    }
}

/// The tallest height among samples with ankles within `window` of `y`; if none there has a
/// height, that of the sample nearest to `y` that has one (`measure` ensures one exists).
fn tallest_near(samples: &[Sample], y: f32, window: f32) -> f32 {
    let with_height = samples.iter().filter_map(|s| Some((s.ankle_y, s.height?)));
    let near = with_height
        .clone()
        .filter(|(ankle, _)| (ankle - y).abs() <= window)
        .map(|(_, h)| h)
        .fold(f32::NAN, f32::max);
    if !near.is_nan() {
        return near;
    }
    with_height
        .min_by(|a, b| (a.0 - y).abs().total_cmp(&(b.0 - y).abs()))
        .map_or(f32::NAN, |(_, h)| h)
}

/// The mapping from a source video to a target video's proportions and ground line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    pub source: VideoStats,
    pub target: VideoStats,
    pub scale_close: f32,
    pub scale_far: f32,
    /// Whether x is scaled about the dancers' median places, not the frame centres.
    #[serde(default)]
    pub align_x: bool,
}

/// What was done to one source frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FrameTransform {
    /// The source ankle y the transform was computed from.
    pub ankle_y: f32,
    /// Fraction of the way from the source's far line (0) to its close line (1).
    pub fraction: f32,
    pub scale: f32,
    /// The vertical shift of the ankles: target line at `fraction` minus `ankle_y`.
    pub translation_y: f32,
    /// Source and target horizontal centres (W/2): x maps about these.
    pub source_center_x: f32,
    pub target_center_x: f32,
}

impl FrameTransform {
    /// Scales about the ankles and the frame's centre line, then moves to the target's.
    pub fn apply(&self, person: &mut Person) {
        let t = *self;
        person.map_positions(|x, y| {
            (
                t.target_center_x + t.scale * (x - t.source_center_x),
                t.ankle_y + t.translation_y + t.scale * (y - t.ankle_y),
            )
        });
    }
}

/// The result of normalizing a track, with everything needed to repeat or audit it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalizedTrack {
    pub normalization: Normalization,
    /// Per frame: the transform used, `None` for frames without a person.
    pub transforms: Vec<Option<FrameTransform>>,
    /// Frames whose person showed no ankle and borrowed the nearest frame's transform.
    pub frames_without_ankles: Vec<usize>,
    #[serde(skip)]
    pub track: Vec<Option<Person>>,
}

impl Normalization {
    pub fn new(source: VideoStats, target: VideoStats) -> Self {
        Self {
            scale_close: target.close_height / source.close_height,
            scale_far: target.far_height / source.far_height,
            source,
            target,
            align_x: false,
        }
    }

    /// Scales x about the dancers' usual places (their median ankle x) rather than the
    /// frames' centres, so the source dances where the target stood in its video: a
    /// generator has only learnt the target where it was. The paper's mapping (about the
    /// frame centres) is the default.
    pub fn aligned_horizontally(mut self) -> Self {
        self.align_x = true;
        self
    }

    /// The source and target x that map onto each other: the dancers' median places when
    /// aligning and both are known, else the frames' centres.
    fn centers_x(&self) -> (f32, f32) {
        match (self.align_x, self.source.median_x, self.target.median_x) {
            (true, Some(source), Some(target)) => (source, target),
            _ => (
                self.source.width as f32 / 2.0,
                self.target.width as f32 / 2.0,
            ),
        }
    }

    /// The transform for a source frame whose ankles stand at `ankle_y`.
    ///
    /// Scale and position are linear in `fraction`, also outside [0, 1] (a jump stays a
    /// jump). Only a far extrapolation that would shrink the figure below a tenth of the
    /// smaller measured scale, or mirror it, is held there.
    pub fn transform_at(&self, ankle_y: f32) -> FrameTransform {
        let fraction = self.source.fraction(ankle_y);
        let floor = MIN_SCALE_FRACTION * self.scale_far.min(self.scale_close);
        let scale = (self.scale_far + fraction * (self.scale_close - self.scale_far)).max(floor);
        let (source_center_x, target_center_x) = self.centers_x();
        FrameTransform {
            ankle_y,
            fraction,
            scale,
            translation_y: self.target.y_at(fraction) - ankle_y,
            source_center_x,
            target_center_x,
        }
    }

    /// Normalizes a source track. Frames whose person shows no ankle are not dropped: they
    /// take the transform of the nearest frame (earlier first) that had one.
    pub fn apply(&self, track: &[Option<Person>]) -> NormalizedTrack {
        let own: Vec<Option<FrameTransform>> = track
            .iter()
            .map(|p| Some(self.transform_at(p.as_ref()?.ankle()?.y)))
            .collect();
        let mut transforms = vec![None; track.len()];
        let mut frames_without_ankles = Vec::new();
        let mut out = track.to_vec();
        for (t, person) in out.iter_mut().enumerate() {
            let Some(person) = person else { continue };
            let transform = match own[t] {
                Some(transform) => transform,
                None => {
                    frames_without_ankles.push(t);
                    match nearest(&own, t) {
                        Some(transform) => transform,
                        // Measuring the source needed at least one ankle, so this only
                        // happens for a track other than the one measured: leave it be.
                        None => continue,
                    }
                }
            };
            transform.apply(person);
            transforms[t] = Some(transform);
        }
        NormalizedTrack {
            normalization: self.clone(),
            transforms,
            frames_without_ankles,
            track: out,
        }
    }
}

/// The transform of the frame nearest to `t` that has one, earlier frames first on ties.
fn nearest(own: &[Option<FrameTransform>], t: usize) -> Option<FrameTransform> {
    (1..own.len()).find_map(|d| {
        let before = t.checked_sub(d).and_then(|s| own[s]);
        before.or_else(|| own.get(t + d).copied().flatten())
    })
}

/// Moves each frame's person sideways, as little as needed, so that every confident point
/// lies inside a frame `width` pixels wide (centred when the person is wider than the
/// frame). Returns the frames that were moved.
pub fn keep_inside(track: &mut [Option<Person>], width: u32) -> Vec<usize> {
    let width = width as f32;
    let mut moved = Vec::new();
    for (t, person) in track.iter_mut().enumerate() {
        let Some(person) = person else { continue };
        let xs = person
            .points()
            .filter(|p| p.is_confident(crate::keypoints::MIN_CONFIDENCE))
            .map(|p| p.x);
        let (left, right) = xs.fold((f32::MAX, f32::MIN), |(l, r), x| (l.min(x), r.max(x)));
        if left > right {
            continue;
        }
        let shift = if right - left > width {
            width / 2.0 - (left + right) / 2.0
        } else if left < 0.0 {
            -left
        } else if right > width {
            width - right
        } else {
            0.0
        };
        if shift != 0.0 {
            person.map_positions(|x, y| (x + shift, y));
            moved.push(t);
        }
    }
    moved
}
