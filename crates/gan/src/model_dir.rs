//! The model folder that `train` writes and `transfer` and `eval` read:
//!
//! ```text
//! MODEL/config.toml                   networks, size and schedule (ModelConfig)
//! MODEL/target.json                   the target person's normalization statistics
//! MODEL/checkpoints/STAGE.safetensors generator, discriminator and optimizer state, step
//! MODEL/losses.csv                    every step's losses
//! MODEL/losses.png                    their plot
//! MODEL/samples/STAGE_STEP.png        stick figure | generated | real, on fixed frames
//! ```

use std::path::{Path, PathBuf};

use dancenow_pose::normalize::VideoStats;
use dancenow_pose::CropWindow;
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, ModelConfig, Stage};

#[derive(Debug, thiserror::Error)]
pub enum ModelDirError {
    #[error("{path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file written atomically (config, target, losses) that could not be.
    #[error(transparent)]
    Write(#[from] dancenow_pose::PoseError),
    #[error("{path}: {problem}")]
    Invalid { path: PathBuf, problem: String },
    /// `config.toml` parses but asks for a model that cannot be built.
    #[error("{path}: not a usable model configuration")]
    Config { path: PathBuf, source: ConfigError },
}

/// What `transfer` needs to know of the person the model was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// The dataset the model was trained on.
    pub dataset: String,
    pub fps: f64,
    /// In the model's pixels.
    pub stats: VideoStats,
    /// Where the model's frames lie in the target video (the dataset's crop), and that
    /// video's size: `transfer` pastes the generated person there, over the plate.
    /// Absent in models made before dancenow kept them.
    #[serde(default)]
    pub crop: Option<CropWindow>,
    #[serde(default)]
    pub video_size: Option<(u32, u32)>,
}

/// One training step's losses, as `losses.csv` holds them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossRecord {
    pub stage: Stage,
    pub step: u64,
    pub g_gan: f64,
    pub g_feat: f64,
    pub g_vgg: f64,
    pub d_real: f64,
    pub d_fake: f64,
    /// The L1 reconstruction loss (0 where a schedule has none; absent in older files).
    pub g_l1: f64,
    /// A compositing generator's alpha terms: guidance and smoothness (0 for a painting
    /// generator; absent in older files).
    pub g_mask: f64,
}

impl LossRecord {
    pub const HEADER: &'static str = "stage,step,g_gan,g_feat,g_vgg,d_real,d_fake,g_l1,g_mask";
    /// Fields of a line written before the L1 loss column, and before the mask column.
    const FIELDS_WITHOUT_L1: usize = 7;
    const FIELDS_WITHOUT_MASK: usize = 8;
    const FIELDS: usize = 9;

    pub fn g_total(&self) -> f64 {
        self.g_gan + self.g_feat + self.g_vgg + self.g_l1 + self.g_mask
    }

    pub fn d_total(&self) -> f64 {
        0.5 * (self.d_real + self.d_fake)
    }

    /// The first non-finite loss, by name.
    pub fn non_finite(&self) -> Option<(&'static str, f64)> {
        [
            ("G/GAN", self.g_gan),
            ("G/feature matching", self.g_feat),
            ("G/VGG", self.g_vgg),
            ("D/real", self.d_real),
            ("D/fake", self.d_fake),
            ("G/L1", self.g_l1),
            ("G/mask", self.g_mask),
        ]
        .into_iter()
        .find(|(_, v)| !v.is_finite() || v.abs() > 1e6)
    }
}

#[derive(Debug, Clone)]
pub struct ModelDir {
    root: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ModelDirError {
    let path = path.to_path_buf();
    move |source| ModelDirError::Io { path, source }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ModelDirError> {
    Ok(dancenow_pose::openpose::write_atomically(path, bytes)?)
}

impl ModelDir {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// The target video's background at full size, copied from the dataset.
    pub fn plate_path(&self) -> PathBuf {
        self.root.join(crate::dataset::PLATE_FILE)
    }

    pub fn target_path(&self) -> PathBuf {
        self.root.join("target.json")
    }

    pub fn checkpoint_path(&self, stage: Stage) -> PathBuf {
        self.root
            .join("checkpoints")
            .join(format!("{stage}.safetensors"))
    }

    pub fn losses_path(&self) -> PathBuf {
        self.root.join("losses.csv")
    }

    pub fn plot_path(&self) -> PathBuf {
        self.root.join("losses.png")
    }

    pub fn sample_path(&self, stage: Stage, step: u64) -> PathBuf {
        self.root
            .join("samples")
            .join(format!("{stage}_{step:07}.png"))
    }

    pub fn create_dirs(&self) -> Result<(), ModelDirError> {
        for dir in [self.root.join("checkpoints"), self.root.join("samples")] {
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        }
        Ok(())
    }

    /// Starts a new model: its folders, `config.toml` and `target.json`.
    pub fn initialize(&self, config: &ModelConfig, target: &Target) -> Result<(), ModelDirError> {
        config.validate().map_err(|source| ModelDirError::Config {
            path: self.config_path(),
            source,
        })?;
        self.create_dirs()?;
        self.write_config(config)?;
        self.write_target(target)
    }

    pub fn exists(&self) -> bool {
        self.config_path().exists()
    }

    /// Reads `config.toml` and checks it (a hand-edited file is rejected here, with its
    /// path, before any network is built from it).
    pub fn read_config(&self) -> Result<ModelConfig, ModelDirError> {
        let path = self.config_path();
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let config: ModelConfig = toml::from_str(&text).map_err(|e| ModelDirError::Invalid {
            path: path.clone(),
            problem: e.to_string(),
        })?;
        config
            .validate()
            .map_err(|source| ModelDirError::Config { path, source })?;
        Ok(config)
    }

    pub fn write_config(&self, config: &ModelConfig) -> Result<(), ModelDirError> {
        let text = toml::to_string_pretty(config).expect("plain data serializes");
        write_atomically(&self.config_path(), text.as_bytes())
    }

    pub fn read_target(&self) -> Result<Target, ModelDirError> {
        let path = self.target_path();
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        serde_json::from_str(&text).map_err(|e| ModelDirError::Invalid {
            path,
            problem: e.to_string(),
        })
    }

    pub fn write_target(&self, target: &Target) -> Result<(), ModelDirError> {
        let text = serde_json::to_string_pretty(target).expect("plain data serializes");
        write_atomically(&self.target_path(), text.as_bytes())
    }

    /// The losses written so far (none when the file is absent).
    pub fn read_losses(&self) -> Result<Vec<LossRecord>, ModelDirError> {
        let path = self.losses_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&path)(e)),
        };
        let invalid = |line: usize, problem: String| ModelDirError::Invalid {
            path: path.clone(),
            problem: format!("line {}: {problem}", line + 1),
        };
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate().skip(1) {
            let fields: Vec<&str> = line.split(',').collect();
            let known = [
                LossRecord::FIELDS_WITHOUT_L1,
                LossRecord::FIELDS_WITHOUT_MASK,
                LossRecord::FIELDS,
            ];
            if !known.contains(&fields.len()) {
                return Err(invalid(
                    i,
                    format!("{} fields, expected {}", fields.len(), LossRecord::FIELDS),
                ));
            }
            let stage = fields[0].parse().map_err(|e| invalid(i, e))?;
            let num = |k: usize| {
                fields[k]
                    .parse::<f64>()
                    .map_err(|e| invalid(i, format!("{}: {e}", fields[k])))
            };
            out.push(LossRecord {
                stage,
                step: fields[1].parse().map_err(|e| invalid(i, format!("{e}")))?,
                g_gan: num(2)?,
                g_feat: num(3)?,
                g_vgg: num(4)?,
                d_real: num(5)?,
                d_fake: num(6)?,
                g_l1: if fields.len() > 7 { num(7)? } else { 0.0 },
                g_mask: if fields.len() > 8 { num(8)? } else { 0.0 },
            });
        }
        Ok(out)
    }

    pub fn write_losses(&self, records: &[LossRecord]) -> Result<(), ModelDirError> {
        let mut text = String::from(LossRecord::HEADER);
        text.push('\n');
        for r in records {
            text.push_str(&format!(
                "{},{},{},{},{},{},{},{},{}\n",
                r.stage, r.step, r.g_gan, r.g_feat, r.g_vgg, r.d_real, r.d_fake, r.g_l1, r.g_mask
            ));
        }
        write_atomically(&self.losses_path(), text.as_bytes())
    }
}
