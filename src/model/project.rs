//! A project: one film (or one sequence of it) with its render defaults and its script source.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::Millis;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    /// Unique name, also used as a directory name for its takes.
    pub name: String,
    pub created_at: Millis,
    #[serde(default)]
    pub settings: ProjectSettings,
    /// The script this project was last imported from.
    #[serde(default)]
    pub script: Option<ScriptSource>,
    /// Fountain title page (`Title`, `Credit`, `Author`, …), in the order of the file.
    #[serde(default)]
    pub title_page: BTreeMap<String, String>,
}

/// Defaults applied to every shot that does not set its own value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProjectSettings {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub duration_s: f64,
    /// Backend used when `render` names none; `None` means the config's `default_backend`.
    pub backend: Option<String>,
    /// Language of compiled prompts; `None`: detected from each shot's fields.
    pub language: Option<Lang>,
}

/// The language of a prompt: Chinese or English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// Chinese when the text has Han characters and no more than twice as many Latin letters.
    pub fn detect(text: &str) -> Lang {
        let han = text
            .chars()
            .filter(|c| {
                ('\u{4e00}'..='\u{9fff}').contains(c) || ('\u{3400}'..='\u{4dbf}').contains(c)
            })
            .count();
        let latin = text.chars().filter(char::is_ascii_alphabetic).count();
        if han > 0 && han * 2 >= latin {
            Lang::Zh
        } else {
            Lang::En
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zh" | "cn" | "chinese" | "中文" => Some(Lang::Zh),
            "en" | "english" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

impl Default for ProjectSettings {
    fn default() -> Self {
        Self {
            width: 1280,
            height: 720,
            fps: 24,
            duration_s: 5.0,
            backend: None,
            language: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptSource {
    pub path: String,
    /// `fountain` or `csv`.
    pub format: String,
    pub imported_at: Millis,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ProjectError {
    #[error(
        "invalid project name {0:?}: use 1 to 64 letters, digits, '-' or '_' (e.g. night-chase)"
    )]
    InvalidName(String),
}

/// Project names become directory names: letters (any script), digits, `-` and `_`, not
/// starting with `-`, at most 64 characters.
pub fn validate_project_name(name: &str) -> Result<(), ProjectError> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ProjectError::InvalidName(name.to_string()))
    }
}

impl Project {
    pub fn new(name: &str, now: Millis) -> Result<Self, ProjectError> {
        validate_project_name(name)?;
        Ok(Self {
            name: name.to_string(),
            created_at: now,
            settings: ProjectSettings::default(),
            script: None,
            title_page: BTreeMap::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names() {
        for ok in ["night-chase", "夜戏_02", "a", "Reel1"] {
            assert!(validate_project_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", "a/b", "..", "a b", "x\u{1b}", &"n".repeat(65)] {
            assert!(validate_project_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn defaults_are_720p_24fps_5s() {
        let s = ProjectSettings::default();
        assert_eq!(
            (s.width, s.height, s.fps, s.duration_s),
            (1280, 720, 24, 5.0)
        );
    }
}
