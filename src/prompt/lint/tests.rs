//! Tests of the prompt lint: every code in both languages.

use super::*;
use crate::prompt::vocab::messy_text;
use proptest::prelude::*;

fn text(t: &str) -> Report {
    lint_text(t, &Rules::builtin(), None)
}

fn get<'a>(r: &'a Report, code: &str) -> &'a Lint {
    let found = r.lints.iter().find(|l| l.code == code);
    found.unwrap_or_else(|| panic!("no {code} in {:?}", r.codes()))
}

const PARTS: [&str; 4] = ["vague_subject", "no_environment", "no_motion", "no_camera"];

fn full_spec() -> ShotSpec {
    ShotSpec {
        subject: "A young courier in a yellow raincoat".into(),
        action: "sprints between the stalls".into(),
        environment: "a neon-lit night market".into(),
        camera: CameraSpec {
            size: "medium".into(),
            angle: "low angle".into(),
            movement: "tracking".into(),
            lens: "24mm".into(),
        },
        lighting: "neon".into(),
        ..ShotSpec::default()
    }
}

#[test]
fn word_lists_and_messages_load() {
    let w = load(WORDS).expect("lint_words.toml is valid");
    assert!(w.list("motion").len() > 300 && w.list("place").len() > 200);
    assert!(load("[motion]\nen = ['walk']").is_err_and(|e| e.contains("missing")));
    assert!(load("[verbs]\nen = ['walk']").is_err_and(|e| e.contains("verbs")));
    for code in CODES {
        for lang in [Lang::En, Lang::Zh] {
            for part in ["message", "fix"] {
                let text = say(code, part, lang, &[]);
                assert_ne!(text, format!("{code}.{part}"));
                assert_eq!(Lang::detect(&text), lang, "{text}");
            }
        }
    }
    let args = [("len", "{limit}"), ("limit", "9")];
    let filled = say("over_limit", "message", Lang::En, &args);
    assert_eq!(
        filled,
        "The prompt is {limit} characters, over the limit of 9."
    );
}

#[test]
fn a_man_walks_over_is_vague_in_every_part() {
    let r = text("一个男人走过来");
    assert_eq!(r.lang, Lang::Zh);
    for code in ["vague_subject", "no_environment", "no_camera"] {
        assert!(r.has(code), "{code}: {:?}", r.codes());
    }
    assert!(!r.has("no_motion"));
    let vague = &r.lints[0];
    assert!(vague.message.contains("一个男人"), "{}", vague.message);
    assert!(r.lints.iter().all(|l| Lang::detect(&l.message) == Lang::Zh));
    assert!(r.lints.iter().all(|l| Lang::detect(&l.fix) == Lang::Zh));
}

#[test]
fn complete_prompts_pass_in_both_languages() {
    for t in [
        "一位穿红色雨衣的年轻女快递员在夜晚霓虹闪烁的菜市场里奔跑，低角度跟拍，中景，霓虹灯光",
        "A young courier in a yellow raincoat sprints through a neon-lit night market, medium shot, low angle, tracking shot, neon light",
        "Medium shot, low angle: Lena, soaked to the bone, turns slowly in the doorway",
    ] {
        let r = text(t);
        for code in PARTS {
            assert!(!r.has(code), "{t}: {:?}", r.lints);
        }
        assert!(r.lints.is_empty(), "{t}: {:?}", r.lints);
    }
}

#[test]
fn each_code_triggers_and_stays_quiet() {
    #[derive(Deserialize)]
    struct Examples {
        lint: Vec<(String, String, bool)>,
    }
    let cases: Examples =
        toml::from_str(include_str!("../data/examples.toml")).expect("examples.toml");
    for code in CODES {
        for lang in [Lang::En, Lang::Zh] {
            let on = |want: bool| {
                cases
                    .lint
                    .iter()
                    .any(|(t, c, w)| c == code && *w == want && Lang::detect(t) == lang)
            };
            if code != "over_limit" && code != "empty" {
                assert!(on(true) && on(false), "{code} {lang:?} needs both examples");
            }
        }
    }
    for (t, code, want) in &cases.lint {
        let r = text(t);
        assert_eq!(r.has(code), *want, "{code} on {t:?}: {:?}", r.lints);
    }
}

#[test]
fn messages_name_what_they_found() {
    let r = text("A beautiful woman walks in the park, push in, pull out");
    assert!(get(&r, "abstract_adjective").message.contains("beautiful"));
    let c = &get(&r, "camera_conflict").message;
    assert!(c.contains("push in") && c.contains("pull out"), "{c}");
    let r = text("李雷走进厨房，推进，拉远");
    let c = &get(&r, "camera_conflict").message;
    assert!(c.contains("推进") && c.contains("拉远"), "{c}");
}

#[test]
fn over_limit_names_limit_and_length_and_never_truncates() {
    let t = "Lena walks into the kitchen, wide shot";
    let r = lint_text(t, &Rules::builtin(), Some(10));
    let l = get(&r, "over_limit");
    assert!(l.message.contains("10") && l.message.contains(&t.chars().count().to_string()));
    assert!(!l.fix.to_lowercase().contains("truncat") || l.fix.contains("whole"));
    assert!(!lint_text(t, &Rules::builtin(), Some(500)).has("over_limit"));
    assert!(!lint_text(t, &Rules::builtin(), None).has("over_limit"));
    let zh = lint_text("李雷走进厨房，全景", &Rules::builtin(), Some(3));
    let l = get(&zh, "over_limit");
    assert!(
        l.message.contains('3') && l.message.contains('9'),
        "{}",
        l.message
    );
}

#[test]
fn spec_lints_from_fields() {
    let rules = Rules::builtin();
    let r = lint_spec(&full_spec(), "EXT. MARKET - NIGHT", &rules, None);
    assert!(r.lints.is_empty(), "{:?}", r.lints);
    assert!(r.suggestions.is_empty(), "{:?}", r.suggestions);

    let r = lint_spec(&ShotSpec::default(), "INT. BASEMENT - NIGHT", &rules, None);
    assert_eq!(r.codes(), ["empty"]);

    let bare = ShotSpec {
        action: "She turns slowly toward the dark doorway".into(),
        ..ShotSpec::default()
    };
    let r = lint_spec(&bare, "INT. BASEMENT - NIGHT", &rules, None);
    assert_eq!(r.codes(), ["vague_subject", "no_camera"], "{:?}", r.lints);
    let fix = &r.lints[1].fix;
    assert!(fix.contains("slow push in"), "{fix}");
    assert!(r.suggestions.iter().any(|s| s.value == "practical light"));

    let mut spec = full_spec();
    spec.subject = "一个男人".into();
    spec.action = "".into();
    spec.environment = "".into();
    spec.camera = CameraSpec {
        movement: "推进，拉远，环绕".into(),
        ..CameraSpec::default()
    };
    spec.lighting = "高调光，低调光".into();
    let r = lint_spec(&spec, "内景 地下室 夜", &rules, Some(5));
    assert_eq!(r.lang, Lang::Zh);
    let want = "vague_subject no_environment no_motion camera_conflict lighting_conflict \
                too_many_moves over_limit";
    assert_eq!(r.codes().join(" "), want, "{:?}", r.lints);
    assert!(!r.has("no_camera"));
    let env = get(&r, "no_environment");
    assert!(env.fix.contains("内景 地下室 夜"), "{}", env.fix);

    // A long clip may hold several moves.
    spec.duration_s = Some(12.0);
    spec.camera.movement = "push in, orbit".into();
    assert!(!lint_spec(&spec, "", &rules, None).has("too_many_moves"));
}

#[test]
fn spec_subject_from_action_when_field_empty() {
    let rules = Rules::builtin();
    let mut spec = full_spec();
    spec.subject = String::new();
    spec.action = "Lena sprints between the stalls".into();
    assert!(!lint_spec(&spec, "", &rules, None).has("vague_subject"));
    spec.action = "He sprints between the stalls".into();
    assert!(lint_spec(&spec, "", &rules, None).has("vague_subject"));
}

#[test]
fn text_suggestions_fill_only_what_is_missing() {
    let r = text(
        "A young courier in a yellow raincoat sprints through the market, chased by two men, low angle",
    );
    let fields: Vec<&str> = r.suggestions.iter().map(|s| s.field.as_str()).collect();
    assert!(fields.contains(&"camera.movement"), "{fields:?}");
    assert!(!fields.contains(&"camera.angle"), "{fields:?}");
}

proptest! {
    #[test]
    fn lint_never_panics(a in messy_text(), b in messy_text(), limit in 0usize..64) {
        let rules = Rules::builtin();
        let r = lint_text(&a, &rules, Some(limit));
        prop_assert!(r.lints.iter().all(|l| CODES.contains(&l.code)));
        let spec = ShotSpec {
            subject: a.clone(),
            action: b.clone(),
            camera: CameraSpec { movement: a.clone(), ..CameraSpec::default() },
            lighting: b.clone(),
            duration_s: Some(limit as f64),
            ..ShotSpec::default()
        };
        let r = lint_spec(&spec, &b, &rules, Some(limit));
        prop_assert!(r.lints.iter().all(|l| CODES.contains(&l.code)));
    }
}
