//! The paper's measures of a trained model (section 5; docs/architecture.md section 6).

pub mod jitter;
pub mod lpips;
pub mod pose_distance;
pub mod ssim;

pub use jitter::{jitter, Accelerations};
pub use lpips::{Backbone, Lpips, LpipsError};
pub use pose_distance::{Part, PartDistance, PoseDistance};
pub use ssim::{ssim, ssim_images, SsimError};
