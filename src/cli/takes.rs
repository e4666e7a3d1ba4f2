//! Takes: listing and circling.

use anyhow::Result;

use super::Ctx;
use super::output::{print_json, table};
use crate::engine::TakeView;
use crate::model::Take;

pub fn list(ctx: &Ctx, shot: Option<&str>) -> Result<i32> {
    let project = ctx.project()?;
    let takes: Vec<Take> = match shot {
        Some(code) => ctx.store.takes_of_shot(ctx.shot(&project, code)?.id)?,
        None => ctx.store.takes(&project.name)?,
    };
    let shots = ctx.store.shots(&project.name)?;
    let circled = |t: &Take| {
        shots
            .iter()
            .any(|s| s.id == t.shot && s.circled == Some(t.id))
    };
    let parent_code = |t: &Take| -> Result<Option<String>> {
        Ok(match t.parent {
            Some(p) => ctx.store.take(p)?.map(|p| p.code),
            None => None,
        })
    };
    if ctx.json {
        let views = takes
            .iter()
            .map(|t| {
                Ok(TakeView::new(
                    t,
                    circled(t),
                    parent_code(t)?.as_deref(),
                    ctx.store.dir(),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        print_json(&views)?;
        return Ok(0);
    }
    if takes.is_empty() {
        println!("no takes yet; `previs render SHOT --wait` makes some");
        return Ok(0);
    }
    let rows = takes
        .iter()
        .map(|t| {
            Ok(vec![
                format!("{}{}", if circled(t) { "● " } else { "  " }, t.code),
                t.recipe.seed.to_string(),
                format!("{}x{}@{}", t.media.width, t.media.height, t.media.fps),
                format!("{:.2}s", t.media.duration_s),
                t.recipe.backend.clone(),
                parent_code(t)?.unwrap_or_default(),
                ctx.store.dir().join(&t.file).display().to_string(),
            ])
        })
        .collect::<Result<Vec<_>>>()?;
    table(
        &["TAKE", "SEED", "FORMAT", "DUR", "BACKEND", "PARENT", "PATH"],
        &rows,
    );
    Ok(0)
}

pub fn circle(ctx: &Ctx, code: &str) -> Result<i32> {
    let project = ctx.project()?;
    let take = ctx.take(&project, code)?;
    let mut shot = ctx
        .store
        .shot(take.shot)?
        .ok_or_else(|| anyhow::anyhow!("the shot of take {} no longer exists", take.code))?;
    let previous = shot.circled.replace(take.id);
    ctx.store.put_shot(&shot)?;
    match previous {
        Some(p) if p != take.id => {
            let old = ctx.store.take(p)?.map(|t| t.code).unwrap_or_default();
            println!("circled {} for shot {} (was {old})", take.code, shot.code);
        }
        _ => println!("circled {} for shot {}", take.code, shot.code),
    }
    Ok(0)
}
