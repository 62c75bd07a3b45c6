//! The square around the face that the face GAN works on (docs/architecture.md section 5).

use serde::{Deserialize, Serialize};

use crate::keypoints::{body, Keypoint, Person};
use crate::render::REFERENCE_HEIGHT;

/// Half the side of the face box in a 1080-pixel-high image (the reference code's value).
pub const HALF_SIZE_AT_1080P: f32 = 70.0;

/// A square in pixels: top-left corner and side, inside the image it was made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaceBox {
    pub x: u32,
    pub y: u32,
    pub size: u32,
}

impl FaceBox {
    /// The box centred on the nose, else on the ears' midpoint, sized for an image of
    /// `height`, and moved (not shrunk) to lie inside a `width` x `height` image. `None`
    /// when neither nose nor both ears are seen, the centre lies outside the image, or
    /// the box cannot fit.
    pub fn of(person: &Person, width: u32, height: u32) -> Option<Self> {
        let seen = |i: usize| person.seen(i);
        let centre = seen(body::NOSE)
            .or_else(|| Keypoint::midpoint(seen(body::L_EAR)?, seen(body::R_EAR)?))?;
        if !(0.0..width as f32).contains(&centre.x) || !(0.0..height as f32).contains(&centre.y) {
            return None;
        }
        let size = Self::side_for_height(height);
        let half = (size / 2) as f32;
        if size > width || size > height {
            return None;
        }
        let corner =
            |c: f32, limit: u32| (c - half).round().clamp(0.0, (limit - size) as f32) as u32;
        Some(Self {
            x: corner(centre.x, width),
            y: corner(centre.y, height),
            size,
        })
    }

    /// The box's side in an image `height` pixels high.
    pub fn side_for_height(height: u32) -> u32 {
        2 * (HALF_SIZE_AT_1080P * height as f32 / REFERENCE_HEIGHT)
            .round()
            .max(1.0) as u32
    }

    /// Whether pixel (x, y) lies inside the box.
    pub fn contains(&self, x: u32, y: u32) -> bool {
        (self.x..self.x + self.size).contains(&x) && (self.y..self.y + self.size).contains(&y)
    }
}
