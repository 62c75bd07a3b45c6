//! Rotated crops of a frame, resampled to a model's input size.
//!
//! The crop is computed on the CPU straight from the 8-bit frame (a few hundred thousand
//! bilinear taps), and only the small result goes to the model's device: cheaper than
//! moving and converting a whole HD frame, on a GPU as on the CPU.

use dancenow_nn::tch::{Device, Tensor};
use image::RgbImage;

use crate::roi::Roi;

/// What lies outside the frame in a crop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Border {
    /// Black (MediaPipe's BORDER_ZERO, used for letterboxing the detector's input).
    Zero,
    /// The nearest edge pixel (MediaPipe's default for landmark crops).
    Replicate,
}

/// One frame and the device its crops go to.
pub struct Frame<'a> {
    image: &'a RgbImage,
    device: Device,
}

impl<'a> Frame<'a> {
    pub fn new(image: &'a RgbImage, device: Device) -> Self {
        Self { image, device }
    }

    pub fn width(&self) -> u32 {
        self.image.width()
    }

    pub fn height(&self) -> u32 {
        self.image.height()
    }

    /// The ROI resampled (bilinear) to `side` x `side`, as an NHWC float tensor with pixel
    /// values mapped from [0, 255] to `range`.
    ///
    /// Pixel conventions follow MediaPipe, which warps with OpenCV: the ROI centre is read
    /// as a pixel index, and the ROI's corners land on the output's pixel indices 0 and
    /// `side`. So output pixel (u, v) samples the frame at pixel index
    /// centre + size * R(rotation) * (u / side - 1/2, v / side - 1/2).
    pub fn crop(&self, roi: &Roi, side: i64, range: (f32, f32), border: Border) -> Tensor {
        let out = self.crop_values(roi, side as usize, range, border);
        Tensor::from_slice(&out)
            .view([1, side, side, 3])
            .to_device(self.device)
    }

    /// The crop's values, row by row, RGB interleaved.
    fn crop_values(&self, roi: &Roi, n: usize, range: (f32, f32), border: Border) -> Vec<f32> {
        let (sin, cos) = roi.rotation.sin_cos();
        let step = roi.size / n as f32;
        let (lo, hi) = range;
        let scale = (hi - lo) / 255.0;
        let (w, h) = (self.image.width() as i64, self.image.height() as i64);
        let raw = self.image.as_raw();
        let mut out = vec![0f32; n * n * 3];
        for v in 0..n {
            let dv = v as f32 * step - roi.size / 2.0;
            for u in 0..n {
                let du = u as f32 * step - roi.size / 2.0;
                // A billion pixels out is as far outside as any other place, and the taps
                // next to it cannot overflow.
                let x = (roi.cx + cos * du - sin * dv).clamp(-1e9, 1e9);
                let y = (roi.cy + sin * du + cos * dv).clamp(-1e9, 1e9);
                let (x0, y0) = (floor(x), floor(y));
                let (fx, fy) = (x - x0 as f32, y - y0 as f32);
                let rgb = if x0 >= 0 && y0 >= 0 && x0 < w - 1 && y0 < h - 1 {
                    // All four taps inside the frame: most of every crop.
                    let top = 3 * (y0 * w + x0) as usize;
                    let bottom = top + 3 * w as usize;
                    // Two adjacent pixels per row, one bounds check each.
                    let t: &[u8; 6] = raw[top..top + 6].try_into().expect("6 bytes");
                    let b: &[u8; 6] = raw[bottom..bottom + 6].try_into().expect("6 bytes");
                    let weights = [
                        (1.0 - fx) * (1.0 - fy),
                        fx * (1.0 - fy),
                        (1.0 - fx) * fy,
                        fx * fy,
                    ];
                    std::array::from_fn(|c| {
                        weights[0] * t[c] as f32
                            + weights[1] * t[c + 3] as f32
                            + weights[2] * b[c] as f32
                            + weights[3] * b[c + 3] as f32
                    })
                } else {
                    self.border_tap(x0, y0, fx, fy, border)
                };
                let at = 3 * (v * n + u);
                for (c, value) in rgb.into_iter().enumerate() {
                    out[at + c] = value * scale + lo;
                }
            }
        }
        out
    }

    /// Bilinear interpolation at a point whose taps are not all inside the frame.
    fn border_tap(&self, x0: i64, y0: i64, fx: f32, fy: f32, border: Border) -> [f32; 3] {
        let (w, h) = (self.image.width() as i64, self.image.height() as i64);
        let raw = self.image.as_raw();
        let mut rgb = [0f32; 3];
        for (dy, wy) in [(0, 1.0 - fy), (1, fy)] {
            for (dx, wx) in [(0, 1.0 - fx), (1, fx)] {
                let weight = wx * wy;
                if weight == 0.0 {
                    continue;
                }
                let (mut px, mut py) = (x0 + dx, y0 + dy);
                if !(0..w).contains(&px) || !(0..h).contains(&py) {
                    match border {
                        Border::Zero => continue,
                        Border::Replicate => (px, py) = (px.clamp(0, w - 1), py.clamp(0, h - 1)),
                    }
                }
                let at = 3 * (py * w + px) as usize;
                for (c, value) in rgb.iter_mut().enumerate() {
                    *value += weight * raw[at + c] as f32;
                }
            }
        }
        rgb
    }
}

/// `x.floor()` as an integer, without a libm call per pixel (exact for every coordinate a
/// crop holds: within a billion).
fn floor(x: f32) -> i64 {
    let t = x as i64;
    if (t as f32) > x {
        t - 1
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bilinear sampling written the plain way: every tap through the border rule.
    fn reference(image: &RgbImage, roi: &Roi, n: usize, border: Border) -> Vec<f32> {
        let (w, h) = (image.width() as i64, image.height() as i64);
        let (sin, cos) = roi.rotation.sin_cos();
        let step = roi.size / n as f32;
        let mut out = Vec::new();
        for v in 0..n {
            for u in 0..n {
                let (du, dv) = (
                    u as f32 * step - roi.size / 2.0,
                    v as f32 * step - roi.size / 2.0,
                );
                let x = roi.cx + cos * du - sin * dv;
                let y = roi.cy + sin * du + cos * dv;
                let (fx, fy) = (x - x.floor(), y - y.floor());
                let mut rgb = [0f32; 3];
                for (dy, wy) in [(0, 1.0 - fy), (1, fy)] {
                    for (dx, wx) in [(0, 1.0 - fx), (1, fx)] {
                        let (mut px, mut py) = (x.floor() as i64 + dx, y.floor() as i64 + dy);
                        if !(0..w).contains(&px) || !(0..h).contains(&py) {
                            if border == Border::Zero || wx * wy == 0.0 {
                                continue;
                            }
                            (px, py) = (px.clamp(0, w - 1), py.clamp(0, h - 1));
                        }
                        let pixel = image.get_pixel(px as u32, py as u32);
                        for (value, &c) in rgb.iter_mut().zip(&pixel.0) {
                            *value += wx * wy * c as f32;
                        }
                    }
                }
                out.extend(rgb.map(|c| c * (2.0 / 255.0) - 1.0));
            }
        }
        out
    }

    #[test]
    fn crops_match_plain_bilinear_sampling_inside_and_across_the_border() {
        let mut state = 12345u32;
        let image = RgbImage::from_fn(61, 47, |_, _| {
            let mut byte = || {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 24) as u8
            };
            image::Rgb([byte(), byte(), byte()])
        });
        let frame = Frame::new(&image, Device::Cpu);
        let rois = [
            (30.0, 23.0, 20.0, 0.0),
            (30.3, 22.7, 33.0, 0.4),
            (3.0, 40.0, 50.0, -1.2),
            (58.0, 2.0, 90.0, 2.5),
            (-10.0, 60.0, 30.0, 0.7),
        ];
        for (cx, cy, size, rotation) in rois {
            let roi = Roi {
                cx,
                cy,
                size,
                rotation,
            };
            for border in [Border::Zero, Border::Replicate] {
                let ours = frame.crop_values(&roi, 24, (-1.0, 1.0), border);
                assert_eq!(
                    ours,
                    reference(&image, &roi, 24, border),
                    "{roi:?} {border:?}"
                );
            }
        }
    }

    #[test]
    fn regions_far_outside_the_frame_give_the_border_not_a_panic() {
        let image = RgbImage::from_pixel(8, 6, image::Rgb([255, 0, 0]));
        let frame = Frame::new(&image, Device::Cpu);
        for (cx, cy) in [
            (1e20, 3.0),
            (-1e20, 3.0),
            (4.0, f32::INFINITY),
            (f32::NEG_INFINITY, 1e30),
        ] {
            let roi = Roi {
                cx,
                cy,
                size: 4.0,
                rotation: 0.0,
            };
            let black = frame.crop_values(&roi, 4, (0.0, 1.0), Border::Zero);
            assert!(black.iter().all(|&v| v == 0.0), "{roi:?}: {black:?}");
            let edge = frame.crop_values(&roi, 4, (0.0, 1.0), Border::Replicate);
            assert!(
                edge.chunks(3).all(|p| p == [1.0, 0.0, 0.0]),
                "{roi:?}: {edge:?}"
            );
        }
    }
}
