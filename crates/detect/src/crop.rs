//! Rotated crops of a frame, resampled to a model's input size on the model's device.

use dancenow_nn::tch::{Device, Kind, Tensor};
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

/// One frame, uploaded once, cropped as often as needed.
pub struct Frame {
    pixels: Tensor,
    width: u32,
    height: u32,
}

impl Frame {
    pub fn new(image: &RgbImage, device: Device) -> Self {
        let (width, height) = image.dimensions();
        let pixels = Tensor::from_slice(image.as_raw())
            .to_device(device)
            .view([1, height as i64, width as i64, 3])
            .permute([0, 3, 1, 2])
            .to_kind(Kind::Float);
        Self {
            pixels,
            width,
            height,
        }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// The ROI resampled (bilinear) to `side` x `side`, as an NHWC tensor with pixel values
    /// mapped from [0, 255] to `range`.
    pub fn crop(&self, roi: &Roi, side: i64, range: (f32, f32), border: Border) -> Tensor {
        let (w, h) = (self.width as f64, self.height as f64);
        let (sin, cos) = (roi.rotation as f64).sin_cos();
        let size = roi.size as f64;
        let side_f = side as f64;
        // affine_grid maps output coordinates in [-1, 1] to input coordinates in [-1, 1]
        // (pixel edges at -1 and 1, as align_corners = false means). MediaPipe warps with
        // OpenCV, which reads the ROI centre as a pixel index and maps the ROI's corners to
        // the output's pixel indices 0 and `side`; the offsets below reproduce that, so the
        // models see the crops they were trained on, to the sub-pixel.
        let theta = Tensor::from_slice(&[
            (size * cos / w) as f32,
            (-size * sin / w) as f32,
            ((2.0 * roi.cx as f64 + 1.0) / w - 1.0 - size / (w * side_f) * (cos - sin)) as f32,
            (size * sin / h) as f32,
            (size * cos / h) as f32,
            ((2.0 * roi.cy as f64 + 1.0) / h - 1.0 - size / (h * side_f) * (sin + cos)) as f32,
        ])
        .view([1, 2, 3])
        .to_device(self.pixels.device());
        let grid = Tensor::affine_grid_generator(&theta, [1, 3, side, side], false);
        let padding = match border {
            Border::Zero => 0,
            Border::Replicate => 1,
        };
        let sampled = self.pixels.grid_sampler(&grid, 0, padding, false);
        let (lo, hi) = range;
        (sampled * ((hi - lo) as f64 / 255.0) + lo as f64)
            .permute([0, 2, 3, 1])
            .contiguous()
    }
}
