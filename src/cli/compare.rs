//! `previs compare TAKE… [--layout side|grid] [--print]`: plays one take, or compares 2 to 4
//! in one player (in sync, looping, labelled with their codes).
//!
//! Invariant: the player runs in the foreground of the user's shell, whatever its output (the
//! shell waits as it would for mpv itself); with `--print` nothing runs, the command is only
//! printed.

use anyhow::{Result, anyhow, bail};

use super::Ctx;
use super::args::CompareArgs;
use super::output::{outln, print_json};
use crate::media::player::{self, Clip, Layout, PlayerCommand};

pub fn run(ctx: &Ctx, args: &CompareArgs) -> Result<i32> {
    let cmd = command(ctx, args)?;
    if args.print {
        if ctx.json {
            let argv: Vec<String> = cmd
                .args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            print_json(&serde_json::json!({ "program": cmd.program, "args": argv }))?;
        } else {
            outln!("{}", cmd.printable());
        }
        return Ok(0);
    }
    if ctx.engine.is_some() {
        bail!(
            "another previs process holds this home, so the player cannot start from here; run `previs compare {} --print` and run the printed command",
            args.takes.join(" ")
        );
    }
    let status = cmd.run()?;
    if !status.success() {
        bail!(
            "the player exited with {status}; its messages are above, and `previs compare … --print` shows the command"
        );
    }
    Ok(0)
}

/// The player command for the takes named on the command line.
fn command(ctx: &Ctx, args: &CompareArgs) -> Result<PlayerCommand> {
    let layout: Layout = args.layout.parse()?;
    if args.takes.len() > 4 {
        bail!(
            "compare takes 1 to 4 takes, got {}; pick at most 4",
            args.takes.len()
        );
    }
    let project = ctx.project()?;
    let clips = args
        .takes
        .iter()
        .map(|code| {
            let take = ctx.take(&project, code)?;
            Ok(Clip {
                path: ctx.store.dir().join(&take.file),
                label: take.code,
                width: take.media.width,
                height: take.media.height,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let env = |name: &str| std::env::var(name).ok();
    let output = player::detect_output(&ctx.config.player, &env)?;
    let cmd = match clips.as_slice() {
        [one] => player::play(&ctx.config.player, one, output)?,
        [] => return Err(anyhow!("name 1 to 4 takes; `previs takes` lists them")),
        many => player::compare(&ctx.config.player, many, layout, output)?,
    };
    Ok(cmd)
}
