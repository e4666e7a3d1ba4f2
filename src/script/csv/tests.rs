//! Tests of `parse` and `export` over whole shot lists: the round trip, header synonyms, scene
//! grouping and what every error says. `line` is shared with the tests of the parts.

use super::{export, parse};
use crate::model::{CameraSpec, DialogueLine, IntExt, Scene, Shot, ShotId, ShotSpec};
use crate::script::fountain::parse_heading;
use crate::script::{ParsedScript, ParsedShot, ScriptError};

fn parse_ok(text: &str) -> ParsedScript {
    match parse("s.csv", text) {
        Ok(p) => p,
        Err(e) => panic!("{text:?}: {e}"),
    }
}

fn scene(number: &str, heading: &str) -> Scene {
    let parts = parse_heading(heading);
    Scene {
        number: number.into(),
        heading: heading.into(),
        int_ext: parts.int_ext,
        location: parts.location,
        time_of_day: parts.time_of_day,
        line: 0,
        synopses: vec![],
    }
}

fn shot(scene: &str, code: &str, spec: ShotSpec) -> Shot {
    Shot::new(ShotId(1), "p", code, scene, 0, spec, 0)
}

pub(super) fn line(
    character: &str,
    exts: &[&str],
    paren: Option<&str>,
    text: &str,
    dual: bool,
) -> DialogueLine {
    DialogueLine {
        character: character.into(),
        extensions: exts.iter().map(|e| e.to_string()).collect(),
        parenthetical: paren.map(Into::into),
        text: text.into(),
        dual,
    }
}

#[test]
fn export_then_parse_is_lossless() {
    let scenes = vec![
        scene("1", "INT. KITCHEN, \"HOME\" - NIGHT"),
        scene("12A", "夜 小巷"),
        scene("3", ""),
    ];
    let mut a = shot(
        "1",
        "1A",
        ShotSpec {
            subject: "Brick, 50s, \"retired\"".into(),
            action: "He opens the fridge.\nIt is empty; he sighs.".into(),
            environment: "interior, kitchen, night".into(),
            camera: CameraSpec {
                size: "close-up".into(),
                angle: "low angle".into(),
                movement: "push in".into(),
                lens: "35mm, anamorphic".into(),
            },
            lighting: "fridge light only".into(),
            style: "noir".into(),
            negative: "blur, text".into(),
            duration_s: Some(2.5),
            width: Some(1280),
            height: Some(720),
            fps: Some(24),
            seed: Some(2_147_483_647),
        },
    );
    a.notes = vec![
        "Faster.".into(),
        "Two lines:\nsecond one".into(),
        "Path C:\\temp\\new".into(),
    ];
    a.dialogue = vec![
        line(
            "BRICK",
            &["V.O.", "CONT'D"],
            Some("to himself"),
            "Nothing.\nAgain.",
            false,
        ),
        line("STEEL", &[], None, "(not a parenthetical) really", true),
        line(
            "DR. NO: (THE) [ONE]^",
            &["ON: TV (LIVE)"],
            Some("a (nested) aside"),
            "Back\\slash",
            false,
        ),
        line("韩梅梅", &["画外音"], Some("低声"), "快走，别回头！", false),
        line("BOB", &[], Some(""), "", false),
    ];
    let b = shot(
        "12A",
        "12A-B",
        ShotSpec {
            action: "李雷冲进小巷，回头张望。".into(),
            environment: String::new(),
            duration_s: Some(5.0),
            seed: Some(0),
            ..ShotSpec::default()
        },
    );
    let c = shot(
        "3",
        "3A",
        ShotSpec {
            subject: "a fox".into(),
            duration_s: Some(0.1),
            ..ShotSpec::default()
        },
    );
    let d = shot("1", "1B", ShotSpec::default());
    let shots = vec![a, b, c, d];

    let mut out = Vec::new();
    export(&scenes, &shots, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with(
        "scene,shot,heading,size,angle,movement,lens,description,duration,notes,subject,environment,lighting,style,negative,width,height,fps,seed,dialogue\n"
    ));
    let parsed = parse_ok(&text);

    let numbers: Vec<(Option<&str>, &str)> = parsed
        .scenes
        .iter()
        .map(|s| (s.number.as_deref(), s.heading.as_str()))
        .collect();
    assert_eq!(
        numbers,
        vec![
            (Some("1"), "INT. KITCHEN, \"HOME\" - NIGHT"),
            (Some("12A"), "夜 小巷"),
            (Some("3"), ""),
        ]
    );
    assert_eq!(parsed.scenes[0].int_ext, Some(IntExt::Int));
    assert_eq!(parsed.scenes[1].time_of_day.as_deref(), Some("夜"));
    let back: Vec<&ParsedShot> = parsed.scenes.iter().flat_map(|s| &s.shots).collect();
    // Scene 1 collects shots 1A and 1B, so the order is 1A, 1B, 12A-B, 3A.
    let original = [&shots[0], &shots[3], &shots[1], &shots[2]];
    assert_eq!(back.len(), original.len());
    for (got, want) in back.iter().zip(original) {
        assert_eq!(got.code.as_deref(), Some(want.code.as_str()));
        assert_eq!(got.spec, want.spec, "{}", want.code);
        assert_eq!(got.dialogue, want.dialogue, "{}", want.code);
        assert_eq!(got.notes, want.notes, "{}", want.code);
    }
}

#[test]
fn headers_have_synonyms_in_english_and_chinese() {
    let text = "场次,镜号,景别,角度,运镜,镜头,画面内容,时长,备注,对白\n\
                    3,3A,特写,平视,推进,50mm,李雷回头。,00:05,再快一点,李雷：（低声）走。\n";
    let script = parse_ok(text);
    let s = &script.scenes[0];
    assert_eq!(s.number.as_deref(), Some("3"));
    let shot = &s.shots[0];
    assert_eq!(shot.code.as_deref(), Some("3A"));
    assert_eq!(
        shot.spec.camera,
        CameraSpec {
            size: "特写".into(),
            angle: "平视".into(),
            movement: "推进".into(),
            lens: "50mm".into(),
        }
    );
    assert_eq!(shot.spec.action, "李雷回头。");
    assert_eq!(shot.source_text, "李雷回头。");
    assert_eq!(shot.spec.duration_s, Some(5.0));
    assert_eq!(shot.notes, vec!["再快一点"]);
    assert_eq!(
        shot.dialogue,
        vec![line("李雷", &[], Some("低声"), "走。", false)]
    );
    assert_eq!(shot.line, 2);

    for header in [
        "Scene #,Shot #,Shot Size,Camera Movement,Action,Duration_s",
        " SCENE , shot_no ,  shot   size ,move,DESCRIPTION,duration",
        "scene_no;shot;size;movement;description;duration",
        "scene\tshot\tsize\tcamera movement\tdescription\ttime ignored",
    ] {
        let delimiter = if header.contains(',') {
            ","
        } else if header.contains(';') {
            ";"
        } else {
            "\t"
        };
        let row = ["7", "7B", "wide", "pan left", "A crowd, cheering.", "2.5"].join(delimiter);
        let row = if delimiter == "," {
            row.replace("A crowd, cheering.", "\"A crowd, cheering.\"")
        } else {
            row
        };
        let script = parse_ok(&format!("{header}\n{row}\n"));
        let shot = &script.scenes[0].shots[0];
        assert_eq!(script.scenes[0].number.as_deref(), Some("7"), "{header}");
        assert_eq!(shot.code.as_deref(), Some("7B"), "{header}");
        assert_eq!(shot.spec.camera.size, "wide", "{header}");
        assert_eq!(shot.spec.camera.movement, "pan left", "{header}");
        assert_eq!(shot.spec.action, "A crowd, cheering.", "{header}");
        let want = if header.contains("ignored") {
            None
        } else {
            Some(2.5)
        };
        assert_eq!(shot.spec.duration_s, want, "{header}");
    }
}

#[test]
fn rows_group_into_scenes_by_value_in_first_appearance_order() {
    let text = "scene,shot,heading,description\n\
                    2,2A,EXT. ROAD - DAY,Dust.\n\
                    \n\
                    1,1A,,\"A line\nthat wraps\"\n\
                    ,,,\n\
                    2,2B,,Wind.\n";
    let script = parse_ok(text);
    type SceneOutline<'a> = (Option<&'a str>, u32, Vec<(u32, &'a str)>);
    let outline: Vec<SceneOutline> = script
        .scenes
        .iter()
        .map(|s| {
            let shots = s
                .shots
                .iter()
                .map(|sh| (sh.line, sh.spec.action.as_str()))
                .collect();
            (s.number.as_deref(), s.line, shots)
        })
        .collect();
    assert_eq!(
        outline,
        vec![
            (Some("2"), 2, vec![(2, "Dust."), (7, "Wind.")]),
            (Some("1"), 4, vec![(4, "A line\nthat wraps")]),
        ]
    );
    // No environment column: the heading gives it.
    assert_eq!(
        script.scenes[0].shots[1].spec.environment,
        "exterior, road, day"
    );
    assert_eq!(script.scenes[0].location, "ROAD");

    let flat = parse_ok("subject,description\r\nfox,runs\r\nowl,\r\n");
    assert_eq!(flat.scenes.len(), 1);
    assert_eq!(flat.scenes[0].number.as_deref(), Some("1"));
    assert_eq!(flat.scenes[0].shots.len(), 2);
    assert_eq!(flat.scenes[0].shots[1].code, None);
    assert_eq!(
        flat.scenes[0].shots[1].source_text, "owl",
        "the subject stands in for an empty description"
    );
}

#[test]
fn errors_name_the_file_line_and_fix() {
    let cases: &[(&str, &str)] = &[
        ("", "s.csv:1: no shots found"),
        ("scene,shot,description\n", "s.csv:1: no shots found"),
        ("scene,shot,description\n\n,,\n", "s.csv:1: no shots found"),
        (
            "scene,shot,size\n1,1A,wide\n",
            "s.csv:1: no 'description' column; name the column that says what happens in the shot 'description' (or action, 画面内容, 描述), or give a 'subject' column; the header has: scene, shot, size",
        ),
        (
            "scene,action,Description\n1,a,b\n",
            "s.csv:1: columns 'action' and 'Description' both mean 'description'",
        ),
        (
            "scene,description\n1,ok\n1,\"two\nlines\"\n2,a,b\n",
            "s.csv:5: row has 3 fields but the header has 2; quote cells that contain ',' or line breaks",
        ),
        (
            "scene;description\n1;a;b\n",
            "s.csv:2: row has 3 fields but the header has 2; quote cells that contain ';'",
        ),
        (
            "scene,description,Duration\n1,a,5\n1,b,five\n",
            "s.csv:3: column 'Duration' has 'five'; expected seconds such as 5, 5s or 2.5, or minutes:seconds such as 00:05",
        ),
        (
            "scene,description,width,height\n1,a,wide,720\n",
            "s.csv:2: column 'width' has 'wide'; expected a width in pixels such as 1280",
        ),
        (
            "scene,description,width,height\n1,a,1280,0\n",
            "s.csv:2: column 'height' has '0'; expected a height in pixels",
        ),
        (
            "scene,description,fps\n1,a,23.976\n",
            "s.csv:2: column 'fps' has '23.976'; expected frames per second",
        ),
        (
            "scene,description,seed\n1,a,-1\n",
            "s.csv:2: column 'seed' has '-1'; expected a whole number",
        ),
        (
            "场次,描述\n\n,a\n,b\n",
            "s.csv:3: the first row has no scene; fill the '场次' column (e.g. 1 or 12A)",
        ),
        (
            "scene,heading,description\n1,INT. A - DAY,a\n1,INT. B - DAY,b\n",
            "s.csv:3: scene 1 already has the heading 'INT. A - DAY' (line 2)",
        ),
        (
            "scene,description,dialogue\n1,a,BRICK hi\n",
            "s.csv:2: column 'dialogue' has 'BRICK hi': no ':' after the character; write one line per dialogue line as CHARACTER (EXT) [dual]: (parenthetical) text",
        ),
    ];
    for (text, want) in cases {
        let err = parse("s.csv", text).expect_err(text).to_string();
        assert!(
            err.starts_with(want),
            "{text:?}:\n got  {err}\n want {want}…"
        );
    }
}

#[test]
fn export_reports_write_failures_as_io_errors() {
    struct Broken;
    impl std::io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let err = export(&[], &[shot("1", "1A", ShotSpec::default())], &mut Broken).unwrap_err();
    assert!(
        matches!(&err, ScriptError::Io { file, message } if file == "<output>" && message.contains("disk full")),
        "{err}"
    );
}
