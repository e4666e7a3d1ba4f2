//! Turns a shot's structured prompt into the text a backend receives.
//!
//! Order follows Wan's prompt formula: subject, scene, motion, aesthetic control (lighting, shot
//! size, angle, lens, camera movement), stylization. Chinese fields are joined with Chinese
//! punctuation. The compiled text is what a take records and what the cache keys on.

use crate::model::ShotSpec;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    pub prompt: String,
    pub negative: String,
}

/// Whether text is mostly Chinese (more Han characters than Latin letters).
pub fn is_chinese(text: &str) -> bool {
    let han = text
        .chars()
        .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c) || ('\u{3400}'..='\u{4dbf}').contains(c))
        .count();
    let latin = text.chars().filter(char::is_ascii_alphabetic).count();
    han > 0 && han * 2 >= latin
}

/// Compiles `spec` into the prompt and negative prompt.
pub fn compile(spec: &ShotSpec) -> Compiled {
    let cam = &spec.camera;
    let parts: Vec<&str> = [
        spec.subject.as_str(),
        spec.environment.as_str(),
        spec.action.as_str(),
        spec.lighting.as_str(),
        cam.size.as_str(),
        cam.angle.as_str(),
        cam.lens.as_str(),
        cam.movement.as_str(),
        spec.style.as_str(),
    ]
    .into_iter()
    .map(str::trim)
    .filter(|p| !p.is_empty())
    .collect();
    let all = parts.join(" ");
    let (sep, end) = if is_chinese(&all) {
        ("，", "。")
    } else {
        (", ", ".")
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
            "A courier in a yellow raincoat, exterior, market street, night, sprints across the wet street, neon signs, rain, wide, low angle, 24mm, tracking, cinematic."
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
