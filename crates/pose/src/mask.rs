//! Where a person may be in a frame: the stick figure grown by a margin. It keeps the
//! person out of a background estimate and tells a compositing alpha where it may be 1.
//!
//! The mask is the set of pixels within the margin of the figure's lines: every limb and
//! hand bone as a capsule, every point as a disc, and the torso (the quadrilateral of
//! shoulders and hips, which the figure draws only as lines) filled. Face points are not
//! needed: the nose, eyes and ears grown by the margin cover the head.

use image::{GrayImage, Luma};

use crate::keypoints::{body, Keypoint, Person, MIN_CONFIDENCE};
use crate::render::{BODY_LIMBS, HAND_LIMBS, JOINT_RADIUS, POINT_MIN_CONFIDENCE, REFERENCE_HEIGHT};

/// Mask value where the person may be; everything else is 0.
pub const PERSON: u8 = 255;

/// Margin around the figure's lines as a fraction of the person's size (head to ankle):
/// about half a torso's width, so flesh, hair and loose clothes around the skeleton's
/// lines fall inside.
pub const DEFAULT_MASK_MARGIN: f32 = 0.12;

/// The torso's outline, in order around it.
const TORSO: [usize; 4] = [body::R_SHOULDER, body::L_SHOULDER, body::L_HIP, body::R_HIP];

/// [`PERSON`] where `person` may be in a `width` x `height` frame: within
/// `margin * size` (plus the figure's own joint radius) of the stick figure's lines,
/// where size is the person's head-to-ankle height, or the larger side of its seen body
/// points when head or ankles are missing. Empty when no body point is seen.
pub fn person_mask(person: &Person, width: u32, height: u32, margin: f32) -> GrayImage {
    let mut mask = GrayImage::new(width, height);
    let visible = |p: &&Keypoint| p.is_confident(POINT_MIN_CONFIDENCE);
    let Some(size) = person_size(person) else {
        return mask;
    };
    let figure_radius = JOINT_RADIUS * height as f32 / REFERENCE_HEIGHT;
    let radius = (margin.max(0.0) * size + figure_radius).max(0.5);

    for (a, b) in BODY_LIMBS {
        let (a, b) = (&person.body[a], &person.body[b]);
        if visible(&a) && visible(&b) {
            fill_capsule(&mut mask, *a, *b, radius);
        }
    }
    for hand in [&person.left_hand, &person.right_hand] {
        for (a, b) in HAND_LIMBS {
            let (a, b) = (&hand[a], &hand[b]);
            if visible(&a) && visible(&b) {
                fill_capsule(&mut mask, *a, *b, radius);
            }
        }
    }
    let points = person
        .body
        .iter()
        .chain(&person.left_hand)
        .chain(&person.right_hand);
    for p in points.filter(visible) {
        fill_capsule(&mut mask, *p, *p, radius);
    }

    let torso: Vec<Keypoint> = TORSO.iter().map(|&i| person.body[i]).collect();
    if torso.iter().all(|p| visible(&p)) {
        for (i, a) in torso.iter().enumerate() {
            fill_capsule(&mut mask, *a, torso[(i + 1) % torso.len()], radius);
        }
        // Two triangles along one diagonal cover the quadrilateral, convex or not.
        fill_triangle(&mut mask, [torso[0], torso[1], torso[2]]);
        fill_triangle(&mut mask, [torso[2], torso[3], torso[0]]);
    }
    mask
}

/// Head-to-ankle height, else the larger side of the seen body points' extent.
fn person_size(person: &Person) -> Option<f32> {
    if let Some(h) = person.height().filter(|h| *h > 0.0) {
        return Some(h);
    }
    let seen = person
        .body
        .iter()
        .filter(|k| k.is_confident(MIN_CONFIDENCE));
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for k in seen {
        (x0, y0, x1, y1) = (x0.min(k.x), y0.min(k.y), x1.max(k.x), y1.max(k.y));
    }
    (x0 <= x1).then(|| (x1 - x0).max(y1 - y0))
}

/// Marks the pixels whose centre lies within `radius` of the segment `a`-`b` (a disc when
/// the two are the same point). Pixel (x, y) has its centre at (x, y), as in `render`.
fn fill_capsule(mask: &mut GrayImage, a: Keypoint, b: Keypoint, radius: f32) {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let length_sq = dx * dx + dy * dy;
    let reach = |lo: f32, hi: f32, limit: u32| {
        let start = (lo - radius).floor().max(0.0);
        let end = (hi + radius).ceil().min(limit as f32 - 1.0);
        (start as i64, end as i64)
    };
    let (x0, x1) = reach(a.x.min(b.x), a.x.max(b.x), mask.width());
    let (y0, y1) = reach(a.y.min(b.y), a.y.max(b.y), mask.height());
    for y in y0..=y1 {
        for x in x0..=x1 {
            let (px, py) = (x as f32 - a.x, y as f32 - a.y);
            // The closest point of the segment, as a fraction of the way from a to b.
            let t = if length_sq > 0.0 {
                ((px * dx + py * dy) / length_sq).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let (ex, ey) = (px - t * dx, py - t * dy);
            if ex * ex + ey * ey <= radius * radius {
                mask.put_pixel(x as u32, y as u32, Luma([PERSON]));
            }
        }
    }
}

/// Marks the pixels whose centre lies inside the triangle (either winding).
fn fill_triangle(mask: &mut GrayImage, [a, b, c]: [Keypoint; 3]) {
    let edge = |p: Keypoint, q: Keypoint, x: f32, y: f32| {
        (q.x - p.x) * (y - p.y) - (q.y - p.y) * (x - p.x)
    };
    let x0 = a.x.min(b.x).min(c.x).floor().max(0.0) as i64;
    let y0 = a.y.min(b.y).min(c.y).floor().max(0.0) as i64;
    let x1 = (a.x.max(b.x).max(c.x).ceil() as i64).min(mask.width() as i64 - 1);
    let y1 = (a.y.max(b.y).max(c.y).ceil() as i64).min(mask.height() as i64 - 1);
    for y in y0..=y1 {
        for x in x0..=x1 {
            let (fx, fy) = (x as f32, y as f32);
            let sides = [edge(a, b, fx, fy), edge(b, c, fx, fy), edge(c, a, fx, fy)];
            let inside = sides.iter().all(|s| *s >= 0.0) || sides.iter().all(|s| *s <= 0.0);
            if inside {
                mask.put_pixel(x as u32, y as u32, Luma([PERSON]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A standing person 100 px high, centred at x = 50.
    fn standing() -> Person {
        let mut p = Person::default();
        for (i, x, y) in [
            (body::NOSE, 50.0, 20.0),
            (body::NECK, 50.0, 35.0),
            (body::R_SHOULDER, 40.0, 35.0),
            (body::L_SHOULDER, 60.0, 35.0),
            (body::R_ELBOW, 38.0, 55.0),
            (body::L_ELBOW, 62.0, 55.0),
            (body::MID_HIP, 50.0, 70.0),
            (body::R_HIP, 44.0, 70.0),
            (body::L_HIP, 56.0, 70.0),
            (body::R_ANKLE, 45.0, 120.0),
            (body::L_ANKLE, 55.0, 120.0),
        ] {
            p.body[i] = Keypoint::new(x, y, 0.9);
        }
        p
    }

    #[test]
    fn the_mask_grows_the_figure_by_the_margin_and_fills_the_torso() {
        let person = standing();
        let mask = person_mask(&person, 100, 140, 0.1);
        // Size: nose 20 to ankles 120 = 100 px; radius 10 + 8 * 140 / 1080.
        let radius = 10.0 + JOINT_RADIUS * 140.0 / REFERENCE_HEIGHT;
        let at = |x: u32, y: u32| mask.get_pixel(x, y).0[0];
        assert_eq!(at(50, 20), PERSON, "nose");
        assert_eq!(
            at(50, (20.0 - radius).ceil() as u32),
            PERSON,
            "top of the head"
        );
        assert_eq!(
            at(50, (20.0 - radius).floor() as u32 - 1),
            0,
            "above the head"
        );
        // Between the hips and the elbows, left of the spine: inside the torso fill.
        assert_eq!(at(42, 62), PERSON);
        // Far to the side at hip height: outside.
        assert_eq!(at(5, 70), 0);
        assert_eq!(at(95, 70), 0);
        // Below the ankles by more than the radius.
        assert_eq!(at(50, 139), 0);
    }

    #[test]
    fn a_torso_wider_than_the_margin_is_filled() {
        let mut person = standing();
        // Shoulders and hips far apart: only the fill covers the torso's middle sides.
        for (i, x) in [
            (body::R_SHOULDER, 10.0),
            (body::L_SHOULDER, 90.0),
            (body::R_HIP, 10.0),
            (body::L_HIP, 90.0),
        ] {
            person.body[i].x = x;
        }
        let mask = person_mask(&person, 100, 140, 0.0);
        assert_eq!(mask.get_pixel(25, 52).0[0], PERSON);
        assert_eq!(mask.get_pixel(75, 52).0[0], PERSON);
    }

    #[test]
    fn nobody_seen_gives_an_empty_mask() {
        let mask = person_mask(&Person::default(), 32, 32, DEFAULT_MASK_MARGIN);
        assert!(mask.pixels().all(|p| p.0[0] == 0));
    }

    #[test]
    fn points_past_the_frame_are_clipped() {
        let mut person = standing();
        person.map_positions(|x, y| (x - 60.0, y + 100.0));
        let mask = person_mask(&person, 40, 150, DEFAULT_MASK_MARGIN);
        assert_eq!(mask.get_pixel(0, 149).0[0], PERSON);
    }
}
