//! Projects, script import and the shot list.

use std::path::Path;

use super::output::{errln, outln};
use anyhow::{Result, anyhow, bail};
use serde::Serialize;

use super::args::{InitArgs, ShotCmd, ShotsArgs, SpecFields};
use super::output::{print_json, table};
use super::{Ctx, parse_size};
use crate::engine::{Clock, SystemClock};
use crate::model::{Project, Scene, ScriptSource, Shot, ShotId, ShotSpec, shot_code};
use crate::sanitize::line;
use crate::script::merge::{Existing, plan};
use crate::script::{self, Format, ParsedScript};

pub fn init(ctx: &Ctx, a: InitArgs) -> Result<i32> {
    let mut project = Project::new(&a.name, SystemClock.now())?;
    if let Some(size) = &a.size {
        (project.settings.width, project.settings.height) = parse_size(size)?;
    }
    if let Some(fps) = a.fps {
        if !(1..=120).contains(&fps) {
            bail!("invalid --fps {fps}: give 1 to 120 frames per second");
        }
        project.settings.fps = fps;
    }
    if let Some(d) = a.duration {
        if !(d > 0.0 && d <= 60.0) {
            bail!("invalid --duration {d}: give seconds between 0.1 and 60");
        }
        project.settings.duration_s = d;
    }
    if let Some(l) = &a.language {
        project.settings.language =
            Some(crate::model::Lang::parse(l).ok_or_else(|| {
                anyhow::anyhow!("invalid --language {:?}: use zh or en", line(l))
            })?);
    }
    if let Some(b) = a.backend {
        ctx.registry.get(&b).map_err(|e| anyhow!(e))?;
        project.settings.backend = Some(b);
    }
    ctx.store.create_project(&project)?;
    ctx.store.set_current_project(&project.name)?;
    if ctx.json {
        print_json(&project)?;
    } else {
        outln!("created project {} and made it current", project.name);
    }
    Ok(0)
}

#[derive(Serialize)]
struct ImportReport<'a> {
    file: String,
    format: &'a str,
    #[serde(flatten)]
    summary: crate::script::merge::MergeSummary,
    shots: usize,
}

pub fn import(ctx: &Ctx, file: &Path) -> Result<i32> {
    let (file_name, merged) = import_quiet(ctx, file, &mut |w| {
        errln!("warning: {}", crate::sanitize::line(w));
    })?;
    let s = merged.summary;
    if ctx.json {
        let shots = merged.shots.iter().filter(|s| !s.omitted).count();
        print_json(&ImportReport {
            file: file_name,
            format: Format::of(file).map_or("fountain", Format::name),
            summary: s,
            shots,
        })?;
    } else {
        outln!(
            "imported {}: {} scenes, {} shots ({} new, {} updated, {} unchanged, {} omitted, {} removed)",
            line(&file_name),
            s.scenes,
            s.added + s.updated + s.unchanged,
            s.added,
            s.updated,
            s.unchanged,
            s.omitted,
            s.removed
        );
    }
    Ok(0)
}

/// Imports `file` into the current project without printing (warnings go to `warn`); returns
/// the file name as given and the merge that was applied.
pub fn import_quiet(
    ctx: &Ctx,
    file: &Path,
    warn: &mut dyn FnMut(&str),
) -> Result<(String, crate::script::merge::MergePlan)> {
    let mut project = ctx.project()?;
    let (format, parsed) = script::parse_file(file)?;
    for w in &parsed.warnings {
        warn(w);
    }
    let now = SystemClock.now();
    let scenes = ctx.store.scenes(&project.name)?;
    let shots = ctx.store.shots(&project.name)?;
    let store = ctx.store.clone();
    let has_takes = move |id: ShotId| store.shot_has_takes(id).unwrap_or(true);
    let existing = Existing {
        scenes: &scenes,
        shots: &shots,
        has_takes: &has_takes,
    };
    let count = parsed.scenes.iter().map(|s| s.shots.len()).sum::<usize>() as u64;
    let mut next = ctx.store.next_ids("shot", count.max(1))?;
    let file_name = file.display().to_string();
    let merged = plan(
        &project.name,
        &file_name,
        &parsed,
        &existing,
        format == Format::Csv,
        now,
        &mut || {
            let id = ShotId(next);
            next += 1;
            id
        },
    )?;
    apply_title_page(&mut project, &parsed);
    project.script = Some(ScriptSource {
        path: std::fs::canonicalize(file)
            .unwrap_or_else(|_| file.to_path_buf())
            .display()
            .to_string(),
        format: format.name().to_string(),
        imported_at: now,
    });
    ctx.store.apply_import(&project, &merged)?;
    Ok((file_name, merged))
}

fn apply_title_page(project: &mut Project, parsed: &ParsedScript) {
    if !parsed.title_page.is_empty() {
        project.title_page = parsed.title_page.iter().cloned().collect();
    }
}

/// A shot as `shots --json` prints it.
#[derive(Serialize)]
pub struct ShotView<'a> {
    pub id: &'a str,
    pub scene: &'a str,
    pub heading: &'a str,
    pub order: u32,
    pub subject: &'a str,
    pub action: &'a str,
    pub environment: &'a str,
    pub camera: &'a crate::model::CameraSpec,
    pub lighting: &'a str,
    pub style: &'a str,
    pub negative: &'a str,
    pub duration_s: f64,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub seed: Option<u64>,
    pub prompt: String,
    /// Codes of the lint findings on the shot (`previs lint --shot` explains them).
    pub lint: Vec<&'static str>,
    pub dialogue: &'a [crate::model::DialogueLine],
    pub notes: &'a [String],
    pub line: Option<u32>,
    pub takes: usize,
    pub circled: Option<String>,
    pub omitted: bool,
}

pub fn list(ctx: &Ctx, a: &ShotsArgs) -> Result<i32> {
    let project = ctx.project()?;
    let scenes = ctx.store.scenes(&project.name)?;
    let shots: Vec<Shot> = ctx
        .store
        .shots(&project.name)?
        .into_iter()
        .filter(|s| a.all || !s.omitted)
        .collect();
    if a.csv {
        let mut out = Vec::new();
        script::csv::export(&scenes, &shots, &mut out)?;
        let text = String::from_utf8_lossy(&out);
        super::output::out_line(text.strip_suffix('\n').unwrap_or(&text));
        return Ok(0);
    }
    show(ctx, &project, &scenes, &shots)
}

/// Prints shots as a table or, with `--json`, as `ShotView`s.
fn show(ctx: &Ctx, project: &Project, scenes: &[Scene], shots: &[Shot]) -> Result<i32> {
    let heading = |n: &str| {
        scenes
            .iter()
            .find(|s| s.number == n)
            .map_or("", |s| s.heading.as_str())
    };
    let mut rows = Vec::new();
    let mut views = Vec::new();
    let bench = ctx.workbench()?;
    for s in shots {
        let takes = ctx.store.takes_of_shot(s.id)?;
        let circled = s
            .circled
            .and_then(|c| takes.iter().find(|t| t.id == c))
            .map(|t| t.code.clone());
        let r = s.spec.resolve(&project.settings);
        if ctx.json {
            views.push(ShotView {
                id: &s.code,
                scene: &s.scene,
                heading: heading(&s.scene),
                order: s.order,
                subject: &s.spec.subject,
                action: &s.spec.action,
                environment: &s.spec.environment,
                camera: &s.spec.camera,
                lighting: &s.spec.lighting,
                style: &s.spec.style,
                negative: &s.spec.negative,
                duration_s: r.duration_s,
                width: r.width,
                height: r.height,
                fps: r.fps,
                seed: s.spec.seed,
                prompt: bench
                    .compile_shot(&s.spec, project.settings.language)
                    .prompt,
                lint: crate::prompt::lint::lint_spec(
                    &s.spec,
                    heading(&s.scene),
                    &bench.rules,
                    None,
                )
                .lints
                .iter()
                .map(|l| l.code)
                .collect(),
                dialogue: &s.dialogue,
                notes: &s.notes,
                line: s.source_line,
                takes: takes.len(),
                circled,
                omitted: s.omitted,
            });
        } else {
            rows.push(vec![
                s.code.clone(),
                format!("{}{}", s.scene, if s.omitted { " (omitted)" } else { "" }),
                format!("{}x{}@{} {}s", r.width, r.height, r.fps, r.duration_s),
                s.spec.camera.movement.clone(),
                takes.len().to_string(),
                circled.unwrap_or_default(),
                s.spec.action.clone(),
            ]);
        }
    }
    if ctx.json {
        print_json(&views)?;
    } else if rows.is_empty() {
        outln!("no shots yet; `previs import FILE` or `previs shot add` creates them");
    } else {
        table(
            &[
                "SHOT", "SCENE", "FORMAT", "MOVE", "TAKES", "CIRCLED", "ACTION",
            ],
            &rows,
        );
    }
    Ok(0)
}

pub fn shot(ctx: &Ctx, cmd: ShotCmd) -> Result<i32> {
    let project = ctx.project()?;
    let now = SystemClock.now();
    match cmd {
        ShotCmd::Add(a) => {
            let mut scenes = ctx.store.scenes(&project.name)?;
            let shots = ctx.store.shots(&project.name)?;
            let scene = match scenes.iter().find(|s| s.number == a.scene) {
                Some(s) => s.clone(),
                None => {
                    // Scene numbers follow Fountain's rule (`12`, `12A`, `I.1-A`).
                    let valid = !a.scene.is_empty()
                        && a.scene
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                        && a.scene.chars().any(|c| c.is_ascii_alphanumeric());
                    if !valid {
                        bail!(
                            "invalid --scene {:?}: a scene number uses letters, digits, '-' or '.' (e.g. 12 or 12A)",
                            line(&a.scene)
                        );
                    }
                    let heading = crate::sanitize::line(&a.heading.clone().unwrap_or_default());
                    let parsed = script::fountain::parse_heading(&heading);
                    let s = Scene {
                        number: a.scene.clone(),
                        heading: parsed.text,
                        int_ext: parsed.int_ext,
                        location: parsed.location,
                        time_of_day: parsed.time_of_day,
                        line: 0,
                        synopses: vec![],
                    };
                    scenes.push(s.clone());
                    ctx.store.put_scenes(&project.name, &scenes)?;
                    s
                }
            };
            let code = match a.code {
                Some(c) => {
                    if shots.iter().any(|s| s.code.eq_ignore_ascii_case(&c)) {
                        bail!("shot {} already exists; pick another --code", line(&c));
                    }
                    if c.trim().is_empty() || c.chars().any(|ch| ch.is_control() || ch == '/') {
                        bail!("invalid --code {:?}: use letters, digits and '-'", line(&c));
                    }
                    c
                }
                None => (0..)
                    .map(|i| shot_code(&scene.number, i))
                    .find(|c| !shots.iter().any(|s| s.code.eq_ignore_ascii_case(c)))
                    .unwrap_or_default(),
            };
            let mut spec = ShotSpec {
                environment: scene.environment(),
                ..ShotSpec::default()
            };
            apply_fields(&mut spec, &a.fields)?;
            let filled =
                super::workbench::fill(ctx, &project, &scene.heading, &mut spec, &a.fields)?;
            let order = shots
                .iter()
                .filter(|s| scene_rank(&scenes, &s.scene) <= scene_rank(&scenes, &scene.number))
                .map(|s| s.order + 1)
                .max()
                .unwrap_or(0);
            let id = ShotId(ctx.store.next_ids("shot", 1)?);
            let shot = Shot::new(id, &project.name, &code, &scene.number, order, spec, now);
            // Later shots move down one place to make room; all in one transaction.
            let mut batch: Vec<Shot> = shots
                .into_iter()
                .filter(|s| s.order >= order)
                .map(|mut s| {
                    s.order += 1;
                    s
                })
                .collect();
            batch.push(shot.clone());
            ctx.store.put_shots(&batch)?;
            if ctx.json {
                return show(ctx, &project, &ctx.store.scenes(&project.name)?, &[shot]);
            }
            outln!("added shot {}{}", line(&shot.code), filled_note(&filled));
        }
        ShotCmd::Edit(a) => {
            let mut shot = ctx.shot(&project, &a.shot)?;
            if a.fields.is_empty() {
                bail!(
                    "nothing to change for shot {}; give a field, e.g. --action TEXT or --movement \"push in\" (see `previs shot edit --help`)",
                    shot.code
                );
            }
            apply_fields(&mut shot.spec, &a.fields)?;
            let heading = ctx
                .store
                .scenes(&project.name)?
                .into_iter()
                .find(|s| s.number == shot.scene)
                .map(|s| s.heading)
                .unwrap_or_default();
            let filled =
                super::workbench::fill(ctx, &project, &heading, &mut shot.spec, &a.fields)?;
            shot.updated_at = now;
            ctx.store.put_shot(&shot)?;
            if ctx.json {
                return show(ctx, &project, &ctx.store.scenes(&project.name)?, &[shot]);
            }
            outln!("updated shot {}{}", line(&shot.code), filled_note(&filled));
        }
        ShotCmd::Rm { shot } => {
            let mut shot = ctx.shot(&project, &shot)?;
            if ctx.store.shot_has_takes(shot.id)? {
                shot.omitted = true;
                shot.updated_at = now;
                ctx.store.put_shot(&shot)?;
                outln!(
                    "shot {} has takes: marked omitted (its takes are kept; `previs shots --all` shows it)",
                    line(&shot.code)
                );
            } else {
                ctx.store.remove_shot(shot.id)?;
                outln!("removed shot {}", line(&shot.code));
            }
        }
    }
    Ok(0)
}

/// `; filled size, angle from the template` — or nothing.
fn filled_note(filled: &[String]) -> String {
    if filled.is_empty() {
        String::new()
    } else {
        format!("; filled {}", filled.join(", "))
    }
}

fn scene_rank(scenes: &[Scene], number: &str) -> usize {
    scenes
        .iter()
        .position(|s| s.number == number)
        .unwrap_or(usize::MAX)
}

/// Longest text field accepted (the parsers apply the same limit).
const MAX_FIELD: usize = 20_000;

fn apply_fields(spec: &mut ShotSpec, f: &SpecFields) -> Result<()> {
    for (flag, v) in [
        ("--subject", &f.subject),
        ("--action", &f.action),
        ("--environment", &f.environment),
        ("--negative", &f.negative),
    ] {
        if let Some(v) = v.as_ref().filter(|v| v.chars().count() > MAX_FIELD) {
            bail!(
                "{flag} is {} characters long; keep it under {MAX_FIELD}",
                v.chars().count()
            );
        }
    }
    // Text from the command line is outside text too: no control characters are stored.
    let text = |dst: &mut String, v: &Option<String>| {
        if let Some(v) = v {
            *dst = crate::sanitize::sanitize(v, true).trim().to_string();
        }
    };
    text(&mut spec.subject, &f.subject);
    text(&mut spec.action, &f.action);
    text(&mut spec.environment, &f.environment);
    text(&mut spec.camera.size, &f.shot_size);
    text(&mut spec.camera.angle, &f.angle);
    text(&mut spec.camera.movement, &f.movement);
    text(&mut spec.camera.lens, &f.lens);
    text(&mut spec.lighting, &f.lighting);
    text(&mut spec.style, &f.style);
    text(&mut spec.negative, &f.negative);
    if let Some(d) = &f.duration {
        spec.duration_s = number(
            d,
            "--duration",
            |v: f64| v > 0.0 && v <= 60.0,
            "seconds between 0.1 and 60",
        )?;
    }
    if let Some(s) = &f.size {
        match s.as_str() {
            "default" | "" => (spec.width, spec.height) = (None, None),
            s => {
                let (w, h) = parse_size(s)?;
                (spec.width, spec.height) = (Some(w), Some(h));
            }
        }
    }
    if let Some(v) = &f.fps {
        spec.fps = number(
            v,
            "--fps",
            |v: u32| (1..=120).contains(&v),
            "frames per second, 1 to 120",
        )?;
    }
    if let Some(v) = &f.seed {
        spec.seed = number(
            v,
            "--seed",
            |v: u64| v <= crate::engine::MAX_SEED,
            "a number from 0 to 2147483647",
        )?;
    }
    Ok(())
}

fn number<T: std::str::FromStr + Copy>(
    text: &str,
    flag: &str,
    ok: impl Fn(T) -> bool,
    what: &str,
) -> Result<Option<T>> {
    if text == "default" || text.is_empty() {
        return Ok(None);
    }
    match text.trim().parse::<T>() {
        Ok(v) if ok(v) => Ok(Some(v)),
        _ => bail!("invalid {flag} {:?}: give {what}, or `default`", line(text)),
    }
}
