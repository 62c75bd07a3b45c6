//! One person followed through a video: the next frame's region comes from this frame's
//! landmarks, and the detector runs again only when the landmark model loses the body;
//! then only someone where and as big as the followed person was last seen is taken up
//! ([`crate::identity`]), and until then the frames have nobody.

use std::f32::consts::FRAC_PI_2;
use std::path::Path;
use std::sync::mpsc::sync_channel;

use dancenow_nn::tch::Device;
use dancenow_nn::tflite::{kernel_threads, single_threaded_kernels, QuietLibtorch};
use dancenow_pose::{Keypoint, Person};
use image::RgbImage;

use crate::blazepose::{BlazePose, BodyLandmarks, MIN_DETECTION_SCORE};
use crate::crop::Frame;
use crate::face::FaceModel;
use crate::hands::HandModel;
use crate::identity::Identity;
use crate::openpose_map::body_to_openpose;
use crate::roi::Roi;
use crate::DetectError;

/// Which parts to detect besides the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Parts {
    pub hands: bool,
    pub face: bool,
}

impl Parts {
    pub const BODY: Parts = Parts {
        hands: false,
        face: false,
    };
    pub const ALL: Parts = Parts {
        hands: true,
        face: true,
    };
}

/// A wrist seen less than this is not looked at for a hand (MediaPipe holistic's gate).
const MIN_WRIST_VISIBILITY: f32 = 0.1;
/// The nose must be seen at least this well to look for the face.
const MIN_NOSE_VISIBILITY: f32 = 0.5;
/// BlazePose indices: (wrist, pinky, index) of the left and right hands.
const LEFT_HAND: (usize, usize, usize) = (15, 17, 19);
const RIGHT_HAND: (usize, usize, usize) = (16, 18, 20);
/// BlazePose's face points (nose, eyes, ears, mouth), and its right and left eye.
const FACE_POINTS: std::ops::RangeInclusive<usize> = 0..=10;
const RIGHT_EYE: usize = 5;
const LEFT_EYE: usize = 2;

/// Detections the landmark model looks at on a frame where the followed person is
/// sought, best fitting first: each costs as much as tracking a frame.
const MAX_TRIED: usize = 2;
/// How long after a loss the followed person is also looked for turned by a half and a
/// quarter turn (a flip takes about a second).
const TURNED_SEARCH_SECONDS: f32 = 1.0;
const TURNS: [f32; 3] = [std::f32::consts::PI, FRAC_PI_2, -FRAC_PI_2];
/// The detector's score from which a person where the followed one was last seen is
/// looked at (MediaPipe's 0.5 misses the sports2d man crouching after his flip: 0.34 to
/// 0.39 there).
const MIN_REACQUIRE_SCORE: f32 = 0.3;

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
    body: BodyStage,
    hands: Option<HandStage>,
}

/// The body, and the face from it: one frame after the other, since each frame's body
/// region comes from the last frame's landmarks.
struct BodyStage {
    model: BlazePose,
    face: Option<FaceModel>,
    roi: Option<Roi>,
    /// The turn that found the body on the last frame, when it was found turned: the
    /// region the landmark model gives from a turned crop is tried so turned too.
    turn: f32,
    /// The region the face was tracked in on the last frame.
    face_roi: Option<Roi>,
    /// Where and how big the followed person was last seen, to pick them (and nobody
    /// else) again after a loss.
    identity: Identity,
}

/// The hands, from a frame's body landmarks and the hands' regions on the last frame.
struct HandStage {
    model: HandModel,
    /// Regions the left and right hand were tracked in on the last frame.
    rois: [Option<Roi>; 2],
}

impl Tracker {
    /// Body only.
    pub fn new(model: BlazePose) -> Self {
        Self {
            body: BodyStage {
                model,
                face: None,
                roi: None,
                turn: 0.0,
                face_roi: None,
                identity: Identity::default(),
            },
            hands: None,
        }
    }

    /// Loads the body models and those of the asked-for parts from MediaPipe's folder.
    pub fn load(models: &Path, device: Device, parts: Parts) -> Result<Self, DetectError> {
        let mut tracker = Self::new(BlazePose::load(models, device)?);
        tracker.hands = parts
            .hands
            .then(|| HandModel::load(models, device))
            .transpose()?
            .map(|model| HandStage {
                model,
                rois: [None; 2],
            });
        tracker.body.face = parts
            .face
            .then(|| FaceModel::load(models, device))
            .transpose()?;
        Ok(tracker)
    }

    /// Follows the person standing at this point (in pixels: the nearest of those whose
    /// region holds it) instead of the largest; nobody until the detector finds them.
    pub fn start_near(mut self, x: f32, y: f32) -> Self {
        let fps = self.body.identity.frame_rate();
        self.body.identity = Identity::at_point(x, y).with_frame_rate(fps.into());
        self
    }

    /// Frames come at `fps` a second: how long a frame without the followed person is
    /// (the default is 30).
    pub fn with_frame_rate(mut self, fps: f64) -> Self {
        self.body.identity = self.body.identity.with_frame_rate(fps);
        self
    }

    /// Forgets the followed person (for a new video, or independent images).
    pub fn reset(&mut self) {
        self.body.roi = None;
        self.body.turn = 0.0;
        self.body.face_roi = None;
        let fps = self.body.identity.frame_rate();
        self.body.identity = Identity::default().with_frame_rate(fps.into());
        if let Some(hands) = &mut self.hands {
            hands.rois = [None; 2];
        }
    }

    /// The next frame of a sequence (or an image, after [`Self::reset`]).
    pub fn next(&mut self, image: &RgbImage) -> Result<FrameResult, DetectError> {
        // One libtorch thread for the whole frame: the models' kernels bring their own.
        let _quiet = QuietLibtorch::new(self.body.model.device());
        let frame = Frame::new(image, self.body.model.device());
        let mut result = self.body.next(&frame)?;
        if let Some(hands) = &mut self.hands {
            hands.add(&frame, &mut result)?;
        }
        Ok(result)
    }

    /// Every frame of a sequence, in order: `each(index, frame, result)` gets what
    /// [`Self::next`] would give, or the first error reading frames or calling `each`
    /// ends the run.
    ///
    /// On two or three kernel threads the work is cut into stages, each on a thread of
    /// its own with its kernels unshared: frames are read (an image folder's decoded)
    /// ahead; the body and face of a frame are found on this thread; with hands, those
    /// of the frame before are found on a third. Sharing every small kernel between two
    /// threads, beside a video decoder, made each wait for the other (measured in
    /// docs/performance.md). With more threads, every kernel is shared among them all.
    pub fn run<E: Send>(
        &mut self,
        frames: impl Iterator<Item = Result<RgbImage, E>> + Send,
        mut each: impl FnMut(usize, RgbImage, Result<FrameResult, DetectError>) -> Result<(), E> + Send,
    ) -> Result<(), E> {
        let device = self.body.model.device();
        let _quiet = QuietLibtorch::new(device);
        if !matches!(kernel_threads(), 2 | 3) {
            for (index, image) in frames.enumerate() {
                let image = image?;
                let result = self.next(&image);
                each(index, image, result)?;
            }
            return Ok(());
        }
        let (body, hands) = (&mut self.body, self.hands.as_mut());
        std::thread::scope(|scope| {
            let (to_body, from_reader) = sync_channel(1);
            scope.spawn(move || {
                for frame in frames {
                    if to_body.send(frame).is_err() {
                        // The run stopped; its error says why.
                        break;
                    }
                }
            });
            let frames = from_reader.into_iter().enumerate();
            let Some(hands) = hands else {
                return body.run(frames, |index, image, result| {
                    each(index, image, result).map(|()| true)
                });
            };
            // One frame in flight between the body and the hand stage.
            let (to_hands, from_body) =
                sync_channel::<(usize, RgbImage, Result<FrameResult, DetectError>)>(1);
            let hand_stage = scope.spawn(move || -> Result<(), E> {
                let _quiet = QuietLibtorch::new(device);
                single_threaded_kernels(|| {
                    for (index, image, result) in from_body {
                        let result = result.and_then(|mut result| {
                            hands.add(&Frame::new(&image, device), &mut result)?;
                            Ok(result)
                        });
                        each(index, image, result)?;
                    }
                    Ok(())
                })
            });
            // A failed send means the hand stage stopped; its error says why.
            let read = body.run(frames, |index, image, result| {
                Ok(to_hands.send((index, image, result)).is_ok())
            });
            drop(to_hands);
            let handed = hand_stage
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            // The hand stage's error is about an earlier frame than any read error (the
            // body stage runs ahead), so it is the first one.
            handed.and(read)
        })
    }
}

impl BodyStage {
    /// The body stage of [`Tracker::run`]: finds the body in each frame, with its kernels
    /// on this thread alone, and passes it on; stops at the first frame that cannot be
    /// read, or when `pass_on` errs or answers `false`.
    fn run<E>(
        &mut self,
        frames: impl Iterator<Item = (usize, Result<RgbImage, E>)>,
        mut pass_on: impl FnMut(usize, RgbImage, Result<FrameResult, DetectError>) -> Result<bool, E>,
    ) -> Result<(), E> {
        let device = self.model.device();
        single_threaded_kernels(|| {
            for (index, image) in frames {
                let image = image?;
                let result = self.next(&Frame::new(&image, device));
                if !pass_on(index, image, result)? {
                    break;
                }
            }
            Ok(())
        })
    }

    /// The body (and face) in a frame, following the person from the last frame.
    fn next(&mut self, frame: &Frame) -> Result<FrameResult, DetectError> {
        self.identity.next_frame();
        if let Some(roi) = self.roi {
            if let Some(landmarks) = self.model.landmarks(frame, &roi)? {
                self.turn = 0.0;
                return self.found(frame, landmarks, None);
            }
            if self.turn != 0.0 {
                let turned = Roi {
                    rotation: roi.rotation + self.turn,
                    ..roi
                };
                if let Some(landmarks) = self.model.landmarks(frame, &turned)? {
                    if self.identity.fits(&landmarks.next_roi) {
                        return self.found(frame, landmarks, None);
                    }
                }
            }
        }
        self.turn = 0.0;
        let [sure, unsure] = self
            .model
            .detect_each(frame, [MIN_DETECTION_SCORE, MIN_REACQUIRE_SCORE])?;
        let count = sure.len();
        // The sure detections; where someone is sought and none of them may be that
        // person, the less sure ones (crouching, half hidden, upside down): the landmark
        // model and the fit decide.
        let mut candidates: Vec<Roi> = sure.iter().map(|d| d.roi).collect();
        let mut ranked = self.identity.ranked(&candidates);
        if ranked.is_empty() && self.identity.last_seen().is_some() {
            candidates = unsure.iter().map(|d| d.roi).collect();
            ranked = self.identity.ranked(&candidates);
        }
        let tried: Vec<Roi> = ranked
            .into_iter()
            .take(MAX_TRIED)
            .map(|i| candidates[i])
            .collect();
        for roi in &tried {
            if let Some(landmarks) = self.model.landmarks(frame, roi)? {
                // The landmark model may settle on someone beside the detection.
                if self.identity.fits(&landmarks.next_roi) {
                    return self.found(frame, landmarks, Some(count));
                }
            }
        }
        if let Some((landmarks, turn)) = self.turned_search(frame, &tried)? {
            self.turn = turn;
            return self.found(frame, landmarks, Some(count));
        }
        self.roi = None;
        self.face_roi = None;
        Ok(FrameResult {
            person: None,
            landmarks: None,
            detected_people: Some(count),
        })
    }

    /// The followed person lost a moment ago, looked for turned: upside down in a flip,
    /// or lying, the detector's rotation (from the head and hips it guessed) can be off by
    /// a half or a quarter turn, and the landmark model then sees no body. The regions
    /// tried are the detections' and the place they were last seen; only on the frames of
    /// the first [`TURNED_SEARCH_SECONDS`] of a loss, so a person who left costs little.
    fn turned_search(
        &mut self,
        frame: &Frame,
        detections: &[Roi],
    ) -> Result<Option<(BodyLandmarks, f32)>, DetectError> {
        let Some(last) = self.identity.last_seen() else {
            return Ok(None);
        };
        let lost_for = last.frames_ago as f32 / self.identity.frame_rate();
        let Some(size) = last.size.filter(|_| lost_for <= TURNED_SEARCH_SECONDS) else {
            return Ok(None);
        };
        let last_place = Roi {
            cx: last.centre.0,
            cy: last.centre.1,
            size,
            rotation: 0.0,
        };
        let turned = |roi: Roi, turns: &'static [f32]| {
            turns.iter().map(move |&turn| {
                let region = Roi {
                    rotation: roi.rotation + turn,
                    ..roi
                };
                (region, turn)
            })
        };
        // The last place upright too: the region tracked there was turned as the body was.
        let regions = detections
            .iter()
            .flat_map(|&roi| turned(roi, &TURNS))
            .chain(turned(last_place, &[0.0]))
            .chain(turned(last_place, &TURNS));
        for (roi, turn) in regions {
            if let Some(landmarks) = self.model.landmarks(frame, &roi)? {
                if self.identity.fits(&landmarks.next_roi) {
                    return Ok(Some((landmarks, turn)));
                }
            }
        }
        Ok(None)
    }

    fn found(
        &mut self,
        frame: &Frame,
        landmarks: BodyLandmarks,
        detected_people: Option<usize>,
    ) -> Result<FrameResult, DetectError> {
        self.roi = Some(landmarks.next_roi);
        self.identity.seen(&landmarks.next_roi);
        let mut person = body_to_openpose(&landmarks);
        let point = |i: usize| (landmarks.points[i].x, landmarks.points[i].y);
        if let Some(face) = &self.face {
            let previous = self.face_roi.take();
            if landmarks.points[0].visibility >= MIN_NOSE_VISIBILITY {
                let face_points: Vec<(f32, f32)> = FACE_POINTS.map(point).collect();
                if let Some((mesh, next)) = face.track(
                    frame,
                    previous,
                    &face_points,
                    point(RIGHT_EYE),
                    point(LEFT_EYE),
                )? {
                    for (o, (x, y)) in person.face.iter_mut().zip(mesh.openpose_points()) {
                        *o = openpose_point(x, y, mesh.presence);
                    }
                    self.face_roi = Some(next);
                }
            }
        }
        Ok(FrameResult {
            person: Some(person),
            landmarks: Some(landmarks),
            detected_people,
        })
    }
}

impl HandStage {
    /// Adds the hands at the ends of the found person's arms; with nobody found, forgets
    /// the hands' regions so that they are found afresh.
    fn add(&mut self, frame: &Frame, result: &mut FrameResult) -> Result<(), DetectError> {
        let (Some(person), Some(landmarks)) = (&mut result.person, &result.landmarks) else {
            self.rois = [None; 2];
            return Ok(());
        };
        let point = |i: usize| (landmarks.points[i].x, landmarks.points[i].y);
        let sides = [
            (LEFT_HAND, &mut person.left_hand),
            (RIGHT_HAND, &mut person.right_hand),
        ];
        for (((wrist, pinky, index), out), tracked) in sides.into_iter().zip(self.rois.iter_mut()) {
            let previous = tracked.take();
            if landmarks.points[wrist].visibility < MIN_WRIST_VISIBILITY {
                continue;
            }
            if let Some((hand, next)) =
                self.model
                    .track(frame, previous, point(wrist), point(pinky), point(index))?
            {
                for (o, &(x, y)) in out.iter_mut().zip(&hand.points) {
                    *o = openpose_point(x, y, hand.presence);
                }
                *tracked = Some(next);
            }
        }
        Ok(())
    }
}

/// Continuous coordinates (pixel i centred at i + 0.5) to OpenPose's pixel indices.
fn openpose_point(x: f32, y: f32, confidence: f32) -> Keypoint {
    Keypoint::new(x - 0.5, y - 0.5, confidence.clamp(0.0, 1.0))
}
