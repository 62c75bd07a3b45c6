//! 8-bit RGB images to and from the networks' tensors: `[1, 3, H, W]` in [-1, 1].
//!
//! As in tch, each `f_*` function returns libtorch's failure (out of memory on the
//! device, say) as an error, for inference; the plain one panics on it.

use dancenow_nn::tch::{Device, Kind, TchError, Tensor};
use image::{imageops, RgbImage};

pub fn to_tensor(image: &RgbImage, device: Device) -> Tensor {
    f_to_tensor(image, device).unwrap_or_else(|e| panic!("image to tensor: {e}"))
}

pub fn f_to_tensor(image: &RgbImage, device: Device) -> Result<Tensor, TchError> {
    let (w, h) = image.dimensions();
    Tensor::f_from_slice(image.as_raw())?
        .f_view([1, i64::from(h), i64::from(w), 3])?
        .f_permute([0, 3, 1, 2])?
        .f_to_device(device)?
        .f_to_kind(Kind::Float)?
        .f_div_scalar(127.5)?
        .f_sub_scalar(1.0)
}

/// The first image of a `[N, 3, H, W]` batch, clamped to [-1, 1] and rounded to 8 bits.
pub fn to_image(tensor: &Tensor) -> RgbImage {
    f_to_image(tensor).unwrap_or_else(|e| panic!("tensor to image: {e}"))
}

pub fn f_to_image(tensor: &Tensor) -> Result<RgbImage, TchError> {
    let t = tensor.f_get(0)?.f_detach()?;
    let &[channels, h, w] = t.size().as_slice() else {
        return Err(TchError::Shape(format!(
            "an image batch is [N, 3, H, W], not {:?}",
            tensor.size()
        )));
    };
    let bytes = t
        .f_clamp(-1.0, 1.0)?
        .f_add_scalar(1.0)?
        .f_mul_scalar(127.5)?
        .f_round()?
        .f_to_kind(Kind::Uint8)?
        .f_permute([1, 2, 0])?
        .f_contiguous()?
        .f_to_device(Device::Cpu)?
        .f_flatten(0, -1)?;
    let data = Vec::<u8>::try_from(&bytes)?;
    let shape_error = || TchError::Shape(format!("{channels} channels, not 3 (RGB)"));
    if channels != 3 {
        return Err(shape_error());
    }
    RgbImage::from_raw(w as u32, h as u32, data).ok_or_else(shape_error)
}

/// A `[N, C, H, W]` batch at `height` x `width`, bilinearly (unchanged when it is that
/// size already).
pub fn resize(images: &Tensor, height: i64, width: i64) -> Tensor {
    f_resize(images, height, width).unwrap_or_else(|e| panic!("resizing: {e}"))
}

pub fn f_resize(images: &Tensor, height: i64, width: i64) -> Result<Tensor, TchError> {
    if images.size().get(2..) == Some(&[height, width][..]) {
        Ok(images.shallow_clone())
    } else {
        images.f_upsample_bilinear2d([height, width], false, None, None)
    }
}

/// A `[N, C, H, W]` batch shrunk by a whole `factor` on each side, each output pixel the
/// mean of a `factor` x `factor` block: how a coarse training stage sees the images.
pub fn shrink(images: &Tensor, factor: i64) -> Tensor {
    f_shrink(images, factor).unwrap_or_else(|e| panic!("shrinking: {e}"))
}

pub fn f_shrink(images: &Tensor, factor: i64) -> Result<Tensor, TchError> {
    match factor {
        1 => Ok(images.shallow_clone()),
        k => images.f_avg_pool2d([k, k], [k, k], [0, 0], false, true, None),
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

/// Writes `image` as a PNG at `path`, whole or not at all: encoded in memory, written
/// with every write checked (`image`'s own `save` drops the error of its last buffered
/// write, so a full disk gave empty files), then renamed into place.
pub fn save_png<P>(
    image: &image::ImageBuffer<P, Vec<u8>>,
    path: &std::path::Path,
) -> Result<(), image::ImageError>
where
    P: image::PixelWithColorType<Subpixel = u8>,
{
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png)?;
    dancenow_files::write_atomically(path, bytes.get_ref()).map_err(image::ImageError::IoError)
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
