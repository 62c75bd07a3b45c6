//! The fixed window of a video that frames the target person in every frame, scaled to
//! the training size. One window per video (not per frame), so the camera stays still in
//! the training data as it does in the video.

use image::{imageops, Rgb, RgbImage};
use serde::{Deserialize, Serialize};

use crate::error::{PoseError, Result};
use crate::keypoints::{Person, MIN_CONFIDENCE};

/// Room around the person's extent, as a fraction of its height, on every side.
pub const DEFAULT_MARGIN: f32 = 0.1;

/// How far a pasted crop fades into the frame at the window's edges, as a fraction of the
/// window's shorter side: a few pixels at common sizes, enough to hide a seam where the
/// generated background differs slightly from the plate.
pub const DEFAULT_FEATHER: f32 = 0.02;

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

    /// Writes `crop` (an image of this window, e.g. a generated one) back into `frame` at
    /// the window's place: the inverse of [`crop`](Self::crop) (which rounds the window's
    /// corner to whole source pixels; this places it exactly). Frame pixels whose centre
    /// lies in the window take the crop resampled to the window's size in frame pixels
    /// (bilinear; area-averaged first where the window is smaller than the crop); the
    /// window is clipped at the frame's edges, and every other pixel is left as it was.
    ///
    /// Within `feather` (a fraction of the window's shorter side, e.g. [`DEFAULT_FEATHER`])
    /// of a window edge that lies inside the frame, the crop fades linearly into what the
    /// frame holds, so no seam shows; 0 pastes a hard edge. Edges at or past the frame's
    /// border are not feathered: there is nothing beyond them to fade into.
    pub fn paste(&self, crop: &RgbImage, frame: &mut RgbImage, feather: f32) {
        let (fw, fh) = frame.dimensions();
        if crop.width() == 0 || crop.height() == 0 || self.width <= 0.0 || self.height <= 0.0 {
            return;
        }
        // Sampled bilinearly, a larger crop would alias; shrink it to the window first.
        let (target_w, target_h) = (
            (self.width.round() as u32).max(1),
            (self.height.round() as u32).max(1),
        );
        let shrunk;
        let source = if crop.width() > target_w || crop.height() > target_h {
            let (w, h) = (crop.width().min(target_w), crop.height().min(target_h));
            shrunk = imageops::resize(crop, w, h, imageops::FilterType::Triangle);
            &shrunk
        } else {
            crop
        };
        let (sx, sy) = (
            source.width() as f32 / self.width,
            source.height() as f32 / self.height,
        );
        let (right, bottom) = (self.x + self.width, self.y + self.height);
        // Frame pixels whose centre (x + 0.5) lies in [self.x, right), clipped to the frame.
        let first = |start: f32| (start - 0.5).ceil().max(0.0) as u32;
        let end = |stop: f32, limit: u32| ((stop - 0.5).ceil().max(0.0) as u32).min(limit);
        let (x0, x1) = (first(self.x), end(right, fw));
        let (y0, y1) = (first(self.y), end(bottom, fh));

        let ramp = feather.max(0.0) * self.width.min(self.height);
        // Distance to the nearest window edge with frame pixels beyond it.
        let edge_distance = |cx: f32, cy: f32| {
            let mut d = f32::INFINITY;
            for (inside_frame, distance) in [
                (self.x > 0.0, cx - self.x),
                (right < fw as f32, right - cx),
                (self.y > 0.0, cy - self.y),
                (bottom < fh as f32, bottom - cy),
            ] {
                if inside_frame {
                    d = d.min(distance);
                }
            }
            d
        };
        for y in y0..y1 {
            for x in x0..x1 {
                let (cx, cy) = (x as f32 + 0.5, y as f32 + 0.5);
                let weight = if ramp > 0.0 {
                    (edge_distance(cx, cy) / ramp).clamp(0.0, 1.0)
                } else {
                    1.0
                };
                let value = bilinear(source, (cx - self.x) * sx - 0.5, (cy - self.y) * sy - 0.5);
                let pixel = frame.get_pixel_mut(x, y);
                for (dst, src) in pixel.0.iter_mut().zip(value) {
                    *dst = (weight * src + (1.0 - weight) * *dst as f32).round() as u8;
                }
            }
        }
    }
}

/// `image` at (u, v) in pixel-centre coordinates, interpolated between the four nearest
/// pixels; positions past the edge take the edge's value.
fn bilinear(image: &RgbImage, u: f32, v: f32) -> [f32; 3] {
    let (w, h) = (image.width() as f32, image.height() as f32);
    let (u, v) = (u.clamp(0.0, w - 1.0), v.clamp(0.0, h - 1.0));
    let (u0, v0) = (u.floor(), v.floor());
    let (fu, fv) = (u - u0, v - v0);
    let (u0, v0) = (u0 as u32, v0 as u32);
    let (u1, v1) = (
        (u0 + 1).min(image.width() - 1),
        (v0 + 1).min(image.height() - 1),
    );
    let at = |x: u32, y: u32, c: usize| image.get_pixel(x, y).0[c] as f32;
    std::array::from_fn(|c| {
        let top = at(u0, v0, c) * (1.0 - fu) + at(u1, v0, c) * fu;
        let bottom = at(u0, v1, c) * (1.0 - fu) + at(u1, v1, c) * fu;
        top * (1.0 - fv) + bottom * fv
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keypoints::{body, Keypoint};
    use std::f32::consts::TAU;

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

    /// A smooth picture of `w` x `h` with waves some 50 pixels long, as a generated crop
    /// might hold: steep enough that a misplaced paste shows.
    fn smooth(w: u32, h: u32) -> RgbImage {
        let wave = |t: u32, period: f32| (128.0 + 100.0 * (t as f32 * TAU / period).sin()) as u8;
        RgbImage::from_fn(w, h, |x, y| {
            Rgb([wave(x, 48.0), wave(y, 40.0), wave(x + y, 60.0)])
        })
    }

    /// A plate of many colours, so that any touched pixel shows.
    fn plate(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            Rgb([(x * 7 % 256) as u8, (y * 13 % 256) as u8, 99])
        })
    }

    fn window(x: f32, y: f32, size: f32, out: u32) -> CropWindow {
        CropWindow {
            x,
            y,
            width: size,
            height: size,
            out_width: out,
            out_height: out,
        }
    }

    #[test]
    fn a_pasted_crop_crops_back_to_itself_and_the_rest_is_untouched() {
        // Larger in the frame than the crop (the usual case), then smaller.
        for (size, out, ring, worst) in [(90.0, 60, 1, 2), (45.0, 64, 2, 3)] {
            // Whole-pixel corners: `crop` places a window to the nearest source pixel.
            let w = window(40.0, 21.0, size, out);
            let original = plate(200, 150);
            let mut frame = original.clone();
            let generated = smooth(out, out);
            w.paste(&generated, &mut frame, 0.0);

            let back = w.crop(&frame);
            // The crop's outermost `ring` also averages plate pixels the window only grazes
            // (a pixel and more of the crop where the crop is the larger); inside it, only
            // resampling error is left.
            let mut largest = 0;
            for y in ring..out - ring {
                for x in ring..out - ring {
                    for c in 0..3 {
                        let (a, b) = (back.get_pixel(x, y).0[c], generated.get_pixel(x, y).0[c]);
                        largest = largest.max(a.abs_diff(b));
                    }
                }
            }
            assert!(largest <= worst, "window {size}: off by {largest}");

            for (x, y, pixel) in frame.enumerate_pixels() {
                let (cx, cy) = (x as f32 + 0.5, y as f32 + 0.5);
                let inside =
                    (w.x..w.x + w.width).contains(&cx) && (w.y..w.y + w.height).contains(&cy);
                if !inside {
                    assert_eq!(pixel, original.get_pixel(x, y), "({x}, {y}) is outside");
                }
            }
        }
    }

    #[test]
    fn a_window_of_the_crops_own_size_pastes_it_pixel_for_pixel() {
        let w = window(17.0, 9.0, 40.0, 40);
        let mut frame = plate(80, 60);
        let generated = smooth(40, 40);
        w.paste(&generated, &mut frame, 0.0);
        for (x, y, pixel) in generated.enumerate_pixels() {
            assert_eq!(frame.get_pixel(x + 17, y + 9), pixel, "({x}, {y})");
        }
        assert_eq!(frame.get_pixel(16, 9), plate(80, 60).get_pixel(16, 9));
        assert_eq!(frame.get_pixel(57, 49), plate(80, 60).get_pixel(57, 49));
    }

    #[test]
    fn a_window_past_the_frame_is_clipped() {
        let w = window(-30.0, -10.0, 100.0, 50);
        let mut frame = plate(60, 50);
        w.paste(
            &RgbImage::from_pixel(50, 50, Rgb([1, 2, 3])),
            &mut frame,
            0.0,
        );
        assert!(frame.pixels().all(|p| *p == Rgb([1, 2, 3])));
        // Entirely outside: nothing changes.
        let original = plate(60, 50);
        let mut frame = original.clone();
        window(70.0, 0.0, 20.0, 8).paste(&RgbImage::new(8, 8), &mut frame, 0.0);
        assert_eq!(frame, original);
    }

    #[test]
    fn feathering_fades_into_the_frame_only_at_edges_inside_it() {
        let (crop_color, plate_color) = (Rgb([200, 200, 200]), Rgb([0, 0, 0]));
        // Past the frame's left edge, inside it on the other three sides.
        let w = window(-20.0, 10.0, 100.0, 50);
        let mut frame = RgbImage::from_pixel(150, 150, plate_color);
        w.paste(&RgbImage::from_pixel(50, 50, crop_color), &mut frame, 0.1);
        // Ramp: 0.1 * 100 = 10 frame pixels.
        assert_eq!(*frame.get_pixel(40, 60), crop_color, "the middle");
        assert_eq!(
            *frame.get_pixel(0, 60),
            crop_color,
            "the frame's edge: no fade"
        );
        let near_right = frame.get_pixel(78, 60).0[0];
        assert!(near_right > 0 && near_right < 200, "{near_right}");
        assert_eq!(
            frame.get_pixel(79, 60).0[0],
            10,
            "half a pixel from the edge: 1/20"
        );
        assert_eq!(frame.get_pixel(30, 10).0[0], 10, "top edge");
        assert_eq!(*frame.get_pixel(30, 9), plate_color, "above the window");
    }

    #[test]
    fn nobody_in_any_frame_is_an_error() {
        let err = CropWindow::around(&[None, None], 100, 100, 64, 64, 0.1).unwrap_err();
        assert!(err.to_string().contains("no confident body point"), "{err}");
    }
}
