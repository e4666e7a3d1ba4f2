//! Tests of what `parse` lets out of a script it does not trust: no control characters, escape
//! sequences or bidi overrides in any text, and no field longer than the limit.

use super::parse;
use crate::script::{MAX_FIELD_CHARS, ParsedScript};

fn parse_ok(text: &str) -> ParsedScript {
    match parse("t.fountain", text) {
        Ok(p) => p,
        Err(e) => panic!("{text:?}: {e}"),
    }
}

/// Every text of the script that a user or a prompt will see.
fn all_text(script: &ParsedScript) -> Vec<String> {
    let mut out = Vec::new();
    for (key, value) in &script.title_page {
        out.extend([key.clone(), value.clone()]);
    }
    for scene in &script.scenes {
        out.extend(scene.number.clone());
        out.extend([scene.heading.clone(), scene.location.clone()]);
        out.extend(scene.time_of_day.clone());
        out.extend(scene.synopses.iter().cloned());
        for shot in &scene.shots {
            let spec = &shot.spec;
            out.extend([
                spec.action.clone(),
                spec.environment.clone(),
                shot.source_text.clone(),
            ]);
            out.extend(shot.notes.iter().cloned());
            for line in &shot.dialogue {
                out.extend([line.character.clone(), line.text.clone()]);
                out.extend(line.extensions.iter().cloned());
                out.extend(line.parenthetical.clone());
            }
        }
    }
    out
}

fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[test]
fn control_characters_and_escape_sequences_are_removed_everywhere() {
    let text = "\
Title: Red\u{1b}[31m Night\u{1b}[0m
Author:\u{1b}]0;pwned\u{7} Lin

INT. \u{202e}KITCHEN\u{202c} - NIGHT
= A \u{9b}2Jsynopsis.

He\u{1b}[2J waits.\u{c}
[[A note\u{1b}]52;c;ZXZpbA==\u{1b}\\ here]]

BRICK\u{7}
(\u{1b}[1mquietly\u{1b}[0m)
Drive\u{2066}.\u{2069}

~La\u{8} la\u{85}
";
    let script = parse_ok(text);
    for t in all_text(&script) {
        assert!(!t.contains(is_unsafe), "{t:?}");
    }
    assert_eq!(
        script.title_page,
        [
            ("Title".to_string(), "Red Night".to_string()),
            ("Author".to_string(), "Lin".to_string()),
        ]
    );
    let scene = &script.scenes[0];
    assert_eq!(scene.heading, "INT. KITCHEN - NIGHT");
    assert_eq!(scene.location, "KITCHEN");
    assert_eq!(scene.synopses, ["A synopsis."]);
    let shot = &scene.shots[0];
    assert_eq!(shot.spec.action, "He waits.");
    assert_eq!(shot.notes, ["A note here", "♪ La la"]);
    assert_eq!(shot.dialogue[0].character, "BRICK");
    assert_eq!(shot.dialogue[0].parenthetical.as_deref(), Some("quietly"));
    assert_eq!(shot.dialogue[0].text, "Drive.");
    // A NUL byte still means a binary file.
    let err = parse("t.fountain", "INT. A - DAY\n\nOne\0.").expect_err("binary");
    assert!(
        err.to_string()
            .starts_with("t.fountain:3: binary content (a NUL byte)"),
        "{err}"
    );
}

#[test]
fn fields_longer_than_the_limit_are_errors_at_their_line() {
    let long = "a".repeat(MAX_FIELD_CHARS + 1);
    let zh_long = "字".repeat(MAX_FIELD_CHARS + 1);
    let n = MAX_FIELD_CHARS + 1;
    let cases: Vec<(String, String)> = vec![
        (
            format!("INT. A - DAY\n\n{long}\n"),
            format!("t.fountain:3: the action is {n} characters long; split it (at most 20000)"),
        ),
        (
            format!(
                "INT. A - DAY\n\nStart.\n{}\n{}\n",
                &long[..15_000],
                &long[..15_000]
            ),
            "t.fountain:3: the action is 30008 characters long".to_string(),
        ),
        (
            format!("INT. A - DAY\n\nX.\n\nBOB\n(quiet)\n{zh_long}\n"),
            format!("t.fountain:7: the dialogue line is {n} characters long"),
        ),
        (
            format!("INT. A - DAY\n\nX.\n\nBOB\nHi.\n({long})\nBye.\n"),
            format!("t.fountain:7: the parenthetical is {n} characters long"),
        ),
        (
            format!("INT. A - DAY\n\nX.\n\n@{long}\nHi.\n"),
            format!("t.fountain:5: the character name is {n} characters long"),
        ),
        (
            format!("INT. A - DAY\n\nX.\n\nY [[{long}]]\n"),
            format!("t.fountain:5: the note is {n} characters long"),
        ),
        (
            format!("INT. A - DAY\n= {long}\n\nX.\n"),
            format!("t.fountain:2: the synopsis is {n} characters long"),
        ),
        (
            format!("INT. A - DAY\n\n~{long}\n"),
            format!("t.fountain:3: the lyric is {n} characters long"),
        ),
        (
            format!(".{long}\n\nX.\n"),
            format!("t.fountain:1: the heading is {n} characters long"),
        ),
        (
            format!(
                "Title: T\nAuthor:\n    {}\n    {}\n\n.A\n\nX.\n",
                &long[..10_001],
                &long[..10_001]
            ),
            "t.fountain:2: the title page value 'Author' is 20003 characters long".to_string(),
        ),
    ];
    for (text, want) in &cases {
        let err = parse("t.fountain", text).expect_err(want).to_string();
        assert!(err.starts_with(want.as_str()), "got {err}\nwant {want}…");
    }
    // At the limit is fine.
    let at = "字".repeat(MAX_FIELD_CHARS);
    let script = parse_ok(&format!("INT. A - DAY\n\n{at}\n\nBOB\n{at}\n"));
    assert_eq!(
        script.scenes[0].shots[0].spec.action.chars().count(),
        MAX_FIELD_CHARS
    );
}
