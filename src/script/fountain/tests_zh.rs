//! Tests of `parse` over Chinese scripts written the plain way, without the spec's ASCII
//! conventions: full-width colons on the title page, headings opened by `内景`/`外景`/`内/外`
//! without the forcing `.`, and character cues that are a bare Chinese name. Each rule has
//! cases that must be recognised and cases that must stay action.

use super::{parse, parse_heading};
use crate::model::{DialogueLine, IntExt};
use crate::script::ParsedScript;

fn parse_ok(text: &str) -> ParsedScript {
    match parse("t.fountain", text) {
        Ok(p) => p,
        Err(e) => panic!("{text:?}: {e}"),
    }
}

/// Every dialogue line of the script, in order.
fn dialogue_of(text: &str) -> Vec<DialogueLine> {
    parse_ok(text)
        .scenes
        .into_iter()
        .flat_map(|s| s.shots)
        .flat_map(|sh| sh.dialogue)
        .collect()
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

fn line(character: &str, exts: &[&str], paren: Option<&str>, text: &str) -> DialogueLine {
    DialogueLine {
        character: character.into(),
        extensions: exts.iter().map(|e| e.to_string()).collect(),
        parenthetical: paren.map(Into::into),
        text: text.into(),
        dual: false,
    }
}

fn dual(mut line: DialogueLine) -> DialogueLine {
    line.dual = true;
    line
}

#[test]
fn title_page_with_full_width_colons() {
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let cases: &[(&str, Vec<(String, String)>)] = &[
        (
            "标题：雨夜\n作者：某编剧\n\n内景 茶馆 - 夜\n\n雨。",
            pairs(&[("标题", "雨夜"), ("作者", "某编剧")]),
        ),
        (
            "Title：Rain Night\nAuthor: 林晓\n\n.夜 街\n\n雨。",
            pairs(&[("Title", "Rain Night"), ("Author", "林晓")]),
        ),
        // Values below the key, indented with ASCII or full-width spaces; a value may hold
        // colons of either kind; blank lines before the title page are allowed.
        (
            "\n标题：\n    **雨夜**\n　　第二稿\n联系方式：电话：123: 4\n\n内景 茶馆 - 夜\n\n雨。",
            pairs(&[("标题", "雨夜\n第二稿"), ("联系方式", "电话：123: 4")]),
        ),
        // Not at the top: the key is action in the scene.
        ("内景 茶馆 - 夜\n\n标题：雨夜\n\n雨。", vec![]),
        // Not a key: punctuation in it, or indented.
        ("雨停了，标题：雨夜\n\n.夜 街\n\n雨。", vec![]),
        ("　　标题：雨夜\n\n.夜 街\n\n雨。", vec![]),
    ];
    for (text, want) in cases {
        assert_eq!(&parse_ok(text).title_page, want, "{text:?}");
    }
    let script = parse_ok("标题：雨夜\n作者：某编剧\n\n内景 茶馆 - 夜\n\n雨。");
    assert_eq!(
        script.scenes.len(),
        1,
        "no implicit scene before the heading"
    );
    assert_eq!(script.scenes[0].line, 4);
    assert_eq!(
        actions_of("内景 茶馆 - 夜\n\n标题：雨夜\n\n雨。")[0],
        "标题：雨夜"
    );
}

#[test]
fn chinese_headings_without_the_forcing_period() {
    use IntExt::{Ext, Int};
    let both = IntExt::IntExt;
    // (heading line, heading, int/ext, location, time of day)
    let cases: &[(&str, &str, IntExt, &str, Option<&str>)] = &[
        ("内景 客厅 - 夜", "内景 客厅 - 夜", Int, "客厅", Some("夜")),
        (
            "外景 老街 黄昏",
            "外景 老街 黄昏",
            Ext,
            "老街",
            Some("黄昏"),
        ),
        (
            "内/外 车内 - 日",
            "内/外 车内 - 日",
            both,
            "车内",
            Some("日"),
        ),
        (
            "外/内 车内 - 日",
            "外/内 车内 - 日",
            both,
            "车内",
            Some("日"),
        ),
        (
            "内/外景 车内 日",
            "内/外景 车内 日",
            both,
            "车内",
            Some("日"),
        ),
        (
            "内外景 出租车 清晨",
            "内外景 出租车 清晨",
            both,
            "出租车",
            Some("清晨"),
        ),
        ("内.客厅 - 夜", "内.客厅 - 夜", Int, "客厅", Some("夜")),
        ("外. 街道 日", "外. 街道 日", Ext, "街道", Some("日")),
        ("内景.客厅 夜", "内景.客厅 夜", Int, "客厅", Some("夜")),
        ("内景·客厅·夜", "内景·客厅·夜", Int, "客厅", Some("夜")),
        ("内景　客厅　夜", "内景　客厅　夜", Int, "客厅", Some("夜")),
        (
            "内景 约翰·史密斯家 - 夜",
            "内景 约翰·史密斯家 - 夜",
            Int,
            "约翰·史密斯家",
            Some("夜"),
        ),
        (
            "内景 客厅 - 夜 #3#",
            "内景 客厅 - 夜",
            Int,
            "客厅",
            Some("夜"),
        ),
        (
            "外景 **天台** 黄昏 #12A#",
            "外景 天台 黄昏",
            Ext,
            "天台",
            Some("黄昏"),
        ),
    ];
    for &(heading_line, heading, ie, location, time) in cases {
        let text = format!("标题：雨夜\n\n{heading_line}\n\n灯灭了。\n");
        let script = parse_ok(&text);
        assert_eq!(script.scenes.len(), 1, "{text:?}");
        let scene = &script.scenes[0];
        assert_eq!(scene.heading, heading, "{text:?}");
        assert_eq!(
            (
                scene.int_ext,
                scene.location.as_str(),
                scene.time_of_day.as_deref()
            ),
            (Some(ie), location, time),
            "{text:?}"
        );
        assert_eq!(scene.shots.len(), 1, "{text:?}");
        assert_eq!(scene.shots[0].spec.action, "灯灭了。", "{text:?}");
        // The CSV heading column takes them apart the same way.
        let parts = parse_heading(heading);
        assert_eq!(
            (parts.int_ext, parts.location.as_str()),
            (Some(ie), location)
        );
    }
    let numbered = parse_ok("内景 客厅 - 夜 #3#\n\n灯。\n\n外景 天台 黄昏 #3A#\n\n风。");
    let numbers: Vec<Option<&str>> = numbered
        .scenes
        .iter()
        .map(|s| s.number.as_deref())
        .collect();
    assert_eq!(numbers, [Some("3"), Some("3A")]);
    assert_eq!(
        numbered.scenes[0].shots[0].spec.environment,
        "室内，客厅，夜"
    );
    // The forced forms work as before, a single 内/外 included.
    let forced = parse_ok(".内 茶馆 日\n\n茶。");
    assert_eq!(forced.scenes[0].int_ext, Some(Int));
    assert_eq!(forced.scenes[0].location, "茶馆");
    let err = parse("t.fountain", "内景 客厅 #三#\n\n灯。").expect_err("bad number");
    assert!(
        err.to_string()
            .starts_with("t.fountain:1: invalid scene number '#三#'")
    );
}

#[test]
fn what_stays_action_next_to_chinese_headings() {
    let not: &[&str] = &[
        // A single 内/外 needs the `.`.
        "内 茶馆 日\n\n茶。",
        "外 老街 黄昏\n\n风。",
        // No blank line after it.
        "内景 客厅 - 夜\n灯亮着。",
        // No separator after the word.
        "内景客厅夜\n\n灯。",
        // Inside a paragraph.
        "他回头。\n内景 客厅 - 夜\n\n灯。",
        // Ordinary sentences that start with the same characters.
        "外面下着雨。\n\n风。",
        "内外交困，他叹了口气。\n\n风。",
        "外景地在城外 三十里\n\n风。",
    ];
    for text in not {
        let script = parse_ok(text);
        assert!(
            script.scenes.iter().all(|s| s.heading.is_empty()),
            "{text:?}"
        );
        assert!(dialogue_of(text).is_empty(), "{text:?}");
    }
}

#[test]
fn plain_chinese_names_are_cues() {
    // (lines after a heading and an action paragraph, the dialogue they make)
    let cases: Vec<(&str, Vec<DialogueLine>)> = vec![
        (
            "王芳\n（自言自语）\n十年了。",
            vec![line("王芳", &[], Some("自言自语"), "十年了。")],
        ),
        (
            "老板（O.S.）\n打烊了。",
            vec![line("老板", &["O.S."], None, "打烊了。")],
        ),
        (
            "李明（画外音）\n别回头。",
            vec![line("李明", &["画外音"], None, "别回头。")],
        ),
        (
            "王芳(V.O.)\n十年了。",
            vec![line("王芳", &["V.O."], None, "十年了。")],
        ),
        (
            "王芳 (V.O.) (CONT'D)\n十年了。",
            vec![line("王芳", &["V.O.", "CONT'D"], None, "十年了。")],
        ),
        ("王芳 ^\n谁？", vec![dual(line("王芳", &[], None, "谁？"))]),
        (
            "李明（画外音）^\n谁？",
            vec![dual(line("李明", &["画外音"], None, "谁？"))],
        ),
        (
            "约翰·史密斯\nHello.",
            vec![line("约翰·史密斯", &[], None, "Hello.")],
        ),
        (
            "亚历山大·汉密尔顿\n开始吧。",
            vec![line("亚历山大·汉密尔顿", &[], None, "开始吧。")],
        ),
        ("Tony王\n走吧。", vec![line("Tony王", &[], None, "走吧。")]),
        ("警察2\n站住！", vec![line("警察2", &[], None, "站住！")]),
        (
            "旁白\n那年冬天。",
            vec![line("旁白", &[], None, "那年冬天。")],
        ),
        (
            "　　王芳\n　　（低声）\n　　走吧。",
            vec![line("王芳", &[], Some("低声"), "走吧。")],
        ),
        (
            "王芳\n(beat)\n好。\n（笑）\n再见。",
            vec![
                line("王芳", &[], Some("beat"), "好。"),
                line("王芳", &[], Some("笑"), "再见。"),
            ],
        ),
        (
            "王芳\n十年了。\n\n李明\n嗯。",
            vec![
                line("王芳", &[], None, "十年了。"),
                line("李明", &[], None, "嗯。"),
            ],
        ),
    ];
    for (lines, want) in cases {
        let text = format!("内景 茶馆 - 夜\n\n雨。\n\n{lines}\n");
        assert_eq!(dialogue_of(&text), want, "{text:?}");
        assert_eq!(actions_of(&text), ["雨。"], "{text:?}");
    }
    // At the start of the file and right under a heading.
    assert_eq!(
        dialogue_of("王芳\n十年了。\n\n内景 茶馆 - 夜\n\n雨。"),
        [line("王芳", &[], None, "十年了。")]
    );
    assert_eq!(
        dialogue_of("标题：雨夜\n\n王芳\n十年了。\n\n雨。"),
        [line("王芳", &[], None, "十年了。")]
    );
    assert_eq!(
        dialogue_of(".夜 小巷\n王芳\n十年了。"),
        [line("王芳", &[], None, "十年了。")]
    );
}

#[test]
fn what_stays_action_though_it_is_short() {
    let not: &[&str] = &[
        // Sentence punctuation.
        "雨停了。\n她走出门。",
        "夜色。\n街上空无一人。",
        "砰！\n门被撞开。",
        "王芳：\n你好。",
        "王芳……\n你好。",
        "「王芳」\n你好。",
        "王芳，李明\n你们好。",
        // One character: more often a sound than a name.
        "砰\n门被撞开。",
        // Longer than ten characters, or with a space inside.
        "这是一个没有标点的很长的句子\n下一行。",
        "王　芳\n你好。",
        "王芳 李明\n你好。",
        // Starts with a digit, or has no Chinese at all.
        "2008年\n北京。",
        "1号\n你好。",
        "Tony\n走吧。",
        // Screenplay words that stand alone.
        "淡入\n清晨的街道。",
        "闪回\n十年前。",
        "字幕\n二〇〇八年 北京",
        "黄昏\n夕阳西下。",
        "内景\n客厅。",
        "内景客厅\n灯亮着。",
        // An aside that introduces a character, not an extension.
        "王芳（28岁，公司职员）\n一身职业装。",
        "王芳（28岁）\n一身职业装。",
        "王芳（笑）。\n好。",
        // Not after a blank line, not above a line with text, or forced to be action.
        "她回头。\n王芳\n你好。",
        "王芳\n\n你好。",
        "王芳\n  \n你好。",
        "!王芳\n你好。",
        "·王芳\n你好。",
        "王芳·\n你好。",
    ];
    for lines in not {
        let text = format!("内景 茶馆 - 夜\n\n{lines}\n");
        assert!(dialogue_of(&text).is_empty(), "{text:?}");
        let actions = actions_of(&text);
        assert!(!actions.is_empty(), "{text:?}");
        let first = lines.lines().next().unwrap_or_default();
        let first = first.trim().trim_start_matches('!');
        assert!(
            actions.iter().any(|a| a.contains(first)),
            "{text:?}: {actions:?}"
        );
    }
    // Centered text is not a cue either; it is left out of the shots.
    assert!(dialogue_of("内景 茶馆 - 夜\n\n雨。\n\n>王芳<\n你好。").is_empty());
}
