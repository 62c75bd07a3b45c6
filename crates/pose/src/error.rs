use std::path::PathBuf;

/// What went wrong with pose data, and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoseError {
    #[error("{path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not valid JSON")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A JSON file that parses but does not hold what OpenPose writes.
    #[error("{path}: {field}: {problem}")]
    Field {
        path: PathBuf,
        field: String,
        problem: String,
    },
    #[error("{dir}: no *_keypoints.json files")]
    NoFrames { dir: PathBuf },
    /// An output folder holding files but no `sequence.json`: not one dancenow wrote, so
    /// nothing in it is replaced.
    #[error(
        "{dir}: the folder holds files but no sequence.json, so it is not a pose folder \
         dancenow wrote; dancenow replaces only its own output: choose a new or empty folder"
    )]
    ForeignFolder { dir: PathBuf },
    #[error("{dir}: no sequence.json, so the video's frame rate and size are unknown")]
    NoSequenceInfo { dir: PathBuf },
    /// Poses that cannot give what was asked of them, e.g. normalization statistics.
    #[error("{0}")]
    Insufficient(String),
    /// An output that could not be put in place (see `dancenow_files`).
    #[error(transparent)]
    Output(dancenow_files::StageError),
}

impl PoseError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

pub type Result<T, E = PoseError> = std::result::Result<T, E>;
