//! Running effects that touch the store: one worker thread takes them in order (so a shot saved
//! before a render request is saved before the render is queued) and answers with messages.
//! Effects that need the terminal (the player in the foreground, `$EDITOR`, OSC sequences) are
//! the loop's; this file only prepares them.

use std::path::Path;

use crate::cli::Ctx;
use crate::engine::{Clock, Command, RenderOptions, SystemClock, queue_renders, queue_reroll};
use crate::media::player;
use crate::model::{JobOut, JobState, Level};

use super::msg::{Effect, Msg, RenderRequest};

/// What the worker hands back to the loop.
pub enum Out {
    Msg(Msg),
    /// Run the player (detached, or in the foreground with the screen handed over).
    Player(player::PlayerCommand),
    /// Send a command to the engine.
    Engine(Command),
}

fn status(level: Level, text: impl Into<String>) -> Out {
    Out::Msg(Msg::Status(level, text.into()))
}

/// Runs one effect; errors become a status line, never a crash.
pub fn run(ctx: &Ctx, effect: Effect) -> Vec<Out> {
    match try_run(ctx, effect) {
        Ok(outs) => outs,
        Err(e) => vec![status(Level::Error, crate::sanitize::line(&e))],
    }
}

fn project_name(ctx: &Ctx) -> Result<String, String> {
    ctx.project().map(|p| p.name).map_err(|e| e.to_string())
}

fn try_run(ctx: &Ctx, effect: Effect) -> Result<Vec<Out>, String> {
    let name = project_name(ctx)?;
    let err = |e: &dyn std::fmt::Display| e.to_string();
    match effect {
        Effect::Reload => {
            let snap = super::data::snapshot(&ctx.store, &name).map_err(|e| err(&e))?;
            Ok(vec![Out::Msg(Msg::Loaded(Box::new(snap)))])
        }
        Effect::SaveShot(mut shot) => {
            shot.updated_at = SystemClock.now();
            ctx.store.put_shot(&shot).map_err(|e| err(&e))?;
            Ok(vec![Out::Msg(Msg::ShotSaved(shot))])
        }
        Effect::ApplyTemplate { shot, name: pick } => apply_template(ctx, &name, &shot, &pick),
        Effect::SaveScript { text } => save_script(ctx, &name, &text),
        Effect::Render(req) => render(ctx, req),
        Effect::Reroll { take, prompt } => {
            let project = ctx.project().map_err(|e| err(&e))?;
            let t = ctx.take(&project, &take).map_err(|e| err(&e))?;
            let bench = ctx.workbench().map_err(|e| err(&e))?;
            let edited = prompt.is_some();
            let batch = queue_reroll(
                &ctx.store,
                &ctx.registry,
                &project,
                &t,
                None,
                prompt,
                &bench,
                &SystemClock,
            )
            .map_err(|e| err(&e))?;
            let code = batch
                .jobs
                .first()
                .map(|j| j.take_code.clone())
                .unwrap_or_default();
            Ok(vec![Out::Msg(Msg::Queued {
                jobs: batch.jobs.len() - batch.cached,
                text: format!(
                    "queued {code}: {} of {take}",
                    if edited {
                        "an edited re-roll"
                    } else {
                        "a re-roll with a new seed"
                    }
                ),
            })])
        }
        Effect::Circle { take } => {
            let project = ctx.project().map_err(|e| err(&e))?;
            let t = ctx.take(&project, &take).map_err(|e| err(&e))?;
            let mut shot = ctx
                .store
                .shot(t.shot)
                .map_err(|e| err(&e))?
                .ok_or_else(|| format!("the shot of take {take} no longer exists"))?;
            shot.circled = Some(t.id);
            ctx.store.put_shot(&shot).map_err(|e| err(&e))?;
            Ok(vec![
                Out::Msg(Msg::Circled {
                    take: t.code,
                    shot: shot.code.clone(),
                }),
                Out::Msg(Msg::ShotSaved(Box::new(shot))),
            ])
        }
        Effect::Retry { job } => {
            let mut rec = ctx
                .store
                .job(crate::model::JobId(job))
                .map_err(|e| err(&e))?
                .ok_or_else(|| format!("no job {job}"))?;
            let unconfirmed = matches!(rec.state, JobState::Unconfirmed { .. });
            rec.apply(
                JobOut::Requeue,
                SystemClock.now(),
                &ctx.config.engine.backoff(),
            )
            .map_err(|e| e.to_string())?;
            ctx.store.put_job(&rec).map_err(|e| err(&e))?;
            let mut out = vec![Out::Engine(Command::Wake)];
            out.push(status(
                if unconfirmed { Level::Warn } else { Level::Info },
                if unconfirmed {
                    format!(
                        "{} queued again; it may already exist on {} and then runs (and is billed) twice",
                        rec.take_code, rec.recipe.backend
                    )
                } else {
                    format!("{} queued again", rec.take_code)
                },
            ));
            let snap = super::data::snapshot(&ctx.store, &name).map_err(|e| err(&e))?;
            out.push(Out::Msg(Msg::Loaded(Box::new(snap))));
            Ok(out)
        }
        Effect::Play { takes, grid } => play(ctx, &takes, grid),
        Effect::LoadDetails { take } => {
            let (title, lines) = super::data::details(&ctx.store, &name, &take)?;
            Ok(vec![Out::Msg(Msg::Details { title, lines })])
        }
        Effect::Engine(cmd) => Ok(vec![Out::Engine(cmd)]),
        Effect::Lint { shots } => {
            let bench = ctx.workbench().map_err(|e| err(&e))?;
            let project = ctx.project().map_err(|e| err(&e))?;
            let backend = project
                .settings
                .backend
                .clone()
                .unwrap_or_else(|| ctx.registry.default_name().to_string());
            let limit = ctx
                .registry
                .get(&backend)
                .ok()
                .and_then(|b| b.prompt_limit());
            let marks = super::views::shots::lint_codes(&bench.rules, limit, &shots);
            Ok(vec![Out::Msg(Msg::Linted(marks))])
        }
        // The loop's own effects never reach the worker.
        Effect::Copy { .. } | Effect::EditExternal { .. } | Effect::Notify { .. } => Ok(Vec::new()),
    }
}

fn apply_template(ctx: &Ctx, project: &str, code: &str, pick: &str) -> Result<Vec<Out>, String> {
    let p = ctx.project().map_err(|e| e.to_string())?;
    let mut shot = ctx
        .store
        .shot_by_code(project, code)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no shot {code}"))?;
    let bench = ctx.workbench().map_err(|e| e.to_string())?;
    let lang = bench.lang_for(p.settings.language, &shot.spec);
    let text = if let Ok(t) = bench.templates.get(pick) {
        let filled = t.apply(&mut shot.spec, lang);
        if filled.is_empty() {
            format!("template {pick}: shot {code} has every field it sets already filled")
        } else {
            format!(
                "template {pick} filled {} of shot {code}",
                filled.join(", ")
            )
        }
    } else {
        let style = bench.styles.get(pick)?;
        shot.spec.style = style.name.clone();
        format!(
            "style {} set for shot {code}; its takes render with the preset",
            style.name
        )
    };
    shot.updated_at = SystemClock.now();
    ctx.store.put_shot(&shot).map_err(|e| e.to_string())?;
    Ok(vec![
        Out::Msg(Msg::ShotSaved(Box::new(shot))),
        status(Level::Info, text),
    ])
}

fn save_script(ctx: &Ctx, project: &str, text: &str) -> Result<Vec<Out>, String> {
    let snap = super::data::snapshot(&ctx.store, project).map_err(|e| e.to_string())?;
    let path = snap
        .script
        .map(|(p, _)| p)
        .unwrap_or_else(|| super::data::default_script_path(ctx.store.dir(), project));
    write_atomically(&path, text)?;
    let mut warnings = Vec::new();
    let (_, merged) = crate::cli::shots::import_quiet(ctx, &path, &mut |w| {
        warnings.push(w.to_string());
    })
    .map_err(|e| format!("saved {} but not imported: {e}", path.display()))?;
    let s = merged.summary;
    let mut summary = format!(
        "saved and imported: {} shots ({} new, {} updated, {} unchanged, {} omitted)",
        s.added + s.updated + s.unchanged,
        s.added,
        s.updated,
        s.unchanged,
        s.omitted
    );
    if let Some(w) = warnings.first() {
        summary = format!("{summary}; warning: {w}");
    }
    Ok(vec![Out::Msg(Msg::ScriptSaved {
        text: text.to_string(),
        summary,
    })])
}

/// Writes through a temporary file and a rename: a crash leaves the old script or the new one.
fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.previs-tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    let mut body = text.trim_end().to_string();
    body.push('\n');
    std::fs::write(&tmp, body).map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("saving {}: {e}", path.display()))
}

fn render(ctx: &Ctx, req: RenderRequest) -> Result<Vec<Out>, String> {
    let project = ctx.project().map_err(|e| e.to_string())?;
    let shots = req
        .shots
        .iter()
        .map(|c| ctx.shot(&project, c).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let vary = req
        .vary
        .iter()
        .map(|v| crate::prompt::vary::parse_axis(v))
        .collect::<Result<Vec<_>, _>>()?;
    let opts = RenderOptions {
        takes: req.takes,
        style: req.style,
        vary,
        ..RenderOptions::default()
    };
    let bench = ctx.workbench().map_err(|e| e.to_string())?;
    let batch = queue_renders(
        &ctx.store,
        &ctx.registry,
        &project,
        &shots,
        &opts,
        &bench,
        &SystemClock,
    )
    .map_err(|e| e.to_string())?;
    let fresh = batch.jobs.len() - batch.cached;
    let mut text = format!(
        "queued {fresh} take{} of {}",
        if fresh == 1 { "" } else { "s" },
        req.shots.join(" ")
    );
    if batch.estimate.amount > 0.0 {
        text.push_str(&format!(
            " · estimated {:.2} {}",
            batch.estimate.amount, batch.estimate.currency
        ));
    }
    if batch.cached > 0 {
        text.push_str(&format!(" · {} reused from the cache", batch.cached));
    }
    Ok(vec![Out::Msg(Msg::Queued { jobs: fresh, text })])
}

fn play(ctx: &Ctx, takes: &[String], grid: bool) -> Result<Vec<Out>, String> {
    let project = ctx.project().map_err(|e| e.to_string())?;
    let clips = takes
        .iter()
        .map(|code| {
            let t = ctx.take(&project, code).map_err(|e| e.to_string())?;
            Ok(player::Clip {
                path: ctx.paths.data_dir.join(&t.file),
                label: t.code.clone(),
                width: t.media.width,
                height: t.media.height,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let env = |k: &str| std::env::var(k).ok();
    let output = player::detect_output(&ctx.config.player, &env).map_err(|e| e.to_string())?;
    let cmd = if clips.len() == 1 {
        player::play(&ctx.config.player, &clips[0], output)
    } else {
        let layout = if grid {
            player::Layout::Grid
        } else {
            player::Layout::Side
        };
        player::compare(&ctx.config.player, &clips, layout, output)
    }
    .map_err(|e| e.to_string())?;
    Ok(vec![Out::Player(cmd)])
}
