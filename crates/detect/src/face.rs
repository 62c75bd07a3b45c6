//! Faces from the body: a region from the body's face points, MediaPipe's 468-point face
//! mesh, a second pass on the region the mesh gives (MediaPipe's face tracking
//! rectangle), and the mesh mapped to OpenPose's 70 face points.
//!
//! MediaPipe's holistic graph also runs a face detector inside the first region; dancenow
//! relies on the second mesh pass instead.

use std::path::Path;

use dancenow_nn::tch::Device;
use dancenow_nn::tflite::TfliteModel;

use crate::crop::{Border, Frame};
use crate::roi::{distance, rotation_towards, Roi};
use crate::DetectError;

pub const FACE_FILE: &str = "face_landmark.tflite";
const FACE_INPUT: i64 = 192;
pub const MESH_POINTS: usize = 468;
/// The region from the body's face points: their box (ear to ear), doubled.
const FROM_BODY_SCALE: f32 = 2.0;
/// MediaPipe's face tracking rectangle: 1.5 times the mesh's box.
const FROM_MESH_SCALE: f32 = 1.5;
/// Face presence below this means no face in the region.
pub const MIN_FACE_PRESENCE: f32 = 0.5;
/// Mesh points at the outer corners of the right and left eye, which set the rotation.
const RIGHT_EYE_CORNER: usize = 33;
const LEFT_EYE_CORNER: usize = 263;
/// The mesh point at the tip of the nose.
const NOSE_TIP: usize = 1;
/// A tracked face counts as the same face while its nose tip stays within this fraction
/// of the region's size from the body's nose.
const STILL_THERE: f32 = 0.25;

/// OpenPose's 68 face points (dlib's layout) as face-mesh indices: jaw from the face's
/// right to its left, brows, nose bridge and base, eyes, outer and inner lips.
pub const OPENPOSE_FROM_MESH: [usize; 68] = [
    162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389, // jaw
    71, 63, 105, 66, 107, // right brow
    336, 296, 334, 293, 301, // left brow
    168, 197, 5, 4, // nose bridge
    75, 97, 2, 326, 305, // nose base
    33, 160, 158, 133, 153, 144, // right eye
    362, 385, 387, 263, 373, 380, // left eye
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181, // outer lips
    78, 82, 13, 312, 308, 317, 14, 87, // inner lips
];
/// OpenPose's points 68 and 69 are the right and left pupils: the centres of the eye
/// contours above (points 36-41 and 42-47).
pub const PUPIL_CONTOURS: [std::ops::Range<usize>; 2] = [36..42, 42..48];

/// The 468 mesh points in frame pixels (continuous coordinates) and the face presence.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceMesh {
    pub points: Vec<(f32, f32)>,
    pub presence: f32,
}

impl FaceMesh {
    /// OpenPose's 70 face points (68 + 2 pupils).
    pub fn openpose_points(&self) -> [(f32, f32); 70] {
        let mut out = [(0.0, 0.0); 70];
        for (o, &m) in out.iter_mut().zip(&OPENPOSE_FROM_MESH) {
            *o = self.points[m];
        }
        for (k, contour) in PUPIL_CONTOURS.iter().enumerate() {
            let n = contour.len() as f32;
            let (sx, sy) = contour
                .clone()
                .fold((0.0, 0.0), |(sx, sy), i| (sx + out[i].0, sy + out[i].1));
            out[68 + k] = (sx / n, sy / n);
        }
        out
    }
}

pub struct FaceModel {
    model: TfliteModel,
}

impl FaceModel {
    pub fn load(models: &Path, device: Device) -> Result<Self, DetectError> {
        let model = TfliteModel::load(&models.join(FACE_FILE), device)?;
        crate::blazepose::expect_input(&model, FACE_INPUT)?;
        Ok(Self { model })
    }

    /// The face around the body's face points; `right_eye` and `left_eye` set the
    /// rotation. As for hands, `previous` is last frame's tracking region: if the face is
    /// still there (its nose tip near the body's nose), one pass suffices. Returns the mesh
    /// and the region to track it in next.
    pub fn track(
        &self,
        frame: &Frame,
        previous: Option<Roi>,
        face_points: &[(f32, f32)],
        right_eye: (f32, f32),
        left_eye: (f32, f32),
    ) -> Result<Option<(FaceMesh, Roi)>, DetectError> {
        let nose = face_points[0];
        if let Some(roi) = previous {
            if let Some(mesh) = self.mesh(frame, &roi)? {
                if distance(mesh.points[NOSE_TIP], nose) < STILL_THERE * roi.size {
                    let next = tracking_roi(&mesh);
                    return Ok(Some((mesh, next)));
                }
            }
        }
        let rotation = rotation_towards(right_eye, left_eye, 0.0);
        let Some(roi) = Roi::around(face_points, rotation) else {
            return Ok(None);
        };
        let Some(first) = self.mesh(frame, &roi.transformed(0.0, 0.0, FROM_BODY_SCALE))? else {
            return Ok(None);
        };
        let mesh = self.mesh(frame, &tracking_roi(&first))?.unwrap_or(first);
        let next = tracking_roi(&mesh);
        Ok(Some((mesh, next)))
    }

    fn mesh(&self, frame: &Frame, roi: &Roi) -> Result<Option<FaceMesh>, DetectError> {
        if !roi.is_usable() {
            return Ok(None);
        }
        let input = frame.crop(roi, FACE_INPUT, (0.0, 1.0), Border::Zero);
        let outputs = self.model.forward(&[input])?;
        let (points, flag) = match outputs.as_slice() {
            [p, f] if p.size() == [1, 1, 1, 3 * MESH_POINTS as i64] && f.size() == [1, 1, 1, 1] => {
                (p, f)
            }
            _ => {
                return Err(DetectError::WrongModel(format!(
                    "{FACE_FILE} does not give face mesh outputs"
                )))
            }
        };
        let presence = crate::blazepose::sigmoid(flag.double_value(&[0, 0, 0, 0]) as f32);
        if presence < MIN_FACE_PRESENCE {
            return Ok(None);
        }
        let raw = crate::blazepose::to_vec(points)?;
        let size = FACE_INPUT as f32;
        let points = raw
            .chunks_exact(3)
            .map(|v| roi.to_image(v[0] / size, v[1] / size))
            .collect();
        Ok(Some(FaceMesh { points, presence }))
    }
}

/// The region MediaPipe tracks a face with: level with the eye corners, around the whole
/// mesh, one and a half times its size.
fn tracking_roi(mesh: &FaceMesh) -> Roi {
    let rotation = rotation_towards(
        mesh.points[RIGHT_EYE_CORNER],
        mesh.points[LEFT_EYE_CORNER],
        0.0,
    );
    Roi::around(&mesh.points, rotation)
        .expect("468 points")
        .transformed(0.0, 0.0, FROM_MESH_SCALE)
}
