//! The loop: terminal in, messages through `update`, effects out, one draw per batch of
//! messages at most every [`FRAME`]. The engine runs in this process; other previs commands
//! reach it through the control socket while the workstation is open.
//!
//! Invariant: the terminal is restored on every exit path (return, error, panic), and nothing
//! reads keys while the player or `$EDITOR` owns the terminal.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossterm::event::{self, Event as TermEvent};
use crossterm::{execute, terminal};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc;

use crate::cli::Ctx;
use crate::engine::{Clock, Command, Engine, RunOptions, SystemClock};
use crate::model::Level;
use crate::notify::{Note, Notifier};

use super::exec::{self, Out};
use super::msg::{Effect, Msg};
use super::theme::Theme;
use super::{draw, update};

/// Shortest time between two frames (~30 frames per second at most).
pub const FRAME: Duration = Duration::from_millis(33);

type Term = Terminal<CrosstermBackend<std::io::Stdout>>;

/// Puts the terminal in raw mode on the alternate screen; restores it when dropped.
struct Screen {
    term: Term,
    mouse: bool,
}

fn enter(mouse: bool) -> std::io::Result<()> {
    terminal::enable_raw_mode()?;
    let mut out = std::io::stdout();
    execute!(
        out,
        terminal::EnterAlternateScreen,
        event::EnableBracketedPaste,
        crossterm::cursor::Hide
    )?;
    if mouse {
        execute!(out, event::EnableMouseCapture)?;
    }
    Ok(())
}

/// Leaves raw mode and the alternate screen; safe to call twice.
pub fn leave(mouse: bool) {
    let mut out = std::io::stdout();
    if mouse {
        let _ = execute!(out, event::DisableMouseCapture);
    }
    let _ = execute!(
        out,
        event::DisableBracketedPaste,
        terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = terminal::disable_raw_mode();
}

impl Screen {
    fn open(mouse: bool) -> std::io::Result<Self> {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            leave(true);
            hook(info);
        }));
        enter(mouse)?;
        let term = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
        Ok(Self { term, mouse })
    }

    /// Hands the terminal to a foreground program and takes it back afterwards.
    fn suspended<T>(&mut self, keys: &KeyReader, f: impl FnOnce() -> T) -> T {
        keys.pause(true);
        leave(self.mouse);
        let out = f();
        let _ = enter(self.mouse);
        let _ = self.term.clear();
        keys.pause(false);
        out
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        leave(self.mouse);
    }
}

/// Reads terminal events on its own thread; paused while another program owns the terminal.
struct KeyReader {
    paused: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl KeyReader {
    fn start(tx: mpsc::UnboundedSender<Msg>) -> Self {
        let paused = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (paused.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                if p.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                match event::poll(Duration::from_millis(50)) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(_) => break,
                }
                if p.load(Ordering::SeqCst) {
                    continue;
                }
                let msg = match event::read() {
                    Ok(TermEvent::Key(k)) => Msg::Key(k),
                    Ok(TermEvent::Paste(text)) => Msg::Paste(text),
                    Ok(TermEvent::Resize(width, height)) => Msg::Resize { width, height },
                    // With `[ui] mouse = true`, the wheel moves through lists like the arrows.
                    Ok(TermEvent::Mouse(m)) => match m.kind {
                        event::MouseEventKind::ScrollUp => Msg::Key(event::KeyEvent::new(
                            event::KeyCode::Up,
                            event::KeyModifiers::NONE,
                        )),
                        event::MouseEventKind::ScrollDown => Msg::Key(event::KeyEvent::new(
                            event::KeyCode::Down,
                            event::KeyModifiers::NONE,
                        )),
                        _ => continue,
                    },
                    Ok(_) => continue,
                    Err(_) => break,
                };
                if tx.send(msg).is_err() {
                    break;
                }
            }
        });
        Self { paused, stop }
    }

    fn pause(&self, on: bool) {
        self.paused.store(on, Ordering::SeqCst);
        if on {
            // Let a poll in progress finish before the terminal changes hands.
            std::thread::sleep(Duration::from_millis(60));
        }
    }
}

impl Drop for KeyReader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Opens the workstation on the current project and runs until the user quits.
pub fn run(ctx: Ctx) -> anyhow::Result<i32> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run_async(ctx))
}

async fn run_async(ctx: Ctx) -> anyhow::Result<i32> {
    let env = |k: &str| std::env::var(k).ok();
    let theme = Theme::load(&ctx.config.ui.theme, super::theme::Depth::detect(env))
        .map_err(|e| anyhow::anyhow!(e))?;
    let (mut st, initial) = super::initial_state(&ctx, &theme)?;
    let notifier = Notifier::new(&ctx.config.notify, &env);

    let (msg_tx, mut msg_rx) = mpsc::unbounded_channel::<Msg>();
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Out>();
    let (engine, handle) = Engine::new(
        ctx.store.clone(),
        ctx.registry.clone(),
        ctx.config.engine.backoff(),
        Arc::new(SystemClock),
        ev_tx,
    );
    let engine_task = tokio::spawn(engine.run(RunOptions::default()));
    let serving = crate::cli::control::serve(&ctx, handle.clone());

    // Effects that touch the store run in order on one thread.
    let (fx_tx, fx_rx) = std::sync::mpsc::channel::<Effect>();
    {
        let ctx = ctx.clone();
        let out_tx = out_tx.clone();
        std::thread::spawn(move || {
            for effect in fx_rx {
                for out in exec::run(&ctx, effect) {
                    if out_tx.send(out).is_err() {
                        return;
                    }
                }
            }
        });
    }
    for effect in initial {
        let _ = fx_tx.send(effect);
    }
    // The history loads after the first frame.
    {
        let store = ctx.store.clone();
        let project = st.project.name.clone();
        let tx = msg_tx.clone();
        tokio::task::spawn_blocking(move || {
            let msg = match super::data::take_rows(&store, &project) {
                Ok(rows) => Msg::TakesLoaded(rows),
                Err(e) => Msg::Status(Level::Error, format!("reading the history: {e}")),
            };
            let _ = tx.send(msg);
        });
    }

    let mut screen = Screen::open(ctx.config.ui.mouse)?;
    let keys = KeyReader::start(msg_tx.clone());
    let size = screen.term.size()?;
    st.height = size.height;
    st.now = SystemClock.now();
    screen.term.draw(|f| draw::draw(f, &st, &theme))?;
    let mut last_draw = Instant::now();
    let mut dirty = false;
    // A lost SSH link (SIGHUP) or a polite kill (SIGTERM) ends the session cleanly: local renders
    // go back in the queue, remote ones are followed again at the next start.
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = signal(SignalKind::hangup())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    while !st.quit {
        let wait = FRAME.saturating_sub(last_draw.elapsed());
        let mut batch: Vec<Msg> = Vec::new();
        let mut outs: Vec<Out> = Vec::new();
        tokio::select! {
            Some(m) = msg_rx.recv() => batch.push(m),
            Some(e) = ev_rx.recv() => batch.push(Msg::Engine(e)),
            Some(o) = out_rx.recv() => outs.push(o),
            _ = ticker.tick(), if super::animating(&st) => batch.push(Msg::Tick(SystemClock.now())),
            () = tokio::time::sleep(wait), if dirty => {}
            _ = hangup.recv() => st.quit = true,
            _ = terminate.recv() => st.quit = true,
        }
        // Drain whatever else is already waiting: one draw for all of it.
        while let Ok(m) = msg_rx.try_recv() {
            batch.push(m);
        }
        while let Ok(e) = ev_rx.try_recv() {
            batch.push(Msg::Engine(e));
        }
        while let Ok(o) = out_rx.try_recv() {
            outs.push(o);
        }
        for o in outs {
            match o {
                Out::Msg(m) => batch.push(m),
                Out::Engine(c) => {
                    handle.send(c).await;
                }
                Out::Player(cmd) => {
                    if cmd.foreground() {
                        let r = screen.suspended(&keys, || cmd.run());
                        // The screen was handed over: draw all of it again.
                        dirty = true;
                        batch.push(match r {
                            Ok(s) if s.success() => {
                                Msg::Status(Level::Info, "back from the player".into())
                            }
                            Ok(s) => Msg::Status(
                                Level::Error,
                                format!("the player exited with {s}; `previs compare … --print` shows its command"),
                            ),
                            Err(e) => Msg::Status(Level::Error, e.to_string()),
                        });
                    } else {
                        let log = ctx.paths.log_dir.join("player.log");
                        let m = match cmd.spawn_detached(&log) {
                            Ok(()) => {
                                Msg::Status(Level::Info, "playing in the player window".into())
                            }
                            Err(e) => Msg::Status(Level::Error, e.to_string()),
                        };
                        batch.push(m);
                    }
                }
            }
        }
        if !batch.is_empty() {
            dirty = true;
        }
        for m in batch {
            let effects = update::update(&mut st, m);
            for effect in effects {
                match effect {
                    Effect::Engine(c) => {
                        handle.send(c).await;
                    }
                    Effect::Copy { text, what } => {
                        let bytes = crate::notify::osc52_copy(&text, notifier.tmux());
                        let ok = std::io::stdout()
                            .write_all(&bytes)
                            .and_then(|()| std::io::stdout().flush());
                        let m = match ok {
                            Ok(()) => format!("copied {what} to the clipboard (OSC 52)"),
                            Err(e) => format!("copy failed: {e}"),
                        };
                        update::say(&mut st, Level::Info, m);
                    }
                    Effect::Notify {
                        title,
                        body,
                        failure,
                    } => {
                        let bytes = notifier.notify(&Note {
                            title,
                            body,
                            failure,
                        });
                        if !bytes.is_empty() {
                            let mut out = std::io::stdout();
                            let _ = out.write_all(&bytes).and_then(|()| out.flush());
                        }
                    }
                    Effect::EditExternal { shot, field } => {
                        let msg = screen.suspended(&keys, || {
                            super::editor::edit(&ctx, &st.project.name, &shot, field)
                        });
                        let effects = update::update(&mut st, msg);
                        for e in effects {
                            let _ = fx_tx.send(e);
                        }
                    }
                    other => {
                        let _ = fx_tx.send(other);
                    }
                }
            }
        }
        if dirty && last_draw.elapsed() >= FRAME {
            if let Ok(size) = screen.term.size() {
                st.height = size.height;
            }
            screen.term.draw(|f| draw::draw(f, &st, &theme))?;
            last_draw = Instant::now();
            dirty = false;
        }
    }
    drop(keys);
    drop(screen);
    if !engine_task.is_finished() {
        handle.send(Command::Shutdown).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), engine_task).await;
    drop(serving);
    let _ = ctx.store.flush();
    Ok(0)
}
