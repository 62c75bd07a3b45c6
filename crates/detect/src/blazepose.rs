//! BlazePose (MediaPipe 0.10.14's pose pipeline): person detection with SSD anchors and
//! weighted non-maximum suppression, a rotated region of interest from the hip centre and
//! the full-body point, 39 landmarks (33 body + 6 auxiliary) refined on their heatmaps and
//! projected back to the frame, and tracking that derives the next region from the
//! current landmarks.

use std::path::Path;

use dancenow_nn::tch::{Device, Kind, Tensor};
use dancenow_nn::tflite::TfliteModel;

use crate::anchors::{ssd_anchors, Anchor, POSE_DETECTOR_STRIDES};
use crate::crop::{Border, Frame};
use crate::roi::Roi;
use crate::DetectError;

pub const DETECTOR_FILE: &str = "pose_detection.tflite";
pub const LANDMARK_FILE: &str = "pose_landmark_full.tflite";
const DETECTOR_INPUT: i64 = 224;
const LANDMARK_INPUT: i64 = 256;
const ANCHOR_COUNT: i64 = 2254;
/// Values per anchor: box (cx, cy, w, h) and 4 keypoints (x, y).
const DETECTION_VALUES: i64 = 12;
/// MediaPipe Pose's default `min_detection_confidence`.
pub const MIN_DETECTION_SCORE: f32 = 0.5;
/// Boxes overlapping more than this are merged (weighted NMS).
const NMS_IOU: f32 = 0.3;
/// Raw scores are clipped here before the sigmoid (pose_detection_cpu).
const SCORE_CLIP: f32 = 100.0;
/// The ROI is this much larger than twice the hip-to-full-body distance.
const ROI_SCALE: f32 = 1.25;
/// MediaPipe Pose's default `min_tracking_confidence`: below it, detect again.
pub const MIN_POSE_PRESENCE: f32 = 0.5;
pub const LANDMARKS: usize = 33;
const ALL_LANDMARKS: usize = 39;
/// Heatmap refinement (PoseLandmarkByRoiPostProcessing): a 7x7 window, trusted from 0.5.
const HEATMAP_KERNEL: i64 = 7;
const HEATMAP_MIN_CONFIDENCE: f32 = 0.5;

/// One person found by the detector, in frame pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonDetection {
    pub score: f32,
    /// Hip centre, full-body scale point, shoulder centre, upper-body scale point.
    pub keypoints: [(f32, f32); 4],
    /// Where the landmark model should look.
    pub roi: Roi,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Landmark {
    pub x: f32,
    pub y: f32,
    pub z: f32,
    pub visibility: f32,
    pub presence: f32,
}

/// The 33 BlazePose body landmarks in frame pixels (continuous coordinates).
#[derive(Debug, Clone, PartialEq)]
pub struct BodyLandmarks {
    pub points: [Landmark; LANDMARKS],
    /// The model's confidence that a body is in the ROI at all.
    pub presence: f32,
    /// The ROI for the next frame, from the auxiliary hip-centre and scale points.
    pub next_roi: Roi,
}

#[derive(Debug, Clone, Copy)]
struct RawDetection {
    score: f32,
    /// xmin, ymin, xmax, ymax in the detector's unit square.
    bbox: [f32; 4],
    keypoints: [(f32, f32); 4],
}

pub struct BlazePose {
    detector: TfliteModel,
    landmarker: TfliteModel,
    anchors: Vec<Anchor>,
    device: Device,
}

impl BlazePose {
    /// Loads the two models from MediaPipe's model folder.
    pub fn load(models: &Path, device: Device) -> Result<Self, DetectError> {
        let detector = TfliteModel::load(&models.join(DETECTOR_FILE), device)?;
        // Landmarks, pose flag and heatmap; not the segmentation mask or world landmarks.
        let landmarker =
            TfliteModel::load(&models.join(LANDMARK_FILE), device)?.keep_outputs(&[0, 1, 3])?;
        expect_input(&detector, DETECTOR_INPUT)?;
        expect_input(&landmarker, LANDMARK_INPUT)?;
        Ok(Self {
            detector,
            landmarker,
            anchors: ssd_anchors(DETECTOR_INPUT as u32, &POSE_DETECTOR_STRIDES),
            device,
        })
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// Everyone the detector finds with at least `min_score`, best first.
    pub fn detect(
        &self,
        frame: &Frame,
        min_score: f32,
    ) -> Result<Vec<PersonDetection>, DetectError> {
        let [found] = self.detect_each(frame, [min_score])?;
        Ok(found)
    }

    /// Everyone the detector finds with at least each of `min_scores`, best first: one
    /// list per score, from one run of the network (the boxes merged among those above
    /// each score alone, as [`Self::detect`] merges them).
    pub fn detect_each<const N: usize>(
        &self,
        frame: &Frame,
        min_scores: [f32; N],
    ) -> Result<[Vec<PersonDetection>; N], DetectError> {
        let letterbox = Roi::whole_image(frame.width(), frame.height());
        let input = frame.crop(&letterbox, DETECTOR_INPUT, (-1.0, 1.0), Border::Zero);
        let outputs = self.detector.forward(&[input])?;
        let (boxes, scores) = match outputs.as_slice() {
            [boxes, scores]
                if boxes.size() == [1, ANCHOR_COUNT, DETECTION_VALUES]
                    && scores.size() == [1, ANCHOR_COUNT, 1] =>
            {
                (boxes, scores)
            }
            _ => {
                return Err(DetectError::WrongModel(format!(
                    "{DETECTOR_FILE} does not give BlazePose detector outputs"
                )))
            }
        };
        let boxes = to_vec(boxes)?;
        let scores = to_vec(scores)?;
        Ok(min_scores.map(|min_score| {
            self.decode(&boxes, &scores, min_score)
                .into_iter()
                .map(|d| {
                    let keypoints = d.keypoints.map(|(u, v)| letterbox.to_image(u, v));
                    PersonDetection {
                        score: d.score,
                        keypoints,
                        roi: Roi::from_alignment(keypoints[0], keypoints[1], ROI_SCALE),
                    }
                })
                .collect()
        }))
    }

    /// The detector's outputs as boxes in its unit square, those scoring at least
    /// `min_score`, merged.
    fn decode(&self, boxes: &[f32], scores: &[f32], min_score: f32) -> Vec<RawDetection> {
        let scale = DETECTOR_INPUT as f32;
        let mut raw = Vec::new();
        for (i, (anchor, &score)) in self.anchors.iter().zip(scores).enumerate() {
            let score = sigmoid(score.clamp(-SCORE_CLIP, SCORE_CLIP));
            if score < min_score {
                continue;
            }
            let v = &boxes[i * DETECTION_VALUES as usize..(i + 1) * DETECTION_VALUES as usize];
            let (cx, cy) = (v[0] / scale + anchor.x, v[1] / scale + anchor.y);
            let (w, h) = (v[2] / scale, v[3] / scale);
            let keypoint = |k: usize| {
                (
                    v[4 + 2 * k] / scale + anchor.x,
                    v[5 + 2 * k] / scale + anchor.y,
                )
            };
            raw.push(RawDetection {
                score,
                bbox: [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0],
                keypoints: [keypoint(0), keypoint(1), keypoint(2), keypoint(3)],
            });
        }
        weighted_nms(raw, NMS_IOU)
    }

    /// The body landmarks in `roi`, or `None` when the model sees no body there.
    pub fn landmarks(
        &self,
        frame: &Frame,
        roi: &Roi,
    ) -> Result<Option<BodyLandmarks>, DetectError> {
        let input = frame.crop(roi, LANDMARK_INPUT, (0.0, 1.0), Border::Replicate);
        let outputs = self.landmarker.forward(&[input])?;
        let hm = (LANDMARK_INPUT / 4) as usize;
        let (landmarks, flag, heatmap) = match outputs.as_slice() {
            [l, f, h]
                if l.size() == [1, 5 * ALL_LANDMARKS as i64]
                    && f.size() == [1, 1]
                    && h.size() == [1, hm as i64, hm as i64, ALL_LANDMARKS as i64] =>
            {
                (l, f, h)
            }
            _ => {
                return Err(DetectError::WrongModel(format!(
                    "{LANDMARK_FILE} does not give BlazePose landmark outputs"
                )))
            }
        };
        let presence = flag.double_value(&[0, 0]) as f32;
        if presence < MIN_POSE_PRESENCE {
            return Ok(None);
        }
        let raw = to_vec(landmarks)?;
        let heatmap = to_vec(&heatmap.sigmoid())?;
        let size = LANDMARK_INPUT as f32;
        let mut crop_points: Vec<Landmark> = raw
            .chunks_exact(5)
            .map(|v| Landmark {
                x: v[0] / size,
                y: v[1] / size,
                z: v[2] / size,
                visibility: sigmoid(v[3]),
                presence: sigmoid(v[4]),
            })
            .collect();
        refine_from_heatmap(&mut crop_points, &heatmap, hm);
        let projected: Vec<Landmark> = crop_points
            .iter()
            .map(|p| {
                let (x, y) = roi.to_image(p.x, p.y);
                Landmark {
                    x,
                    y,
                    z: p.z * roi.size,
                    ..*p
                }
            })
            .collect();
        let hip_centre = (projected[LANDMARKS].x, projected[LANDMARKS].y);
        let scale_point = (projected[LANDMARKS + 1].x, projected[LANDMARKS + 1].y);
        let points: [Landmark; LANDMARKS] = projected[..LANDMARKS]
            .try_into()
            .expect("39 landmarks decoded");
        Ok(Some(BodyLandmarks {
            points,
            presence,
            next_roi: Roi::from_alignment(hip_centre, scale_point, ROI_SCALE),
        }))
    }
}

pub(crate) fn expect_input(model: &TfliteModel, side: i64) -> Result<(), DetectError> {
    if model.input_shapes() != [vec![1, side, side, 3]] {
        return Err(DetectError::WrongModel(format!(
            "{} takes inputs {:?}; expected one [1, {side}, {side}, 3] image",
            model.name(),
            model.input_shapes()
        )));
    }
    Ok(())
}

pub(crate) fn to_vec(t: &Tensor) -> Result<Vec<f32>, DetectError> {
    Ok(Vec::<f32>::try_from(
        t.to_device(Device::Cpu).to_kind(Kind::Float).flatten(0, -1),
    )?)
}

pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    let area = |r: &[f32; 4]| (r[2] - r[0]) * (r[3] - r[1]);
    let union = area(a) + area(b) - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// MediaPipe's weighted NMS: each surviving detection is the score-weighted mean of the
/// detections overlapping the best remaining one, with the best one's score.
fn weighted_nms(mut detections: Vec<RawDetection>, threshold: f32) -> Vec<RawDetection> {
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while let Some(best) = detections.first().copied() {
        let (overlapping, rest): (Vec<_>, Vec<_>) = detections
            .into_iter()
            .partition(|d| iou(&d.bbox, &best.bbox) > threshold);
        let total: f32 = overlapping.iter().map(|d| d.score).sum();
        let mut merged = RawDetection {
            score: best.score,
            bbox: [0.0; 4],
            keypoints: [(0.0, 0.0); 4],
        };
        for d in &overlapping {
            let w = d.score / total;
            for (m, v) in merged.bbox.iter_mut().zip(d.bbox) {
                *m += w * v;
            }
            for (m, v) in merged.keypoints.iter_mut().zip(d.keypoints) {
                m.0 += w * v.0;
                m.1 += w * v.1;
            }
        }
        out.push(merged);
        detections = rest;
    }
    out
}

/// Moves each landmark to the sigmoid-weighted centre of its heatmap around it, where the
/// heatmap is confident (MediaPipe's RefineLandmarksFromHeatmap, HWC layout, side `hm`).
fn refine_from_heatmap(points: &mut [Landmark], heatmap: &[f32], hm: usize) {
    let channels = points.len();
    let offset = (HEATMAP_KERNEL - 1) / 2;
    for (k, p) in points.iter_mut().enumerate() {
        let (col, row) = ((p.x * hm as f32) as i64, (p.y * hm as f32) as i64);
        if p.x < 0.0 || p.y < 0.0 || col >= hm as i64 || row >= hm as i64 {
            continue;
        }
        let (mut sum, mut wx, mut wy, mut max) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
        for r in (row - offset).max(0)..(row + offset + 1).min(hm as i64) {
            for c in (col - offset).max(0)..(col + offset + 1).min(hm as i64) {
                let confidence = heatmap[(r as usize * hm + c as usize) * channels + k];
                sum += confidence;
                max = max.max(confidence);
                wx += c as f32 * confidence;
                wy += r as f32 * confidence;
            }
        }
        if max >= HEATMAP_MIN_CONFIDENCE && sum > 0.0 {
            p.x = wx / hm as f32 / sum;
            p.y = wy / hm as f32 / sum;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(score: f32, x: f32) -> RawDetection {
        RawDetection {
            score,
            bbox: [x, 0.0, x + 1.0, 1.0],
            keypoints: [(x, 0.0); 4],
        }
    }

    #[test]
    fn weighted_nms_merges_overlaps_and_keeps_separate_people() {
        let out = weighted_nms(vec![det(0.6, 0.1), det(0.9, 0.0), det(0.8, 5.0)], 0.3);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].score, 0.9);
        // (0.9 * 0.0 + 0.6 * 0.1) / 1.5
        assert!((out[0].bbox[0] - 0.04).abs() < 1e-6);
        assert_eq!(out[1].bbox[0], 5.0);
    }
}
