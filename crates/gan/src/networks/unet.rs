//! A U-Net generator (Ronneberger et al. 2015, as pix2pix's `UnetGenerator` uses it for
//! image translation), built from pix2pixHD's pieces: conv3 at full size, `n_downsampling`
//! stride-2 conv3s doubling the channels up to a cap, optional residual blocks at the
//! bottom, then per level a transposed conv3 up, the encoder's features of that level
//! concatenated (the skip), and a conv3 fusing them; conv3 to RGB and tanh, and optionally
//! a sigmoid alpha channel for compositing over a background plate.
//!
//! Why beside pix2pixHD's global generator: the skips carry the stick figure's placement
//! straight to the output, so reconstruction losses place the body within minutes of CPU
//! (docs/architecture.md section 5b), where the residual trunk still gives a blur.

use dancenow_nn::tch::nn::{self, Module};
use dancenow_nn::tch::{TchError, Tensor};
use serde::{Deserialize, Serialize};

use super::layers::{f_norm_relu, Conv, UpConv};
use super::resnet_block::ResnetBlock;

/// The normalization after each convolution but the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    /// Instance norm without affine parameters, as pix2pixHD.
    #[default]
    Instance,
    /// None: plain convolutions and biases.
    None,
}

impl Norm {
    /// This norm then ReLU.
    fn relu(self, x: &Tensor) -> Result<Tensor, TchError> {
        match self {
            Norm::Instance => f_norm_relu(x),
            Norm::None => x.f_relu(),
        }
    }
}

/// The U-Net's hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UNetConfig {
    pub input_nc: i64,
    /// Colour channels out (3), before the optional alpha channel.
    pub output_nc: i64,
    /// Filters at full size.
    pub ngf: i64,
    /// Stride-2 levels (5 on 256x256 leaves 8x8 at the bottom).
    pub n_downsampling: i64,
    /// No level has more channels than this.
    pub max_channels: i64,
    /// Residual blocks at the bottom (0: a plain U-Net).
    pub n_blocks: i64,
    pub norm: Norm,
    /// A fourth output channel through a sigmoid: the person's coverage for compositing.
    pub alpha: bool,
}

impl UNetConfig {
    /// Channels at level `level` (0: full size).
    pub fn channels(&self, level: i64) -> i64 {
        (self.ngf << level.clamp(0, 30)).min(self.max_channels)
    }
}

/// One decoder level: up from the level below, concatenate the skip, fuse.
#[derive(Debug)]
struct UpLevel {
    up: UpConv,
    fuse: Conv,
}

#[derive(Debug)]
pub struct UNet {
    config: UNetConfig,
    front: Conv,
    /// Finest first: `down[k]` goes from level k to level k + 1.
    down: Vec<Conv>,
    blocks: Vec<ResnetBlock>,
    /// Finest first: `up[k]` comes back to level k.
    up: Vec<UpLevel>,
    out: Conv,
}

/// The U-Net's outputs.
pub struct UNetOutput {
    /// `[N, output_nc, H, W]` in [-1, 1].
    pub rgb: Tensor,
    /// `[N, 1, H, W]` in [0, 1], when the network has an alpha channel.
    pub alpha: Option<Tensor>,
}

impl UNet {
    pub fn new(p: &nn::Path, config: &UNetConfig) -> Self {
        let c = |level| config.channels(level);
        let n = config.n_downsampling;
        let down = (0..n)
            .map(|k| Conv::new(p / format!("down{k}"), c(k), c(k + 1), 3, 2, 1))
            .collect();
        let blocks = (0..config.n_blocks)
            .map(|i| ResnetBlock::new(p / format!("block{i}"), c(n)))
            .collect();
        let up = (0..n)
            .map(|k| UpLevel {
                up: UpConv::new(p / format!("up{k}"), c(k + 1), c(k)),
                fuse: Conv::new(p / format!("fuse{k}"), 2 * c(k), c(k), 3, 1, 1),
            })
            .collect();
        let out_nc = config.output_nc + i64::from(config.alpha);
        Self {
            config: *config,
            front: Conv::new(p / "front", config.input_nc, c(0), 3, 1, 1),
            down,
            blocks,
            up,
            out: Conv::new(p / "out", c(0), out_nc, 3, 1, 1),
        }
    }

    /// Whether the network has the alpha channel for compositing.
    pub fn has_alpha(&self) -> bool {
        self.config.alpha
    }

    /// Colour and (when configured) alpha for input `x`, whose sides must be multiples of
    /// 2^`n_downsampling`; libtorch's failures (out of memory, say) as errors.
    pub fn f_forward_parts(&self, x: &Tensor) -> Result<UNetOutput, TchError> {
        let norm = self.config.norm;
        let mut h = norm.relu(&self.front.f_forward(x)?)?;
        let mut skips = Vec::with_capacity(self.down.len());
        for layer in &self.down {
            let next = norm.relu(&layer.f_forward(&h)?)?;
            skips.push(std::mem::replace(&mut h, next));
        }
        for block in &self.blocks {
            h = block.f_forward(&h)?;
        }
        for (level, skip) in self.up.iter().zip(&skips).rev() {
            let up = norm.relu(&level.up.f_forward(&h)?)?;
            h = norm.relu(&level.fuse.f_forward(&Tensor::f_cat(&[&up, skip], 1)?)?)?;
        }
        let out = self.out.f_forward(&h)?;
        let rgb_nc = self.config.output_nc;
        Ok(if self.config.alpha {
            UNetOutput {
                rgb: out.f_narrow(1, 0, rgb_nc)?.f_tanh()?,
                alpha: Some(out.f_narrow(1, rgb_nc, 1)?.f_sigmoid()?),
            }
        } else {
            UNetOutput {
                rgb: out.f_tanh()?,
                alpha: None,
            }
        })
    }

    /// [`Self::f_forward_parts`], panicking on libtorch's failures (for training graphs).
    pub fn forward_parts(&self, x: &Tensor) -> UNetOutput {
        self.f_forward_parts(x)
            .unwrap_or_else(|e| panic!("U-Net: {e}"))
    }

    /// The colour output, with libtorch's failures as errors.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor, TchError> {
        Ok(self.f_forward_parts(x)?.rgb)
    }
}

impl Module for UNet {
    /// The colour output.
    fn forward(&self, x: &Tensor) -> Tensor {
        self.forward_parts(x).rgb
    }
}
