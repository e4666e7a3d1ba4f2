//! Turning "render these shots" into persisted jobs: prompt compilation, seeds, backend checks,
//! cache reuse and take-number reservation, all written in one transaction.
use super::{Clock, EngineError};
use crate::backend::Registry;
use crate::model::{
    Cost, JobId, JobOut, JobRecord, JobState, Project, Recipe, Shot, Slate, Take, TakeId, take_code,
};
use crate::prompt::{self, Workbench, vary};
use crate::store::Store;

/// What to render and how; `None` fields fall back to the shot's spec, then the project.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    pub takes: u32,
    pub backend: Option<String>,
    pub seed: Option<u64>,
    pub size: Option<(u32, u32)>,
    pub duration_s: Option<f64>,
    pub fps: Option<u32>,
    /// Render anew even when an identical take exists.
    pub force: bool,
    /// Plan and price the batch without storing anything (`render --estimate`).
    pub dry_run: bool,
    /// A style preset for every take of the batch.
    pub style: Option<String>,
    /// Variation axes: every combination × `takes`.
    pub vary: Vec<crate::prompt::vary::Axis>,
}

/// The jobs a render request produced.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub jobs: Vec<JobRecord>,
    /// Jobs answered from the cache (already done).
    pub cached: usize,
    pub estimate: Cost,
}

/// A request for one take, before it becomes a job.
struct Planned {
    shot: usize,
    recipe: Recipe,
    parent: Option<TakeId>,
}

/// Largest seed handed out: Wan backends take seeds in `[0, 2^31 - 1]`.
pub const MAX_SEED: u64 = 2_147_483_647;

/// Most takes one render request may queue (a typo like `--takes 1000 --all` should not queue
/// millions of jobs).
pub const MAX_BATCH: u64 = 5_000;

/// Queues `opts.takes` takes of each shot (of each variation, when axes are given).
pub fn queue_renders(
    store: &Store,
    registry: &Registry,
    project: &Project,
    shots: &[Shot],
    opts: &RenderOptions,
    bench: &Workbench,
    clock: &dyn Clock,
) -> Result<Batch, EngineError> {
    let backend_name = opts
        .backend
        .clone()
        .or_else(|| project.settings.backend.clone())
        .unwrap_or_else(|| registry.default_name().to_string());
    let backend = registry.get(&backend_name).map_err(EngineError::Invalid)?;
    // A shot named twice gets its takes once: take numbers are reserved per shot below.
    let mut seen = std::collections::BTreeSet::new();
    let shots: Vec<Shot> = shots
        .iter()
        .filter(|s| seen.insert(s.id))
        .cloned()
        .collect();
    let shots = shots.as_slice();
    let variants = vary::combinations(&opts.vary).map_err(EngineError::Invalid)?;
    let total = shots.len() as u64 * u64::from(opts.takes.max(1)) * variants.len() as u64;
    if total > MAX_BATCH {
        return Err(EngineError::Invalid(format!(
            "{total} takes in one render is more than {MAX_BATCH}; render fewer shots or fewer --takes at a time"
        )));
    }
    if let Some(s) = opts.seed.filter(|s| *s > MAX_SEED) {
        return Err(EngineError::Invalid(format!(
            "invalid --seed {s}: seeds go from 0 to {MAX_SEED}"
        )));
    }
    let mut planned = Vec::new();
    for (i, shot) in shots.iter().enumerate() {
        let r = shot.spec.resolve(&project.settings);
        let (width, height) = opts.size.unwrap_or((r.width, r.height));
        let fps = opts.fps.unwrap_or(r.fps);
        let duration_s = opts.duration_s.unwrap_or(r.duration_s);
        let base = bench
            .prepare(&shot.spec, project.settings.language, opts.style.as_deref())
            .map_err(EngineError::Invalid)?;
        let base_seed = opts.seed.or(shot.spec.seed);
        // The same seeds for every variation, so variations compare like with like: with
        // `--seed N`, takes N, N+1, …; without, `takes` random seeds drawn once per shot.
        let seeds: Vec<u64> = (0..opts.takes.max(1))
            .map(|t| match base_seed {
                // Consecutive seeds, wrapping within the range every backend accepts.
                Some(s) => (s.min(MAX_SEED) + u64::from(t)) % (MAX_SEED + 1),
                None => fastrand::u64(0..=MAX_SEED),
            })
            .collect();
        for variant in &variants {
            let mut spec = base.spec.clone();
            vary::apply(&opts.vary, variant, &mut spec, base.lang);
            let (mut style, mut params) = (base.style.clone(), base.params.clone());
            if let Some(name) = variant.get("style") {
                // A style axis may name presets as well as free text.
                let p = bench
                    .prepare(
                        &spec,
                        Some(base.lang),
                        bench.styles.find(name).map(|_| name.as_str()),
                    )
                    .map_err(EngineError::Invalid)?;
                spec = p.spec;
                style = p.style;
                params = p.params;
            }
            let compiled = prompt::compile_in(&spec, base.lang);
            if compiled.prompt.is_empty() {
                return Err(EngineError::Invalid(format!(
                    "shot {} has an empty prompt; give it an action or subject with `previs shot edit {} --action TEXT`",
                    shot.code, shot.code
                )));
            }
            screen(
                store,
                bench,
                project,
                &shot.code,
                &backend_name,
                &compiled.prompt,
                clock,
            )?;
            for &seed in &seeds {
                let recipe = Recipe {
                    prompt: compiled.prompt.clone(),
                    negative: compiled.negative.clone(),
                    seed,
                    backend: backend_name.clone(),
                    model: backend.model().to_string(),
                    width,
                    height,
                    fps,
                    duration_s,
                    frames: backend.frames(duration_s, fps),
                    style: style.clone(),
                    variant: variant.clone(),
                    spec: spec.clone(),
                    params: params.clone(),
                };
                backend
                .check(&recipe)
                .map_err(|e| {
                    EngineError::Invalid(format!(
                        "shot {}: {e}; change it with `previs shot edit {} --size WxH --fps N --duration S` or override with `render --size/--fps/--duration`",
                        shot.code, shot.code
                    ))
                })?;
                planned.push(Planned {
                    shot: i,
                    recipe,
                    parent: None,
                });
            }
        }
    }
    commit(
        store,
        registry,
        project,
        shots.to_vec(),
        planned,
        Commit {
            force: opts.force,
            dry_run: opts.dry_run,
        },
        clock,
    )
}

/// How [`commit`] treats the planned jobs.
#[derive(Clone, Copy)]
struct Commit {
    force: bool,
    dry_run: bool,
}

/// The safety filter: a refused prompt is recorded (rule, never the text) and nothing of the
/// request is queued.
fn screen(
    store: &Store,
    bench: &Workbench,
    project: &Project,
    shot: &str,
    backend: &str,
    prompt: &str,
    clock: &dyn Clock,
) -> Result<(), EngineError> {
    let Err(b) = bench.screen(prompt) else {
        return Ok(());
    };
    store.record_refusal(&crate::store::Refusal {
        at: clock.now(),
        project: project.name.clone(),
        shot: shot.to_string(),
        rule: b.rule.id.clone(),
        category: b.rule.category.clone(),
        source: b.rule.source.clone(),
        kind: match (b.kind, b.rule.id.as_str()) {
            (_, "classifier/unavailable") => "classifier_error",
            (prompt::safety::BlockKind::Classifier, _) => "classifier",
            (prompt::safety::BlockKind::Term, _) => "term",
        }
        .into(),
        backend: backend.to_string(),
    })?;
    Err(EngineError::Invalid(format!("shot {shot}: {}", b.message)))
}

/// Queues a re-roll of `take`: the same recipe with a new seed (or `seed`), or with an edited
/// compiled prompt. The new take records `take` as its parent.
#[allow(clippy::too_many_arguments)] // the parts of one request, each from a different place
pub fn queue_reroll(
    store: &Store,
    registry: &Registry,
    project: &Project,
    take: &Take,
    seed: Option<u64>,
    prompt_text: Option<String>,
    bench: &Workbench,
    clock: &dyn Clock,
) -> Result<Batch, EngineError> {
    let shot = store.shot(take.shot)?.ok_or_else(|| {
        EngineError::Invalid(format!("the shot of take {} no longer exists", take.code))
    })?;
    let mut recipe = take.recipe.clone();
    let backend = registry
        .get(&recipe.backend)
        .map_err(EngineError::Invalid)?;
    recipe.model = backend.model().to_string();
    if let Some(text) = prompt_text {
        let text = text.trim().to_string();
        if text.is_empty() {
            return Err(EngineError::Invalid(
                "--prompt is empty; give the edited prompt text".into(),
            ));
        }
        recipe.prompt = text;
    }
    if let Some(s) = seed.filter(|s| *s > MAX_SEED) {
        return Err(EngineError::Invalid(format!(
            "invalid --seed {s}: seeds go from 0 to {MAX_SEED}"
        )));
    }
    recipe.seed = seed.unwrap_or_else(|| {
        loop {
            let s = fastrand::u64(0..=MAX_SEED);
            if s != take.recipe.seed {
                break s;
            }
        }
    });
    backend
        .check(&recipe)
        .map_err(|e| EngineError::Invalid(format!("take {}: {e}", take.code)))?;
    screen(
        store,
        bench,
        project,
        &shot.code,
        &recipe.backend,
        &recipe.prompt,
        clock,
    )?;
    let planned = vec![Planned {
        shot: 0,
        recipe,
        parent: Some(take.id),
    }];
    commit(
        store,
        registry,
        project,
        vec![shot],
        planned,
        // A re-roll asks for a new take: even with the parent's own seed it renders anew.
        Commit {
            force: true,
            dry_run: false,
        },
        clock,
    )
}

fn commit(
    store: &Store,
    registry: &Registry,
    project: &Project,
    mut shots: Vec<Shot>,
    planned: Vec<Planned>,
    how: Commit,
    clock: &dyn Clock,
) -> Result<Batch, EngineError> {
    let now = clock.now();
    // A dry run reserves nothing: its ids are placeholders that never reach the store.
    let first_id = if how.dry_run {
        0
    } else {
        store.next_ids("job", planned.len() as u64)?
    };
    let mut batch = Batch {
        estimate: Cost::zero(),
        ..Batch::default()
    };
    let mut touched = vec![false; shots.len()];
    let scenes = store.scenes(&project.name)?;
    // Take codes are file names: never hand one out twice, even when a shot was renumbered or
    // two shot codes clean up to the same characters.
    let mut used: std::collections::HashSet<String> = store
        .jobs()?
        .into_iter()
        .filter(|j| j.project == project.name)
        .map(|j| j.take_code.to_ascii_uppercase())
        .chain(
            store
                .takes(&project.name)?
                .into_iter()
                .map(|t| t.code.to_ascii_uppercase()),
        )
        .collect();
    for (k, p) in planned.into_iter().enumerate() {
        let id = JobId(first_id + k as u64);
        let shot = &mut shots[p.shot];
        let heading = scenes
            .iter()
            .find(|s| s.number == shot.scene)
            .map(|s| s.heading.clone())
            .unwrap_or_default();
        let cached = if how.force {
            None
        } else {
            store.cached_take(&p.recipe.cache_key())?
        }
        .filter(|t| t.shot == shot.id);
        let (number, code) = match &cached {
            Some(t) => (t.number, t.code.clone()),
            None => {
                touched[p.shot] = true;
                loop {
                    let n = shot.next_take;
                    shot.next_take += 1;
                    let code = take_code(&shot.scene, &shot.code, n).map_err(|_| {
                        EngineError::Invalid(format!(
                            "shot {:?} has no letters or digits to name its takes; rename it with a letter or digit in its code (re-import or `previs shot add --code`)",
                            crate::sanitize::line(&shot.code)
                        ))
                    })?;
                    if used.insert(code.to_ascii_uppercase()) {
                        break (n, code);
                    }
                }
            }
        };
        let backend = registry
            .get(&p.recipe.backend)
            .map_err(EngineError::Invalid)?;
        if cached.is_none() {
            let est = backend.estimate(&p.recipe);
            batch.estimate.amount += est.amount;
            batch.estimate.currency = est.currency;
        }
        let mut job = JobRecord {
            id,
            project: project.name.clone(),
            shot: shot.id,
            shot_code: shot.code.clone(),
            take_number: number,
            take_code: code.clone(),
            slate: Slate {
                project: project.name.clone(),
                take_code: code,
                shot_code: shot.code.clone(),
                scene_heading: heading,
                variant: p.recipe.variant_label(),
            },
            recipe: p.recipe,
            parent: p.parent,
            state: JobState::Queued,
            attempts: 0,
            not_before: None,
            submission_key: uuid::Uuid::new_v4().to_string(),
            remote_id: None,
            last_error: None,
            priority: i64::try_from(id.0).unwrap_or(i64::MAX),
            created_at: now,
            updated_at: now,
            started_at: None,
            finished_at: None,
        };
        if let Some(t) = cached {
            job.apply(
                JobOut::Finished {
                    take: t.id,
                    cache_hit: true,
                },
                now,
                &crate::model::Backoff::default(),
            )
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
            batch.cached += 1;
        }
        batch.jobs.push(job);
    }
    let changed: Vec<Shot> = shots
        .into_iter()
        .zip(touched)
        .filter(|(_, t)| *t)
        .map(|(s, _)| s)
        .collect();
    if !how.dry_run {
        store.enqueue(&batch.jobs, &changed)?;
    }
    Ok(batch)
}
