use std::path::PathBuf;

/// What went wrong reading or writing frames, and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The ffmpeg tools are not installed or cannot start.
    #[error(
        "cannot run `{program}` (install ffmpeg: `cargo xtask setup`, or `apt-get install ffmpeg`)"
    )]
    ToolMissing {
        program: &'static str,
        source: std::io::Error,
    },
    #[error("{path}: no such file or folder")]
    NotFound { path: PathBuf },
    #[error("{path}: not a video ffmpeg can read: {detail}")]
    NotAVideo { path: PathBuf, detail: String },
    #[error("{path}: holds no frames")]
    NoFrames { path: PathBuf },
    #[error("{path}: {detail}")]
    Truncated { path: PathBuf, detail: String },
    #[error("{path}: ffmpeg failed while {action} ({status}): {stderr}")]
    Ffmpeg {
        path: PathBuf,
        action: &'static str,
        status: String,
        stderr: String,
    },
    /// ffmpeg reported success, but the file it wrote does not hold what was sent (a full
    /// disk can end so); the file was not moved into place.
    #[error("{path}: the video written is broken ({detail}); it was discarded, and an earlier file of that name is unchanged")]
    Unverified { path: PathBuf, detail: String },
    #[error("{path}: H.264 video needs an even width and height, but the frames are {width}x{height}; crop or pad them, or write an image folder")]
    OddSize {
        path: PathBuf,
        width: u32,
        height: u32,
    },
    #[error(
        "{path}: frame {index} is {got_width}x{got_height}, but the {what} is {width}x{height}"
    )]
    SizeMismatch {
        path: PathBuf,
        what: &'static str,
        index: u64,
        width: u32,
        height: u32,
        got_width: u32,
        got_height: u32,
    },
    #[error("{path}")]
    Image {
        path: PathBuf,
        source: image::ImageError,
    },
    /// An output folder that holds files, none of them frames dancenow wrote: someone
    /// else's, which dancenow neither deletes nor writes into.
    #[error(
        "{path}: the folder holds files but no frame_*.png of an earlier dancenow output; \
         dancenow replaces only its own output: choose a new or empty folder"
    )]
    ForeignFolder { path: PathBuf },
    #[error("{path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: no .png or .jpg images in the folder")]
    EmptyFolder { path: PathBuf },
    #[error("invalid setting: {0}")]
    Parameter(String),
}

impl MediaError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

pub type Result<T, E = MediaError> = std::result::Result<T, E>;
