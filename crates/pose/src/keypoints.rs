//! Keypoints in OpenPose's layout: BODY_25 body, 21 points per hand, 70 face points.

/// One 2D keypoint in pixels, with the detector's confidence in [0, 1].
/// OpenPose writes an undetected point as (0, 0, 0); so do we.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Keypoint {
    pub x: f32,
    pub y: f32,
    pub confidence: f32,
}

impl Keypoint {
    pub const MISSING: Keypoint = Keypoint {
        x: 0.0,
        y: 0.0,
        confidence: 0.0,
    };

    pub const fn new(x: f32, y: f32, confidence: f32) -> Self {
        Self { x, y, confidence }
    }

    /// Detected at all: OpenPose marks missing points with zero confidence.
    pub fn is_present(&self) -> bool {
        self.confidence > 0.0
    }

    /// Present with at least this confidence.
    pub fn is_confident(&self, threshold: f32) -> bool {
        self.is_present() && self.confidence >= threshold
    }

    /// The midpoint of two present points, with the lower confidence; `None` if either is missing.
    pub fn midpoint(a: Keypoint, b: Keypoint) -> Option<Keypoint> {
        (a.is_present() && b.is_present()).then(|| Keypoint {
            x: (a.x + b.x) / 2.0,
            y: (a.y + b.y) / 2.0,
            confidence: a.confidence.min(b.confidence),
        })
    }
}

/// Points below this confidence are treated as not seen: not drawn, not measured.
pub const MIN_CONFIDENCE: f32 = 0.05;

pub const BODY_POINTS: usize = 25;
pub const HAND_POINTS: usize = 21;
pub const FACE_POINTS: usize = 70;
/// All of one person's points: body, left hand, right hand, face.
pub const TOTAL_POINTS: usize = BODY_POINTS + 2 * HAND_POINTS + FACE_POINTS;

/// BODY_25 indices, as OpenPose numbers them.
pub mod body {
    pub const NOSE: usize = 0;
    pub const NECK: usize = 1;
    pub const R_SHOULDER: usize = 2;
    pub const R_ELBOW: usize = 3;
    pub const R_WRIST: usize = 4;
    pub const L_SHOULDER: usize = 5;
    pub const L_ELBOW: usize = 6;
    pub const L_WRIST: usize = 7;
    pub const MID_HIP: usize = 8;
    pub const R_HIP: usize = 9;
    pub const R_KNEE: usize = 10;
    pub const R_ANKLE: usize = 11;
    pub const L_HIP: usize = 12;
    pub const L_KNEE: usize = 13;
    pub const L_ANKLE: usize = 14;
    pub const R_EYE: usize = 15;
    pub const L_EYE: usize = 16;
    pub const R_EAR: usize = 17;
    pub const L_EAR: usize = 18;
    pub const L_BIG_TOE: usize = 19;
    pub const L_SMALL_TOE: usize = 20;
    pub const L_HEEL: usize = 21;
    pub const R_BIG_TOE: usize = 22;
    pub const R_SMALL_TOE: usize = 23;
    pub const R_HEEL: usize = 24;
}

/// Where each COCO-18 point (OpenPose's older body model) goes in BODY_25.
/// COCO-18 has no mid-hip and no feet; mid-hip is derived from the hips.
pub const COCO18_TO_BODY25: [usize; 18] = [
    body::NOSE,
    body::NECK,
    body::R_SHOULDER,
    body::R_ELBOW,
    body::R_WRIST,
    body::L_SHOULDER,
    body::L_ELBOW,
    body::L_WRIST,
    body::R_HIP,
    body::R_KNEE,
    body::R_ANKLE,
    body::L_HIP,
    body::L_KNEE,
    body::L_ANKLE,
    body::R_EYE,
    body::L_EYE,
    body::R_EAR,
    body::L_EAR,
];

/// One person's keypoints in one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub body: [Keypoint; BODY_POINTS],
    pub left_hand: [Keypoint; HAND_POINTS],
    pub right_hand: [Keypoint; HAND_POINTS],
    pub face: [Keypoint; FACE_POINTS],
}

impl Default for Person {
    fn default() -> Self {
        Self {
            body: [Keypoint::MISSING; BODY_POINTS],
            left_hand: [Keypoint::MISSING; HAND_POINTS],
            right_hand: [Keypoint::MISSING; HAND_POINTS],
            face: [Keypoint::MISSING; FACE_POINTS],
        }
    }
}

/// An axis-aligned box around a person's seen body points, in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BodyBox {
    pub left: f32,
    pub top: f32,
    pub right: f32,
    pub bottom: f32,
}

impl BodyBox {
    pub fn centre(&self) -> (f32, f32) {
        (
            (self.left + self.right) / 2.0,
            (self.top + self.bottom) / 2.0,
        )
    }

    /// The longer side.
    pub fn size(&self) -> f32 {
        (self.right - self.left).max(self.bottom - self.top)
    }
}

impl Person {
    /// Every keypoint, body first, then left hand, right hand, face.
    pub fn points(&self) -> impl Iterator<Item = &Keypoint> {
        self.body
            .iter()
            .chain(&self.left_hand)
            .chain(&self.right_hand)
            .chain(&self.face)
    }

    pub fn points_mut(&mut self) -> impl Iterator<Item = &mut Keypoint> {
        self.body
            .iter_mut()
            .chain(&mut self.left_hand)
            .chain(&mut self.right_hand)
            .chain(&mut self.face)
    }

    /// Applies `f` to the position of every present point; missing points stay (0, 0, 0).
    pub fn map_positions(&mut self, f: impl Fn(f32, f32) -> (f32, f32)) {
        for p in self.points_mut().filter(|p| p.is_present()) {
            (p.x, p.y) = f(p.x, p.y);
        }
    }

    /// The box around the body points seen with at least [`MIN_CONFIDENCE`]; `None` when
    /// none is.
    pub fn body_box(&self) -> Option<BodyBox> {
        let mut seen = self.body.iter().filter(|p| p.is_confident(MIN_CONFIDENCE));
        let first = seen.next()?;
        let init = BodyBox {
            left: first.x,
            top: first.y,
            right: first.x,
            bottom: first.y,
        };
        Some(seen.fold(init, |b, p| BodyBox {
            left: b.left.min(p.x),
            top: b.top.min(p.y),
            right: b.right.max(p.x),
            bottom: b.bottom.max(p.y),
        }))
    }

    /// Body point `i` when seen with at least [`MIN_CONFIDENCE`].
    pub fn seen(&self, i: usize) -> Option<Keypoint> {
        let p = self.body[i];
        p.is_confident(MIN_CONFIDENCE).then_some(p)
    }

    /// The ground point: the midpoint of the ankles, or the one ankle that is seen.
    pub fn ankle(&self) -> Option<Keypoint> {
        let (l, r) = (self.seen(body::L_ANKLE), self.seen(body::R_ANKLE));
        l.zip(r)
            .and_then(|(l, r)| Keypoint::midpoint(l, r))
            .or(l)
            .or(r)
    }

    /// The top of the body as the paper measures height: the nose, else the ears' midpoint,
    /// else the one ear present.
    pub fn head(&self) -> Option<Keypoint> {
        let (l, r) = (self.seen(body::L_EAR), self.seen(body::R_EAR));
        self.seen(body::NOSE)
            .or_else(|| l.zip(r).and_then(|(l, r)| Keypoint::midpoint(l, r)))
            .or(l)
            .or(r)
    }

    /// Head-to-ankle height in pixels, when both ends are visible.
    pub fn height(&self) -> Option<f32> {
        Some(self.ankle()?.y - self.head()?.y)
    }
}

/// The people OpenPose found in one frame, in its order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frame {
    pub people: Vec<Person>,
}

impl Frame {
    /// The frame's one person, or `None` when it holds nobody or several people.
    pub fn single_person(&self) -> Option<&Person> {
        match self.people.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

/// A video's poses: one [`Frame`] per video frame, with the video's rate and size.
#[derive(Debug, Clone, PartialEq)]
pub struct PoseSequence {
    pub fps: f64,
    pub width: u32,
    pub height: u32,
    pub frames: Vec<Frame>,
}

impl PoseSequence {
    /// The first person of every frame: the track that smoothing and normalization work on.
    pub fn first_person_track(&self) -> Vec<Option<Person>> {
        self.frames
            .iter()
            .map(|f| f.people.first().cloned())
            .collect()
    }
}
