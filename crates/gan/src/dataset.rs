//! The training data folder that `dancenow prepare` writes and `train` reads, in an open
//! layout any tool can write:
//!
//! ```text
//! DATA/dataset.json                  what follows, the crop, the statistics, the split
//! DATA/images/000042.png             video frame 42, cropped around the person, scaled
//! DATA/figures/000042.png            its stick figure, same size
//! DATA/poses/frame_000000000042_keypoints.json
//!                                    its pose in OpenPose JSON, in the crop's pixels
//! ```
//!
//! Frames with nobody or with several people are left out (and listed as skipped).

use std::path::{Path, PathBuf};

use dancenow_files::{FolderKind, StageError, StagedDir};
use dancenow_nn::tch::{Device, Tensor};
use dancenow_pose::normalize::VideoStats;
use dancenow_pose::openpose::{self, SequenceInfo};
use dancenow_pose::{CropWindow, FaceBox, Frame, Person, PoseError};
use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::images::to_tensor;

pub const DATASET_FILE: &str = "dataset.json";
pub const FORMAT: &str = "dancenow-dataset/1";
pub const IMAGES_DIR: &str = "images";
pub const FIGURES_DIR: &str = "figures";
pub const POSES_DIR: &str = "poses";
/// The video name in the pose files' OpenPose names.
const POSE_NAME: &str = "frame";

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a dancenow dataset ({problem}); make one with `dancenow prepare`")]
    Invalid { path: PathBuf, problem: String },
    /// An output folder that holds files but no `dataset.json`: someone else's, which
    /// dancenow neither deletes nor writes into.
    #[error(
        "{path}: the folder holds files but no {DATASET_FILE}, so it is not a dataset dancenow \
         made; dancenow replaces only its own datasets: choose a new or empty folder"
    )]
    ForeignFolder { path: PathBuf },
    /// A face box that the face GAN could not crop: empty, or reaching past the image.
    #[error(
        "{path}: frame {index}'s face box (x {}, y {}, size {}) must be at least 1 pixel and \
         lie inside the {width}x{height} images",
        face.x, face.y, face.size
    )]
    FaceBox {
        path: PathBuf,
        index: usize,
        face: FaceBox,
        width: u32,
        height: u32,
    },
    #[error("{path}: cannot read or write the image")]
    Image {
        path: PathBuf,
        source: image::ImageError,
    },
    #[error(transparent)]
    Pose(#[from] PoseError),
    #[error("{path}: the image is {got:?}, the dataset's size is {expected:?}")]
    ImageSize {
        path: PathBuf,
        got: (u32, u32),
        expected: (u32, u32),
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Val,
}

/// One kept video frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameEntry {
    /// The frame's number in the video, from 0.
    pub index: usize,
    pub split: Split,
    /// The face box in the crop's pixels, when the face is seen.
    pub face: Option<FaceBox>,
}

/// Everything `dataset.json` says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    pub format: String,
    /// The video (or folder) the frames came from.
    pub source: String,
    pub fps: f64,
    pub video_width: u32,
    pub video_height: u32,
    /// The images' size: the crop window's output size.
    pub width: u32,
    pub height: u32,
    pub crop: CropWindow,
    /// The target person's normalization statistics, in the crop's pixels.
    pub stats: VideoStats,
    pub frames: Vec<FrameEntry>,
    pub skipped_without_person: Vec<usize>,
    pub skipped_several_people: Vec<usize>,
}

impl DatasetInfo {
    /// What `dataset.json` (at `path`, for messages) must hold for training to use it.
    fn check(&self, path: &Path) -> Result<(), DatasetError> {
        let invalid = |problem: String| DatasetError::Invalid {
            path: path.to_path_buf(),
            problem,
        };
        if self.format != FORMAT {
            return Err(invalid(format!(
                "format {:?}, expected {FORMAT:?}",
                self.format
            )));
        }
        if self.width == 0 || self.height == 0 {
            return Err(invalid("zero image size".into()));
        }
        for frame in &self.frames {
            let Some(face) = frame.face else { continue };
            let inside = |start: u32, limit: u32| {
                start.checked_add(face.size).is_some_and(|end| end <= limit)
            };
            if face.size == 0 || !inside(face.x, self.width) || !inside(face.y, self.height) {
                return Err(DatasetError::FaceBox {
                    path: path.to_path_buf(),
                    index: frame.index,
                    face,
                    width: self.width,
                    height: self.height,
                });
            }
        }
        if !self.frames.iter().any(|f| f.split == Split::Train) {
            return Err(invalid(
                "no training frames (every frame had nobody or several people?)".into(),
            ));
        }
        Ok(())
    }
}

/// One training example: stick figure and real frame, `[1, 3, H, W]` in [-1, 1].
pub struct Example {
    pub figure: Tensor,
    pub real: Tensor,
}

/// The background plate in a dataset or model folder.
pub const PLATE_FILE: &str = "plate.png";
const PLATE_SEEN_FILE: &str = "plate-seen.png";

/// Where each file of a dataset folder lives.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn info_path(&self) -> PathBuf {
        self.root.join(DATASET_FILE)
    }

    /// The target video's background at its full size (`gan::plate`), where `prepare`
    /// could estimate one.
    pub fn plate_path(&self) -> PathBuf {
        self.root.join(PLATE_FILE)
    }

    /// Where the plate's background was seen (255) or filled in (0).
    pub fn plate_seen_path(&self) -> PathBuf {
        self.root.join(PLATE_SEEN_FILE)
    }

    pub fn image_path(&self, index: usize) -> PathBuf {
        self.root
            .join(IMAGES_DIR)
            .join(format!("{}.png", frame_stem(index)))
    }

    pub fn figure_path(&self, index: usize) -> PathBuf {
        self.root
            .join(FIGURES_DIR)
            .join(format!("{}.png", frame_stem(index)))
    }

    pub fn pose_path(&self, index: usize) -> PathBuf {
        self.root
            .join(POSES_DIR)
            .join(openpose::frame_file_name(POSE_NAME, index))
    }
}

#[derive(Debug, Clone)]
pub struct Dataset {
    pub layout: Layout,
    pub info: DatasetInfo,
}

pub fn frame_stem(index: usize) -> String {
    format!("{index:06}")
}

impl Dataset {
    /// Reads and checks `DATA/dataset.json`.
    pub fn open(root: &Path) -> Result<Self, DatasetError> {
        let layout = Layout::new(root);
        let path = layout.info_path();
        let text = std::fs::read_to_string(&path).map_err(|source| DatasetError::Io {
            path: path.clone(),
            source,
        })?;
        let info: DatasetInfo = serde_json::from_str(&text).map_err(|e| DatasetError::Invalid {
            path: path.clone(),
            problem: format!("bad JSON: {e}"),
        })?;
        info.check(&path)?;
        Ok(Self { layout, info })
    }

    pub fn split(&self, split: Split) -> Vec<&FrameEntry> {
        self.info
            .frames
            .iter()
            .filter(|f| f.split == split)
            .collect()
    }

    /// The kept frame just before `entry` in the video, in the same split: the previous
    /// frame of a temporal pair.
    pub fn previous(&self, entry: &FrameEntry) -> Option<&FrameEntry> {
        let at = self.info.frames.iter().position(|f| f == entry)?;
        let prev = self.info.frames.get(at.checked_sub(1)?)?;
        (prev.index + 1 == entry.index && prev.split == entry.split).then_some(prev)
    }

    pub fn load_image(&self, path: &Path) -> Result<RgbImage, DatasetError> {
        let image = image::open(path)
            .map_err(|source| DatasetError::Image {
                path: path.to_path_buf(),
                source,
            })?
            .to_rgb8();
        let expected = (self.info.width, self.info.height);
        if image.dimensions() != expected {
            return Err(DatasetError::ImageSize {
                path: path.to_path_buf(),
                got: image.dimensions(),
                expected,
            });
        }
        Ok(image)
    }

    pub fn example(&self, entry: &FrameEntry, device: Device) -> Result<Example, DatasetError> {
        Ok(Example {
            figure: to_tensor(
                &self.load_image(&self.layout.figure_path(entry.index))?,
                device,
            ),
            real: to_tensor(
                &self.load_image(&self.layout.image_path(entry.index))?,
                device,
            ),
        })
    }
}

/// Whether a dataset may be written to `root`: it does not exist yet, or is an empty
/// folder, or holds a dataset dancenow made (its `dataset.json`). Anything else is the
/// user's, and refused before any work.
pub fn check_output(root: &Path) -> Result<(), DatasetError> {
    match (DATASET_FOLDER.replaceable)(root) {
        Ok(true) => Ok(()),
        Ok(false) => Err(DatasetError::ForeignFolder {
            path: root.to_path_buf(),
        }),
        Err(e) => Err(io_error(root)(e)),
    }
}

/// A dataset folder: dancenow's when it holds `dataset.json`; a user's own files in it are
/// kept when it is rewritten.
const DATASET_FOLDER: FolderKind = FolderKind {
    replaceable: |dir| dancenow_files::is_missing_empty_or_marked(dir, DATASET_FILE),
    written_here: |name| {
        [
            DATASET_FILE,
            IMAGES_DIR,
            FIGURES_DIR,
            POSES_DIR,
            PLATE_FILE,
            PLATE_SEEN_FILE,
        ]
        .iter()
        .any(|ours| name == *ours)
            || name.to_string_lossy().ends_with(".partial")
    },
};

/// Writes a dataset folder frame by frame into `DATA.partial` beside `DATA`, which takes
/// its place only in [`finish`](Self::finish): until then an earlier dataset in `DATA`
/// stays as it was, and a writer dropped early (an error, Ctrl-C) removes what it wrote.
pub struct DatasetWriter {
    staged: StagedDir,
    /// Where the frames go until the dataset is complete.
    layout: Layout,
}

impl DatasetWriter {
    /// Refuses a `root` that is not new, empty or a dataset (see [`check_output`]), and
    /// starts a new dataset beside it.
    pub fn create(root: &Path, sequence: SequenceInfo) -> Result<Self, DatasetError> {
        check_output(root)?;
        let staged = StagedDir::create(root, DATASET_FOLDER).map_err(|e| staging_error(e, root))?;
        let staging = staged.path().to_path_buf();
        for dir in [IMAGES_DIR, FIGURES_DIR, POSES_DIR] {
            let dir = staging.join(dir);
            std::fs::create_dir(&dir).map_err(io_error(&dir))?;
        }
        openpose::write_sequence_info(&staging.join(POSES_DIR), &sequence)?;
        Ok(Self {
            staged,
            layout: Layout::new(&staging),
        })
    }

    /// Writes video frame `index`: its cropped image, its stick figure and its pose.
    pub fn write_frame(
        &self,
        index: usize,
        image: &RgbImage,
        figure: &RgbImage,
        person: &Person,
    ) -> Result<(), DatasetError> {
        let l = &self.layout;
        save_png(image, &l.image_path(index))?;
        save_png(figure, &l.figure_path(index))?;
        let frame = Frame {
            people: vec![person.clone()],
        };
        openpose::write_frame(&l.pose_path(index), &frame)?;
        Ok(())
    }

    /// Writes the background plate and where it was seen.
    pub fn write_plate(&self, plate: &crate::plate::Plate) -> Result<(), DatasetError> {
        save_png(&plate.image, &self.layout.plate_path())?;
        save_png(&plate.seen, &self.layout.plate_seen_path())
    }

    /// Checks `info`, writes `dataset.json` (which makes the folder a dataset), puts the
    /// new dataset in the place of any earlier one, and opens it.
    pub fn finish(self, mut info: DatasetInfo) -> Result<Dataset, DatasetError> {
        info.format = FORMAT.into();
        let root = self.staged.target().to_path_buf();
        info.check(&root.join(DATASET_FILE))?;
        let text = serde_json::to_string_pretty(&info).expect("plain data serializes");
        openpose::write_atomically(&self.layout.info_path(), text.as_bytes())?;
        self.staged.commit().map_err(|e| staging_error(e, &root))?;
        Dataset::open(&root)
    }
}

fn staging_error(error: StageError, root: &Path) -> DatasetError {
    match error {
        StageError::Io { path, source } => DatasetError::Io { path, source },
        StageError::Foreign { path } => DatasetError::ForeignFolder { path },
        StageError::NoName { path } => DatasetError::Invalid {
            path,
            problem: format!(
                "{}: a dataset needs a folder name of its own",
                root.display()
            ),
        },
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DatasetError {
    let path = path.to_path_buf();
    move |source| DatasetError::Io { path, source }
}

/// [`crate::images::save_png`], its error naming the file.
fn save_png<P>(image: &image::ImageBuffer<P, Vec<u8>>, path: &Path) -> Result<(), DatasetError>
where
    P: image::PixelWithColorType<Subpixel = u8>,
{
    crate::images::save_png(image, path).map_err(|source| DatasetError::Image {
        path: path.to_path_buf(),
        source,
    })
}
