//! `previs --demo`: a demo project from `fixtures/demo` (a shot list in Chinese and English with
//! a variety of camera moves and lighting), rendered with the built-in animatic backend so a
//! newcomer sees the whole flow, with live progress, on any machine.

use std::path::PathBuf;

use super::output::errln;
use anyhow::Result;

use super::args::{RenderArgs, ShotsArgs};
use super::{Ctx, jobs, shots, takes};
use crate::engine::{Clock, SystemClock};
use crate::model::Project;

const SHOTS: &str = include_str!("../../fixtures/demo/shots.csv");

/// Listings print as tables: the demo is for people (`--json` is ignored).
pub fn run(home: Option<PathBuf>, _json: bool) -> Result<i32> {
    let home = home.unwrap_or_else(|| std::env::temp_dir().join("previs-demo"));
    errln!(
        "demo home: {} (pass --home DIR to keep it elsewhere)",
        home.display()
    );
    let ctx = Ctx::open(Some(home.clone()), Some("demo".to_string()), false)?;
    if ctx.store.project("demo")?.is_none() {
        let mut project = Project::new("demo", SystemClock.now())?;
        project.settings.duration_s = 3.0;
        ctx.store.create_project(&project)?;
    }
    ctx.store.set_current_project("demo")?;
    let list = home.join("demo-shots.csv");
    std::fs::write(&list, SHOTS).map_err(|e| anyhow::anyhow!("writing {}: {e}", list.display()))?;
    shots::import(&ctx, &list)?;
    {
        use std::io::IsTerminal as _;
        if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
            // The workstation: queue the takes and watch them render live (identical takes of
            // an earlier demo come from the cache at once).
            let project = ctx.project()?;
            let shots: Vec<_> = ctx
                .store
                .shots(&project.name)?
                .into_iter()
                .filter(|s| !s.omitted)
                .collect();
            let opts = crate::engine::RenderOptions {
                takes: 1,
                ..Default::default()
            };
            crate::engine::queue_renders(
                &ctx.store,
                &ctx.registry,
                &project,
                &shots,
                &opts,
                &ctx.workbench()?,
                &SystemClock,
            )?;
            return crate::tui::run(ctx);
        }
        shots::list(
            &ctx,
            &ShotsArgs {
                csv: false,
                all: false,
            },
        )?;
    }
    let render = RenderArgs {
        shots: vec![],
        all: true,
        takes: 1,
        backend: None,
        seed: None,
        size: None,
        duration: None,
        fps: None,
        force: false,
        wait: true,
        estimate: false,
        style: None,
        vary: Vec::new(),
    };
    let code = jobs::render(&ctx, render)?;
    {
        takes::list(&ctx, None)?;
        errln!(
            "play a take with `mpv PATH`; explore with `previs --home {} takes`, `reroll`, `circle`",
            home.display()
        );
    }
    Ok(code)
}
