//! One file per network, each mirroring its pix2pixHD namesake.

mod global_generator;
mod layers;
mod local_enhancer;
mod multiscale_discriminator;
mod nlayer_discriminator;
mod resnet_block;
mod unet;
mod vgg;

pub use global_generator::GlobalGenerator;
pub use local_enhancer::LocalEnhancer;
pub use multiscale_discriminator::MultiscaleDiscriminator;
pub use nlayer_discriminator::NLayerDiscriminator;
pub use resnet_block::ResnetBlock;
pub use unet::{Norm, UNet, UNetConfig, UNetOutput};
pub use vgg::{Vgg16, VggError, VggLayer};
