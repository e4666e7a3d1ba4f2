//! `previs backends --check` for a render box: reachable and how fast, its GPUs, how busy it
//! is, and whether it has every node class and model file the workflow uses.
//!
//! Invariants: a health check never fails; each problem is one line that says what to do; the
//! model files are reported present only when the server listed them (`missing_models` is
//! `None` when a loader's list could not be read and nothing is known to be missing).

use std::time::Instant;

use serde_json::Value;

use super::ComfyUi;
use super::workflow::ModelRef;
use crate::backend::{Gpu, Health};

/// Where ComfyUI keeps the files of a loader class.
fn folder(class: &str) -> &'static str {
    match class {
        "UNETLoader" => "models/diffusion_models",
        "CLIPLoader" | "DualCLIPLoader" | "TripleCLIPLoader" => "models/text_encoders",
        "VAELoader" => "models/vae",
        "LoraLoader" | "LoraLoaderModelOnly" => "models/loras",
        "CheckpointLoaderSimple" => "models/checkpoints",
        "CLIPVisionLoader" => "models/clip_vision",
        "UpscaleModelLoader" => "models/upscale_models",
        _ => "the models folder its node reads",
    }
}

/// The choices of a combo input in an `/object_info/{class}` answer: `[[…names…], {…}]`, or
/// the newer `["COMBO", {"options": […]}]`.
fn combo<'a>(info: &'a Value, class: &str, input: &str) -> Option<Vec<&'a str>> {
    let inputs = info.get(class)?.get("input")?;
    let spec = inputs
        .get("required")
        .and_then(|r| r.get(input))
        .or_else(|| inputs.get("optional").and_then(|o| o.get(input)))?;
    let first = spec.get(0)?;
    let list = match first {
        Value::Array(a) => a,
        Value::String(s) if s == "COMBO" => spec.get(1)?.get("options")?.as_array()?,
        _ => return None,
    };
    Some(list.iter().filter_map(Value::as_str).collect())
}

impl ComfyUi {
    pub(super) async fn check_health(&self) -> Health {
        let mut h = Health::default();
        let began = Instant::now();
        let stats = match self.client.get_json(&["system_stats"]).await {
            Ok(v) => v,
            Err(e) => {
                h.problems.push(format!(
                    "{}; is ComfyUI running there and listening on that address (`python main.py --listen 0.0.0.0`)?",
                    e.message()
                ));
                return h;
            }
        };
        h.reachable = true;
        h.latency_ms = Some(u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX));
        for d in stats
            .get("devices")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            h.gpus.push(Gpu {
                name: crate::sanitize::line(d.get("name").and_then(Value::as_str).unwrap_or("?")),
                vram_total: d.get("vram_total").and_then(Value::as_u64).unwrap_or(0),
                vram_free: d.get("vram_free").and_then(Value::as_u64).unwrap_or(0),
            });
        }
        if let Some(v) = stats
            .pointer("/system/comfyui_version")
            .and_then(Value::as_str)
        {
            tracing::info!(backend = %self.name, version = v, "ComfyUI version");
        }
        match self.client.get_json(&["prompt"]).await {
            Ok(v) => {
                h.queue_depth = v
                    .pointer("/exec_info/queue_remaining")
                    .and_then(Value::as_u64)
            }
            Err(e) => h.problems.push(e.message().to_string()),
        }
        let classes: Vec<String> = self.workflow.classes().into_iter().collect();
        let infos = futures_util::future::join_all(
            classes
                .iter()
                .map(|c| async move { self.client.get_json(&["object_info", c.as_str()]).await }),
        )
        .await;
        let mut unknown = Vec::new();
        let mut missing: Vec<&ModelRef> = Vec::new();
        let mut failed: Vec<&str> = Vec::new();
        // Model files whose class could not be asked about: not known to be there.
        let mut unchecked = false;
        for (class, info) in classes.iter().zip(&infos) {
            let loads = self.workflow.loaders().iter().filter(|m| &m.class == class);
            let info = match info {
                Ok(v) => v,
                Err(e) => {
                    failed.push(e.message());
                    unchecked |= loads.clone().next().is_some();
                    continue;
                }
            };
            if info.get(class.as_str()).is_none() {
                unknown.push(class.as_str());
                unchecked |= loads.clone().next().is_some();
                continue;
            }
            for m in loads {
                match combo(info, class, &m.input) {
                    Some(choices) if !choices.contains(&m.file.as_str()) => missing.push(m),
                    Some(_) => {}
                    None => unchecked = true,
                }
            }
        }
        if let Some(first) = failed.first() {
            // One cause (a proxy, a crashed server) usually fails them all: one line.
            let more = match failed.len() {
                1 => String::new(),
                n => format!(" (and {} more node types)", n - 1),
            };
            h.problems.push(format!(
                "{first}{more}; the workflow's node types and model files were not checked"
            ));
        }
        if !unknown.is_empty() {
            h.problems.push(format!(
                "the render box does not know the node types {} used by {}; install the custom nodes that provide them, or update ComfyUI",
                unknown.join(", "),
                self.workflow.path().display()
            ));
        }
        let mut files: Vec<String> = Vec::new();
        for m in &missing {
            if !files.contains(&m.file) {
                files.push(m.file.clone());
            }
        }
        h.missing_models = (!unchecked || !files.is_empty()).then_some(files);
        if !missing.is_empty() {
            let list: Vec<String> = missing
                .iter()
                .map(|m| {
                    format!(
                        "{} (node {} {}, into ComfyUI/{})",
                        m.file,
                        m.node,
                        m.class,
                        folder(&m.class)
                    )
                })
                .collect();
            h.problems.push(crate::sanitize::line(&format!(
                "missing model files on the render box: {}; download them there, or change the workflow",
                list.join("; ")
            )));
        }
        h
    }
}
