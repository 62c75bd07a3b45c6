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
        let (dx, dy) = (scale_point.0 - centre.0, scale_point.1 - centre.1);
        let size = 2.0 * (dx * dx + dy * dy).sqrt() * scale;
        Self {
            cx: centre.0,
            cy: centre.1,
            size,
            rotation: normalize_angle(FRAC_PI_2 - (-dy).atan2(dx)),
        }
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
    fn a_body_lying_to_the_right_turns_the_square_a_quarter() {
        // Scale point to the right of the centre: "up" in the ROI points along +x.
        let roi = Roi::from_alignment((0.0, 0.0), (10.0, 0.0), 1.0);
        assert!((roi.rotation - FRAC_PI_2).abs() < 1e-6);
        let (x, y) = roi.to_image(0.5, 0.0); // the top middle of the ROI
        assert!((x - 10.0).abs() < 1e-4 && y.abs() < 1e-4);
    }
}
