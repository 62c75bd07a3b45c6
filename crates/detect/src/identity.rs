//! Whom to follow when the detector runs: at the start, the largest person (or the one at
//! the point the user gave); after a loss, only someone where and as big as the followed
//! person was last seen, never the nearest or largest stranger.
//!
//! The followed person may have moved while lost (a flip, an occlusion), so the distance
//! allowed grows with the time since they were last seen (in seconds, whatever the frame
//! rate); after [`LONG_GAP_SECONDS`] anyone may be taken up again, the best fitting first.

use crate::roi::{distance, Roi};

/// How far from where they were last seen the followed person may be found on the very
/// next frame, in region sizes (the region is about 1.25 body heights).
pub const NEAR: f32 = 0.5;
/// How much farther, in region sizes, each second since the loss allows: 0.6 sizes (about
/// 0.75 body heights), a walk. Measured on the sports2d sample: the woman walking by is
/// 1.4 to 1.5 of the man's sizes from where he was lost, and is not taken within a second.
pub const GROWTH_PER_SECOND: f32 = 0.6;
/// After this many seconds without the followed person, anyone may be taken up again
/// (the best fitting first): they may have walked anywhere.
pub const LONG_GAP_SECONDS: f32 = 3.0;
/// The frame rate assumed until the caller gives one (independent images, say).
pub const DEFAULT_FPS: f32 = 30.0;
/// The followed person's region may not grow or shrink by more than this since last seen.
pub const MAX_SIZE_RATIO: f32 = 2.0;
/// The detector's regions are 1.2 to 2 times larger than those the landmark model gives
/// for the same person (measured on the sports2d sample); its sizes are compared with
/// this much more slack.
pub const DETECTOR_SIZE_SLACK: f32 = 2.0;

/// Where and how big the followed person was last seen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LastSeen {
    /// The region's centre (the hips), in pixels.
    pub centre: (f32, f32),
    /// The region's side; `None` when only a place is known (the user's point).
    pub size: Option<f32>,
    /// Frames since they were seen: 1 on the frame after.
    pub frames_ago: u32,
}

impl LastSeen {
    /// The user's point: follow whoever is there.
    pub fn point(x: f32, y: f32) -> Self {
        Self {
            centre: (x, y),
            size: None,
            frames_ago: 0,
        }
    }

    /// Seen just now in `roi`.
    pub fn at(roi: &Roi) -> Self {
        Self {
            centre: (roi.cx, roi.cy),
            size: Some(roi.size),
            frames_ago: 0,
        }
    }

    /// Whether they have been lost so long, at `fps` frames a second, that anyone may be
    /// them.
    fn long_gap(&self, fps: f32) -> bool {
        self.frames_ago as f32 >= LONG_GAP_SECONDS * fps
    }

    /// How far from the last place, in pixels, someone of `size` may be and be them, at
    /// `fps` frames a second.
    fn reach(&self, size: f32, fps: f32) -> f32 {
        if self.long_gap(fps) {
            f32::INFINITY
        } else {
            size * (NEAR + GROWTH_PER_SECOND * self.frames_ago as f32 / fps)
        }
    }

    /// How badly `roi` fits: 0 for the same place and size, up to 2 at the limits; `None`
    /// when it cannot be the followed person. `slack` widens the size ratio allowed.
    fn misfit(&self, roi: &Roi, slack: f32, fps: f32) -> Option<f32> {
        let away = distance(self.centre, (roi.cx, roi.cy));
        let Some(size) = self.size else {
            // The user's point must lie on the person: within their region.
            return (away <= roi.size / 2.0).then_some(away / roi.size);
        };
        let ratio = (roi.size / size).max(size / roi.size);
        let max_ratio = MAX_SIZE_RATIO * slack;
        // The smaller of the two sizes: one frame's region stretched by raised arms or a
        // poor fit must not widen the reach to a stranger.
        let size = size.min(roi.size);
        let long_gap = self.long_gap(fps);
        if !long_gap && (away > self.reach(size, fps) || ratio > max_ratio || ratio.is_nan()) {
            return None;
        }
        // Distance in sizes stands for the reach after a long gap.
        let reach = if long_gap {
            size
        } else {
            self.reach(size, fps)
        };
        Some(away / reach + ratio.ln() / max_ratio.ln())
    }
}

/// Whom the tracker follows: where and how big they were last seen, if anywhere.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Identity {
    last: Option<LastSeen>,
    /// Frames a second: how much time a frame without them is.
    fps: f32,
}

impl Default for Identity {
    fn default() -> Self {
        Self {
            last: None,
            fps: DEFAULT_FPS,
        }
    }
}

impl Identity {
    /// Follows whoever stands at (`x`, `y`) when the detector first finds them there.
    pub fn at_point(x: f32, y: f32) -> Self {
        Self {
            last: Some(LastSeen::point(x, y)),
            ..Self::default()
        }
    }

    /// Frames come at `fps` a second (ignored unless finite and positive).
    pub fn with_frame_rate(self, fps: f64) -> Self {
        let fps = fps as f32;
        Self {
            fps: if fps.is_finite() && fps > 0.0 {
                fps
            } else {
                self.fps
            },
            ..self
        }
    }

    pub fn frame_rate(&self) -> f32 {
        self.fps
    }

    pub fn last_seen(&self) -> Option<&LastSeen> {
        self.last.as_ref()
    }

    /// A new frame: one more since the followed person was seen.
    pub fn next_frame(&mut self) {
        if let Some(last) = &mut self.last {
            last.frames_ago = last.frames_ago.saturating_add(1);
        }
    }

    /// The followed person is in `roi` on this frame.
    pub fn seen(&mut self, roi: &Roi) {
        self.last = Some(LastSeen::at(roi));
    }

    /// The candidates (the detector's regions) that may be the followed person, best
    /// fitting first; with nobody followed yet, everyone, largest first.
    pub fn ranked(&self, candidates: &[Roi]) -> Vec<usize> {
        let mut order: Vec<(usize, f32)> = candidates
            .iter()
            .enumerate()
            .filter(|(_, roi)| roi.is_usable())
            .filter_map(|(i, roi)| match &self.last {
                Some(last) => last
                    .misfit(roi, DETECTOR_SIZE_SLACK, self.fps)
                    .map(|m| (i, m)),
                None => Some((i, -roi.size)),
            })
            .collect();
        order.sort_by(|a, b| a.1.total_cmp(&b.1));
        order.into_iter().map(|(i, _)| i).collect()
    }

    /// Whether the landmark model's region for a candidate (the next frame's region) fits
    /// where and how big the followed person was last seen.
    pub fn fits(&self, roi: &Roi) -> bool {
        match &self.last {
            Some(last @ LastSeen { size: Some(_), .. }) => {
                last.misfit(roi, 1.0, self.fps).is_some()
            }
            // Nobody followed yet, or only the user's point: the detection was checked.
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roi(cx: f32, cy: f32, size: f32) -> Roi {
        Roi {
            cx,
            cy,
            size,
            rotation: 0.0,
        }
    }

    /// The frames of a long gap at the default 30 fps.
    const LONG_GAP: u32 = 90;

    /// Followed, last seen in (`cx`, `cy`, `size`) `frames_ago` frames before, at 30 fps.
    fn seen(cx: f32, cy: f32, size: f32, frames_ago: u32) -> Identity {
        seen_at(30.0, cx, cy, size, frames_ago)
    }

    fn seen_at(fps: f64, cx: f32, cy: f32, size: f32, frames_ago: u32) -> Identity {
        let mut identity = Identity::default().with_frame_rate(fps);
        identity.seen(&roi(cx, cy, size));
        for _ in 0..frames_ago {
            identity.next_frame();
        }
        identity
    }

    #[test]
    fn at_the_start_the_largest_comes_first() {
        let people = [roi(100.0, 100.0, 50.0), roi(500.0, 100.0, 200.0)];
        assert_eq!(Identity::default().ranked(&people), vec![1, 0]);
    }

    #[test]
    fn the_users_point_picks_the_person_standing_there_or_nobody() {
        let people = [roi(100.0, 100.0, 50.0), roi(500.0, 100.0, 200.0)];
        assert_eq!(Identity::at_point(110.0, 90.0).ranked(&people), vec![0]);
        // Between the two, on neither: nobody yet.
        assert!(Identity::at_point(300.0, 100.0).ranked(&people).is_empty());
    }

    #[test]
    fn a_stranger_far_away_is_not_taken_soon_after_a_loss() {
        let stranger = [roi(300.0, 100.0, 100.0)];
        assert!(seen(100.0, 100.0, 100.0, 1).ranked(&stranger).is_empty());
        // Two sizes away is within reach after 76 frames; farther only after a long gap.
        assert_eq!(seen(100.0, 100.0, 100.0, 76).ranked(&stranger), vec![0]);
        let far = [roi(1500.0, 900.0, 100.0)];
        assert!(seen(100.0, 100.0, 100.0, 76).ranked(&far).is_empty());
        assert_eq!(seen(100.0, 100.0, 100.0, LONG_GAP).ranked(&far), vec![0]);
    }

    /// The reach grows with seconds, not frames: at 60 fps the same 76 frames are 1.27 s,
    /// and two sizes away is within reach only after the same 2.5 s (152 frames).
    #[test]
    fn the_reach_grows_with_time_whatever_the_frame_rate() {
        let stranger = [roi(300.0, 100.0, 100.0)];
        assert!(seen_at(60.0, 100.0, 100.0, 100.0, 76)
            .ranked(&stranger)
            .is_empty());
        assert_eq!(
            seen_at(60.0, 100.0, 100.0, 100.0, 152).ranked(&stranger),
            vec![0]
        );
        let far = [roi(1500.0, 900.0, 100.0)];
        assert!(seen_at(60.0, 100.0, 100.0, 100.0, LONG_GAP)
            .ranked(&far)
            .is_empty());
        assert_eq!(
            seen_at(60.0, 100.0, 100.0, 100.0, 2 * LONG_GAP).ranked(&far),
            vec![0]
        );
        // A rate that is no rate keeps the default.
        assert_eq!(
            Identity::default().with_frame_rate(f64::NAN).frame_rate(),
            30.0
        );
    }

    #[test]
    fn the_best_fitting_comes_first_and_a_much_smaller_person_not_at_all() {
        let people = [
            roi(140.0, 100.0, 100.0),
            roi(110.0, 100.0, 110.0),
            roi(100.0, 100.0, 10.0),
        ];
        assert_eq!(seen(100.0, 100.0, 100.0, 3).ranked(&people), vec![1, 0]);
        // After a long gap, still the best fitting first: place and size.
        assert_eq!(
            seen(100.0, 100.0, 100.0, LONG_GAP).ranked(&people),
            vec![1, 0, 2]
        );
    }

    #[test]
    fn the_landmark_models_region_is_held_to_the_tighter_size_ratio() {
        let last = seen(100.0, 100.0, 100.0, 1);
        let bigger = roi(100.0, 100.0, 300.0);
        assert!(!last.fits(&bigger));
        assert_eq!(last.ranked(&[bigger]), vec![0]);
        assert!(last.fits(&roi(120.0, 100.0, 150.0)));
        assert!(Identity::default().fits(&bigger));
        assert!(Identity::at_point(0.0, 0.0).fits(&bigger));
    }

    /// Two people: the followed one walks right from x = 200 and vanishes for 5 frames
    /// (behind something) while the other stands at x = 900; then they come back.
    #[test]
    fn the_followed_person_vanishes_for_five_frames_and_is_taken_up_again() {
        // The other is a little smaller: the followed one is the largest at the start.
        let other = roi(900.0, 400.0, 280.0);
        let followed = |t: usize| roi(200.0 + 8.0 * t as f32, 400.0, 300.0);
        let hidden = 10..15;
        let mut identity = Identity::default();
        let mut track = Vec::new();
        for t in 0..25 {
            identity.next_frame();
            let mut candidates = vec![other];
            if !hidden.contains(&t) {
                // The detector's order is by score, not by who is who.
                candidates.insert(t % 2, followed(t));
            }
            let chosen = identity.ranked(&candidates).first().map(|&i| candidates[i]);
            if let Some(roi) = &chosen {
                identity.seen(roi);
            }
            track.push(chosen);
        }
        for (t, chosen) in track.iter().enumerate() {
            if hidden.contains(&t) {
                assert_eq!(*chosen, None, "frame {t}: nobody, not the other person");
            } else {
                assert_eq!(*chosen, Some(followed(t)), "frame {t}");
            }
        }
    }
}
