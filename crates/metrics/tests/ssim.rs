use dancenow_metrics::{ssim, ssim_images};
use dancenow_nn::tch::{Kind, Tensor};
use image::{Rgb, RgbImage};

fn pattern(w: u32, h: u32, shift: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let v = (((x + shift) / 4 + y / 4) % 2 * 200 + 20) as u8;
        Rgb([v, (x * 255 / w) as u8, (y * 255 / h) as u8])
    })
}

#[test]
fn an_image_with_itself_is_one() {
    let a = pattern(48, 40, 0);
    assert!((ssim_images(&a, &a).unwrap() - 1.0).abs() < 1e-6);
}

#[test]
fn more_noise_gives_lower_ssim() {
    dancenow_nn::tch::manual_seed(1);
    let a = Tensor::rand([1, 3, 32, 32], (Kind::Float, dancenow_nn::tch::Device::Cpu));
    let noise = Tensor::randn([1, 3, 32, 32], (Kind::Float, dancenow_nn::tch::Device::Cpu));
    let light = ssim(&a, &(&a + &noise * 0.05).clamp(0.0, 1.0))
        .unwrap()
        .double_value(&[0]);
    let heavy = ssim(&a, &(&a + &noise * 0.3).clamp(0.0, 1.0))
        .unwrap()
        .double_value(&[0]);
    assert!(light < 1.0 && heavy < light, "light {light}, heavy {heavy}");
}

#[test]
fn shifted_pattern_scores_below_the_original() {
    let (a, b) = (pattern(48, 40, 0), pattern(48, 40, 4));
    let s = ssim_images(&a, &b).unwrap();
    assert!(s < 0.5, "{s}");
}

#[test]
fn mismatched_and_tiny_images_are_errors() {
    let err = ssim_images(&pattern(20, 20, 0), &pattern(21, 20, 0)).unwrap_err();
    assert!(err.to_string().contains("one size"), "{err}");
    let err = ssim_images(&pattern(8, 8, 0), &pattern(8, 8, 0)).unwrap_err();
    assert!(err.to_string().contains("at least 11x11"), "{err}");
}
