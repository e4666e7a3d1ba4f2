//! The API-format workflow a ComfyUI backend submits, and where previs writes its values.
//!
//! Invariant: a [`Workflow`] only exists for a file that is an API-format graph (not a UI
//! export), whose links all point at nodes of the graph, and whose every binding names an
//! existing, unlinked input of the right JSON type. [`Workflow::apply`] therefore cannot fail,
//! and a graph that fails these checks is never submitted.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::config::{Bindings, FrameRule};
use crate::model::Recipe;

/// An input of a node: `"96".noise_seed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub node: String,
    pub input: String,
}

/// A model file the workflow loads (checked against the server's lists by `health`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    pub node: String,
    pub class: String,
    pub input: String,
    pub file: String,
}

#[derive(Debug, Clone)]
struct Binds {
    prompt: Target,
    negative: Option<Target>,
    seed: Target,
    width: Target,
    height: Target,
    frames: Target,
    fps: Option<Target>,
    prefix: Option<Target>,
}

/// What each binding must hold in the workflow.
#[derive(Clone, Copy)]
enum Want {
    Text,
    Integer,
    Number,
}

#[derive(Debug, Clone)]
pub struct Workflow {
    path: PathBuf,
    graph: Map<String, Value>,
    binds: Binds,
    pub frame_rule: FrameRule,
    /// Sampler nodes in the order they run (each later one depends on the earlier ones).
    samplers: Vec<String>,
    /// Every node id, dependencies before dependents.
    order: Vec<String>,
    loaders: Vec<ModelRef>,
}

/// Loader classes and the inputs that name model files.
const LOADERS: &[(&str, &[&str])] = &[
    ("UNETLoader", &["unet_name"]),
    ("CLIPLoader", &["clip_name"]),
    ("DualCLIPLoader", &["clip_name1", "clip_name2"]),
    (
        "TripleCLIPLoader",
        &["clip_name1", "clip_name2", "clip_name3"],
    ),
    ("VAELoader", &["vae_name"]),
    ("LoraLoaderModelOnly", &["lora_name"]),
    ("LoraLoader", &["lora_name"]),
    ("CheckpointLoaderSimple", &["ckpt_name"]),
    ("CLIPVisionLoader", &["clip_name"]),
    ("UpscaleModelLoader", &["model_name"]),
];

const MODEL_EXTENSIONS: &[&str] = &[".safetensors", ".ckpt", ".pt", ".pth", ".gguf", ".bin"];

const EXPORT_HINT: &str = "in ComfyUI enable the dev mode options (Settings → Comfy → \"Enable dev mode options\"), then use Workflow → Export (API) and point `workflow =` at that file";

impl Workflow {
    /// Reads and checks `path` with `bind`; the error is one line naming the file or the
    /// binding and what to change.
    pub fn load(path: &Path, bind: &Bindings) -> Result<Self, String> {
        let shown = path.display();
        let text = std::fs::read_to_string(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "workflow file {shown} not found; set `workflow =` to an API-format workflow JSON (a relative path is relative to config.toml)"
                )
            } else {
                format!("workflow file {shown}: {e}")
            }
        })?;
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            format!(
                "workflow file {shown} is not valid JSON (line {}, column {}: {}); {EXPORT_HINT}",
                e.line(),
                e.column(),
                strip_position(&e.to_string())
            )
        })?;
        Self::from_value(path, value, bind).map_err(|e| crate::sanitize::line(&e))
    }

    fn from_value(path: &Path, value: Value, bind: &Bindings) -> Result<Self, String> {
        let shown = path.display();
        let Value::Object(mut top) = value else {
            return Err(format!(
                "workflow file {shown} is not a JSON object of nodes; {EXPORT_HINT}"
            ));
        };
        if top.get("nodes").is_some_and(Value::is_array)
            || top.get("links").is_some_and(Value::is_array)
        {
            return Err(format!(
                "workflow file {shown} is a UI-format workflow (it has \"nodes\"/\"links\" arrays), but previs needs the API format: {EXPORT_HINT}"
            ));
        }
        // A saved `POST /prompt` body holds the graph under "prompt".
        if !top.contains_key("class_type") && top.len() <= 6 {
            if let Some(Value::Object(inner)) = top.get("prompt") {
                if inner.values().all(|v| v.get("class_type").is_some()) && !inner.is_empty() {
                    top = inner.clone();
                }
            }
        }
        if top.is_empty() {
            return Err(format!("workflow file {shown} has no nodes; {EXPORT_HINT}"));
        }
        for (id, node) in &top {
            let class = node.get("class_type").and_then(Value::as_str);
            let inputs = node.get("inputs").and_then(Value::as_object);
            let (Some(_), Some(inputs)) = (class, inputs) else {
                return Err(format!(
                    "workflow file {shown}: node {id:?} has no \"class_type\" and \"inputs\", so this is not an API-format workflow; {EXPORT_HINT}"
                ));
            };
            for (name, v) in inputs {
                if let Some((from, _)) = link(v) {
                    if !top.contains_key(from) {
                        return Err(format!(
                            "workflow file {shown}: input {name:?} of node {id} links to node {from}, which is not in the workflow; export the workflow again"
                        ));
                    }
                }
            }
        }
        let binds = Binds {
            prompt: resolve(&top, path, "prompt", &bind.prompt, Want::Text)?,
            negative: opt(&top, path, "negative", bind.negative.as_deref(), Want::Text)?,
            seed: resolve(&top, path, "seed", &bind.seed, Want::Integer)?,
            width: resolve(&top, path, "width", &bind.width, Want::Integer)?,
            height: resolve(&top, path, "height", &bind.height, Want::Integer)?,
            frames: resolve(&top, path, "frames", &bind.frames, Want::Integer)?,
            fps: opt(&top, path, "fps", bind.fps.as_deref(), Want::Number)?,
            prefix: opt(&top, path, "prefix", bind.prefix.as_deref(), Want::Text)?,
        };
        let order = topo_order(&top);
        let samplers = samplers(&top);
        let loaders = loaders(&top);
        Ok(Self {
            path: path.to_path_buf(),
            graph: top,
            binds,
            frame_rule: bind.frame_rule,
            samplers,
            order,
            loaders,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The graph with the recipe's values written in. `prefix` goes into the bound output
    /// prefix. An empty negative prompt keeps the workflow's own (Wan's default list).
    /// Numbers keep the JSON type they have in the workflow (a float fps stays a float).
    pub fn apply(&self, recipe: &Recipe, prefix: &str) -> Value {
        let mut g = self.graph.clone();
        let b = &self.binds;
        set(&mut g, &b.prompt, |_| Value::String(recipe.prompt.clone()));
        if let Some(t) = &b.negative {
            if !recipe.negative.trim().is_empty() {
                set(&mut g, t, |_| Value::String(recipe.negative.clone()));
            }
        }
        set(&mut g, &b.seed, |old| number_like(old, recipe.seed));
        set(&mut g, &b.width, |old| {
            number_like(old, u64::from(recipe.width))
        });
        set(&mut g, &b.height, |old| {
            number_like(old, u64::from(recipe.height))
        });
        set(&mut g, &b.frames, |old| {
            number_like(old, u64::from(recipe.frames))
        });
        if let Some(t) = &b.fps {
            set(&mut g, t, |old| number_like(old, u64::from(recipe.fps)));
        }
        if let Some(t) = &b.prefix {
            set(&mut g, t, |_| Value::String(prefix.to_string()));
        }
        Value::Object(g)
    }

    pub fn node_count(&self) -> usize {
        self.graph.len()
    }

    pub fn samplers(&self) -> &[String] {
        &self.samplers
    }

    pub fn loaders(&self) -> &[ModelRef] {
        &self.loaders
    }

    /// Every node class the workflow uses.
    pub fn classes(&self) -> BTreeSet<String> {
        self.graph
            .values()
            .filter_map(|n| n.get("class_type").and_then(Value::as_str))
            .map(str::to_string)
            .collect()
    }

    /// The node whose output is the take: the one the prefix is bound to, if any.
    pub fn prefix_node(&self) -> Option<&str> {
        self.binds.prefix.as_ref().map(|t| t.node.as_str())
    }

    /// Position of `node` in run order (unknown nodes first).
    pub fn position(&self, node: &str) -> usize {
        self.order
            .iter()
            .position(|n| n == node)
            .map_or(0, |p| p + 1)
    }
}

/// `["93", 0]` → ("93", 0).
pub fn link(v: &Value) -> Option<(&str, u64)> {
    match v.as_array().map(Vec::as_slice) {
        Some([Value::String(from), slot]) => slot.as_u64().map(|s| (from.as_str(), s)),
        _ => None,
    }
}

fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn opt(
    g: &Map<String, Value>,
    path: &Path,
    what: &str,
    spec: Option<&str>,
    want: Want,
) -> Result<Option<Target>, String> {
    spec.map(|s| resolve(g, path, what, s, want)).transpose()
}

/// `NODE.INPUT` → a checked target. NODE is a node id or a unique `_meta.title`.
fn resolve(
    g: &Map<String, Value>,
    path: &Path,
    what: &str,
    spec: &str,
    want: Want,
) -> Result<Target, String> {
    let shown = path.display();
    let head = format!("binding {what} = {spec:?}");
    let Some((node_ref, input)) = spec
        .rsplit_once('.')
        .filter(|(n, i)| !n.is_empty() && !i.is_empty())
    else {
        return Err(format!(
            "{head} must be NODE.INPUT (a node id or its _meta.title, a dot, an input name), e.g. \"99.text\""
        ));
    };
    let node = if g.contains_key(node_ref) {
        node_ref.to_string()
    } else {
        let mut titled: Vec<&String> = g
            .iter()
            .filter(|(_, n)| n.pointer("/_meta/title").and_then(Value::as_str) == Some(node_ref))
            .map(|(id, _)| id)
            .collect();
        titled.sort_by_key(|id| id_key(id));
        match titled.as_slice() {
            [one] => (*one).clone(),
            [] => {
                return Err(format!(
                    "{head}: workflow {shown} has no node with id or title {node_ref:?} (nodes: {}); fix the binding in config.toml",
                    node_list(g)
                ));
            }
            many => {
                return Err(format!(
                    "{head}: the title {node_ref:?} is shared by nodes {} in workflow {shown}; bind by node id instead",
                    many.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    };
    let n = &g[&node];
    let class = n.get("class_type").and_then(Value::as_str).unwrap_or("?");
    let inputs = n.get("inputs").and_then(Value::as_object);
    let Some(value) = inputs.and_then(|i| i.get(input)) else {
        let names: Vec<&str> = inputs
            .map(|i| i.keys().map(String::as_str).collect())
            .unwrap_or_default();
        return Err(format!(
            "{head}: node {node} ({class}) in workflow {shown} has no input {input:?} (its inputs: {}); fix the binding in config.toml",
            names.join(", ")
        ));
    };
    if let Some((from, _)) = link(value) {
        return Err(format!(
            "{head}: input {input:?} of node {node} ({class}) is linked to node {from}; bind the input of node {from} that holds the value instead"
        ));
    }
    let ok = match want {
        Want::Text => value.is_string(),
        Want::Integer => value.is_u64() || value.is_i64(),
        Want::Number => value.is_number(),
    };
    if !ok {
        let kind = match want {
            Want::Text => "text",
            Want::Integer => "a whole number",
            Want::Number => "a number",
        };
        return Err(format!(
            "{head}: input {input:?} of node {node} ({class}) holds {value}, but {what} needs {kind}; bind the input that takes the {what}"
        ));
    }
    Ok(Target {
        node,
        input: input.to_string(),
    })
}

fn node_list(g: &Map<String, Value>) -> String {
    let mut ids: Vec<(&String, &Value)> = g.iter().collect();
    ids.sort_by_key(|(id, _)| id_key(id));
    let mut parts: Vec<String> = ids
        .into_iter()
        .take(12)
        .map(|(id, n)| {
            let title = n
                .pointer("/_meta/title")
                .and_then(Value::as_str)
                .or_else(|| n.get("class_type").and_then(Value::as_str))
                .unwrap_or("?");
            format!("{id} {title:?}")
        })
        .collect();
    if g.len() > 12 {
        parts.push(format!("… {} more", g.len() - 12));
    }
    parts.join(", ")
}

fn set(g: &mut Map<String, Value>, t: &Target, value: impl FnOnce(&Value) -> Value) {
    if let Some(slot) = g
        .get_mut(&t.node)
        .and_then(|n| n.get_mut("inputs"))
        .and_then(Value::as_object_mut)
        .and_then(|i| i.get_mut(&t.input))
    {
        *slot = value(slot);
    }
}

fn number_like(old: &Value, n: u64) -> Value {
    if old.is_f64() {
        Value::from(n as f64)
    } else {
        Value::from(n)
    }
}

/// Ids ordered numerically where they are numbers (`"9"` before `"10"`), then as text.
fn id_key(id: &str) -> (u64, &str) {
    (id.parse::<u64>().unwrap_or(u64::MAX), id)
}

fn links_of(node: &Value) -> Vec<String> {
    node.get("inputs")
        .and_then(Value::as_object)
        .map(|i| {
            i.values()
                .filter_map(|v| link(v).map(|(f, _)| f.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Dependencies before dependents; ties in id order. Cycles (invalid anyway) do not hang.
fn topo_order(g: &Map<String, Value>) -> Vec<String> {
    let mut ids: Vec<&String> = g.keys().collect();
    ids.sort_by_key(|id| id_key(id));
    let mut done = HashSet::new();
    let mut out = Vec::with_capacity(g.len());
    for id in ids {
        visit(g, id, &mut done, &mut out, 0);
    }
    out
}

fn visit(
    g: &Map<String, Value>,
    id: &str,
    done: &mut HashSet<String>,
    out: &mut Vec<String>,
    depth: usize,
) {
    if depth > g.len() || !done.insert(id.to_string()) {
        return;
    }
    if let Some(node) = g.get(id) {
        let mut deps = links_of(node);
        deps.sort_by(|a, b| id_key(a).cmp(&id_key(b)));
        for d in deps {
            visit(g, &d, done, out, depth + 1);
        }
    }
    out.push(id.to_string());
}

fn is_sampler(class: &str) -> bool {
    class == "KSampler" || class == "KSamplerAdvanced" || class.starts_with("SamplerCustom")
}

/// Sampler nodes, each after the samplers it depends on.
fn samplers(g: &Map<String, Value>) -> Vec<String> {
    let ids: Vec<&String> = g
        .iter()
        .filter(|(_, n)| {
            n.get("class_type")
                .and_then(Value::as_str)
                .is_some_and(is_sampler)
        })
        .map(|(id, _)| id)
        .collect();
    let mut memo: HashMap<String, HashSet<String>> = HashMap::new();
    let mut keyed: Vec<(usize, (u64, &str))> = ids
        .iter()
        .map(|id| {
            let anc = ancestors(g, id, &mut memo);
            let before = ids.iter().filter(|o| anc.contains(o.as_str())).count();
            (before, id_key(id))
        })
        .collect();
    keyed.sort();
    keyed
        .into_iter()
        .map(|(_, (_, id))| id.to_string())
        .collect()
}

fn ancestors(
    g: &Map<String, Value>,
    id: &str,
    memo: &mut HashMap<String, HashSet<String>>,
) -> HashSet<String> {
    if let Some(a) = memo.get(id) {
        return a.clone();
    }
    let mut seen = HashSet::new();
    let mut stack: Vec<String> = g.get(id).map(links_of).unwrap_or_default();
    while let Some(n) = stack.pop() {
        if seen.insert(n.clone()) {
            if let Some(node) = g.get(&n) {
                stack.extend(links_of(node));
            }
        }
    }
    memo.insert(id.to_string(), seen.clone());
    seen
}

/// Model files named by loader nodes: the known loaders, and any `*Loader*` node's `*_name`
/// input that holds a model file name.
fn loaders(g: &Map<String, Value>) -> Vec<ModelRef> {
    let mut out = Vec::new();
    let mut ids: Vec<&String> = g.keys().collect();
    ids.sort_by_key(|id| id_key(id));
    for id in ids {
        let node = &g[id];
        let Some(class) = node.get("class_type").and_then(Value::as_str) else {
            continue;
        };
        let Some(inputs) = node.get("inputs").and_then(Value::as_object) else {
            continue;
        };
        let known = LOADERS.iter().find(|(c, _)| *c == class).map(|(_, i)| *i);
        for (name, v) in inputs {
            let Some(file) = v.as_str() else { continue };
            let listed = known.is_some_and(|k| k.contains(&name.as_str()));
            let guessed = known.is_none()
                && class.contains("Loader")
                && name.ends_with("_name")
                && MODEL_EXTENSIONS.iter().any(|e| file.ends_with(e));
            if listed || guessed {
                out.push(ModelRef {
                    node: id.clone(),
                    class: class.to_string(),
                    input: name.clone(),
                    file: file.to_string(),
                });
            }
        }
    }
    out
}
