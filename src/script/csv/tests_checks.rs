//! Tests of what `parse` checks and cleans in a shot list it does not trust: unterminated
//! quotes, control characters, codes, oversized cells, ignored columns, sizes, frame rates and
//! seeds, scene cells left empty under a merged cell, and cells a spreadsheet would run as
//! formulas (with `export`).

use super::{export, parse};
use crate::model::{Shot, ShotId, ShotSpec};
use crate::script::{MAX_FIELD_CHARS, ParsedScript, ParsedShot};

fn parse_ok(text: &str) -> ParsedScript {
    match parse("s.csv", text) {
        Ok(p) => p,
        Err(e) => panic!("{text:?}: {e}"),
    }
}

fn first_shot(text: &str) -> ParsedShot {
    parse_ok(text).scenes[0].shots[0].clone()
}

/// `text` fails with a message that starts with `want`.
fn assert_fails(text: &str, want: &str) {
    let err = parse("s.csv", text).expect_err(text).to_string();
    assert!(
        err.starts_with(want),
        "{text:?}:\n got  {err}\n want {want}…"
    );
}

#[test]
fn an_unterminated_quote_is_an_error_where_it_opens() {
    let want = "unterminated quote: the field opened here has no closing '\"'; close it or escape quotes inside it as \"\"";
    let cases = [
        ("scene,shot,description\n1,1,\"open quote\n2,1,next\n", 2),
        (
            "scene,shot,description\n1,1,\"two\nlines\"\n2,1,\"say \"\"hi\n3,1,x\n",
            4,
        ),
        ("scene;description\n1;ok\n\n2;\"open\n", 4),
    ];
    for (text, line) in cases {
        assert_fails(text, &format!("s.csv:{line}: {want}"));
    }
    // Closed quotes, escaped quotes and quotes inside a field are fine.
    let ok = parse_ok("scene,description\n1,\"say \"\"hi\"\"\"\n1,5\" monitor\n");
    let actions: Vec<&str> = ok.scenes[0]
        .shots
        .iter()
        .map(|s| s.spec.action.as_str())
        .collect();
    assert_eq!(actions, ["say \"hi\"", "5\" monitor"]);
}

#[test]
fn control_characters_are_removed_from_every_cell() {
    let text = "scene,shot,heading,size,description,notes,subject,dialogue,style\n\
        \u{1b}[1m1\u{1b}[0m,1\u{7}A,\"INT. \u{202e}A\nB - DAY\",wide\tshot,\
        \"Line\u{1b}]0;t\u{7} one\nline\ttwo\u{85}\",\"n\u{1b}[31mote\",\u{2066}fox\u{2069},\
        \"B\u{1b}[2J: hi\",noir\u{0}\n";
    let script = parse_ok(text);
    let scene = &script.scenes[0];
    assert_eq!(scene.number.as_deref(), Some("1"));
    assert_eq!(
        scene.heading, "INT. A B - DAY",
        "one-line cells lose line breaks"
    );
    let shot = &scene.shots[0];
    assert_eq!(shot.code.as_deref(), Some("1A"));
    assert_eq!(shot.spec.camera.size, "wide shot");
    assert_eq!(
        shot.spec.action, "Line one\nline two",
        "multi-line cells keep them"
    );
    assert_eq!(shot.source_text, shot.spec.action);
    assert_eq!(shot.notes, ["note"]);
    assert_eq!(shot.spec.subject, "fox");
    assert_eq!(shot.dialogue[0].character, "B");
    assert_eq!(shot.spec.style, "noir");
}

#[test]
fn codes_must_survive_cleaning_and_hold_no_slashes() {
    let fix = "; use letters, digits, '-' or '.'";
    let cases = [
        (
            "scene,shot,description\n1,1/A,x\n",
            format!("s.csv:2: shot code \"1/A\" contains '/'{fix}"),
        ),
        (
            "scene,shot,description\n1,..\\A,x\n",
            format!("s.csv:2: shot code \"..\\A\" contains '\\'{fix}"),
        ),
        (
            "scene,shot,description\n1,\u{1b}[0m,x\n",
            format!(
                "s.csv:2: shot code \"\\u{{1b}}[0m\" is empty once control characters are removed{fix}"
            ),
        ),
        (
            "scene,shot,description\n1,1A,x\n../2,2A,y\n",
            format!("s.csv:3: scene number \"../2\" contains '/'{fix}"),
        ),
        (
            "scene,shot,description\n\u{202e},1A,x\n",
            format!(
                "s.csv:2: scene number \"\\u{{202e}}\" is empty once control characters are removed{fix}"
            ),
        ),
    ];
    for (text, want) in &cases {
        assert_fails(text, want);
    }
    // An empty shot cell is no code, as before; codes with letters, digits, '-' and '.' pass.
    let script = parse_ok("scene,shot,description\n1,,x\n1,1.A-2,y\n");
    let codes: Vec<Option<&str>> = script.scenes[0]
        .shots
        .iter()
        .map(|s| s.code.as_deref())
        .collect();
    assert_eq!(codes, [None, Some("1.A-2")]);
}

#[test]
fn cells_longer_than_the_limit_are_errors() {
    let n = MAX_FIELD_CHARS + 1;
    let long = "字".repeat(n);
    let cases = [
        (
            format!("scene,Description\n1,ok\n1,{long}\n"),
            format!(
                "s.csv:3: the 'Description' cell is {n} characters long; split it (at most 20000)"
            ),
        ),
        (
            format!("scene,description,备注\n1,x,\"{long}\"\n"),
            format!("s.csv:2: the '备注' cell is {n} characters long"),
        ),
        (
            format!("scene,description,subject\n1,x,'{long}\n"),
            format!("s.csv:2: the 'subject' cell is {n} characters long"),
        ),
    ];
    for (text, want) in &cases {
        assert_fails(text, want);
    }
    // At the limit (after the leading `'` comes off) is fine, and so is a long ignored cell.
    let at = "字".repeat(MAX_FIELD_CHARS);
    let shot = first_shot(&format!("scene,description,other\n1,'{at},{long}\n"));
    assert_eq!(shot.spec.action.chars().count(), MAX_FIELD_CHARS);
}

#[test]
fn ignored_columns_are_named_in_one_warning() {
    let known = "known: scene, shot, heading, size, angle, movement, lens, description, duration, notes, subject, environment, lighting, style, negative, width, height, fps, seed, dialogue";
    let cases: &[(&str, Vec<String>)] = &[
        ("scene,shot,description\n1,1A,x\n", vec![]),
        (
            "scene,Take,description,Mood \u{1b}[31m\n1,1,x,dark\n",
            vec![format!("s.csv:1: ignored columns: Take, Mood ({known})")],
        ),
        // Columns without a name count only when a row fills them.
        ("scene,description,,\n1,x,,\n", vec![]),
        (
            "scene,description,,\n1,x,,\n1,y,,z\n",
            vec![format!(
                "s.csv:1: ignored columns: column 4 (no name) ({known})"
            )],
        ),
        (
            "scene\tshot\tdescription\ttime ignored\n7\t7B\tx\t2.5\n",
            vec![format!("s.csv:1: ignored columns: time ignored ({known})")],
        ),
    ];
    for (text, want) in cases {
        assert_eq!(&parse_ok(text).warnings, want, "{text:?}");
    }
}

#[test]
fn sizes_frame_rates_and_seeds_in_range() {
    let cases = [
        (
            "scene,description,width\n1,x,1280\n",
            "s.csv:1: a 'width' column needs a 'height' column next to it; add the 'height' column or remove 'width'",
        ),
        (
            "scene,description,高\n1,x,720\n",
            "s.csv:1: a '高' column needs a 'width' column next to it",
        ),
        (
            "scene,description,width,height\n1,x,1280,720\n1,y,1280,\n",
            "s.csv:3: column 'width' has '1280' but 'height' is empty; fill both or neither",
        ),
        (
            "scene,description,Width,Height\n1,x,,720\n",
            "s.csv:2: column 'Height' has '720' but 'Width' is empty; fill both or neither",
        ),
        (
            "scene,description,width,height\n1,x,1281,720\n",
            "s.csv:2: column 'width' has '1281'; expected a width in pixels such as 1280: an even number from 16 to 4096",
        ),
        (
            "scene,description,width,height\n1,x,14,720\n",
            "s.csv:2: column 'width' has '14'; expected a width in pixels",
        ),
        (
            "scene,description,width,height\n1,x,1280,4098\n",
            "s.csv:2: column 'height' has '4098'; expected a height in pixels such as 720: an even number from 16 to 4096",
        ),
        (
            "scene,description,fps\n1,x,0\n",
            "s.csv:2: column 'fps' has '0'; expected frames per second such as 24: a whole number from 1 to 120",
        ),
        (
            "scene,description,fps\n1,x,121\n",
            "s.csv:2: column 'fps' has '121'; expected frames per second",
        ),
        (
            "scene,description,seed\n1,x,2147483648\n",
            "s.csv:2: column 'seed' has '2147483648'; expected a whole number (seed must be 0 to 2147483647)",
        ),
    ];
    for (text, want) in cases {
        assert_fails(text, want);
    }
    let low = first_shot("scene,description,width,height,fps,seed\n1,x,16,4096,1,0\n");
    let high = first_shot("scene,description,width,height,fps,seed\n1,x,4096,16,120,2147483647\n");
    let values = |s: &ParsedShot| (s.spec.width, s.spec.height, s.spec.fps, s.spec.seed);
    assert_eq!(values(&low), (Some(16), Some(4096), Some(1), Some(0)));
    assert_eq!(
        values(&high),
        (Some(4096), Some(16), Some(120), Some(2_147_483_647))
    );
}

#[test]
fn empty_scene_cells_take_the_scene_above() {
    let text = "scene,shot,heading,description\n\
                1,1A,EXT. ROAD - DAY,Dust.\n\
                ,1B,,Wind.\n\
                \n\
                2,2A,INT. CAR - DAY,Engine.\n\
                ,2B,INT. CAR - DAY,Radio.\n\
                ,2C,,Silence.\n";
    let script = parse_ok(text);
    let outline: Vec<(Option<&str>, Vec<&str>)> = script
        .scenes
        .iter()
        .map(|s| {
            let codes = s.shots.iter().filter_map(|sh| sh.code.as_deref()).collect();
            (s.number.as_deref(), codes)
        })
        .collect();
    assert_eq!(
        outline,
        [
            (Some("1"), vec!["1A", "1B"]),
            (Some("2"), vec!["2A", "2B", "2C"]),
        ]
    );
    // The heading check still applies to a row that takes the scene above.
    assert_fails(
        "scene,heading,description\n1,INT. A - DAY,a\n,INT. B - DAY,b\n",
        "s.csv:3: scene 1 already has the heading 'INT. A - DAY' (line 2)",
    );
}

#[test]
fn cells_a_spreadsheet_would_run_survive_the_round_trip() {
    let spec = ShotSpec {
        action: "=SUM(A1)".into(),
        subject: "-3 dB".into(),
        style: "'quoted".into(),
        environment: "@home".into(),
        lighting: "+1 stop".into(),
        negative: "''two".into(),
        ..ShotSpec::default()
    };
    let mut shot = Shot::new(ShotId(1), "p", "-1", "=2", 0, spec.clone(), 0);
    shot.notes = vec!["=HYPERLINK(\"x\")".into(), "second".into()];
    let mut out = Vec::new();
    export(&[], &[shot.clone()], &mut out).expect("export");
    let text = String::from_utf8(out).expect("UTF-8");
    let row = text.lines().nth(1).expect("a data row");
    assert!(row.starts_with("'=2,'-1,,"), "{row}");
    for cell in [
        "'=SUM(A1)",
        "'-3 dB",
        "''quoted",
        "'@home",
        "'+1 stop",
        "'''two",
    ] {
        assert!(text.contains(cell), "{cell} in {text}");
    }
    assert!(
        text.contains("\"'=HYPERLINK(\"\"x\"\")\nsecond\""),
        "{text}"
    );
    let script = parse_ok(&text);
    let back = &script.scenes[0].shots[0];
    assert_eq!(script.scenes[0].number.as_deref(), Some("=2"));
    assert_eq!(back.code.as_deref(), Some("-1"));
    assert_eq!(back.spec, spec);
    assert_eq!(back.notes, shot.notes);
    // Exactly one leading `'` comes off a cell, whoever wrote it.
    let typed = first_shot("scene,description,style\n'1,''x,'=y\n");
    assert_eq!(
        (typed.spec.action.as_str(), typed.spec.style.as_str()),
        ("'x", "=y")
    );
}
