//! The fixed window of a video that frames the target person in every frame, scaled to
//! the training size. One window per video (not per frame), so the camera stays still in
//! the training data as it does in the video.

use image::{imageops, Rgb, RgbImage};
use serde::{Deserialize, Serialize};

use crate::error::{PoseError, Result};
use crate::keypoints::{Person, MIN_CONFIDENCE};

/// Room around the person's extent, as a fraction of its height, on every side.
pub const DEFAULT_MARGIN: f32 = 0.1;

/// A window in source pixels (it may reach past the frame: those pixels repeat the
/// frame's edge) and the output size it is scaled to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CropWindow {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
    pub out_width: u32,
    pub out_height: u32,
}

impl CropWindow {
    /// The smallest window of the output's aspect ratio that holds every confident body
    /// point of the track plus `margin`, centred on that extent and kept inside the frame
    /// where it fits.
    pub fn around(
        track: &[Option<Person>],
        frame_width: u32,
        frame_height: u32,
        out_width: u32,
        out_height: u32,
        margin: f32,
    ) -> Result<Self> {
        let points = track
            .iter()
            .flatten()
            .flat_map(|p| p.body.iter())
            .filter(|k| k.is_confident(MIN_CONFIDENCE));
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for k in points {
            (x0, y0, x1, y1) = (x0.min(k.x), y0.min(k.y), x1.max(k.x), y1.max(k.y));
        }
        if x0 > x1 {
            return Err(PoseError::Insufficient(
                "no confident body point in any frame, so there is no person to frame".into(),
            ));
        }
        let pad = margin * (y1 - y0).max(x1 - x0).max(1.0);
        let (w, h) = (x1 - x0 + 2.0 * pad, y1 - y0 + 2.0 * pad);
        let aspect = out_width as f32 / out_height as f32;
        let (width, height) = if w / h > aspect {
            (w, w / aspect)
        } else {
            (h * aspect, h)
        };
        let place = |centre: f32, size: f32, limit: u32| {
            let start = centre - size / 2.0;
            if size <= limit as f32 {
                start.clamp(0.0, limit as f32 - size)
            } else {
                start
            }
        };
        Ok(Self {
            x: place((x0 + x1) / 2.0, width, frame_width),
            y: place((y0 + y1) / 2.0, height, frame_height),
            width,
            height,
            out_width,
            out_height,
        })
    }

    /// Output pixels per source pixel.
    pub fn scale(&self) -> f32 {
        self.out_width as f32 / self.width
    }

    /// Moves a person from source pixels into the output image's pixels.
    pub fn map(&self, person: &mut Person) {
        let s = self.scale();
        person.map_positions(|x, y| ((x - self.x) * s, (y - self.y) * s));
    }

    /// The window of `frame`, resized to the output size with area-averaging filtering.
    pub fn crop(&self, frame: &RgbImage) -> RgbImage {
        let (fw, fh) = (frame.width() as f32, frame.height() as f32);
        // The part of the window inside the frame, in whole source pixels.
        let left = self.x.max(0.0).floor();
        let top = self.y.max(0.0).floor();
        let right = (self.x + self.width).min(fw).ceil();
        let bottom = (self.y + self.height).min(fh).ceil();
        let s = self.scale();
        let mut out = RgbImage::from_pixel(self.out_width, self.out_height, Rgb([0, 0, 0]));
        if right <= left || bottom <= top {
            return out;
        }
        let inside = imageops::crop_imm(
            frame,
            left as u32,
            top as u32,
            (right - left) as u32,
            (bottom - top) as u32,
        )
        .to_image();
        // Where the inside part lands in the output, clamped to it.
        let ox = ((left - self.x) * s).round().max(0.0) as u32;
        let oy = ((top - self.y) * s).round().max(0.0) as u32;
        let ow = (((right - left) * s).round() as u32)
            .clamp(1, self.out_width - ox.min(self.out_width - 1));
        let oh = (((bottom - top) * s).round() as u32)
            .clamp(1, self.out_height - oy.min(self.out_height - 1));
        let resized = imageops::resize(&inside, ow, oh, imageops::FilterType::Triangle);
        imageops::replace(&mut out, &resized, ox as i64, oy as i64);
        // Outside the frame: repeat the nearest edge pixel of the placed part.
        let (ox1, oy1) = (ox + ow - 1, oy + oh - 1);
        for y in 0..self.out_height {
            for x in 0..self.out_width {
                if (ox..=ox1).contains(&x) && (oy..=oy1).contains(&y) {
                    continue;
                }
                let px = *resized.get_pixel(x.clamp(ox, ox1) - ox, y.clamp(oy, oy1) - oy);
                out.put_pixel(x, y, px);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keypoints::{body, Keypoint};

    fn person(points: &[(usize, f32, f32)]) -> Person {
        let mut p = Person::default();
        for &(i, x, y) in points {
            p.body[i] = Keypoint::new(x, y, 0.9);
        }
        p
    }

    #[test]
    fn window_holds_every_frame_with_margin_and_keeps_the_aspect() {
        let track = vec![
            Some(person(&[
                (body::NOSE, 400.0, 100.0),
                (body::L_ANKLE, 420.0, 500.0),
            ])),
            None,
            Some(person(&[
                (body::NOSE, 600.0, 120.0),
                (body::R_ANKLE, 610.0, 520.0),
            ])),
        ];
        let w = CropWindow::around(&track, 1920, 1080, 256, 256, 0.1).unwrap();
        assert_eq!(w.width, w.height);
        // Extent 100..520 high, 400..610 wide; margin 0.1 * 420 = 42 each side.
        assert!((w.height - 504.0).abs() < 1e-3, "{w:?}");
        assert!(w.y <= 100.0 - 42.0 + 1e-3 && w.y + w.height >= 520.0 + 42.0 - 1e-3);
        assert!(w.x <= 400.0 && w.x + w.width >= 610.0);
        let mut p = track[0].clone().unwrap();
        w.map(&mut p);
        assert!(p.body[body::NOSE].y > 0.0 && p.body[body::L_ANKLE].y < 256.0);
    }

    #[test]
    fn window_larger_than_the_frame_repeats_the_edge() {
        // A tall person in a short frame: a square window must reach past the sides.
        let track = vec![Some(person(&[
            (body::NOSE, 50.0, 5.0),
            (body::L_ANKLE, 50.0, 95.0),
        ]))];
        let w = CropWindow::around(&track, 60, 100, 32, 32, 0.1).unwrap();
        assert!(w.width > 60.0 && w.x < 0.0);
        let mut frame = RgbImage::from_pixel(60, 100, Rgb([10, 20, 30]));
        frame.put_pixel(59, 50, Rgb([200, 0, 0]));
        let out = w.crop(&frame);
        assert_eq!(out.dimensions(), (32, 32));
        assert_eq!(*out.get_pixel(0, 0), Rgb([10, 20, 30]));
        assert_eq!(*out.get_pixel(31, 31), Rgb([10, 20, 30]));
    }

    #[test]
    fn nobody_in_any_frame_is_an_error() {
        let err = CropWindow::around(&[None, None], 100, 100, 64, 64, 0.1).unwrap_err();
        assert!(err.to_string().contains("no confident body point"), "{err}");
    }
}
