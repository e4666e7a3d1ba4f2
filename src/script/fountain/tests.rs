//! Tests of `parse` over whole scripts: which elements become shots, where dialogue and notes
//! go, and what every error says.

use super::parse;
use crate::model::{DialogueLine, IntExt};
use crate::script::ParsedScript;

fn parse_ok(text: &str) -> ParsedScript {
    match parse("t.fountain", text) {
        Ok(p) => p,
        Err(e) => panic!("{text:?}: {e}"),
    }
}

/// (scene number, heading, [(line, action)]) of a scene.
type SceneOutline = (Option<String>, String, Vec<(u32, String)>);

fn outline(text: &str) -> Vec<SceneOutline> {
    parse_ok(text)
        .scenes
        .into_iter()
        .map(|s| {
            let shots = s
                .shots
                .into_iter()
                .map(|sh| (sh.line, sh.spec.action))
                .collect();
            (s.number, s.heading, shots)
        })
        .collect()
}

fn say(character: &str, paren: Option<&str>, text: &str) -> DialogueLine {
    DialogueLine {
        character: character.into(),
        extensions: vec![],
        parenthetical: paren.map(Into::into),
        text: text.into(),
        dual: false,
    }
}

#[test]
fn each_action_paragraph_is_one_shot() {
    let text = "INT. KITCHEN - NIGHT\n\nA kettle screams.\n*Nobody* moves.\n\n!THE LIGHTS FAIL.\n\nEXT. YARD - NIGHT #12A#\n\nRain.\n";
    assert_eq!(
        outline(text),
        vec![
            (
                None,
                "INT. KITCHEN - NIGHT".to_string(),
                vec![
                    (3, "A kettle screams.\nNobody moves.".to_string()),
                    (6, "THE LIGHTS FAIL.".to_string()),
                ]
            ),
            (
                Some("12A".to_string()),
                "EXT. YARD - NIGHT".to_string(),
                vec![(10, "Rain.".to_string())]
            ),
        ]
    );
    let script = parse_ok(text);
    let scene = &script.scenes[0];
    assert_eq!(
        (scene.int_ext, scene.location.as_str()),
        (Some(IntExt::Int), "KITCHEN")
    );
    assert_eq!(scene.time_of_day.as_deref(), Some("NIGHT"));
    assert_eq!(scene.line, 1);
    let shot = &scene.shots[0];
    assert_eq!(shot.spec.environment, "interior, kitchen, night");
    assert_eq!(shot.source_text, "A kettle screams.\nNobody moves.");
    assert_eq!(shot.code, None);
    assert_eq!(script.scenes[1].line, 8);
}

#[test]
fn what_is_and_is_not_a_scene_heading() {
    let cases: &[(&str, &str)] = &[
        // Needs a blank line after it: otherwise an all-caps line is a character cue.
        ("EXT. ROAD - DAY\n\nDust.", "EXT. ROAD - DAY"),
        ("\n\nEST. TOWER - DAWN\n\nBirds.", "EST. TOWER - DAWN"),
        (".FLASHBACK\n\nRain.", "FLASHBACK"),
        (".夜 小巷 #3#\n李雷冲进小巷，回头张望。", "夜 小巷"),
        (".内景 客厅 夜\n\n灯灭了。", "内景 客厅 夜"),
        ("INT. **OFFICE** - DAY\n\nPhones.", "INT. OFFICE - DAY"),
    ];
    for (text, heading) in cases {
        let script = parse_ok(text);
        assert_eq!(script.scenes.len(), 1, "{text:?}");
        assert_eq!(script.scenes[0].heading, *heading, "{text:?}");
        assert_eq!(script.scenes[0].shots.len(), 1, "{text:?}");
    }
    // Not headings: an ellipsis, a heading word inside a paragraph, no space after INT.
    let not: &[&str] = &[
        "...and then silence.",
        "He walks.\nINT. HOUSE - DAY\n\nMore.",
        "INTERIOR DESIGN IS HARD.",
        // No blank line after: not a heading, and not a character cue either.
        "EXT. ROAD - DAY\nDust rises.",
    ];
    for text in not {
        let script = parse_ok(text);
        assert!(
            script.scenes.iter().all(|s| s.heading.is_empty()),
            "{text:?}"
        );
        assert!(script.scenes[0].shots[0].dialogue.is_empty(), "{text:?}");
    }
    let zh = parse_ok(".夜 小巷 #3#\n李雷冲进小巷，回头张望。");
    let scene = &zh.scenes[0];
    assert_eq!(scene.number.as_deref(), Some("3"));
    assert_eq!(scene.location, "小巷");
    assert_eq!(scene.time_of_day.as_deref(), Some("夜"));
    assert_eq!(scene.shots[0].spec.action, "李雷冲进小巷，回头张望。");
    assert_eq!(scene.shots[0].spec.environment, "小巷，夜");
    assert_eq!(scene.shots[0].line, 2);
}

#[test]
fn dialogue_cues_extensions_parentheticals_and_dual() {
    let text = "\
INT. GARAGE - DAY

Brick and Steel get into the car.

BRICK (V.O.) (CONT'D)
This is everybody
we've ever put away.

STEEL
(starting the engine)
So much for retirement!
(beat)
(grinning)
Or not.

BRICK ^
*Ha.*

@McCLANE
Yippee ki-yay.

HANS (on the radio)
Hello.
";
    let script = parse_ok(text);
    let shots = &script.scenes[0].shots;
    assert_eq!(shots.len(), 1);
    let mut brick = say("BRICK", None, "This is everybody\nwe've ever put away.");
    brick.extensions = vec!["V.O.".into(), "CONT'D".into()];
    let mut dual = say("BRICK", None, "Ha.");
    dual.dual = true;
    let mut hans = say("HANS", None, "Hello.");
    hans.extensions = vec!["on the radio".into()];
    assert_eq!(
        shots[0].dialogue,
        vec![
            brick,
            say(
                "STEEL",
                Some("starting the engine"),
                "So much for retirement!"
            ),
            say("STEEL", Some("beat grinning"), "Or not."),
            dual,
            say("McCLANE", None, "Yippee ki-yay."),
            hans,
        ]
    );
    assert_eq!(shots[0].source_text, "Brick and Steel get into the car.");
}

#[test]
fn chinese_cues_with_and_without_the_at_sign() {
    let text =
        ".夜 小巷 #3#\n\n李雷冲进小巷，回头张望。\n\n@韩梅梅\n（低声）\n快走！\n\n李雷\n你先走。\n";
    let script = parse_ok(text);
    let shots = &script.scenes[0].shots;
    // A plain Chinese name is a cue too (more cases in `tests_zh`).
    assert_eq!(shots.len(), 1);
    assert_eq!(
        shots[0].dialogue,
        vec![
            say("韩梅梅", Some("低声"), "快走！"),
            say("李雷", None, "你先走。")
        ]
    );
    // `@` still forces what the plain rule leaves as action (one character).
    let one = parse_ok(".夜 街\n\n风。\n\n@霞\n走。\n\n霞\n走。");
    assert_eq!(
        one.scenes[0].shots[0].dialogue,
        vec![say("霞", None, "走。")]
    );
    assert_eq!(one.scenes[0].shots[1].spec.action, "霞\n走。");
    let ext = parse_ok("@李雷（画外音）\n别回头。\n\n.夜 街\n\n风。");
    let mut line = say("李雷", None, "别回头。");
    line.extensions = vec!["画外音".into()];
    assert_eq!(ext.scenes[0].shots[0].dialogue, vec![line]);
}

#[test]
fn dialogue_before_action_waits_for_the_next_shot() {
    let text = "INT. CAR - NIGHT\n\nBRICK\nDrive.\n\nSteel drives.\n\nEXT. ROAD - NIGHT\n\nSTEEL\nWhere to?\n\nBRICK\nAnywhere.\n";
    let script = parse_ok(text);
    let first = &script.scenes[0].shots;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].spec.action, "Steel drives.");
    assert_eq!(first[0].dialogue, vec![say("BRICK", None, "Drive.")]);
    assert_eq!(first[0].line, 6);
    // A scene with only dialogue gets one shot with no action, so the lines are kept.
    let second = &script.scenes[1].shots;
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].spec.action, "");
    assert_eq!(second[0].spec.environment, "exterior, road, night");
    assert_eq!(second[0].source_text, "STEEL: Where to?\nBRICK: Anywhere.");
    assert_eq!(second[0].line, 10);
    assert_eq!(second[0].dialogue.len(), 2);
}

#[test]
fn action_before_the_first_heading_is_a_scene_without_heading() {
    let script = parse_ok("The screen is black.\n\nINT. ROOM - DAY\n\nLight.");
    assert_eq!(script.scenes.len(), 2);
    let first = &script.scenes[0];
    assert_eq!(
        (first.number.as_deref(), first.heading.as_str()),
        (None, "")
    );
    assert_eq!(first.line, 1);
    assert_eq!(first.shots[0].spec.environment, "");
    // Nothing but sections and synopses before the first heading: no empty scene, and the
    // synopsis goes to the first real scene.
    let script = parse_ok("# ACT ONE\n\n= The heist goes wrong.\n\nINT. BANK - DAY\n\nAlarms.");
    assert_eq!(script.scenes.len(), 1);
    assert_eq!(script.scenes[0].synopses, vec!["The heist goes wrong."]);
}

#[test]
fn elements_that_make_no_shots() {
    let text = "\
INT. BANK - DAY
= The heist goes *wrong*.

Alarms ring.

CUT TO:

> BURN TO WHITE.

> THE END <

===

## The vault

FADE OUT.
";
    let script = parse_ok(text);
    assert_eq!(script.scenes.len(), 1);
    let scene = &script.scenes[0];
    assert_eq!(scene.synopses, vec!["The heist goes wrong."]);
    assert_eq!(outline(text)[0].2, vec![(4, "Alarms ring.".to_string())]);
    assert!(scene.shots[0].notes.is_empty());
    // A transition must stand alone; inside a paragraph it is action.
    let inline = parse_ok("INT. A - DAY\n\nHe waits.\nCUT TO:\n");
    assert_eq!(inline.scenes[0].shots[0].spec.action, "He waits.\nCUT TO:");
}

#[test]
fn notes_inline_multiline_and_standalone() {
    let text = "\
INT. TRAILER - DAY

This is the home of DAN and JACK[[Or did we think of actual names?]]. They count money.
[[Own line, right after the paragraph.]]

[[It was supposed to be Vietnamese, right?]]

JACK
(in Vietnamese)
Did you know?[[Subtitle
  
Definitely.]] Right.

~Happy birthday to you
";
    let script = parse_ok(text);
    let shots = &script.scenes[0].shots;
    assert_eq!(shots.len(), 1);
    assert_eq!(
        shots[0].spec.action,
        "This is the home of DAN and JACK. They count money."
    );
    assert_eq!(shots[0].source_text, shots[0].spec.action);
    assert_eq!(
        shots[0].notes,
        vec![
            "Or did we think of actual names?",
            "Own line, right after the paragraph.",
            "It was supposed to be Vietnamese, right?",
            "Subtitle\n\nDefinitely.",
            "♪ Happy birthday to you",
        ]
    );
    assert_eq!(
        shots[0].dialogue,
        vec![say("JACK", Some("in Vietnamese"), "Did you know? Right.")]
    );
    // A note on a line inside a paragraph does not split it.
    let split = parse_ok("INT. A - DAY\n\nOne.\n[[aside]]\nTwo.");
    assert_eq!(split.scenes[0].shots.len(), 1);
    assert_eq!(split.scenes[0].shots[0].spec.action, "One.\nTwo.");
    assert_eq!(split.scenes[0].shots[0].notes, vec!["aside"]);
}

#[test]
fn boneyard_is_removed_across_blank_lines_and_mid_line() {
    let text = "\
INT. GARAGE - DAY

They pause /* for a beat */ and look.

CUT TO:
/*
INT. OLD SCENE - DAY

BRICK
This is cut.

*/
EXT. MANSION - DAY

A long driveway.
";
    let out = outline(text);
    assert_eq!(
        out,
        vec![
            (
                None,
                "INT. GARAGE - DAY".to_string(),
                vec![(3, "They pause  and look.".to_string())]
            ),
            (
                None,
                "EXT. MANSION - DAY".to_string(),
                vec![(15, "A long driveway.".to_string())]
            ),
        ]
    );
}

#[test]
fn title_page_keys_and_indented_values() {
    let text = "\
Title:
    _**BRICK & STEEL**_
    _**FULL RETIRED**_
Credit: Written by
Author: Stu Maschwitz
Draft date: 1/20/2012

EXT. PATIO - DAY

Sun.
";
    let script = parse_ok(text);
    assert_eq!(
        script.title_page,
        vec![
            (
                "Title".to_string(),
                "BRICK & STEEL\nFULL RETIRED".to_string()
            ),
            ("Credit".to_string(), "Written by".to_string()),
            ("Author".to_string(), "Stu Maschwitz".to_string()),
            ("Draft date".to_string(), "1/20/2012".to_string()),
        ]
    );
    assert_eq!(
        script.scenes[0].line, 8,
        "line numbers count the title page"
    );
    assert_eq!(script.scenes[0].shots[0].line, 10);
    // FADE IN: at the top is a transition, not a title page.
    let script = parse_ok("FADE IN:\n\nINT. A - DAY\n\nB.");
    assert!(script.title_page.is_empty());
    assert_eq!(script.scenes.len(), 1);
}

#[test]
fn line_endings_tabs_and_bom() {
    let lf = "INT. A - DAY\n\n\tOne.\n\nBOB\nHi.\n\nTwo.\n";
    let want = outline(lf);
    for text in [
        lf.replace('\n', "\r\n"),
        lf.replace('\n', "\r"),
        format!("\u{feff}{lf}"),
    ] {
        assert_eq!(outline(&text), want, "{text:?}");
    }
    assert_eq!(
        want[0].2,
        vec![(3, "One.".to_string()), (8, "Two.".to_string())]
    );
}

#[test]
fn soft_blank_lines_keep_dialogue_together() {
    let script = parse_ok("INT. A - DAY\n\nX.\n\nDEALER\nTen.\n  \nTwenty.\n");
    assert_eq!(
        script.scenes[0].shots[0].dialogue,
        vec![say("DEALER", None, "Ten.\n\nTwenty.")]
    );
}

#[test]
fn errors_name_the_file_line_and_fix() {
    let cases: &[(&str, &str)] = &[
        (
            "INT. A - DAY\n\nOne.\n/* hidden\n\nstill hidden\n",
            "t.fountain:4: unterminated boneyard: '/*' has no closing '*/'",
        ),
        (
            "INT. A - DAY\n\nOne. [[a note\nthat never ends\n\nTwo.",
            "t.fountain:3: unterminated note: '[[' has no closing ']]'",
        ),
        (
            "INT. A - DAY\n\nOne.\n\nTwo [[ note",
            "t.fountain:5: unterminated note",
        ),
        (
            "",
            "t.fountain:1: no scenes or action found; a Fountain scene starts with a heading such as 'INT. HOUSE - DAY'",
        ),
        ("\n\n  \n", "t.fountain:1: no scenes or action found"),
        (
            "Title: Only a title page\nAuthor: Me\n",
            "t.fountain:1: no scenes or action found",
        ),
        (
            "/* all hidden */",
            "t.fountain:1: no scenes or action found",
        ),
        (
            "INT. A - DAY\n\nOne.\r\nTw\0o.",
            "t.fountain:4: binary content (a NUL byte)",
        ),
        (
            "\n\nINT. A - DAY #1 A#\n\nB.",
            "t.fountain:3: invalid scene number '#1 A#': use only letters, digits, '-' and '.'",
        ),
        (
            "INT. A - DAY ##\n\nB.",
            "t.fountain:1: invalid scene number '##'",
        ),
        (
            ".夜 小巷 #三#\n\nB.",
            "t.fountain:1: invalid scene number '#三#'",
        ),
    ];
    for (text, want) in cases {
        let err = parse("t.fountain", text).expect_err(text).to_string();
        assert!(
            err.starts_with(want),
            "{text:?}:\n got  {err}\n want {want}…"
        );
    }
    for number in ["1", "12A", "I-1-A", "1.", "110A"] {
        let script = parse_ok(&format!("INT. A - DAY #{number}#\n\nB."));
        assert_eq!(script.scenes[0].number.as_deref(), Some(number));
    }
}
