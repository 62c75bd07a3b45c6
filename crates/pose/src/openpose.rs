//! OpenPose's JSON output, read and written as OpenPose does: one
//! `<name>_<frame:012>_keypoints.json` per frame, each holding
//! `{"version":1.3,"people":[{"pose_keypoints_2d":[x,y,c,...], "face_keypoints_2d":[...],
//! "hand_left_keypoints_2d":[...], "hand_right_keypoints_2d":[...]}]}`.
//!
//! Body arrays may be BODY_25 (75 values) or COCO-18 (54 values); COCO-18 is mapped to
//! BODY_25 with the mid-hip derived from the hips. OpenPose has no place for the video's
//! frame rate and size, so a folder we write also holds `sequence.json` with them.

use std::fs;
use std::path::{Path, PathBuf};

use dancenow_files::{FolderKind, StageError, StagedDir};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{PoseError, Result};
use crate::keypoints::{
    body, Frame, Keypoint, Person, PoseSequence, BODY_POINTS, COCO18_TO_BODY25,
};

const KEYPOINTS_SUFFIX: &str = "_keypoints.json";
const SEQUENCE_FILE: &str = "sequence.json";
/// Where `normalize` keeps the parameters it applied, beside the frames.
pub const NORMALIZATION_FILE: &str = "normalization.json";
/// Frame sides beyond this are taken for corruption, not video.
const MAX_FRAME_SIDE: u32 = 16_384;
/// The highest frame rate a pose folder may state: high-speed cameras reach it, and a
/// video at more is taken for a damaged `sequence.json`. The CLI's `--fps` has the same.
pub const MAX_FPS: f64 = 1000.0;
/// How far outside the stated frame a point may lie, in frame sides: detectors place
/// cut-off limbs a little past the edge; a point a whole frame away belongs to a video of
/// another size, or to scaled coordinates.
const FRAMES_OUTSIDE: f32 = 1.0;
/// The OpenPose JSON version we write (that of OpenPose 1.7).
const OPENPOSE_JSON_VERSION: f64 = 1.3;

/// What `sequence.json` holds beside the per-frame files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceInfo {
    pub fps: f64,
    pub width: u32,
    pub height: u32,
}

/// The file name OpenPose gives frame `index` of a video called `name`.
pub fn frame_file_name(name: &str, index: usize) -> String {
    format!("{name}_{index:012}{KEYPOINTS_SUFFIX}")
}

/// Reads one OpenPose JSON file.
pub fn read_frame(path: &Path) -> Result<Frame> {
    let text = fs::read_to_string(path).map_err(PoseError::io(path))?;
    parse_frame(&text, path)
}

/// Parses one OpenPose JSON document; `path` is only used in error messages.
pub fn parse_frame(text: &str, path: &Path) -> Result<Frame> {
    let doc: Value = serde_json::from_str(text).map_err(|source| PoseError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    let field_error = |field: String, problem: String| PoseError::Field {
        path: path.to_path_buf(),
        field,
        problem,
    };
    let people = doc
        .get("people")
        .ok_or_else(|| field_error("people".into(), "missing".into()))?
        .as_array()
        .ok_or_else(|| field_error("people".into(), "expected an array".into()))?;
    let people = people
        .iter()
        .enumerate()
        .map(|(i, person)| parse_person(person, &format!("people[{i}]")))
        .collect::<std::result::Result<_, _>>()
        .map_err(|(field, problem)| field_error(field, problem))?;
    Ok(Frame { people })
}

type FieldResult<T> = std::result::Result<T, (String, String)>;

fn parse_person(person: &Value, at: &str) -> FieldResult<Person> {
    if !person.is_object() {
        return Err((
            at.to_string(),
            format!("expected an object of keypoint arrays, found {person}"),
        ));
    }
    let mut out = Person::default();
    let mut arrays = 0;
    let pose = numbers(person, at, "pose_keypoints_2d")?;
    arrays += usize::from(!pose.is_empty());
    match pose.len() / 3 {
        _ if pose.is_empty() => {}
        BODY_POINTS if pose.len() == 3 * BODY_POINTS => fill(&mut out.body, &pose),
        18 if pose.len() == 3 * 18 => {
            let mut coco = [Keypoint::MISSING; 18];
            fill(&mut coco, &pose);
            for (point, &index) in coco.iter().zip(&COCO18_TO_BODY25) {
                out.body[index] = *point;
            }
            if let Some(mid_hip) = Keypoint::midpoint(out.body[body::L_HIP], out.body[body::R_HIP])
            {
                out.body[body::MID_HIP] = mid_hip;
            }
        }
        _ => {
            return Err((
                format!("{at}.pose_keypoints_2d"),
                format!(
                    "has {} values; expected {} (BODY_25), {} (COCO-18) or none",
                    pose.len(),
                    3 * BODY_POINTS,
                    3 * 18
                ),
            ))
        }
    }
    for (field, points) in [
        ("face_keypoints_2d", &mut out.face[..]),
        ("hand_left_keypoints_2d", &mut out.left_hand[..]),
        ("hand_right_keypoints_2d", &mut out.right_hand[..]),
    ] {
        let values = numbers(person, at, field)?;
        if values.is_empty() {
            continue;
        }
        if values.len() != 3 * points.len() {
            return Err((
                format!("{at}.{field}"),
                format!(
                    "has {} values; expected {} or none",
                    values.len(),
                    3 * points.len()
                ),
            ));
        }
        fill(points, &values);
        arrays += 1;
    }
    if arrays == 0 {
        return Err((
            at.to_string(),
            "holds no keypoints: a person needs pose_keypoints_2d, face_keypoints_2d or a \
             hand's array"
                .into(),
        ));
    }
    Ok(out)
}

/// The numbers of `person[field]`; a missing field is an empty list, as OpenPose omits parts
/// it was not asked to detect.
fn numbers(person: &Value, at: &str, field: &str) -> FieldResult<Vec<f32>> {
    let name = || format!("{at}.{field}");
    let Some(value) = person.get(field) else {
        return Ok(Vec::new());
    };
    let array = value.as_array().ok_or_else(|| {
        (
            name(),
            format!("expected an array of numbers, found {value}"),
        )
    })?;
    array
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_f64()
                .map(|n| n as f32)
                .filter(|n| n.is_finite())
                .ok_or_else(|| {
                    (
                        format!("{}[{i}]", name()),
                        format!("expected a finite number, found {v}"),
                    )
                })
        })
        .collect()
}

fn fill(points: &mut [Keypoint], values: &[f32]) {
    for (point, xyc) in points.iter_mut().zip(values.chunks_exact(3)) {
        *point = Keypoint::new(xyc[0], xyc[1], xyc[2]);
    }
}

/// The JSON text OpenPose would write for this frame.
pub fn frame_to_json(frame: &Frame) -> String {
    let flat = |points: &[Keypoint]| -> Vec<f32> {
        points
            .iter()
            .flat_map(|p| [p.x, p.y, p.confidence])
            .collect()
    };
    let people: Vec<Value> = frame
        .people
        .iter()
        .map(|p| {
            json!({
                "person_id": [-1],
                "pose_keypoints_2d": flat(&p.body),
                "face_keypoints_2d": flat(&p.face),
                "hand_left_keypoints_2d": flat(&p.left_hand),
                "hand_right_keypoints_2d": flat(&p.right_hand),
                "pose_keypoints_3d": [],
                "face_keypoints_3d": [],
                "hand_left_keypoints_3d": [],
                "hand_right_keypoints_3d": [],
            })
        })
        .collect();
    json!({ "version": OPENPOSE_JSON_VERSION, "people": people }).to_string()
}

/// Writes one frame's JSON, atomically: a reader never sees half a file. A non-finite
/// coordinate (which JSON cannot hold) is an error, not a silent `null`.
pub fn write_frame(path: &Path, frame: &Frame) -> Result<()> {
    for (i, person) in frame.people.iter().enumerate() {
        if let Some(p) = person
            .points()
            .find(|p| !(p.x.is_finite() && p.y.is_finite() && p.confidence.is_finite()))
        {
            return Err(PoseError::Field {
                path: path.to_path_buf(),
                field: format!("people[{i}]"),
                problem: format!(
                    "cannot write the non-finite keypoint ({}, {}, {})",
                    p.x, p.y, p.confidence
                ),
            });
        }
    }
    write_atomically(path, frame_to_json(frame).as_bytes())
}

/// Writes `bytes` to a temporary file beside `path`, then renames it into place.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    dancenow_files::write_atomically(path, bytes).map_err(PoseError::io(path))
}

/// Writes a whole sequence as OpenPose does, plus `sequence.json`.
pub fn write_sequence(dir: &Path, name: &str, sequence: &PoseSequence) -> Result<()> {
    let mut writer = SequenceWriter::create(
        dir,
        name,
        SequenceInfo {
            fps: sequence.fps,
            width: sequence.width,
            height: sequence.height,
        },
    )?;
    for frame in &sequence.frames {
        writer.write(frame)?;
    }
    writer.finish()
}

/// Writes `sequence.json`: the video's rate and size, which OpenPose's files lack.
pub fn write_sequence_info(dir: &Path, info: &SequenceInfo) -> Result<()> {
    let text = serde_json::to_string_pretty(info).expect("plain numbers serialize");
    write_atomically(&dir.join(SEQUENCE_FILE), text.as_bytes())
}

/// Whether poses may be written to `dir`: it does not exist, is empty, or holds
/// `sequence.json`, the mark of a folder dancenow wrote. A folder of someone else's files
/// (OpenPose's own output, photos) is refused, since the new poses replace it whole.
pub fn check_output_folder(dir: &Path) -> Result<()> {
    match (POSE_FOLDER.replaceable)(dir) {
        Ok(true) => Ok(()),
        Ok(false) => Err(PoseError::ForeignFolder {
            dir: dir.to_path_buf(),
        }),
        Err(e) => Err(PoseError::io(dir)(e)),
    }
}

/// A pose folder: dancenow's when it holds `sequence.json`. It writes the frame files,
/// `sequence.json` and `normalize`'s parameters there; a user's other files are kept.
const POSE_FOLDER: FolderKind = FolderKind {
    replaceable: |dir| dancenow_files::is_missing_empty_or_marked(dir, SEQUENCE_FILE),
    written_here: |name| {
        let name = name.to_string_lossy();
        name.ends_with(KEYPOINTS_SUFFIX)
            || name.ends_with(".partial")
            || [SEQUENCE_FILE, NORMALIZATION_FILE].contains(&name.as_ref())
    },
};

/// Writes frames one at a time, so a long video's poses never sit in memory together.
/// They are written into a folder beside `dir`, which takes `dir`'s place whole in
/// [`finish`](Self::finish): an earlier output there is never mixed with the new one, and
/// stays as it was when the job fails or is stopped.
pub struct SequenceWriter {
    staged: StagedDir,
    name: String,
    next: usize,
}

impl SequenceWriter {
    /// Refuses a `dir` that holds files but no `sequence.json` (see
    /// [`check_output_folder`]), and starts the new folder beside it.
    pub fn create(dir: &Path, name: &str, info: SequenceInfo) -> Result<Self> {
        check_output_folder(dir)?;
        let staged = StagedDir::create(dir, POSE_FOLDER).map_err(|e| staging_error(e, dir))?;
        write_sequence_info(staged.path(), &info)?;
        Ok(Self {
            staged,
            name: name.to_string(),
            next: 0,
        })
    }

    pub fn write(&mut self, frame: &Frame) -> Result<()> {
        let path = self
            .staged
            .path()
            .join(frame_file_name(&self.name, self.next));
        write_frame(&path, frame)?;
        self.next += 1;
        Ok(())
    }

    /// The folder being written, for files that go beside the frames.
    pub fn dir(&self) -> &Path {
        self.staged.path()
    }

    /// Puts the finished folder in place of the earlier one.
    pub fn finish(self) -> Result<()> {
        let dir = self.staged.target().to_path_buf();
        self.staged.commit().map_err(|e| staging_error(e, &dir))
    }
}

fn staging_error(error: StageError, dir: &Path) -> PoseError {
    match error {
        StageError::Foreign { path } if path == dir => PoseError::ForeignFolder { dir: path },
        StageError::Io { path, source } => PoseError::Io { path, source },
        other => PoseError::Output(other),
    }
}

/// The per-frame files of a folder, in frame order: by the number OpenPose puts before
/// `_keypoints.json`, then by name for files without one.
pub fn frame_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = fs::read_dir(dir).map_err(PoseError::io(dir))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(PoseError::io(dir))?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if let Some(stem) = name.strip_suffix(KEYPOINTS_SUFFIX) {
            let number = stem
                .rsplit_once('_')
                .map_or(stem, |(_, n)| n)
                .parse::<u64>()
                .ok();
            files.push((number, name.to_string(), path));
        }
    }
    if files.is_empty() {
        return Err(PoseError::NoFrames {
            dir: dir.to_path_buf(),
        });
    }
    files.sort();
    Ok(files.into_iter().map(|(_, _, path)| path).collect())
}

/// `sequence.json` of a folder, if it has one.
pub fn read_sequence_info(dir: &Path) -> Result<Option<SequenceInfo>> {
    let path = dir.join(SEQUENCE_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(PoseError::io(&path)(e)),
    };
    let info: SequenceInfo = serde_json::from_str(&text).map_err(|source| PoseError::Json {
        path: path.clone(),
        source,
    })?;
    let side_ok = |s: u32| (1..=MAX_FRAME_SIDE).contains(&s);
    let valid = info.fps.is_finite()
        && info.fps > 0.0
        && info.fps <= MAX_FPS
        && side_ok(info.width)
        && side_ok(info.height);
    if !valid {
        return Err(PoseError::Field {
            path,
            field: "fps/width/height".into(),
            problem: format!(
                "must be positive, the frame rate at most {MAX_FPS} and the sides at most \
                 {MAX_FRAME_SIDE}; found {} fps, {}x{}",
                info.fps, info.width, info.height
            ),
        });
    }
    Ok(Some(info))
}

/// Every present point of `frame` must lie within [`FRAMES_OUTSIDE`] frame sides of the
/// `width` x `height` frame (`path` is for the message).
pub fn check_inside(frame: &Frame, width: u32, height: u32, path: &Path) -> Result<()> {
    let (w, h) = (width as f32, height as f32);
    let near =
        |v: f32, side: f32| (-FRAMES_OUTSIDE * side..=(1.0 + FRAMES_OUTSIDE) * side).contains(&v);
    for (i, person) in frame.people.iter().enumerate() {
        if let Some(p) = person
            .points()
            .find(|p| p.is_present() && !(near(p.x, w) && near(p.y, h)))
        {
            return Err(PoseError::Field {
                path: path.to_path_buf(),
                field: format!("people[{i}]"),
                problem: format!(
                    "a point at ({}, {}) lies far outside the {width}x{height} frame the poses \
                     are said to be from (by sequence.json, or the size given); they belong to \
                     a video of another size, or are scaled",
                    p.x, p.y
                ),
            });
        }
    }
    Ok(())
}

/// Reads a folder of OpenPose JSON files; `fallback` supplies the frame rate and size
/// when the folder has no `sequence.json` (as folders written by OpenPose itself do not).
pub fn read_sequence(dir: &Path, fallback: Option<SequenceInfo>) -> Result<PoseSequence> {
    read_sequence_reporting(dir, fallback, |_, _| {})
}

/// [`read_sequence`], calling `progress(files read, files in all)` after each file.
pub fn read_sequence_reporting(
    dir: &Path,
    fallback: Option<SequenceInfo>,
    mut progress: impl FnMut(usize, usize),
) -> Result<PoseSequence> {
    let files = frame_files(dir)?;
    let info = match read_sequence_info(dir)? {
        Some(info) => info,
        None => fallback.ok_or_else(|| PoseError::NoSequenceInfo {
            dir: dir.to_path_buf(),
        })?,
    };
    let frames = files
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let frame = read_frame(path).and_then(|frame| {
                check_inside(&frame, info.width, info.height, path)?;
                Ok(frame)
            });
            progress(i + 1, files.len());
            frame
        })
        .collect::<Result<_>>()?;
    Ok(PoseSequence {
        fps: info.fps,
        width: info.width,
        height: info.height,
        frames,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_follow_openpose() {
        assert_eq!(
            frame_file_name("dance", 42),
            "dance_000000000042_keypoints.json"
        );
    }

    #[test]
    fn hand_and_face_arrays_of_the_wrong_length_name_the_field() {
        let text = r#"{"people":[{"pose_keypoints_2d":[],"hand_left_keypoints_2d":[1,2,3]}]}"#;
        let err = parse_frame(text, Path::new("f.json"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("people[0].hand_left_keypoints_2d"), "{err}");
        assert!(err.contains("expected 63"), "{err}");
    }

    #[test]
    fn a_frame_with_nobody_is_an_empty_list() {
        let frame = parse_frame(r#"{"version":1.3,"people":[]}"#, Path::new("f.json")).unwrap();
        assert!(frame.people.is_empty());
        assert_eq!(frame_to_json(&frame), r#"{"people":[],"version":1.3}"#);
    }
}
