//! Where previs keeps its files and what `config.toml` says.
//!
//! With `--home DIR` (or `PREVIS_HOME`) everything lives under DIR: `DIR/config.toml`,
//! `DIR/data/` (store and takes), `DIR/logs/`. Without it, the platform's config, data and state
//! directories are used. The file is strict (`deny_unknown_fields`): a typo is an error that
//! names the line, never a silently ignored setting.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("no home directory could be determined; pass --home DIR or set PREVIS_HOME")]
    NoHome,
}

/// The directories previs uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub config_file: PathBuf,
    pub data_dir: PathBuf,
    pub log_dir: PathBuf,
}

impl Paths {
    /// `home` is `--home` or `PREVIS_HOME` when given.
    pub fn resolve(home: Option<&Path>) -> Result<Self, ConfigError> {
        if let Some(home) = home {
            // Absolute, so paths printed and stored do not depend on where a command ran.
            let home = std::path::absolute(home).unwrap_or_else(|_| home.to_path_buf());
            return Ok(Self {
                config_file: home.join("config.toml"),
                data_dir: home.join("data"),
                log_dir: home.join("logs"),
            });
        }
        let dirs = directories::ProjectDirs::from("", "", "previs").ok_or(ConfigError::NoHome)?;
        Ok(Self {
            config_file: dirs.config_dir().join("config.toml"),
            data_dir: dirs.data_dir().to_path_buf(),
            log_dir: dirs.state_dir().unwrap_or(dirs.data_dir()).join("logs"),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_backend")]
    pub default_backend: String,
    #[serde(default)]
    pub engine: EngineConfig,
    #[serde(default, rename = "backend")]
    pub backends: Vec<BackendConfig>,
    #[serde(default)]
    pub prompt: PromptConfig,
    #[serde(default)]
    pub safety: SafetyConfig,
    #[serde(default)]
    pub ui: UiConfig,
    #[serde(default)]
    pub player: PlayerConfig,
    #[serde(default)]
    pub notify: NotifyConfig,
}

/// `[prompt]`: the user's additions to the prompt workbench. Relative paths are relative to
/// config.toml; the default files are read when they exist.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PromptConfig {
    /// `zh` or `en`: the language of compiled prompts in new projects (default: detected per shot).
    pub language: Option<String>,
    pub templates: PathBuf,
    pub styles: PathBuf,
    pub camera_rules: PathBuf,
}

impl Default for PromptConfig {
    fn default() -> Self {
        Self {
            language: None,
            templates: "templates.toml".into(),
            styles: "styles.toml".into(),
            camera_rules: "camera_rules.toml".into(),
        }
    }
}

/// `[safety]`: the blocklist and an optional classifier consulted before anything is queued.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SafetyConfig {
    /// A file of extra terms, one per line.
    pub blocklist: Option<PathBuf>,
    pub classifier: Option<ClassifierConfig>,
}

/// A command (argv, run without a shell, the prompt on stdin) or an HTTP URL (POST JSON).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierConfig {
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default = "classifier_timeout")]
    pub timeout_ms: u64,
}

fn classifier_timeout() -> u64 {
    5_000
}

fn default_backend() -> String {
    "animatic".to_string()
}

impl Default for Config {
    fn default() -> Self {
        Self {
            default_backend: default_backend(),
            engine: EngineConfig::default(),
            backends: Vec::new(),
            prompt: PromptConfig::default(),
            safety: SafetyConfig::default(),
            ui: UiConfig::default(),
            player: PlayerConfig::default(),
            notify: NotifyConfig::default(),
        }
    }
}

/// Retries of retryable failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    pub max_attempts: u32,
    pub retry_base_ms: u64,
    pub retry_cap_ms: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        let b = crate::model::Backoff::default();
        Self {
            max_attempts: b.max_attempts,
            retry_base_ms: b.base_ms,
            retry_cap_ms: b.cap_ms,
        }
    }
}

impl EngineConfig {
    pub fn backoff(&self) -> crate::model::Backoff {
        crate::model::Backoff {
            base_ms: self.retry_base_ms,
            cap_ms: self.retry_cap_ms,
            max_attempts: self.max_attempts.max(1),
        }
    }
}

mod backend;
mod ui;

pub use ui::{NotifyConfig, PlayerConfig, UiConfig};

pub use backend::{
    BackendConfig, Bindings, ComfyConfig, DashScopeConfig, FrameRule, GpuPrice, SecondPrice,
};

impl Config {
    /// Reads `path`; a missing file is the default configuration.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8(bytes).map_err(|e| ConfigError::Invalid {
                path: path.display().to_string(),
                message: format!(
                    "invalid UTF-8 at byte {}; save the file as UTF-8",
                    e.utf8_error().valid_up_to()
                ),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(ConfigError::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        let mut config = Self::parse(&path.display().to_string(), &text)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        for b in &mut config.backends {
            b.resolve_paths(dir);
        }
        config.resolve_paths(dir);
        Ok(config)
    }

    pub fn parse(path: &str, text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_string(),
            message: one_line_toml_error(text, &e),
        })?;
        config.validate(path)?;
        Ok(config)
    }

    /// Makes the workbench paths absolute against the directory of config.toml.
    pub fn resolve_paths(&mut self, dir: &Path) {
        let p = &mut self.prompt;
        for f in [&mut p.templates, &mut p.styles, &mut p.camera_rules] {
            if f.is_relative() {
                *f = dir.join(&*f);
            }
        }
        if let Some(b) = self.safety.blocklist.as_mut().filter(|b| b.is_relative()) {
            *b = dir.join(&*b);
        }
    }

    fn validate(&self, path: &str) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_string(),
            message,
        };
        if let Some(l) = &self.prompt.language {
            if crate::model::Lang::parse(l).is_none() {
                return Err(invalid(format!(
                    "[prompt] language {:?}: use \"zh\" or \"en\" (or leave it out to detect it per shot)",
                    crate::sanitize::line(l)
                )));
            }
        }
        if let Some(c) = &self.safety.classifier {
            match (c.command.is_empty(), &c.url) {
                (true, None) | (false, Some(_)) => {
                    return Err(invalid(
                        "[safety.classifier] needs exactly one of command = [\"prog\", \"arg\"] or url = \"http://…\"".into(),
                    ));
                }
                _ => {}
            }
            if !(1..=120_000).contains(&c.timeout_ms) {
                return Err(invalid(
                    "[safety.classifier] timeout_ms must be between 1 and 120000".into(),
                ));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        seen.insert("animatic");
        for b in &self.backends {
            if b.name().is_empty() {
                return Err(invalid("a [[backend]] has an empty name".into()));
            }
            if b.name()
                .chars()
                .any(|c| c == '|' || c.is_control() || c.is_whitespace())
            {
                return Err(invalid(format!(
                    "backend name {:?} may not contain spaces, '|' or control characters",
                    b.name()
                )));
            }
            if b.name() != "animatic" && !seen.insert(b.name()) {
                return Err(invalid(format!(
                    "backend {:?} is defined twice; give each [[backend]] its own name",
                    b.name()
                )));
            }
            b.validate()
                .map_err(|m| invalid(format!("backend {:?}: {m}", b.name())))?;
        }
        for b in &self.backends {
            if let BackendConfig::Pool { name, members } = b {
                for m in members {
                    let member = self.backends.iter().find(|x| x.name() == m);
                    if !seen.contains(m.as_str()) || m == name {
                        return Err(invalid(format!(
                            "pool {name:?}: member {m:?} is not a [[backend]] defined in this file"
                        )));
                    }
                    if matches!(member, Some(BackendConfig::Pool { .. })) {
                        return Err(invalid(format!(
                            "pool {name:?}: member {m:?} is itself a pool; list its members instead"
                        )));
                    }
                }
            }
        }
        if self.default_backend != "animatic" && !seen.contains(self.default_backend.as_str()) {
            return Err(invalid(format!(
                "default_backend = {:?} names no [[backend]]; define it or use \"animatic\"",
                self.default_backend
            )));
        }
        Ok(())
    }
}

/// toml's errors span several lines with a source excerpt; previs prints one line:
/// `line L, column C: message`.
fn one_line_toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {col}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_defaults_to_the_animatic() {
        let c = Config::parse("c.toml", "").unwrap();
        assert_eq!(c.default_backend, "animatic");
        assert!(c.backends.is_empty());
    }

    #[test]
    fn named_animatic_backend() {
        let c = Config::parse(
            "c.toml",
            "default_backend = \"sketch\"\n[[backend]]\nname = \"sketch\"\nkind = \"animatic\"\nmax_in_flight = 1\n",
        )
        .unwrap();
        assert_eq!(
            c.backends,
            vec![BackendConfig::Animatic {
                name: "sketch".into(),
                max_in_flight: Some(1)
            }]
        );
    }

    #[test]
    fn bad_configs_name_the_place() {
        let cases = [
            (
                "default_bakend = \"x\"\n",
                "c.toml: line 1, column 1: unknown field `default_bakend`",
            ),
            (
                "[[backend]]\nname = \"a\"\nkind = \"teleport\"\n",
                "c.toml: line 3, column 8: unknown variant `teleport`",
            ),
            (
                "default_backend = \"farm\"\n",
                "c.toml: default_backend = \"farm\" names no [[backend]]",
            ),
            (
                "[[backend]]\nname=\"a\"\nkind=\"animatic\"\n[[backend]]\nname=\"a\"\nkind=\"animatic\"\n",
                "c.toml: backend \"a\" is defined twice",
            ),
            (
                "[engine]\nmax_attempts = \"x\"\n",
                "c.toml: line 2, column 16: invalid type",
            ),
        ];
        for (text, want) in cases {
            let err = Config::parse("c.toml", text).unwrap_err().to_string();
            assert!(err.starts_with(want), "{text:?}\n got: {err}\nwant: {want}");
            assert!(!err.contains('\n'), "one line: {err:?}");
        }
    }

    #[test]
    fn home_puts_everything_under_it() {
        let p = Paths::resolve(Some(Path::new("/h"))).unwrap();
        assert_eq!(p.config_file, Path::new("/h/config.toml"));
        assert_eq!(p.data_dir, Path::new("/h/data"));
        assert_eq!(p.log_dir, Path::new("/h/logs"));
    }
}
