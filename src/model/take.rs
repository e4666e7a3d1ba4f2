//! A take: one rendered clip of a shot, kept forever with the full recipe that made it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{JobId, Millis, ShotId, ShotSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TakeId(pub u64);

impl fmt::Display for TakeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Everything a backend needs to make a take, and everything needed to make it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    /// The compiled prompt sent to the backend.
    pub prompt: String,
    pub negative: String,
    pub seed: u64,
    pub backend: String,
    pub model: String,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub duration_s: f64,
    pub frames: u32,
    #[serde(default)]
    pub style: Option<String>,
    /// Variation axes and values this take was made with (`lighting = night`).
    #[serde(default)]
    pub variant: BTreeMap<String, String>,
    /// The structured prompt the compiled prompt came from.
    pub spec: ShotSpec,
    /// Backend-specific parameters (steps, sampler, …), part of the cache key.
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
}

impl Recipe {
    /// Identical requests share this key: backend, model, compiled prompt, negative prompt,
    /// seed, size, fps, frame count and parameters. Hex SHA-256.
    pub fn cache_key(&self) -> String {
        let canonical = serde_json::json!({
            "backend": self.backend,
            "model": self.model,
            "prompt": self.prompt,
            "negative": self.negative,
            "seed": self.seed,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "frames": self.frames,
            "params": self.params,
        });
        let digest = Sha256::digest(canonical.to_string().as_bytes());
        hex(&digest)
    }

    /// `variant` as a short label for slates and listings: `lighting=night costume=red cloak`.
    pub fn variant_label(&self) -> String {
        variant_label(&self.variant)
    }
}

/// A variant as a short label: `lighting=night costume=red cloak`.
pub fn variant_label(variant: &BTreeMap<String, String>) -> String {
    variant
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Lower-case hex of a byte string.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// What the file on disk really is, read back from it after rendering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaInfo {
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub frames: u32,
    pub duration_s: f64,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    pub amount: f64,
    pub currency: String,
}

impl Cost {
    pub fn zero() -> Self {
        Self {
            amount: 0.0,
            currency: "USD".to_string(),
        }
    }
}

impl Default for Cost {
    fn default() -> Self {
        Self::zero()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timings {
    pub queued_at: Millis,
    #[serde(default)]
    pub started_at: Option<Millis>,
    pub finished_at: Millis,
    /// Wall time the backend spent on the take (submit to file on disk).
    pub render_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Take {
    pub id: TakeId,
    /// `SC012_SH12A_TK03`; also the file name.
    pub code: String,
    pub project: String,
    pub shot: ShotId,
    pub shot_code: String,
    pub number: u32,
    pub recipe: Recipe,
    /// Path of the MP4, relative to the data directory.
    pub file: String,
    pub media: MediaInfo,
    pub cost: Cost,
    pub timings: Timings,
    /// The take this one was re-rolled from.
    #[serde(default)]
    pub parent: Option<TakeId>,
    /// The pool member that rendered it, when it went through a pool.
    #[serde(default)]
    pub rendered_by: Option<String>,
    pub job: JobId,
    pub created_at: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn recipe() -> Recipe {
        Recipe {
            prompt: "a fox runs".into(),
            negative: String::new(),
            seed: 7,
            backend: "animatic".into(),
            model: "animatic-1".into(),
            width: 1280,
            height: 720,
            fps: 24,
            duration_s: 5.0,
            frames: 120,
            style: None,
            variant: BTreeMap::new(),
            spec: ShotSpec::default(),
            params: BTreeMap::new(),
        }
    }

    #[test]
    fn cache_key_covers_every_input_that_changes_the_picture() {
        let base = recipe();
        let key = base.cache_key();
        assert_eq!(key.len(), 64);
        assert_eq!(key, recipe().cache_key(), "deterministic");
        type Change = Box<dyn Fn(&mut Recipe)>;
        let changes: Vec<Change> = vec![
            Box::new(|r| r.prompt.push('!')),
            Box::new(|r| r.negative = "blur".into()),
            Box::new(|r| r.seed = 8),
            Box::new(|r| r.backend = "renderbox".into()),
            Box::new(|r| r.model = "wan2.2".into()),
            Box::new(|r| r.width = 832),
            Box::new(|r| r.height = 480),
            Box::new(|r| r.fps = 30),
            Box::new(|r| r.frames = 121),
            Box::new(|r| {
                r.params.insert("steps".into(), 20.into());
            }),
        ];
        for change in changes {
            let mut r = recipe();
            change(&mut r);
            assert_ne!(r.cache_key(), key);
        }
    }
}
