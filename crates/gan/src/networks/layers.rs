//! The small pieces pix2pixHD builds from: its initialisation, instance norm without
//! affine parameters, LeakyReLU(0.2), and its average-pool downsampling.

use dancenow_nn::tch::nn::{self, Init};
use dancenow_nn::tch::Tensor;

/// pix2pixHD's `weights_init`: convolution weights from N(0, 0.02), biases zero.
pub fn conv(p: nn::Path, c_in: i64, c_out: i64, k: i64, stride: i64, padding: i64) -> nn::Conv2D {
    let config = nn::ConvConfig {
        stride,
        padding,
        ws_init: Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        },
        bs_init: Init::Const(0.0),
        ..Default::default()
    };
    nn::conv2d(p, c_in, c_out, k, config)
}

/// The transposed convolution that doubles the size (kernel 3, stride 2, output padding 1).
pub fn upconv(p: nn::Path, c_in: i64, c_out: i64) -> nn::ConvTranspose2D {
    let config = nn::ConvTransposeConfig {
        stride: 2,
        padding: 1,
        output_padding: 1,
        ws_init: Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        },
        bs_init: Init::Const(0.0),
        ..Default::default()
    };
    nn::conv_transpose2d(p, c_in, c_out, 3, config)
}

/// InstanceNorm2d(affine=False): per-sample, per-channel statistics, always from the input.
pub fn instance_norm(x: &Tensor) -> Tensor {
    Tensor::instance_norm(
        x,
        None::<Tensor>,
        None::<Tensor>,
        None::<Tensor>,
        None::<Tensor>,
        true,
        0.1,
        1e-5,
        false,
    )
}

/// Instance norm then ReLU, the ReLU in place on the norm's fresh output (as
/// pix2pixHD's `ReLU(True)`): one buffer less per layer.
pub fn norm_relu(x: &Tensor) -> Tensor {
    instance_norm(x).relu_()
}

/// LeakyReLU with slope 0.2. tch's `leaky_relu` binding has a fixed 0.01 slope, so this is
/// PReLU with a constant slope: one fused kernel forward and backward, where
/// `max(x, 0.2 x)` takes two of each.
pub fn leaky_relu(x: &Tensor) -> Tensor {
    let slope = Tensor::from_slice(&[0.2f32]).to_device(x.device());
    x.prelu(&slope.to_kind(x.kind()))
}

/// AvgPool2d(3, stride 2, padding 1, count_include_pad=False): pix2pixHD's downsampler.
pub fn downsample(x: &Tensor) -> Tensor {
    x.avg_pool2d([3, 3], [2, 2], [1, 1], false, false, None)
}

/// Reflection padding on all four sides.
pub fn reflect(x: &Tensor, pad: i64) -> Tensor {
    x.reflection_pad2d([pad, pad, pad, pad])
}
