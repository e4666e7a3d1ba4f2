//! Shot templates: named sets of field values (camera, lighting, style …) for common kinds of
//! shot. Applying one fills the shot's empty fields in the shot's language and never overwrites
//! what the user wrote.
//!
//! The built-in templates are embedded TOML (`data/templates.toml`); a user file of the same
//! shape adds templates or replaces built-in ones of the same name.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::{Lang, ShotSpec};

const BUILTIN: &str = include_str!("data/templates.toml");

/// A text in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bilingual {
    pub en: String,
    pub zh: String,
}

impl Bilingual {
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Zh => &self.zh,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub name: String,
    pub description: Bilingual,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Bilingual>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Bilingual>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Bilingual>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<Bilingual>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub angle: Option<Bilingual>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub movement: Option<Bilingual>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lens: Option<Bilingual>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lighting: Option<Bilingual>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<Bilingual>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative: Option<Bilingual>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    /// `built-in` or the file it came from.
    #[serde(default, skip_deserializing)]
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    template: Vec<Template>,
}

/// The fields a template filled, by name.
pub type Filled = Vec<&'static str>;

impl Template {
    /// Fills the empty fields of `spec` in `lang`; returns the names of the fields it filled.
    pub fn apply(&self, spec: &mut ShotSpec, lang: Lang) -> Filled {
        let mut filled = Vec::new();
        let mut set = |name: &'static str, field: &mut String, value: &Option<Bilingual>| {
            if let Some(v) = value {
                if field.trim().is_empty() && !v.get(lang).trim().is_empty() {
                    *field = v.get(lang).trim().to_string();
                    filled.push(name);
                }
            }
        };
        set("subject", &mut spec.subject, &self.subject);
        set("action", &mut spec.action, &self.action);
        set("environment", &mut spec.environment, &self.environment);
        set("size", &mut spec.camera.size, &self.size);
        set("angle", &mut spec.camera.angle, &self.angle);
        set("movement", &mut spec.camera.movement, &self.movement);
        set("lens", &mut spec.camera.lens, &self.lens);
        set("lighting", &mut spec.lighting, &self.lighting);
        set("style", &mut spec.style, &self.style);
        set("negative", &mut spec.negative, &self.negative);
        if spec.duration_s.is_none() {
            if let Some(d) = self.duration_s {
                spec.duration_s = Some(d);
                filled.push("duration");
            }
        }
        filled
    }

    fn check(&self, place: &str) -> Result<(), String> {
        if !valid_name(&self.name) {
            return Err(format!(
                "{place}: template name {:?} must be 1 to 40 letters, digits, '-' or '_'; rename it",
                crate::sanitize::line(&self.name)
            ));
        }
        if let Some(d) = self.duration_s {
            if !(d > 0.0 && d <= 60.0) {
                return Err(format!(
                    "{place}: template {}: duration_s {d} must be between 0.1 and 60 seconds",
                    self.name
                ));
            }
        }
        Ok(())
    }
}

/// Names users type on the command line: short, no spaces.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 40
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
}

/// The built-in templates and the user's.
#[derive(Debug, Clone)]
pub struct Templates {
    list: Vec<Template>,
}

fn parse(text: &str, source: &str) -> Result<Vec<Template>, String> {
    let file: File = super::userfile::parse_toml(text, source, "template")?;
    let mut out = Vec::new();
    for mut t in file.template {
        t.check(source)?;
        t.source = source.to_string();
        out.push(t);
    }
    Ok(out)
}

impl Templates {
    pub fn builtin() -> Self {
        // The embedded file is checked by a test; a parse failure here is a build defect.
        let list = parse(BUILTIN, "built-in").unwrap_or_default();
        Self { list }
    }

    /// Adds the user's templates from `path` (missing file: nothing to add); one with the name
    /// of a built-in one replaces it.
    pub fn with_file(mut self, path: &Path) -> Result<Self, String> {
        if let Some(text) = super::userfile::read(path)? {
            let new = parse(&text, &path.display().to_string())?;
            super::userfile::merge(&mut self.list, new, |t| &t.name);
        }
        Ok(self)
    }

    pub fn all(&self) -> &[Template] {
        &self.list
    }

    /// The template named `name` (case-insensitive); the error lists the names there are.
    pub fn get(&self, name: &str) -> Result<&Template, String> {
        self.list
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                format!(
                    "unknown template {:?}; there are: {} (`previs templates` describes them)",
                    crate::sanitize::line(name),
                    self.list
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_file_parses_and_has_the_common_kinds() {
        let all = parse(BUILTIN, "built-in").expect("built-in templates parse");
        for name in [
            "establishing",
            "dialogue",
            "chase",
            "reveal",
            "horror",
            "insert",
            "action",
        ] {
            assert!(all.iter().any(|t| t.name == name), "{name}");
        }
        assert_eq!(Templates::builtin().all().len(), all.len());
    }

    #[test]
    fn applying_fills_only_empty_fields_in_the_shots_language() {
        let t = Templates::builtin();
        let mut spec = ShotSpec {
            action: "他在菜市场狂奔".into(),
            lighting: "霓虹灯".into(),
            ..ShotSpec::default()
        };
        let filled = t.get("Chase").unwrap().apply(&mut spec, Lang::Zh);
        assert_eq!(spec.action, "他在菜市场狂奔", "the user's action stays");
        assert_eq!(spec.lighting, "霓虹灯", "the user's lighting stays");
        assert_eq!(spec.camera.movement, "跟拍");
        assert_eq!(spec.camera.angle, "仰拍");
        assert!(!filled.contains(&"action") && filled.contains(&"movement"));

        let mut en = ShotSpec {
            camera: crate::model::CameraSpec {
                movement: "handheld".into(),
                ..Default::default()
            },
            ..ShotSpec::default()
        };
        t.get("horror").unwrap().apply(&mut en, Lang::En);
        assert_eq!(en.camera.movement, "handheld");
        assert_eq!(en.camera.angle, "low angle");
        assert!(en.lighting.contains("practical light"));
        assert_eq!(en.negative, "bright cheerful colors");
        // A second application changes nothing.
        let before = en.clone();
        assert!(t.get("horror").unwrap().apply(&mut en, Lang::En).is_empty());
        assert_eq!(en, before);
    }

    #[test]
    fn user_templates_add_and_replace_with_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("templates.toml");
        std::fs::write(
            &path,
            "[[template]]\nname = \"chase\"\ndescription = { en = \"ours\", zh = \"我们的\" }\nmovement = { en = \"drone follow\", zh = \"无人机跟拍\" }\n\n\
             [[template]]\nname = \"oner\"\ndescription = { en = \"one take\", zh = \"一镜到底\" }\n",
        )
        .unwrap();
        let t = Templates::builtin().with_file(&path).unwrap();
        assert_eq!(t.get("chase").unwrap().description.en, "ours");
        assert!(t.get("oner").is_ok());
        assert_eq!(t.all().len(), Templates::builtin().all().len() + 1);

        std::fs::write(&path, "[[template]]\nname = \"x\"\ncolour = 1\n").unwrap();
        let e = Templates::builtin().with_file(&path).unwrap_err();
        assert!(e.contains("templates.toml:") && e.contains("colour"), "{e}");
        std::fs::write(
            &path,
            "[[template]]\nname = \"two words\"\ndescription = { en = \"a\", zh = \"b\" }\n",
        )
        .unwrap();
        let e = Templates::builtin().with_file(&path).unwrap_err();
        assert!(e.contains("rename it"), "{e}");
        std::fs::write(&path, b"\xff\xfe").unwrap();
        assert!(
            Templates::builtin()
                .with_file(&path)
                .unwrap_err()
                .contains("UTF-8")
        );
        assert!(
            Templates::builtin()
                .with_file(&dir.path().join("none.toml"))
                .is_ok()
        );
        let e = Templates::builtin().get("nope").unwrap_err();
        assert!(e.contains("establishing"), "{e}");
    }
}
