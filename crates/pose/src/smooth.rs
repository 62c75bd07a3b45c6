//! Keypoint smoothing over time, the paper's remedy for jitter.
//!
//! Each coordinate of each point is replaced by a statistic of the same point in nearby
//! frames: a median over a centred window (the reference code's 7 frames) or a Gaussian
//! average. Only frames where that point was detected with enough confidence take part,
//! so an undetected point (0, 0, 0) is never averaged in as a position at the origin, and
//! a point missing in a frame stays missing there.

use crate::keypoints::{Keypoint, Person, TOTAL_POINTS};

/// The reference code's median window, in frames.
pub const DEFAULT_MEDIAN_WINDOW: usize = 7;
/// Points below this confidence do not contribute to their neighbours' smoothing.
pub const DEFAULT_MIN_CONFIDENCE: f32 = 0.05;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Filter {
    /// Median over `window` frames centred on each frame (an even window acts as window + 1).
    Median { window: usize },
    /// Gaussian-weighted mean with this standard deviation in frames, cut at 3 sigma.
    Gaussian { sigma: f32 },
}

impl Default for Filter {
    fn default() -> Self {
        Self::Median {
            window: DEFAULT_MEDIAN_WINDOW,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Smoothing {
    pub filter: Filter,
    pub min_confidence: f32,
}

impl Default for Smoothing {
    fn default() -> Self {
        Self {
            filter: Filter::default(),
            min_confidence: DEFAULT_MIN_CONFIDENCE,
        }
    }
}

impl Smoothing {
    pub fn median(window: usize) -> Self {
        Self {
            filter: Filter::Median { window },
            ..Self::default()
        }
    }

    pub fn gaussian(sigma: f32) -> Self {
        Self {
            filter: Filter::Gaussian { sigma },
            ..Self::default()
        }
    }

    /// Frames on each side of the centre that take part.
    fn radius(&self) -> usize {
        match self.filter {
            Filter::Median { window } => window / 2,
            Filter::Gaussian { sigma } => (3.0 * sigma.max(0.0)).ceil() as usize,
        }
    }

    /// Smooths one person's track (one entry per frame; `None` where nobody was found).
    pub fn apply(&self, track: &[Option<Person>]) -> Vec<Option<Person>> {
        let flat: Vec<Option<Vec<Keypoint>>> = track
            .iter()
            .map(|p| p.as_ref().map(|p| p.points().copied().collect()))
            .collect();
        // A window wider than the track sees the whole track.
        let radius = self.radius().min(track.len());
        let shots = shots(track);
        let mut out = track.to_vec();
        let mut neighbours: Vec<(f32, Keypoint)> = Vec::with_capacity(2 * radius + 1);
        for (t, person) in out.iter_mut().enumerate() {
            let Some(person) = person else { continue };
            // The window stays inside the frame's shot: never across a gap or a jump.
            let shot = &shots[t];
            let window = t.saturating_sub(radius).max(shot.start)..(t + radius + 1).min(shot.end);
            for (k, point) in person.points_mut().enumerate().take(TOTAL_POINTS) {
                if !point.is_present() {
                    continue;
                }
                neighbours.clear();
                for s in window.clone() {
                    let Some(points) = &flat[s] else { continue };
                    if points[k].is_confident(self.min_confidence) {
                        neighbours.push((s as f32 - t as f32, points[k]));
                    }
                }
                if let Some((x, y)) = self.combine(&mut neighbours) {
                    (point.x, point.y) = (x, y);
                }
            }
        }
        out
    }

    fn combine(&self, neighbours: &mut [(f32, Keypoint)]) -> Option<(f32, f32)> {
        if neighbours.is_empty() {
            return None;
        }
        match self.filter {
            Filter::Median { .. } => {
                let mut xs: Vec<f32> = neighbours.iter().map(|(_, p)| p.x).collect();
                let mut ys: Vec<f32> = neighbours.iter().map(|(_, p)| p.y).collect();
                Some((median(&mut xs), median(&mut ys)))
            }
            Filter::Gaussian { sigma } => {
                let sigma = sigma.max(f32::EPSILON);
                let (mut x, mut y, mut total) = (0.0, 0.0, 0.0);
                for (offset, p) in neighbours.iter() {
                    let w = (-offset * offset / (2.0 * sigma * sigma)).exp();
                    x += w * p.x;
                    y += w * p.y;
                    total += w;
                }
                // Far neighbours of a tiny sigma can all weigh nothing.
                (total > 0.0).then(|| (x / total, y / total))
            }
        }
    }
}

/// How far a person's centre may move between consecutive frames, as a fraction of their
/// size, and still be the same shot: farther is another person, or a tracker that lost
/// them and found someone else.
pub const MAX_JUMP: f32 = 0.5;

/// For each frame, the run of consecutive frames ("shot") it belongs to: frames with a
/// person, unbroken by an empty frame or by a jump of more than [`MAX_JUMP`].
pub fn shots(track: &[Option<Person>]) -> Vec<std::ops::Range<usize>> {
    let mut ranges = vec![0..0; track.len()];
    let mut start = 0;
    for t in 0..=track.len() {
        let continues = t > 0
            && t < track.len()
            && match (&track[t - 1], &track[t]) {
                (Some(a), Some(b)) => same_shot(a, b),
                _ => false,
            };
        if !continues {
            for range in &mut ranges[start..t] {
                *range = start..t;
            }
            start = t;
        }
    }
    ranges
}

fn same_shot(a: &Person, b: &Person) -> bool {
    // Too few points to tell a person from a glitch: keep them together.
    within_jump(a, b).unwrap_or(true)
}

/// Whether `b` stands within [`MAX_JUMP`] of `a` (the same person, not someone else);
/// `None` when either shows too few points to tell.
pub(crate) fn within_jump(a: &Person, b: &Person) -> Option<bool> {
    let ((a, a_size), (b, b_size)) = (anchor(a)?, anchor(b)?);
    Some((a.0 - b.0).hypot(a.1 - b.1) <= MAX_JUMP * a_size.max(b_size))
}

/// Fewest seen body points for a person's place and size to be judged.
const ANCHOR_POINTS: usize = 4;

/// A person's place (the median of their seen body points, which one stray point does not
/// move) and size (the longer side of the box around them).
fn anchor(person: &Person) -> Option<((f32, f32), f32)> {
    let seen: Vec<&Keypoint> = person
        .body
        .iter()
        .filter(|p| p.is_confident(crate::keypoints::MIN_CONFIDENCE))
        .collect();
    if seen.len() < ANCHOR_POINTS {
        return None;
    }
    let mut xs: Vec<f32> = seen.iter().map(|p| p.x).collect();
    let mut ys: Vec<f32> = seen.iter().map(|p| p.y).collect();
    let size = person.body_box().map_or(0.0, |b| b.size());
    Some(((median(&mut xs), median(&mut ys)), size))
}

/// The median of a non-empty list; the mean of the middle two for an even count.
fn median(values: &mut [f32]) -> f32 {
    values.sort_by(f32::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keypoints::body;

    fn nose_at(x: f32, y: f32, confidence: f32) -> Option<Person> {
        let mut p = Person::default();
        p.body[body::NOSE] = Keypoint::new(x, y, confidence);
        Some(p)
    }

    fn nose(track: &[Option<Person>], t: usize) -> Keypoint {
        track[t].as_ref().unwrap().body[body::NOSE]
    }

    #[test]
    fn smoothing_never_mixes_poses_across_a_gap_or_a_jump() {
        // One person at x = 100, a gap, another at x = 500, then a jump to x = 900.
        let mut track: Vec<_> = (0..4).map(|_| person_at(100.0)).collect();
        track.push(None);
        track.extend((0..4).map(|_| person_at(500.0)));
        track.extend((0..4).map(|_| person_at(900.0)));
        for smoothing in [Smoothing::median(7), Smoothing::gaussian(2.0)] {
            let smooth = smoothing.apply(&track);
            for (t, person) in smooth.iter().enumerate() {
                let Some(person) = person else { continue };
                let want = track[t].as_ref().unwrap().body[body::NOSE].x;
                let got = person.body[body::NOSE].x;
                assert!((got - want).abs() < 1e-3, "frame {t}: {got}, not {want}");
            }
        }
        let shots = shots(&track);
        assert_eq!(
            (shots[0].clone(), shots[5].clone(), shots[9].clone()),
            (0..4, 5..9, 9..13)
        );
    }

    fn person_at(x: f32) -> Option<Person> {
        let mut p = Person::default();
        p.body[body::NOSE] = Keypoint::new(x, 100.0, 0.9);
        p.body[body::NECK] = Keypoint::new(x, 130.0, 0.9);
        p.body[body::MID_HIP] = Keypoint::new(x, 200.0, 0.9);
        p.body[body::R_ANKLE] = Keypoint::new(x - 10.0, 300.0, 0.9);
        p.body[body::L_ANKLE] = Keypoint::new(x + 10.0, 300.0, 0.9);
        Some(p)
    }

    #[test]
    fn median_removes_a_single_frame_spike() {
        let mut track: Vec<_> = (0..9).map(|t| nose_at(t as f32, 100.0, 0.9)).collect();
        track[4] = nose_at(4.0, 500.0, 0.9);
        let smooth = Smoothing::median(7).apply(&track);
        assert_eq!(nose(&smooth, 4).y, 100.0);
        // A linear motion survives a median untouched away from the ends.
        assert_eq!(nose(&smooth, 4).x, 4.0);
        assert_eq!(nose(&smooth, 4).confidence, 0.9);
    }

    #[test]
    fn missing_points_are_not_smoothed_into_zeros() {
        let mut track: Vec<_> = (0..7).map(|_| nose_at(50.0, 60.0, 0.8)).collect();
        track[2] = nose_at(0.0, 0.0, 0.0);
        track[3] = None;
        track[5] = nose_at(0.0, 0.0, 0.0);
        for smoothing in [Smoothing::median(7), Smoothing::gaussian(2.0)] {
            let smooth = smoothing.apply(&track);
            for t in [0, 1, 4, 6] {
                let p = nose(&smooth, t);
                assert!(
                    (p.x - 50.0).abs() < 1e-4 && (p.y - 60.0).abs() < 1e-4,
                    "{smoothing:?}"
                );
            }
            // Still missing where it was missing, and no person invented.
            assert!(!nose(&smooth, 2).is_present());
            assert!(smooth[3].is_none());
        }
    }

    #[test]
    fn low_confidence_points_take_their_confident_neighbours_position() {
        let mut track: Vec<_> = (0..5).map(|_| nose_at(10.0, 10.0, 0.9)).collect();
        track[2] = nose_at(90.0, 90.0, 0.01);
        let smooth = Smoothing::median(5).apply(&track);
        assert_eq!((nose(&smooth, 2).x, nose(&smooth, 2).y), (10.0, 10.0));
    }

    #[test]
    fn extreme_settings_neither_panic_nor_make_nan() {
        let mut track: Vec<_> = (0..5).map(|t| nose_at(t as f32, 0.0, 0.9)).collect();
        track[2] = nose_at(2.0, 0.0, 0.01);
        for smoothing in [
            Smoothing::median(usize::MAX),
            Smoothing::gaussian(1e30),
            Smoothing::gaussian(0.01),
        ] {
            let smooth = smoothing.apply(&track);
            assert!(
                smooth
                    .iter()
                    .flatten()
                    .all(|p| p.body[body::NOSE].x.is_finite()),
                "{smoothing:?}"
            );
        }
    }

    #[test]
    fn gaussian_weights_near_frames_more() {
        let track = vec![
            nose_at(0.0, 0.0, 1.0),
            nose_at(10.0, 0.0, 1.0),
            nose_at(0.0, 0.0, 1.0),
        ];
        let smooth = Smoothing::gaussian(1.0).apply(&track);
        // Centre: (0 * w1 + 10 * 1 + 0 * w1) / (1 + 2 w1) with w1 = exp(-1/2).
        let w1 = (-0.5f32).exp();
        let expected = 10.0 / (1.0 + 2.0 * w1);
        assert!((nose(&smooth, 1).x - expected).abs() < 1e-5);
        // Ends see only one neighbour each side of the track.
        let end = 10.0 * w1 / (1.0 + w1 + (-2.0f32).exp());
        assert!((nose(&smooth, 0).x - end).abs() < 1e-5);
    }
}
