//! 8-bit RGB images to and from the networks' tensors: `[1, 3, H, W]` in [-1, 1].

use dancenow_nn::tch::{Device, Kind, Tensor};
use image::{imageops, RgbImage};

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

/// A `[N, C, H, W]` batch at `height` x `width`, bilinearly (unchanged when it is that
/// size already).
pub fn resize(images: &Tensor, height: i64, width: i64) -> Tensor {
    if images.size()[2..] == [height, width] {
        images.shallow_clone()
    } else {
        images.upsample_bilinear2d([height, width], false, None, None)
    }
}

/// A `[N, C, H, W]` batch shrunk by a whole `factor` on each side, each output pixel the
/// mean of a `factor` x `factor` block: how a coarse training stage sees the images.
pub fn shrink(images: &Tensor, factor: i64) -> Tensor {
    match factor {
        1 => images.shallow_clone(),
        k => images.avg_pool2d([k, k], [k, k], [0, 0], false, true, None),
    }
}

/// Rows of equally sized cells, laid out left to right and top to bottom.
pub fn grid(rows: &[Vec<&RgbImage>]) -> RgbImage {
    let Some(first) = rows.first().and_then(|r| r.first()) else {
        return RgbImage::new(1, 1);
    };
    let (w, h) = first.dimensions();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0) as u32;
    let mut out = RgbImage::new(w * columns, h * rows.len() as u32);
    for (row, cells) in rows.iter().enumerate() {
        for (col, cell) in cells.iter().enumerate() {
            imageops::replace(
                &mut out,
                *cell,
                (col as u32 * w) as i64,
                (row as u32 * h) as i64,
            );
        }
    }
    out
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
