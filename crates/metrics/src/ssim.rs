//! SSIM (Wang, Bovik, Sheikh, Simoncelli 2004) as the authors' reference computes it: an
//! 11x11 Gaussian window with sigma 1.5 over the valid region, K1 = 0.01, K2 = 0.03, on
//! images in [0, 1], averaged over pixels and channels.

use dancenow_nn::tch::{Device, Kind, Tensor};
use image::RgbImage;

pub const WINDOW: i64 = 11;
pub const SIGMA: f64 = 1.5;
const C1: f64 = 0.01 * 0.01;
const C2: f64 = 0.03 * 0.03;

#[derive(Debug, thiserror::Error)]
pub enum SsimError {
    #[error("SSIM needs two images of one size, got {a:?} and {b:?}")]
    SizeMismatch { a: Vec<i64>, b: Vec<i64> },
    #[error("SSIM needs images of at least {WINDOW}x{WINDOW} pixels, got {width}x{height}")]
    TooSmall { width: i64, height: i64 },
}

/// The normalised 2D Gaussian window, one copy per channel, for a grouped convolution.
fn window(channels: i64, device: Device) -> Tensor {
    let half = (WINDOW / 2) as f64;
    let g: Vec<f64> = (0..WINDOW)
        .map(|i| (-((i as f64 - half).powi(2)) / (2.0 * SIGMA * SIGMA)).exp())
        .collect();
    let sum: f64 = g.iter().sum();
    let g = Tensor::from_slice(&g) / sum;
    let w = g.unsqueeze(1).matmul(&g.unsqueeze(0));
    w.expand([channels, 1, WINDOW, WINDOW], false)
        .contiguous()
        .to_device(device)
}

/// Mean SSIM of two batches `[N, C, H, W]` in [0, 1], per image: a `[N]` tensor.
pub fn ssim(a: &Tensor, b: &Tensor) -> Result<Tensor, SsimError> {
    let (sa, sb) = (a.size(), b.size());
    if sa != sb || sa.len() != 4 {
        return Err(SsimError::SizeMismatch { a: sa, b: sb });
    }
    if sa[2] < WINDOW || sa[3] < WINDOW {
        return Err(SsimError::TooSmall {
            width: sa[3],
            height: sa[2],
        });
    }
    // float64: the variances are differences of large sums, which float32 blurs at 1e-5.
    let (a, b) = (a.to_kind(Kind::Double), b.to_kind(Kind::Double));
    let w = window(sa[1], a.device());
    let blur = |x: &Tensor| x.conv2d(&w, None::<Tensor>, [1, 1], [0, 0], [1, 1], sa[1]);
    let (mu_a, mu_b) = (blur(&a), blur(&b));
    let var_a = blur(&(&a * &a)) - &mu_a * &mu_a;
    let var_b = blur(&(&b * &b)) - &mu_b * &mu_b;
    let cov = blur(&(&a * &b)) - &mu_a * &mu_b;
    let map = ((&mu_a * &mu_b * 2.0 + C1) * (cov * 2.0 + C2))
        / ((mu_a.square() + mu_b.square() + C1) * (var_a + var_b + C2));
    Ok(map.mean_dim(&[1i64, 2, 3][..], false, Kind::Double))
}

/// A `[1, 3, H, W]` tensor in [0, 1] of an 8-bit image.
pub fn unit_tensor(image: &RgbImage) -> Tensor {
    let (w, h) = image.dimensions();
    Tensor::from_slice(image.as_raw())
        .view([1, h as i64, w as i64, 3])
        .permute([0, 3, 1, 2])
        .to_kind(Kind::Float)
        / 255.0
}

/// SSIM of two 8-bit images.
pub fn ssim_images(a: &RgbImage, b: &RgbImage) -> Result<f64, SsimError> {
    let s = ssim(&unit_tensor(a), &unit_tensor(b))?;
    Ok(s.double_value(&[0]))
}
