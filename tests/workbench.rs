//! The prompt workbench through the real binary: lint, suggestions, templates, style presets,
//! variations and the safety filter.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use common::{Home, project};
use serde_json::Value;

fn codes(report: &Value) -> Vec<String> {
    report["lints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["code"].as_str().unwrap().to_string())
        .collect()
}

fn lint(h: &Home, text: &str) -> Value {
    h.ok(&["lint", text, "--json"]).json()
}

#[test]
fn lint_flags_vague_prompts_in_both_languages_and_passes_complete_ones() {
    let h = project();
    let r = lint(&h, "一个男人走过来");
    let c = codes(&r);
    for code in ["vague_subject", "no_environment", "no_camera"] {
        assert!(c.contains(&code.to_string()), "{code} in {c:?}");
    }
    assert_eq!(r["lang"], "zh");
    assert!(
        r["lints"][0]["message"]
            .as_str()
            .unwrap()
            .chars()
            .any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch)),
        "Chinese text gets Chinese messages: {r}"
    );
    let r = lint(&h, "someone walks");
    let c = codes(&r);
    assert!(c.contains(&"vague_subject".into()) && c.contains(&"no_camera".into()));
    assert_eq!(r["lang"], "en");

    for full in [
        "一位穿红色雨衣的年轻女快递员在夜晚霓虹闪烁的菜市场里奔跑，低角度跟拍，中景，霓虹灯光",
        "An old fisherman in a yellow oilskin hauls a net onto a wooden pier at dawn, wide shot, eye level, slow push in, soft golden light",
    ] {
        let c = codes(&lint(&h, full));
        for code in ["vague_subject", "no_environment", "no_motion", "no_camera"] {
            assert!(!c.contains(&code.to_string()), "{code} on {full}: {c:?}");
        }
    }
    let c = codes(&lint(
        &h,
        "A woman in a grey coat walks down a corridor, push in then pull out, whip pan",
    ));
    assert!(c.contains(&"camera_conflict".into()), "{c:?}");
    let c = codes(&lint(&h, "一个美丽的女孩在唯美的花园里，震撼"));
    assert!(c.contains(&"abstract_adjective".into()), "{c:?}");
}

#[test]
fn shots_get_camera_suggestions_for_chase_and_horror_beats() {
    let h = Home::new();
    h.ok(&["init", "beats"]);
    let script = h.write(
        "beats.fountain",
        "EXT. NIGHT MARKET - NIGHT\n\nHe sprints between the stalls, chased by two men.\n\n\
         INT. BASEMENT - NIGHT\n\nShe turns slowly toward the dark doorway. Something breathes behind it.\n\n\
         内景 地下室 夜\n\n她慢慢转身，望向漆黑的门口，门后传来喘息声，恐怖的气氛。\n",
    );
    h.ok(&["import", script.to_str().unwrap()]);
    let all = h.ok(&["lint", "--json"]).json();
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 3);
    let movement = |r: &Value| -> String {
        r["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["field"] == "camera.movement")
            .map(|s| {
                assert!(!s["reason"].as_str().unwrap().is_empty());
                s["value"].as_str().unwrap().to_lowercase()
            })
            .unwrap_or_default()
    };
    assert!(movement(&all[0]).contains("track"), "{}", all[0]);
    assert!(movement(&all[1]).contains("push"), "{}", all[1]);
    assert!(movement(&all[2]).contains("推"), "{}", all[2]);

    // --suggest fills the empty camera fields; the user's own fields stay.
    let code = all[1]["shot"].as_str().unwrap().to_string();
    h.ok(&["shot", "edit", &code, "--angle", "eye level", "--suggest"]);
    let shots = h.ok(&["shots", "--json"]).json();
    let shot = shots
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == code.as_str())
        .unwrap();
    assert_eq!(shot["camera"]["angle"], "eye level");
    assert!(
        shot["camera"]["movement"]
            .as_str()
            .unwrap()
            .contains("push"),
        "{shot}"
    );
    assert!(
        !shot["lint"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "no_camera")
    );
}

#[test]
fn templates_fill_only_empty_fields() {
    let h = project();
    let list = h.ok(&["templates", "--json"]).json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for n in [
        "establishing",
        "dialogue",
        "chase",
        "reveal",
        "horror",
        "insert",
        "action",
    ] {
        assert!(names.contains(&n), "{n}: {names:?}");
    }
    h.ok(&["shot", "edit", "1A", "--lighting", "sodium streetlights"]);
    let r = h.ok(&["shot", "edit", "1A", "--template", "chase"]);
    assert!(r.stdout.contains("filled"), "{}", r.stdout);
    let shots = h.ok(&["shots", "--json"]).json();
    assert_eq!(shots[0]["lighting"], "sodium streetlights");
    assert_eq!(shots[0]["camera"]["movement"], "tracking shot");
    assert!(
        shots[0]["action"]
            .as_str()
            .unwrap()
            .contains("yellow raincoat"),
        "the action from the script stays"
    );
    let err = h.fails(&["shot", "edit", "1A", "--template", "montage"], 1);
    assert!(
        err.contains("unknown template") && err.contains("chase"),
        "{err}"
    );
}

#[test]
fn style_presets_and_variations_make_the_product_of_takes() {
    let h = project();
    let styles = h.ok(&["styles", "--json"]).json();
    let names: Vec<&str> = styles
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for n in [
        "cinematic",
        "documentary",
        "noir",
        "anime",
        "ink-wash",
        "cyberpunk",
        "period-drama",
    ] {
        assert!(names.contains(&n), "{n}");
    }
    let jobs = h
        .ok(&[
            "render",
            "1A",
            "--vary",
            "lighting=night,dusk",
            "--vary",
            "costume=red cloak,black coat",
            "--takes",
            "2",
            "--style",
            "水墨",
            "--json",
        ])
        .json();
    let jobs = jobs.as_array().unwrap();
    assert_eq!(jobs.len(), 8);
    let mut combos: Vec<String> = jobs
        .iter()
        .map(|j| format!("{}|{}", j["variant"]["lighting"], j["variant"]["costume"]))
        .collect();
    combos.sort();
    combos.dedup();
    assert_eq!(combos.len(), 4, "{combos:?}");
    for j in jobs {
        let p = j["prompt"].as_str().unwrap();
        assert!(p.contains(j["variant"]["costume"].as_str().unwrap()), "{p}");
        assert!(p.contains("ink wash"), "the preset's words: {p}");
    }
    // Each variation gets the same seeds, so variations compare like with like.
    let seeds = |l: &str, c: &str| -> Vec<u64> {
        let mut s: Vec<u64> = jobs
            .iter()
            .filter(|j| j["variant"]["lighting"] == l && j["variant"]["costume"] == c)
            .map(|j| j["seed"].as_u64().unwrap())
            .collect();
        s.sort_unstable();
        s
    };
    assert_eq!(seeds("night", "red cloak"), seeds("dusk", "black coat"));
    let err = h.fails(&["render", "1A", "--vary", "colour=red"], 1);
    assert!(err.contains("unknown --vary axis"), "{err}");
    let err = h.fails(&["render", "1A", "--style", "vaporwave"], 1);
    assert!(
        err.contains("unknown style") && err.contains("noir"),
        "{err}"
    );
}

#[test]
fn the_safety_filter_refuses_before_queueing_and_records_the_rule() {
    let h = project();
    for evasion in ["ｎｕｄｅ", "n.u.d.e", "N U D E", "n\u{200b}ude"] {
        h.ok(&[
            "shot",
            "edit",
            "1A",
            "--action",
            &format!("a {evasion} dancer on the stage"),
        ]);
        let err = h.fails(&["render", "1A"], 1);
        assert!(err.contains("sexual/nude"), "{evasion}: {err}");
        assert!(
            !err.contains("dancer on the stage"),
            "no more of the prompt than needed: {err}"
        );
    }
    h.ok(&["shot", "edit", "1A", "--action", "一个裸体的舞者"]);
    let err = h.fails(&["render", "1A"], 1);
    assert!(err.contains("sexual/"), "{err}");
    assert_eq!(h.ok(&["queue", "--json"]).json(), serde_json::json!([]));
    let refusals = h.ok(&["refusals", "--json"]).json();
    assert_eq!(refusals.as_array().unwrap().len(), 5);
    assert_eq!(refusals[0]["shot"], "1A");
    assert!(!refusals.to_string().contains("dancer"));
    let r = h.run(&[
        "lint",
        "a n-u-d-e figure on a beach at dawn, wide shot",
        "--json",
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(r.json()["lints"][0]["code"], "blocked");

    // Ordinary film violence and horror pass.
    h.ok(&[
        "shot",
        "edit",
        "1A",
        "--action",
        "A gunshot in the chase; blood on the knife; a ghost in the corridor",
    ]);
    h.ok(&["render", "1A"]);

    // A user blocklist adds terms, with the same evasion handling.
    h.write("blocked.txt", "# studio rules\nprops: 红色斗篷\n");
    h.write("config.toml", "[safety]\nblocklist = \"blocked.txt\"\n");
    let err = h.fails(&["render", "1A", "--vary", "costume=红 色 斗 篷"], 1);
    assert!(err.contains("blocked.txt:2"), "{err}");
    h.write("config.toml", "[safety]\nblocklist = \"missing.txt\"\n");
    let err = h.fails(&["render", "1A"], 1);
    assert!(err.contains("missing.txt"), "{err}");
}

#[test]
fn a_failing_classifier_refuses_and_a_blocking_one_names_its_rule() {
    let h = project();
    let script = h.write(
        "classify.sh",
        "#!/bin/sh\nif grep -q forbidden; then echo '{\"verdict\":\"block\",\"rule\":\"studio/forbidden\",\"reason\":\"not for this studio\"}'; else echo '{\"verdict\":\"allow\"}'; fi\n",
    );
    h.write(
        "config.toml",
        &format!(
            "[safety.classifier]\ncommand = [\"sh\", \"{}\"]\ntimeout_ms = 5000\n",
            script.display()
        ),
    );
    h.ok(&["render", "1A"]);
    h.ok(&[
        "shot",
        "edit",
        "1A",
        "--action",
        "the forbidden dance in the square",
    ]);
    let err = h.fails(&["render", "1A"], 1);
    assert!(err.contains("studio/forbidden"), "{err}");
    h.write(
        "config.toml",
        "[safety.classifier]\ncommand = [\"/nonexistent/classifier\"]\n",
    );
    let err = h.fails(&["render", "2A"], 1);
    assert!(err.contains("classifier"), "{err}");
    let kinds: Vec<String> = h
        .ok(&["refusals", "--json"])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["classifier", "classifier_error"]);
}

/// The chroma planes of frame `n` of an MP4, decoded by ffmpeg.
fn chroma_of_frame(path: &std::path::Path, n: u32, w: usize, h: usize) -> Vec<u8> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-vf",
            &format!("select=eq(n\\,{n})"),
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            "-",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), w * h * 3 / 2);
    out.stdout[w * h..].to_vec()
}

#[test]
fn a_monochrome_preset_renders_a_black_and_white_animatic() {
    if common::require_tool("ffmpeg").is_none() {
        return;
    }
    let h = project();
    h.ok(&["shot", "edit", "1A", "--lighting", "dusk"]);
    let path = |take: &Value| std::path::PathBuf::from(take["path"].as_str().unwrap());
    let colour = h
        .ok(&["render", "1A", "--seed", "7", "--wait", "--json"])
        .json();
    let noir = h
        .ok(&[
            "render", "1A", "--seed", "7", "--style", "noir", "--wait", "--json",
        ])
        .json();
    assert_eq!(noir[0]["state"], "done");
    let takes = h.ok(&["takes", "--json"]).json();
    let find = |code: &Value| {
        takes
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == *code)
            .unwrap()
            .clone()
    };
    let (c, n) = (find(&colour[0]["take"]), find(&noir[0]["take"]));
    assert_eq!(n["params"]["grade"], "mono");
    assert_eq!(n["style"], "noir");
    // After the slate (the last frame of a 1 s, 12 fps take): the set only.
    let spread = |p: &[u8]| p.iter().map(|&b| (i32::from(b) - 128).abs()).max().unwrap();
    let (w, hgt) = (854, 480);
    let dusk = chroma_of_frame(&path(&c), 11, w, hgt);
    let mono = chroma_of_frame(&path(&n), 11, w, hgt);
    assert!(spread(&dusk) > 20, "the dusk take has colour");
    assert!(
        spread(&mono) <= 6,
        "the noir take is black and white: {}",
        spread(&mono)
    );
}

#[test]
fn lint_names_the_prompt_limit_of_the_backend() {
    let h = project();
    h.write(
        "config.toml",
        "[[backend]]\nname = \"cloud\"\nkind = \"dashscope\"\nmodel = \"wanx2.1-t2v-turbo\"\n",
    );
    let long = format!(
        "A young courier in a yellow raincoat sprints through a neon-lit night market, medium shot, low angle, tracking shot. {}",
        "Rain falls on the awnings. ".repeat(120)
    );
    let r = h
        .ok(&["lint", &long, "--backend", "cloud", "--json"])
        .json();
    let over = r["lints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["code"] == "over_limit")
        .unwrap_or_else(|| panic!("no over_limit: {r}"));
    let msg = over["message"].as_str().unwrap();
    assert!(
        msg.contains("800") && msg.contains(&long.trim().chars().count().to_string()),
        "{msg}"
    );
    // The animatic reads any length.
    let r = h.ok(&["lint", &long, "--json"]).json();
    assert!(
        !r["lints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["code"] == "over_limit")
    );
}
