//! Queue: live jobs with state, progress bar, elapsed time and ETA, backend and cost; `x`
//! cancels, `P` pauses or resumes the queue, `J`/`K` move a waiting job.
//!
//! Invariant: unfinished jobs are listed in the order the engine runs them (running first, then
//! waiting by priority); jobs that end while previs runs stay below them, newest first.

use std::collections::HashMap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::engine::{Command, JobView};
use crate::model::Level;

use super::super::keymap::Action;
use super::super::msg::Effect;
use super::super::state::{RowState, State, TakeRow};
use super::super::text::{duration, fit, pad, wrap};
use super::super::theme::Theme;
use super::super::update::say;
use super::{navigate, page};

/// Where a state sorts: running, then waiting, then ended.
fn rank(state: &str) -> u8 {
    match state {
        "submitting" | "remote" | "downloading" => 0,
        "queued" | "unconfirmed" => 1,
        _ => 2,
    }
}

pub fn is_running(j: &JobView) -> bool {
    rank(&j.state) == 0
}

fn sort(jobs: &mut [JobView]) {
    jobs.sort_by(|a, b| {
        rank(&a.state).cmp(&rank(&b.state)).then_with(|| {
            if rank(&a.state) == 2 {
                b.finished_at.cmp(&a.finished_at).then(b.id.cmp(&a.id))
            } else {
                (a.priority, a.id).cmp(&(b.priority, b.id))
            }
        })
    });
}

pub fn set_jobs(st: &mut State, mut jobs: Vec<JobView>) {
    let keep = st.queue.jobs.get(st.queue.selected).map(|j| j.id);
    // Ended jobs seen during this run stay listed.
    for old in &st.queue.jobs {
        if rank(&old.state) == 2 && !jobs.iter().any(|j| j.id == old.id) {
            jobs.push(old.clone());
        }
    }
    sort(&mut jobs);
    st.queue.jobs = jobs;
    st.queue.selected = keep
        .and_then(|id| st.queue.jobs.iter().position(|j| j.id == id))
        .unwrap_or(0)
        .min(st.queue.jobs.len().saturating_sub(1));
}

/// Applies a job update; a job that ends may finish the batch (notification) or fail it.
pub fn job_updated(st: &mut State, job: JobView) -> Vec<Effect> {
    let mut fx = Vec::new();
    let keep = st.queue.jobs.get(st.queue.selected).map(|j| j.id);
    let was = st
        .queue
        .jobs
        .iter()
        .position(|j| j.id == job.id)
        .map(|i| st.queue.jobs.remove(i));
    let ended_now = rank(&job.state) == 2 && was.as_ref().is_none_or(|w| rank(&w.state) != 2);
    if ended_now {
        if job.state == "failed" {
            fx.push(Effect::Notify {
                title: format!("previs: {} failed", job.take),
                body: job.error.clone().unwrap_or_default(),
                failure: true,
            });
        }
        if job.state != "done" {
            super::history::add_row(st, ended_row(&job));
        }
        if st.batch_open > 0 {
            st.batch_open -= 1;
            if st.batch_open == 0 {
                let failed = st.queue.jobs.iter().filter(|j| j.state == "failed").count()
                    + usize::from(job.state == "failed");
                fx.push(Effect::Notify {
                    title: "previs: batch finished".to_string(),
                    body: if failed == 0 {
                        "every take rendered".to_string()
                    } else {
                        format!("{failed} job(s) failed; see the Queue view")
                    },
                    failure: false,
                });
            }
        }
    }
    st.queue.jobs.push(job);
    sort(&mut st.queue.jobs);
    st.queue.selected = keep
        .and_then(|id| st.queue.jobs.iter().position(|j| j.id == id))
        .unwrap_or(0);
    fx
}

/// The history row of a job that ended without a take.
fn ended_row(j: &JobView) -> TakeRow {
    TakeRow {
        is_take: false,
        job: j.id,
        code: j.take.clone(),
        shot_code: j.shot.clone(),
        state: if j.state == "failed" {
            RowState::Failed(j.error.clone().unwrap_or_default())
        } else {
            RowState::Canceled
        },
        prompt: j.prompt.clone(),
        seed: j.seed,
        backend: j.backend.clone(),
        model: j.model.clone(),
        style: String::new(),
        variant: crate::model::variant_label(&j.variant),
        cost: 0.0,
        currency: j.currency.clone(),
        render_ms: 0,
        created_at: j.finished_at.unwrap_or(j.created_at),
        path: String::new(),
        width: j.width,
        height: j.height,
        duration_s: j.duration_s,
        parent: j.parent.clone(),
        circled: false,
    }
}

pub fn action(st: &mut State, a: Action) -> Vec<Effect> {
    let len = st.queue.jobs.len();
    let pg = page(st);
    if navigate(&mut st.queue.selected, len, pg, a) {
        return Vec::new();
    }
    let Some(job) = st.queue.jobs.get(st.queue.selected).cloned() else {
        return Vec::new();
    };
    match a {
        Action::Cancel if rank(&job.state) < 2 => {
            say(st, Level::Info, format!("canceling {}", job.take));
            vec![Effect::Engine(Command::Cancel {
                job: crate::model::JobId(job.id),
            })]
        }
        Action::Cancel => {
            say(
                st,
                Level::Warn,
                format!("{} is already {}", job.take, job.state),
            );
            Vec::new()
        }
        Action::MoveUp | Action::MoveDown if job.state == "queued" => {
            vec![Effect::Engine(Command::Move {
                job: crate::model::JobId(job.id),
                up: a == Action::MoveUp,
            })]
        }
        Action::MoveUp | Action::MoveDown => {
            say(
                st,
                Level::Warn,
                "only waiting jobs move; running ones are on the backend already",
            );
            Vec::new()
        }
        Action::Retry if matches!(job.state.as_str(), "failed" | "unconfirmed") => {
            vec![Effect::Retry { job: job.id }]
        }
        Action::Retry => {
            say(
                st,
                Level::Warn,
                "only failed or unconfirmed jobs are retried",
            );
            Vec::new()
        }
        Action::Play if job.path.is_some() => vec![Effect::Play {
            takes: vec![job.take],
            grid: false,
        }],
        Action::Copy => vec![Effect::Copy {
            text: job.prompt,
            what: format!("the prompt of {}", job.take),
        }],
        _ => Vec::new(),
    }
}

fn bar(progress: f32, width: usize) -> String {
    let cells = width * 8;
    let filled = ((progress.clamp(0.0, 1.0) * cells as f32).round() as usize).min(cells);
    let mut s = "█".repeat(filled / 8);
    if filled % 8 > 0 {
        s.push([' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'][filled % 8]);
    }
    let used = s.chars().count();
    s.push_str(&"·".repeat(width.saturating_sub(used)));
    s
}

/// Elapsed time and estimated time left of a running job.
/// Elapsed time and estimated time left of a job, in whole seconds. The estimate is the one
/// made at the last tick ([`tick`]): recomputing it on every progress sample against a clock
/// read once a second would make it jitter (and repaint) several times a second.
pub fn timing(j: &JobView, now: i64, etas: &HashMap<u64, u64>) -> (String, String) {
    let Some(start) = j.started_at else {
        return (String::new(), String::new());
    };
    let end = j.finished_at.unwrap_or(now).max(start);
    let elapsed = u64::try_from(end - start).unwrap_or(0);
    let eta = match etas.get(&j.id) {
        Some(ms) if rank(&j.state) == 0 => clock(*ms),
        _ => String::new(),
    };
    (clock(elapsed), eta)
}

/// `12 s`, `4 m 05 s`, `1 h 02 m`.
fn clock(ms: u64) -> String {
    if ms < 60_000 {
        format!("{} s", ms / 1000)
    } else {
        duration(ms)
    }
}

/// Once a second while jobs run: the estimates of time left.
pub fn tick(st: &mut State) {
    let now = st.now;
    st.queue.etas = st
        .queue
        .jobs
        .iter()
        .filter(|j| rank(&j.state) == 0 && j.progress > 0.02)
        .filter_map(|j| {
            let start = j.started_at?;
            let elapsed = u64::try_from(now.max(start) - start).ok()?;
            let left = elapsed as f64 * f64::from(1.0 - j.progress) / f64::from(j.progress);
            Some((j.id, left as u64))
        })
        .collect();
}

pub fn draw(f: &mut Frame, area: Rect, st: &State, th: &Theme) {
    let q = &st.queue;
    let running = q.jobs.iter().filter(|j| is_running(j)).count();
    let waiting = q.jobs.iter().filter(|j| rank(&j.state) == 1).count();
    let [list, detail] = Layout::vertical([Constraint::Min(4), Constraint::Length(5)]).areas(area);
    let title = format!(
        " Queue · {running} running · {waiting} waiting{} ",
        if q.paused { " · PAUSED" } else { "" }
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.style("ui.border.focus"))
        .title(Span::styled(title, th.style("ui.title")));
    let inner = block.inner(list);
    f.render_widget(block, list);
    let w = usize::from(inner.width);
    let rows = usize::from(inner.height);
    let first = super::scroll_start(q.selected, rows, q.jobs.len());
    let mut lines = Vec::new();
    let wide = w >= 100;
    for (i, j) in q.jobs.iter().enumerate().skip(first).take(rows) {
        let (elapsed, eta) = timing(j, st.now, &q.etas);
        let backend_w = if wide { 14 } else { 9 };
        let fixed = 16 + 12 + 9 + 9 + backend_w + 8;
        let bar_w = w.saturating_sub(fixed).clamp(4, 40);
        let state_style = th.style(&format!("queue.{}", state_role(&j.state)));
        let cost = if j.cost > 0.0 {
            format!("{:.2}", j.cost)
        } else {
            String::new()
        };
        let mut line = Line::from(vec![
            Span::raw(pad(&j.take, 16)),
            Span::styled(pad(&j.state, 12), state_style),
            Span::styled(
                format!("{} ", bar(j.progress, bar_w.saturating_sub(1))),
                th.style("queue.progress"),
            ),
            Span::raw(format!("{elapsed:>8} ")),
            Span::styled(format!("{eta:>8} "), th.style("ui.text.dim")),
            Span::styled(pad(&j.backend, backend_w), th.style("ui.text.dim")),
            Span::raw(format!("{cost:>8}")),
        ]);
        if i == q.selected {
            line = line.style(th.style("ui.selection"));
        }
        lines.push(line);
    }
    if q.jobs.is_empty() {
        lines.push(Line::styled(
            "Nothing queued. Select a shot in Shots (2) and press g to render takes.",
            th.style("ui.text.dim"),
        ));
    }
    f.render_widget(Paragraph::new(lines), inner);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.style("ui.border"));
    let inner = block.inner(detail);
    f.render_widget(block, detail);
    if let Some(j) = q.jobs.get(q.selected) {
        let w = usize::from(inner.width);
        let mut lines = Vec::new();
        if let Some(e) = &j.error {
            lines.push(Line::styled(fit(e, w), th.style("queue.failed")));
        }
        lines.push(Line::styled(
            fit(
                &format!(
                    "job {} · {} · seed {} · {}x{} {:.1}s · attempt {}",
                    j.id, j.model, j.seed, j.width, j.height, j.duration_s, j.attempts
                ),
                w,
            ),
            th.style("ui.text.dim"),
        ));
        lines.extend(wrap(&j.prompt, w).into_iter().map(Line::raw));
        f.render_widget(Paragraph::new(lines), inner);
    }
}

fn state_role(state: &str) -> &'static str {
    match state {
        "queued" => "queued",
        "submitting" | "remote" | "downloading" => "running",
        "done" => "done",
        "failed" => "failed",
        "canceled" => "canceled",
        _ => "unconfirmed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_fill_in_eighths() {
        assert_eq!(bar(0.0, 4), "····");
        assert_eq!(bar(1.0, 4), "████");
        assert_eq!(bar(0.5, 4), "██··");
        assert_eq!(bar(0.55, 4).chars().count(), 4);
        assert!(bar(0.55, 4).contains('▎'));
    }
}
