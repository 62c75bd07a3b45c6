//! Pose distance (paper, section 5): how far the poses a detector finds on generated frames
//! lie from the poses the frames were generated from, in pixels, by body part.

use dancenow_pose::keypoints::MIN_CONFIDENCE;
use dancenow_pose::{Keypoint, Person};

/// The parts the paper reports separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Body,
    Hands,
    Face,
}

impl Part {
    pub const ALL: [Part; 3] = [Part::Body, Part::Hands, Part::Face];

    pub fn name(self) -> &'static str {
        match self {
            Part::Body => "body",
            Part::Hands => "hands",
            Part::Face => "face",
        }
    }

    /// This part's keypoints of `person`, in a fixed order.
    pub fn points(self, person: &Person) -> Vec<Keypoint> {
        match self {
            Part::Body => person.body.to_vec(),
            Part::Hands => person
                .left_hand
                .iter()
                .chain(&person.right_hand)
                .copied()
                .collect(),
            Part::Face => person.face.to_vec(),
        }
    }
}

/// Running sums for one part.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PartDistance {
    /// Sum of the distances of points seen in both poses.
    sum: f64,
    /// Points seen in both poses.
    pub matched: u64,
    /// Points seen in the input pose but not found on the generated frame.
    pub missed: u64,
}

impl PartDistance {
    /// Mean distance in pixels over the matched points; `None` when nothing matched.
    pub fn mean(&self) -> Option<f64> {
        (self.matched > 0).then(|| self.sum / self.matched as f64)
    }

    fn add(&mut self, other: &PartDistance) {
        self.sum += other.sum;
        self.matched += other.matched;
        self.missed += other.missed;
    }
}

/// Pose distance accumulated over frames.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoseDistance {
    parts: [PartDistance; 3],
    /// Frames compared.
    pub frames: u64,
    /// Frames where the detector found nobody on the generated frame.
    pub missed_frames: u64,
}

impl PoseDistance {
    /// Adds one frame: the pose it was generated from, and what the detector found on it.
    /// Points below [`MIN_CONFIDENCE`] count as not seen.
    pub fn add(&mut self, expected: &Person, detected: Option<&Person>) {
        self.frames += 1;
        if detected.is_none() {
            self.missed_frames += 1;
        }
        for (i, part) in Part::ALL.into_iter().enumerate() {
            let found = detected.map(|d| part.points(d));
            for (j, e) in part.points(expected).iter().enumerate() {
                if !e.is_confident(MIN_CONFIDENCE) {
                    continue;
                }
                match found
                    .as_ref()
                    .map(|f| f[j])
                    .filter(|d| d.is_confident(MIN_CONFIDENCE))
                {
                    Some(d) => {
                        self.parts[i].sum += f64::from((d.x - e.x).hypot(d.y - e.y));
                        self.parts[i].matched += 1;
                    }
                    None => self.parts[i].missed += 1,
                }
            }
        }
    }

    pub fn part(&self, part: Part) -> PartDistance {
        self.parts[Part::ALL.iter().position(|p| *p == part).unwrap_or(0)]
    }

    /// All parts together: every matched point weighs the same.
    pub fn overall(&self) -> PartDistance {
        let mut all = PartDistance::default();
        for p in &self.parts {
            all.add(p);
        }
        all
    }
}
