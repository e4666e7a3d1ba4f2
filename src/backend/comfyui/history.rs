//! What ComfyUI reports about a prompt, read into plain data: history entries, output files,
//! execution errors and validation errors.
//!
//! Invariant: every text that leaves this module for a user is one sanitised line of bounded
//! length (tracebacks and object dumps are dropped), whatever the server sent.

use serde_json::Value;

use super::workflow::Workflow;

/// A file a node wrote, as `/view` wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub node: String,
    pub filename: String,
    pub subfolder: String,
    pub kind: String,
}

/// How a prompt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    Success,
    /// `execution_error`, as one line.
    Error(String),
    /// `execution_interrupted`, as one line.
    Interrupted(String),
}

/// A finished prompt from `GET /history/{id}`.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub ending: Ending,
    pub outputs: Vec<OutputFile>,
    /// Server timestamps (ms) of `execution_start` and of the end.
    pub started_ms: Option<i64>,
    pub ended_ms: Option<i64>,
}

/// Longest message kept from the server.
const MAX_TEXT: usize = 300;

/// The entry of `prompt_id` in a `/history/{id}` body (`{}` until it finished).
pub fn parse_history(prompt_id: &str, body: &Value) -> Result<Option<HistoryEntry>, String> {
    let Some(map) = body.as_object() else {
        return Err("the answer is not a JSON object".into());
    };
    let Some(entry) = map.get(prompt_id) else {
        return Ok(None);
    };
    let mut outputs = Vec::new();
    if let Some(nodes) = entry.get("outputs").and_then(Value::as_object) {
        for (node, out) in nodes {
            outputs.extend(files_in(node, out));
        }
    }
    let status = entry.get("status");
    let messages = status
        .and_then(|s| s.get("messages"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut ending = match status
        .and_then(|s| s.get("status_str"))
        .and_then(Value::as_str)
    {
        Some("error") => Ending::Error("the render box reported an error without details".into()),
        _ => Ending::Success,
    };
    let (mut started_ms, mut ended_ms) = (None, None);
    for m in messages {
        let (Some(kind), Some(data)) = (m.get(0).and_then(Value::as_str), m.get(1)) else {
            continue;
        };
        let ts = data.get("timestamp").and_then(Value::as_i64);
        match kind {
            "execution_start" => started_ms = ts,
            "execution_success" => ended_ms = ts,
            "execution_error" => {
                ended_ms = ts;
                ending = Ending::Error(error_text(data));
            }
            "execution_interrupted" => {
                ended_ms = ts;
                ending = Ending::Interrupted(interrupted_text(data));
            }
            _ => {}
        }
    }
    Ok(Some(HistoryEntry {
        ending,
        outputs,
        started_ms,
        ended_ms,
    }))
}

/// Every `{filename, subfolder, type}` object in any list of a node's output (`SaveVideo`
/// lists its MP4 under `images`; other nodes use `gifs`, `video` …).
pub fn files_in(node: &str, output: &Value) -> Vec<OutputFile> {
    let mut out = Vec::new();
    let Some(map) = output.as_object() else {
        return out;
    };
    for list in map.values().filter_map(Value::as_array) {
        for item in list {
            let Some(filename) = item.get("filename").and_then(Value::as_str) else {
                continue;
            };
            out.push(OutputFile {
                node: node.to_string(),
                filename: filename.to_string(),
                subfolder: item
                    .get("subfolder")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                kind: item
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("output")
                    .to_string(),
            });
        }
    }
    out
}

fn is_video(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".mp4", ".webm", ".mov", ".mkv", ".m4v"]
        .iter()
        .any(|e| lower.ends_with(e))
}

/// The take among the outputs: a video of the node the prefix is bound to, else of the output
/// node that runs last; an MP4 before other containers.
pub fn pick_video<'a>(files: &'a [OutputFile], wf: &Workflow) -> Option<&'a OutputFile> {
    let videos: Vec<&OutputFile> = files.iter().filter(|f| is_video(&f.filename)).collect();
    let node = wf
        .prefix_node()
        .filter(|p| videos.iter().any(|f| f.node == *p))
        .map(str::to_string)
        .or_else(|| {
            videos
                .iter()
                .max_by_key(|f| wf.position(&f.node))
                .map(|f| f.node.clone())
        })?;
    let of_node: Vec<&OutputFile> = videos.into_iter().filter(|f| f.node == node).collect();
    of_node
        .iter()
        .find(|f| f.filename.to_ascii_lowercase().ends_with(".mp4"))
        .or_else(|| of_node.first())
        .copied()
}

/// `execution_error` data → `SaveVideo (node 5) failed: <exception message>`.
pub fn error_text(data: &Value) -> String {
    let node_type = data.get("node_type").and_then(Value::as_str).unwrap_or("?");
    let node = node_id(data);
    let message = data
        .get("exception_message")
        .and_then(Value::as_str)
        .unwrap_or("unknown error");
    clip(&format!(
        "{node_type} (node {node}) failed: {}",
        message.trim()
    ))
}

/// `execution_interrupted` data → one line.
pub fn interrupted_text(data: &Value) -> String {
    let node_type = data.get("node_type").and_then(Value::as_str).unwrap_or("?");
    clip(&format!(
        "interrupted on the render box at {node_type} (node {})",
        node_id(data)
    ))
}

fn node_id(data: &Value) -> String {
    match data.get("node_id") {
        Some(Value::String(s)) => s.clone(),
        Some(v) if !v.is_null() => v.to_string(),
        _ => "?".into(),
    }
}

/// A 400 body of `POST /prompt` (`error` and `node_errors`) → one line.
pub fn rejection_text(body: &Value) -> String {
    let err = body.get("error");
    let message = err
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .or_else(|| err.and_then(Value::as_str))
        .unwrap_or("the render box rejected the workflow");
    let details = err
        .and_then(|e| e.get("details"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut text = message.trim().trim_end_matches('.').to_string();
    if !details.trim().is_empty() && !message.contains(details.trim()) {
        text.push_str(&format!(" ({})", details.trim()));
    }
    let nodes = node_errors_text(body.get("node_errors"));
    if !nodes.is_empty() {
        text.push_str(": ");
        text.push_str(&nodes);
    }
    clip(&text)
}

/// `node_errors` → `node 4 (CreateVideo) fps: Required input is missing; …` (empty when none).
pub fn node_errors_text(node_errors: Option<&Value>) -> String {
    let Some(map) = node_errors.and_then(Value::as_object) else {
        return String::new();
    };
    let mut parts = Vec::new();
    let mut total = 0;
    for (node, e) in map {
        let class = e.get("class_type").and_then(Value::as_str).unwrap_or("?");
        for err in e
            .get("errors")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            total += 1;
            if parts.len() >= 4 {
                continue;
            }
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("invalid");
            let details = err
                .get("details")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let input = err
                .pointer("/extra_info/input_name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let mut part = format!("node {node} ({class})");
            if !input.is_empty() {
                part.push(' ');
                part.push_str(input);
            }
            part.push_str(": ");
            part.push_str(message.trim());
            if !details.is_empty() && details != input {
                part.push_str(&format!(" ({})", details.trim()));
            }
            parts.push(part);
        }
    }
    if total > parts.len() {
        parts.push(format!("{} more", total - parts.len()));
    }
    parts.join("; ")
}

/// One sanitised line of at most [`MAX_TEXT`] characters.
pub fn clip(text: &str) -> String {
    let line = crate::sanitize::line(text);
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= MAX_TEXT {
        return line;
    }
    let mut cut: String = line.chars().take(MAX_TEXT - 1).collect();
    cut.push('…');
    cut
}
