//! The networks' hyperparameters, named as pix2pixHD names them, with presets.

/// pix2pixHD's generator options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeneratorConfig {
    /// Channels in: the stick figure's 3, plus 3 for the previous frame with temporal
    /// smoothing.
    pub input_nc: i64,
    pub output_nc: i64,
    /// Filters in the first layer of the (finest) generator.
    pub ngf: i64,
    /// Stride-2 convolutions in the global generator (`n_downsample_global`).
    pub n_downsampling: i64,
    /// Residual blocks in the global generator (`n_blocks_global`).
    pub n_blocks: i64,
    /// Local enhancers around the global generator (0 for the global stage).
    pub n_local_enhancers: i64,
    /// Residual blocks in each local enhancer (`n_blocks_local`).
    pub n_blocks_local: i64,
}

impl Default for GeneratorConfig {
    /// pix2pixHD's defaults: ngf 64, 4 downsamplings, 9 blocks, global stage.
    fn default() -> Self {
        Self {
            input_nc: 3,
            output_nc: 3,
            ngf: 64,
            n_downsampling: 4,
            n_blocks: 9,
            n_local_enhancers: 0,
            n_blocks_local: 3,
        }
    }
}

impl GeneratorConfig {
    /// For tests: a few thousand parameters.
    pub fn tiny() -> Self {
        Self {
            ngf: 8,
            n_downsampling: 2,
            n_blocks: 2,
            ..Self::default()
        }
    }

    /// For CPUs (DESIGN.md section 5): ngf 32, 3 downsamplings, 6 blocks.
    pub fn small() -> Self {
        Self {
            ngf: 32,
            n_downsampling: 3,
            n_blocks: 6,
            ..Self::default()
        }
    }

    /// The paper's: pix2pixHD's defaults.
    pub fn paper() -> Self {
        Self::default()
    }
}

/// pix2pixHD's multi-scale discriminator options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscriminatorConfig {
    pub input_nc: i64,
    /// Filters in the first layer.
    pub ndf: i64,
    /// Stride-2 layers in each PatchGAN (3 gives a 70x70 receptive field).
    pub n_layers: i64,
    /// PatchGANs, each on a further 2x average-pooled input.
    pub num_d: i64,
}

impl Default for DiscriminatorConfig {
    /// pix2pixHD's defaults on (stick figure, image) pairs: ndf 64, 3 layers, 2 scales.
    fn default() -> Self {
        Self {
            input_nc: 6,
            ndf: 64,
            n_layers: 3,
            num_d: 2,
        }
    }
}
