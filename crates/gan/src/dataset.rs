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

/// Marks a folder that [`DatasetWriter`] is filling, so a later run may remove it.
const UNFINISHED_MARK: &str = ".dancenow-unfinished";

/// Whether a dataset may be written to `root`: it does not exist yet, or is an empty
/// folder, or holds a dataset dancenow made (its `dataset.json`). Anything else is the
/// user's, and refused before any work.
pub fn check_output(root: &Path) -> Result<(), DatasetError> {
    if is_ours_or_empty(root, DATASET_FILE)? {
        Ok(())
    } else {
        Err(DatasetError::ForeignFolder {
            path: root.to_path_buf(),
        })
    }
}

/// `dir` is missing, an empty folder, or a folder holding `mark`.
fn is_ours_or_empty(dir: &Path, mark: &str) -> Result<bool, DatasetError> {
    let io = |source| DatasetError::Io {
        path: dir.to_path_buf(),
        source,
    };
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(io(e)),
        Ok(meta) if !meta.is_dir() => return Ok(false),
        Ok(_) => {}
    }
    let empty = std::fs::read_dir(dir).map_err(io)?.next().is_none();
    Ok(empty || dir.join(mark).is_file())
}

/// `ROOT.SUFFIX` beside `root` (not inside it, even when `root` ends in a slash).
fn sibling(root: &Path, suffix: &str) -> Result<PathBuf, DatasetError> {
    let absolute = std::path::absolute(root).map_err(|source| DatasetError::Io {
        path: root.to_path_buf(),
        source,
    })?;
    let name = absolute.file_name().ok_or_else(|| DatasetError::Invalid {
        path: root.to_path_buf(),
        problem: "a dataset needs a folder name of its own, not a root or `..`".into(),
    })?;
    let mut name = name.to_os_string();
    name.push(suffix);
    Ok(absolute.with_file_name(name))
}

/// Writes a dataset folder frame by frame into `DATA.partial` beside `DATA`, which takes
/// its place only in [`finish`](Self::finish): until then an earlier dataset in `DATA`
/// stays as it was, and a writer dropped early (an error, Ctrl-C) removes what it wrote.
pub struct DatasetWriter {
    root: PathBuf,
    /// Where the frames go until the dataset is complete.
    layout: Layout,
    finished: bool,
}

impl DatasetWriter {
    /// Refuses a `root` that is not new, empty or a dataset (see [`check_output`]), and
    /// starts a new dataset beside it.
    pub fn create(root: &Path, sequence: SequenceInfo) -> Result<Self, DatasetError> {
        check_output(root)?;
        let staging = sibling(root, ".partial")?;
        // An unfinished folder of an earlier run is ours to remove; a folder of that name
        // without our mark is not.
        if !is_ours_or_empty(&staging, UNFINISHED_MARK)? {
            return Err(DatasetError::ForeignFolder { path: staging });
        }
        remove_dir_if_present(&staging)?;
        std::fs::create_dir_all(&staging).map_err(io_error(&staging))?;
        let writer = Self {
            root: root.to_path_buf(),
            layout: Layout::new(&staging),
            finished: false,
        };
        let mark = staging.join(UNFINISHED_MARK);
        std::fs::write(&mark, b"").map_err(io_error(&mark))?;
        for dir in [IMAGES_DIR, FIGURES_DIR, POSES_DIR] {
            let dir = staging.join(dir);
            std::fs::create_dir(&dir).map_err(io_error(&dir))?;
        }
        openpose::write_sequence_info(&staging.join(POSES_DIR), &sequence)?;
        Ok(writer)
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
    pub fn finish(mut self, mut info: DatasetInfo) -> Result<Dataset, DatasetError> {
        info.format = FORMAT.into();
        info.check(&self.root.join(DATASET_FILE))?;
        let text = serde_json::to_string_pretty(&info).expect("plain data serializes");
        openpose::write_atomically(&self.layout.info_path(), text.as_bytes())?;
        let mark = self.layout.root().join(UNFINISHED_MARK);
        std::fs::remove_file(&mark).map_err(io_error(&mark))?;
        self.replace_old()?;
        self.finished = true;
        Dataset::open(&self.root)
    }

    /// Moves the finished dataset to `root`; an earlier one there goes aside first and
    /// comes back if the move fails.
    fn replace_old(&self) -> Result<(), DatasetError> {
        let staging = self.layout.root();
        // The folder may have changed since `create`.
        check_output(&self.root)?;
        if !self.root.exists() {
            return std::fs::rename(staging, &self.root).map_err(io_error(&self.root));
        }
        // One atomic exchange where the file system has it: no moment, not even a crash,
        // leaves `root` without a whole dataset. The old one is then at `staging`.
        match exchange(staging, &self.root) {
            Ok(()) => return remove_dir_if_present(staging),
            Err(e) if !matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EINVAL)) => {
                return Err(io_error(&self.root)(e));
            }
            Err(_) => {}
        }
        let old = sibling(&self.root, ".old")?;
        if !is_ours_or_empty(&old, DATASET_FILE)? {
            return Err(DatasetError::ForeignFolder { path: old });
        }
        remove_dir_if_present(&old)?;
        std::fs::rename(&self.root, &old).map_err(io_error(&self.root))?;
        if let Err(source) = std::fs::rename(staging, &self.root) {
            let _ = std::fs::rename(&old, &self.root);
            return Err(DatasetError::Io {
                path: self.root.clone(),
                source,
            });
        }
        remove_dir_if_present(&old)
    }
}

impl Drop for DatasetWriter {
    /// An unfinished dataset is removed; an earlier one in its place was never touched.
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_dir_all(self.layout.root());
        }
    }
}

/// Swaps two paths in one step (Linux's `renameat2` with `RENAME_EXCHANGE`); ENOSYS or
/// EINVAL where the kernel or file system cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
    };
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: both are NUL-terminated paths that live across the call.
    let done = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if done == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from_raw_os_error(libc::ENOSYS))
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DatasetError {
    let path = path.to_path_buf();
    move |source| DatasetError::Io { path, source }
}

fn remove_dir_if_present(dir: &Path) -> Result<(), DatasetError> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(dir)(e)),
        _ => Ok(()),
    }
}

/// Encodes a PNG in memory and writes it with every write checked (`image`'s own `save`
/// drops the error of its last buffered write, so a full disk gave empty files).
fn save_png<P>(image: &image::ImageBuffer<P, Vec<u8>>, path: &Path) -> Result<(), DatasetError>
where
    P: image::PixelWithColorType<Subpixel = u8>,
{
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|source| DatasetError::Image {
            path: path.to_path_buf(),
            source,
        })?;
    std::fs::write(path, bytes.into_inner()).map_err(io_error(path))
}
