//! Rotated crops of a frame, resampled to a model's input size.
//!
//! The crop is computed on the CPU straight from the 8-bit frame (a few hundred thousand
//! bilinear taps), and only the small result goes to the model's device: cheaper than
//! moving and converting a whole HD frame, on a GPU as on the CPU.

use dancenow_nn::tch::{Device, Tensor};
use dancenow_nn::tflite::parallel_rows;
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

    /// The crop's values, row by row, RGB interleaved. Rows are shared out among the
    /// model kernels' threads.
    fn crop_values(&self, roi: &Roi, n: usize, range: (f32, f32), border: Border) -> Vec<f32> {
        let mut out = vec![0f32; n * n * 3];
        let sampler = Sampler::new(self.image, roi, n, range);
        parallel_rows(&mut out, 3 * n, |first, rows| {
            for (r, row) in rows.chunks_exact_mut(3 * n).enumerate() {
                sampler.row(first + r, row, border);
            }
        });
        out
    }
}

/// Output pixel (u, v) of a crop samples the frame at
/// `centre + size * R(rotation) * (u / n - 1/2, v / n - 1/2)`, bilinearly.
struct Sampler<'a> {
    raw: &'a [u8],
    width: i64,
    height: i64,
    centre: (f32, f32),
    /// (cos, sin) of the rotation.
    turn: (f32, f32),
    step: f32,
    half: f32,
    n: usize,
    /// Pixel values [0, 255] map to `value * scale + low`.
    scale: f32,
    low: f32,
}

impl<'a> Sampler<'a> {
    fn new(image: &'a RgbImage, roi: &Roi, n: usize, (low, high): (f32, f32)) -> Self {
        let (sin, cos) = roi.rotation.sin_cos();
        Self {
            raw: image.as_raw(),
            width: image.width() as i64,
            height: image.height() as i64,
            centre: (roi.cx, roi.cy),
            turn: (cos, sin),
            step: roi.size / n as f32,
            half: roi.size / 2.0,
            n,
            scale: (high - low) / 255.0,
            low,
        }
    }

    /// Output row `v` (`3 * n` values).
    fn row(&self, v: usize, out: &mut [f32], border: Border) {
        let dv = v as f32 * self.step - self.half;
        let mut u = 0;
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && self.raw.len() < i32::MAX as usize {
            // SAFETY: AVX2 is present, and the frame's byte offsets fit in an i32.
            u = unsafe { avx2::row(self, dv, out, border) };
        }
        for u in u..self.n {
            self.put(self.pixel(u, dv, border), &mut out[3 * u..3 * u + 3]);
        }
    }

    /// Writes a sample in [0, 255] to its output pixel in the asked-for range.
    #[inline]
    fn put(&self, rgb: [f32; 3], out: &mut [f32]) {
        for (o, value) in out.iter_mut().zip(rgb) {
            *o = value * self.scale + self.low;
        }
    }

    /// Where output column `u` of the row at `dv` samples the frame.
    #[inline]
    fn source(&self, u: usize, dv: f32) -> (f32, f32) {
        let (cos, sin) = self.turn;
        let du = u as f32 * self.step - self.half;
        // A billion pixels out is as far outside as any other place, and the taps next to
        // it cannot overflow.
        let x = (self.centre.0 + cos * du - sin * dv).clamp(-1e9, 1e9);
        let y = (self.centre.1 + sin * du + cos * dv).clamp(-1e9, 1e9);
        (x, y)
    }

    /// The bilinear sample for output column `u`, in [0, 255].
    fn pixel(&self, u: usize, dv: f32, border: Border) -> [f32; 3] {
        let (x, y) = self.source(u, dv);
        let (x0, y0) = (floor(x), floor(y));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let (w, h) = (self.width, self.height);
        if x0 >= 0 && y0 >= 0 && x0 < w - 1 && y0 < h - 1 {
            // All four taps inside the frame: most of every crop.
            let top = 3 * (y0 * w + x0) as usize;
            let bottom = top + 3 * w as usize;
            // Two adjacent pixels per row, one bounds check each.
            let t: &[u8; 6] = self.raw[top..top + 6].try_into().expect("6 bytes");
            let b: &[u8; 6] = self.raw[bottom..bottom + 6].try_into().expect("6 bytes");
            let weights = [
                (1.0 - fx) * (1.0 - fy),
                fx * (1.0 - fy),
                (1.0 - fx) * fy,
                fx * fy,
            ];
            return std::array::from_fn(|c| {
                weights[0] * t[c] as f32
                    + weights[1] * t[c + 3] as f32
                    + weights[2] * b[c] as f32
                    + weights[3] * b[c + 3] as f32
            });
        }
        self.border_tap(x0, y0, fx, fy, border)
    }

    /// Bilinear interpolation at a point whose taps are not all inside the frame.
    fn border_tap(&self, x0: i64, y0: i64, fx: f32, fy: f32, border: Border) -> [f32; 3] {
        let (w, h) = (self.width, self.height);
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
                    *value += weight * self.raw[at + c] as f32;
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

/// Eight output pixels at a time, with gathers: the same arithmetic, in the same order, as
/// [`Sampler::pixel`] (plain multiplies and adds, no fused ones), so the results are
/// identical. Groups with a tap outside the frame are left to the scalar code.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{Border, Sampler};

    /// Fills `out` for the row at `dv` and returns how many columns it did (a multiple
    /// of 8; the caller does the rest).
    ///
    /// Safety: AVX2 must be available, and every byte offset in the frame must fit in
    /// an i32.
    #[target_feature(enable = "avx2")]
    pub unsafe fn row(s: &Sampler, dv: f32, out: &mut [f32], border: Border) -> usize {
        let (cos, sin) = s.turn;
        let (w, h) = (s.width as i32, s.height as i32);
        let lanes = _mm256_setr_ps(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0);
        let ones = _mm256_set1_ps(1.0);
        let (lo, hi) = (_mm256_set1_ps(-1e9), _mm256_set1_ps(1e9));
        let byte = _mm256_set1_epi32(0xff);
        let base = s.raw.as_ptr() as *const i32;
        let row_bytes = _mm256_set1_epi32(3 * w);
        let mut u = 0;
        while u + 8 <= s.n {
            let uu = _mm256_add_ps(_mm256_set1_ps(u as f32), lanes);
            let du = _mm256_sub_ps(
                _mm256_mul_ps(uu, _mm256_set1_ps(s.step)),
                _mm256_set1_ps(s.half),
            );
            let x = _mm256_sub_ps(
                _mm256_add_ps(
                    _mm256_set1_ps(s.centre.0),
                    _mm256_mul_ps(_mm256_set1_ps(cos), du),
                ),
                _mm256_set1_ps(sin * dv),
            );
            let y = _mm256_add_ps(
                _mm256_add_ps(
                    _mm256_set1_ps(s.centre.1),
                    _mm256_mul_ps(_mm256_set1_ps(sin), du),
                ),
                _mm256_set1_ps(cos * dv),
            );
            // As `f32::clamp`, except that NaN becomes -1e9 (which is outside, so the
            // scalar code takes it).
            let x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
            let y = _mm256_min_ps(_mm256_max_ps(y, lo), hi);
            let (xf, yf) = (_mm256_floor_ps(x), _mm256_floor_ps(y));
            let (x0, y0) = (_mm256_cvttps_epi32(xf), _mm256_cvttps_epi32(yf));
            // Inside with a column to spare: each 4-byte read takes one byte past its pixel.
            let inside = _mm256_and_si256(
                _mm256_and_si256(
                    _mm256_cmpgt_epi32(x0, _mm256_set1_epi32(-1)),
                    _mm256_cmpgt_epi32(y0, _mm256_set1_epi32(-1)),
                ),
                _mm256_and_si256(
                    _mm256_cmpgt_epi32(_mm256_set1_epi32(w - 2), x0),
                    _mm256_cmpgt_epi32(_mm256_set1_epi32(h - 1), y0),
                ),
            );
            if _mm256_movemask_ps(_mm256_castsi256_ps(inside)) != 0xff {
                for k in u..u + 8 {
                    s.put(s.pixel(k, dv, border), &mut out[3 * k..3 * k + 3]);
                }
                u += 8;
                continue;
            }
            let (fx, fy) = (_mm256_sub_ps(x, xf), _mm256_sub_ps(y, yf));
            let (gx, gy) = (_mm256_sub_ps(ones, fx), _mm256_sub_ps(ones, fy));
            let weights = [
                _mm256_mul_ps(gx, gy),
                _mm256_mul_ps(fx, gy),
                _mm256_mul_ps(gx, fy),
                _mm256_mul_ps(fx, fy),
            ];
            let top = _mm256_mullo_epi32(
                _mm256_add_epi32(_mm256_mullo_epi32(y0, _mm256_set1_epi32(w)), x0),
                _mm256_set1_epi32(3),
            );
            let bottom = _mm256_add_epi32(top, row_bytes);
            let three = _mm256_set1_epi32(3);
            let taps = [
                _mm256_i32gather_epi32::<1>(base, top),
                _mm256_i32gather_epi32::<1>(base, _mm256_add_epi32(top, three)),
                _mm256_i32gather_epi32::<1>(base, bottom),
                _mm256_i32gather_epi32::<1>(base, _mm256_add_epi32(bottom, three)),
            ];
            let mut channels = [[0f32; 8]; 3];
            for (c, channel) in channels.iter_mut().enumerate() {
                let value = |tap: __m256i| {
                    let shifted = _mm256_srlv_epi32(tap, _mm256_set1_epi32(8 * c as i32));
                    _mm256_cvtepi32_ps(_mm256_and_si256(shifted, byte))
                };
                let mut sum = _mm256_mul_ps(weights[0], value(taps[0]));
                for (weight, &tap) in weights[1..].iter().zip(&taps[1..]) {
                    sum = _mm256_add_ps(sum, _mm256_mul_ps(*weight, value(tap)));
                }
                let scaled = _mm256_add_ps(
                    _mm256_mul_ps(sum, _mm256_set1_ps(s.scale)),
                    _mm256_set1_ps(s.low),
                );
                _mm256_storeu_ps(channel.as_mut_ptr(), scaled);
            }
            for (k, o) in out[3 * u..3 * u + 24].chunks_exact_mut(3).enumerate() {
                o.copy_from_slice(&[channels[0][k], channels[1][k], channels[2][k]]);
            }
            u += 8;
        }
        u
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
