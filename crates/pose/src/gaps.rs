//! Short gaps in one person's track filled in: a few frames where the detector lost the
//! person, between two frames where the same person stands (no jump beyond
//! [`crate::smooth::MAX_JUMP`]), get the points seen on both sides, moved linearly
//! between them. Longer gaps, gaps at either end, and gaps between two different people
//! stay empty: a guess there would draw someone who is not in the video.

use crate::keypoints::{Keypoint, Person, MIN_CONFIDENCE};
use crate::smooth::within_jump;

/// The longest gap, in frames, that is filled: a tenth of a second at 30 fps, about what
/// a fast arm swing or a blink of the detector costs.
pub const MAX_FILLED_GAP: usize = 3;

/// Fills the gaps of at most `max_gap` frames in `track` (one entry per frame; `None`
/// where nobody was found) and returns the frames filled. A filled frame holds the points
/// confident on both sides of the gap, with the lower of the two confidences; the other
/// points are missing.
pub fn fill_short_gaps(track: &mut [Option<Person>], max_gap: usize) -> Vec<usize> {
    let mut filled = Vec::new();
    let mut before: Option<usize> = None;
    for t in 0..track.len() {
        if track[t].is_none() {
            continue;
        }
        if let Some(start) = before {
            let gap = t - start - 1;
            if (1..=max_gap).contains(&gap) {
                if let Some(frames) = fill(track, start, t) {
                    filled.extend(frames);
                }
            }
        }
        before = Some(t);
    }
    filled
}

/// Fills the frames strictly between `start` and `end` (both with a person) when both
/// sides show the same person.
fn fill(track: &mut [Option<Person>], start: usize, end: usize) -> Option<std::ops::Range<usize>> {
    let (Some(a), Some(b)) = (&track[start], &track[end]) else {
        return None;
    };
    // Unknown is not the same: a gap is filled only between people known to match.
    if within_jump(a, b) != Some(true) {
        return None;
    }
    let (a, b) = (a.clone(), b.clone());
    let span = (end - start) as f32;
    for (t, slot) in track.iter_mut().enumerate().take(end).skip(start + 1) {
        let along = (t - start) as f32 / span;
        let mut person = Person::default();
        for ((p, from), to) in person.points_mut().zip(a.points()).zip(b.points()) {
            if from.is_confident(MIN_CONFIDENCE) && to.is_confident(MIN_CONFIDENCE) {
                *p = Keypoint::new(
                    from.x + along * (to.x - from.x),
                    from.y + along * (to.y - from.y),
                    from.confidence.min(to.confidence),
                );
            }
        }
        *slot = Some(person);
    }
    Some(start + 1..end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keypoints::body;
    use crate::smooth::Smoothing;

    /// A standing person (300 px tall) with the neck at (`x`, 130).
    fn person_at(x: f32) -> Option<Person> {
        let mut p = Person::default();
        p.body[body::NOSE] = Keypoint::new(x, 100.0, 0.9);
        p.body[body::NECK] = Keypoint::new(x, 130.0, 0.8);
        p.body[body::MID_HIP] = Keypoint::new(x, 200.0, 0.9);
        p.body[body::R_ANKLE] = Keypoint::new(x - 10.0, 300.0, 0.9);
        p.body[body::L_ANKLE] = Keypoint::new(x + 10.0, 300.0, 0.9);
        Some(p)
    }

    fn point(track: &[Option<Person>], t: usize, k: usize) -> Keypoint {
        track[t].as_ref().expect("a person").body[k]
    }

    #[test]
    fn a_short_gap_is_filled_linearly_with_the_points_seen_on_both_sides() {
        let mut track = vec![person_at(100.0), None, None, person_at(130.0)];
        // The wrist is seen before the gap only; the neck is less sure after it.
        track[0].as_mut().unwrap().body[body::R_WRIST] = Keypoint::new(80.0, 200.0, 0.9);
        track[3].as_mut().unwrap().body[body::NECK].confidence = 0.6;
        assert_eq!(fill_short_gaps(&mut track, MAX_FILLED_GAP), vec![1, 2]);
        let body = |t: usize| track[t].as_ref().unwrap().body;
        assert_eq!(body(1)[body::NOSE], Keypoint::new(110.0, 100.0, 0.9));
        assert_eq!(body(2)[body::NOSE], Keypoint::new(120.0, 100.0, 0.9));
        assert_eq!(body(2)[body::NECK].confidence, 0.6);
        assert!(!body(1)[body::R_WRIST].is_present());
        // Frames with a person are untouched.
        assert_eq!(track[0].as_ref().unwrap().body[body::R_WRIST].x, 80.0);
    }

    #[test]
    fn long_gaps_and_gaps_at_the_ends_stay_empty() {
        let mut track = vec![None, person_at(100.0)];
        track.extend(vec![None; MAX_FILLED_GAP + 1]);
        track.push(person_at(100.0));
        track.push(None);
        let before = track.clone();
        assert!(fill_short_gaps(&mut track, MAX_FILLED_GAP).is_empty());
        assert_eq!(track, before);
    }

    #[test]
    fn no_point_is_put_on_a_line_between_two_different_people() {
        // One person at x = 100, a gap, another at x = 900; and a gap between someone
        // seen too little to tell who they are.
        let mut track = vec![person_at(100.0), person_at(100.0), None, None];
        track.extend([person_at(900.0), person_at(900.0), None]);
        let mut glimpse = Person::default();
        glimpse.body[body::NOSE] = Keypoint::new(500.0, 100.0, 0.9);
        track.push(Some(glimpse));
        assert!(fill_short_gaps(&mut track, MAX_FILLED_GAP).is_empty());
        for t in [2, 3, 6] {
            assert!(track[t].is_none(), "frame {t} stays empty");
        }
        // Smoothing afterwards keeps each person in place, too.
        let smooth = Smoothing::median(7).apply(&track);
        for (t, person) in smooth.iter().enumerate().take(6) {
            let Some(person) = person else { continue };
            let x = person.body[body::NOSE].x;
            assert!(x == 100.0 || x == 900.0, "frame {t}: nose at x = {x}");
        }
    }

    #[test]
    fn filled_frames_join_the_shot_that_smoothing_sees() {
        let mut track: Vec<_> = (0..4).map(|t| person_at(100.0 + t as f32)).collect();
        track.push(None);
        track.extend((5..9).map(|t| person_at(100.0 + t as f32)));
        fill_short_gaps(&mut track, MAX_FILLED_GAP);
        assert_eq!(point(&track, 4, body::NOSE).x, 104.0);
        assert_eq!(crate::smooth::shots(&track)[4], 0..9);
    }
}
