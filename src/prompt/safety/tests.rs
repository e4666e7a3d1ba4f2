//! Tables of blocked and ordinary film prompts, user files, messages, and arbitrary text.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn builtin() -> Blocklist {
    Blocklist::builtin()
}

#[test]
fn the_builtin_list_parses_cleanly_and_every_rule_has_a_category() {
    let mut list = Blocklist::default();
    for (n, line) in include_str!("blocklist.txt").lines().enumerate() {
        if let Err(e) = list.add_line(line, "built-in") {
            panic!("blocklist.txt:{}: {e}", n + 1);
        }
    }
    assert_eq!(list.len(), builtin().len());
    let mut per_category: BTreeMap<&str, usize> = BTreeMap::new();
    for rule in list.rules() {
        assert!(
            rule.id.starts_with(&format!("{}/", rule.category)),
            "{rule:?}"
        );
        assert_eq!(rule.source, "built-in");
        *per_category.entry(rule.category.as_str()).or_default() += 1;
    }
    let categories: Vec<&str> = per_category.keys().copied().collect();
    assert_eq!(
        categories,
        ["gore", "leader", "minors", "self-harm", "sexual", "terror"]
    );
    println!("built-in rules per category: {per_category:?}");
}

const BLOCKED_EN: &[(&str, &str)] = &[
    ("A nude woman walks through the hall", "sexual/nude"),
    ("NUDE model on a bed", "sexual/nude"),
    ("a ｎｕｄｅ figure", "sexual/nude"),
    ("a n.u.d.e figure", "sexual/nude"),
    ("a n u d e figure", "sexual/nude"),
    ("a n-u_d*e figure", "sexual/nude"),
    ("a n\u{200b}u\u{200b}d\u{200b}e figure", "sexual/nude"),
    ("a nu\u{0336}de figure", "sexual/nude"),
    ("a nüde figure", "sexual/nude"),
    ("a 𝐧𝐮𝐝𝐞 figure", "sexual/nude"),
    ("nud3 beach", "sexual/nude"),
    ("a naked man runs", "sexual/naked"),
    ("N4K3D", "sexual/naked"),
    ("two people have s3x", "sexual/sex"),
    ("a $ex scene", "sexual/sex"),
    ("a SEX scene", "sexual/sex"),
    ("p0rn", "sexual/porn"),
    ("pornographic footage", "sexual/porno"),
    ("Xi Jinping waves from a balcony", "leader/xi jinping"),
    ("XI JINPING", "leader/xi jinping"),
    ("Xí Jìnpíng", "leader/xi jinping"),
    ("Vladimir Putin rides a horse", "leader/putin"),
    ("pu7in at a rally", "leader/putin"),
    ("Donald Trump gives a speech", "leader/trump"),
    ("Joe Biden at the podium", "leader/biden"),
    ("an ISIS flag on the wall", "terror/isis & flag"),
    (
        "islamic state propaganda video",
        "terror/islamic state & propaganda",
    ),
    (
        "dismemberment shown in extreme close-up",
        "gore/dismember & close-up",
    ),
    ("real execution video", "gore/real execution"),
    (
        "a tutorial on how to kill yourself",
        "self-harm/how to kill yourself",
    ),
    ("a nude child", "minors/child & nude"),
    ("a schoolgirl in lingerie", "minors/schoolgirl & lingerie"),
    ("kids, naked", "minors/kids & naked"),
    ("sexy teen", "minors/teen & sexy"),
    ("a CHILD, n.u.d.e", "minors/child & nude"),
];

const BLOCKED_ZH: &[(&str, &str)] = &[
    ("裸体女人在房间里", "sexual/裸体"),
    ("一个裸 体的人", "sexual/裸体"),
    ("一个裸\u{200b}体的人", "sexual/裸体"),
    ("裸體模特", "sexual/裸体"),
    ("拍一部色情片", "sexual/色情"),
    ("色。情画面", "sexual/色情"),
    ("男女做愛", "sexual/做爱"),
    ("角色情绪激动，随后出现色情画面", "sexual/色情"),
    ("习近平在天安门城楼上", "leader/习近平"),
    ("習近平", "leader/习近平"),
    ("普京骑马", "leader/普京"),
    ("特朗普在演讲", "leader/特朗普"),
    ("未成年少女裸露身体", "minors/未成年 & 裸"),
    ("兒童色情", "minors/儿童 & 色情"),
    ("墙上挂着伊斯兰国旗帜", "terror/伊斯兰国 & 旗"),
    ("墙上挂着ＩＳＩＳ旗帜", "terror/isis & 旗"),
    ("聖戰宣傳片", "terror/圣战宣传"),
    ("肢解特写", "gore/肢解 & 特写"),
    ("尸体被肢解的特寫镜头", "gore/肢解 & 特写"),
    ("真实处决视频", "gore/真实处决"),
    ("教你自杀方法", "self-harm/自杀方法"),
    ("如何 自杀", "self-harm/如何自杀"),
    ("自殺教程", "self-harm/自杀教程"),
];

#[test]
fn blocked_prompts_name_their_rule() {
    let list = builtin();
    for &(text, id) in BLOCKED_EN.iter().chain(BLOCKED_ZH) {
        match list.check(text) {
            Some(b) => {
                assert_eq!(b.rule.id, id, "{text:?}: {}", b.message);
                assert_eq!(b.kind, BlockKind::Term);
                assert_eq!(b.rule.source, "built-in");
            }
            None => panic!("{text:?} was not blocked"),
        }
    }
}

const ORDINARY_EN: &[&str] = &[
    "Essex countryside at dawn, wide shot",
    "an ambulance races to Middlesex hospital",
    "the captain checks his sextant",
    "a jazz sextet plays in a smoky bar",
    "a man is shot in the chase",
    "blood drips from a knife, close-up",
    "a ghost drifts down the corridor, horror",
    "zombies attack the farmhouse; gunfire; an explosion lights the sky",
    "a close-up of the detective's face",
    "the river snaked through the valley",
    "a naked light bulb swings in the interrogation room",
    "a comet visible to the naked eye",
    "a nude-colored trench coat",
    "a therapist listens",
    "curtains draped over the window",
    "a scrape on his knee",
    "students in the computing lab",
    "Rasputin enters the palace",
    "a trumpet player on stage",
    "grape harvest in Tuscany",
    "the kids play football in the park",
    "children laugh at a puppet show",
    "a teenage girl rides her bike to school",
    "a sexy femme fatale lights a cigarette",
    "the temple of Isis at sunset",
    "a soldier is shot in the trenches",
    "the assassin slits the guard's throat, blood on the floor",
    "",
];

const ORDINARY_ZH: &[&str] = &[
    "恐怖片的追逐戏，主角在雨夜狂奔",
    "杀手在雨夜追杀目标，枪声响起",
    "刀上滴着血，特写",
    "走廊里飘过一个鬼影，恐怖氛围",
    "他中弹倒地，爆炸声响起",
    "尸体躺在巷子里，警察拉起警戒线",
    "角色情绪激动，特写",
    "女性交警在路口指挥交通",
    "两人在门口交谈",
    "孩子们在公园放风筝",
    "孩子得了流行性感冒，躺在床上",
    "孩子出现攻击性行为，老师皱眉",
    "林阴道上的自行车",
    "一个悲剧性爱情故事",
    "女孩用双手做爱心的手势",
    "一个性感的女孩走在街上",
    "说着四川普通话的老人",
    "白色情人节的夜晚",
    "温情色调的家庭晚餐，孩子们围坐",
    "裸眼3D广告牌下的孩子",
    "近景，低角度，手持跟拍，电影感",
    // Wan2.2's usual negative prompt.
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走",
];

#[test]
fn ordinary_film_prompts_pass() {
    let list = builtin();
    for &text in ORDINARY_EN.iter().chain(ORDINARY_ZH) {
        if let Some(b) = list.check(text) {
            panic!("{text:?} was blocked: {}", b.message);
        }
    }
}

#[test]
fn a_second_match_outside_an_allowed_phrase_still_blocks() {
    let b = builtin()
        .check("a naked light bulb over a naked woman")
        .unwrap();
    assert_eq!(b.rule.id, "sexual/naked");
    assert!(b.message.contains("at \"naked\""), "{}", b.message);
}

#[test]
fn messages_have_the_documented_shape() {
    let b = builtin().check("a nude figure").unwrap();
    assert_eq!(
        b.message,
        "blocked by rule sexual/nude (built-in) at \"nude\": the prompt asks for sexual content; rephrase the shot"
    );
    assert_eq!(b.to_string(), b.message);
    let b = builtin().check("裸体").unwrap();
    assert_eq!(
        b.message,
        "被规则 sexual/裸体（内置）拦截，命中“裸体”：提示词涉及色情内容；请改写镜头描述"
    );
    let b = builtin().check("孩子 裸 站着").unwrap();
    assert_eq!(
        b.message,
        "被规则 minors/孩子 & 裸（内置）拦截，命中“孩子”“裸”：提示词涉及未成年人与性内容；请改写镜头描述"
    );
}

#[test]
fn the_message_shows_the_matched_span_and_nothing_else_of_the_prompt() {
    let cases = [
        (
            "Marmalade skyline quartz, the N.U.D.E\u{200b} figure, violet harbour zeppelin",
            &["\"N.U.D.E\""][..],
            &[
                "Marmalade",
                "skyline",
                "quartz",
                "figure",
                "violet",
                "harbour",
                "zeppelin",
            ][..],
        ),
        (
            "Marmalade child quartz under nude zeppelin",
            &["\"child\"", "\"nude\""],
            &["Marmalade", "quartz", "under", "zeppelin"],
        ),
        (
            "秘密花园里，一个裸 體的人物站着，远景",
            &["“裸 體”"],
            &["秘密", "花园", "人物", "站着", "远景"],
        ),
    ];
    for (text, shown, hidden) in cases {
        let b = builtin().check(text).unwrap();
        for s in shown {
            assert!(b.message.contains(s), "{:?} lacks {s}", b.message);
        }
        for h in hidden {
            assert!(!b.message.contains(h), "{:?} echoes {h}", b.message);
        }
        assert!(!b.message.contains('\n') && !b.message.contains('\u{200b}'));
    }
}

#[test]
fn a_long_evasive_span_is_cut_in_the_message() {
    let spaced = format!("n{}u d e", " .".repeat(200));
    let b = builtin().check(&spaced).unwrap();
    assert_eq!(b.rule.id, "sexual/nude");
    assert!(b.message.chars().count() < 200, "{}", b.message);
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_user_file_adds_rules_with_categories_combinations_and_whole_words() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "studio.txt",
        "\u{feff}# studio rules\n\nSpoiler\r\nbrand: Acme Cola\nbrand：可口可乐\nrival & logo\nsecret: \"bond\"\n! bond street\n"
            .as_bytes(),
    );
    let before = builtin().len();
    let list = builtin().with_file(&path).unwrap();
    assert_eq!(list.len(), before + 5);
    let shown = path.display().to_string();
    let cases = [
        ("A SPOILER ahead", Some(("user/Spoiler", "user", 3))),
        (
            "an Acme-Cola can on the desk",
            Some(("brand/Acme Cola", "brand", 4)),
        ),
        ("桌上放着一瓶可口可樂", Some(("brand/可口可乐", "brand", 5))),
        (
            "a rival company's logo",
            Some(("user/rival & logo", "user", 6)),
        ),
        (
            "James Bond lights a cigarette",
            Some(("secret/bond", "secret", 7)),
        ),
        ("the rival arrives", None),
        ("a bondage scene", None),
        ("Bond Street station at night", None),
    ];
    for (text, want) in cases {
        let got = list.check(text);
        match (want, got) {
            (None, None) => {}
            (Some((id, category, line)), Some(b)) => {
                assert_eq!(b.rule.id, id, "{text}");
                assert_eq!(b.rule.category, category);
                assert_eq!(b.rule.source, format!("{shown}:{line}"));
                assert!(
                    b.message.contains(&format!("{shown}:{line}")),
                    "{}",
                    b.message
                );
            }
            (want, got) => panic!("{text:?}: wanted {want:?}, got {got:?}"),
        }
    }
    // Built-in rules still apply and come first.
    assert_eq!(
        list.check("a nude rival logo").unwrap().rule.id,
        "sexual/nude"
    );
}

#[test]
fn bad_user_lines_name_path_line_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, usize, &str); 6] = [
        ("ok\nmy cat: nude\n", 2, "is not a category"),
        ("ok\n\n...\n", 3, "has no letters or digits"),
        ("\"裸\"\n", 1, "remove the quotes"),
        ("a & \n", 1, "an empty term"),
        ("x\n", 1, "single letter"),
        ("nude # explicit\n", 1, "'#' starts a comment"),
    ];
    for (text, line, says) in cases {
        let path = write(&dir, "bad.txt", text.as_bytes());
        let err = Blocklist::builtin().with_file(&path).unwrap_err();
        let place = format!("{}:{line}: ", path.display());
        assert!(err.starts_with(&place), "{err}");
        assert!(err.contains(says) && err.contains(';'), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
}

#[test]
fn unreadable_user_files_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "latin1.txt", b"ok\n\xe9t\xe9\n");
    let err = Blocklist::builtin().with_file(&path).unwrap_err();
    assert_eq!(
        err,
        format!(
            "{}:2: invalid UTF-8 at byte 3; save the file as UTF-8",
            path.display()
        )
    );
    let missing = dir.path().join("nope.txt");
    let err = Blocklist::builtin().with_file(&missing).unwrap_err();
    assert_eq!(
        err,
        format!(
            "{}: no such blocklist file; check the path",
            missing.display()
        )
    );
    let err = Blocklist::builtin().with_file(dir.path()).unwrap_err();
    assert!(
        err.starts_with(&dir.path().display().to_string()) && !err.contains('\n'),
        "{err}"
    );
}

#[test]
fn an_empty_blocklist_blocks_nothing() {
    let list = Blocklist::default();
    assert!(list.is_empty());
    assert_eq!(list.check("nude"), None);
}

/// Text mixing ASCII, CJK (simplified and traditional), full width, combining marks,
/// zero-width and format characters, styled letters and anything else.
fn mixed_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => proptest::char::range(' ', '~'),
        3 => proptest::char::range('\u{4e00}', '\u{9fff}'),
        1 => prop::sample::select(vec!['裸', '體', '体', '色', '情', '殺', '習', '兒', '童']),
        1 => proptest::char::range('\u{ff01}', '\u{ff5e}'),
        1 => proptest::char::range('\u{0300}', '\u{036f}'),
        1 => prop::sample::select(vec![
            '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}', '\u{00ad}', '\u{3000}',
            '\u{0130}', '\u{1e9e}', 'ﬁ', '\u{3164}',
        ]),
        1 => proptest::char::range('\u{1d400}', '\u{1d7ff}'),
        2 => any::<char>(),
    ];
    prop::collection::vec(piece, 0..80).prop_map(|cs| cs.into_iter().collect())
}

proptest! {
    #[test]
    fn normalize_is_idempotent_and_check_never_panics(text in mixed_text()) {
        let once = normalize(&text);
        prop_assert_eq!(normalize(&once), once.clone());
        if let Some(b) = builtin().check(&text) {
            prop_assert!(!b.message.contains('\n'));
        }
        let _ = builtin().check(&once);
    }

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        let once = normalize(&text);
        prop_assert_eq!(normalize(&once), once);
        let _ = builtin().check(&text);
    }
}
