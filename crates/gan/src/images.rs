//! 8-bit RGB images to and from the networks' tensors: `[1, 3, H, W]` in [-1, 1].

use dancenow_nn::tch::{Device, Kind, Tensor};
use image::RgbImage;

pub fn to_tensor(image: &RgbImage, device: Device) -> Tensor {
    let (w, h) = image.dimensions();
    (Tensor::from_slice(image.as_raw())
        .view([1, h as i64, w as i64, 3])
        .permute([0, 3, 1, 2])
        .to_device(device)
        .to_kind(Kind::Float)
        / 127.5)
        - 1.0
}

/// The first image of a `[N, 3, H, W]` batch, clamped to [-1, 1] and rounded to 8 bits.
pub fn to_image(tensor: &Tensor) -> RgbImage {
    let t = tensor.get(0).detach();
    let (h, w) = (t.size()[1], t.size()[2]);
    let bytes = ((t.clamp(-1.0, 1.0) + 1.0) * 127.5)
        .round()
        .to_kind(Kind::Uint8)
        .permute([1, 2, 0])
        .contiguous()
        .to_device(Device::Cpu)
        .flatten(0, -1);
    let data = Vec::<u8>::try_from(&bytes).expect("a uint8 tensor");
    RgbImage::from_raw(w as u32, h as u32, data).expect("3 bytes per pixel")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_exact() {
        let image = RgbImage::from_fn(5, 3, |x, y| image::Rgb([x as u8 * 50, y as u8 * 100, 7]));
        let t = to_tensor(&image, Device::Cpu);
        assert_eq!(t.size(), [1, 3, 3, 5]);
        assert_eq!(to_image(&t), image);
    }
}
