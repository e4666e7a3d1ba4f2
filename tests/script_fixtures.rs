//! Every script under `fixtures/scripts/valid` parses into the expected shots, and every one
//! under `fixtures/scripts/invalid` fails with a message that starts with `path:line:`.

use std::path::{Path, PathBuf};

use previs::model::IntExt;
use previs::script::{Format, ParsedScript, parse_file};

fn dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/scripts")
        .join(kind)
}

/// File names in a fixture folder, sorted.
fn names(kind: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir(kind))
        .expect("the fixture folder exists")
        .map(|e| {
            let entry = e.expect("the fixture folder is readable");
            entry.file_name().to_string_lossy().into_owned()
        })
        .collect();
    names.sort();
    names
}

fn parse(name: &str) -> (Format, ParsedScript) {
    let path = dir("valid").join(name);
    parse_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_valid_script_parses_into_the_expected_shots() {
    // (file, format, scenes, shots, dialogue lines)
    let expected: &[(&str, Format, usize, usize, usize)] = &[
        ("di_yi_chang.fountain", Format::Fountain, 3, 3, 2),
        ("mixed_crlf.fountain", Format::Fountain, 2, 3, 2),
        ("night_chase.fountain", Format::Fountain, 4, 6, 5),
        ("shotlist.csv", Format::Csv, 3, 4, 3),
        ("shotlist_merged.csv", Format::Csv, 2, 4, 0),
        ("shotlist_zh.csv", Format::Csv, 2, 3, 2),
        ("ye_xiang.fountain", Format::Fountain, 3, 4, 4),
        ("yu_ye_plain.fountain", Format::Fountain, 3, 6, 5),
    ];
    let listed: Vec<&str> = expected.iter().map(|e| e.0).collect();
    assert_eq!(names("valid"), listed, "every valid fixture has a row here");
    for &(name, format, scenes, shots, lines) in expected {
        let (got_format, script) = parse(name);
        let all_shots: Vec<_> = script.scenes.iter().flat_map(|s| &s.shots).collect();
        let dialogue: usize = all_shots.iter().map(|s| s.dialogue.len()).sum();
        assert_eq!(got_format, format, "{name}");
        assert!(!all_shots.is_empty(), "{name}");
        assert_eq!(
            (script.scenes.len(), all_shots.len(), dialogue),
            (scenes, shots, lines),
            "{name}: (scenes, shots, dialogue lines)"
        );
        assert!(
            all_shots.iter().all(|s| s.line > 0),
            "{name}: every shot has a line"
        );
    }
}

#[test]
fn night_chase_keeps_title_page_numbers_dual_dialogue_and_notes() {
    let (_, script) = parse("night_chase.fountain");
    let keys: Vec<&str> = script.title_page.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["Title", "Credit", "Author", "Draft date", "Contact"]);
    assert_eq!(script.title_page[0].1, "NIGHT CHASE");
    let numbers: Vec<Option<&str>> = script.scenes.iter().map(|s| s.number.as_deref()).collect();
    assert_eq!(numbers, [Some("1"), Some("2"), None, Some("3A")]);
    assert_eq!(
        script.scenes[0].synopses,
        ["A courier is hunted through the rain."]
    );
    assert_eq!(
        script.scenes[0].shots[0].spec.environment,
        "exterior, harbour road, night"
    );

    let sedan = &script.scenes[1].shots[0];
    assert_eq!(sedan.notes, ["Is Voss left-handed? Check with props."]);
    assert_eq!(sedan.dialogue[0].extensions, ["into phone"]);
    assert_eq!(sedan.dialogue[1].parenthetical.as_deref(), Some("static"));
    assert!(
        sedan.dialogue.iter().all(|d| !d.text.contains("old line")),
        "the boneyard is gone"
    );

    let docks = &script.scenes[2].shots[1];
    assert_eq!(
        docks.spec.action,
        "Footsteps. Two flashlight beams sweep the gap."
    );
    assert_eq!(docks.line, 47);
    assert!(docks.dialogue[1].dual);
    let flashback = &script.scenes[3];
    assert_eq!(flashback.heading, "FLASHBACK - YEARS EARLIER");
    assert_eq!(
        flashback.shots[0].spec.action,
        "A younger Mara watches the ships, *counting* them."
    );
}

#[test]
fn chinese_scripts_use_forced_headings_and_cues() {
    let (_, script) = parse("ye_xiang.fountain");
    let first = &script.scenes[0];
    assert_eq!(first.number.as_deref(), Some("1"));
    assert_eq!(
        (first.location.as_str(), first.time_of_day.as_deref()),
        ("小巷", Some("夜"))
    );
    let line = &first.shots[1].dialogue[0];
    assert_eq!(line.character, "韩梅梅");
    assert_eq!(line.parenthetical.as_deref(), Some("低声"));
    let second = &script.scenes[1];
    assert_eq!(second.int_ext, Some(IntExt::Ext));
    assert_eq!(second.shots[0].dialogue[1].extensions, ["画外音"]);
    assert_eq!(second.shots[0].notes, ["这里加一个俯拍"]);
    assert_eq!(script.scenes[2].int_ext, Some(IntExt::Int));

    let (_, crlf) = parse("mixed_crlf.fountain");
    let lines: Vec<u32> = crlf
        .scenes
        .iter()
        .flat_map(|s| &s.shots)
        .map(|s| s.line)
        .collect();
    assert_eq!(lines, [5, 17, 19], "CRLF counts one line per line break");
    assert!(
        crlf.scenes[0].shots[0]
            .spec
            .action
            .ends_with("茶馆里人声嘈杂。")
    );
}

#[test]
fn chinese_scripts_written_the_plain_way_read_like_forced_ones() {
    let (_, script) = parse("yu_ye_plain.fountain");
    let keys: Vec<&str> = script.title_page.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["标题", "作者", "草稿日期", "联系方式"]);
    assert_eq!(script.title_page[0].1, "雨夜");
    assert_eq!(script.title_page[3].1, "someone@example.com");
    let scenes: Vec<_> = script
        .scenes
        .iter()
        .map(|s| (s.number.as_deref(), s.int_ext, s.location.as_str()))
        .collect();
    assert_eq!(
        scenes,
        [
            (Some("1"), Some(IntExt::Int), "茶馆"),
            (None, Some(IntExt::Ext), "老街"),
            (Some("3"), Some(IntExt::IntExt), "车内"),
        ]
    );
    let tea = &script.scenes[0].shots[0];
    assert_eq!(tea.dialogue[0].character, "王芳");
    assert_eq!(tea.dialogue[0].parenthetical.as_deref(), Some("自言自语"));
    assert_eq!(tea.dialogue[1].extensions, ["画外音"]);
    let street = &script.scenes[1].shots;
    assert_eq!(street[0].dialogue[0].extensions, ["O.S."]);
    assert!(street[0].dialogue[1].dual);
    assert_eq!(street[1].spec.action, "雨停了。\n她走出门。");
    let car = &script.scenes[2].shots;
    assert_eq!(car[0].dialogue[0].character, "约翰·史密斯");
    assert_eq!(car[1].spec.action, "砰！\n车窗被敲响。");
}

#[test]
fn chinese_scene_numbers_transitions_and_end_marks() {
    let (_, script) = parse("di_yi_chang.fountain");
    let scenes: Vec<_> = script
        .scenes
        .iter()
        .map(|s| {
            (
                s.number.as_deref(),
                s.int_ext,
                s.location.as_str(),
                s.time_of_day.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        scenes,
        [
            (Some("1"), Some(IntExt::Ext), "乡间公路", Some("日")),
            (Some("12"), Some(IntExt::Int), "客厅", Some("夜")),
            (Some("3"), Some(IntExt::Ext), "码头", Some("黄昏")),
        ]
    );
    let actions: Vec<&str> = script
        .scenes
        .iter()
        .flat_map(|s| &s.shots)
        .map(|s| s.spec.action.as_str())
        .collect();
    assert_eq!(
        actions,
        ["一辆卡车在尘土中驶过。", "灯灭了。", "海风吹过空荡的码头。"],
        "no shot for 切至：, 淡出。 or （完）, and no escape sequence in the text"
    );
}

#[test]
fn merged_scene_cells_ignored_columns_and_quoted_formulas() {
    let (_, script) = parse("shotlist_merged.csv");
    let path = dir("valid").join("shotlist_merged.csv");
    assert_eq!(
        script.warnings,
        [format!(
            "{}:1: ignored columns: 拍摄日期 (known: scene, shot, heading, size, angle, movement, lens, description, duration, notes, subject, environment, lighting, style, negative, width, height, fps, seed, dialogue)",
            path.display()
        )]
    );
    let codes: Vec<(Option<&str>, Vec<&str>)> = script
        .scenes
        .iter()
        .map(|s| {
            let codes = s.shots.iter().filter_map(|sh| sh.code.as_deref()).collect();
            (s.number.as_deref(), codes)
        })
        .collect();
    assert_eq!(
        codes,
        [(Some("1"), vec!["1A", "1B", "1C"]), (Some("2"), vec!["2A"])]
    );
    let shots: Vec<_> = script.scenes.iter().flat_map(|s| &s.shots).collect();
    assert_eq!(shots[0].notes, ["=再快一点"]);
    assert_eq!(shots[2].spec.action, "-两人对视\n雨声变大。");
    assert_eq!(shots[3].notes, ["@摄影 注意逆光"]);
}

#[test]
fn every_invalid_script_fails_naming_its_line() {
    // (file, line the message must name)
    let expected: &[(&str, u32)] = &[
        ("bad_duration.csv", 3),
        ("empty.fountain", 1),
        ("invalid_utf8.fountain", 5),
        ("no_description.csv", 1),
        ("ragged_row.csv", 3),
        ("unterminated_boneyard.fountain", 5),
        ("unterminated_note.fountain", 3),
        ("unterminated_quote.csv", 3),
        ("width_without_height.csv", 1),
    ];
    let listed: Vec<&str> = expected.iter().map(|e| e.0).collect();
    assert_eq!(
        names("invalid"),
        listed,
        "every invalid fixture has a row here"
    );
    for &(name, line) in expected {
        let path = dir("invalid").join(name);
        let err = match parse_file(&path) {
            Ok(_) => panic!("{name} parsed but must fail"),
            Err(e) => e.to_string(),
        };
        let prefix = format!("{}:{line}: ", path.display());
        assert!(
            err.starts_with(&prefix),
            "{name}: {err:?} should start with {prefix:?}"
        );
        assert!(
            err.len() > prefix.len() + 10,
            "{name}: the message explains: {err}"
        );
    }
}
