//! Drives the real `previs` binary with a temporary `--home`: the flow of the README, re-imports,
//! the cache, re-rolls, circling, the shot list and CSV round trips.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use common::{Home, SCRIPT, ffprobe, project, require_tool};

#[test]
fn readme_flow_renders_h264_takes_that_match_their_recipe() {
    let Some(_) = require_tool("ffprobe") else {
        return;
    };
    let h = project();
    let shots = h.ok(&["shots", "--json"]).json();
    let codes: Vec<&str> = shots
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["1A", "2A", "2B"]);
    assert_eq!(shots[0]["environment"], "exterior, market street, night");
    assert_eq!(shots[0]["dialogue"][0]["character"], "MEI");
    assert_eq!(shots[0]["width"], 854);

    h.ok(&[
        "shot",
        "edit",
        "2A",
        "--movement",
        "push in",
        "--size",
        "720x1280",
        "--fps",
        "24",
    ]);
    let r = h.ok(&["render", "--all", "--takes", "2", "--wait"]);
    assert!(
        r.stderr.contains("queued 6 takes on animatic"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("6 done, 0 failed"), "{}", r.stderr);

    let takes = h.ok(&["takes", "--json"]).json();
    let takes = takes.as_array().unwrap();
    assert_eq!(takes.len(), 6);
    let mut ids: Vec<&str> = takes.iter().map(|t| t["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "SC001_SH1A_TK01",
            "SC001_SH1A_TK02",
            "SC002_SH2A_TK01",
            "SC002_SH2A_TK02",
            "SC002_SH2B_TK01",
            "SC002_SH2B_TK02"
        ]
    );
    for t in takes {
        for key in [
            "id",
            "shot",
            "state",
            "backend",
            "path",
            "seed",
            "prompt",
            "duration_s",
            "width",
            "height",
            "fps",
            "cost",
        ] {
            assert!(!t[key].is_null(), "take lacks {key}: {t}");
        }
        let path = std::path::Path::new(t["path"].as_str().unwrap());
        let probe = ffprobe(path);
        let v = &probe["streams"][0];
        assert_eq!(v["codec_name"], "h264");
        assert_eq!(v["width"], t["width"]);
        assert_eq!(v["height"], t["height"]);
        let fps = t["fps"].as_u64().unwrap();
        assert_eq!(v["r_frame_rate"], format!("{fps}/1"));
        let duration: f64 = probe["format"]["duration"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let want = t["duration_s"].as_f64().unwrap();
        assert!(
            (duration - want).abs() <= 1.0 / fps as f64 + 1e-6,
            "{path:?}: {duration} vs {want}"
        );
        assert_eq!(
            v["nb_read_frames"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap(),
            t["frames"].as_u64().unwrap()
        );
    }
    let portrait: Vec<_> = takes.iter().filter(|t| t["shot"] == "2A").collect();
    assert!(
        portrait
            .iter()
            .all(|t| t["width"] == 720 && t["height"] == 1280 && t["fps"] == 24)
    );
    // Seeds differ between takes of a shot, and no temporary file is left behind.
    assert_ne!(portrait[0]["seed"], portrait[1]["seed"]);
    let tmp = h.path().join("data/tmp");
    assert_eq!(std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0), 0);
}

#[test]
fn reimport_keeps_takes_of_unchanged_shots() {
    let h = project();
    h.ok(&["render", "1A", "2B", "--wait"]);
    let edited = SCRIPT
        .replace("Dust hangs in the light.", "Dust hangs in the cold light.")
        .replace(
            "The door bursts open.",
            "The door bursts open.\n\nA new beat: rain hammers the roof.",
        );
    let script = h.write("chase.fountain", &edited);
    let r = h.ok(&["import", script.to_str().unwrap(), "--json"]).json();
    assert_eq!(
        (
            r["added"].as_u64(),
            r["updated"].as_u64(),
            r["unchanged"].as_u64()
        ),
        (Some(1), Some(1), Some(2))
    );
    let shots = h.ok(&["shots", "--json"]).json();
    let by_code = |c: &str| {
        shots
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == c)
            .unwrap()
            .clone()
    };
    assert_eq!(by_code("1A")["takes"], 1);
    assert_eq!(by_code("2B")["takes"], 1, "unchanged text keeps its takes");
    assert_eq!(by_code("2A")["action"], "Dust hangs in the cold light.");
    assert_eq!(
        by_code("2C")["action"],
        "A new beat: rain hammers the roof."
    );

    // A shot with takes that leaves the script is omitted, never deleted.
    let cut = SCRIPT.replace("The door bursts open.\n", "");
    let script = h.write("chase.fountain", &cut);
    let r = h.ok(&["import", script.to_str().unwrap(), "--json"]).json();
    assert_eq!(r["omitted"], 1);
    assert_eq!(
        h.ok(&["takes", "--json"]).json().as_array().unwrap().len(),
        2
    );
    let all = h.ok(&["shots", "--all", "--json"]).json();
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == "2B" && s["omitted"] == true)
    );
}

#[test]
fn identical_requests_reuse_the_take_unless_forced() {
    let h = project();
    // A shot named twice is rendered once.
    let jobs = h
        .ok(&["render", "1A", "1a", "--seed", "42", "--wait", "--json"])
        .json();
    assert_eq!(jobs.as_array().unwrap().len(), 1);
    let r = h.ok(&["render", "1A", "--seed", "42", "--wait", "--json"]);
    assert!(r.stderr.contains("1 reused from the cache"), "{}", r.stderr);
    let jobs = r.json();
    assert_eq!(jobs[0]["cache_hit"], true);
    assert_eq!(jobs[0]["cost"], 0.0);
    assert_eq!(jobs[0]["take"], "SC001_SH1A_TK01");
    assert_eq!(
        h.ok(&["takes", "--json"]).json().as_array().unwrap().len(),
        1
    );
    h.ok(&["render", "1A", "--seed", "42", "--force", "--wait"]);
    let takes = h.ok(&["takes", "1A", "--json"]).json();
    assert_eq!(takes.as_array().unwrap().len(), 2);
    assert_eq!(takes[1]["id"], "SC001_SH1A_TK02");
    assert_eq!(takes[1]["seed"], 42);
}

#[test]
fn reroll_records_its_parent_and_circle_marks_the_take() {
    let h = project();
    h.ok(&["render", "1A", "--seed", "7", "--wait"]);
    h.ok(&["reroll", "SC001_SH1A_TK01", "--wait"]);
    h.ok(&[
        "reroll",
        "SC001_SH1A_TK01",
        "--prompt",
        "A courier in red, dawn light",
        "--seed",
        "9",
        "--wait",
    ]);
    let takes = h.ok(&["takes", "1A", "--json"]).json();
    let t = takes.as_array().unwrap();
    assert_eq!(t.len(), 3);
    assert_eq!(t[1]["parent"], "SC001_SH1A_TK01");
    assert_ne!(t[1]["seed"], 7);
    assert_eq!(t[1]["prompt"], t[0]["prompt"]);
    assert_eq!(t[2]["prompt"], "A courier in red, dawn light");
    assert_eq!(t[2]["seed"], 9);
    h.ok(&["circle", "sc001_sh1a_tk02"]);
    let takes = h.ok(&["takes", "--json"]).json();
    let circled: Vec<_> = takes
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["circled"] == true)
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(circled, ["SC001_SH1A_TK02"]);
    assert_eq!(
        h.ok(&["shots", "--json"]).json()[0]["circled"],
        "SC001_SH1A_TK02"
    );
}

#[test]
fn csv_export_then_import_is_lossless() {
    let h = project();
    h.ok(&[
        "shot",
        "edit",
        "1A",
        "--subject",
        "快递员, \"Mei\"",
        "--lighting",
        "neon\nrain",
        "--seed",
        "5",
        "--duration",
        "2.5",
    ]);
    let csv = h.ok(&["shots", "--csv"]).stdout;
    let file = h.write("list.csv", &csv);
    h.ok(&[
        "init",
        "copy",
        "--size",
        "854x480",
        "--duration",
        "1",
        "--fps",
        "12",
    ]);
    h.ok(&["import", file.to_str().unwrap()]);
    let a = h
        .ok(&["--project", "night-chase", "shots", "--json"])
        .json();
    let b = h.ok(&["--project", "copy", "shots", "--json"]).json();
    let strip = |v: &serde_json::Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let mut s = s.clone();
                let o = s.as_object_mut().unwrap();
                // Where a shot came from differs by nature: the script line vs the CSV row.
                o.remove("line");
                s
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&a), strip(&b));
    assert_eq!(h.ok(&["--project", "copy", "shots", "--csv"]).stdout, csv);
}

#[test]
fn shots_are_added_edited_and_removed_from_the_command_line() {
    let h = project();
    h.ok(&[
        "shot",
        "add",
        "--scene",
        "1",
        "--action",
        "Mei turns the corner.",
        "--movement",
        "pan left",
    ]);
    h.ok(&[
        "shot",
        "add",
        "--scene",
        "5",
        "--heading",
        "EXT. ROOFTOP - DAWN",
        "--subject",
        "两个人",
        "--action",
        "他们蹲在栏杆后。",
    ]);
    let shots = h.ok(&["shots", "--json"]).json();
    let order: Vec<&str> = shots
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        ["1A", "1B", "2A", "2B", "5A"],
        "a new shot sits at the end of its scene"
    );
    assert_eq!(shots[1]["camera"]["movement"], "pan left");
    assert_eq!(
        shots[1]["environment"], "exterior, market street, night",
        "inherits its scene"
    );
    assert_eq!(shots[4]["heading"], "EXT. ROOFTOP - DAWN");
    assert_eq!(
        shots[4]["prompt"],
        "两个人，exterior, rooftop, dawn，他们蹲在栏杆后。"
    );
    let err = h.fails(
        &[
            "shot", "add", "--scene", "1", "--code", "1a", "--action", "x",
        ],
        1,
    );
    assert!(err.starts_with("error: shot 1a already exists"), "{err}");

    h.ok(&["shot", "edit", "1B", "--movement", "", "--fps", "30"]);
    let s = &h.ok(&["shots", "--json"]).json()[1];
    assert_eq!(
        (s["camera"]["movement"].as_str(), s["fps"].as_u64()),
        (Some(""), Some(30))
    );
    h.ok(&["shot", "edit", "1B", "--fps", "default"]);
    assert_eq!(h.ok(&["shots", "--json"]).json()[1]["fps"], 12);

    h.ok(&["render", "5A", "--wait"]);
    let r = h.ok(&["shot", "rm", "5A"]);
    assert!(r.stdout.contains("marked omitted"), "{}", r.stdout);
    h.ok(&["shot", "rm", "1B"]);
    let codes: Vec<String> = h
        .ok(&["shots", "--all", "--json"])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}{}",
                s["id"].as_str().unwrap(),
                if s["omitted"] == true { "*" } else { "" }
            )
        })
        .collect();
    assert_eq!(codes, ["1A", "2A", "2B", "5A*"]);
    assert_eq!(
        h.ok(&["takes", "--json"]).json().as_array().unwrap().len(),
        1,
        "the omitted shot keeps its take"
    );
}

#[test]
fn a_spreadsheet_shot_list_numbered_per_scene_imports_with_scene_codes() {
    let h = Home::new();
    h.ok(&["init", "sheet"]);
    let csv = "\u{feff}Scene #,Shot #,Shot Size,Camera Angle,Camera Movement,Lens,Description,Duration,Location\r\n\
               1,1,WS,Eye,Static,35mm,\"Ext. road, a car approaches\",4,Road\r\n\
               1,2,CU,Low,Push in,85mm,Driver looks up,2,\r\n\
               2,1,MS,High,Pan left,50mm,Kitchen,3s,\r\n";
    let file = h.write("sheet.csv", csv);
    h.ok(&["import", file.to_str().unwrap()]);
    let shots = h.ok(&["shots", "--json"]).json();
    let got: Vec<(&str, &str, &str, f64)> = shots
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap(),
                s["camera"]["movement"].as_str().unwrap(),
                s["environment"].as_str().unwrap(),
                s["duration_s"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("1A", "Static", "Road", 4.0),
            ("1B", "Push in", "", 2.0),
            ("2A", "Pan left", "", 3.0)
        ]
    );
    // Importing the same sheet again changes nothing.
    let r = h.ok(&["import", file.to_str().unwrap(), "--json"]).json();
    assert_eq!(
        (r["unchanged"].as_u64(), r["added"].as_u64()),
        (Some(3), Some(0))
    );
}

#[test]
fn take_codes_stay_unique_when_shots_move_between_scenes() {
    let h = Home::new();
    h.ok(&[
        "init",
        "moves",
        "--size",
        "854x480",
        "--duration",
        "1",
        "--fps",
        "12",
    ]);
    let v1 =
        "INT. KITCHEN - DAY\n\nAlpha pours coffee.\n\nEXT. STREET - DAY\n\nDelta hails a cab.\n";
    let f = h.write("m.fountain", v1);
    h.ok(&["import", f.to_str().unwrap()]);
    h.ok(&["render", "--all", "--wait"]);
    // Alpha moves to the street; a new beat takes its place in the kitchen (and its code, 1A).
    let v2 = "INT. KITCHEN - DAY\n\nZulu burns the toast.\n\nEXT. STREET - DAY\n\nAlpha pours coffee.\n\nDelta hails a cab.\n";
    std::fs::write(&f, v2).unwrap();
    h.ok(&["import", f.to_str().unwrap()]);
    h.ok(&["render", "--all", "--wait"]);
    let takes = h.ok(&["takes", "--json"]).json();
    let takes = takes.as_array().unwrap();
    let mut codes: Vec<&str> = takes.iter().map(|t| t["id"].as_str().unwrap()).collect();
    codes.sort_unstable();
    let n = codes.len();
    codes.dedup();
    assert_eq!(
        codes.len(),
        n,
        "a take code was handed out twice: {codes:?}"
    );
    for t in takes {
        let (sha, bytes) = (
            t["media"]["sha256"].as_str().unwrap(),
            t["media"]["bytes"].as_u64().unwrap(),
        );
        let data = std::fs::read(t["path"].as_str().unwrap()).unwrap();
        assert_eq!(data.len() as u64, bytes, "{} was overwritten", t["id"]);
        let _ = sha;
    }
}

#[test]
fn a_cut_take_file_is_no_cache_hit_and_a_reroll_always_renders() {
    let h = project();
    h.ok(&["render", "1A", "--seed", "5", "--wait"]);
    let t = h.ok(&["takes", "--json"]).json()[0].clone();
    let path = t["path"].as_str().unwrap().to_string();
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(1000).unwrap();
    let r = h.ok(&["render", "1A", "--seed", "5", "--wait", "--json"]);
    assert_eq!(r.json()[0]["cache_hit"], false, "{}", r.stderr);
    let listing = h.ok(&["takes"]).stdout;
    assert!(
        listing.contains("SC001_SH1A_TK01 (file missing)"),
        "{listing}"
    );
    // Re-rolling with the parent's own seed makes a new take, never the parent again.
    let r = h
        .ok(&[
            "reroll",
            "SC001_SH1A_TK02",
            "--seed",
            "5",
            "--wait",
            "--json",
        ])
        .json();
    assert_eq!(
        (
            r[0]["take"].as_str(),
            r[0]["parent"].as_str(),
            r[0]["cache_hit"].as_bool()
        ),
        (
            Some("SC001_SH1A_TK03"),
            Some("SC001_SH1A_TK02"),
            Some(false)
        )
    );
}

#[test]
fn json_everywhere_and_a_closed_pipe_ends_quietly() {
    let h = project();
    let shot = h
        .ok(&["shot", "edit", "1A", "--lighting", "dusk", "--json"])
        .json();
    assert_eq!(shot[0]["lighting"], "dusk");
    h.ok(&["render", "1A", "--wait"]);
    let take = h.ok(&["circle", "SC001_SH1A_TK01", "--json"]).json();
    assert_eq!(
        (take["id"].as_str(), take["circled"].as_bool()),
        (Some("SC001_SH1A_TK01"), Some(true))
    );
    assert_eq!(
        take["spec"]["lighting"], "dusk",
        "the take carries its full recipe"
    );
    assert!(take["queued_at"].as_i64().unwrap() <= take["finished_at"].as_i64().unwrap());
    assert_eq!(h.ok(&["pause", "--json"]).json()["paused"], true);
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' --home '{}' shots | head -1; exit ${{PIPESTATUS:-0}}",
            env!("CARGO_BIN_EXE_previs"),
            h.path().display()
        ))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn render_estimate_prices_the_batch_and_queues_nothing() {
    let h = project();
    h.write(
        "config.toml",
        "[[backend]]\nname = \"cloud\"\nkind = \"dashscope\"\nmodel = \"wan2.2-t2v-plus\"\n\
         base_url = \"https://dashscope.aliyuncs.com\"\n",
    );
    let est = h
        .ok(&[
            "render",
            "--all",
            "--takes",
            "2",
            "--backend",
            "cloud",
            "--size",
            "832x480",
            "--duration",
            "5",
            "--estimate",
            "--json",
        ])
        .json();
    // Beijing list price of wan2.2-t2v-plus at 480P: 0.14 CNY per second; 3 shots × 2 takes × 5 s.
    assert_eq!(
        (&est["takes"], &est["seconds"], &est["priced"]),
        (
            &serde_json::json!(6),
            &serde_json::json!(30.0),
            &serde_json::json!(true)
        )
    );
    assert_eq!(est["estimate"]["currency"], "CNY");
    let amount = est["estimate"]["amount"].as_f64().unwrap();
    assert!((amount - 4.2).abs() < 1e-9, "{amount}");
    assert_eq!(h.ok(&["queue", "--json"]).json(), serde_json::json!([]));

    // A size the model does not render is refused before anything is priced.
    let err = h.fails(&["render", "1A", "--backend", "cloud", "--estimate"], 1);
    assert!(err.contains("832x480"), "{err}");

    // Unpriced paid backends say so; takes already rendered are free.
    h.write(
        "config.toml",
        "[[backend]]\nname = \"cloud\"\nkind = \"dashscope\"\nmodel = \"wan2.2-t2v-plus\"\n",
    );
    let r = h.ok(&[
        "render",
        "--all",
        "--backend",
        "cloud",
        "--size",
        "832x480",
        "--duration",
        "5",
        "--estimate",
    ]);
    assert!(
        r.stderr.contains("knows no price for backend cloud"),
        "{}",
        r.stderr
    );
    h.ok(&["render", "1A", "--seed", "42", "--wait"]);
    let est = h
        .ok(&["render", "1A", "--seed", "42", "--estimate", "--json"])
        .json();
    assert_eq!(
        (est["takes"].as_u64(), est["cached"].as_u64()),
        (Some(0), Some(1))
    );
    // The dry run reserved no take numbers: the next real take is TK02.
    let jobs = h
        .ok(&["render", "1A", "--seed", "43", "--wait", "--json"])
        .json();
    assert_eq!(jobs[0]["take"], "SC001_SH1A_TK02");
}
