//! Turns a shot's structured prompt into the text a backend receives.
//!
//! Order follows Wan's prompt formula: subject, scene, motion, aesthetic control (lighting, shot
//! size, angle, lens, camera movement), stylization. Chinese fields are joined with Chinese
//! punctuation. The compiled text is what a take records and what the cache keys on.

use super::vocab::{Kind, find_exact};
use crate::model::{Lang, ShotSpec};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    pub prompt: String,
    pub negative: String,
    pub lang: Lang,
}

/// Whether text is mostly Chinese (more Han characters than Latin letters).
pub fn is_chinese(text: &str) -> bool {
    Lang::detect(text) == Lang::Zh
}

/// The language of a spec's fields taken together.
pub fn spec_lang(spec: &ShotSpec) -> Lang {
    let c = &spec.camera;
    let all = [
        spec.subject.as_str(),
        &spec.action,
        &spec.environment,
        &spec.lighting,
        &c.size,
        &c.angle,
        &c.movement,
        &c.lens,
        &spec.style,
    ]
    .join(" ");
    Lang::detect(&all)
}

/// Compiles `spec` in the language of its fields.
pub fn compile(spec: &ShotSpec) -> Compiled {
    compile_in(spec, spec_lang(spec))
}

/// Compiles `spec` into the prompt and negative prompt in `lang`: the fields in Wan's order,
/// joined with that language's punctuation, camera and lighting terms previs knows given in
/// that language.
pub fn compile_in(spec: &ShotSpec, lang: Lang) -> Compiled {
    let cam = &spec.camera;
    // A field that is exactly one known term is written in the prompt's language.
    let term = |kind: Kind, text: &'_ str| -> String {
        match find_exact(kind, text) {
            Some(t) => t.name(lang).to_string(),
            None => text.to_string(),
        }
    };
    let parts: Vec<String> = [
        spec.subject.clone(),
        spec.environment.clone(),
        spec.action.clone(),
        term(Kind::Lighting, &spec.lighting),
        term(Kind::Size, &cam.size),
        term(Kind::Angle, &cam.angle),
        term(Kind::Lens, &cam.lens),
        term(Kind::Movement, &cam.movement),
        spec.style.clone(),
    ]
    .into_iter()
    .map(|p| p.trim().to_string())
    .filter(|p| !p.is_empty())
    .collect();
    let (sep, end) = match lang {
        Lang::Zh => ("，", "。"),
        Lang::En => (", ", "."),
    };
    let cleaned: Vec<String> = parts
        .iter()
        .map(|p| {
            let one_line = p.split_whitespace().collect::<Vec<_>>().join(" ");
            one_line
                .trim_end_matches(['.', '。', ',', '，', ';', '；'])
                .to_string()
        })
        .filter(|p| !p.is_empty())
        .collect();
    let mut prompt = cleaned.join(sep);
    if !prompt.is_empty() {
        prompt.push_str(end);
    }
    Compiled {
        prompt,
        lang,
        negative: spec
            .negative
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CameraSpec;

    #[test]
    fn english_fields_in_wan_order() {
        let spec = ShotSpec {
            subject: "A courier in a yellow raincoat".into(),
            action: "sprints across the wet street.".into(),
            environment: "exterior, market street, night".into(),
            lighting: "neon signs, rain".into(),
            camera: CameraSpec {
                size: "wide".into(),
                angle: "low angle".into(),
                movement: "tracking".into(),
                lens: "24mm".into(),
            },
            style: "cinematic".into(),
            negative: "blurry,  text".into(),
            ..ShotSpec::default()
        };
        let c = compile(&spec);
        assert_eq!(
            c.prompt,
            "A courier in a yellow raincoat, exterior, market street, night, sprints across the wet street, neon signs, rain, wide shot, low angle, 24mm wide-angle lens, tracking shot, cinematic."
        );
        assert_eq!(c.negative, "blurry, text");
    }

    #[test]
    fn chinese_fields_use_chinese_punctuation() {
        let spec = ShotSpec {
            subject: "李雷".into(),
            action: "冲进小巷，回头张望。".into(),
            environment: "夜 小巷".into(),
            camera: CameraSpec {
                movement: "手持跟拍".into(),
                ..CameraSpec::default()
            },
            ..ShotSpec::default()
        };
        assert_eq!(
            compile(&spec).prompt,
            "李雷，夜 小巷，冲进小巷，回头张望，手持跟拍。"
        );
    }

    #[test]
    fn empty_spec_compiles_to_nothing() {
        assert_eq!(compile(&ShotSpec::default()).prompt, "");
    }

    #[test]
    fn multi_line_action_becomes_one_line() {
        let spec = ShotSpec {
            action: "He runs.\nHe falls.".into(),
            ..ShotSpec::default()
        };
        assert_eq!(compile(&spec).prompt, "He runs. He falls.");
    }
}

#[cfg(test)]
mod language_tests {
    use super::*;
    use crate::model::CameraSpec;

    #[test]
    fn known_camera_terms_follow_the_prompt_language() {
        let spec = ShotSpec {
            subject: "李雷".into(),
            action: "冲进小巷".into(),
            lighting: "neon".into(),
            camera: CameraSpec {
                size: "close-up".into(),
                movement: "push in".into(),
                ..CameraSpec::default()
            },
            ..ShotSpec::default()
        };
        let zh = compile_in(&spec, Lang::Zh);
        assert!(zh.prompt.ends_with('。'), "{}", zh.prompt);
        assert!(!zh.prompt.contains("push in"), "{}", zh.prompt);
        assert!(!zh.prompt.contains("close-up"), "{}", zh.prompt);
        let en = compile_in(&spec, Lang::En);
        assert!(en.prompt.contains("push in"), "{}", en.prompt);
        assert_eq!(en.lang, Lang::En);
        // Free text that is not one known term stays as written.
        let own = ShotSpec {
            action: "walks".into(),
            camera: CameraSpec {
                movement: "a lazy drift toward the window".into(),
                ..CameraSpec::default()
            },
            ..ShotSpec::default()
        };
        assert!(
            compile_in(&own, Lang::Zh)
                .prompt
                .contains("a lazy drift toward the window")
        );
    }
}
