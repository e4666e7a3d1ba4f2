//! Takes: listing and circling.

use super::output::outln;
use anyhow::Result;

use super::Ctx;
use super::output::{print_json, table};
use crate::engine::TakeView;
use crate::model::Take;

pub fn list(ctx: &Ctx, shot: Option<&str>) -> Result<i32> {
    let project = ctx.project()?;
    let mut takes: Vec<Take> = match shot {
        Some(code) => ctx.store.takes_of_shot(ctx.shot(&project, code)?.id)?,
        None => ctx.store.takes(&project.name)?,
    };
    let shots = ctx.store.shots(&project.name)?;
    // In shot-list order, then take number: how a crew reads a camera report.
    let order: std::collections::HashMap<_, _> =
        shots.iter().map(|s| (s.id, (s.omitted, s.order))).collect();
    takes.sort_by_key(|t| {
        (
            order.get(&t.shot).copied().unwrap_or((true, u32::MAX)),
            t.number,
            t.id,
        )
    });
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
        outln!("no takes yet; `previs render SHOT --wait` makes some");
        return Ok(0);
    }
    let rows = takes
        .iter()
        .map(|t| {
            let intact = std::fs::metadata(ctx.store.dir().join(&t.file))
                .is_ok_and(|m| m.len() == t.media.bytes);
            Ok(vec![
                format!(
                    "{}{}{}",
                    if circled(t) { "● " } else { "  " },
                    t.code,
                    if intact { "" } else { " (file missing)" }
                ),
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
    if ctx.json {
        let parent = match take.parent {
            Some(p) => ctx.store.take(p)?.map(|p| p.code),
            None => None,
        };
        print_json(&TakeView::new(
            &take,
            true,
            parent.as_deref(),
            ctx.store.dir(),
        ))?;
        return Ok(0);
    }
    let shot_code = crate::sanitize::line(&shot.code);
    match previous {
        Some(p) if p != take.id => {
            let old = ctx.store.take(p)?.map(|t| t.code).unwrap_or_default();
            outln!("circled {} for shot {shot_code} (was {old})", take.code);
        }
        _ => outln!("circled {} for shot {shot_code}", take.code),
    }
    Ok(0)
}
