//! Frames in and out: videos through the `ffmpeg` and `ffprobe` programs (raw RGB over
//! pipes, one frame in memory at a time), and folders of images.
//!
//! This is the only crate that starts ffmpeg. Everything it hands out is an 8-bit RGB
//! [`image::RgbImage`]; everything it takes is one.

mod error;
mod folder;
mod probe;
mod process;
mod source;
mod video;

pub use error::{MediaError, Result};
pub use folder::{ImageFolderReader, ImageFolderWriter};
pub use probe::{has_audio, probe, VideoInfo};
pub use source::{FrameSink, FrameSource, SourceInfo, DEFAULT_FOLDER_FPS};
pub use video::{VideoOptions, VideoReader, VideoWriter, DEFAULT_CRF};

/// Folder image formats we read and write.
pub const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg"];
