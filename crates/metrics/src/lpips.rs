//! LPIPS v0.1 (Zhang, Isola, Efros, Shechtman, Wang 2018): the distance of two images in
//! the unit-normalised features of a frozen network, weighted per channel by the learned
//! linear heads, averaged over space and summed over layers. The networks and heads are
//! the reference's (VGG16 or AlexNet, from setup's `models/lpips/*.safetensors`).

use std::path::{Path, PathBuf};

use dancenow_nn::tch::nn::{self, Module};
use dancenow_nn::tch::{self, Device, Kind, Tensor};
use image::RgbImage;

/// The reference's input scaling, applied to images in [-1, 1].
const SHIFT: [f64; 3] = [-0.030, -0.088, -0.188];
const SCALE: [f64; 3] = [0.458, 0.448, 0.450];
/// Added to the feature norm, as the reference does.
const EPS: f64 = 1e-10;

/// The feature network under the linear heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backbone {
    /// The reference's default.
    Alex,
    Vgg,
}

impl Backbone {
    pub fn file_name(self) -> &'static str {
        match self {
            Backbone::Alex => "alexnet.safetensors",
            Backbone::Vgg => "vgg16.safetensors",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backbone::Alex => "alex",
            Backbone::Vgg => "vgg",
        }
    }
}

/// One layer of a backbone: a convolution, then ReLU, optionally a max-pool before it,
/// and whether its output is one of the five compared features.
struct Layer {
    c_in: i64,
    c_out: i64,
    kernel: i64,
    stride: i64,
    padding: i64,
    /// Max-pool (kernel, stride) applied to the input first.
    pool_before: Option<(i64, i64)>,
    tapped: bool,
}

const fn layer(c_in: i64, c_out: i64, kernel: i64, pool_before: Option<(i64, i64)>) -> Layer {
    Layer {
        c_in,
        c_out,
        kernel,
        stride: 1,
        padding: kernel / 2,
        pool_before,
        tapped: false,
    }
}

const fn tapped(l: Layer) -> Layer {
    Layer { tapped: true, ..l }
}

/// VGG16's 13 convolutions; features after relu1_2, relu2_2, relu3_3, relu4_3, relu5_3.
const VGG: [Layer; 13] = [
    layer(3, 64, 3, None),
    tapped(layer(64, 64, 3, None)),
    layer(64, 128, 3, Some((2, 2))),
    tapped(layer(128, 128, 3, None)),
    layer(128, 256, 3, Some((2, 2))),
    layer(256, 256, 3, None),
    tapped(layer(256, 256, 3, None)),
    layer(256, 512, 3, Some((2, 2))),
    layer(512, 512, 3, None),
    tapped(layer(512, 512, 3, None)),
    layer(512, 512, 3, Some((2, 2))),
    layer(512, 512, 3, None),
    tapped(layer(512, 512, 3, None)),
];

/// AlexNet's five convolutions, each tapped after its ReLU.
const ALEX: [Layer; 5] = [
    Layer {
        stride: 4,
        padding: 2,
        ..tapped(layer(3, 64, 11, None))
    },
    tapped(layer(64, 192, 5, Some((3, 2)))),
    tapped(layer(192, 384, 3, Some((3, 2)))),
    tapped(layer(384, 256, 3, None)),
    tapped(layer(256, 256, 3, None)),
];

#[derive(Debug, thiserror::Error)]
pub enum LpipsError {
    #[error("{path}: cannot load the LPIPS {backbone} weights (run `cargo xtask setup`)")]
    Load {
        path: PathBuf,
        backbone: &'static str,
        source: tch::TchError,
    },
    /// The file loads but a weight is NaN or infinite: damaged, not trained so.
    #[error("{path}: tensor {tensor:?} of the LPIPS {backbone} weights holds NaN or infinite values; the file is damaged (`cargo xtask setup` installs it again)")]
    NonFinite {
        path: PathBuf,
        backbone: &'static str,
        tensor: String,
    },
    #[error("LPIPS needs two batches of one [N, 3, H, W] size, got {a:?} and {b:?}")]
    SizeMismatch { a: Vec<i64>, b: Vec<i64> },
    #[error("LPIPS {backbone} needs images of at least {min}x{min} pixels, got {width}x{height}")]
    TooSmall {
        backbone: &'static str,
        min: i64,
        width: i64,
        height: i64,
    },
}

pub struct Lpips {
    backbone: Backbone,
    // Kept alive: the convolutions' weights live in it.
    _vs: nn::VarStore,
    convs: Vec<(nn::Conv2D, &'static Layer)>,
    heads: Vec<Tensor>,
    shift: Tensor,
    scale: Tensor,
}

impl Lpips {
    /// Loads a backbone and its heads from `models_dir/lpips/` (setup's folder).
    pub fn load_from(
        models_dir: &Path,
        backbone: Backbone,
        device: Device,
    ) -> Result<Self, LpipsError> {
        Self::load(
            &models_dir.join("lpips").join(backbone.file_name()),
            backbone,
            device,
        )
    }

    /// Loads `path` (keys `backbone.conv{i}.weight|bias`, `lin{i}.weight`).
    pub fn load(path: &Path, backbone: Backbone, device: Device) -> Result<Self, LpipsError> {
        let layers: &'static [Layer] = match backbone {
            Backbone::Alex => &ALEX,
            Backbone::Vgg => &VGG,
        };
        let mut vs = nn::VarStore::new(device);
        let root = vs.root();
        let convs = layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let config = nn::ConvConfig {
                    stride: l.stride,
                    padding: l.padding,
                    ..Default::default()
                };
                let conv = nn::conv2d(
                    &root / "backbone" / format!("conv{i}"),
                    l.c_in,
                    l.c_out,
                    l.kernel,
                    config,
                );
                (conv, l)
            })
            .collect();
        let heads = layers
            .iter()
            .filter(|l| l.tapped)
            .enumerate()
            .map(|(i, l)| {
                (&root / format!("lin{i}")).var("weight", &[1, l.c_out, 1, 1], nn::Init::Const(0.0))
            })
            .collect();
        vs.load(path).map_err(|source| LpipsError::Load {
            path: path.to_path_buf(),
            backbone: backbone.name(),
            source,
        })?;
        let weights = vs.variables();
        if let Some(tensor) =
            dancenow_nn::first_non_finite(weights.iter().map(|(k, t)| (k.as_str(), t)))
        {
            return Err(LpipsError::NonFinite {
                path: path.to_path_buf(),
                backbone: backbone.name(),
                tensor,
            });
        }
        vs.freeze();
        Ok(Self {
            backbone,
            _vs: vs,
            convs,
            heads,
            shift: dancenow_nn::per_channel(&SHIFT, device),
            scale: dancenow_nn::per_channel(&SCALE, device),
        })
    }

    pub fn backbone(&self) -> Backbone {
        self.backbone
    }

    /// The smallest side the backbone accepts (AlexNet's stride and pools need 31 pixels;
    /// VGG's four pools need 16).
    pub fn min_side(&self) -> i64 {
        match self.backbone {
            Backbone::Alex => 31,
            Backbone::Vgg => 16,
        }
    }

    fn features(&self, images: &Tensor) -> Vec<Tensor> {
        let mut h = (images - &self.shift) / &self.scale;
        let mut out = Vec::with_capacity(self.heads.len());
        for (conv, l) in &self.convs {
            if let Some((k, s)) = l.pool_before {
                h = h.max_pool2d([k, k], [s, s], [0, 0], [1, 1], false);
            }
            h = conv.forward(&h).relu_();
            if l.tapped {
                out.push(h.shallow_clone());
            }
        }
        out
    }

    /// LPIPS between two batches `[N, 3, H, W]` in [-1, 1], per image: a `[N]` tensor.
    pub fn distance(&self, a: &Tensor, b: &Tensor) -> Result<Tensor, LpipsError> {
        let (sa, sb) = (a.size(), b.size());
        if sa != sb || sa.len() != 4 || sa[1] != 3 {
            return Err(LpipsError::SizeMismatch { a: sa, b: sb });
        }
        let min = self.min_side();
        if sa[2] < min || sa[3] < min {
            return Err(LpipsError::TooSmall {
                backbone: self.backbone.name(),
                min,
                width: sa[3],
                height: sa[2],
            });
        }
        let device = self.shift.device();
        let unit = |f: &Tensor| f / (f.square().sum_dim_intlist(1, true, Kind::Float).sqrt() + EPS);
        Ok(tch::no_grad(|| {
            let (fa, fb) = (
                self.features(&a.to_kind(Kind::Float).to_device(device)),
                self.features(&b.to_kind(Kind::Float).to_device(device)),
            );
            fa.iter()
                .zip(&fb)
                .zip(&self.heads)
                .map(|((x, y), head)| {
                    (unit(x) - unit(y))
                        .square()
                        .conv2d(head, None::<Tensor>, [1, 1], [0, 0], [1, 1], 1)
                        .mean_dim(&[1i64, 2, 3][..], false, Kind::Float)
                })
                .fold(Tensor::zeros([sa[0]], (Kind::Float, device)), |acc, d| {
                    acc + d
                })
        }))
    }

    /// LPIPS of two 8-bit images.
    pub fn distance_images(&self, a: &RgbImage, b: &RgbImage) -> Result<f64, LpipsError> {
        let signed = |i: &RgbImage| crate::ssim::unit_tensor(i) * 2.0 - 1.0;
        Ok(self.distance(&signed(a), &signed(b))?.double_value(&[0]))
    }
}
