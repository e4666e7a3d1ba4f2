//! The prompt workbench on the command line: `templates`, `styles`, `lint`, `refusals`, and
//! the `--template` / `--suggest` options of `shot add` and `shot edit`.

use anyhow::{Result, anyhow, bail};
use serde::Serialize;

use super::Ctx;
use super::args::{LintArgs, SpecFields};
use super::output::{outln, print_json, table};
use crate::model::{Lang, Project, ShotSpec};
use crate::prompt::lint::{self, Lint, Report};
use crate::prompt::suggest::Suggestion;
use crate::prompt::{Workbench, safety};
use crate::sanitize::line;

/// The language listings are written in: the project's, else English.
fn listing_lang(ctx: &Ctx) -> Lang {
    ctx.project()
        .ok()
        .and_then(|p| p.settings.language)
        .unwrap_or(Lang::En)
}

pub fn templates(ctx: &Ctx) -> Result<i32> {
    let bench = ctx.workbench()?;
    if ctx.json {
        print_json(bench.templates.all())?;
        return Ok(0);
    }
    let lang = listing_lang(ctx);
    let rows: Vec<Vec<String>> = bench
        .templates
        .all()
        .iter()
        .map(|t| {
            let mut cam = Vec::new();
            for v in [&t.size, &t.angle, &t.movement].into_iter().flatten() {
                cam.push(v.get(lang).to_string());
            }
            vec![
                t.name.clone(),
                cam.join(" · "),
                t.description.get(lang).to_string(),
            ]
        })
        .collect();
    table(&["TEMPLATE", "CAMERA", "WHAT IT IS FOR"], &rows);
    outln!("(`previs shot edit SHOT --template NAME` fills a shot's empty fields from one)");
    Ok(0)
}

pub fn styles(ctx: &Ctx) -> Result<i32> {
    let bench = ctx.workbench()?;
    if ctx.json {
        print_json(bench.styles.all())?;
        return Ok(0);
    }
    let lang = listing_lang(ctx);
    let rows: Vec<Vec<String>> = bench
        .styles
        .all()
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.aliases.join(", "),
                s.description.get(lang).to_string(),
            ]
        })
        .collect();
    table(&["STYLE", "ALSO", "LOOK"], &rows);
    outln!(
        "(`previs render --style NAME` renders with one; a shot whose style field names one gets it too)"
    );
    Ok(0)
}

/// `--template` and `--suggest`: fills empty fields; returns what was filled, for the message.
pub fn fill(
    ctx: &Ctx,
    project: &Project,
    heading: &str,
    spec: &mut ShotSpec,
    f: &SpecFields,
) -> Result<Vec<String>> {
    if f.template.is_none() && !f.suggest {
        return Ok(Vec::new());
    }
    let bench = ctx.workbench()?;
    let lang = bench.lang_for(project.settings.language, spec);
    let mut filled = Vec::new();
    if let Some(name) = &f.template {
        let t = bench.templates.get(name).map_err(|e| anyhow!(e))?;
        filled.extend(t.apply(spec, lang).into_iter().map(String::from));
    }
    if f.suggest {
        for s in bench.rules.suggest(heading, spec, lang) {
            let slot = match s.field.as_str() {
                "camera.size" => &mut spec.camera.size,
                "camera.angle" => &mut spec.camera.angle,
                "camera.movement" => &mut spec.camera.movement,
                "camera.lens" => &mut spec.camera.lens,
                "lighting" => &mut spec.lighting,
                _ => continue,
            };
            if slot.trim().is_empty() {
                *slot = s.value.clone();
                filled.push(s.field.trim_start_matches("camera.").to_string());
            }
        }
    }
    Ok(filled)
}

#[derive(Serialize)]
struct LintView<'a> {
    /// The shot code, when a shot was linted.
    #[serde(skip_serializing_if = "Option::is_none")]
    shot: Option<&'a str>,
    lang: Lang,
    /// The compiled prompt that was checked.
    prompt: &'a str,
    lints: &'a [Lint],
    suggestions: &'a [Suggestion],
    /// Set when the safety filter refuses the prompt (also listed as lint `blocked`).
    #[serde(skip_serializing_if = "Option::is_none")]
    blocked: Option<BlockedView>,
}

#[derive(Serialize)]
struct BlockedView {
    rule: String,
    category: String,
    source: String,
}

/// Adds the safety filter's verdict to a report; the view of the refusal when there is one.
fn screen(bench: &Workbench, prompt: &str, report: &mut Report) -> Option<BlockedView> {
    let b: safety::Blocked = bench.screen(prompt).err()?;
    report.lints.insert(
        0,
        Lint {
            code: "blocked",
            message: b.message.clone(),
            fix: match report.lang {
                Lang::Zh => "删除或改写被拦截的内容".into(),
                Lang::En => "remove or rephrase what the rule names".into(),
            },
        },
    );
    Some(BlockedView {
        rule: b.rule.id,
        category: b.rule.category,
        source: b.rule.source,
    })
}

/// The prompt limit of the backend the project renders on, if it has one.
fn limit(ctx: &Ctx, backend: Option<&str>) -> Result<Option<usize>> {
    let name = match backend {
        Some(b) => b.to_string(),
        None => ctx
            .project()
            .ok()
            .and_then(|p| p.settings.backend)
            .unwrap_or_else(|| ctx.registry.default_name().to_string()),
    };
    Ok(ctx
        .registry
        .get(&name)
        .map_err(|e| anyhow!(e))?
        .prompt_limit())
}

pub fn lint(ctx: &Ctx, a: &LintArgs) -> Result<i32> {
    let bench = ctx.workbench()?;
    let limit = limit(ctx, a.backend.as_deref())?;
    if let Some(text) = &a.text {
        if text.trim().is_empty() {
            bail!(
                "the text to lint is empty; give the prompt, e.g. previs lint \"一个男人走过来\""
            );
        }
        let mut report = lint::lint_text(text, &bench.rules, limit);
        let blocked = screen(&bench, text, &mut report);
        let refused = blocked.is_some();
        print_report(ctx, None, text, &report, blocked)?;
        return Ok(i32::from(refused));
    }
    let project = ctx.project()?;
    let shots = if a.shots.is_empty() {
        ctx.store
            .shots(&project.name)?
            .into_iter()
            .filter(|s| !s.omitted)
            .collect()
    } else {
        a.shots
            .iter()
            .map(|c| ctx.shot(&project, c))
            .collect::<Result<Vec<_>>>()?
    };
    let scenes = ctx.store.scenes(&project.name)?;
    let mut views = Vec::new();
    let mut reports = Vec::new();
    for s in &shots {
        let heading = scenes
            .iter()
            .find(|sc| sc.number == s.scene)
            .map(|sc| sc.heading.as_str())
            .unwrap_or_default();
        let compiled = bench.compile_shot(&s.spec, project.settings.language);
        let mut report = lint::lint_spec(&s.spec, heading, &bench.rules, limit);
        let blocked = screen(&bench, &compiled.prompt, &mut report);
        reports.push((s.code.clone(), compiled.prompt, report, blocked));
    }
    let mut refused = false;
    for (code, prompt, report, blocked) in &reports {
        refused |= blocked.is_some();
        if ctx.json {
            views.push(LintView {
                shot: Some(code),
                lang: report.lang,
                prompt,
                lints: &report.lints,
                suggestions: &report.suggestions,
                blocked: blocked.as_ref().map(|b| BlockedView {
                    rule: b.rule.clone(),
                    category: b.category.clone(),
                    source: b.source.clone(),
                }),
            });
        } else {
            outln!("shot {}:", line(code));
            print_text(report);
        }
    }
    if ctx.json {
        print_json(&views)?;
    }
    Ok(i32::from(refused))
}

fn print_report(
    ctx: &Ctx,
    shot: Option<&str>,
    prompt: &str,
    report: &Report,
    blocked: Option<BlockedView>,
) -> Result<()> {
    if ctx.json {
        return print_json(&LintView {
            shot,
            lang: report.lang,
            prompt,
            lints: &report.lints,
            suggestions: &report.suggestions,
            blocked,
        });
    }
    print_text(report);
    Ok(())
}

fn print_text(report: &Report) {
    if report.lints.is_empty() {
        outln!("  no problems found");
    }
    for l in &report.lints {
        outln!("  {:<20} {}", l.code, line(&l.message));
        if !l.fix.is_empty() {
            outln!("  {:<20} → {}", "", line(&l.fix));
        }
    }
    for s in &report.suggestions {
        outln!(
            "  suggest {:<12} {}  ({})",
            s.field.trim_start_matches("camera."),
            line(&s.value),
            line(&s.reason)
        );
    }
}

pub fn refusals(ctx: &Ctx) -> Result<i32> {
    let all = ctx.store.refusals()?;
    if ctx.json {
        print_json(&all)?;
        return Ok(0);
    }
    if all.is_empty() {
        outln!("no request has been refused");
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|r| {
            vec![
                super::output::when(r.at),
                r.project.clone(),
                r.shot.clone(),
                r.rule.clone(),
                r.source.clone(),
            ]
        })
        .collect();
    table(&["WHEN", "PROJECT", "SHOT", "RULE", "SOURCE"], &rows);
    Ok(0)
}
