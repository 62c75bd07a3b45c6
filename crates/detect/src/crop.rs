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
        let n = side as usize;
        let (sin, cos) = roi.rotation.sin_cos();
        let step = roi.size / side as f32;
        let (lo, hi) = range;
        let scale = (hi - lo) / 255.0;
        let (w, h) = (self.image.width() as i64, self.image.height() as i64);
        let raw = self.image.as_raw();
        let mut out = vec![0f32; n * n * 3];
        for v in 0..n {
            let dv = v as f32 * step - roi.size / 2.0;
            for u in 0..n {
                let du = u as f32 * step - roi.size / 2.0;
                let x = roi.cx + cos * du - sin * dv;
                let y = roi.cy + sin * du + cos * dv;
                let (x0, y0) = (x.floor(), y.floor());
                let (fx, fy) = (x - x0, y - y0);
                let (x0, y0) = (x0 as i64, y0 as i64);
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
                                Border::Replicate => {
                                    (px, py) = (px.clamp(0, w - 1), py.clamp(0, h - 1))
                                }
                            }
                        }
                        let at = 3 * (py * w + px) as usize;
                        for (c, value) in rgb.iter_mut().enumerate() {
                            *value += weight * raw[at + c] as f32;
                        }
                    }
                }
                let at = 3 * (v * n + u);
                for (c, value) in rgb.into_iter().enumerate() {
                    out[at + c] = value * scale + lo;
                }
            }
        }
        Tensor::from_slice(&out)
            .view([1, side, side, 3])
            .to_device(self.device)
    }
}
