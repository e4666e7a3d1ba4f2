//! The headless front end: every subcommand of the CLI contract (DESIGN §4).
//!
//! Invariants: stdout carries results (one JSON document with `--json`), stderr carries progress
//! and one-line `error: …` messages; exit code 0 on success, 1 on failure, 2 on usage errors.

mod args;
mod backends;
mod compare;
pub(crate) mod control;
mod demo;
pub(crate) mod jobs;
mod output;
pub(crate) mod shots;
pub(crate) mod takes;
mod workbench;
mod worker;

use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow, bail};
pub use args::{Cli, Cmd};

use crate::backend::Registry;
use crate::config::{Config, Paths};
use crate::model::{Project, Shot, Take};
use crate::store::Store;

/// What every command needs: where things are, the configuration and the open store.
#[derive(Clone)]
pub struct Ctx {
    pub paths: Paths,
    pub config: Config,
    pub store: Store,
    pub registry: Registry,
    pub json: bool,
    project: Option<String>,
    /// The engine running in this process, when the command runs on behalf of another previs
    /// process (see `control`): job changes then go through it, never around it.
    pub engine: Option<crate::engine::EngineHandle>,
}

impl Ctx {
    /// The prompt workbench with the user's templates, presets and rules.
    pub fn workbench(&self) -> Result<crate::prompt::Workbench> {
        crate::prompt::Workbench::load(&self.config).map_err(|e| anyhow::anyhow!(e))
    }

    pub fn open(home: Option<PathBuf>, project: Option<String>, json: bool) -> Result<Self> {
        let paths = Paths::resolve(home.as_deref())?;
        let store = Store::open_waiting(&paths.data_dir, std::time::Duration::from_secs(3))?;
        Self::with_store(paths, store, project, json)
    }

    fn with_store(paths: Paths, store: Store, project: Option<String>, json: bool) -> Result<Self> {
        crate::logging::init(&paths.log_dir);
        let config = Config::load(&paths.config_file)?;
        let registry = Registry::from_config(&config);
        Ok(Self {
            paths,
            config,
            store,
            registry,
            json,
            project,
            engine: None,
        })
    }

    /// A context for a command run on behalf of another process, sharing this process's store
    /// and engine.
    pub fn for_client(
        &self,
        project: Option<String>,
        json: bool,
        engine: crate::engine::EngineHandle,
    ) -> Self {
        Self {
            paths: self.paths.clone(),
            config: self.config.clone(),
            store: self.store.clone(),
            registry: self.registry.clone(),
            json,
            project,
            engine: Some(engine),
        }
    }

    /// The project named by `--project`, else the current one.
    pub fn project(&self) -> Result<Project> {
        let name = match &self.project {
            Some(p) => p.clone(),
            None => self.store.current_project()?.ok_or_else(|| {
                anyhow!("no current project; run `previs init NAME` or pass --project NAME")
            })?,
        };
        self.store
            .project(&name)?
            .ok_or_else(|| anyhow!("no project {name:?}; `previs init {name}` creates it"))
    }

    /// Finds a shot of `project` by code.
    pub fn shot(&self, project: &Project, code: &str) -> Result<Shot> {
        self.store
            .shot_by_code(&project.name, code)?
            .ok_or_else(|| {
                anyhow!(
                    "no shot {:?} in project {}; `previs shots` lists them",
                    crate::sanitize::line(code),
                    project.name
                )
            })
    }

    /// Finds a take of `project` by code.
    pub fn take(&self, project: &Project, code: &str) -> Result<Take> {
        self.store
            .take_by_code(&project.name, code)?
            .ok_or_else(|| {
                anyhow!(
                    "no take {:?} in project {}; `previs takes` lists them",
                    crate::sanitize::line(code),
                    project.name
                )
            })
    }
}

/// Runs one parsed command line (`args` are the raw arguments, for forwarding); the result
/// decides the exit code.
pub fn run(cli: Cli, args: Vec<String>) -> Result<i32> {
    if cli.demo {
        return demo::run(cli.home, cli.json);
    }
    let Some(cmd) = cli.cmd else {
        use std::io::IsTerminal as _;
        if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
            bail!(
                "the workstation needs a terminal (stdin and stdout); `previs --help` lists the commands for scripts"
            );
        }
        let ctx = Ctx::open(cli.home, cli.project, false)?;
        ctx.project()?;
        return crate::tui::run(ctx);
    };
    let paths = Paths::resolve(cli.home.as_deref())?;
    // A busy worker owns the store; it runs the command for us over its control socket.
    let store = match Store::open(&paths.data_dir) {
        Err(crate::store::StoreError::Locked { .. })
            if !matches!(cmd, Cmd::Work { .. }) && control::reachable(&paths) =>
        {
            return control::forward(&paths, &cmd, args, cli.project.as_deref());
        }
        Err(crate::store::StoreError::Locked { .. }) => {
            Store::open_waiting(&paths.data_dir, std::time::Duration::from_secs(3))?
        }
        other => other?,
    };
    let ctx = Ctx::with_store(paths, store, cli.project.clone(), cli.json)?;
    if let Cmd::Work { until_idle } = cmd {
        return worker::work(ctx, until_idle, cli.home, cli.project);
    }
    dispatch(&ctx, cmd, None)
}

/// Runs a command on an open context. `cwd` is the caller's directory when the command came
/// from another process (relative paths are its).
pub fn dispatch(ctx: &Ctx, cmd: Cmd, cwd: Option<&std::path::Path>) -> Result<i32> {
    match cmd {
        Cmd::Init(a) => shots::init(ctx, a),
        Cmd::Import { file } => {
            let file = match cwd {
                Some(dir) if file.is_relative() => dir.join(file),
                _ => file,
            };
            shots::import(ctx, &file)
        }
        Cmd::Shots(a) => shots::list(ctx, &a),
        Cmd::Shot(a) => shots::shot(ctx, *a),
        Cmd::Render(a) => jobs::render(ctx, *a),
        Cmd::Reroll(a) => jobs::reroll(ctx, a),
        Cmd::Queue(a) => jobs::queue(ctx, &a),
        Cmd::Work { .. } => bail!("a worker is already running on this home"),
        Cmd::Cancel { job } => jobs::cancel(ctx, &job),
        Cmd::Pause => jobs::pause(ctx, true),
        Cmd::Resume => jobs::pause(ctx, false),
        Cmd::Takes { shot } => takes::list(ctx, shot.as_deref()),
        Cmd::Circle { take } => takes::circle(ctx, &take),
        Cmd::Retry { job } => jobs::retry(ctx, &job),
        Cmd::Backends { check } => backends::list(ctx, check),
        Cmd::Templates => workbench::templates(ctx),
        Cmd::Styles => workbench::styles(ctx),
        Cmd::Lint(a) => workbench::lint(ctx, &a),
        Cmd::Refusals => workbench::refusals(ctx),
        Cmd::Compare(a) => compare::run(ctx, &a),
    }
}

/// Parses `WxH`.
pub fn parse_size(text: &str) -> Result<(u32, u32)> {
    let (w, h) = text.split_once(['x', 'X', '*']).with_context(|| {
        format!("invalid size {text:?}; write it as WIDTHxHEIGHT, e.g. 1280x720")
    })?;
    let w: u32 = w
        .trim()
        .parse()
        .with_context(|| format!("invalid width in {text:?}; e.g. 1280x720"))?;
    let h: u32 = h
        .trim()
        .parse()
        .with_context(|| format!("invalid height in {text:?}; e.g. 1280x720"))?;
    if !(16..=4096).contains(&w) || !(16..=4096).contains(&h) || w % 2 != 0 || h % 2 != 0 {
        bail!(
            "invalid size {text:?}: width and height are even numbers from 16 to 4096 (e.g. 1280x720, 720x1280)"
        );
    }
    Ok((w, h))
}
