//! Unit tests of what a ComfyUI server reports: history, node errors, socket frames.

use super::*;

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

#[test]
fn prompts_longer_than_the_text_encoder_reads_are_refused() {
    assert_eq!(min_tokens("a red fox, 在雪地里奔跑"), 3 + 6);
    let b = box_with("wan22_t2v_a14b.json", wan_bind());
    let mut r = recipe();
    r.prompt = "a red fox runs through the snow. ".repeat(60);
    assert!(b.check(&r).is_ok(), "420 words may fit");
    r.prompt = "a red fox runs through the snow. ".repeat(80);
    let e = b.check(&r).unwrap_err();
    assert!(e.contains("at least 560") && e.contains("512"), "{e}");
    r.prompt = "狐狸在雪地里奔跑。".repeat(80);
    let e = b.check(&r).unwrap_err();
    assert!(e.contains("at least 640") && e.contains("512"), "{e}");
    r.prompt = "狐狸在雪地里奔跑。".repeat(40);
    assert!(b.check(&r).is_ok());
}
