//! Hands from the body, as MediaPipe holistic finds them: a rough region from the body's
//! wrist, index and pinky points, a small re-crop network that finds the hand in it, the
//! 21-point hand landmark model on the re-cropped region, and from then on the region
//! the last frame's landmarks give (MediaPipe's hand tracking rectangle).

use std::f32::consts::FRAC_PI_2;
use std::path::Path;

use dancenow_nn::tch::Device;
use dancenow_nn::tflite::TfliteModel;

use crate::crop::{Border, Frame};
use crate::roi::{distance, rotation_towards, Roi};
use crate::DetectError;

pub const HAND_FILE: &str = "hand_landmark_full.tflite";
pub const RECROP_FILE: &str = "hand_recrop.tflite";
const HAND_INPUT: i64 = 224;
const RECROP_INPUT: i64 = 256;
pub const HAND_POINTS: usize = 21;
/// MediaPipe's hand-from-pose rectangle: 2.7 times the wrist-to-middle box, moved 0.1 up.
const FROM_POSE_SCALE: f32 = 2.7;
/// The re-crop network's two points give the hand's centre and extent, pointing down.
const RECROP_TARGET_ANGLE: f32 = -FRAC_PI_2;
/// MediaPipe's hand tracking rectangle: twice the landmarks' box, moved 0.1 up.
const FROM_LANDMARKS_SCALE: f32 = 2.0;
const SHIFT_UP: f32 = -0.1;
/// Hand presence below this means no hand in the region.
pub const MIN_HAND_PRESENCE: f32 = 0.5;
/// Landmarks that outline the palm and finger bases, for the tracking rectangle.
const PALM_POINTS: [usize; 12] = [0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18];
const WRIST: usize = 0;
/// A tracked hand counts as the same hand while its wrist stays within this fraction of
/// the region's size from the body's wrist.
const STILL_THERE: f32 = 0.5;
const MIDDLE_BASE: usize = 9;

/// 21 hand points in frame pixels (continuous coordinates) with the model's confidence.
#[derive(Debug, Clone, PartialEq)]
pub struct HandLandmarks {
    pub points: [(f32, f32); HAND_POINTS],
    pub presence: f32,
}

pub struct HandModel {
    model: TfliteModel,
    recrop: TfliteModel,
}

impl HandModel {
    pub fn load(models: &Path, device: Device) -> Result<Self, DetectError> {
        // Landmarks and presence; not handedness or world landmarks.
        let model = TfliteModel::load(&models.join(HAND_FILE), device)?.keep_outputs(&[0, 1])?;
        crate::blazepose::expect_input(&model, HAND_INPUT)?;
        let recrop = TfliteModel::load(&models.join(RECROP_FILE), device)?;
        crate::blazepose::expect_input(&recrop, RECROP_INPUT)?;
        Ok(Self { model, recrop })
    }

    /// The hand at the end of an arm. `previous` is the region this hand was tracked in
    /// on the last frame: if the hand is still there (its wrist near the body's), that
    /// region serves. Otherwise the re-crop network finds the hand near the body's wrist,
    /// pinky and index points. Returns the hand and the region to track it in next.
    pub fn track(
        &self,
        frame: &Frame,
        previous: Option<Roi>,
        wrist: (f32, f32),
        pinky: (f32, f32),
        index: (f32, f32),
    ) -> Result<Option<(HandLandmarks, Roi)>, DetectError> {
        if let Some(roi) = previous {
            if let Some(hand) = self.landmarks(frame, &roi)? {
                if distance(hand.points[WRIST], wrist) < STILL_THERE * roi.size {
                    let next = tracking_roi(&hand);
                    return Ok(Some((hand, next)));
                }
            }
        }
        let middle = (
            (2.0 * index.0 + pinky.0) / 3.0,
            (2.0 * index.1 + pinky.1) / 3.0,
        );
        let rough = Roi {
            cx: middle.0,
            cy: middle.1,
            size: 2.0 * distance(middle, wrist),
            rotation: rotation_towards(wrist, middle, FRAC_PI_2),
        }
        .transformed(0.0, SHIFT_UP, FROM_POSE_SCALE);
        let Some(roi) = self.recrop(frame, &rough)? else {
            return Ok(None);
        };
        let Some(hand) = self.landmarks(frame, &roi)? else {
            return Ok(None);
        };
        let next = tracking_roi(&hand);
        Ok(Some((hand, next)))
    }

    /// The re-crop network's region for the hand inside `rough`.
    fn recrop(&self, frame: &Frame, rough: &Roi) -> Result<Option<Roi>, DetectError> {
        if !rough.is_usable() {
            return Ok(None);
        }
        let input = frame.crop(rough, RECROP_INPUT, (0.0, 1.0), Border::Replicate);
        let outputs = self.recrop.forward(&[input])?;
        let points = match outputs.as_slice() {
            [p] if p.size() == [1, 1, 1, 4] => crate::blazepose::to_vec(p)?,
            _ => {
                return Err(DetectError::WrongModel(format!(
                    "{RECROP_FILE} does not give two hand points"
                )))
            }
        };
        let size = RECROP_INPUT as f32;
        let centre = rough.to_image(points[0] / size, points[1] / size);
        let extent = rough.to_image(points[2] / size, points[3] / size);
        let roi = Roi {
            cx: centre.0,
            cy: centre.1,
            size: 2.0 * distance(centre, extent),
            rotation: rotation_towards(centre, extent, RECROP_TARGET_ANGLE),
        };
        Ok(Some(roi.transformed(0.0, SHIFT_UP, 1.0)))
    }

    fn landmarks(&self, frame: &Frame, roi: &Roi) -> Result<Option<HandLandmarks>, DetectError> {
        if !roi.is_usable() {
            return Ok(None);
        }
        let input = frame.crop(roi, HAND_INPUT, (0.0, 1.0), Border::Zero);
        let outputs = self.model.forward(&[input])?;
        let (points, presence) = match outputs.as_slice() {
            [p, f] if p.size() == [1, 3 * HAND_POINTS as i64] && f.size() == [1, 1] => (p, f),
            _ => {
                return Err(DetectError::WrongModel(format!(
                    "{HAND_FILE} does not give hand landmark outputs"
                )))
            }
        };
        let presence = presence.double_value(&[0, 0]) as f32;
        if presence < MIN_HAND_PRESENCE {
            return Ok(None);
        }
        let raw = crate::blazepose::to_vec(points)?;
        let size = HAND_INPUT as f32;
        let mut out = [(0.0, 0.0); HAND_POINTS];
        for (o, v) in out.iter_mut().zip(raw.chunks_exact(3)) {
            *o = roi.to_image(v[0] / size, v[1] / size);
        }
        Ok(Some(HandLandmarks {
            points: out,
            presence,
        }))
    }
}

/// The region MediaPipe tracks a hand with: turned from wrist to middle-finger base,
/// around the palm points, doubled and moved up a tenth.
fn tracking_roi(hand: &HandLandmarks) -> Roi {
    let rotation = rotation_towards(hand.points[WRIST], hand.points[MIDDLE_BASE], FRAC_PI_2);
    let palm: Vec<(f32, f32)> = PALM_POINTS.iter().map(|&i| hand.points[i]).collect();
    Roi::around(&palm, rotation)
        .expect("palm points")
        .transformed(0.0, SHIFT_UP, FROM_LANDMARKS_SCALE)
}
