//! Tests of `parse` over the marks Chinese scripts put on lines of their own: headings that
//! open with the scene number (`第一场 日 外 乡间公路`), transitions (`切至：`) and end marks
//! (`（完）`). Each rule has cases that must be recognised and cases that must stay action.

use super::parse;
use crate::model::IntExt;
use crate::script::ParsedScript;

fn parse_ok(text: &str) -> ParsedScript {
    match parse("t.fountain", text) {
        Ok(p) => p,
        Err(e) => panic!("{text:?}: {e}"),
    }
}

/// The action of every shot of the script, in order.
fn actions_of(text: &str) -> Vec<String> {
    parse_ok(text)
        .scenes
        .into_iter()
        .flat_map(|s| s.shots)
        .map(|sh| sh.spec.action)
        .collect()
}

#[test]
fn headings_that_open_with_the_scene_number() {
    use IntExt::{Ext, Int};
    // (heading line, number, heading, int/ext, location, time of day)
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        &'a str,
        Option<IntExt>,
        &'a str,
        &'a str,
    );
    let cases: &[Case] = &[
        (
            "第一场 日 外 乡间公路",
            Some("1"),
            "日 外 乡间公路",
            Some(Ext),
            "乡间公路",
            "日",
        ),
        (
            "第1场 夜 内 客厅",
            Some("1"),
            "夜 内 客厅",
            Some(Int),
            "客厅",
            "夜",
        ),
        (
            "第十二场：外 码头 夜",
            Some("12"),
            "外 码头 夜",
            Some(Ext),
            "码头",
            "夜",
        ),
        (
            "第12场 外景 码头 - 夜",
            Some("12"),
            "外景 码头 - 夜",
            Some(Ext),
            "码头",
            "夜",
        ),
        (
            "场景一 内 客厅 夜",
            Some("1"),
            "内 客厅 夜",
            Some(Int),
            "客厅",
            "夜",
        ),
        (
            "第一百零五场　内　客厅　夜",
            Some("105"),
            "内　客厅　夜",
            Some(Int),
            "客厅",
            "夜",
        ),
        // Not a plain number: a heading without a number, the line kept as the heading.
        (
            "第一千场 夜 内 客厅",
            None,
            "第一千场 夜 内 客厅",
            Some(Int),
            "客厅",
            "夜",
        ),
        // `#…#` wins over the number in front.
        (
            "第二场 日 外 乡间公路 #2A#",
            Some("2A"),
            "日 外 乡间公路",
            Some(Ext),
            "乡间公路",
            "日",
        ),
        // Forced with `.`.
        (
            ".第三场 夜 内 客厅",
            Some("3"),
            "夜 内 客厅",
            Some(Int),
            "客厅",
            "夜",
        ),
    ];
    for &(heading_line, number, heading, ie, location, time) in cases {
        // At the top of the file (where `第十二场：` must not be a title page key) and after
        // action, between blank lines.
        for text in [
            format!("{heading_line}\n\n卡车驶过。\n"),
            format!("雨。\n\n{heading_line}\n\n卡车驶过。\n"),
        ] {
            let script = parse_ok(&text);
            assert!(script.title_page.is_empty(), "{text:?}");
            let scene = script.scenes.last().expect("a scene");
            assert_eq!(scene.number.as_deref(), number, "{text:?}");
            assert_eq!(scene.heading, heading, "{text:?}");
            assert_eq!(
                (
                    scene.int_ext,
                    scene.location.as_str(),
                    scene.time_of_day.as_deref()
                ),
                (ie, location, Some(time)),
                "{text:?}"
            );
            assert_eq!(scene.shots.len(), 1, "{text:?}");
            assert_eq!(scene.shots[0].spec.action, "卡车驶过。", "{text:?}");
        }
    }
    // Alone on its line, the number is the whole heading.
    let bare = parse_ok("第二场\n\n雨。");
    assert_eq!(
        (
            bare.scenes[0].number.as_deref(),
            bare.scenes[0].heading.as_str()
        ),
        (Some("2"), "第二场")
    );
}

#[test]
fn what_stays_action_next_to_scene_numbers() {
    let not: &[&str] = &[
        // Prose that starts the same way.
        "第一场雪落了下来\n\n雨。",
        "第一场 雪下了一夜。\n\n雨。",
        "场景一片狼藉\n\n雨。",
        "第一次 见面\n\n雨。",
        // No blank line after it, or inside a paragraph.
        "第一场 日 外 乡间公路\n卡车驶过。",
        "他回头。\n第一场 日 外 乡间公路\n\n雨。",
    ];
    for text in not {
        let script = parse_ok(text);
        assert!(
            script.scenes.iter().all(|s| s.heading.is_empty()),
            "{text:?}"
        );
        let first = text.lines().next().unwrap_or_default();
        assert!(
            actions_of(text).iter().any(|a| a.contains(first)),
            "{text:?}"
        );
    }
    // Not a character cue either.
    let script = parse_ok("雨。\n\n第一场\n卡车驶过。");
    assert!(script.scenes[0].shots.iter().all(|s| s.dialogue.is_empty()));
    assert_eq!(
        actions_of("雨。\n\n第一场\n卡车驶过。")[1],
        "第一场\n卡车驶过。"
    );
}

#[test]
fn chinese_transitions_and_end_marks_make_no_shot() {
    let marks = [
        "切至",
        "切到",
        "切换到",
        "淡出",
        "淡入",
        "叠化",
        "化入",
        "化出",
        "转场",
        "闪回",
        "黑场",
        "渐隐",
        "切至：",
        "切到:",
        "淡出。",
        "叠化.",
        "> 切至",
        ">转场：",
        "（完）",
        "(完)",
        "完",
        "剧终",
        "全剧终",
        "（全剧终）",
        "THE END",
        "剧终。",
    ];
    for mark in marks {
        let text = format!(
            "第一场 夜 内 客厅\n\n雨。\n\n{mark}\n\n第二场 日 外 乡间公路\n\n风。\n\n{mark}\n"
        );
        let script = parse_ok(&text);
        assert_eq!(actions_of(&text), ["雨。", "风。"], "{text:?}");
        assert_eq!(script.scenes.len(), 2, "{text:?}");
        for shot in script.scenes.iter().flat_map(|s| &s.shots) {
            assert!(shot.dialogue.is_empty(), "{text:?}");
            assert!(shot.notes.is_empty(), "{text:?}");
        }
        // At the top of the file it is no title page key either.
        let top = format!("{mark}\n\n第一场 夜 内 客厅\n\n雨。");
        let script = parse_ok(&top);
        assert!(script.title_page.is_empty(), "{top:?}");
        assert_eq!(actions_of(&top), ["雨。"], "{top:?}");
    }
    // Not alone, not exactly the word, or with more after it: action.
    let not = [
        "切至客厅。",
        "淡出\n画面渐暗。",
        "完了。",
        "完成",
        "The End",
        "剧终了",
        "!切至：",
        "他说：\n完",
        // Not names either, when text follows.
        "切换到\n客厅里的钟。",
        "化入\n清晨。",
        "化出\n夜色。",
    ];
    for lines in not {
        let text = format!("第一场 夜 内 客厅\n\n雨。\n\n{lines}\n");
        let actions = actions_of(&text);
        let first = lines
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches('!');
        assert!(
            actions.iter().any(|a| a.contains(first)),
            "{text:?}: {actions:?}"
        );
    }
}
