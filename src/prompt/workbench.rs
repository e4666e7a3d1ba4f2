//! The workbench: the built-in and user templates, style presets, camera rules and safety
//! rules, loaded once from the configuration and shared by the CLI, the engine's queue and the
//! TUI.

use crate::config::Config;
use crate::model::Lang;

use std::time::Duration;

use super::safety::{BlockKind, Blocked, Blocklist, Classifier, ClassifierSpec, Rule};
use super::styles::Styles;
use super::suggest::Rules;
use super::templates::Templates;

#[derive(Debug, Clone)]
pub struct Workbench {
    pub templates: Templates,
    pub styles: Styles,
    pub rules: Rules,
    pub blocklist: Blocklist,
    pub classifier: Option<Classifier>,
    /// The configured language of compiled prompts for projects that set none.
    pub language: Option<Lang>,
}

impl Default for Workbench {
    /// The built-in templates, presets and rules only.
    fn default() -> Self {
        Self {
            templates: Templates::builtin(),
            styles: Styles::builtin(),
            rules: Rules::builtin(),
            blocklist: Blocklist::builtin(),
            classifier: None,
            language: None,
        }
    }
}

impl Workbench {
    /// The built-in parts plus the user files the configuration names (a default file that does
    /// not exist adds nothing; a named one that does not exist is an error).
    pub fn load(config: &Config) -> Result<Self, String> {
        let p = &config.prompt;
        let rules = if p.camera_rules.exists() {
            Rules::builtin().with_file(&p.camera_rules)?
        } else {
            Rules::builtin()
        };
        let blocklist = match &config.safety.blocklist {
            Some(path) => Blocklist::builtin().with_file(path)?,
            None => Blocklist::builtin(),
        };
        let classifier = config.safety.classifier.as_ref().map(|c| {
            let timeout = Duration::from_millis(c.timeout_ms);
            Classifier::new(match &c.url {
                Some(url) => ClassifierSpec::Http {
                    url: url.clone(),
                    timeout,
                },
                None => ClassifierSpec::Command {
                    argv: c.command.clone(),
                    timeout,
                },
            })
        });
        Ok(Self {
            templates: Templates::builtin().with_file(&p.templates)?,
            styles: Styles::builtin().with_file(&p.styles)?,
            rules,
            blocklist,
            classifier,
            language: p.language.as_deref().and_then(Lang::parse),
        })
    }

    /// The safety filter on a compiled prompt: the blocklist, then the classifier when one is
    /// configured. A classifier that fails to answer refuses the request (fail closed).
    pub fn screen(&self, prompt: &str) -> Result<(), Blocked> {
        if let Some(b) = self.blocklist.check(prompt) {
            return Err(b);
        }
        let Some(c) = &self.classifier else {
            return Ok(());
        };
        // The classifier is async; a thread of its own runs it whether or not the caller is
        // inside a runtime.
        let verdict = std::thread::scope(|s| {
            s.spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("starting the classifier: {e}"))
                    .and_then(|rt| rt.block_on(c.classify(prompt)))
            })
            .join()
            .unwrap_or_else(|_| Err("the classifier hook crashed".into()))
        });
        match verdict {
            Ok(None) => Ok(()),
            Ok(Some(b)) => Err(b),
            Err(reason) => Err(Blocked {
                rule: Rule {
                    id: "classifier/unavailable".into(),
                    category: "classifier".into(),
                    source: "[safety.classifier]".into(),
                },
                kind: BlockKind::Classifier,
                message: format!(
                    "refused: the safety classifier gave no verdict ({reason}); nothing is queued until it answers"
                ),
            }),
        }
    }

    /// The language prompts of a project compile in: the project's setting, the configuration's,
    /// else the language of each shot's fields.
    pub fn lang_for(&self, project: Option<Lang>, spec: &crate::model::ShotSpec) -> Lang {
        project
            .or(self.language)
            .unwrap_or_else(|| super::spec_lang(spec))
    }
}

/// A spec ready to compile: the style preset applied, the language decided.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub spec: crate::model::ShotSpec,
    pub lang: Lang,
    /// The preset's name when one applied, else the spec's own style text (if any).
    pub style: Option<String>,
    pub params: std::collections::BTreeMap<String, serde_json::Value>,
}

impl Workbench {
    /// Applies the style preset named `style` (or, without one, the preset the shot's style
    /// field names, e.g. "noir" or "水墨") in the project's language. An unknown `style` is an
    /// error listing the presets.
    pub fn prepare(
        &self,
        spec: &crate::model::ShotSpec,
        project_lang: Option<Lang>,
        style: Option<&str>,
    ) -> Result<Prepared, String> {
        let lang = self.lang_for(project_lang, spec);
        let mut spec = spec.clone();
        let preset = match style {
            Some(name) => Some(self.styles.get(name)?),
            None => self.styles.find(&spec.style),
        };
        let (style, params) = match preset {
            Some(p) => {
                p.apply(&mut spec, lang);
                (Some(p.name.clone()), p.params.clone())
            }
            None => (
                Some(spec.style.trim().to_string()).filter(|s| !s.is_empty()),
                Default::default(),
            ),
        };
        Ok(Prepared {
            spec,
            lang,
            style,
            params,
        })
    }

    /// The prompt a shot compiles to as things stand (its own style, no variation).
    pub fn compile_shot(
        &self,
        spec: &crate::model::ShotSpec,
        project_lang: Option<Lang>,
    ) -> super::Compiled {
        match self.prepare(spec, project_lang, None) {
            Ok(p) => super::compile_in(&p.spec, p.lang),
            Err(_) => super::compile_in(spec, self.lang_for(project_lang, spec)),
        }
    }
}
