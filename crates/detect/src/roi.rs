//! Rotated square regions of interest, as MediaPipe's AlignmentPointsRects and
//! RectTransformation calculators build them, in image pixels.
//!
//! Coordinates here are continuous: the image spans [0, width] x [0, height] and pixel
//! `i` covers [i, i + 1). (OpenPose's pixel-index coordinates are these minus one half.)

use std::f32::consts::{FRAC_PI_2, PI};

/// A square of side `size` centred at (`cx`, `cy`), turned by `rotation` radians
/// (positive turns the square's "up" towards the image's right).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Roi {
    pub cx: f32,
    pub cy: f32,
    pub size: f32,
    pub rotation: f32,
}

impl Roi {
    /// The whole image, letterboxed into a square (what the person detector sees).
    pub fn whole_image(width: u32, height: u32) -> Self {
        Self {
            cx: width as f32 / 2.0,
            cy: height as f32 / 2.0,
            size: width.max(height) as f32,
            rotation: 0.0,
        }
    }

    /// Centred on `centre`, twice as large as its distance to `scale_point`, turned so that
    /// `scale_point` is straight up, then enlarged by `scale` (MediaPipe: 1.25 for bodies).
    pub fn from_alignment(centre: (f32, f32), scale_point: (f32, f32), scale: f32) -> Self {
        let size = 2.0 * distance(centre, scale_point) * scale;
        Self {
            cx: centre.0,
            cy: centre.1,
            size,
            rotation: rotation_towards(centre, scale_point, FRAC_PI_2),
        }
    }

    /// The square of the points' bounding box in a frame turned by `rotation`: centred on
    /// the box, as large as its longer side (MediaPipe's landmarks-to-rect, square_long).
    pub fn around(points: &[(f32, f32)], rotation: f32) -> Option<Self> {
        let (sin, cos) = rotation.sin_cos();
        // Coordinates in the turned frame: x along the square's right, y along its down.
        let turned = points
            .iter()
            .map(|&(x, y)| (cos * x + sin * y, -sin * x + cos * y));
        let (mut lo, mut hi) = ((f32::MAX, f32::MAX), (f32::MIN, f32::MIN));
        for (u, v) in turned {
            lo = (lo.0.min(u), lo.1.min(v));
            hi = (hi.0.max(u), hi.1.max(v));
        }
        if points.is_empty() {
            return None;
        }
        let (u, v) = ((lo.0 + hi.0) / 2.0, (lo.1 + hi.1) / 2.0);
        Some(Self {
            cx: cos * u - sin * v,
            cy: sin * u + cos * v,
            size: (hi.0 - lo.0).max(hi.1 - lo.1),
            rotation,
        })
    }

    /// Moved by (`dx`, `dy`) sides along the square's own axes, then scaled by `scale`
    /// (MediaPipe's RectTransformation: shift, then scale).
    pub fn transformed(self, dx: f32, dy: f32, scale: f32) -> Self {
        let (sin, cos) = self.rotation.sin_cos();
        Self {
            cx: self.cx + self.size * (cos * dx - sin * dy),
            cy: self.cy + self.size * (sin * dx + cos * dy),
            size: self.size * scale,
            rotation: self.rotation,
        }
    }

    /// Whether a model can look at this region: a finite size of more than a pixel.
    pub fn is_usable(&self) -> bool {
        self.size.is_finite() && self.size > 1.0
    }

    /// Where a point at (u, v) in the unit square of the ROI lies in the image.
    pub fn to_image(&self, u: f32, v: f32) -> (f32, f32) {
        let (x, y) = (u - 0.5, v - 0.5);
        let (sin, cos) = self.rotation.sin_cos();
        (
            self.cx + self.size * (cos * x - sin * y),
            self.cy + self.size * (sin * x + cos * y),
        )
    }
}

/// The distance between two points.
pub fn distance(a: (f32, f32), b: (f32, f32)) -> f32 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

/// The rotation that turns the direction `from` -> `to` to `target` radians
/// (counter-clockwise from the image's x axis, y up), as MediaPipe computes it.
pub fn rotation_towards(from: (f32, f32), to: (f32, f32), target: f32) -> f32 {
    normalize_angle(target - (-(to.1 - from.1)).atan2(to.0 - from.0))
}

fn normalize_angle(angle: f32) -> f32 {
    angle - 2.0 * PI * ((angle + PI) / (2.0 * PI)).floor()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upright_body_gives_an_unrotated_square() {
        let roi = Roi::from_alignment((100.0, 200.0), (100.0, 120.0), 1.25);
        assert!(roi.rotation.abs() < 1e-6);
        assert_eq!(roi.size, 200.0);
        assert_eq!(roi.to_image(0.5, 0.5), (100.0, 200.0));
        assert_eq!(roi.to_image(0.0, 0.0), (0.0, 100.0));
    }

    #[test]
    fn around_and_transformed_follow_the_squares_axes() {
        let roi = Roi::around(&[(0.0, 0.0), (10.0, 4.0)], 0.0).unwrap();
        assert_eq!(
            roi,
            Roi {
                cx: 5.0,
                cy: 2.0,
                size: 10.0,
                rotation: 0.0
            }
        );
        let moved = roi.transformed(0.0, -0.1, 2.0);
        assert_eq!(
            moved,
            Roi {
                cx: 5.0,
                cy: 1.0,
                size: 20.0,
                rotation: 0.0
            }
        );
        // Turned a quarter: the square's "up" is the image's +x.
        let turned = Roi {
            rotation: FRAC_PI_2,
            ..roi
        }
        .transformed(0.0, -0.1, 1.0);
        assert!((turned.cx - 6.0).abs() < 1e-5 && (turned.cy - 2.0).abs() < 1e-5);
    }

    #[test]
    fn a_body_lying_to_the_right_turns_the_square_a_quarter() {
        // Scale point to the right of the centre: "up" in the ROI points along +x.
        let roi = Roi::from_alignment((0.0, 0.0), (10.0, 0.0), 1.0);
        assert!((roi.rotation - FRAC_PI_2).abs() < 1e-6);
        let (x, y) = roi.to_image(0.5, 0.0); // the top middle of the ROI
        assert!((x - 10.0).abs() < 1e-4 && y.abs() < 1e-4);
    }
}
