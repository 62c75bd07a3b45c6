//! One person followed through a video: the next frame's region comes from this frame's
//! landmarks, and the detector runs again only when the landmark model loses the body.

use dancenow_pose::Person;
use image::RgbImage;

use crate::blazepose::{BlazePose, BodyLandmarks, MIN_DETECTION_SCORE};
use crate::crop::Frame;
use crate::openpose_map::body_to_openpose;
use crate::roi::Roi;
use crate::DetectError;

/// What one frame gave.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameResult {
    /// The followed person, in OpenPose layout; `None` when nobody was found.
    pub person: Option<Person>,
    /// The raw BlazePose landmarks behind `person`.
    pub landmarks: Option<BodyLandmarks>,
    /// How many people the detector saw, when it ran on this frame.
    pub detected_people: Option<usize>,
}

pub struct Tracker {
    model: BlazePose,
    roi: Option<Roi>,
    /// Where the followed person was last seen, to pick them again after a loss.
    last_centre: Option<(f32, f32)>,
}

impl Tracker {
    pub fn new(model: BlazePose) -> Self {
        Self {
            model,
            roi: None,
            last_centre: None,
        }
    }

    /// Forgets the followed person (for a new video, or independent images).
    pub fn reset(&mut self) {
        self.roi = None;
        self.last_centre = None;
    }

    pub fn next(&mut self, image: &RgbImage) -> Result<FrameResult, DetectError> {
        let frame = Frame::new(image, self.model.device());
        if let Some(roi) = self.roi {
            if let Some(landmarks) = self.model.landmarks(&frame, &roi)? {
                return Ok(self.found(landmarks, None));
            }
        }
        let detections = self.model.detect(&frame, MIN_DETECTION_SCORE)?;
        let count = detections.len();
        // The person nearest to where we last saw ours; at the start, the largest.
        let chosen = match self.last_centre {
            Some((x, y)) => detections.iter().min_by(|a, b| {
                let d = |r: &Roi| (r.cx - x).powi(2) + (r.cy - y).powi(2);
                d(&a.roi).total_cmp(&d(&b.roi))
            }),
            None => detections
                .iter()
                .max_by(|a, b| a.roi.size.total_cmp(&b.roi.size)),
        };
        let landmarks = match chosen {
            Some(d) => self.model.landmarks(&frame, &d.roi)?,
            None => None,
        };
        match landmarks {
            Some(landmarks) => Ok(self.found(landmarks, Some(count))),
            None => {
                self.roi = None;
                Ok(FrameResult {
                    person: None,
                    landmarks: None,
                    detected_people: Some(count),
                })
            }
        }
    }

    fn found(&mut self, landmarks: BodyLandmarks, detected_people: Option<usize>) -> FrameResult {
        self.roi = Some(landmarks.next_roi);
        self.last_centre = Some((landmarks.next_roi.cx, landmarks.next_roi.cy));
        FrameResult {
            person: Some(body_to_openpose(&landmarks)),
            landmarks: Some(landmarks),
            detected_people,
        }
    }
}
