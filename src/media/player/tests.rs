//! Unit tests of the player command lines: argv, filter graphs, output detection, quoting.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use super::*;

/// A frame size, width by height.
type Size = (u32, u32);
/// Environment variables, name and value.
type Vars = &'static [(&'static str, &'static str)];

/// Clips of the given sizes whose files exist (in a temp dir kept alive by the caller).
fn clips(dir: &Path, sizes: &[(u32, u32)]) -> Vec<Clip> {
    sizes
        .iter()
        .enumerate()
        .map(|(i, &(width, height))| {
            let path = dir.join(format!("SC001_SH1A_TK0{}.mp4", i + 1));
            std::fs::write(&path, b"x").unwrap();
            Clip {
                path,
                label: format!("SC001_SH1A_TK0{}", i + 1),
                width,
                height,
            }
        })
        .collect()
}

fn strings(cmd: &PlayerCommand) -> Vec<String> {
    cmd.args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

fn cfg() -> PlayerConfig {
    PlayerConfig::default()
}

#[test]
fn play_loops_one_file_after_the_separator() {
    let dir = tempfile::tempdir().unwrap();
    let c = &clips(dir.path(), &[(480, 270)])[0];
    let cmd = play(&cfg(), c, Output::Window).unwrap();
    assert_eq!(cmd.program, "mpv");
    let p = c.path.display().to_string();
    assert_eq!(
        strings(&cmd),
        [
            "--loop-file=inf",
            "--force-media-title=SC001_SH1A_TK01",
            "--",
            &p
        ]
    );
    assert!(!cmd.foreground());
    let cmd = play(&cfg(), c, Output::Terminal(TermVo::Kitty)).unwrap();
    assert_eq!(strings(&cmd)[0], "--vo=kitty,tct");
    assert!(cmd.foreground());
}

#[test]
fn side_scales_every_take_to_the_tallest_and_stacks_them_in_a_row() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[Size], Size); 3] = [
        (&[(480, 270), (480, 270)], (960, 270)),
        (
            &[(480, 270), (320, 240), (640, 360)],
            (480 * 4 / 3 + 480 + 640, 360),
        ),
        (
            &[(854, 480), (480, 854), (854, 480), (640, 360)],
            (1520 + 480 + 1520 + 1518, 854),
        ),
    ];
    for (sizes, want) in cases {
        let cs = clips(dir.path(), sizes);
        let (g, size) = graph(&cs, Layout::Side);
        assert_eq!(size, want, "{sizes:?}: {g}");
        assert!(
            g.ends_with(&format!("hstack=inputs={}[vo]", sizes.len())),
            "{g}"
        );
        for i in 1..=sizes.len() {
            assert!(g.contains(&format!("[vid{i}]scale=")), "{g}");
        }
        let cmd = compare(&cfg(), &cs, Layout::Side, Output::Window).unwrap();
        let args = strings(&cmd);
        let n = args.len();
        assert_eq!(args[n - 2], "--");
        assert_eq!(args[n - 1], cs[0].path.display().to_string());
        assert_eq!(args[n - 3], format!("--lavfi-complex={g}"));
        for (i, c) in cs.iter().enumerate().skip(1) {
            assert_eq!(args[i + 1], format!("--external-file={}", c.path.display()));
        }
    }
}

#[test]
fn grid_fits_every_take_in_a_common_cell_and_leaves_a_missing_fourth_black() {
    let dir = tempfile::tempdir().unwrap();
    let cs = clips(dir.path(), &[(480, 270), (320, 240), (270, 480)]);
    let (g, size) = graph(&cs, Layout::Grid);
    assert_eq!(size, (960, 960), "{g}");
    assert!(
        g.contains("[vid2]scale=480:360,setsar=1,format=yuv420p,pad=480:480:0:60:"),
        "{g}"
    );
    assert!(
        g.contains("[vid3]scale=270:480,setsar=1,format=yuv420p,pad=480:480:104:0:"),
        "{g}"
    );
    assert!(
        g.ends_with("[v0][v1][v2]xstack=inputs=3:layout=0_0|480_0|0_480:fill=black[vo]"),
        "{g}"
    );
    let cs = clips(dir.path(), &[(480, 270); 4]);
    let (g, size) = graph(&cs, Layout::Grid);
    assert_eq!(size, (960, 540));
    assert!(g.ends_with("xstack=inputs=4:layout=0_0|480_0|0_270|480_270:fill=black[vo]"));
    let (_, size) = graph(&cs[..2], Layout::Grid);
    assert_eq!(size, (960, 270));
}

#[test]
fn compare_insists_on_two_to_four_existing_takes_with_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let cs = clips(dir.path(), &[(480, 270); 5]);
    for n in [0, 1, 5] {
        let e = compare(&cfg(), &cs[..n], Layout::Side, Output::Window).unwrap_err();
        assert!(matches!(e, PlayerError::ClipCount(got) if got == n), "{e}");
    }
    let mut gone = cs[..2].to_vec();
    gone[1].path = dir.path().join("gone.mp4");
    let e = compare(&cfg(), &gone, Layout::Grid, Output::Window).unwrap_err();
    assert!(
        e.to_string().starts_with("take SC001_SH1A_TK02: its file "),
        "{e}"
    );
    let mut sizeless = cs[..2].to_vec();
    sizeless[0].width = 0;
    let e = compare(&cfg(), &sizeless, Layout::Side, Output::Window).unwrap_err();
    assert!(matches!(e, PlayerError::NoSize { .. }), "{e}");
    let empty = PlayerConfig {
        command: vec![],
        ..cfg()
    };
    let e = play(&empty, &cs[0], Output::Window).unwrap_err();
    assert!(matches!(e, PlayerError::NoCommand), "{e}");
    assert_eq!("grid".parse::<Layout>().unwrap(), Layout::Grid);
    let e = "row".parse::<Layout>().unwrap_err().to_string();
    assert!(e.contains("side") && e.contains("grid"), "{e}");
}

#[test]
fn output_follows_the_config_then_the_display_then_the_terminal() {
    let table: [(&str, Vars, Output); 9] = [
        ("auto", &[("DISPLAY", ":0")], Output::Window),
        ("auto", &[("WAYLAND_DISPLAY", "wayland-0")], Output::Window),
        (
            "auto",
            &[("DISPLAY", ""), ("TERM", "xterm-kitty")],
            Output::Terminal(TermVo::Kitty),
        ),
        (
            "auto",
            &[("KITTY_WINDOW_ID", "1")],
            Output::Terminal(TermVo::Kitty),
        ),
        (
            "auto",
            &[("SSH_TTY", "/dev/pts/0"), ("TERM", "xterm")],
            Output::Terminal(TermVo::Tct),
        ),
        ("window", &[], Output::Window),
        ("tct", &[("DISPLAY", ":0")], Output::Terminal(TermVo::Tct)),
        ("kitty", &[], Output::Terminal(TermVo::Kitty)),
        (
            "sixel",
            &[("DISPLAY", ":0")],
            Output::Terminal(TermVo::Sixel),
        ),
    ];
    for (output, vars, want) in table {
        let cfg = PlayerConfig {
            output: output.into(),
            ..cfg()
        };
        let env = |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        };
        assert_eq!(
            detect_output(&cfg, &env).unwrap(),
            want,
            "{output} {vars:?}"
        );
    }
    let bad = PlayerConfig {
        output: "x11".into(),
        ..cfg()
    };
    let e = detect_output(&bad, &|_| None).unwrap_err().to_string();
    assert!(e.contains("auto, window, tct, kitty, sixel"), "{e}");
}

#[test]
fn odd_paths_stay_single_arguments_and_print_quoted() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("-dash dir");
    std::fs::create_dir(&odd).unwrap();
    let names = ["a b.mp4", "c:d,e.mp4", "it's \"q\".mp4"];
    let mut cs = clips(&odd, &[(480, 270); 3]);
    for (c, name) in cs.iter_mut().zip(names) {
        let p = odd.join(name);
        std::fs::rename(&c.path, &p).unwrap();
        c.path = p;
    }
    let cmd = compare(&cfg(), &cs, Layout::Grid, Output::Terminal(TermVo::Tct)).unwrap();
    let args = strings(&cmd);
    assert_eq!(args[0], "--vo=tct");
    assert_eq!(args[3], format!("--external-file={}", cs[1].path.display()));
    assert_eq!(args[4], format!("--external-file={}", cs[2].path.display()));
    assert_eq!(args[args.len() - 1], cs[0].path.display().to_string());
    assert_eq!(args.len(), 8);
    let printed = cmd.printable();
    assert!(
        printed.starts_with("mpv --vo=tct --loop-file=inf "),
        "{printed}"
    );
    assert!(printed.contains(r#"dir/it'\''s "q".mp4'"#), "{printed}");
    assert!(printed.contains("-dash dir/a b.mp4'"), "{printed}");

    assert_eq!(file_arg(Path::new("-x.mp4")), OsString::from("./-x.mp4"));
    assert_eq!(
        file_arg(Path::new("http://x")),
        OsString::from("./http://x")
    );
    let quoted = [
        ("plain/path.mp4", "plain/path.mp4"),
        ("", "''"),
        ("a b", "'a b'"),
        ("[vid1];x", "'[vid1];x'"),
        ("bad\u{1b}]0;t\u{7}", r"$'bad\x1b]0;t\x07'"),
        ("it's\n", r"$'it\'s\x0a'"),
    ];
    for (arg, want) in quoted {
        assert_eq!(shell_quote(arg), want, "{arg:?}");
    }
}

#[test]
fn labels_are_sanitised_and_escaped_for_both_filter_levels() {
    assert_eq!(escape_filter("SC001_SH1A_TK02"), "SC001_SH1A_TK02");
    assert_eq!(escape_filter("a:b"), r"a\:b");
    assert_eq!(escape_filter(&escape_filter("a:b")), r"a\\\:b");
    assert_eq!(escape_filter("x'[y];z, w"), r"x\'\[y\]\;z\,\ w");
    let l = label("T\u{1b}[31mK", 270);
    assert!(l.starts_with("drawtext=text=TK:expansion=none:"), "{l}");
    assert!(l.contains("fontsize=15:"), "{l}");
}

#[test]
fn detached_players_write_to_the_log_and_missing_ones_name_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("logs/player.log");
    let sh = |script: &str| PlayerCommand {
        program: "sh".into(),
        args: vec!["-c".into(), script.into()],
        output: Output::Window,
    };
    sh("echo to-stderr >&2; echo to-stdout")
        .spawn_detached(&log)
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("to-stderr")
    {
        assert!(std::time::Instant::now() < deadline, "nothing in {log:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!std::fs::read_to_string(&log).unwrap().contains("to-stdout"));
    assert_eq!(sh("exit 3").run().unwrap().code(), Some(3));
    let missing = PlayerCommand {
        program: "/nonexistent/mpv".into(),
        ..sh("")
    };
    for e in [
        missing.run().unwrap_err(),
        missing.spawn_detached(&log).unwrap_err(),
    ] {
        let e = e.to_string();
        assert!(
            e.contains("/nonexistent/mpv") && e.contains("sudo apt-get install -y mpv"),
            "{e}"
        );
    }
}
