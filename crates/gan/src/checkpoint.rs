//! Checkpoints: named tensors in one safetensors file, written beside its place and then
//! renamed, so a crash or Ctrl-C never leaves half a file where a good one was.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use dancenow_nn::tch::{self, nn::VarStore, Device, Tensor};

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(
        "{path}: not a readable checkpoint ({reason}); it may be truncated or of another kind"
    )]
    Unreadable { path: PathBuf, reason: String },
    /// A tensor holds NaN or infinity: the file is damaged (training never saves a
    /// diverged model).
    #[error("{path}: tensor {key:?} holds NaN or infinite values; the checkpoint is damaged")]
    NonFinite { path: PathBuf, key: String },
    #[error("{path}: has no tensor {key:?}; it was written for another model or stage")]
    Missing { path: PathBuf, key: String },
    #[error("{path}: tensor {key:?} has shape {found:?}, the model needs {expected:?}; it was written for a model of another size")]
    Shape {
        path: PathBuf,
        key: String,
        found: Vec<i64>,
        expected: Vec<i64>,
    },
    #[error("{path}: cannot write the checkpoint ({reason})")]
    Write { path: PathBuf, reason: String },
}

pub struct Checkpoint {
    path: PathBuf,
    tensors: HashMap<String, Tensor>,
}

impl Checkpoint {
    /// Reads a checkpoint; a damaged one (unreadable, or with a NaN or infinite value) is
    /// an error naming the file.
    pub fn read(path: &Path, device: Device) -> Result<Self, CheckpointError> {
        let tensors = Tensor::read_safetensors(path).map_err(|e| CheckpointError::Unreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        if let Some(key) =
            dancenow_nn::first_non_finite(tensors.iter().map(|(k, t)| (k.as_str(), t)))
        {
            return Err(CheckpointError::NonFinite {
                path: path.to_path_buf(),
                key,
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            tensors: tensors
                .into_iter()
                .map(|(k, t)| (k, t.to_device(device)))
                .collect(),
        })
    }

    /// Writes `tensors` to `path` atomically.
    pub fn write(path: &Path, tensors: &[(String, Tensor)]) -> Result<(), CheckpointError> {
        let fail = |reason: String| CheckpointError::Write {
            path: path.to_path_buf(),
            reason,
        };
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let on_cpu: Vec<(String, Tensor)> = tensors
            .iter()
            .map(|(k, t)| (k.clone(), t.detach().to_device(Device::Cpu).contiguous()))
            .collect();
        Tensor::write_safetensors(&on_cpu, &partial).map_err(|e| fail(e.to_string()))?;
        std::fs::rename(&partial, path).map_err(|e| fail(e.to_string()))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Tensor `key`, which must have the shape of `like`.
    pub fn get(&self, key: &str, like: &Tensor) -> Result<Tensor, CheckpointError> {
        let t = self
            .tensors
            .get(key)
            .ok_or_else(|| CheckpointError::Missing {
                path: self.path.clone(),
                key: key.to_string(),
            })?;
        if t.size() != like.size() {
            return Err(CheckpointError::Shape {
                path: self.path.clone(),
                key: key.to_string(),
                found: t.size(),
                expected: like.size(),
            });
        }
        Ok(t.shallow_clone())
    }

    /// The training step the checkpoint was saved at (its `step` tensor).
    pub fn step(&self) -> Result<u64, CheckpointError> {
        let step = self.get("step", &Tensor::from(0i64))?.int64_value(&[]);
        Ok(step.max(0) as u64)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.tensors.contains_key(key)
    }

    /// Copies `PREFIX.NAME` into every variable NAME of `vs`; all must be there.
    pub fn restore(&self, prefix: &str, vs: &VarStore) -> Result<(), CheckpointError> {
        let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        tch::no_grad(|| {
            for (name, mut var) in vars {
                let value = self.get(&format!("{prefix}.{name}"), &var)?;
                var.copy_(&value);
            }
            Ok(())
        })
    }

    /// Copies the variables of `vs` that the checkpoint holds with the same shape (a next
    /// stage starting from the last one's weights); returns how many.
    pub fn restore_matching(&self, prefix: &str, vs: &VarStore) -> usize {
        let mut copied = 0;
        tch::no_grad(|| {
            for (name, mut var) in vs.variables() {
                if let Ok(value) = self.get(&format!("{prefix}.{name}"), &var) {
                    var.copy_(&value);
                    copied += 1;
                }
            }
        });
        copied
    }
}

/// `vs`'s variables named `PREFIX.NAME`, for writing.
pub fn named(prefix: &str, vs: &VarStore) -> Vec<(String, Tensor)> {
    let mut out: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(k, t)| (format!("{prefix}.{k}"), t))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
