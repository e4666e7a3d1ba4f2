//! Reading the workstation's projections from the store: the snapshot (project, scenes, shots,
//! unfinished jobs, the script) and the history rows (every take and every job that ended
//! without one).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::engine::JobView;
use crate::model::{JobState, Take};
use crate::store::{Store, StoreError};

use super::msg::Snapshot;
use super::state::{RowState, TakeRow};

/// Where a project without a script file keeps the one written in the Script view.
pub fn default_script_path(data_dir: &Path, project: &str) -> PathBuf {
    data_dir.join("scripts").join(format!("{project}.fountain"))
}

pub fn snapshot(store: &Store, project: &str) -> Result<Snapshot, StoreError> {
    let data_dir = store.dir().to_path_buf();
    let project = store.project(project)?.ok_or_else(|| {
        StoreError::Conflict(format!(
            "project {project} is gone from the store; `previs init {project}` creates it"
        ))
    })?;
    let scenes = store.scenes(&project.name)?;
    let shots = store.shots(&project.name)?;
    let mut jobs: Vec<JobView> = store
        .unfinished_jobs()?
        .iter()
        .filter(|j| j.project == project.name)
        .map(|j| JobView::new(j, None, None, &data_dir))
        .collect();
    jobs.sort_by_key(|j| (j.priority, j.id));
    let path = project
        .script
        .as_ref()
        .filter(|s| s.format == "fountain" || s.format == "csv")
        .map(|s| PathBuf::from(&s.path))
        .unwrap_or_else(|| default_script_path(&data_dir, &project.name));
    let text = match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::new(),
    };
    Ok(Snapshot {
        paused: store.queue_paused()?,
        project,
        scenes,
        shots,
        jobs,
        script: Some((path, text)),
    })
}

/// The history rows of `project`, oldest first.
pub fn take_rows(store: &Store, project: &str) -> Result<Vec<TakeRow>, StoreError> {
    let data_dir = store.dir().to_path_buf();
    let circled: BTreeSet<u64> = store
        .shots(project)?
        .iter()
        .filter_map(|s| s.circled.map(|t| t.0))
        .collect();
    let takes = store.takes(project)?;
    let codes: std::collections::HashMap<u64, String> =
        takes.iter().map(|t| (t.id.0, t.code.clone())).collect();
    let mut rows: Vec<TakeRow> = takes
        .iter()
        .map(|t| row(t, &data_dir, circled.contains(&t.id.0), &codes))
        .collect();
    for j in store.jobs()?.iter().filter(|j| j.project == project) {
        let state = match &j.state {
            JobState::Failed { reason, .. } => RowState::Failed(reason.clone()),
            JobState::Canceled => RowState::Canceled,
            _ => continue,
        };
        let v = JobView::new(j, None, None, &data_dir);
        rows.push(TakeRow {
            is_take: false,
            job: v.id,
            code: v.take,
            shot_code: v.shot,
            state,
            prompt: v.prompt,
            seed: v.seed,
            backend: v.backend,
            model: v.model,
            style: j.recipe.style.clone().unwrap_or_default(),
            variant: j.recipe.variant_label(),
            cost: 0.0,
            currency: v.currency,
            render_ms: 0,
            created_at: v.finished_at.unwrap_or(v.created_at),
            path: String::new(),
            width: v.width,
            height: v.height,
            duration_s: v.duration_s,
            parent: v.parent,
            circled: false,
        });
    }
    rows.sort_by_key(|r| r.created_at);
    Ok(rows)
}

fn row(
    t: &Take,
    data_dir: &Path,
    circled: bool,
    codes: &std::collections::HashMap<u64, String>,
) -> TakeRow {
    TakeRow {
        is_take: true,
        job: t.job.0,
        code: t.code.clone(),
        shot_code: t.shot_code.clone(),
        state: RowState::Done,
        prompt: t.recipe.prompt.clone(),
        seed: t.recipe.seed,
        backend: t.recipe.backend.clone(),
        model: t.recipe.model.clone(),
        style: t.recipe.style.clone().unwrap_or_default(),
        variant: t.recipe.variant_label(),
        cost: t.cost.amount,
        currency: t.cost.currency.clone(),
        render_ms: t.timings.render_ms,
        created_at: t.created_at,
        path: data_dir.join(&t.file).display().to_string(),
        width: t.media.width,
        height: t.media.height,
        duration_s: t.media.duration_s,
        parent: t.parent.and_then(|p| codes.get(&p.0).cloned()),
        circled,
    }
}

/// The full recipe of a take as `key: value` lines (what `takes --json` says about it).
pub fn details(store: &Store, project: &str, code: &str) -> Result<(String, Vec<String>), String> {
    let take = store
        .take_by_code(project, code)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no take {code} in project {project}"))?;
    let parent = match take.parent {
        Some(p) => store.take(p).map_err(|e| e.to_string())?.map(|t| t.code),
        None => None,
    };
    let view = crate::engine::TakeView::new(&take, false, parent.as_deref(), store.dir());
    let value = serde_json::to_value(&view).map_err(|e| e.to_string())?;
    let mut lines = Vec::new();
    flatten("", &value, &mut lines);
    // What a director asks first comes first; the rest in name order.
    let rank = |line: &String| {
        let key = line.split(':').next().unwrap_or_default();
        FIRST.iter().position(|k| *k == key).unwrap_or(FIRST.len())
    };
    lines.sort_by_key(rank);
    Ok((format!("{code} · recipe · Esc closes"), lines))
}

const FIRST: [&str; 22] = [
    "id",
    "prompt",
    "negative",
    "seed",
    "model",
    "backend",
    "rendered_by",
    "width",
    "height",
    "fps",
    "frames",
    "duration_s",
    "style",
    "cost",
    "currency",
    "render_ms",
    "parent",
    "path",
    "circled",
    "queued_at",
    "started_at",
    "finished_at",
];

fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        serde_json::Value::Null => {}
        serde_json::Value::String(s) if s.is_empty() => {}
        serde_json::Value::String(s) => out.push(format!("{prefix}: {s}")),
        serde_json::Value::Number(n) if prefix.ends_with("_at") => {
            let ms = n.as_i64().unwrap_or(0);
            let secs = ms.rem_euclid(86_400_000) / 1000;
            out.push(format!(
                "{prefix}: {} {:02}:{:02}:{:02} UTC",
                super::views::usage::day(ms),
                secs / 3600,
                secs % 3600 / 60,
                secs % 60
            ));
        }
        other => out.push(format!("{prefix}: {other}")),
    }
}
