//! Tables for re-import planning: matching, numbering, omission.
use super::*;
use crate::model::ShotSpec;
use crate::script::ParsedScene;

fn scene(number: Option<&str>, heading: &str, actions: &[&str]) -> ParsedScene {
    ParsedScene {
        number: number.map(str::to_string),
        heading: heading.to_string(),
        line: 1,
        shots: actions
            .iter()
            .enumerate()
            .map(|(i, a)| ParsedShot {
                spec: ShotSpec {
                    action: a.to_string(),
                    ..ShotSpec::default()
                },
                line: 10 + i as u32,
                source_text: a.to_string(),
                ..ParsedShot::default()
            })
            .collect(),
        ..ParsedScene::default()
    }
}

fn import(
    parsed: &ParsedScript,
    scenes: &[Scene],
    shots: &[Shot],
    with_takes: &[u64],
) -> MergePlan {
    let mut id = 100;
    let has = |s: ShotId| with_takes.contains(&s.0);
    let existing = Existing {
        scenes,
        shots,
        has_takes: &has,
    };
    plan("p", "s.fountain", parsed, &existing, false, 5, &mut || {
        id += 1;
        ShotId(id)
    })
    .unwrap()
}

fn codes(plan: &MergePlan) -> Vec<(String, String)> {
    plan.shots
        .iter()
        .map(|s| (s.code.clone(), s.spec.action.clone()))
        .collect()
}

#[test]
fn first_import_numbers_scenes_and_letters_shots() {
    let parsed = ParsedScript {
        title_page: vec![],
        warnings: vec![],
        scenes: vec![
            scene(None, "EXT. ROAD - DAY", &["a", "b"]),
            scene(Some("12"), "INT. CAR", &["c"]),
            scene(None, "EXT. FIELD", &["d"]),
        ],
    };
    let plan = import(&parsed, &[], &[], &[]);
    let numbers: Vec<_> = plan.scenes.iter().map(|s| s.number.as_str()).collect();
    assert_eq!(numbers, ["1", "12", "13"]);
    assert_eq!(
        codes(&plan),
        [
            ("1A".into(), "a".into()),
            ("1B".into(), "b".into()),
            ("12A".into(), "c".into()),
            ("13A".into(), "d".into())
        ]
    );
    assert_eq!(plan.summary.added, 4);
}

#[test]
fn reimport_keeps_unchanged_shots_and_numbers_inserted_scenes_with_letters() {
    let v1 = ParsedScript {
        title_page: vec![],
        warnings: vec![],
        scenes: vec![
            scene(None, "EXT. ROAD", &["a", "b"]),
            scene(None, "INT. CAR", &["c"]),
        ],
    };
    let first = import(&v1, &[], &[], &[]);
    // A new scene between 1 and 2, a shot inserted before "b", and "c" edited.
    let v2 = ParsedScript {
        title_page: vec![],
        warnings: vec![],
        scenes: vec![
            scene(None, "EXT. ROAD", &["a", "new", "b"]),
            scene(None, "EXT. BRIDGE", &["x"]),
            scene(None, "INT. CAR", &["c, edited"]),
        ],
    };
    let second = import(&v2, &first.scenes, &first.shots, &[]);
    let numbers: Vec<_> = second.scenes.iter().map(|s| s.number.as_str()).collect();
    assert_eq!(numbers, ["1", "1A", "2"]);
    let ids =
        |p: &MergePlan, action: &str| p.shots.iter().find(|s| s.spec.action == action).unwrap().id;
    assert_eq!(ids(&second, "a"), ids(&first, "a"));
    assert_eq!(ids(&second, "b"), ids(&first, "b"));
    assert_eq!(ids(&second, "c, edited"), ids(&first, "c"));
    assert_eq!(
        codes(&second),
        [
            ("1A".into(), "a".into()),
            ("1C".into(), "new".into()),
            ("1B".into(), "b".into()),
            ("1A-A".into(), "x".into()),
            ("2A".into(), "c, edited".into()),
        ]
    );
    assert_eq!(
        second.summary,
        MergeSummary {
            scenes: 3,
            added: 2,
            updated: 1,
            unchanged: 2,
            omitted: 0,
            removed: 0
        }
    );
}

#[test]
fn shots_that_left_the_script_are_omitted_when_they_have_takes() {
    let v1 = ParsedScript {
        title_page: vec![],
        warnings: vec![],
        scenes: vec![
            scene(None, "EXT. ROAD", &["a"]),
            scene(None, "INT. CAR", &["b", "c"]),
        ],
    };
    let first = import(&v1, &[], &[], &[]);
    let b = first.shots[1].id;
    let v2 = ParsedScript {
        title_page: vec![],
        warnings: vec![],
        scenes: vec![scene(None, "EXT. ROAD", &["a"])],
    };
    let second = import(&v2, &first.scenes, &first.shots, &[b.0]);
    let omitted: Vec<_> = second
        .shots
        .iter()
        .filter(|s| s.omitted)
        .map(|s| s.id)
        .collect();
    assert_eq!(omitted, [b]);
    assert_eq!(second.removed, [first.shots[2].id]);
    assert!(
        second.scenes.iter().any(|s| s.heading == "INT. CAR"),
        "scene of an omitted shot stays known"
    );
    // Back in the script: the omitted shot returns with its id.
    let third = import(&v1, &second.scenes, &second.shots, &[b.0]);
    assert_eq!(
        third
            .shots
            .iter()
            .find(|s| s.spec.action == "b")
            .unwrap()
            .id,
        b
    );
    assert!(third.shots.iter().all(|s| !s.omitted));
}

#[test]
fn user_fields_survive_a_fountain_reimport() {
    let v1 = ParsedScript {
        title_page: vec![],
        warnings: vec![],
        scenes: vec![scene(None, "EXT. ROAD", &["a"])],
    };
    let mut first = import(&v1, &[], &[], &[]);
    first.shots[0].spec.lighting = "dusk".into();
    first.shots[0].spec.camera.movement = "push in".into();
    let second = import(&v1, &first.scenes, &first.shots, &[]);
    assert_eq!(second.shots[0].spec.lighting, "dusk");
    assert_eq!(second.shots[0].spec.camera.movement, "push in");
    assert_eq!(second.summary.unchanged, 1);
}

#[test]
fn similar_texts_are_edits_and_others_are_new_beats() {
    let cases = [
        (
            "Dust hangs in the light.",
            "Dust hangs in the cold light.",
            true,
        ),
        ("The door bursts open.", "The door burst open!", true),
        ("李雷冲进小巷，回头张望。", "李雷冲进小巷，回头看。", true),
        ("Bravo enters.", "Xray lurks in the shadows.", false),
        ("李雷冲进小巷。", "天亮了，城市醒来。", false),
        ("", "", true),
    ];
    for (a, b, want) in cases {
        assert_eq!(similar(a, b), want, "{a:?} vs {b:?}");
    }
}

#[test]
fn takes_never_move_onto_an_unrelated_beat() {
    let v1 = ParsedScript {
        title_page: vec![],
        warnings: vec![],
        scenes: vec![scene(None, "EXT. ROAD", &["Alpha waits.", "Bravo enters."])],
    };
    let first = import(&v1, &[], &[], &[]);
    let bravo = first.shots[1].id;
    let v2 = ParsedScript {
        title_page: vec![],
        warnings: vec![],
        scenes: vec![scene(
            None,
            "EXT. ROAD",
            &["Alpha waits.", "Xray lurks in the shadows."],
        )],
    };
    let with_takes = import(&v2, &first.scenes, &first.shots, &[bravo.0]);
    assert!(
        with_takes.shots.iter().any(|s| s.id == bravo && s.omitted),
        "Bravo is kept, omitted"
    );
    assert!(
        with_takes
            .shots
            .iter()
            .any(|s| s.id != bravo && s.spec.action.starts_with("Xray"))
    );
    // Without takes the same edit simply updates the shot in place.
    let without = import(&v2, &first.scenes, &first.shots, &[]);
    assert_eq!(
        without
            .shots
            .iter()
            .find(|s| s.spec.action.starts_with("Xray"))
            .unwrap()
            .id,
        bravo
    );
}

#[test]
fn scenes_after_a_lettered_one_continue_the_numbers() {
    let parsed = ParsedScript {
        title_page: vec![],
        warnings: vec![],
        scenes: vec![
            scene(Some("1"), "A", &["a"]),
            scene(Some("1A"), "B", &["b"]),
            scene(None, "C", &["c"]),
            scene(None, "D", &["d"]),
            scene(Some("12A"), "E", &["e"]),
            scene(None, "F", &["f"]),
        ],
    };
    let plan = import(&parsed, &[], &[], &[]);
    let numbers: Vec<_> = plan.scenes.iter().map(|s| s.number.as_str()).collect();
    assert_eq!(numbers, ["1", "1A", "2", "3", "12A", "13"]);
}

#[test]
fn shot_numbers_within_a_scene_become_scene_codes() {
    let cases = [
        ("12", "1", "12A"),
        ("12", "2", "12B"),
        ("12", "9", "12J"),
        ("12", "10", "12K"),
        ("12", "b", "12B"),
        ("12A", "c", "12A-C"),
        ("12", "12A", "12A"),
        ("12", "12.1", "12.1"),
        ("3", "INSERT-1", "INSERT-1"),
        ("3", "0", "0"),
    ];
    for (scene, cell, want) in cases {
        assert_eq!(scene_shot_code(scene, cell), want, "{scene} {cell}");
    }
}

#[test]
fn duplicate_numbers_and_codes_are_errors_with_lines() {
    let mut a = scene(Some("5"), "EXT. A", &["x"]);
    a.line = 3;
    let mut b = scene(Some("5"), "EXT. B", &["y"]);
    b.line = 9;
    let parsed = ParsedScript {
        title_page: vec![],
        warnings: vec![],
        scenes: vec![a, b],
    };
    let has = |_: ShotId| false;
    let existing = Existing {
        scenes: &[],
        shots: &[],
        has_takes: &has,
    };
    let err = plan("p", "s.fountain", &parsed, &existing, false, 0, &mut || {
        ShotId(1)
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "s.fountain:9: scene number 5 is used twice (first at line 3); give each scene its own number"
    );

    let mut c = scene(Some("1"), "", &["x", "y"]);
    c.shots[0].code = Some("1A".into());
    c.shots[1].code = Some("1a".into());
    let parsed = ParsedScript {
        title_page: vec![],
        warnings: vec![],
        scenes: vec![c],
    };
    let err = plan("p", "s.csv", &parsed, &existing, true, 0, &mut || ShotId(1)).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("s.csv:11: shot 1a is listed twice (first at line 10)"),
        "{err}"
    );
}
