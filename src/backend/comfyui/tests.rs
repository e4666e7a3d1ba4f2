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

// ---- what the server reports ----

/// 01_basic_mp4/02_GET_history_id (the graph left out).
const HISTORY_SUCCESS: &str = r#"{"1c938ec6-8011-469e-b442-3eb992048dc5": {"prompt": [0, "1c938ec6-8011-469e-b442-3eb992048dc5", {}, {"client_id": "e85e12569d0f409e87519b2c9d016afd"}, ["5", "6"]], "outputs": {"6": {"text": ["a red fox running through fresh snow, cinematic"]}, "5": {"images": [{"filename": "ComfyUI_00001_.mp4", "subfolder": "video", "type": "output"}], "animated": [true]}}, "status": {"status_str": "success", "completed": true, "messages": [["execution_start", {"prompt_id": "1c938ec6-8011-469e-b442-3eb992048dc5", "timestamp": 1795610874078}], ["execution_cached", {"nodes": [], "prompt_id": "1c938ec6-8011-469e-b442-3eb992048dc5", "timestamp": 1795610874079}], ["execution_success", {"prompt_id": "1c938ec6-8011-469e-b442-3eb992048dc5", "timestamp": 1795610874639}]]}, "meta": {"6": {"node_id": "6", "display_node": "6", "parent_node": null, "real_node_id": "6"}, "5": {"node_id": "5", "display_node": "5", "parent_node": null, "real_node_id": "5"}}}}"#;

/// 22_runtime_error_odd_width/02_GET_history_id (the graph and most of the traceback left out).
const HISTORY_ERROR: &str = r#"{"9d86719c-853e-457b-9117-63e937d7d25f": {"prompt": [50, "9d86719c-853e-457b-9117-63e937d7d25f", {}, {"client_id": "e8edb55ce8b04fa3a419ad1e59242006"}, ["5", "6"]], "outputs": {"6": {"text": ["a red fox running through fresh snow, cinematic"]}}, "status": {"status_str": "error", "completed": false, "messages": [["execution_start", {"prompt_id": "9d86719c-853e-457b-9117-63e937d7d25f", "timestamp": 1795611265709}], ["execution_cached", {"nodes": ["1"], "prompt_id": "9d86719c-853e-457b-9117-63e937d7d25f", "timestamp": 1795611265710}], ["execution_error", {"prompt_id": "9d86719c-853e-457b-9117-63e937d7d25f", "node_id": "5", "node_type": "SaveVideo", "executed": ["2", "4", "3", "6"], "exception_message": "[Errno 542398533] Generic error in an external library: 'avcodec_open2(\"libx264\", {})'; last error log: [libx264] width not divisible by 2 (321x241)\n", "exception_type": "av.error.ExternalError", "traceback": ["File \"ComfyUI/execution.py\", line 496, in execute", "File \"av/error.py\", line 354, in av.error.err_check"], "current_inputs": {"video": ["<comfy_api.latest._input_impl.video_types.VideoFromComponents object at 0x7f49a92111d0>"], "filename_prefix": ["video/ComfyUI"], "format": ["mp4"], "codec": ["h264"]}, "current_outputs": ["3", "6", "2", "1", "4", "5"], "timestamp": 1795611265760}]]}, "meta": {"6": {"node_id": "6", "display_node": "6", "parent_node": null, "real_node_id": "6"}}}}"#;

/// 11_queue_delete_interrupt/11_GET_history_A_interrupted (shortened).
const HISTORY_INTERRUPTED: &str = r#"{"45e63e54-45bc-42f9-9663-1a4ccc9351cc": {"prompt": [11, "45e63e54-45bc-42f9-9663-1a4ccc9351cc", {}, {"client_id": "30b1a92c76ba489b8228398f65092ced"}, ["5", "6"]], "outputs": {"6": {"text": ["a red fox running through fresh snow, cinematic"]}}, "status": {"status_str": "error", "completed": false, "messages": [["execution_start", {"prompt_id": "45e63e54-45bc-42f9-9663-1a4ccc9351cc", "timestamp": 1795611200807}], ["execution_cached", {"nodes": ["1", "6"], "prompt_id": "45e63e54-45bc-42f9-9663-1a4ccc9351cc", "timestamp": 1795611201063}], ["execution_interrupted", {"prompt_id": "45e63e54-45bc-42f9-9663-1a4ccc9351cc", "node_id": "8", "node_type": "ImageBlur", "executed": ["3", "2"], "timestamp": 1795611205909}]]}, "meta": {}}}"#;

#[test]
fn history_of_a_finished_prompt_lists_savevideo_files_under_images() {
    let body: Value = serde_json::from_str(HISTORY_SUCCESS).unwrap();
    let e = parse_history("1c938ec6-8011-469e-b442-3eb992048dc5", &body)
        .unwrap()
        .unwrap();
    assert_eq!(e.ending, Ending::Success);
    assert_eq!(
        e.outputs,
        [OutputFile {
            node: "5".into(),
            filename: "ComfyUI_00001_.mp4".into(),
            subfolder: "video".into(),
            kind: "output".into(),
        }],
        "the echoed text of node 6 is no file"
    );
    assert_eq!(
        (e.started_ms, e.ended_ms),
        (Some(1_795_610_874_078), Some(1_795_610_874_639))
    );
}

#[test]
fn history_of_a_failed_or_interrupted_prompt_is_one_line() {
    let body: Value = serde_json::from_str(HISTORY_ERROR).unwrap();
    let e = parse_history("9d86719c-853e-457b-9117-63e937d7d25f", &body)
        .unwrap()
        .unwrap();
    assert_eq!(
        e.ending,
        Ending::Error(
            "SaveVideo (node 5) failed: [Errno 542398533] Generic error in an external library: 'avcodec_open2(\"libx264\", {})'; last error log: [libx264] width not divisible by 2 (321x241)".into()
        )
    );
    assert!(e.outputs.is_empty());
    assert_eq!(e.ended_ms, Some(1_795_611_265_760));
    let body: Value = serde_json::from_str(HISTORY_INTERRUPTED).unwrap();
    let e = parse_history("45e63e54-45bc-42f9-9663-1a4ccc9351cc", &body)
        .unwrap()
        .unwrap();
    assert_eq!(
        e.ending,
        Ending::Interrupted("interrupted on the render box at ImageBlur (node 8)".into())
    );
}

#[test]
fn history_of_an_unknown_prompt_is_none_and_garbage_is_an_error() {
    assert_eq!(parse_history("does-not-exist", &json!({})), Ok(None));
    let body: Value = serde_json::from_str(HISTORY_SUCCESS).unwrap();
    assert_eq!(parse_history("another-id", &body), Ok(None));
    assert!(parse_history("x", &json!(["not", "an", "object"])).is_err());
    // An entry without status or messages still reads (as a success without timestamps).
    let e = parse_history("x", &json!({"x": {"outputs": {}}}))
        .unwrap()
        .unwrap();
    assert_eq!((e.ending, e.started_ms), (Ending::Success, None));
}

#[test]
fn outputs_are_found_in_every_list_of_a_node() {
    let out = json!({
        "gifs": [{"filename": "wan_00001.mp4", "subfolder": "", "type": "output", "format": "video/h264-mp4"}],
        "images": [{"filename": "preview.webp", "subfolder": "v", "type": "temp"}],
        "video": [{"filename": "b.webm"}],
        "text": ["no file"],
        "animated": [true]
    });
    let mut files = files_in("80", &out);
    files.sort_by(|a, b| a.filename.cmp(&b.filename));
    let names: Vec<(&str, &str, &str)> = files
        .iter()
        .map(|f| (f.filename.as_str(), f.subfolder.as_str(), f.kind.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("b.webm", "", "output"),
            ("preview.webp", "v", "temp"),
            ("wan_00001.mp4", "", "output")
        ]
    );
    assert!(files_in("1", &json!("not an object")).is_empty());
}

fn file(node: &str, name: &str) -> OutputFile {
    OutputFile {
        node: node.into(),
        filename: name.into(),
        subfolder: "previs".into(),
        kind: "output".into(),
    }
}

#[test]
fn the_take_is_the_video_of_the_prefix_node_mp4_first() {
    let wf = wan();
    let files = [
        file("97", "frame.png"),
        file("98", "a_00001_.webm"),
        file("98", "a_00001_.mp4"),
        file("50", "other_00001_.mp4"),
    ];
    assert_eq!(pick_video(&files, &wf).unwrap().filename, "a_00001_.mp4");
    assert!(pick_video(&files[..1], &wf).is_none(), "no video, no take");
    // Without a prefix binding: the output that runs last.
    let bind = Bindings {
        prefix: None,
        ..wan_bind()
    };
    let wf = Workflow::load(&fixture("wan22_t2v_a14b.json"), &bind).unwrap();
    let files = [file("91", "early.mp4"), file("98", "late.mp4")];
    assert_eq!(pick_video(&files, &wf).unwrap().filename, "late.mp4");
}

/// 20_errors_post_prompt/13_two_errors_at_once: a 200 with node_errors.
const NODE_ERRORS_ON_200: &str = r#"{"prompt_id": "6486d407-a3e0-40f9-9683-8398af699e86", "number": 30, "node_errors": {"2": {"errors": [{"type": "value_smaller_than_min", "message": "Value 0 smaller than min of 1", "details": "width", "extra_info": {"input_name": "width", "input_config": ["INT", {"default": 512, "min": 1, "max": 16384, "step": 1}], "received_value": 0}}], "dependent_outputs": ["5"], "class_type": "EmptyImage"}, "4": {"errors": [{"type": "required_input_missing", "message": "Required input is missing", "details": "fps", "extra_info": {"input_name": "fps"}}], "dependent_outputs": ["5"], "class_type": "CreateVideo"}}}"#;

#[test]
fn node_errors_on_a_200_become_one_line_per_node_and_input() {
    let v: Value = serde_json::from_str(NODE_ERRORS_ON_200).unwrap();
    assert_eq!(
        node_errors_text(v.get("node_errors")),
        "node 2 (EmptyImage) width: Value 0 smaller than min of 1; node 4 (CreateVideo) fps: Required input is missing"
    );
    assert_eq!(node_errors_text(Some(&json!({}))), "");
    assert_eq!(node_errors_text(None), "");
    let many: serde_json::Map<String, Value> = (1..=6)
        .map(|i| {
            (
                i.to_string(),
                json!({"class_type": "X", "errors": [{"message": "bad"}]}),
            )
        })
        .collect();
    let text = node_errors_text(Some(&Value::Object(many)));
    assert!(text.ends_with("; 2 more"), "{text}");
}

#[test]
fn a_400_answer_becomes_one_line_with_the_servers_reasons() {
    let cases = [
        (
            r#"{"error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": "", "extra_info": {}}, "node_errors": {"4": {"errors": [{"type": "required_input_missing", "message": "Required input is missing", "details": "fps", "extra_info": {"input_name": "fps"}}], "dependent_outputs": ["5"], "class_type": "CreateVideo"}}}"#,
            "Prompt outputs failed validation: node 4 (CreateVideo) fps: Required input is missing",
        ),
        (
            r#"{"error": {"type": "invalid_prompt", "message": "Cannot execute because node NoSuchNode does not exist.", "details": "Node ID '#2'", "extra_info": {}}, "node_errors": {}}"#,
            "Cannot execute because node NoSuchNode does not exist (Node ID '#2')",
        ),
        (
            r#"{"error": {"type": "no_prompt", "message": "No prompt provided", "details": "No prompt provided", "extra_info": {}}, "node_errors": {}}"#,
            "No prompt provided",
        ),
        (
            r#"{"error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": "Value not in list: unet_name: 'x.safetensors' not in (list of length 23)", "extra_info": {}}, "node_errors": {"101": {"class_type": "UNETLoader", "dependent_outputs": ["98"], "errors": [{"type": "value_not_in_list", "message": "Value not in list", "details": "unet_name: 'x.safetensors' not in (list of length 23)", "extra_info": {"input_name": "unet_name"}}]}}}"#,
            "Prompt outputs failed validation (Value not in list: unet_name: 'x.safetensors' not in (list of length 23)): node 101 (UNETLoader) unet_name: Value not in list (unet_name: 'x.safetensors' not in (list of length 23))",
        ),
    ];
    for (body, want) in cases {
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(rejection_text(&v), want);
    }
}

#[test]
fn socket_frames_are_read_as_events_of_their_prompt() {
    let pid = "1c938ec6-8011-469e-b442-3eb992048dc5";
    assert_eq!(
        parse(
            r#"{"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 0}}, "sid": "e85e"}}"#
        ),
        None
    );
    assert_eq!(
        parse(&format!(
            r#"{{"type": "execution_start", "data": {{"prompt_id": "{pid}", "timestamp": 1795610874078}}}}"#
        )),
        Some((
            pid.into(),
            Event::Started {
                ts: Some(1_795_610_874_078)
            }
        ))
    );
    assert_eq!(
        parse(&format!(
            r#"{{"type": "executing", "data": {{"node": null, "prompt_id": "{pid}"}}}}"#
        )),
        Some((pid.into(), Event::Executing { node: None }))
    );
    assert_eq!(
        parse(
            r#"{"type": "progress", "data": {"value": 3, "max": 8, "prompt_id": "p", "node": "7"}}"#
        ),
        Some(("p".into(), progress("7", 3.0, 8.0)))
    );
    let Some((_, Event::NodeStates(states))) = parse(
        r#"{"type": "progress_state", "data": {"prompt_id": "p", "nodes": {"1": {"value": 1.0, "max": 1.0, "state": "finished", "node_id": "1", "prompt_id": "p", "display_node_id": "1", "parent_node_id": null, "real_node_id": "1"}, "6": {"value": 0.0, "max": 1.0, "state": "running", "node_id": "6", "prompt_id": "p", "display_node_id": "6", "parent_node_id": null, "real_node_id": "6"}}}}"#,
    ) else {
        panic!("progress_state");
    };
    assert_eq!(
        states,
        [("1".into(), true, 1.0, 1.0), ("6".into(), false, 0.0, 1.0)]
    );
    let Some((_, Event::Error { text, .. })) = parse(
        r#"{"type": "execution_error", "data": {"prompt_id": "p", "node_id": "96", "node_type": "KSamplerAdvanced", "executed": [], "exception_message": "Allocation on device\u001b[31m would exceed\nallowed memory", "exception_type": "torch.OutOfMemoryError", "traceback": ["File \"x.py\""], "timestamp": 1}}"#,
    ) else {
        panic!("execution_error");
    };
    assert_eq!(
        text,
        "KSamplerAdvanced (node 96) failed: Allocation on device would exceed allowed memory"
    );
    assert_eq!(parse("not json"), None);
    assert_eq!(parse(r#"{"type": "feature_flags", "data": {}}"#), None);
}

#[test]
fn server_text_is_clipped_to_one_clean_line() {
    let long = format!("\u{1b}]0;title\u{7}bad{}\r\nnext", "x".repeat(1000));
    let c = history::clip(&long);
    assert!(c.chars().count() <= 300 && c.ends_with('…'), "{c}");
    assert!(
        !c.contains('\u{1b}') && !c.contains('\n') && !c.contains('\r'),
        "{c}"
    );
}

#[test]
fn take_prefixes_are_safe_file_names() {
    let job = |code: &str| RenderJob {
        job: crate::model::JobId(7),
        recipe: recipe(),
        slate: crate::model::Slate {
            take_code: code.into(),
            ..Default::default()
        },
        submission_key: "k".into(),
        out: PathBuf::from("/tmp/x"),
        remote_id: None,
    };
    assert_eq!(
        run::take_prefix(&job("SC001_SH1A_TK01")),
        "previs/SC001_SH1A_TK01"
    );
    assert_eq!(run::take_prefix(&job("../夜 1")), "previs/_____1");
    assert_eq!(run::take_prefix(&job("")), "previs/job7");
}
