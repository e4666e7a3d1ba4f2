//! The `[[backend]]` tables of `config.toml`: what each kind of backend needs to be configured.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A named backend. `kind` chooses the implementation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum BackendConfig {
    /// The built-in CPU animatic renderer.
    Animatic {
        name: String,
        /// Renders at once; defaults to the number of CPU cores (at most 4).
        #[serde(default)]
        max_in_flight: Option<usize>,
    },
    /// A ComfyUI server running a Wan2.2 workflow (a render box).
    Comfyui(ComfyConfig),
    /// Alibaba Cloud Model Studio (DashScope) hosted Wan models.
    Dashscope(DashScopeConfig),
    /// Several backends behind one name; each job goes to the least loaded member that can take it.
    Pool { name: String, members: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComfyConfig {
    pub name: String,
    /// `http://host:8188`.
    pub url: String,
    /// API-format workflow JSON; a relative path is relative to config.toml.
    pub workflow: PathBuf,
    /// Where the parameters go in the workflow.
    pub bind: Bindings,
    /// Jobs kept queued on the server at once, so the GPU never waits for previs (default 1).
    #[serde(default)]
    pub max_in_flight: Option<usize>,
    /// The model named in take recipes (default `wan2.2-t2v-a14b`).
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub price: Option<GpuPrice>,
}

/// Parameter → `NODE.INPUT`, where NODE is a node id or its `_meta.title`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bindings {
    pub prompt: String,
    #[serde(default)]
    pub negative: Option<String>,
    pub seed: String,
    pub width: String,
    pub height: String,
    /// Frame count, derived from duration × fps with `frame_rule`.
    pub frames: String,
    #[serde(default)]
    pub frame_rule: FrameRule,
    #[serde(default)]
    pub fps: Option<String>,
    /// Output file name prefix (previs sets it to the take code).
    #[serde(default)]
    pub prefix: Option<String>,
}

/// How a frame count is derived from duration × fps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum FrameRule {
    /// Wan2.2's latent needs `4n + 1` frames (81 for 5 s at 16 fps).
    #[default]
    #[serde(rename = "4n+1")]
    FourNPlusOne,
    /// The workflow takes any count.
    #[serde(rename = "exact")]
    Exact,
}

impl FrameRule {
    /// Frames for `duration_s` at `fps`: the nearest count that satisfies the rule (at least 1).
    pub fn frames(self, duration_s: f64, fps: u32) -> u32 {
        let exact = (duration_s * f64::from(fps)).round().max(1.0);
        let exact = if exact > f64::from(u32::MAX - 4) {
            u32::MAX - 4
        } else {
            exact as u32
        };
        match self {
            Self::Exact => exact,
            Self::FourNPlusOne => {
                let n = (f64::from(exact.saturating_sub(1)) / 4.0).round() as u32;
                4 * n + 1
            }
        }
    }
}

/// A render box's cost: GPU time at an hourly price.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuPrice {
    pub gpu_hour: f64,
    #[serde(default = "usd")]
    pub currency: String,
    /// GPU seconds a take is expected to take, for estimates before rendering (default 600).
    #[serde(default)]
    pub est_gpu_s: Option<f64>,
}

fn usd() -> String {
    "USD".into()
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashScopeConfig {
    pub name: String,
    /// `wan2.2-t2v-plus`, `wanx2.1-t2v-turbo`, `wan2.5-t2v-preview`, `wan2.6-t2v` …
    pub model: String,
    /// `https://dashscope-intl.aliyuncs.com` (Singapore, the default) or
    /// `https://dashscope.aliyuncs.com` (Beijing); tests point it at 127.0.0.1.
    #[serde(default = "intl")]
    pub base_url: String,
    /// The environment variable that holds the API key (the key itself never lives in a file).
    #[serde(default = "key_env")]
    pub api_key_env: String,
    /// Tasks in flight at once (the account's limit is 2 for wan2.2).
    #[serde(default)]
    pub max_in_flight: Option<usize>,
    /// Let DashScope rewrite the prompt (off: previs compiles its own prompts).
    #[serde(default)]
    pub prompt_extend: bool,
    #[serde(default)]
    pub watermark: bool,
    /// Overrides the built-in price table.
    #[serde(default)]
    pub price: Option<SecondPrice>,
}

fn intl() -> String {
    "https://dashscope-intl.aliyuncs.com".into()
}

fn key_env() -> String {
    "DASHSCOPE_API_KEY".into()
}

/// Price per second of output video by resolution tier (`480P`, `720P`, `1080P`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecondPrice {
    pub currency: String,
    pub per_second: BTreeMap<String, f64>,
}

impl BackendConfig {
    pub fn name(&self) -> &str {
        match self {
            Self::Animatic { name, .. } | Self::Pool { name, .. } => name,
            Self::Comfyui(c) => &c.name,
            Self::Dashscope(c) => &c.name,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Animatic { .. } => "animatic",
            Self::Comfyui(_) => "comfyui",
            Self::Dashscope(_) => "dashscope",
            Self::Pool { .. } => "pool",
        }
    }

    /// Checks what can be checked without the network; the message says what to change.
    pub fn validate(&self) -> Result<(), String> {
        let in_flight = match self {
            Self::Animatic { max_in_flight, .. } => *max_in_flight,
            Self::Comfyui(c) => c.max_in_flight,
            Self::Dashscope(c) => c.max_in_flight,
            Self::Pool { members, .. } => {
                if members.is_empty() {
                    return Err("a pool needs members = [\"name\", …]".into());
                }
                None
            }
        };
        if in_flight == Some(0) {
            return Err("max_in_flight must be at least 1".into());
        }
        match self {
            Self::Comfyui(c) => {
                if !(c.url.starts_with("http://") || c.url.starts_with("https://")) {
                    return Err(format!(
                        "url {:?} must start with http:// or https://",
                        c.url
                    ));
                }
                if let Some(p) = &c.price {
                    if !(p.gpu_hour >= 0.0 && p.gpu_hour.is_finite()) {
                        return Err("price.gpu_hour must be a price of zero or more".into());
                    }
                }
            }
            Self::Dashscope(c) => {
                if !(c.base_url.starts_with("http://") || c.base_url.starts_with("https://")) {
                    return Err(format!(
                        "base_url {:?} must start with https://",
                        c.base_url
                    ));
                }
                if c.api_key_env.trim().is_empty() || c.api_key_env.contains(['=', ' ']) {
                    return Err(format!(
                        "api_key_env {:?} must name an environment variable (e.g. DASHSCOPE_API_KEY), not hold the key",
                        c.api_key_env
                    ));
                }
                if c.api_key_env.starts_with("sk-") {
                    return Err("api_key_env holds what looks like a key; put the key in an environment variable and name the variable here".into());
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Makes paths relative to the config file absolute.
    pub fn resolve_paths(&mut self, config_dir: &Path) {
        if let Self::Comfyui(c) = self {
            if c.workflow.is_relative() {
                c.workflow = config_dir.join(&c.workflow);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_rules() {
        let cases = [
            (FrameRule::FourNPlusOne, 5.0, 16, 81),
            (FrameRule::FourNPlusOne, 5.0, 24, 121),
            (FrameRule::FourNPlusOne, 2.0, 16, 33),
            (FrameRule::FourNPlusOne, 0.01, 16, 1),
            (FrameRule::FourNPlusOne, 3.0, 30, 89),
            (FrameRule::Exact, 5.0, 24, 120),
            (FrameRule::Exact, 0.01, 24, 1),
        ];
        for (rule, d, fps, want) in cases {
            assert_eq!(rule.frames(d, fps), want, "{rule:?} {d} {fps}");
        }
    }
}
