//! The paper's measures of a trained model (section 5; DESIGN.md section 6).

pub mod ssim;

pub use ssim::{ssim, ssim_images, SsimError};
