//! Folders of images as frame sources and sinks.

use std::path::{Path, PathBuf};

use dancenow_files::{FolderKind, StageError, StagedDir};
use image::{ImageFormat, RgbImage};

use crate::error::{MediaError, Result};
use crate::IMAGE_EXTENSIONS;

const FRAME_PREFIX: &str = "frame_";

/// Reads a folder's images in natural order (`2.png` before `10.png`), or one image file.
pub struct ImageFolderReader {
    files: Vec<PathBuf>,
    next: usize,
    width: u32,
    height: u32,
}

impl ImageFolderReader {
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.exists() {
            return Err(MediaError::NotFound {
                path: dir.to_path_buf(),
            });
        }
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(MediaError::io(dir))? {
            let path = entry.map_err(MediaError::io(dir))?.path();
            if path.is_file() && is_image(&path) {
                files.push(path);
            }
        }
        if files.is_empty() {
            return Err(MediaError::EmptyFolder {
                path: dir.to_path_buf(),
            });
        }
        files.sort_by_cached_key(|p| {
            natural_key(&p.file_name().unwrap_or_default().to_string_lossy())
        });
        Self::from_files(files)
    }

    /// A single image, as a one-frame source.
    pub fn single(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Err(MediaError::NotFound {
                path: path.to_path_buf(),
            });
        }
        Self::from_files(vec![path.to_path_buf()])
    }

    fn from_files(files: Vec<PathBuf>) -> Result<Self> {
        // The first image sets the size every other image must have.
        let (width, height) =
            image::image_dimensions(&files[0]).map_err(|source| MediaError::Image {
                path: files[0].clone(),
                source,
            })?;
        Ok(Self {
            files,
            next: 0,
            width,
            height,
        })
    }

    pub fn dimensions(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

impl Iterator for ImageFolderReader {
    type Item = Result<RgbImage>;

    fn next(&mut self) -> Option<Self::Item> {
        let path = self.files.get(self.next)?;
        let index = self.next as u64;
        self.next += 1;
        let image = match image::open(path) {
            Ok(image) => image.to_rgb8(),
            Err(source) => {
                return Some(Err(MediaError::Image {
                    path: path.clone(),
                    source,
                }))
            }
        };
        if image.dimensions() != (self.width, self.height) {
            return Some(Err(MediaError::SizeMismatch {
                path: path.clone(),
                what: "folder's first image",
                index,
                width: self.width,
                height: self.height,
                got_width: image.width(),
                got_height: image.height(),
            }));
        }
        Some(Ok(image))
    }
}

/// Writes `frame_000000.png`, `frame_000001.png`, ... into a folder beside `dir`, which
/// takes `dir`'s place whole in [`finish`](Self::finish): an earlier output there is never
/// mixed with the new frames, and stays as it was when the job fails or is stopped.
pub struct ImageFolderWriter {
    staged: StagedDir,
    next: u64,
}

/// An image folder output: dancenow's when it holds frame files. A user's other files in
/// it are kept; a folder of other files only is refused.
const FRAME_FOLDER: FolderKind = FolderKind {
    replaceable: |dir| {
        if dancenow_files::is_missing_empty_or_marked(dir, "")? {
            return Ok(true);
        }
        let mut names = std::fs::read_dir(dir)?;
        names.try_fold(false, |found, entry| {
            Ok(found || is_frame_file(&entry?.file_name()))
        })
    },
    written_here: |name| is_frame_file(name) || name.to_string_lossy().ends_with(".partial"),
};

fn is_frame_file(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with(FRAME_PREFIX) && name.ends_with(".png")
}

impl ImageFolderWriter {
    /// Refuses a `dir` that holds files but no frames of an earlier run (someone else's
    /// folder), and starts the new folder beside it.
    pub fn create(dir: &Path) -> Result<Self> {
        let staged = StagedDir::create(dir, FRAME_FOLDER).map_err(|e| staging_error(e, dir))?;
        Ok(Self { staged, next: 0 })
    }

    pub fn write(&mut self, frame: &RgbImage) -> Result<()> {
        let name = format!("{FRAME_PREFIX}{:06}.png", self.next);
        save_atomically(frame, &self.staged.path().join(name))?;
        self.next += 1;
        Ok(())
    }

    /// Puts the finished folder in place of the earlier one; returns the frames written.
    pub fn finish(self) -> Result<u64> {
        let dir = self.staged.target().to_path_buf();
        self.staged.commit().map_err(|e| staging_error(e, &dir))?;
        Ok(self.next)
    }
}

fn staging_error(error: StageError, dir: &Path) -> MediaError {
    match error {
        StageError::Foreign { path } if path == dir => MediaError::ForeignFolder { path },
        StageError::Io { path, source } => MediaError::Io { path, source },
        other => MediaError::Parameter(other.to_string()),
    }
}

/// Saves in the format the extension names (PNG or JPEG), complete or not at all: the
/// image is encoded in memory and written with every write checked (an encoder writing
/// through a `BufWriter` loses the error of its last flush), then renamed into place.
pub(crate) fn save_atomically(frame: &RgbImage, path: &Path) -> Result<()> {
    let format = ImageFormat::from_path(path).unwrap_or(ImageFormat::Png);
    let mut encoded = std::io::Cursor::new(Vec::new());
    frame
        .write_to(&mut encoded, format)
        .map_err(|source| MediaError::Image {
            path: path.to_path_buf(),
            source,
        })?;
    write_atomically(path, encoded.get_ref())
}

/// Writes `bytes` to `NAME.partial` and renames it to `path` once every byte is written;
/// on failure the partial file is removed and `path` keeps what it held.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    dancenow_files::write_atomically(path, bytes).map_err(|source| MediaError::Io {
        path: path.to_path_buf(),
        source,
    })
}

pub(crate) fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Splits a name into text and number runs so that numbers compare by value.
fn natural_key(name: &str) -> Vec<(String, u128)> {
    let mut key = Vec::new();
    let mut rest = name;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits > 0 {
            key.push((String::new(), rest[..digits].parse().unwrap_or(u128::MAX)));
            rest = &rest[digits..];
        } else {
            let text = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            key.push((rest[..text].to_string(), 0));
            rest = &rest[text..];
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::natural_key;

    #[test]
    fn numbers_in_names_sort_by_value() {
        let mut names = vec!["img10.png", "img2.png", "img1.png", "a.png"];
        names.sort_by_key(|n| natural_key(n));
        assert_eq!(names, ["a.png", "img1.png", "img2.png", "img10.png"]);
    }
}
