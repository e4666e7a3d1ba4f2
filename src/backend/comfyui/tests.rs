//! Unit tests of the ComfyUI backend (pure parts): workflow loading and bindings, the frame
//! rule, progress, and reading what the server reports. Server bodies are the exchanges
//! recorded from a real ComfyUI 0.3.64, shortened where only their shape matters.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::history::{
    self, Ending, OutputFile, files_in, node_errors_text, parse_history, pick_video, rejection_text,
};
use super::progress::{SCALE, Tracker};
use super::socket::{Event, parse};
use super::workflow::Workflow;
use super::*;
use crate::config::{Bindings, ComfyConfig, FrameRule};
use crate::model::Recipe;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/comfyui")
        .join(name)
}

/// The bindings of the Wan2.2 fixture, as config.toml writes them.
fn wan_bind() -> Bindings {
    Bindings {
        prompt: "99.text".into(),
        negative: Some("91.text".into()),
        seed: "96.noise_seed".into(),
        width: "104.width".into(),
        height: "104.height".into(),
        frames: "104.length".into(),
        frame_rule: FrameRule::FourNPlusOne,
        fps: Some("100.fps".into()),
        prefix: Some("98.filename_prefix".into()),
    }
}

/// The bindings of the no-weights fixture, by node id.
fn light_bind() -> Bindings {
    Bindings {
        prompt: "1.value".into(),
        negative: None,
        seed: "3.seed".into(),
        width: "2.width".into(),
        height: "2.height".into(),
        frames: "2.batch_size".into(),
        frame_rule: FrameRule::Exact,
        fps: Some("4.fps".into()),
        prefix: Some("5.filename_prefix".into()),
    }
}

fn wan() -> Workflow {
    Workflow::load(&fixture("wan22_t2v_a14b.json"), &wan_bind()).unwrap()
}

fn light() -> Workflow {
    Workflow::load(&fixture("no_weights_t2v.json"), &light_bind()).unwrap()
}

fn recipe() -> Recipe {
    Recipe {
        prompt: "雨夜小巷，a courier sprints".into(),
        negative: String::new(),
        seed: 2_147_483_647,
        backend: "box".into(),
        model: DEFAULT_MODEL.into(),
        width: 832,
        height: 480,
        fps: 16,
        duration_s: 5.0,
        frames: 81,
        style: None,
        variant: Default::default(),
        spec: Default::default(),
        params: Default::default(),
    }
}

/// Loads `graph` (written to a temporary file) with `bind`; the error text.
fn load_err(graph: &Value, bind: &Bindings) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wf.json");
    std::fs::write(&path, graph.to_string()).unwrap();
    Workflow::load(&path, bind).unwrap_err()
}

fn read(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap()
}

// ---- workflow loading ----

#[test]
fn the_wan22_fixture_loads_with_its_documented_bindings() {
    let wf = wan();
    assert_eq!(wf.node_count(), 14);
    assert_eq!(wf.samplers(), ["96", "95"], "high-noise expert first");
    assert_eq!(wf.prefix_node(), Some("98"));
    let files: Vec<&str> = wf.loaders().iter().map(|m| m.file.as_str()).collect();
    assert_eq!(
        files,
        [
            "umt5_xxl_fp8_e4m3fn_scaled.safetensors",
            "wan_2.1_vae.safetensors",
            "wan2.2_t2v_high_noise_14B_fp8_scaled.safetensors",
            "wan2.2_t2v_low_noise_14B_fp8_scaled.safetensors",
        ]
    );
    assert!(wf.classes().contains("EmptyHunyuanLatentVideo"));
}

#[test]
fn a_ui_format_export_is_refused_naming_the_api_export() {
    let err = Workflow::load(&fixture("ui_format.json"), &light_bind()).unwrap_err();
    assert!(err.contains("ui_format.json"), "{err}");
    assert!(err.contains("is a UI-format workflow"), "{err}");
    assert!(
        err.contains("Workflow → Export (API)") && err.contains("`workflow =`"),
        "{err}"
    );
    assert!(!err.contains('\n'));
}

#[test]
fn a_saved_prompt_request_body_is_read_as_its_graph() {
    let body = json!({ "prompt": read("no_weights_t2v.json"), "client_id": "abc" });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("body.json");
    std::fs::write(&path, body.to_string()).unwrap();
    let wf = Workflow::load(&path, &light_bind()).unwrap();
    assert_eq!(wf.node_count(), 6);
}

#[test]
fn files_that_are_not_api_graphs_get_one_line_naming_file_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Workflow::load(&dir.path().join("nope.json"), &light_bind()).unwrap_err();
    assert!(
        missing.contains("nope.json not found") && missing.contains("relative to config.toml"),
        "{missing}"
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"1\": {\"class_type\": \"X\",\n  \"inputs\": }").unwrap();
    let err = Workflow::load(&bad, &light_bind()).unwrap_err();
    assert!(
        err.contains("is not valid JSON (line 2, column") && err.contains("Export (API)"),
        "{err}"
    );
    for (graph, want) in [
        (json!([1, 2]), "is not a JSON object of nodes"),
        (json!({}), "has no nodes"),
        (
            json!({"1": {"inputs": {}}}),
            "node \"1\" has no \"class_type\" and \"inputs\"",
        ),
        (
            json!({"1": {"class_type": "PreviewAny", "inputs": {"source": ["9", 0]}}}),
            "links to node 9, which is not in the workflow",
        ),
    ] {
        let err = load_err(&graph, &light_bind());
        assert!(err.contains(want), "{want:?} not in {err}");
        assert!(!err.contains('\n'), "{err}");
    }
}

// ---- bindings ----

#[test]
fn bindings_by_title_resolve_to_the_same_inputs_as_by_id() {
    let by_title = Bindings {
        prompt: "Prompt.value".into(),
        negative: None,
        seed: "Seeded noise.seed".into(),
        width: "Frames (width/height/length).width".into(),
        height: "Frames (width/height/length).height".into(),
        frames: "Frames (width/height/length).batch_size".into(),
        frame_rule: FrameRule::Exact,
        fps: Some("Create Video (fps).fps".into()),
        prefix: Some("Save Video.filename_prefix".into()),
    };
    let titled = Workflow::load(&fixture("no_weights_t2v.json"), &by_title).unwrap();
    let r = recipe();
    assert_eq!(titled.apply(&r, "previs/X"), light().apply(&r, "previs/X"));
    assert_eq!(titled.prefix_node(), Some("5"));
}

#[test]
fn a_missing_node_or_input_names_the_binding_and_the_fix() {
    let g = read("wan22_t2v_a14b.json");
    let bind = Bindings {
        seed: "77.noise_seed".into(),
        ..wan_bind()
    };
    let err = load_err(&g, &bind);
    assert!(
        err.starts_with("binding seed = \"77.noise_seed\": workflow "),
        "{err}"
    );
    assert!(
        err.contains("has no node with id or title \"77\"")
            && err.contains("99 \"CLIP Text Encode (Positive Prompt)\"")
            && err.contains("fix the binding in config.toml"),
        "{err}"
    );
    let bind = Bindings {
        seed: "96.seed".into(),
        ..wan_bind()
    };
    let err = load_err(&g, &bind);
    assert!(
        err.contains("binding seed = \"96.seed\": node 96 (KSamplerAdvanced)")
            && err.contains("has no input \"seed\"")
            && err.contains("noise_seed"),
        "{err}"
    );
    let cases = [
        (
            Bindings {
                frames: "104".into(),
                ..wan_bind()
            },
            "binding frames = \"104\" must be NODE.INPUT",
        ),
        (
            Bindings {
                prompt: "96.positive".into(),
                ..wan_bind()
            },
            "input \"positive\" of node 96 (KSamplerAdvanced) is linked to node 99; bind the input of node 99",
        ),
        (
            Bindings {
                prompt: "96.noise_seed".into(),
                ..wan_bind()
            },
            "but prompt needs text",
        ),
        (
            Bindings {
                width: "96.cfg".into(),
                ..wan_bind()
            },
            "holds 3.5, but width needs a whole number",
        ),
        (
            Bindings {
                seed: "KSamplerAdvanced.noise_seed".into(),
                ..wan_bind()
            },
            "the title \"KSamplerAdvanced\" is shared by nodes 95, 96",
        ),
        (
            Bindings {
                fps: Some("100.frame_rate".into()),
                ..wan_bind()
            },
            "binding fps = \"100.frame_rate\": node 100 (CreateVideo)",
        ),
    ];
    for (bind, want) in cases {
        let err = load_err(&g, &bind);
        assert!(err.contains(want), "{want:?} not in {err}");
        assert!(!err.contains('\n'), "{err}");
    }
}

#[test]
fn optional_bindings_left_out_keep_the_workflows_values() {
    let bind = Bindings {
        negative: None,
        fps: None,
        prefix: None,
        ..wan_bind()
    };
    let wf = Workflow::load(&fixture("wan22_t2v_a14b.json"), &bind).unwrap();
    assert_eq!(wf.prefix_node(), None);
    let g = wf.apply(&recipe(), "previs/SC001_SH1A_TK01");
    let orig = read("wan22_t2v_a14b.json");
    for (node, input) in [("91", "text"), ("100", "fps"), ("98", "filename_prefix")] {
        assert_eq!(
            g[node]["inputs"][input], orig[node]["inputs"][input],
            "{node}.{input}"
        );
    }
}

#[test]
fn apply_writes_the_recipe_where_the_bindings_say_and_nothing_else() {
    let mut r = recipe();
    let g = wan().apply(&r, "previs/SC001_SH1A_TK01");
    let mut want = read("wan22_t2v_a14b.json");
    want["99"]["inputs"]["text"] = json!("雨夜小巷，a courier sprints");
    want["96"]["inputs"]["noise_seed"] = json!(2_147_483_647u64);
    want["104"]["inputs"]["width"] = json!(832);
    want["104"]["inputs"]["height"] = json!(480);
    want["104"]["inputs"]["length"] = json!(81);
    want["100"]["inputs"]["fps"] = json!(16);
    want["98"]["inputs"]["filename_prefix"] = json!("previs/SC001_SH1A_TK01");
    assert_eq!(g, want, "an empty negative keeps Wan's default list");
    r.negative = "blurry, watermark".into();
    let g = wan().apply(&r, "p");
    assert_eq!(g["91"]["inputs"]["text"], "blurry, watermark");
    // Numbers keep their JSON type: CreateVideo's fps is a float in this graph.
    let g = light().apply(&r, "previs/T");
    assert!(g["4"]["inputs"]["fps"].is_f64(), "{}", g["4"]);
    assert_eq!(g["4"]["inputs"]["fps"], json!(16.0));
    assert!(g["2"]["inputs"]["batch_size"].is_u64());
    assert_eq!(g["2"]["inputs"]["batch_size"], json!(81));
    assert_eq!(g["1"]["inputs"]["value"], "雨夜小巷，a courier sprints");
    assert_eq!(g["3"]["inputs"]["seed"], json!(2_147_483_647u64));
}

// ---- the frame rule ----

fn box_with(workflow: &str, bind: Bindings) -> ComfyUi {
    let c = ComfyConfig {
        name: "box".into(),
        url: "http://127.0.0.1:8188".into(),
        workflow: fixture(workflow),
        bind,
        max_in_flight: None,
        model: None,
        price: None,
    };
    ComfyUi::new(&c, Tuning::default()).unwrap()
}

#[test]
fn the_frame_rule_gives_wan22_4n_plus_1_frames_and_exact_workflows_any_count() {
    let wan = box_with("wan22_t2v_a14b.json", wan_bind());
    let light = box_with("no_weights_t2v.json", light_bind());
    assert_eq!(wan.frames(5.0, 16), 81);
    assert_eq!(wan.frames(1.0, 16), 17);
    assert_eq!(wan.frames(2.0, 24), 49);
    assert_eq!(light.frames(1.0, 24), 24);
    assert_eq!(light.frames(5.0, 16), 80);
    let ok = recipe();
    assert_eq!(wan.check(&ok), Ok(()));
    let mut r = ok.clone();
    r.frames = 80;
    let err = wan.check(&r).unwrap_err();
    assert_eq!(
        err,
        "unsupported length of 80 frames: Wan2.2 needs 4n+1 frames (e.g. 77 or 81)"
    );
    assert_eq!(light.check(&r), Ok(()));
    let mut r = ok.clone();
    r.width = 854;
    let err = wan.check(&r).unwrap_err();
    assert!(
        err.starts_with("unsupported width 854: this Wan2.2 workflow (frame_rule 4n+1) takes widths of 16 to 2048 pixels in steps of 16 (e.g. 848 or 864"),
        "{err}"
    );
    assert_eq!(light.check(&r), Ok(()), "exact takes any even size");
    r.width = 855;
    assert!(light.check(&r).unwrap_err().contains("steps of 2"));
    let mut r = ok;
    r.fps = 0;
    assert!(
        wan.check(&r)
            .unwrap_err()
            .starts_with("unsupported frame rate 0")
    );
}

#[test]
fn estimates_and_costs_follow_the_gpu_hour_price() {
    let mut c = ComfyConfig {
        name: "box".into(),
        url: "http://127.0.0.1:8188".into(),
        workflow: fixture("wan22_t2v_a14b.json"),
        bind: wan_bind(),
        max_in_flight: Some(3),
        model: None,
        price: Some(crate::config::GpuPrice {
            gpu_hour: 3.6,
            currency: "EUR".into(),
            est_gpu_s: Some(500.0),
        }),
    };
    let b = ComfyUi::new(&c, Tuning::default()).unwrap();
    let est = b.estimate(&recipe());
    assert!(
        (est.amount - 0.5).abs() < 1e-9 && est.currency == "EUR",
        "{est:?}"
    );
    assert!((b.cost(72.0).amount - 0.072).abs() < 1e-9);
    assert_eq!(b.max_in_flight(), 3);
    assert_eq!(b.model(), DEFAULT_MODEL);
    assert_eq!(b.submit_kind(), SubmitKind::Idempotent);
    c.price = None;
    let b = ComfyUi::new(&c, Tuning::default()).unwrap();
    assert_eq!(b.estimate(&recipe()), Cost::zero());
}

// ---- progress ----

fn progress(node: &str, value: f64, max: f64) -> Event {
    Event::Progress {
        node: Some(node.into()),
        value,
        max,
    }
}

#[test]
fn progress_combines_the_two_wan22_samplers_into_one_fraction() {
    let wf = wan();
    let mut t = Tracker::new(wf.samplers().to_vec(), wf.node_count());
    let mut seen = Vec::new();
    let mut feed = |t: &mut Tracker, ev: Event| {
        if let Some(v) = t.on(&ev) {
            seen.push(v);
        }
    };
    feed(&mut t, Event::Cached { nodes: vec![] });
    for n in ["90", "99", "91", "101", "93", "104"] {
        feed(
            &mut t,
            Event::Executing {
                node: Some(n.into()),
            },
        );
    }
    feed(
        &mut t,
        Event::Executing {
            node: Some("96".into()),
        },
    );
    for step in 1..=10 {
        feed(&mut t, progress("96", f64::from(step), 10.0));
    }
    feed(
        &mut t,
        Event::NodeStates(vec![("96".into(), true, 10.0, 10.0)]),
    );
    feed(
        &mut t,
        Event::Executing {
            node: Some("95".into()),
        },
    );
    for step in 1..=5 {
        feed(&mut t, progress("95", f64::from(step), 10.0));
    }
    // A stale, lower value never moves progress back.
    feed(&mut t, progress("96", 3.0, 10.0));
    for step in 6..=10 {
        feed(&mut t, progress("95", f64::from(step), 10.0));
    }
    feed(
        &mut t,
        Event::NodeStates(vec![("95".into(), true, 10.0, 10.0)]),
    );
    assert_eq!(
        seen,
        [
            0, 50, 100, 150, 200, 250, 300, 350, 400, 450, 500, 550, 600, 650, 700, 750, 800, 850,
            900, 950, 1000
        ]
    );
    assert_eq!(SCALE, 1000);
}

#[test]
fn without_samplers_progress_is_the_share_of_nodes_done() {
    let wf = light();
    assert!(wf.samplers().is_empty());
    let mut t = Tracker::new(wf.samplers().to_vec(), wf.node_count());
    assert_eq!(
        t.on(&Event::Cached {
            nodes: vec!["1".into(), "6".into()]
        }),
        Some(333)
    );
    assert_eq!(
        t.on(&Event::NodeStates(vec![
            ("1".into(), true, 1.0, 1.0),
            ("2".into(), false, 0.0, 1.0)
        ])),
        None,
        "unchanged: nothing reported"
    );
    assert_eq!(
        t.on(&Event::NodeStates(vec![
            ("2".into(), true, 1.0, 1.0),
            ("3".into(), true, 1.0, 1.0),
            ("4".into(), true, 1.0, 1.0),
            ("5".into(), true, 1.0, 1.0),
        ])),
        Some(1000)
    );
}

mod server;
