//! The small pieces pix2pixHD builds from: its initialisation, instance norm without
//! affine parameters, LeakyReLU(0.2), and its average-pool downsampling.
//!
//! The generators' pieces come in two forms, as tch's own functions do: `f_*` returns
//! libtorch's failure (out of memory, say) as an error, for inference, and the plain one
//! panics on it, for training graphs.

use dancenow_nn::tch::nn::{self, Init, Module};
use dancenow_nn::tch::{TchError, Tensor};

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

/// The transposed convolution's geometry that doubles the size with kernel 3.
const UPCONV_STRIDE: i64 = 2;
const UPCONV_PADDING: i64 = 1;
const UPCONV_OUTPUT_PADDING: i64 = 1;

/// The transposed convolution that doubles the size (kernel 3, stride 2, output padding 1).
pub fn upconv(p: nn::Path, c_in: i64, c_out: i64) -> nn::ConvTranspose2D {
    let config = nn::ConvTransposeConfig {
        stride: UPCONV_STRIDE,
        padding: UPCONV_PADDING,
        output_padding: UPCONV_OUTPUT_PADDING,
        ws_init: Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        },
        bs_init: Init::Const(0.0),
        ..Default::default()
    };
    nn::conv_transpose2d(p, c_in, c_out, 3, config)
}

/// A [`conv`] that keeps its stride and padding, so that it can also run fallibly
/// ([`Conv::f_forward`]): tch's `Conv2D` keeps them private.
#[derive(Debug)]
pub struct Conv {
    layer: nn::Conv2D,
    stride: i64,
    padding: i64,
}

impl Conv {
    pub fn new(p: nn::Path, c_in: i64, c_out: i64, k: i64, stride: i64, padding: i64) -> Self {
        Self {
            layer: conv(p, c_in, c_out, k, stride, padding),
            stride,
            padding,
        }
    }

    /// The convolution, with libtorch's failures (out of memory, say) as errors.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor, TchError> {
        x.f_conv2d(
            &self.layer.ws,
            self.layer.bs.as_ref(),
            [self.stride; 2],
            [self.padding; 2],
            [1, 1],
            1,
        )
    }
}

impl Module for Conv {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.f_forward(x)
            .unwrap_or_else(|e| panic!("convolution: {e}"))
    }
}

/// An [`upconv`] that can also run fallibly.
#[derive(Debug)]
pub struct UpConv {
    layer: nn::ConvTranspose2D,
}

impl UpConv {
    pub fn new(p: nn::Path, c_in: i64, c_out: i64) -> Self {
        Self {
            layer: upconv(p, c_in, c_out),
        }
    }

    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor, TchError> {
        x.f_conv_transpose2d(
            &self.layer.ws,
            self.layer.bs.as_ref(),
            [UPCONV_STRIDE; 2],
            [UPCONV_PADDING; 2],
            [UPCONV_OUTPUT_PADDING; 2],
            1,
            [1, 1],
        )
    }
}

impl Module for UpConv {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.f_forward(x)
            .unwrap_or_else(|e| panic!("transposed convolution: {e}"))
    }
}

/// InstanceNorm2d(affine=False): per-sample, per-channel statistics, always from the input.
pub fn instance_norm(x: &Tensor) -> Tensor {
    f_instance_norm(x).unwrap_or_else(|e| panic!("instance norm: {e}"))
}

pub fn f_instance_norm(x: &Tensor) -> Result<Tensor, TchError> {
    Tensor::f_instance_norm(
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
pub fn f_norm_relu(x: &Tensor) -> Result<Tensor, TchError> {
    f_instance_norm(x)?.f_relu_()
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
    f_downsample(x).unwrap_or_else(|e| panic!("downsampling: {e}"))
}

pub fn f_downsample(x: &Tensor) -> Result<Tensor, TchError> {
    x.f_avg_pool2d([3, 3], [2, 2], [1, 1], false, false, None)
}

/// Reflection padding on all four sides.
pub fn f_reflect(x: &Tensor, pad: i64) -> Result<Tensor, TchError> {
    x.f_reflection_pad2d([pad, pad, pad, pad])
}
